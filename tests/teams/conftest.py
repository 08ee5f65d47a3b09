"""Fixtures of the teams tests: today in the tenant's time zone, and hand-made teams."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.models import ContactLevel, Tier
from kam.tenancy import tenant_today
from teams import services
from tests.factories import AccountFactory, ContactFactory


@pytest.fixture
def today(tenant) -> dt.date:
    return tenant_today(tenant)


@pytest.fixture
def rules(tenant) -> int:
    """The default staffing rules of DESIGN section 5 (a fixture tenant is made without tenant_created)."""
    return services.staffing_rules_seed_default(tenant)


@pytest.fixture
def s_account(tenant, manager, rules):
    """An S account owned by the manager, with one contact on each level."""
    account = AccountFactory(tenant=tenant, name="中车华北集团", tier=Tier.S, owner=manager)
    ContactFactory(tenant=tenant, account=account, name="赵总", title="总经理", level=ContactLevel.EXECUTIVE)
    ContactFactory(tenant=tenant, account=account, name="钱经理", title="采购总监", level=ContactLevel.MANAGERIAL)
    ContactFactory(tenant=tenant, account=account, name="孙专员", title="采购专员", level=ContactLevel.OPERATIONAL)
    return account


@pytest.fixture
def foreign_account(other_tenant):
    return AccountFactory(tenant=other_tenant, name="Globex 客户", tier=Tier.S)
