"""The notification bell and the notifications page: the bell's slot on every workspace page,
its unread count before and after marking read, opening a notification (read on the way),
and that nobody reaches another user's or another workspace's notifications."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from kam.models import Membership, Role
from kam.tenancy import tenant_context
from risk.models import Notification
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
BELL = "/t/acme/risk/notifications/bell/"
PAGE = "/t/acme/risk/notifications/"
MARK_READ = "/t/acme/risk/notifications/mark-read/"


def client_in(user, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def notify(tenant, user, title: str, *, read: bool = False, link: str | None = None) -> Notification:
    """A notification (also used by the API's tests): its text says its title; it links the risk center."""
    from django.utils import timezone

    with tenant_context(tenant):
        return Notification.objects.create(
            tenant=tenant,
            user=user,
            kind="alert.opened",
            title=title,
            body=f"{title}的说明",
            link=f"/t/{tenant.slug}/risk/" if link is None else link,
            read_at=timezone.now() if read else None,
        )


def read_at(notification: Notification):
    with tenant_context(notification.tenant):
        return Notification.objects.get(pk=notification.pk).read_at


def bell_count(response) -> int:
    """The unread count the bell shows (0 when it shows none)."""
    match = re.search(r'class="bell-count" data-unread="(\d+)"', response.content.decode())
    return int(match.group(1)) if match else 0


@pytest.fixture
def both(tenant, other_tenant):
    """A director of acme who is also a member of globex."""
    user = UserFactory(email="wang@both.test")
    Membership.objects.create(tenant=tenant, user=user, role=Role.DIRECTOR)
    Membership.objects.create(tenant=other_tenant, user=user, role=Role.MEMBER)
    return user


@pytest.fixture
def inbox(tenant, other_tenant, both, member):
    """Two unread and one read for the user in acme; one in globex; one of another acme user."""
    return {
        "first": notify(tenant, both, "健康度下降：中车华北集团"),
        "second": notify(tenant, both, "付款逾期：远航船舶重工"),
        "old": notify(tenant, both, "合同即将到期：蓝天新能源", read=True),
        "globex": notify(other_tenant, both, "外部工作区的通知"),
        "members": notify(tenant, member, "别人的通知"),
    }


# --- the slot and the bell -----------------------------------------------------------------------


def test_every_workspace_page_has_the_bell_slot_loaded_by_htmx(tenant, director):
    body = client_in(director).get("/t/acme/").content.decode()
    slot = re.search(r'<div class="topbar-widget" id="topbar-risk-bell"[^>]*>', body).group(0)
    assert f'hx-get="{BELL}"' in slot and "load" in slot and "kam-refresh-risk-bell from:body" in slot
    assert re.search(rf'hx-get="{BELL}" hx-trigger="every 60s"', body)
    assert "/static/risk/css/alerts.css" in body


def test_no_bell_outside_a_workspace(tenant, director):
    body = client_in(director).get("/workspaces/").content.decode()
    assert "topbar-risk-bell" not in body


def test_the_bell_counts_the_users_unread_of_this_workspace(tenant, inbox, both):
    response = client_in(both).get(BELL, **HTMX)
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]
    body = response.content.decode()
    assert bell_count(response) == 2  # not the read one, not globex's, not the member's
    assert "健康度下降：中车华北集团" in body and "合同即将到期：蓝天新能源" in body
    assert "外部工作区的通知" not in body and "别人的通知" not in body
    assert f"/t/acme/risk/notifications/{inbox['first'].pk}/open/" in body


def test_the_bell_count_updates_after_mark_all_read_from_the_bell(tenant, inbox, both):
    client = client_in(both)
    response = client.post(MARK_READ, {"from": "bell"}, **HTMX)
    assert response.status_code == 200
    assert bell_count(response) == 0
    assert '<details class="menu menu--end bell" open>' in response.content.decode()  # the menu stays open
    assert bell_count(client.get(BELL, **HTMX)) == 0
    assert read_at(inbox["globex"]) is None and read_at(inbox["members"]) is None


def test_the_bell_is_not_a_page(tenant, both):
    response = client_in(both).get(BELL)
    assert (response.status_code, response["Location"]) == (302, PAGE)


def test_the_bell_in_chinese(tenant, inbox, both):
    body = client_in(both, "zh-hans").get(BELL, **HTMX).content.decode()
    assert "全部标为已读" in body and "全部通知" in body


# --- the page and marking read -------------------------------------------------------------------


def test_the_page_lists_the_users_notifications_read_and_unread(tenant, inbox, both):
    body = client_in(both).get(PAGE).content.decode()
    titles = re.findall(
        r'class="notification-title"[^>]*>(?:<span[^>]*></span><span[^>]*>[^<]*</span> )?([^<]+)</a>', body
    )
    assert titles == ["合同即将到期：蓝天新能源", "付款逾期：远航船舶重工", "健康度下降：中车华北集团"]
    assert "Unread (2)" in body
    only_unread = client_in(both).get(f"{PAGE}?unread=1").content.decode()
    assert "合同即将到期" not in only_unread and "付款逾期" in only_unread


def test_mark_one_read_on_the_page_refreshes_the_bell(tenant, inbox, both):
    response = client_in(both).post(MARK_READ, {"ids": [inbox["first"].pk]}, **HTMX)
    assert response.status_code == 200
    assert json.loads(response["HX-Trigger"]) == {"kam-refresh-risk-bell": {}}
    assert response["HX-Retarget"] == "#notifications-body"
    assert "1 notification marked read." in response.content.decode()
    assert read_at(inbox["first"]) is not None and read_at(inbox["second"]) is None
    assert bell_count(client_in(both).get(BELL, **HTMX)) == 1


