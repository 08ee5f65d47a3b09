"""The need page: who reads it and who acts on it (writers of the account and the assignee;
readers see it read-only; another tenant's need, or one whose account the user may not read,
is 404), what it shows (header, SLA clock, why the category, the thread, problems on
capture), and every action's happy path and bad input: a clear message, nothing written."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest
from django.test import Client
from django.utils import timezone

from kam.models import Membership, Role
from kam.tenancy import tenant_context
from service import services
from service.models import Category, Need, NeedEntry, NeedStatus
from teams.models import AccountTeam, TeamMember
from tests import factories
from tests.service.conftest import hours_ago

pytestmark = pytest.mark.django_db


def client_in(user, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def url(need: Need, action: str = "") -> str:
    return f"/t/acme/service/needs/{need.pk}/" + (f"{action}/" if action else "")


def fresh(tenant, need: Need) -> Need:
    with tenant_context(tenant):
        return Need.objects.select_related("category").get(pk=need.pk)


def entries(tenant, need: Need) -> list[tuple[str, str]]:
    with tenant_context(tenant):
        return list(NeedEntry.objects.filter(need=need).order_by("id").values_list("kind", "body"))


def text(response) -> str:
    """The page's text without tags and with collapsed spaces, to assert sentences."""
    html = re.sub(r"<[^>]+>", " ", response.content.decode())
    return " ".join(unescape(html).split())


@pytest.fixture
def need(account, make_need) -> Need:
    # "故障" (2) + "无法启动" (2): technical support by the rules; the account (tier A) has no
    # team, so it goes to its owner, the manager
    return make_need("设备故障，无法启动", body="产线停了，请尽快处理。", account=account, received_at=hours_ago(1))


# --- reading -------------------------------------------------------------------------------------


def test_the_page_shows_header_sla_reason_and_thread_to_a_reader(tenant, need, executive):
    response = client_in(executive).get(url(need))
    assert response.status_code == 200
    page = text(response)
    assert "设备故障，无法启动" in page
    assert "华东精密机械" in page
    assert "Portal" in page  # the channel
    assert need.assignee.full_name  # so the page shows the name, not the e-mail address
    assert need.assignee.full_name in page
    # received an hour ago, tier A normal: first response due in 4 h, resolution in 48 h
    first_due = timezone.localtime(need.first_response_due_at).strftime("%Y-%m-%d %H:%M")
    assert first_due in page
    assert "Found by the keyword rules: 故障 无法启动 (4 points)" in page
    assert "产线停了，请尽快处理。" in page
    # read-only: no forms to act with
    assert "Send reply" not in page and "Reassign" not in page
    assert "You read this need: its account's writers and its assignee act on it." not in page
    assert "Your role reads needs" in page


def test_the_account_writer_gets_the_actions(tenant, need, manager):
    page = text(client_in(manager).get(url(need)))
    for label in (
        "Send reply",
        "Add internal note",
        "Reassign",
        "Start work",
        "Resolve",
        "Close",
        "Correct the category",
    ):
        assert label in page, label


def test_an_overdue_deadline_is_marked(tenant, account, make_need, manager):
    late = make_need("发票抬头错误", account=account, received_at=hours_ago(6))  # first response due after 4 h
    html = client_in(manager).get(url(late)).content.decode()
    assert "need-sla-row need-sla-row--overdue" in html
    assert "Overdue by 2" in text(client_in(manager).get(url(late)))


def test_a_need_without_category_waits_for_a_person_and_problems_show(tenant, account, make_need, admin):
    need = make_need("你好", body="请回电", account=account, problems=["The attachment of 31 MB was left out."])
    page = text(client_in(admin).get(url(need)))
    assert "Waits for a person" in page
    assert "Problems noted when this need was captured The attachment of 31 MB was left out." in page
    assert "Set the category" in page


def test_another_tenants_need_and_an_unreadable_account_are_404(
    tenant, other_tenant, need, outsider, member, make_need, admin
):
    assert client_in(outsider).get(url(need)).status_code == 404
    # the member neither owns nor serves on the account
    assert client_in(member).get(url(need)).status_code == 404
    assert client_in(member).post(url(need, "reply"), {"body": "hi", "kind": "reply"}).status_code == 404
    # a need of the other tenant, asked for under this tenant's address
    theirs = make_need("设备故障", on=other_tenant)
    assert client_in(admin).get(url(theirs)).status_code == 404
    assert client_in(admin).post(url(theirs, "status"), {"status": "resolved"}).status_code == 404
    assert fresh(other_tenant, theirs).status == NeedStatus.NEW


