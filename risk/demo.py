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

from django.db.models import Sum

from accounts.models import (
    Account,
    Attitude,
    BuyingRole,
    Contact,
    ContactLevel,
    Interaction,
    InteractionKind,
    Invoice,
    Order,
)
from kam.models import Tenant
from kam.tenancy import tenant_context, tenant_today
from risk import diversification, selectors, services
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
    _diversification(tenant, people, today)
    _run(tenant, today, RunTrigger.MANUAL)
    _contingency_acting(tenant, people, today)


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


def _diversification(tenant: Tenant, people: dict[str, Any], today: dt.date) -> None:
    """DESIGN section 13, item 2: a target for the largest customer group's share set half a year
    ago, from the share then (the level it still has: the history holds eight weeks, so the
    baseline is given), to 60 % of it in another half year; the straight-line path expects the
    share to have come down by half the gap already, so the run that follows opens
    ``diversification_behind``. And two alternative markets (替代市场培育计划): the segments of an
    industry and of a region outside the largest group, with revenue targets above what they
    bring now. No random draws; called before the last run, after every other demo part."""
    with tenant_context(tenant):
        snapshot = selectors.concentration_latest(tenant)
        if snapshot is None or not snapshot.groups:
            return
        root = Account.objects.get(pk=snapshot.groups[0]["root"])
        baseline = Decimal(snapshot.top1_share).quantize(Decimal("0.0001"))
        accounts = list(Account.objects.exclude(pk=root.pk).order_by("id").values("industry", "region"))
    director = people["director"]
    diversification.diversification_target_create(
        tenant,
        line="top1",
        target_value=(baseline * Decimal("0.6")).quantize(Decimal("0.0001")),
        target_date=today + dt.timedelta(days=183),
        baseline_value=baseline,
        baseline_date=today - dt.timedelta(days=182),
        owner=director,
        note="一年内把最大客户集团的收入占比降到目前的六成：培育新行业与新区域客户。",
        actor=director,
    )
    industries = [row["industry"] for row in accounts if row["industry"] and row["industry"] != root.industry]
    regions = [row["region"] for row in accounts if row["region"] and row["region"] != root.region]
    segments = []
    if industries:
        segments.append(("industry", max(sorted(set(industries)), key=industries.count)))
    if regions:
        segments.append(("region", max(sorted(set(regions)), key=regions.count)))
    for number, (field, value) in enumerate(segments):
        with tenant_context(tenant):
            revenue = Order.objects.filter(
                **{f"account__{field}": value},
                order_date__gt=today - dt.timedelta(days=365),
                order_date__lte=today,
            ).aggregate(total=Sum("amount"))["total"] or Decimal("0")
        # A target half as much again as the segment brings now, rounded up to 100,000.
        target = max(Decimal("100000"), -(-(revenue * Decimal("1.5")) // Decimal("100000")) * Decimal("100000"))
        diversification.alternative_market_create(
            tenant,
            name=f"{value}市场培育",
            target_revenue_12m=target,
            target_date=today + dt.timedelta(days=365),
            owner=people["manager"] if number else director,
            note="降低对少数大客户的依赖：扩大该细分市场的客户与收入。",
            actor=director,
            **{field: value},
        )


def _contingency_acting(tenant: Tenant, people: dict[str, Any], today: dt.date) -> None:
    """Issue #19 item 3, a triggered contingency plan: on the account whose decision maker left
    (its key_contact_left alert is open), a sudden-loss plan triggered by key_contact_left and
    health_red with three steps for the manager, the director and a member. The alert opened at
    an earlier run, before the plan existed, so the plan acts on the open alert at once
    (risk.contingency.plan_activate_open_alerts, as a trigger would have): three actions on the
    account's plan. After the last run and without random draws, so every figure stays as it was."""
    from risk import contingency
    from risk.models import AlertKind, RiskAlert

    with tenant_context(tenant):
        alert = (
            RiskAlert.objects.filter(kind=AlertKind.KEY_CONTACT_LEFT, account__isnull=False)
            .exclude(status="resolved")
            .select_related("account")
            .order_by("id")
            .first()
        )
    if alert is None:
        return
    account = alert.account
    director = people["director"]
    plan = services.contingency_plan_create(
        tenant,
        account=account,
        kind=ContingencyKind.SUDDEN_LOSS,
        title=f"{account.name}关键联系人流失应急预案",
        owner=director,
        actions="关键决策人离职或健康度转红时：一周内重建高层联系，两周内完成客户拜访与方案复盘，一个月内复核商机与回款。",
        review_on=today + dt.timedelta(days=90),
        trigger_kinds=[AlertKind.KEY_CONTACT_LEFT, AlertKind.HEALTH_RED],
        steps=[
            {"title": "联系新任决策人并安排首次会面", "owner": people["manager"], "due_offset_days": 3},
            {"title": "高层拜访：重申合作与服务承诺", "owner": director, "due_offset_days": 14},
            {
                "title": "复核在途商机、订单与回款风险",
                "owner": people.get("member") or people["manager"],
                "due_offset_days": 30,
            },
        ],
        actor=director,
    )
    contingency.plan_activate_open_alerts(tenant, plan=plan, actor=director)