def test_mark_read_never_touches_another_users_or_workspaces_notifications(tenant, inbox, both):
    client = client_in(both)
    response = client.post(MARK_READ, {"ids": [inbox["members"].pk, inbox["globex"].pk, "x"]}, **HTMX)
    assert "Nothing was unread." in response.content.decode()
    assert read_at(inbox["members"]) is None and read_at(inbox["globex"]) is None
    # all of theirs in acme, without JavaScript
    response = client.post(MARK_READ)
    assert (response.status_code, response["Location"]) == (302, PAGE)
    assert read_at(inbox["first"]) and read_at(inbox["second"])
    assert read_at(inbox["members"]) is None and read_at(inbox["globex"]) is None


def test_opening_a_notification_marks_it_read_and_follows_its_link(tenant, inbox, both):
    response = client_in(both).get(f"/t/acme/risk/notifications/{inbox['first'].pk}/open/")
    assert (response.status_code, response["Location"]) == (302, "/t/acme/risk/")
    assert read_at(inbox["first"]) is not None
    assert read_at(inbox["second"]) is None


def test_a_link_off_the_site_leads_to_the_notifications_page(tenant, both):
    for link in ("https://evil.example/x", "//evil.example/x", ""):
        notification = notify(tenant, both, "奇怪的链接", link=link)
        response = client_in(both).get(f"/t/acme/risk/notifications/{notification.pk}/open/")
        assert (response.status_code, response["Location"]) == (302, PAGE)


def test_another_users_or_workspaces_notification_is_404_and_stays_unread(tenant, inbox, both, outsider):
    client = client_in(both)
    for name in ("members", "globex"):
        assert client.get(f"/t/acme/risk/notifications/{inbox[name].pk}/open/").status_code == 404
        assert read_at(inbox[name]) is None
    assert client_in(outsider).get(f"/t/acme/risk/notifications/{inbox['first'].pk}/open/").status_code == 404
    assert client_in(outsider).get(f"/t/globex/risk/notifications/{inbox['first'].pk}/open/").status_code == 404
    assert read_at(inbox["first"]) is None


def test_in_the_other_workspace_the_user_sees_that_workspaces_only(tenant, other_tenant, inbox, both):
    response = client_in(both).get("/t/globex/risk/notifications/bell/", **HTMX)
    body = response.content.decode()
    assert bell_count(response) == 1
    assert "外部工作区的通知" in body and "健康度下降" not in body


def test_every_role_has_the_page_and_an_outsider_none(tenant, role_users, outsider):
    for user in role_users.values():
        assert client_in(user).get(PAGE).status_code == 200
        assert client_in(user).post(MARK_READ, **HTMX).status_code == 200
    assert client_in(outsider).get(PAGE).status_code == 404
    assert client_in(outsider).get(BELL, **HTMX).status_code == 404


def test_empty_page(tenant, director):
    assert "No notifications yet." in client_in(director).get(PAGE).content.decode()


def test_notifications_about_an_alert_speak_the_readers_language(tenant, both):
    # given: made by a run in English, about an alert assigned to the user
    from django.utils import timezone

    from risk.models import RiskAlert
    from tests.factories import AccountFactory

    account = AccountFactory(tenant=tenant, name="中车华北集团")
    with tenant_context(tenant):
        alert = RiskAlert.objects.create(
            tenant=tenant,
            kind="health_red",
            severity="critical",
            account=account,
            dedupe_key=f"health_red:{account.pk}",
            details={"score": "33.33"},
            opened_at=timezone.now(),
            updated_at=timezone.now(),
        )
        Notification.objects.create(
            tenant=tenant,
            user=both,
            kind="alert.assigned",
            alert=alert,
            title="Assigned to you: Health in the red: 中车华北集团",
            body="Health score 33.33, in the red band.",
        )
    # when / then
    chinese = client_in(both, "zh-hans").get(BELL, **HTMX).content.decode()
    assert "指派给您：" in chinese and ": 中车华北集团" in chinese and "健康度得分 33.33" in chinese
    assert "Assigned to you" not in chinese and "Health" not in chinese
    english = client_in(both).get(PAGE).content.decode()
    assert "Assigned to you: Health in the red: 中车华北集团" in english


def test_the_page_and_the_bell_cost_the_same_whatever_the_number(tenant, both, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from risk.models import RiskAlert
    from tests.factories import AccountFactory

    def about_alerts(count: int, start: int) -> None:
        for n in range(start, start + count):
            account = AccountFactory(tenant=tenant)
            with tenant_context(tenant):
                alert = RiskAlert.objects.create(
                    tenant=tenant,
                    kind="payment_overdue",
                    severity="warning",
                    account=account,
                    dedupe_key=f"payment_overdue:{n}",
                    details={"invoices": 1, "max_days_overdue": 40, "outstanding": "100.00"},
                    opened_at=timezone.now(),
                    updated_at=timezone.now(),
                )
                Notification.objects.create(tenant=tenant, user=both, kind="alert.opened", alert=alert, title="x")

    about_alerts(2, 0)
    client = client_in(both)
    with CaptureQueriesContext(connection) as few:
        client.get(PAGE)
        client.get(BELL, **HTMX)
    about_alerts(30, 2)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(PAGE)
        client.get(BELL, **HTMX)
    assert page.content.decode().count('class="notification-title"') == 32
