"""Contingency plans that act (issue #19 item 3): a plan's trigger kinds and steps; an alert of
one of those kinds opening on the plan's account turns the steps into actions on the account's
plan (teams), once per alert; resolving the alert may close them; the review day reminds the
owner once. Bad input is refused with nothing written; another tenant's plan is 404."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.core.exceptions import ValidationError

from accounts.models import Attitude
from kam.tenancy import tenant_context, tenant_today
from risk import contingency, services
from risk.models import ContingencyActivation, ContingencyPlan, ContingencyStep, Notification, RiskAlert
from teams.models import AccountPlan, PlanAction
from tests.conftest import bearer, login
from tests.factories import AccountFactory, ContactFactory, InvoiceFactory, UserFactory
from tests.risk.conftest import D, open_alerts, run
from tests.teams.factories import AccountPlanFactory

pytestmark = pytest.mark.django_db

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def days_before(days: int) -> dt.date:
    return D - dt.timedelta(days=days)


def contact_left(tenant, name="换人客户"):
    """An account whose champion left 10 days before D: key_contact_left (and health_red: no data)."""
    account = AccountFactory(tenant=tenant, name=name)
    ContactFactory(tenant=tenant, account=account, name="王总", attitude=Attitude.CHAMPION, left_on=days_before(10))
    return account


def payment_late(tenant, name="拖欠客户"):
    account = AccountFactory(tenant=tenant, name=name)
    InvoiceFactory(
        tenant=tenant, account=account, number=f"FP-{name}", issued_on=days_before(61), due_on=days_before(31)
    )
    return account


def make_plan(tenant, account, owner, steps_owners, kinds=("key_contact_left",), **extra):
    steps = [
        {"title": "Call the new decision maker", "owner": steps_owners[0], "due_offset_days": 0},
        {"title": "Executive visit", "owner": steps_owners[1], "due_offset_days": 7},
        {"title": "Review the pipeline", "owner": steps_owners[2], "due_offset_days": 30},
    ]
    return services.contingency_plan_create(
        tenant,
        account=account,
        kind="sudden_loss",
        actions="If the champion goes, rebuild the relationship.",
        title="Champion leaves",
        owner=owner,
        trigger_kinds=list(kinds),
        steps=steps,
        **extra,
    )


def actions_of(tenant, account=None):
    with tenant_context(tenant):
        rows = PlanAction.objects.select_related("plan").order_by("due_on", "id")
        if account is not None:
            rows = rows.filter(plan__account=account)
        return list(rows)


def test_trigger_makes_the_steps_actions_on_the_accounts_plan(tenant, policy, director, manager, member):
    account = contact_left(tenant)
    bystander = payment_late(tenant)
    plan = make_plan(tenant, account, director, [manager, member, director])
    # when: the run opens key_contact_left (and health_red, payment_overdue elsewhere)
    run(tenant)
    # then: three actions, one per step, on a plan made for the account (it had none)
    alert = open_alerts(tenant)[("key_contact_left", account.pk)]
    day = alert.opened_at.astimezone(SHANGHAI).date()
    assert day == tenant_today(tenant)
    actions = actions_of(tenant, account)
    assert [(a.title, a.owner_id, a.due_on, a.status) for a in actions] == [
        ("Call the new decision maker", manager.pk, day, "open"),
        ("Executive visit", member.pk, day + dt.timedelta(days=7), "open"),
        ("Review the pipeline", director.pk, day + dt.timedelta(days=30), "open"),
    ]
    with tenant_context(tenant):
        (account_plan,) = AccountPlan.objects.filter(account=account)
        assert (account_plan.period_start, account_plan.period_end) == (day, day + dt.timedelta(days=364))
        activation = ContingencyActivation.objects.get()
    assert (activation.plan_id, activation.alert_id) == (plan.pk, alert.pk)
    assert activation.action_ids == [a.pk for a in actions]
    # only that account, only the trigger kinds (health_red on the same account made nothing)
    assert actions_of(tenant, bystander) == []
    assert len(actions_of(tenant)) == 3


def test_a_rerun_does_not_duplicate_and_an_existing_account_plan_is_used(tenant, policy, director, manager):
    account = contact_left(tenant)
    current = AccountPlanFactory(
        tenant=tenant, account=account, period_start=dt.date(2020, 1, 1), period_end=dt.date(2099, 12, 31)
    )
    make_plan(tenant, account, director, [manager, manager, manager])
    run(tenant)
    run(tenant)
    run(tenant, as_of=D + dt.timedelta(days=1))
    actions = actions_of(tenant, account)
    assert len(actions) == 3
    assert {a.plan_id for a in actions} == {current.pk}
    with tenant_context(tenant):
        assert ContingencyActivation.objects.count() == 1
        assert AccountPlan.objects.filter(account=account).count() == 1
    # activating the same alert again by hand adds nothing either
    alert = open_alerts(tenant)[("key_contact_left", account.pk)]
    with tenant_context(tenant):
        assert contingency.activate(tenant, alert_ids=[alert.pk]) == 0


def test_due_dates_count_from_the_alerts_day(tenant, policy, director, manager):
    """Hand-computed: an alert opened at 2026-06-30 23:30 Shanghai (15:30 UTC) is of 30 June."""
    account = contact_left(tenant)
    run(tenant)  # the alert opens before the plan exists: nothing is made
    assert actions_of(tenant) == []
    make_plan(tenant, account, director, [manager, manager, manager])
    alert = open_alerts(tenant)[("key_contact_left", account.pk)]
    with tenant_context(tenant):
        RiskAlert.objects.filter(pk=alert.pk).update(opened_at=dt.datetime(2026, 6, 30, 15, 30, tzinfo=dt.UTC))
        assert contingency.activate(tenant, alert_ids=[alert.pk]) == 3
    assert [a.due_on for a in actions_of(tenant, account)] == [
        dt.date(2026, 6, 30),
        dt.date(2026, 7, 7),
        dt.date(2026, 7, 30),
    ]


def test_a_tenant_wide_alert_acts_on_the_plans_account_and_a_group_alert_on_its_accounts(tenant, director, manager):
    parent = AccountFactory(tenant=tenant, name="集团")
    child = AccountFactory(tenant=tenant, name="子公司", parent=parent)
    plan_child = make_plan(tenant, child, director, [manager] * 3, kinds=("concentration_single",))
    plan_top5 = make_plan(tenant, parent, director, [manager] * 3, kinds=("concentration_top5",))
    now = dt.datetime(2026, 6, 30, 2, 0, tzinfo=dt.UTC)
    with tenant_context(tenant):
        single = RiskAlert.objects.create(
            tenant=tenant, kind="concentration_single", account=parent, dedupe_key="s", opened_at=now, updated_at=now
        )
        top5 = RiskAlert.objects.create(
            tenant=tenant, kind="concentration_top5", account=None, dedupe_key="t", opened_at=now, updated_at=now
        )
        assert contingency.activate(tenant, alert_ids=[single.pk, top5.pk]) == 6
        pairs = set(ContingencyActivation.objects.values_list("plan_id", "alert_id"))
    assert pairs == {(plan_child.pk, single.pk), (plan_top5.pk, top5.pk)}
    assert {a.plan.account_id for a in actions_of(tenant)} == {child.pk, parent.pk}


def test_many_alerts_at_once_take_as_many_queries_as_one(tenant, director, manager):
    """Set-based: the number of statements does not grow with the alerts."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def batch(count, prefix):
        accounts = [AccountFactory(tenant=tenant, name=f"{prefix}{i}") for i in range(count)]
        for account in accounts:
            make_plan(tenant, account, director, [manager] * 3)
        now = dt.datetime(2026, 6, 30, 2, 0, tzinfo=dt.UTC)
        with tenant_context(tenant):
            alerts = [
                RiskAlert.objects.create(
                    tenant=tenant,
                    kind="key_contact_left",
                    account=a,
                    dedupe_key=f"k{a.pk}",
                    opened_at=now,
                    updated_at=now,
                )
                for a in accounts
            ]
            with CaptureQueriesContext(connection) as queries:
                made = contingency.activate(tenant, alert_ids=[a.pk for a in alerts])
        return made, len(queries)

    one = batch(1, "单")
    many = batch(20, "多")
    assert (one[0], many[0]) == (3, 60)
    assert many[1] == one[1]


