"""The risk center and the alert page: what each role reads and may change, the filters,
counts and order, in-place and bulk actions with their bad input (nothing changes, a
clear error), both languages, and another tenant's alerts (never listed, 404)."""

from __future__ import annotations

import datetime as dt
import itertools
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kam.tenancy import tenant_context, tenant_today
from risk.models import AlertStatus, Notification, RiskAlert
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
CENTER = "/t/acme/risk/"
_keys = itertools.count(1)


def client_in(user, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def make_alert(tenant, kind: str, severity: str, account=None, *, hours_ago: int = 0, **fields) -> RiskAlert:
    opened = timezone.now() - dt.timedelta(hours=hours_ago)
    key = f"{kind}:{account.pk if account else 'tenant'}:{next(_keys)}"
    with tenant_context(tenant):
        return RiskAlert.objects.create(
            tenant=tenant,
            kind=kind,
            severity=severity,
            account=account,
            dedupe_key=key,
            opened_at=opened,
            updated_at=opened,
            **fields,
        )


def fresh(tenant, alert: RiskAlert) -> RiskAlert:
    with tenant_context(tenant):
        return RiskAlert.objects.select_related("assignee", "acknowledged_by", "resolved_by").get(pk=alert.pk)


def listed(response) -> list[int]:
    """The alert ids of the list's rows, in order."""
    return [int(pk) for pk in re.findall(r'<tr id="alert-(\d+)"', response.content.decode())]


def figure(response, severity: str) -> int:
    body = response.content.decode()
    match = re.search(rf'severity-figure--{severity}.*?<span class="figure-value">(\d+)</span>', body, re.S)
    return int(match.group(1))


@pytest.fixture
def world(tenant, other_tenant, manager, member, director):
    """Alerts on an account of the manager's, one of nobody's, one of the member's, one of the
    whole workspace; a resolved and a snoozed one; and one of another tenant."""
    today = tenant_today(tenant)
    own = AccountFactory(tenant=tenant, name="中车华北集团", owner=manager)
    others = AccountFactory(tenant=tenant, name="远航船舶重工")
    members = AccountFactory(tenant=tenant, name="蓝天新能源", owner=member)
    foreign_account = AccountFactory(tenant=other_tenant, name="外部客户")
    alerts = {
        "red": make_alert(
            tenant, "health_red", "critical", others, hours_ago=5, details={"score": "33.33", "band": "red"}
        ),
        "payment": make_alert(
            tenant,
            "payment_overdue",
            "warning",
            own,
            hours_ago=1,
            details={"invoices": 2, "max_days_overdue": 48, "outstanding": "356000.00", "numbers": ["FP-1", "FP-2"]},
        ),
        "hhi": make_alert(
            tenant,
            "concentration_hhi",
            "warning",
            None,
            hours_ago=3,
            details={
                "hhi": 6800,
                "threshold": 2500,
                "groups": [{"root": own.pk, "root_name": "中车华北集团", "share": 0.8, "has_contingency_plan": False}],
            },
        ),
        "contract": make_alert(
            tenant,
            "contract_expiring",
            "info",
            members,
            hours_ago=2,
            details={"title": "年度框架协议", "end_on": "2026-09-01", "days_left": 63},
        ),
        "resolved": make_alert(
            tenant,
            "purchase_overdue",
            "warning",
            own,
            hours_ago=30,
            status=AlertStatus.RESOLVED,
            resolved_at=timezone.now(),
            resolved_by=director,
            resolution="manual",
            resolution_note="已下单",
        ),
        "snoozed": make_alert(
            tenant,
            "team_gap",
            "warning",
            own,
            hours_ago=4,
            snoozed_until=today + dt.timedelta(days=10),
            details={"gaps": []},
        ),
        "foreign": make_alert(other_tenant, "health_red", "critical", foreign_account, details={"score": "10"}),
    }
    return {"own": own, "others": others, "members": members, "today": today, **alerts}


# --- the list ----------------------------------------------------------------------------------------


def test_the_center_lists_the_open_alerts_most_severe_first_with_counts(tenant, world, director):
    # when
    response = client_in(director).get(CENTER)
    # then: critical first, then the warnings newest first (payment 1 h ago, hhi 3 h), then info;
    # resolved and snoozed left out, and never the other tenant's
    assert response.status_code == 200
    assert listed(response) == [world["red"].pk, world["payment"].pk, world["hhi"].pk, world["contract"].pk]
    body = response.content.decode()
    assert "外部客户" not in body
    assert "2 invoices unpaid, up to 48 days past due (¥356,000.00)." in body
    assert f"/t/acme/accounts/{world['others'].pk}/?tab=risk" in body
    # counts of the open ones, snoozed included: critical 1; warning payment, hhi, snoozed = 3; info 1
    assert (figure(response, "critical"), figure(response, "warning"), figure(response, "info")) == (1, 3, 1)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kind=payment_overdue", ["payment"]),
        ("severity=warning", ["payment", "hhi"]),
        ("status=resolved", ["resolved"]),
        ("status=all", ["red", "payment", "hhi", "resolved", "contract"]),
        ("snoozed=on", ["red", "payment", "hhi", "snoozed", "contract"]),
        ("q=中车", ["payment"]),
        ("assignee=unassigned", ["red", "payment", "hhi", "contract"]),
        ("kind=nonsense&severity=loud", ["red", "payment", "hhi", "contract"]),
    ],
)
def test_filters(tenant, world, director, query, expected):
    response = client_in(director).get(f"{CENTER}?{query}")
    assert response.status_code == 200
    assert listed(response) == [world[name].pk for name in expected]


