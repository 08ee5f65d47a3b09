"""Fixtures of the renewals suites: an account the manager owns (tier A), and makers of
contracts and renewals at a given stage, dated from the tenant's today where it matters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from accounts.models import Account, Contract
from kam.models import Tenant, User
from kam.tenancy import tenant_context, tenant_today
from renewals.models import Renewal, RenewalStage
from tests.factories import AccountFactory, ContractFactory


@pytest.fixture
def account(tenant: Tenant, manager: User) -> Account:
    return AccountFactory(tenant=tenant, name="华晟精密机床", owner=manager, tier="A")


@pytest.fixture
def today(tenant: Tenant) -> dt.date:
    return tenant_today(tenant)


@pytest.fixture
def make_contract(tenant: Tenant, account: Account) -> Callable[..., Contract]:
    def make(**fields: Any) -> Contract:
        values: dict[str, Any] = {
            "tenant": tenant,
            "account": account,
            "title": "年度框架采购协议",
            "start_on": dt.date(2026, 4, 1),
            "end_on": dt.date(2027, 3, 31),
            "value": Decimal("1000000.00"),
            "notice_days": 90,
            "auto_renew": False,
        }
        values.update(fields)
        return ContractFactory(**values)

    return make


@pytest.fixture
def make_renewal(tenant: Tenant, account: Account, manager: User, make_contract: Any, today: dt.date) -> Any:
    """A renewal at ``stage`` of a contract ending ``ends_in`` days from today (past when negative)."""

    def make(stage: str = RenewalStage.PREPARE, *, ends_in: int = 60, **contract_fields: Any) -> Renewal:
        end_on = today + dt.timedelta(days=ends_in)
        contract = make_contract(end_on=end_on, start_on=end_on - dt.timedelta(days=364), **contract_fields)
        with tenant_context(tenant):
            return Renewal.objects.create(
                tenant=tenant,
                account=contract.account,
                contract=contract,
                stage=stage,
                owner=manager,
                due_on=end_on - dt.timedelta(days=contract.notice_days),
                opened_on=today,
                lost_reason="客户转向竞争对手" if stage == RenewalStage.LOST else "",
            )

    return make