def test_resolve_with_and_without_closing_the_actions(tenant, policy, director, manager):
    first = contact_left(tenant, "甲")
    second = contact_left(tenant, "乙")
    make_plan(tenant, first, director, [manager] * 3)
    make_plan(tenant, second, director, [manager] * 3)
    run(tenant)
    alerts = open_alerts(tenant)
    with tenant_context(tenant):
        done = actions_of(tenant, first)[0]
        PlanAction.objects.filter(pk=done.pk).update(status="done")
    services.alert_resolve(tenant, alert=alerts[("key_contact_left", first.pk)], close_actions=True, actor=director)
    services.alert_resolve(tenant, alert=alerts[("key_contact_left", second.pk)], actor=director)
    assert [a.status for a in actions_of(tenant, first)] == ["done", "cancelled", "cancelled"]
    assert [a.status for a in actions_of(tenant, second)] == ["open", "open", "open"]


def test_an_alert_cleared_by_a_run_leaves_its_actions_open(tenant, policy, director, manager):
    account = contact_left(tenant)
    make_plan(tenant, account, director, [manager] * 3)
    run(tenant)
    from accounts.models import Contact

    with tenant_context(tenant):
        Contact.objects.filter(name="王总").update(left_on=None)
    run(tenant)
    assert ("key_contact_left", account.pk) not in open_alerts(tenant)
    assert [a.status for a in actions_of(tenant, account)] == ["open", "open", "open"]