def test_assignee_filters_mine_and_a_person(tenant, world, director, manager):
    with tenant_context(tenant):
        RiskAlert.objects.filter(pk=world["payment"].pk).update(assignee=manager)
        RiskAlert.objects.filter(pk=world["contract"].pk).update(assignee=director)
    client = client_in(director)
    assert listed(client.get(f"{CENTER}?assignee=mine")) == [world["contract"].pk]
    assert listed(client.get(f"{CENTER}?assignee={manager.pk}")) == [world["payment"].pk]
    assert listed(client.get(f"{CENTER}?assignee=unassigned")) == [world["red"].pk, world["hhi"].pk]


def test_htmx_filtering_answers_the_list_only(tenant, world, director):
    response = client_in(director).get(f"{CENTER}?severity=critical", **HTMX)
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="alerts-body">')
    assert listed(response) == [world["red"].pk]
    assert response["Vary"].count("HX-Request") == 1


def test_a_member_sees_only_the_alerts_of_their_accounts_and_changes_none(tenant, world, member):
    response = client_in(member).get(CENTER)
    assert listed(response) == [world["contract"].pk]
    body = response.content.decode()
    assert "/acknowledge/" not in body and 'name="alert_ids"' not in body
    # the counts are theirs too: one info alert
    assert (figure(response, "critical"), figure(response, "warning"), figure(response, "info")) == (0, 0, 1)


def test_an_executive_reads_everything_and_has_no_actions(tenant, world, executive):
    response = client_in(executive).get(CENTER)
    assert listed(response) == [world["red"].pk, world["payment"].pk, world["hhi"].pk, world["contract"].pk]
    assert "/acknowledge/" not in response.content.decode()


def test_a_manager_acts_on_the_alerts_of_the_accounts_they_write(tenant, world, manager):
    body = client_in(manager).get(CENTER).content.decode()
    assert f"/t/acme/risk/alerts/{world['payment'].pk}/acknowledge/" in body
    assert f"/t/acme/risk/alerts/{world['red'].pk}/acknowledge/" not in body  # nobody's: the director's to act on
    assert f"/t/acme/risk/alerts/{world['hhi'].pk}/acknowledge/" not in body  # tenant-wide
    assert re.findall(r'name="alert_ids" value="(\d+)"', body) == [str(world["payment"].pk)]


def test_empty_states(tenant, director):
    client = client_in(director)
    assert "No open alerts — good." in client.get(CENTER).content.decode()
    assert "No alerts match these filters." in client.get(f"{CENTER}?kind=team_gap").content.decode()
    assert "没有未解决的预警——很好。" in client_in(director, "zh-hans").get(CENTER).content.decode()


def test_every_open_alert_snoozed_says_so(tenant, director):
    make_alert(tenant, "team_gap", "warning", snoozed_until=tenant_today(tenant) + dt.timedelta(days=3))
    body = client_in(director).get(CENTER).content.decode()
    assert "Every open alert is snoozed." in body


