"""Fixtures of the risk tests: the default policy, and helpers that run the jobs as of a
fixed day."""

from __future__ import annotations

import datetime as dt

import pytest

from kam.tenancy import tenant_context
from risk import services
from risk.models import RiskAlert, RiskRun, RunKind

D = dt.date(2026, 6, 30)


@pytest.fixture
def policy(tenant):
    """The default risk policy of DESIGN section 6 (fixture tenants are made without tenant_created)."""
    return services.risk_policy_seed_default(tenant)


def run(tenant, as_of: dt.date = D, kind: str = RunKind.FULL) -> RiskRun:
    created = services.risk_run_create(tenant, kind=kind, as_of=as_of)
    return services.risk_run_execute(tenant, run=created)


def open_alerts(tenant) -> dict[tuple[str, int | None], RiskAlert]:
    with tenant_context(tenant):
        return {
            (alert.kind, alert.account_id): alert
            for alert in RiskAlert.objects.exclude(status="resolved").order_by("id")
        }


def all_alerts(tenant) -> list[RiskAlert]:
    with tenant_context(tenant):
        return list(RiskAlert.objects.order_by("id"))
