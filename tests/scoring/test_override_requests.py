"""Tier override requests (等级调整申请, DESIGN section 14): a manager asks for a tier by hand on an
account they serve, a director approves (the override is set, the account rescored) or rejects
with a comment; the bell tells the directors and then the requester; pages, API, audit and
tenant isolation."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.test import Client
from django.urls import reverse

from kam.models import AuditLog, Membership, Role
from kam.tenancy import tenant_context
from risk.models import Notification
from scoring import services
from scoring.models import OverrideRequestStatus, TierOverride, TierOverrideRequest
from tests import factories
from tests.conftest import bearer
from tests.factories import AccountFactory, OrderFactory

pytestmark = pytest.mark.django_db

D = dt.date(2026, 6, 30)
HTMX = {"HTTP_HX_REQUEST": "true"}
API = "/api/v1/tier-override-requests/"


def client_in(user, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def url(name: str, slug: str = "acme", **kwargs) -> str:
    return reverse(name, kwargs={"tenant_slug": slug, **kwargs})


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def post_json(client: Client, path: str, body: dict | None = None):
    return client.post(path, body or {}, content_type="application/json")


@pytest.fixture
def scored(tenant, manager, django_capture_on_commit_callbacks):
    """acme with X (the manager's, scored C: one small order, no ratings) and Y (nobody's)."""
    services.scorecard_seed_default(tenant)
    x = AccountFactory(tenant=tenant, name="X 重工", owner=manager)
    y = AccountFactory(tenant=tenant, name="Y 电子")
    OrderFactory(tenant=tenant, account=x, order_date=dt.date(2026, 1, 15), amount=Decimal("100"))
    OrderFactory(tenant=tenant, account=y, order_date=dt.date(2026, 1, 15), amount=Decimal("900"))
    services.score_run_execute(tenant, run=services.score_run_create(tenant, as_of=D))
    with tenant_context(tenant):
        x.refresh_from_db()
    return x, y


def requests_of(tenant) -> list[tuple]:
    with tenant_context(tenant):
        return list(TierOverrideRequest.objects.order_by("id").values_list("account__name", "tier", "status"))


def bell(tenant) -> list[tuple[str, str, str]]:
    with tenant_context(tenant):
        return list(Notification.objects.order_by("id").values_list("user__email", "kind", "title"))


def ask(tenant, account, manager, **kwargs):
    data = {"tier": "A", "reason": "战略合作伙伴，明年扩产", "expires_on": dt.date(2099, 1, 1), **kwargs}
    return services.override_request_create(tenant, account=account, actor=manager, **data)


# --- services --------------------------------------------------------------------------------------


def test_a_manager_asks_for_a_tier_on_their_account(
    tenant, scored, manager, director, django_capture_on_commit_callbacks
):
    x, _y = scored
    assert x.tier == "C"
    with django_capture_on_commit_callbacks(execute=True):
        request = ask(tenant, x, manager)
    assert (request.status, request.tier, request.requested_by, request.expires_on) == (
        "pending",
        "A",
        manager,
        dt.date(2099, 1, 1),
    )
    with tenant_context(tenant):
        x.refresh_from_db()
        # nothing changes until a director decides
        assert (x.tier, TierOverride.objects.count()) == ("C", 0)
        assert AuditLog.objects.filter(action="create", object_type__contains="tieroverriderequest").count() == 1
    # the directors hear of it in the bell
    assert bell(tenant) == [("dora@acme.test", "override_requested", "Tier request: X 重工 to A")]


def test_refused_on_an_account_the_manager_does_not_serve(tenant, scored, manager):
    _x, y = scored
    with pytest.raises(PermissionDenied, match="You do not serve this account"):
        ask(tenant, y, manager)
    assert requests_of(tenant) == []


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"tier": "X"}, "tier", "Choose a tier: S, A, B or C."),
        ({"reason": "  "}, "reason", "Say why the account should have this tier."),
        ({"expires_on": D.replace(year=2000)}, "expires_on", "The expiry must be in the future."),
    ],
)
def test_bad_input_is_refused(tenant, scored, manager, change, field, message):
    x, _y = scored
    with pytest.raises(ValidationError) as refused:
        ask(tenant, x, manager, **change)
    assert refused.value.message_dict == {field: [message]}
    assert requests_of(tenant) == []


def test_one_pending_request_per_account_and_none_for_the_override_it_has(tenant, scored, manager, director):
    x, _y = scored
    ask(tenant, x, manager)
    with pytest.raises(ValidationError, match="pending tier request already"):
        ask(tenant, x, manager, tier="S")
    assert requests_of(tenant) == [("X 重工", "A", "pending")]
    services.tier_override_set(tenant, account=x, tier="B", reason="试用", actor=director)
    with tenant_context(tenant):
        TierOverrideRequest.objects.update(status="withdrawn")
    with pytest.raises(ValidationError, match="tier B by hand already"):
        ask(tenant, x, manager, tier="B")


def test_only_managers_and_admins_ask(tenant, scored, director, member, executive, admin):
    x, _y = scored
    for user in (director, member, executive):
        with pytest.raises(PermissionDenied):
            ask(tenant, x, user)
    assert ask(tenant, x, admin).requested_by == admin


def test_a_director_approves_the_override_is_set_and_the_account_rescored(
    tenant, scored, manager, director, django_capture_on_commit_callbacks
):
    x, _y = scored
    request = ask(tenant, x, manager)
    with django_capture_on_commit_callbacks(execute=True):
        approved = services.override_request_approve(tenant, request=request, comment="同意", actor=director)
    with tenant_context(tenant):
        x.refresh_from_db()
        override = TierOverride.objects.get()
        assert AuditLog.objects.filter(action="update", object_type__contains="tieroverriderequest").count() == 1
    assert (approved.status, approved.decided_by, approved.comment, approved.override) == (
        "approved",
        director,
        "同意",
        override,
    )
    assert (override.tier, override.reason, override.expires_on, override.set_by) == (
        "A",
        "战略合作伙伴，明年扩产",
        dt.date(2099, 1, 1),
        director,
    )
    assert x.tier == "A"
    # the requester hears of the decision
    assert bell(tenant)[-1] == ("mark@acme.test", "override_decided", "Tier request approved: X 重工 is A")
    # decided once only
    with pytest.raises(ValidationError, match="was approved already"):
        services.override_request_reject(tenant, request=approved, comment="晚了", actor=director)


def test_reject_needs_a_comment_and_tells_the_requester(
    tenant, scored, manager, director, django_capture_on_commit_callbacks
):
    x, _y = scored
    request = ask(tenant, x, manager)
    with pytest.raises(ValidationError) as refused:
        services.override_request_reject(tenant, request=request, comment=" ", actor=director)
    assert refused.value.message_dict == {"comment": ["Say why the request is rejected."]}
    with django_capture_on_commit_callbacks(execute=True):
        services.override_request_reject(tenant, request=request, comment="数据不足", actor=director)
    assert requests_of(tenant) == [("X 重工", "A", "rejected")]
    with tenant_context(tenant):
        assert TierOverride.objects.count() == 0
        told = Notification.objects.get(user=manager)
    assert (told.kind, told.title, told.body) == (
        "override_decided",
        "Tier request rejected: X 重工 stays as it is",
        "数据不足",
    )


def test_a_manager_may_not_decide_and_only_the_requester_withdraws(tenant, scored, manager, admin, director):
    x, _y = scored
    request = ask(tenant, x, manager)
    with pytest.raises(PermissionDenied):
        services.override_request_approve(tenant, request=request, actor=manager)
    with pytest.raises(PermissionDenied):
        services.override_request_withdraw(tenant, request=request, actor=admin)
    withdrawn = services.override_request_withdraw(tenant, request=request, actor=manager)
    assert withdrawn.status == "withdrawn"
    # then a new request may be made
    assert ask(tenant, x, manager, tier="B").status == "pending"


def test_a_director_of_another_tenant_cannot_approve(tenant, other_tenant, scored, manager):
    x, _y = scored
    request = ask(tenant, x, manager)
    other_director = factories.UserFactory(email="dan@globex.test")
    Membership.objects.create(tenant=other_tenant, user=other_director, role=Role.DIRECTOR)
    with pytest.raises(PermissionDenied):
        services.override_request_approve(tenant, request=request, actor=other_director)
    with pytest.raises(Http404):
        services.override_request_approve(other_tenant, request=request, actor=other_director)
    # through the page: 404 in their own workspace, no workspace in ours
    client = client_in(other_director)
    assert client.post(url("scoring-override-approve", slug="globex", request_id=request.pk)).status_code == 404
    assert client.post(url("scoring-override-approve", request_id=request.pk)).status_code == 404
    assert requests_of(tenant) == [("X 重工", "A", "pending")]
    with tenant_context(tenant):
        assert TierOverride.objects.count() == 0


# --- pages -----------------------------------------------------------------------------------------


def score_tab(client: Client, account) -> str:
    response = client.get(url("scoring-account-tab", account_id=account.pk), **HTMX)
    assert response.status_code == 200
    return text(response.content.decode())


def test_the_manager_requests_on_the_score_tab_and_withdraws(
    tenant, scored, manager, django_capture_on_commit_callbacks
):
    x, y = scored
    client = client_in(manager)
    assert "Request a tier change" in score_tab(client, x)
    assert "Request a tier change" not in score_tab(client, y)  # not theirs: no form
    # a bad request: the form again with the message, nothing written
    response = client.post(url("scoring-override-request", account_id=x.pk), {"tier": "A", "reason": ""}, **HTMX)
    assert response.status_code == 400 and "This field is required." in response.content.decode()
    # on an account they do not serve: 403 with the message, nothing written
    response = client.post(url("scoring-override-request", account_id=y.pk), {"tier": "A", "reason": "x"})
    assert response.status_code == 403
    assert requests_of(tenant) == []
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url("scoring-override-request", account_id=x.pk),
            {"tier": "A", "reason": "战略合作伙伴", "expires_on": "2099-01-01"},
            **HTMX,
        )
    page = text(response.content.decode())
    assert response.status_code == 200
    assert "Your request was sent to the directors." in page
    assert "Pending request A · Key asked by" in page and "until 2099-01-01 战略合作伙伴 Withdraw" in page
    assert "Request a tier change" not in page
    with tenant_context(tenant):
        request = TierOverrideRequest.objects.get()
    response = client.post(url("scoring-override-withdraw", request_id=request.pk), **HTMX)
    assert "Your tier request was withdrawn." in text(response.content.decode())
    assert requests_of(tenant) == [("X 重工", "A", "withdrawn")]


def test_a_director_approves_on_the_requests_page_and_the_tab_shows_who_and_until(
    tenant, scored, manager, director, django_capture_on_commit_callbacks
):
    x, _y = scored
    request = ask(tenant, x, manager)
    client = client_in(director)
    page = client.get(url("scoring-override-requests"))
    assert page.status_code == 200
    body = text(page.content.decode())
    assert "Tier requests" in body and "X 重工" in body and "战略合作伙伴，明年扩产" in body and "2099-01-01" in body
    # the nav has the entry for directors
    assert url("scoring-override-requests") in page.content.decode()
    # reject without a comment: 400, the message, nothing changes
    refused = client.post(url("scoring-override-reject", request_id=request.pk), {f"r{request.pk}-comment": ""})
    assert refused.status_code == 400 and "Say why the request is rejected." in refused.content.decode()
    assert requests_of(tenant) == [("X 重工", "A", "pending")]
    with django_capture_on_commit_callbacks(execute=True):
        approved = client.post(
            url("scoring-override-approve", request_id=request.pk), {f"r{request.pk}-comment": "同意试行"}
        )
    assert (approved.status_code, approved["Location"]) == (302, url("scoring-override-requests"))
    with tenant_context(tenant):
        x.refresh_from_db()
    assert x.tier == "A"
    decided = text(client.get(url("scoring-override-requests") + "?show=decided").content.decode())
    assert "Approved" in decided and "同意试行" in decided
    # the score tab tells who asked, who approved, the comment and when it lapses
    for user in (manager, director):
        tab = score_tab(client_in(user), x)
        assert "Asked by" in tab and "Approved by" in tab and "同意试行" in tab and "Lapses 2099-01-01" in tab
    tab = score_tab(client_in(manager, "zh-hans"), x)
    assert "同意试行" in tab and "2099-01-01" in tab


def test_a_director_decides_on_the_tab(tenant, scored, manager, director, django_capture_on_commit_callbacks):
    x, _y = scored
    request = ask(tenant, x, manager)
    client = client_in(director)
    tab = score_tab(client, x)
    assert "Pending request" in tab and "Approve" in tab and "Reject" in tab and "Set tier by hand" in tab
    response = client.post(url("scoring-override-reject", request_id=request.pk), {"from": "tab"}, **HTMX)
    assert response.status_code == 400 and "Say why the request is rejected." in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url("scoring-override-reject", request_id=request.pk), {"from": "tab", "comment": "再观察一季"}, **HTMX
        )
    assert "Rejected the request for X 重工." in text(response.content.decode())
    assert requests_of(tenant) == [("X 重工", "A", "rejected")]


def test_only_directors_see_the_requests_page_and_decide(tenant, scored, manager, role_users):
    x, _y = scored
    request = ask(tenant, x, manager)
    for role in ("admin", "manager", "member", "executive"):
        client = client_in(role_users[role])
        assert client.get(url("scoring-override-requests")).status_code == 403, role
        assert client.post(url("scoring-override-approve", request_id=request.pk)).status_code == 403, role
        assert (
            client.post(url("scoring-override-reject", request_id=request.pk), {"r1-comment": "x"}).status_code == 403
        )
    assert requests_of(tenant) == [("X 重工", "A", "pending")]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_pages_render_in_both_languages(tenant, scored, manager, director, language):
    x, _y = scored
    ask(tenant, x, manager)
    listed = client_in(director, language).get(url("scoring-override-requests"))
    assert listed.status_code == 200
    assert ("等级调整申请" if language == "zh-hans" else "Tier requests") in listed.content.decode()
    assert client_in(director, language).get(url("scoring-override-requests") + "?show=decided").status_code == 200
    tab = score_tab(client_in(manager, language), x)
    assert ("待审批" if language == "zh-hans" else "Pending request") in tab


# --- API -------------------------------------------------------------------------------------------


def test_api_round_trip(tenant, scored, manager, director, django_capture_on_commit_callbacks):
    x, y = scored
    asker, decider = client_in(manager), client_in(director)
    body = {"account": x.pk, "tier": "S", "reason": "集团战略客户", "expires_on": None}
    with django_capture_on_commit_callbacks(execute=True):
        created = post_json(asker, API, body)
    assert created.status_code == 201, created.json()
    made = created.json()
    assert list(made) == [
        "id",
        "account",
        "tier",
        "reason",
        "expires_on",
        "status",
        "requested_by",
        "requested_at",
        "decided_by",
        "decided_at",
        "comment",
        "override",
    ]
    assert (made["status"], made["requested_by"], made["expires_on"], made["override"]) == (
        "pending",
        manager.pk,
        None,
        None,
    )
    # bad input: 400 with the field's message; another's account: 403; a second: 400
    assert post_json(asker, API, {**body, "tier": "Z"}).status_code == 400
    refused = post_json(asker, API, {**body, "account": y.pk})
    assert refused.status_code == 403 and "You do not serve this account" in refused.content.decode()
    second = post_json(asker, API, {**body, "tier": "A"})
    assert second.status_code == 400 and "pending tier request already" in second.content.decode()
    # lists and filters
    assert [row["id"] for row in decider.get(API, {"status": "pending"}).json()["results"]] == [made["id"]]
    assert decider.get(API, {"account": y.pk}).json()["results"] == []
    assert decider.get(f"{API}{made['id']}/").json()["tier"] == "S"
    # a manager may not decide; reject needs a comment
    assert post_json(asker, f"{API}{made['id']}/approve/").status_code == 403
    assert post_json(decider, f"{API}{made['id']}/reject/", {"comment": ""}).status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        approved = post_json(decider, f"{API}{made['id']}/approve/", {"comment": "OK"})
    assert approved.status_code == 200
    assert (approved.json()["status"], approved.json()["decided_by"], approved.json()["comment"]) == (
        "approved",
        director.pk,
        "OK",
    )
    with tenant_context(tenant):
        x.refresh_from_db()
        assert approved.json()["override"] == TierOverride.objects.get().pk
    assert x.tier == "S"
    assert post_json(decider, f"{API}{made['id']}/reject/", {"comment": "x"}).status_code == 400
    # withdraw: the requester, while pending
    again = post_json(asker, API, {**body, "tier": "A"}).json()
    assert post_json(decider, f"{API}{again['id']}/withdraw/").status_code == 403
    assert post_json(asker, f"{API}{again['id']}/withdraw/").json()["status"] == "withdrawn"


def test_api_isolation_and_tokens(tenant, other_tenant, scored, manager, write_token, outsider_token):
    x, _y = scored
    request = ask(tenant, x, manager)
    outsider = Client(HTTP_ACCEPT_LANGUAGE="en", **bearer(outsider_token))
    assert outsider.get(f"{API}{request.pk}/").status_code == 404
    assert outsider.get(API).json()["results"] == []
    other_director = factories.UserFactory(email="dan@globex.test")
    Membership.objects.create(tenant=other_tenant, user=other_director, role=Role.DIRECTOR)
    assert post_json(client_in(other_director), f"{API}{request.pk}/approve/", {"comment": ""}).status_code == 404
    # a token reads, but a person asks and decides
    token = Client(HTTP_ACCEPT_LANGUAGE="en", **bearer(write_token))
    assert token.get(f"{API}{request.pk}/").status_code == 200
    assert post_json(token, f"{API}{request.pk}/approve/").status_code == 403
    assert requests_of(tenant) == [("X 重工", "A", OverrideRequestStatus.PENDING)]


def test_a_request_whose_expiry_passed_is_not_approved(tenant, scored, manager, director):
    x, _y = scored
    request = ask(tenant, x, manager)
    with tenant_context(tenant):
        TierOverrideRequest.objects.filter(pk=request.pk).update(expires_on=D.replace(year=2020))
        request.refresh_from_db()
    with pytest.raises(ValidationError, match="has passed: reject this request"):
        services.override_request_approve(tenant, request=request, actor=director)
    assert requests_of(tenant) == [("X 重工", "A", "pending")]
    with tenant_context(tenant):
        assert TierOverride.objects.count() == 0


# --- demo ------------------------------------------------------------------------------------------


def test_the_demo_has_one_pending_request_that_changes_no_tier(db):
    from django.apps import apps

    from kam import services as kam_services
    from scoring.models import AccountScore

    demo = kam_services.tenant_create(slug="demo-req", name="演示", industry_profile="manufacturing")
    people = {}
    for role in Role.values:
        user = kam_services.user_get_or_create(email=f"{role}@demo-req.example.com", password="x" * 12, full_name=role)
        kam_services.membership_create(tenant=demo, user=user, role=role)
        people[role] = user
    for label in ("accounts", "scoring"):
        apps.get_app_config(label).load_demo(demo, people)
    with tenant_context(demo):
        request = TierOverrideRequest.objects.get()
        latest = AccountScore.objects.filter(account=request.account).order_by("-run_id").first()
        assert TierOverride.objects.count() == 0
        assert (request.status, request.requested_by, request.account.owner) == (
            "pending",
            people["manager"],
            people["manager"],
        )
        assert request.tier != request.account.tier == latest.tier
        assert latest.override_tier == ""  # the snapshot's column is NOT NULL, blank when none