def test_pages_of_fifty_and_a_query_count_that_does_not_grow(tenant, director, manager, django_assert_max_num_queries):
    # given: 5 alerts on accounts of the manager
    accounts = [AccountFactory(tenant=tenant, owner=manager) for _ in range(5)]
    for n, account in enumerate(accounts):
        make_alert(tenant, "health_red", "critical", account, hours_ago=n)
    client = client_in(manager)
    with CaptureQueriesContext(connection) as few:
        assert len(listed(client.get(CENTER))) == 5
    # when: 55 more alerts, on 55 more accounts
    for n in range(55):
        make_alert(tenant, "payment_overdue", "warning", AccountFactory(tenant=tenant, owner=manager), hours_ago=n)
    # then: the same number of queries, 50 rows on the first page and 10 on the second
    with django_assert_max_num_queries(len(few.captured_queries)):
        first = client.get(CENTER)
    assert len(listed(first)) == 50
    assert "Page 1 of 2" in first.content.decode()
    assert len(listed(client.get(f"{CENTER}?page=2"))) == 10


def test_both_languages(tenant, world, director):
    english = client_in(director).get(CENTER).content.decode()
    chinese = client_in(director, "zh-hans").get(CENTER).content.decode()
    assert "Risk center" in english and "Acknowledge" in english
    assert "待处理和已确认" in chinese and "解决、指派、暂缓" in chinese and "没有符合" not in chinese


# --- the alert page ----------------------------------------------------------------------------------


