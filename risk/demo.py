"""Demo risk data, after the accounts, scoring and teams demos: a few touches a KAM
director would recognise, then eight weeks of weekly risk runs and one today, so that
the concentration trend and the health bands have a history and the risk center shows
alerts of every family (concentration, payment and purchase overdue, team gaps, health
in the red, a key contact who left, contracts to renew, a merger to review).

The touches: the account that stopped buying (accounts demo) complained twice lately;
another has an invoice two months past due; a decision maker of a third left three
weeks ago; the largest customer group has a sudden-loss contingency plan, so its
concentration alert shows one and the others show none. Deterministic.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal
from typing import Any

from accounts.models import (
    Account,
    Attitude,
    BuyingRole,
    Contact,
    ContactLevel,
    Interaction,
    InteractionKind,
    Invoice,
)
from kam.models import Tenant
from kam.tenancy import tenant_context, tenant_today
from risk import selectors, services
from risk.models import ContingencyKind, RunKind, RunTrigger

# Positions in the accounts demo's lists (accounts/demo.py): index 6 stops buying (index % 7 == 6).
STOPPED_BUYING = 6
LATE_INVOICE = 7
CONTACT_LEFT = 4
HISTORY_WEEKS = 8


def load(tenant: Tenant, people: dict[str, Any]) -> None:
    services.risk_policy_seed_default(tenant)
    today = tenant_today(tenant)
    with tenant_context(tenant):
        accounts = list(Account.objects.order_by("id"))
        if not accounts:
            return
        _complaints(tenant, accounts[min(STOPPED_BUYING, len(accounts) - 1)], today, people)
        _late_invoice(tenant, accounts[min(LATE_INVOICE, len(accounts) - 1)], today)
        _decision_maker_left(tenant, accounts[min(CONTACT_LEFT, len(accounts) - 1)], today)
    for weeks in range(HISTORY_WEEKS, 0, -1):
        _run(tenant, today - dt.timedelta(weeks=weeks), RunTrigger.SCHEDULE)
    _contingency_plan(tenant, people, today)
    _run(tenant, today, RunTrigger.MANUAL)


def _run(tenant: Tenant, as_of: dt.date, trigger: str) -> None:
    run = services.risk_run_create(tenant, kind=RunKind.FULL, trigger=trigger, as_of=as_of)
    services.risk_run_execute(tenant, run=run)


def _complaints(tenant: Tenant, account: Account, today: dt.date, people: dict[str, Any]) -> None:
    zone = zoneinfo.ZoneInfo(tenant.time_zone)
    contact = Contact.objects.filter(account=account).order_by("id").first()
    for days, summary in (
        (9, "客户投诉备件交付延迟两周，影响产线检修。"),
        (23, "客户投诉质量问题：一批轴承噪声超标。"),
    ):
        Interaction.objects.create(
            tenant=tenant,
            account=account,
            contact=contact,
            user=people["manager"],
            kind=InteractionKind.COMPLAINT,
            occurred_at=dt.datetime.combine(today - dt.timedelta(days=days), dt.time(15, 30), tzinfo=zone),
            summary=summary,
        )


def _late_invoice(tenant: Tenant, account: Account, today: dt.date) -> None:
    Invoice.objects.create(
        tenant=tenant,
        account=account,
        number=f"FP-DEMO-{tenant.slug.upper()}-LATE",
        issued_on=today - dt.timedelta(days=95),
        due_on=today - dt.timedelta(days=65),
        amount=Decimal("386000.00"),
    )


def _decision_maker_left(tenant: Tenant, account: Account, today: dt.date) -> None:
    Contact.objects.create(
        tenant=tenant,
        account=account,
        name="郑卫东",
        title="采购副总裁",
        department="采购部",
        level=ContactLevel.EXECUTIVE,
        buying_role=BuyingRole.DECISION_MAKER,
        attitude=Attitude.CHAMPION,
        left_on=today - dt.timedelta(days=21),
    )


def _contingency_plan(tenant: Tenant, people: dict[str, Any], today: dt.date) -> None:
    """A sudden-loss plan for the largest customer group of the latest snapshot."""
    with tenant_context(tenant):
        snapshot = selectors.concentration_latest(tenant)
        if snapshot is None or not snapshot.groups:
            return
        root = Account.objects.get(pk=snapshot.groups[0]["root"])
    services.contingency_plan_create(
        tenant,
        account=root,
        kind=ContingencyKind.SUDDEN_LOSS,
        title=f"{root.name}突发流失应急预案",
        owner=people["director"],
        actions=(
            "1. 每月复核该集团订单与回款，设置信用额度上限。\n"
            "2. 产能与库存预留可转产方案，一旦订单骤降，两周内转向替代客户。\n"
            "3. 由总经理牵头，每季度与集团决策层会面一次。"
        ),
        review_on=today + dt.timedelta(days=60),
        actor=people["director"],
    )