def test_readers_without_write_are_refused_and_nothing_is_written(tenant, need, executive, admin):
    other_manager = factories.UserFactory(email="mia@acme.test")
    Membership.objects.create(tenant=tenant, user=other_manager, role=Role.MANAGER)
    for user in (executive, other_manager):
        client = client_in(user)
        assert client.get(url(need)).status_code == 200
        assert client.post(url(need, "reply"), {"body": "hi", "kind": "reply"}).status_code == 403
        assert client.post(url(need, "status"), {"status": "resolved"}).status_code == 403
        assert client.post(url(need, "assign"), {"assignee": str(admin.pk)}).status_code == 403
        assert client.post(url(need, "priority"), {"priority": "urgent"}).status_code == 403
    assert entries(tenant, need) == [("message", "产线停了，请尽快处理。")]
    assert fresh(tenant, need).status == NeedStatus.TRIAGED


def test_the_assignee_acts_even_without_writing_the_account(tenant, need, member, manager):
    with tenant_context(tenant):
        services.need_assign(tenant, need=need, assignee=member, actor=manager)
    client = client_in(member)
    assert client.get(url(need)).status_code == 200
    response = client.post(url(need, "reply"), {"body": "我们马上派工程师。", "kind": "reply"})
    assert response.status_code == 302
    assert entries(tenant, need)[-1] == ("reply", "我们马上派工程师。")


def test_a_member_serving_on_the_account_works_its_needs(tenant, account, need, member):
    # the rule of service.selectors (and the API's): members work the needs of the accounts they read
    with tenant_context(tenant):
        team = AccountTeam.objects.create(tenant=tenant, account=account)
        TeamMember.objects.create(
            tenant=tenant, team=team, user=member, function="service", level="operational", since=dt.date(2024, 1, 1)
        )
    client = client_in(member)
    assert "Send reply" in text(client.get(url(need)))
    assert client.post(url(need, "reply"), {"body": "收到", "kind": "note"}).status_code == 302
    assert entries(tenant, need)[-1] == ("note", "收到")


# --- replies -------------------------------------------------------------------------------------


def test_reply_stops_the_first_response_clock_and_starts_work(tenant, need, manager):
    client = client_in(manager)
    response = client.post(url(need, "reply"), {"body": "  已收到，今天下午上门。 ", "kind": "reply"})
    assert response.status_code == 302 and response["Location"] == url(need)
    need = fresh(tenant, need)
    assert need.first_response_at is not None
    assert need.status == NeedStatus.IN_PROGRESS
    assert entries(tenant, need)[-1] == ("reply", "已收到，今天下午上门。")
    page = text(client.get(url(need)))
    assert "The reply was sent." in page
    assert "In time" in page  # the first response met its deadline


def test_internal_note_leaves_the_clock(tenant, need, manager):
    client_in(manager).post(url(need, "reply"), {"body": "客户是老客户", "kind": "note"})
    assert fresh(tenant, need).first_response_at is None
    assert entries(tenant, need)[-1] == ("note", "客户是老客户")


@pytest.mark.parametrize("body", ["", "   "])
def test_empty_reply_is_refused_with_a_message(tenant, need, manager, body):
    response = client_in(manager).post(url(need, "reply"), {"body": body, "kind": "reply"})
    assert response.status_code == 400
    assert "Nothing was changed. Write something first." in text(response)
    assert len(entries(tenant, need)) == 1