def test_the_alert_page(tenant, world, director):
    response = client_in(director).get(f"/t/acme/risk/alerts/{world['hhi'].pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Concentration index (HHI)" in body
    assert "HHI 6,800 (line 2,500)." in body
    assert "Whole workspace" in body
    assert "80.0%" in body and "中车华北集团" in body  # the largest group with its share
    assert "by the risk run" in body


def test_the_alert_page_shows_the_timeline_of_a_resolved_alert(tenant, world, director):
    body = client_in(director).get(f"/t/acme/risk/alerts/{world['resolved'].pk}/").content.decode()
    assert "Resolved by hand" in body and "已下单" in body and director.display_name in body
    assert "/resolve/" not in body  # nothing left to do


def test_the_alert_page_links_the_account_on_its_risk_tab(tenant, world, member):
    body = client_in(member).get(f"/t/acme/risk/alerts/{world['contract'].pk}/").content.decode()
    assert f'href="/t/acme/accounts/{world["members"].pk}/?tab=risk"' in body
    assert "年度框架协议 ends on 2026-09-01, in 63 days." in body


def test_alerts_the_member_may_not_read_and_other_tenants_alerts_are_404(tenant, world, member, director, outsider):
    assert client_in(member).get(f"/t/acme/risk/alerts/{world['red'].pk}/").status_code == 404
    assert client_in(member).get(f"/t/acme/risk/alerts/{world['hhi'].pk}/").status_code == 404
    assert client_in(director).get(f"/t/acme/risk/alerts/{world['foreign'].pk}/").status_code == 404
    assert client_in(director).get("/t/acme/risk/alerts/99999999999999999999/").status_code == 404
    # the outsider is no member of acme: the whole workspace is 404
    assert client_in(outsider).get(f"/t/acme/risk/alerts/{world['red'].pk}/").status_code == 404
    assert client_in(outsider).get(CENTER).status_code == 404
    # and in their own workspace, acme's alert is not theirs
    assert client_in(outsider).get(f"/t/globex/risk/alerts/{world['red'].pk}/").status_code == 404
    assert listed(client_in(outsider).get("/t/globex/risk/")) == [world["foreign"].pk]


# --- actions on one alert ------------------------------------------------------------------------


def act(client, alert, action: str, data: dict | None = None, *, origin: str = "center", htmx: bool = True):
    payload = {"from": origin, "list_query": "severity=warning", **(data or {})}
    extra = HTMX if htmx else {}
    return client.post(f"/t/acme/risk/alerts/{alert.pk}/{action}/", payload, **extra)


def test_acknowledge_in_place_from_the_center(tenant, world, director):
    # when
    response = act(client_in(director), world["payment"], "acknowledge")
    # then: the list again (the filters kept), with the notice and the row's new status
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#alerts-body"
    body = response.content.decode()
    assert "The alert was acknowledged." in body
    assert listed(response) == [world["payment"].pk, world["hhi"].pk]
    alert = fresh(tenant, world["payment"])
    assert (alert.status, alert.acknowledged_by) == (AlertStatus.ACKNOWLEDGED, director)


def test_acknowledge_without_javascript_redirects_with_a_message(tenant, world, director):
    client = client_in(director)
    response = act(client, world["red"], "acknowledge", origin="alert", htmx=False)
    assert response.status_code == 302
    assert response["Location"] == f"/t/acme/risk/alerts/{world['red'].pk}/"
    assert "The alert was acknowledged." in client.get(response["Location"]).content.decode()


def test_acknowledging_a_resolved_alert_is_a_clear_error(tenant, world, director):
    response = act(client_in(director), world["resolved"], "acknowledge", origin="alert")
    assert response.status_code == 400
    assert "This alert is resolved already." in response.content.decode()
    assert fresh(tenant, world["resolved"]).status == AlertStatus.RESOLVED


def test_resolve_with_a_note_on_the_alert_page(tenant, world, director):
    response = act(client_in(director), world["red"], "resolve", {"note": "  已回款，客户确认  "}, origin="alert")
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#alert-body"
    assert "The alert was resolved." in response.content.decode()
    alert = fresh(tenant, world["red"])
    assert (alert.status, alert.resolution, alert.resolution_note, alert.resolved_by) == (
        AlertStatus.RESOLVED,
        "manual",
        "已回款，客户确认",
        director,
    )


def test_resolve_without_javascript_asks_first(tenant, world, director):
    client = client_in(director)
    confirm = client.get(f"/t/acme/risk/alerts/{world['red'].pk}/resolve/?from=center&note=已处理")
    assert confirm.status_code == 200
    body = confirm.content.decode()
    assert "Resolve the alert “Health in the red”?" in body and "已处理" in body
    assert fresh(tenant, world["red"]).status == AlertStatus.OPEN  # asking changed nothing
    done = act(client, world["red"], "resolve", {"note": "已处理"}, htmx=False)
    assert (done.status_code, done["Location"]) == (302, "/t/acme/risk/?severity=warning")
    assert fresh(tenant, world["red"]).status == AlertStatus.RESOLVED


def test_a_note_too_long_is_refused(tenant, world, director):
    response = act(client_in(director), world["red"], "resolve", {"note": "长" * 2001})
    assert response.status_code == 400
    assert "Ensure this value has at most 2000 characters (it has 2001)." in response.content.decode()
    assert fresh(tenant, world["red"]).status == AlertStatus.OPEN


def test_assign_to_a_member_who_is_notified(tenant, world, director, member):
    response = act(client_in(director), world["red"], "assign", {"assignee": member.pk})
    assert response.status_code == 200
    assert f"The alert is assigned to {member.display_name}." in response.content.decode()
    assert fresh(tenant, world["red"]).assignee == member
    with tenant_context(tenant):
        notified = Notification.objects.get(user=member)
    assert (notified.kind, notified.link) == ("alert.assigned", f"/t/acme/risk/alerts/{world['red'].pk}/")
    # and unassigned again
    act(client_in(director), world["red"], "assign", {"assignee": ""})
    assert fresh(tenant, world["red"]).assignee is None


@pytest.mark.parametrize("assignee", ["outsider", "abc", "99999999999999999999", "0"])
def test_assign_to_someone_not_of_the_workspace_is_refused(tenant, world, director, outsider, assignee):
    value = outsider.pk if assignee == "outsider" else assignee
    response = act(client_in(director), world["red"], "assign", {"assignee": value}, origin="alert")
    assert response.status_code == 400
    assert (
        '<p class="row-error" role="alert">Choose an active member of this workspace.</p>' in response.content.decode()
    )
    assert fresh(tenant, world["red"]).assignee is None


@pytest.mark.parametrize(
    ("day", "message"),
    [
        ("past", "Snooze until a day in the future."),
        ("today", "Snooze until a day in the future."),
        ("", "Choose the day to snooze until."),
        ("31/12/2099", "Enter the date as YYYY-MM-DD, e.g. 2026-12-07 (2026/12/07 and 2026年12月7日 are taken too)."),
    ],
)
def test_snooze_needs_a_future_day(tenant, world, director, day, message):
    today = world["today"]
    value = {"past": f"{today - dt.timedelta(days=1):%Y-%m-%d}", "today": f"{today:%Y-%m-%d}"}.get(day, day)
    response = act(client_in(director), world["red"], "snooze", {"snoozed_until": value, "list_query": ""})
    assert response.status_code == 400
    # beside the row's snooze form, its menu open
    row = re.search(rf'<tr id="alert-{world["red"].pk}".*?</tr>', response.content.decode(), re.S).group(0)
    assert f'<p class="row-error" role="alert">{message}</p>' in row
    assert '<details class="alert-more" open>' in row
    assert fresh(tenant, world["red"]).snoozed_until is None


def test_snooze_and_wake_up(tenant, world, director):
    day = world["today"] + dt.timedelta(days=7)
    response = act(client_in(director), world["red"], "snooze", {"snoozed_until": f"{day:%Y-%m-%d}", "list_query": ""})
    assert response.status_code == 200
    assert f"The alert is snoozed until {day:%Y-%m-%d}." in response.content.decode()
    assert world["red"].pk not in listed(response)  # hidden from the default view now
    assert fresh(tenant, world["red"]).snoozed_until == day
    act(client_in(director), world["snoozed"], "snooze", {"clear": "1"})
    assert fresh(tenant, world["snoozed"]).snoozed_until is None


@pytest.mark.parametrize("action", ["acknowledge", "resolve", "assign", "snooze"])
def test_roles_that_may_not_write_get_403_and_nothing_changes(tenant, world, executive, member, action):
    for user in (executive, member):
        response = act(client_in(user), world["contract"], action, {"assignee": "", "snoozed_until": "2099-01-01"})
        assert response.status_code == 403
    alert = fresh(tenant, world["contract"])
    assert (alert.status, alert.snoozed_until) == (AlertStatus.OPEN, None)


def test_a_manager_may_not_act_on_others_or_tenant_wide_alerts(tenant, world, manager):
    client = client_in(manager)
    assert act(client, world["payment"], "acknowledge").status_code == 200
    for name in ("red", "hhi"):
        for action in ("acknowledge", "resolve", "assign", "snooze"):
            assert act(client, world[name], action, {"snoozed_until": "2099-01-01"}).status_code == 403
        assert fresh(tenant, world[name]).status == AlertStatus.OPEN


def test_another_tenants_alert_is_never_actionable(tenant, world, director, outsider):
    for action in ("acknowledge", "resolve", "assign", "snooze"):
        assert act(client_in(director), world["foreign"], action, {"snoozed_until": "2099-01-01"}).status_code == 404
    assert client_in(outsider).post(f"/t/acme/risk/alerts/{world['red'].pk}/acknowledge/").status_code == 404
    assert fresh(tenant, world["red"]).status == AlertStatus.OPEN
    with tenant_context(world["foreign"].tenant):
        assert RiskAlert.objects.get(pk=world["foreign"].pk).status == AlertStatus.OPEN


# --- bulk actions --------------------------------------------------------------------------------


def bulk(client, action: str, ids: list[int], *, htmx: bool = True, **data):
    payload = {"action": action, "alert_ids": [str(pk) for pk in ids], "list_query": "", **data}
    return client.post("/t/acme/risk/alerts/bulk/", payload, **(HTMX if htmx else {}))


def statuses(tenant, world, *names: str) -> list[str]:
    return [fresh(tenant, world[name]).status for name in names]


def test_bulk_acknowledge_and_resolve(tenant, world, director):
    client = client_in(director)
    response = bulk(client, "acknowledge", [world["red"].pk, world["payment"].pk])
    assert response.status_code == 200
    assert "2 alerts were acknowledged." in response.content.decode()
    assert statuses(tenant, world, "red", "payment", "hhi") == ["acknowledged", "acknowledged", "open"]
    response = bulk(client, "resolve", [world["red"].pk, world["hhi"].pk])
    assert "2 alerts were resolved." in response.content.decode()
    assert statuses(tenant, world, "red", "payment", "hhi") == ["resolved", "acknowledged", "resolved"]


def test_bulk_snooze(tenant, world, director):
    day = world["today"] + dt.timedelta(days=14)
    response = bulk(client_in(director), "snooze", [world["red"].pk, world["hhi"].pk], snoozed_until=f"{day:%Y-%m-%d}")
    assert "2 alerts were snoozed." in response.content.decode()
    assert [fresh(tenant, world[name]).snoozed_until for name in ("red", "hhi", "payment")] == [day, day, None]


def test_bulk_on_all_of_the_page(tenant, world, director):
    ids = [world["red"].pk, world["payment"].pk, world["hhi"].pk, world["contract"].pk]
    response = client_in(director).post(
        "/t/acme/risk/alerts/bulk/", {"action": "acknowledge", "all_on_page": "1", "page_ids": ids}, **HTMX
    )
    assert "4 alerts were acknowledged." in response.content.decode()
    assert statuses(tenant, world, "red", "payment", "hhi", "contract") == ["acknowledged"] * 4


def test_bulk_with_another_tenants_alert_changes_nothing(tenant, world, director):
    response = bulk(client_in(director), "resolve", [world["red"].pk, world["foreign"].pk])
    assert response.status_code == 400
    assert (
        "Some of the selected alerts do not exist in this workspace or are not yours to see; nothing was changed."
        in response.content.decode()
    )
    assert statuses(tenant, world, "red") == ["open"]
    with tenant_context(world["foreign"].tenant):
        assert RiskAlert.objects.get(pk=world["foreign"].pk).status == AlertStatus.OPEN


@pytest.mark.parametrize(
    ("action", "ids", "data", "message"),
    [
        ("acknowledge", [], {}, "Select at least one alert."),
        ("acknowledge", ["x"], {}, "The selection is not valid. Reload the page and try again."),
        ("delete", ["red"], {}, "Choose acknowledge, resolve or snooze."),
        ("snooze", ["red", "payment"], {"snoozed_until": "2020-01-01"}, "Snooze until a day in the future."),
        ("snooze", ["red"], {}, "Choose the day to snooze until."),
    ],
)
def test_bulk_bad_input_is_a_clear_error_and_changes_nothing(tenant, world, director, action, ids, data, message):
    posted = [world[name].pk if name in world else name for name in ids]
    response = bulk(client_in(director), action, posted, **data)
    assert response.status_code == 400
    assert message in response.content.decode()
    red, payment = fresh(tenant, world["red"]), fresh(tenant, world["payment"])
    assert (red.status, red.snoozed_until, payment.snoozed_until) == (AlertStatus.OPEN, None, None)


def test_bulk_leaves_resolved_alerts_alone(tenant, world, director):
    response = bulk(client_in(director), "acknowledge", [world["red"].pk, world["resolved"].pk])
    assert "1 alert was acknowledged." in response.content.decode()
    assert statuses(tenant, world, "red", "resolved") == ["acknowledged", "resolved"]


def test_bulk_by_a_manager_on_an_alert_not_theirs_is_403_and_changes_nothing(tenant, world, manager):
    response = bulk(client_in(manager), "acknowledge", [world["payment"].pk, world["red"].pk])
    assert response.status_code == 403
    assert statuses(tenant, world, "payment", "red") == ["open", "open"]
    assert bulk(client_in(manager), "acknowledge", [world["payment"].pk]).status_code == 200


def test_bulk_by_readers_is_403(tenant, world, executive, member):
    for user in (executive, member):
        assert bulk(client_in(user), "resolve", [world["contract"].pk]).status_code == 403
    assert statuses(tenant, world, "contract") == ["open"]


def test_bulk_without_javascript_confirms_first(tenant, world, director):
    client = client_in(director)
    ids = [world["red"].pk, world["payment"].pk]
    confirm = bulk(client, "resolve", ids, htmx=False, list_query="kind=health_red")
    assert confirm.status_code == 200
    assert "Resolve 2 alerts?" in confirm.content.decode()
    assert statuses(tenant, world, "red", "payment") == ["open", "open"]
    done = bulk(client, "resolve", ids, htmx=False, confirmed="1", list_query="kind=health_red")
    assert (done.status_code, done["Location"]) == (302, "/t/acme/risk/?kind=health_red")
    assert statuses(tenant, world, "red", "payment") == ["resolved", "resolved"]