def test_the_review_day_reminds_the_owner_once(tenant, director, manager):
    account = AccountFactory(tenant=tenant)
    due = make_plan(tenant, account, director, [manager] * 3, review_on=dt.date(2026, 6, 30))
    make_plan(tenant, account, manager, [manager] * 3, review_on=dt.date(2026, 7, 1))  # not yet
    with tenant_context(tenant):
        assert contingency.review_reminders(tenant, today=dt.date(2026, 6, 30)) == 1
        assert contingency.review_reminders(tenant, today=dt.date(2026, 6, 30)) == 0
        assert contingency.review_reminders(tenant, today=dt.date(2026, 7, 1)) == 1
        (note,) = Notification.objects.filter(user=director)
        assert note.kind == "contingency.review"
        assert "Champion leaves" in note.title
        assert note.link.endswith(f"/risk/plans/{due.pk}/")
    # a new review day reminds again, once
    services.contingency_plan_update(tenant, plan=due, review_on=dt.date(2026, 9, 30))
    with tenant_context(tenant):
        assert contingency.review_reminders(tenant, today=dt.date(2026, 9, 30)) == 1
        assert contingency.review_reminders(tenant, today=dt.date(2026, 10, 1)) == 0


def test_the_review_task_runs_per_tenant(tenant, director, manager):
    from risk.tasks import contingency_reviews

    account = AccountFactory(tenant=tenant)
    make_plan(tenant, account, director, [manager] * 3, review_on=dt.date(2020, 1, 1))
    contingency_reviews.apply(args=[tenant.pk])
    with tenant_context(tenant):
        assert Notification.objects.filter(user=director, kind="contingency.review").count() == 1
    from kam.nightly import NIGHTLY_JOBS

    # every night, forty minutes after the tenant's health assessment
    assert [(job.anchor, job.offset_minutes) for job in NIGHTLY_JOBS if job.task == "risk.contingency_reviews"] == [
        ("health_at", 40)
    ]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("trigger_kinds", ["health_red", "nonsense"], "Unknown alert kind: nonsense."),
        ("steps", [{"title": "", "owner": "OWNER", "due_offset_days": 1}], "Step 1: write what is to be done."),
        ("steps", [{"title": "A", "owner": "OUTSIDER", "due_offset_days": 1}], "choose an active member"),
        ("steps", [{"title": "A", "owner": "OWNER", "due_offset_days": 366}], "between 0 and 365 days"),
        ("steps", [{"title": "A", "owner": "OWNER", "due_offset_days": -1}], "between 0 and 365 days"),
        ("steps", [{"title": "A", "owner": None, "due_offset_days": 1}], "Step 1: choose who does it."),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(tenant, director, outsider, field, value, message):
    account = AccountFactory(tenant=tenant)
    if field == "steps":
        value = [{**step, "owner": {"OWNER": director, "OUTSIDER": outsider}.get(step["owner"])} for step in value]
    data = {"trigger_kinds": ["health_red"], "steps": [], field: value}
    with pytest.raises(ValidationError) as caught:
        services.contingency_plan_create(
            tenant, account=account, kind="sudden_loss", actions="x", owner=director, actor=director, **data
        )
    assert message in " ".join(caught.value.message_dict[field])
    with tenant_context(tenant):
        assert ContingencyPlan.objects.count() == 0
        assert ContingencyStep.objects.count() == 0
    # an update is refused the same way and leaves the plan and its steps as they were
    plan = make_plan(tenant, account, director, [director] * 3)
    with pytest.raises(ValidationError):
        services.contingency_plan_update(tenant, plan=plan, title="changed", **{field: value})
    with tenant_context(tenant):
        plan.refresh_from_db()
        steps = [s.title for s in plan.steps.order_by("position")]
    assert plan.title == "Champion leaves"
    assert steps == [
        "Call the new decision maker",
        "Executive visit",
        "Review the pipeline",
    ]