def test_htmx_reply_answers_the_body_with_the_notice(tenant, need, manager):
    response = client_in(manager).post(url(need, "reply"), {"body": "好的", "kind": "note"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="need-body"')
    assert "The note was added." in html
    assert response["HX-Retarget"] == "#need-body"


# --- status --------------------------------------------------------------------------------------


def test_an_illegal_move_shows_the_services_message_and_changes_nothing(tenant, need, manager):
    client = client_in(manager)
    client.post(url(need, "status"), {"status": "in_progress"})
    assert fresh(tenant, need).status == NeedStatus.IN_PROGRESS
    # in progress -> closed is not among TRANSITIONS
    response = client.post(url(need, "status"), {"status": "closed", "confirmed": "1"})
    assert response.status_code == 400
    assert "A need that is In progress cannot become Closed." in text(response)
    assert fresh(tenant, need).status == NeedStatus.IN_PROGRESS
    response = client.post(url(need, "status"), {"status": "lost"})
    assert response.status_code == 400 and "Unknown status." in text(response)


def test_resolve_with_satisfaction_then_reopen(tenant, need, manager):
    client = client_in(manager)
    response = client.post(url(need, "status"), {"status": "resolved", "satisfaction": "4", "note": "换了主板"})
    assert response.status_code == 302
    resolved = fresh(tenant, need)
    assert (resolved.status, resolved.satisfaction) == (NeedStatus.RESOLVED, 4)
    assert resolved.resolved_at is not None
    assert entries(tenant, need)[-1] == ("status", "换了主板")
    page = text(client.get(url(need)))
    assert "The need is now “Resolved”." in page
    assert "4 of 5" in page
    assert "Reopen" in page
    client.post(url(need, "status"), {"status": "in_progress"})
    reopened = fresh(tenant, need)
    assert (reopened.status, reopened.satisfaction, reopened.resolved_at) == (NeedStatus.IN_PROGRESS, None, None)


@pytest.mark.parametrize("satisfaction", ["0", "9", "x"])
def test_satisfaction_outside_1_to_5_is_refused(tenant, need, manager, satisfaction):
    response = client_in(manager).post(url(need, "status"), {"status": "resolved", "satisfaction": satisfaction})
    assert response.status_code == 400
    assert "Satisfaction is rated from 1 to 5." in text(response)
    assert fresh(tenant, need).status == NeedStatus.TRIAGED


def test_close_asks_first_without_javascript(tenant, need, manager):
    client = client_in(manager)
    response = client.post(url(need, "status"), {"status": "closed"})
    assert response.status_code == 200
    assert "Close the need “设备故障，无法启动”?" in text(response)
    assert fresh(tenant, need).status == NeedStatus.TRIAGED
    client.post(url(need, "status"), {"status": "closed", "confirmed": "1"})
    closed = fresh(tenant, need)
    assert closed.status == NeedStatus.CLOSED and closed.closed_at is not None
    page = text(client.get(url(need)))
    assert "This need is closed: its status no longer changes." in page
    assert "Send reply" not in page and "Add internal note" in page


def test_close_with_htmx_is_confirmed_by_the_browser(tenant, need, manager):
    html = client_in(manager).get(url(need)).content.decode()
    assert 'hx-confirm="Close this need? A closed need cannot be reopened or replied to."' in html
    response = client_in(manager).post(url(need, "status"), {"status": "closed"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert fresh(tenant, need).status == NeedStatus.CLOSED


# --- assignee, priority, category ----------------------------------------------------------------


def test_reassign_to_a_member_and_refuse_another_tenants_person(tenant, need, manager, member, outsider):
    client = client_in(manager)
    response = client.post(url(need, "assign"), {"assignee": str(member.pk)})
    assert response.status_code == 302
    assert fresh(tenant, need).assignee_id == member.pk
    response = client.post(url(need, "assign"), {"assignee": str(outsider.pk)})
    assert response.status_code == 400
    assert "Choose an active member of this workspace." in text(response)
    assert fresh(tenant, need).assignee_id == member.pk
    # the thread says who moved it
    page = text(client.get(url(need)))
    assert f"Reassignment {manager.display_name}" in page


def test_priority_moves_the_deadlines(tenant, need, manager):
    response = client_in(manager).post(url(need, "priority"), {"priority": "urgent"})
    assert response.status_code == 302
    urgent = fresh(tenant, need)
    # tier A: 4 h / 48 h, urgent halves them
    assert urgent.first_response_due_at - urgent.received_at == dt.timedelta(hours=2)
    assert urgent.resolution_due_at - urgent.received_at == dt.timedelta(hours=24)
    response = client_in(manager).post(url(need, "priority"), {"priority": "panic"})
    assert response.status_code == 400 and "Choose a priority." in text(response)
    assert fresh(tenant, need).priority == "urgent"


def test_correct_the_category_and_refuse_another_tenants(tenant, other_tenant, need, manager, make_need):
    with tenant_context(tenant):
        billing = Category.objects.get(key="billing")
    client = client_in(manager)
    response = client.post(url(need, "category"), {"category": str(billing.pk)})
    assert response.status_code == 302
    corrected = fresh(tenant, need)
    assert (corrected.category.key, corrected.category_source) == ("billing", "person")
    page = text(client.get(url(need)))
    assert f"Set by {manager.display_name}" in page
    assert "Category change" in page and "Technical support → to Payment and invoices" in page
    make_need("发票", on=other_tenant)  # seeds the other tenant's categories
    with tenant_context(other_tenant):
        theirs = Category.objects.get(key="delivery")
    response = client.post(url(need, "category"), {"category": str(theirs.pk)})
    assert response.status_code == 400
    assert "Choose one of this workspace's active categories." in text(response)
    assert fresh(tenant, need).category.key == "billing"


def test_confirming_the_category_makes_it_a_persons(tenant, need, manager):
    response = client_in(manager).post(url(need, "category"), {"category": str(need.category_id)})
    assert response.status_code == 302
    confirmed = fresh(tenant, need)
    assert (confirmed.category.key, confirmed.category_source) == ("technical_support", "person")


# --- triage --------------------------------------------------------------------------------------


def test_triage_sets_account_and_contact(tenant, other_tenant, account, make_need, admin, manager):
    need = make_need("请问贵司的交货期", sender="unknown@example.com")
    with tenant_context(tenant):
        contact = factories.ContactFactory(tenant=tenant, account=account, name="王工")
        elsewhere = factories.ContactFactory(tenant=tenant, name="李工")
    theirs = factories.AccountFactory(tenant=other_tenant, name="别家")
    client = client_in(admin)
    page = text(client.get(url(need)))
    assert "Unknown sender: waits for triage" in page and "Triage: whose need is this?" in page
    # need_set_status refuses these until the account is set: not offered
    assert "Mark as triaged" not in page and "Start work" not in page and "Resolve" in page
    options = client.get(url(need, "contacts"), {"account": str(account.pk)}).content.decode()
    assert "王工" in options and "李工" not in options
    # a contact of another account, an account of another tenant: refused, nothing written
    response = client.post(url(need, "account"), {"account": str(account.pk), "contact": str(elsewhere.pk)})
    assert response.status_code == 400 and "This contact belongs to another account." in text(response)
    response = client.post(url(need, "account"), {"account": str(theirs.pk)})
    assert response.status_code == 400 and "Choose one of the accounts you may change." in text(response)
    assert fresh(tenant, need).account_id is None
    response = client.post(url(need, "account"), {"account": str(account.pk), "contact": str(contact.pk)})
    assert response.status_code == 302
    triaged = fresh(tenant, need)
    assert (triaged.account_id, triaged.contact_id) == (account.pk, contact.pk)
    # delivery goes to the owner (no team); tier A resolution in 48 h
    assert triaged.assignee_id == manager.pk
    assert triaged.resolution_due_at - triaged.received_at == dt.timedelta(hours=48)


def test_the_page_renders_in_chinese(tenant, need, manager):
    response = client_in(manager, "zh-hans").get(url(need))
    assert response.status_code == 200
    assert "设备故障，无法启动" in text(response)


def test_the_page_reads_a_long_thread_in_the_same_number_of_queries(tenant, need, manager, admin, member):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_in(manager)
    client.get(url(need))  # warm the session and the caches

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url(need)).status_code == 200
        return len(captured)

    def add_entries(authors: list) -> None:
        with tenant_context(tenant):
            for author in authors:
                services.need_reply(tenant, need=need, body=f"note by {author.email}", internal=True, actor=author)
                services.need_assign(tenant, need=need, assignee=author, actor=manager)

    add_entries([admin])
    short = queries()
    add_entries([member, manager, admin, member])
    with tenant_context(tenant):
        services.need_set_status(tenant, need=need, status="in_progress", actor=admin)
    assert queries() == short
