"""Alert evaluation (DESIGN section 6): each kind opens when its condition holds, is not
duplicated when the job runs again, and is resolved by the next run once its condition
has cleared; severities escalate; people's acknowledgements and resolutions hold."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.db import IntegrityError, transaction

from accounts.models import Account, Attitude, BuyingRole, Contact, ContactLevel, Event, Interaction, Invoice, Tier
from kam.models import Membership
from kam.tenancy import tenant_context
from risk import services
from risk.models import ContingencyPlan, Notification, RiskAlert, RunKind
from teams import services as team_services
from teams.models import Function, Level
from tests.factories import (
    AccountFactory,
    ContactFactory,
    ContractFactory,
    EventFactory,
    InteractionFactory,
    InvoiceFactory,
    OrderFactory,
    UserFactory,
)
from tests.risk.conftest import D, all_alerts, open_alerts, run
from tests.teams.factories import AccountTeamFactory, CounterpartLinkFactory, TeamMemberFactory

pytestmark = pytest.mark.django_db

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def days_before(days: int) -> dt.date:
    return D - dt.timedelta(days=days)


def buy(tenant, account, amount: str, day: dt.date = dt.date(2026, 3, 1)) -> None:
    OrderFactory(tenant=tenant, account=account, order_date=day, amount=Decimal(amount))


def customers(tenant, count: int, amount: str, prefix: str = "客户") -> list[Account]:
    accounts = []
    for n in range(count):
        account = AccountFactory(tenant=tenant, name=f"{prefix} {n:02d}")
        buy(tenant, account, amount)
        accounts.append(account)
    return accounts


def links_on_every_level(tenant, account) -> None:
    team = AccountTeamFactory(tenant=tenant, account=account)
    for level in ContactLevel.values:
        member = TeamMemberFactory(tenant=tenant, team=team)
        CounterpartLinkFactory(
            tenant=tenant, member=member, contact=ContactFactory(tenant=tenant, account=account, level=level)
        )


def remove(tenant, model, **filters) -> None:
    with tenant_context(tenant):
        model.objects.filter(**filters).delete()


def change(tenant, model, filters: dict[str, Any], **values: Any) -> None:
    with tenant_context(tenant):
        model.objects.filter(**filters).update(**values)


# --- each kind: opens, does not duplicate, resolves -------------------------------------------------


@dataclass
class Scenario:
    kind: str
    given: Callable[[Any], Account | None]  # makes the condition hold; returns the subject (None: tenant-wide)
    clear: Callable[[Any, Account | None], None]  # makes it clear
    severity: str
    details: dict[str, Any]
    runs_before: list[dt.date] | None = None  # runs before D (e.g. a previous assessment)


def _single_given(tenant):
    # 150 of 1000 = .15: at or above the 10 % warning line, below 20 %; seventeen others at .05
    big = AccountFactory(tenant=tenant, name="大客户")
    buy(tenant, big, "150")
    customers(tenant, 17, "50")
    return big


def _single_clear(tenant, big):
    customers(tenant, 10, "60", prefix="新客户")  # total 1600: 150 / 1600 = .09375 < .10


def _top5_given(tenant):
    customers(tenant, 10, "100")  # ten at .10: the five largest hold .50
    return None


def _top5_clear(tenant, _subject):
    customers(tenant, 2, "100", prefix="新客户")  # twelve at 1/12: top 5 = 5/12 = .4167


def _hhi_given(tenant):
    for name, amount in (("甲", "500"), ("乙", "300"), ("丙", "200")):
        buy(tenant, AccountFactory(tenant=tenant, name=name), amount)
    return None  # HHI = 50^2 + 30^2 + 20^2 = 3800 -> critical


def _hhi_clear(tenant, _subject):
    customers(tenant, 20, "100", prefix="新客户")  # total 3000: HHI = 277.78 + 100 + 44.44 + 20 * 11.11 = 644.44


def _red_given(tenant):
    return AccountFactory(tenant=tenant, name="沉默客户")  # nothing at all: health 0, red


def _red_clear(tenant, account):
    InteractionFactory(tenant=tenant, account=account, occurred_at=dt.datetime(2026, 6, 29, 12, tzinfo=SHANGHAI))
    links_on_every_level(tenant, account)  # engagement 100, relationship 100 -> 100, green


def _drop_given(tenant):
    account = AccountFactory(tenant=tenant, name="下滑客户")
    links_on_every_level(tenant, account)
    InteractionFactory(tenant=tenant, account=account, occurred_at=dt.datetime(2026, 6, 25, 12, tzinfo=SHANGHAI))
    return account  # D-1: (100 + 100) / 2 = 100


def _drop_add_complaints(tenant, account):
    for _ in range(2):  # on D: 100 - 20 = 80, a drop of 20 >= 15
        InteractionFactory(
            tenant=tenant, account=account, kind="complaint", occurred_at=dt.datetime(2026, 6, 30, 9, tzinfo=SHANGHAI)
        )


def _drop_clear(tenant, account):
    remove(tenant, Interaction, account=account, kind="complaint")  # back to 100: change 0


def _purchase_given(tenant):
    account = AccountFactory(tenant=tenant, name="断档客户")
    for days in (100, 90, 80):  # I = 10; r = 80 / 10 = 8 > 1.5
        buy(tenant, account, "100", days_before(days))
    return account


def _purchase_clear(tenant, account):
    buy(tenant, account, "100", days_before(5))  # gaps 10, 10, 75 -> I = 10; r = 5 / 10 = .5


def _payment_given(tenant):
    account = AccountFactory(tenant=tenant, name="拖欠客户")
    InvoiceFactory(tenant=tenant, account=account, number="FP-31", issued_on=days_before(61), due_on=days_before(31))
    InvoiceFactory(tenant=tenant, account=account, number="FP-30", issued_on=days_before(60), due_on=days_before(30))
    return account  # FP-31 is 31 days past due (> 30); FP-30 exactly 30 (not yet)


def _payment_clear(tenant, account):
    change(tenant, Invoice, {"number": "FP-31"}, paid_on=days_before(1), paid_amount=Decimal("50000"))


def _team_given(tenant):
    team_services.staffing_rules_seed_default(tenant)
    return AccountFactory(tenant=tenant, name="关键客户", tier=Tier.A)  # A needs sales, technical, delivery; no team


def _team_clear(tenant, account):
    team = AccountTeamFactory(tenant=tenant, account=account)
    for function in (Function.SALES, Function.TECHNICAL, Function.DELIVERY):
        TeamMemberFactory(tenant=tenant, team=team, function=function, level=Level.MANAGERIAL)


def _contact_given(tenant):
    account = AccountFactory(tenant=tenant, name="换人客户")
    ContactFactory(tenant=tenant, account=account, name="王总", attitude=Attitude.CHAMPION, left_on=days_before(10))
    ContactFactory(tenant=tenant, account=account, name="旧人", attitude=Attitude.CHAMPION, left_on=days_before(95))
    ContactFactory(tenant=tenant, account=account, name="普通", attitude=Attitude.NEUTRAL, left_on=days_before(5))
    return account  # only 王总: a champion who left within 90 days


def _contact_clear(tenant, account):
    change(tenant, Contact, {"name": "王总"}, left_on=None)  # came back


def _contract_given(tenant):
    account = AccountFactory(tenant=tenant, name="续约客户")
    ContractFactory(tenant=tenant, account=account, start_on=days_before(300), end_on=D + dt.timedelta(days=90))
    return account  # ends in 90 days (<= 90), no auto-renewal


def _contract_clear(tenant, account):
    ContractFactory(tenant=tenant, account=account, title="续签协议", start_on=D, end_on=D + dt.timedelta(days=455))


def _review_given(tenant):
    account = AccountFactory(tenant=tenant, name="重组客户")
    EventFactory(
        tenant=tenant,
        account=account,
        kind="merger",
        occurred_on=days_before(10),
        impact_points=Decimal("0"),
        expires_on=days_before(10) + dt.timedelta(days=180),
    )
    return account


def _review_clear(tenant, account):
    remove(tenant, Event, account=account)


SCENARIOS = [
    Scenario("concentration_single", _single_given, _single_clear, "warning", {"share": 0.15, "threshold": 0.1}),
    Scenario("concentration_top5", _top5_given, _top5_clear, "warning", {"top5_share": 0.5, "threshold": 0.5}),
    Scenario("concentration_hhi", _hhi_given, _hhi_clear, "critical", {"hhi": 3800, "threshold": 2500}),
    Scenario("health_red", _red_given, _red_clear, "critical", {"score": 0, "band": "red"}),
    Scenario("health_drop", _drop_given, _drop_clear, "warning", {"score": 80, "previous_score": 100, "change": -20}),
    Scenario(
        "purchase_overdue",
        _purchase_given,
        _purchase_clear,
        "warning",
        {"ratio": 8, "purchase_interval_days": 10, "expected_next_purchase": "2026-04-21"},
    ),
    Scenario(
        "payment_overdue",
        _payment_given,
        _payment_clear,
        "warning",
        {"invoices": 1, "numbers": ["FP-31"], "max_days_overdue": 31, "outstanding": "50000.00"},
    ),
    Scenario("team_gap", _team_given, _team_clear, "warning", {"tier": "A", "coverage_percent": 0}),
    Scenario("key_contact_left", _contact_given, _contact_clear, "warning", {}),
    Scenario("contract_expiring", _contract_given, _contract_clear, "info", {"days_left": 90, "end_on": "2026-09-28"}),
    Scenario("review_needed", _review_given, _review_clear, "info", {}),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.kind for s in SCENARIOS])
def test_each_kind_opens_once_and_resolves_when_its_condition_clears(tenant, policy, scenario):
    # given
    subject = scenario.given(tenant)
    subject_id = subject.pk if subject is not None else None
    if scenario.kind == "health_drop":
        run(tenant, as_of=D - dt.timedelta(days=1))
        _drop_add_complaints(tenant, subject)
    # when
    first = run(tenant)
    # then
    assert first.status == "done", first.error
    alert = open_alerts(tenant)[(scenario.kind, subject_id)]
    assert (alert.severity, alert.status) == (scenario.severity, "open")
    assert {key: alert.details[key] for key in scenario.details} == scenario.details
    # when the job runs again: the same alert, not a second one
    second = run(tenant)
    same_key = [a for a in all_alerts(tenant) if a.dedupe_key == alert.dedupe_key]
    assert [a.pk for a in same_key] == [alert.pk]
    assert (second.status, second.alerts_opened) == ("done", 0)
    # when the condition clears: the next run resolves it
    scenario.clear(tenant, subject)
    run(tenant)
    with tenant_context(tenant):
        alert.refresh_from_db()
    assert (alert.status, alert.resolution, alert.resolved_at is not None) == ("resolved", "cleared", True)
    assert (scenario.kind, subject_id) not in open_alerts(tenant)


def test_the_edges_of_the_per_account_conditions_do_not_alert(tenant, policy):
    # r exactly 1.5: dates D-35, D-25, D-15 -> I = 10, r = 15 / 10 = 1.5, not > 1.5
    rhythm = AccountFactory(tenant=tenant, name="r=1.5")
    for days in (35, 25, 15):
        buy(tenant, rhythm, "100", days_before(days))
    # an invoice exactly 30 days past due, and one 40 days past due but paid on D
    payer = AccountFactory(tenant=tenant, name="payer")
    InvoiceFactory(tenant=tenant, account=payer, issued_on=days_before(60), due_on=days_before(30))
    InvoiceFactory(tenant=tenant, account=payer, issued_on=days_before(70), due_on=days_before(40), paid_on=D)
    # a contract ending in 91 days, and one ending in 20 days that renews itself
    renewing = AccountFactory(tenant=tenant, name="contracts")
    ContractFactory(tenant=tenant, account=renewing, start_on=days_before(300), end_on=D + dt.timedelta(days=91))
    other = AccountFactory(tenant=tenant, name="auto")
    ContractFactory(
        tenant=tenant, account=other, start_on=days_before(300), end_on=D + dt.timedelta(days=20), auto_renew=True
    )
    # a decision maker who left 90 days ago (outside (D-90, D]); a leadership change 91 days ago
    ContactFactory(tenant=tenant, account=payer, buying_role=BuyingRole.DECISION_MAKER, left_on=days_before(90))
    EventFactory(tenant=tenant, account=payer, kind="leadership_change", occurred_on=days_before(90), impact_points=0)
    run(tenant)
    kinds = {kind for kind, _account in open_alerts(tenant)}
    assert (
        kinds & {"purchase_overdue", "payment_overdue", "contract_expiring", "key_contact_left", "review_needed"}
        == set()
    )


def test_a_lost_account_has_no_alerts_and_its_open_ones_resolve(tenant, policy):
    account = _payment_given(tenant)
    run(tenant)
    assert ("payment_overdue", account.pk) in open_alerts(tenant)
    change(tenant, Account, {"pk": account.pk}, status="lost")
    run(tenant)
    assert [(a.kind, a.status) for a in all_alerts(tenant) if a.account_id == account.pk] == [
        ("health_red", "resolved"),
        ("payment_overdue", "resolved"),
    ]


# --- severity, details and the contingency plan ------------------------------------------------------


def test_a_rising_share_escalates_and_reopens_an_acknowledged_alert(tenant, policy):
    big = _single_given(tenant)
    run(tenant, kind=RunKind.CONCENTRATION)
    alert = open_alerts(tenant)[("concentration_single", big.pk)]
    services.alert_acknowledge(tenant, alert=alert)
    buy(tenant, big, "150")  # 300 of 1150 = .2609 >= .20
    result = run(tenant, kind=RunKind.CONCENTRATION)
    with tenant_context(tenant):
        alert.refresh_from_db()
    assert (alert.severity, alert.status, alert.details["line"], alert.details["threshold"]) == (
        "critical",
        "open",
        "critical",
        0.2,
    )
    assert round(alert.details["share"], 4) == 0.2609
    assert (result.alerts_opened, result.alerts_updated) == (0, 1)


def test_a_concentration_alert_says_whether_a_contingency_plan_covers_the_group(tenant, policy, admin):
    root = AccountFactory(tenant=tenant, name="集团")
    subsidiary = AccountFactory(tenant=tenant, name="子公司", parent=root)
    buy(tenant, root, "100")
    buy(tenant, subsidiary, "200")  # group 300 of 700 = .4286
    buy(tenant, AccountFactory(tenant=tenant, name="另一家"), "400")  # .5714
    run(tenant, kind=RunKind.CONCENTRATION)
    alerts = open_alerts(tenant)
    assert alerts[("concentration_single", root.pk)].details["no_contingency_plan"] is True
    # a plan on the subsidiary covers its group
    services.contingency_plan_create(
        tenant, account=subsidiary, kind="sudden_loss", actions="启动备选客户开发；压缩该客户信用额度。", owner=admin
    )
    run(tenant, kind=RunKind.CONCENTRATION)
    alerts = open_alerts(tenant)
    group = alerts[("concentration_single", root.pk)].details
    assert (group["has_contingency_plan"], group["no_contingency_plan"], group["group_accounts"]) == (True, False, 2)
    top5 = alerts[("concentration_top5", None)].details
    other = next(a for a in alerts if a[0] == "concentration_single" and a[1] != root.pk)[1]
    assert (top5["no_contingency_plan"], top5["groups_without_plan"]) == (True, [other])
    assert [(g["root"], g["has_contingency_plan"]) for g in top5["groups"]] == [(other, False), (root.pk, True)]


def test_a_backfill_of_an_earlier_day_leaves_the_alerts_alone(tenant, policy):
    account = _payment_given(tenant)
    run(tenant)
    assert ("payment_overdue", account.pk) in open_alerts(tenant)
    run(tenant, as_of=D - dt.timedelta(days=20))  # then FP-31 was 11 days past due
    assert ("payment_overdue", account.pk) in open_alerts(tenant)


# --- people -----------------------------------------------------------------------------------------


def test_resolved_by_hand_a_persisting_condition_opens_again_but_a_reviewed_event_stays_resolved(tenant, policy):
    payer = _payment_given(tenant)
    merged = _review_given(tenant)
    run(tenant)
    alerts = open_alerts(tenant)
    services.alert_resolve(tenant, alert=alerts[("payment_overdue", payer.pk)], note="已催收")
    services.alert_resolve(tenant, alert=alerts[("review_needed", merged.pk)], note="已复核客户关系")
    run(tenant)
    alerts = open_alerts(tenant)
    assert ("payment_overdue", payer.pk) in alerts  # still unpaid: a new alert
    assert ("review_needed", merged.pk) not in alerts  # the merger was reviewed
    # a new leadership change asks for a review again
    EventFactory(tenant=tenant, account=merged, kind="leadership_change", occurred_on=days_before(2), impact_points=0)
    run(tenant)
    review = open_alerts(tenant)[("review_needed", merged.pk)]
    assert [event["kind"] for event in review.details["events"]] == ["leadership_change"]


def test_a_contact_resolved_by_hand_stays_resolved_until_another_leaves(tenant, policy):
    account = _contact_given(tenant)
    run(tenant)
    services.alert_resolve(tenant, alert=open_alerts(tenant)[("key_contact_left", account.pk)])
    run(tenant)
    assert ("key_contact_left", account.pk) not in open_alerts(tenant)
    ContactFactory(
        tenant=tenant, account=account, name="李总", buying_role=BuyingRole.DECISION_MAKER, left_on=days_before(1)
    )
    run(tenant)
    alert = open_alerts(tenant)[("key_contact_left", account.pk)]
    assert [contact["name"] for contact in alert.details["contacts"]] == ["李总"]


def test_acknowledge_assign_and_snooze(tenant, policy, manager, admin):
    account = _payment_given(tenant)
    run(tenant)
    alert = open_alerts(tenant)[("payment_overdue", account.pk)]
    alert = services.alert_acknowledge(tenant, alert=alert, actor=admin)
    alert = services.alert_update(
        tenant, alert=alert, assignee=manager, snoozed_until=D + dt.timedelta(days=365), actor=admin
    )
    assert (alert.status, alert.acknowledged_by, alert.assignee) == ("acknowledged", admin, manager)
    run(tenant)  # still acknowledged, not reopened nor duplicated
    again = open_alerts(tenant)[("payment_overdue", account.pk)]
    assert (again.pk, again.status) == (alert.pk, "acknowledged")
    with pytest.raises(Exception, match="active member"):
        services.alert_update(tenant, alert=alert, assignee=UserFactory(email="stranger@x.test"))


def test_the_partial_unique_index_holds_one_open_alert_per_key(tenant, policy):
    account = _payment_given(tenant)
    run(tenant)
    alert = open_alerts(tenant)[("payment_overdue", account.pk)]
    with tenant_context(tenant), pytest.raises(IntegrityError), transaction.atomic():
        RiskAlert.objects.create(
            tenant=tenant,
            kind=alert.kind,
            dedupe_key=alert.dedupe_key,
            account=account,
            opened_at=alert.opened_at,
            updated_at=alert.updated_at,
        )


# --- notifications --------------------------------------------------------------------------------


def test_a_new_alert_notifies_the_owner_in_app_and_by_email(
    tenant, policy, manager, admin, director, member, django_capture_on_commit_callbacks
):
    account = _payment_given(tenant)
    change(tenant, Account, {"pk": account.pk}, owner=manager)
    with django_capture_on_commit_callbacks(execute=True):
        run(tenant)
    with tenant_context(tenant):
        notes = list(Notification.objects.filter(alert__kind="payment_overdue").values_list("user__email", "title"))
    assert notes == [("mark@acme.test", "Payment overdue: 拖欠客户")]
    to_manager = [m for m in mail.outbox if m.to == ["mark@acme.test"]]
    assert len(to_manager) == 1
    assert "1 invoice unpaid, up to 31 days past due (¥50,000.00)." in to_manager[0].body
    assert to_manager[0].subject.startswith("[KAM · Acme 精工] ")
    # a second run notifies nobody again
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        run(tenant)
    assert mail.outbox == []


def test_a_tenant_wide_alert_notifies_admins_and_directors(
    tenant, policy, admin, director, manager, outsider, django_capture_on_commit_callbacks
):
    _hhi_given(tenant)
    with django_capture_on_commit_callbacks(execute=True):
        run(tenant, kind=RunKind.CONCENTRATION)
    with tenant_context(tenant):
        hhi = set(Notification.objects.filter(alert__kind="concentration_hhi").values_list("user__email", flat=True))
    assert hhi == {"alice@acme.test", "dora@acme.test"}
    assert all("charlie@globex.test" not in message.to for message in mail.outbox)


def test_assigning_notifies_the_new_assignee(tenant, policy, manager, admin, django_capture_on_commit_callbacks):
    account = _payment_given(tenant)
    run(tenant)
    alert = open_alerts(tenant)[("payment_overdue", account.pk)]
    with django_capture_on_commit_callbacks(execute=True):
        services.alert_update(tenant, alert=alert, assignee=manager, actor=admin)
    with tenant_context(tenant):
        assert list(Notification.objects.filter(user=manager).values_list("kind", flat=True)) == ["alert.assigned"]
    assert [m.subject for m in mail.outbox] == ["[KAM · Acme 精工] 1 alert assigned to you"]


def test_notifications_are_marked_read(tenant, policy, manager):
    account = _payment_given(tenant)
    change(tenant, Account, {"pk": account.pk}, owner=manager)
    run(tenant)
    from risk import selectors

    with tenant_context(tenant):
        assert selectors.notification_count_unread(tenant, manager) == 2  # payment overdue and health red
    assert services.notifications_mark_read(tenant, user=manager) == 2
    with tenant_context(tenant):
        assert selectors.notification_count_unread(tenant, manager) == 0


def test_a_former_member_owner_is_not_notified(tenant, policy, manager):
    account = _payment_given(tenant)
    change(tenant, Account, {"pk": account.pk}, owner=manager)
    Membership.objects.filter(user=manager, tenant=tenant).update(is_active=False)
    run(tenant)
    with tenant_context(tenant):
        assert Notification.objects.count() == 0


def test_contingency_plan_rules(tenant, policy, admin, outsider, other_tenant):
    account = AccountFactory(tenant=tenant)
    foreign = AccountFactory(tenant=other_tenant)
    with pytest.raises(Exception, match="own accounts"):
        services.contingency_plan_create(tenant, account=foreign, kind="sudden_loss", actions="x")
    with pytest.raises(Exception, match="active member"):
        services.contingency_plan_create(tenant, account=account, kind="sudden_loss", actions="x", owner=outsider)
    with pytest.raises(Exception, match="actions"):
        services.contingency_plan_create(tenant, account=account, kind="sudden_loss", actions="  ")
    plan = services.contingency_plan_create(
        tenant, account=account, kind="alternative_market", actions="开拓华南市场", owner=admin, review_on=D
    )
    with tenant_context(tenant):
        assert ContingencyPlan.objects.get().kind == "alternative_market"
    services.contingency_plan_delete(tenant, plan=plan)


def test_team_gap_details_name_the_missing_functions(tenant, policy):
    account = _team_given(tenant)
    change(tenant, Account, {"pk": account.pk}, tier=Tier.S)
    run(tenant)
    details = open_alerts(tenant)[("team_gap", account.pk)].details
    # S needs executive sponsor, sales, technical, delivery, finance and an executive-level counterpart
    assert details["tier"] == "S"
    assert sorted((g["kind"], g["function"], g["level"]) for g in details["gaps"]) == sorted(
        [
            ("counterpart", "", "executive"),
            ("member", "delivery", ""),
            ("member", "executive_sponsor", ""),
            ("member", "finance", ""),
            ("member", "sales", ""),
            ("member", "technical", ""),
        ]
    )