def test_actions_never_go_to_another_tenants_plan(tenant, other_tenant, policy, director, manager):
    account = contact_left(tenant)
    foreign = AccountFactory(tenant=other_tenant, name="别家")
    foreign_plan = AccountPlanFactory(tenant=other_tenant, account=foreign)
    make_plan(tenant, account, director, [manager] * 3)
    run(tenant)
    with tenant_context(other_tenant):
        assert PlanAction.objects.filter(plan=foreign_plan).count() == 0
        assert ContingencyActivation.objects.count() == 0
    assert {a.plan.tenant_id for a in actions_of(tenant)} == {tenant.pk}


# --- pages ---------------------------------------------------------------------------------------------


def plan_url(tenant, plan_id, suffix=""):
    return f"/t/{tenant.slug}/risk/plans/{plan_id}/{suffix}"


@pytest.mark.parametrize(
    ("language", "texts"), [("en", ["Triggered by", "Activations"]), ("zh-hans", ["触发", "启动记录"])]
)
def test_plan_page_shows_steps_and_activations(tenant, policy, director, manager, language, texts):
    account = contact_left(tenant)
    plan = make_plan(tenant, account, director, [manager] * 3)
    run(tenant)
    response = login(director).get(plan_url(tenant, plan.pk), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    body = response.content.decode()
    for text in texts:
        assert text in body
    assert "Executive visit" in body
    assert f"/teams/accounts/{account.pk}/plan/" in body


def test_plan_form_saves_triggers_and_steps(tenant, director, manager):
    account = AccountFactory(tenant=tenant, owner=director)
    client = login(director)
    url = f"/t/{tenant.slug}/risk/accounts/{account.pk}/plans/new/"
    assert "steps-TOTAL_FORMS" in client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    data = {
        "kind": "sudden_loss",
        "title": "Plan B",
        "owner": director.pk,
        "actions": "Do things",
        "trigger_kinds": ["health_red", "key_contact_left"],
        "steps-TOTAL_FORMS": "2",
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "30",
        "steps-0-title": "Call",
        "steps-0-owner": manager.pk,
        "steps-0-due_offset_days": "3",
        "steps-1-title": "",
        "steps-1-owner": "",
        "steps-1-due_offset_days": "",
    }
    response = client.post(url, data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302, response.content.decode()[:3000]
    with tenant_context(tenant):
        plan = ContingencyPlan.objects.get()
        assert plan.trigger_kinds == ["health_red", "key_contact_left"]
        assert [(s.title, s.owner_id, s.due_offset_days) for s in plan.steps.all()] == [("Call", manager.pk, 3)]
    # bad: an offset out of range is shown on the form, nothing changes
    edit = plan_url(tenant, plan.pk, "edit/")
    bad = {**data, "steps-0-due_offset_days": "400", "steps-INITIAL_FORMS": "0"}
    response = client.post(edit, bad, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "365" in response.content.decode()
    with tenant_context(tenant):
        assert [s.due_offset_days for s in ContingencyStep.objects.all()] == [3]
    # removing a row (DELETE) empties the checklist
    gone = {**data, "steps-0-DELETE": "on"}
    assert client.post(edit, gone, HTTP_ACCEPT_LANGUAGE="en").status_code == 302
    with tenant_context(tenant):
        assert ContingencyStep.objects.count() == 0


@pytest.mark.parametrize(("language", "text"), [("en", "created 3 actions"), ("zh-hans", "创建了 3 项行动")])
def test_alert_page_shows_the_actions_and_resolves_closing_them(tenant, policy, director, manager, language, text):
    account = contact_left(tenant)
    make_plan(tenant, account, director, [manager] * 3)
    run(tenant)
    alert = open_alerts(tenant)[("key_contact_left", account.pk)]
    client = login(director)
    body = client.get(f"/t/{tenant.slug}/risk/alerts/{alert.pk}/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert text in body
    assert 'name="close_actions"' in body
    response = client.post(
        f"/t/{tenant.slug}/risk/alerts/{alert.pk}/resolve/",
        {"note": "ok", "close_actions": "1"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 302
    assert [a.status for a in actions_of(tenant, account)] == ["cancelled"] * 3


def test_another_tenants_plan_is_404(tenant, other_tenant, director, outsider):
    foreign = AccountFactory(tenant=other_tenant)
    plan = make_plan(other_tenant, foreign, outsider, [outsider] * 3)
    client = login(director)
    assert client.get(plan_url(tenant, plan.pk), HTTP_ACCEPT_LANGUAGE="en").status_code == 404
    assert client.get(plan_url(tenant, plan.pk, "edit/"), HTTP_ACCEPT_LANGUAGE="en").status_code == 404


# --- API -----------------------------------------------------------------------------------------------


def test_api_writes_triggers_and_steps_and_reads_activations(tenant, policy, director, manager, write_token):
    from rest_framework.test import APIClient

    account = contact_left(tenant)
    client = APIClient()
    payload = {
        "account": account.pk,
        "kind": "sudden_loss",
        "actions": "x",
        "trigger_kinds": ["key_contact_left"],
        "steps": [{"title": "Call", "owner": manager.pk, "due_offset_days": 2}],
    }
    response = client.post("/api/v1/contingency-plans/", payload, format="json", **bearer(write_token))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["trigger_kinds"] == ["key_contact_left"]
    assert body["steps"] == [{"position": 1, "title": "Call", "owner": manager.pk, "due_offset_days": 2}]
    assert body["activations"] == []
    run(tenant)
    plan_id = body["id"]
    body = client.get(f"/api/v1/contingency-plans/{plan_id}/", **bearer(write_token)).json()
    (activation,) = body["activations"]
    assert len(activation["actions"]) == 1
    assert activation["actions"][0]["status"] == "open"
    # bad input: nothing written, 400 with the field
    for bad in (
        {"trigger_kinds": ["nonsense"]},
        {"steps": [{"title": "A", "owner": manager.pk, "due_offset_days": 999}]},
        {"steps": [{"title": "A", "owner": 999999, "due_offset_days": 1}]},
    ):
        response = client.patch(f"/api/v1/contingency-plans/{plan_id}/", bad, format="json", **bearer(write_token))
        assert response.status_code == 400, (bad, response.content)
    with tenant_context(tenant):
        assert list(ContingencyPlan.objects.get().trigger_kinds) == ["key_contact_left"]
        assert ContingencyStep.objects.get().due_offset_days == 2
    # resolve with close_actions
    alert = open_alerts(tenant)[("key_contact_left", account.pk)]
    response = client.post(
        f"/api/v1/alerts/{alert.pk}/resolve/", {"close_actions": True}, format="json", **bearer(write_token)
    )
    assert response.status_code == 200, response.content
    assert [a.status for a in actions_of(tenant, account)] == ["cancelled"]


def test_api_step_owner_of_another_tenant_is_refused(tenant, director, outsider, write_token):
    from rest_framework.test import APIClient

    account = AccountFactory(tenant=tenant)
    payload = {
        "account": account.pk,
        "kind": "sudden_loss",
        "actions": "x",
        "trigger_kinds": ["health_red"],
        "steps": [{"title": "Call", "owner": outsider.pk, "due_offset_days": 2}],
    }
    response = APIClient().post("/api/v1/contingency-plans/", payload, format="json", **bearer(write_token))
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "invalid",
            "message": "请求中有字段无效。",
            "fields": {"steps": ["步骤 1：请选择本工作区的在职成员。"]},
        }
    }
    with tenant_context(tenant):
        assert ContingencyPlan.objects.count() == 0


def test_a_users_other_tenant_membership_does_not_make_them_a_step_owner(tenant, other_tenant, director):
    stranger = UserFactory(email="s@x.test")
    from kam.models import Membership

    Membership.objects.create(tenant=other_tenant, user=stranger, role="manager")
    with pytest.raises(ValidationError):
        make_plan(tenant, AccountFactory(tenant=tenant), director, [stranger, director, director])


# --- demo ----------------------------------------------------------------------------------------------


def test_the_demo_has_a_triggered_contingency_plan():
    from django.apps import apps

    from kam import services as kam_services
    from kam.models import Role

    tenant = kam_services.tenant_create(slug="demo-acting", name="演示", industry_profile="manufacturing")
    people = {}
    for role in Role.values:
        user = kam_services.user_get_or_create(email=f"{role}@acting.example.com", password="x" * 12, full_name=role)
        kam_services.membership_create(tenant=tenant, user=user, role=role)
        people[role] = user
    for label in ("accounts", "scoring", "teams", "risk"):
        apps.get_app_config(label).load_demo(tenant, people)
    with tenant_context(tenant):
        plan = ContingencyPlan.objects.exclude(trigger_kinds=[]).get()
        (activation,) = ContingencyActivation.objects.filter(plan=plan).select_related("alert")
        actions = list(
            PlanAction.objects.filter(pk__in=activation.action_ids).select_related("plan").order_by("due_on")
        )
    assert plan.trigger_kinds == ["health_red", "key_contact_left"]
    assert activation.alert.kind == "key_contact_left"
    assert activation.alert.account_id == plan.account_id
    assert [(a.owner_id, a.status) for a in actions] == [
        (people["manager"].pk, "open"),
        (people["director"].pk, "open"),
        (people["member"].pk, "open"),
    ]
    assert {a.plan.account_id for a in actions} == {plan.account_id}
