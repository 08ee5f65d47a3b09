"""Shared fixtures of the service tests: an account with a team, and needs made through the
service (so that classification, routing and the SLA apply as in production)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import Account
from kam.models import Tenant, User
from kam.tenancy import tenant_context
from service import services
from service.models import Need
from tests import factories


@pytest.fixture
def account(tenant: Tenant, manager: User) -> Account:
    with tenant_context(tenant):
        return factories.AccountFactory(tenant=tenant, name="华东精密机械", owner=manager, tier="A")


@pytest.fixture
def make_need(tenant: Tenant) -> Any:
    """make_need(subject=..., body=..., account=..., tenant=..., **need_create kwargs) -> Need."""

    def make(subject: str = "设备故障，无法启动", body: str = "", *, on: Tenant | None = None, **kwargs: Any) -> Need:
        target = on or tenant
        with tenant_context(target):
            need, _created = services.need_create(target, subject=subject, body=body, **kwargs)
            return need

    return make


def hours_ago(hours: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(hours=hours)
