"""Notifications API: the caller's own notifications only (never another user's or another
workspace's), the unread filter, cursor pages, the unread count, marking read, tokens
refused, bad input answered 400, and a list whose query count does not grow."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from kam.models import Membership, Role
from tests.conftest import bearer
from tests.factories import UserFactory
from tests.risk.test_notifications_pages import notify, read_at

pytestmark = pytest.mark.django_db

LIST = "/api/v1/notifications/"
COUNT = "/api/v1/notifications/unread-count/"
MARK_READ = "/api/v1/notifications/mark-read/"


def session(user, workspace: str | None = None) -> Client:
    """A browser session of the user; opening a workspace page makes it the API's tenant."""
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    if workspace:
        client.get(f"/t/{workspace}/")
    return client


def post(client: Client, path: str, data: dict | None = None):
    return client.post(path, data or {}, content_type="application/json")


@pytest.fixture
def both(tenant, other_tenant):
    user = UserFactory(email="wang@both.test")
    Membership.objects.create(tenant=tenant, user=user, role=Role.MEMBER)
    Membership.objects.create(tenant=other_tenant, user=user, role=Role.EXECUTIVE)
    return user


@pytest.fixture
def inbox(tenant, other_tenant, both, director):
    return {
        "first": notify(tenant, both, "健康度下降：中车华北集团"),
        "second": notify(tenant, both, "付款逾期：远航船舶重工"),
        "old": notify(tenant, both, "合同即将到期", read=True),
        "globex": notify(other_tenant, both, "外部工作区的通知"),
        "directors": notify(tenant, director, "别人的通知"),
    }


def titles(response) -> list[str]:
    return [row["title"] for row in response.json()["results"]]


def test_the_list_is_the_callers_own_in_the_current_workspace(tenant, inbox, both):
    client = session(both, "acme")
    response = client.get(LIST)
    assert response.status_code == 200
    assert titles(response) == ["合同即将到期", "付款逾期：远航船舶重工", "健康度下降：中车华北集团"]
    first = response.json()["results"][-1]
    assert first == {
        "id": inbox["first"].pk,
        "kind": "alert.opened",
        "alert": None,
        "title": "健康度下降：中车华北集团",
        "body": "健康度下降：中车华北集团的说明",
        "link": "/t/acme/risk/",
        "created_at": first["created_at"],
        "read_at": None,
    }
    assert titles(client.get(f"{LIST}?unread=true")) == ["付款逾期：远航船舶重工", "健康度下降：中车华北集团"]
    assert titles(client.get(f"{LIST}?unread=false")) == ["合同即将到期"]


def test_cursor_pages(tenant, inbox, both):
    client = session(both, "acme")
    page = client.get(f"{LIST}?page_size=2").json()
    assert len(page["results"]) == 2 and page["next"]
    rest = client.get(page["next"]).json()
    assert [row["title"] for row in rest["results"]] == ["健康度下降：中车华北集团"]
    assert rest["next"] is None


def test_the_other_workspace_has_its_own(tenant, other_tenant, inbox, both):
    client = session(both, "globex")
    assert titles(client.get(LIST)) == ["外部工作区的通知"]
    assert client.get(COUNT).json() == {"unread": 1}


def test_unread_count_and_mark_read_by_ids(tenant, inbox, both):
    client = session(both, "acme")
    assert client.get(COUNT).json() == {"unread": 2}
    # when: their own, another user's, another workspace's, and one read already
    response = post(
        client, MARK_READ, {"ids": [inbox["first"].pk, inbox["directors"].pk, inbox["globex"].pk, inbox["old"].pk]}
    )
    # then: only their own unread one counts
    assert response.status_code == 200
    assert response.json() == {"marked": 1, "unread": 1}
    assert read_at(inbox["first"]) is not None
    assert read_at(inbox["directors"]) is None and read_at(inbox["globex"]) is None
    assert client.get(COUNT).json() == {"unread": 1}


def test_mark_all_read(tenant, inbox, both):
    client = session(both, "acme")
    assert post(client, MARK_READ).json() == {"marked": 2, "unread": 0}
    assert read_at(inbox["globex"]) is None and read_at(inbox["directors"]) is None
    assert session(both, "globex").get(COUNT).json() == {"unread": 1}


@pytest.mark.parametrize(
    ("body", "field_errors"),
    [
        ({"ids": ["x"]}, {"ids": {"0": ["A valid integer is required."]}}),
        ({"ids": [0]}, {"ids": {"0": ["Ensure this value is greater than or equal to 1."]}}),
        ({"ids": "all"}, {"ids": ['Expected a list of items but got type "str".']}),
        ({"ids": list(range(1, 502))}, {"ids": ["Ensure this field has no more than 500 elements."]}),
    ],
)
def test_bad_ids_are_400_and_change_nothing(tenant, inbox, both, body, field_errors):
    response = post(session(both, "acme"), MARK_READ, body)
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == field_errors
    assert read_at(inbox["first"]) is None


def test_tokens_are_refused(tenant, inbox, write_token, read_token):
    for token in (write_token, read_token):
        client = Client(HTTP_ACCEPT_LANGUAGE="en", **bearer(token))
        for response in (client.get(LIST), client.get(COUNT), post(client, MARK_READ)):
            assert response.status_code == 403
    refused = Client(HTTP_ACCEPT_LANGUAGE="en", **bearer(write_token)).get(LIST).json()
    assert refused["error"]["message"] == (
        "Notifications belong to people; an API token has none. Sign in to read yours."
    )
    assert read_at(inbox["first"]) is None


def test_every_role_reads_and_marks_its_own(tenant, role_users):
    for user in role_users.values():
        notify(tenant, user, f"{user.email} 的通知")
    for user in role_users.values():
        client = session(user, "acme")
        assert titles(client.get(LIST)) == [f"{user.email} 的通知"]
        assert post(client, MARK_READ).json() == {"marked": 1, "unread": 0}


def test_an_outsider_sees_none_of_the_tenants(tenant, inbox, outsider):
    client = session(outsider, "globex")
    assert client.get(LIST).json()["results"] == []
    assert post(client, MARK_READ, {"ids": [inbox["first"].pk]}).json() == {"marked": 0, "unread": 0}
    assert read_at(inbox["first"]) is None


def test_anonymous_is_refused(tenant):
    response = Client().get(LIST)
    # DRF answers 401 when the first authentication class names a WWW-Authenticate challenge
    # (kam.api.auth.BearerTokenAuthentication: "Bearer"), 403 only when it has none.
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_the_list_costs_the_same_whatever_its_length(tenant, director, django_assert_max_num_queries):
    for n in range(3):
        notify(tenant, director, f"通知 {n}")
    client = session(director, "acme")
    with CaptureQueriesContext(connection) as few:
        assert len(client.get(LIST).json()["results"]) == 3
    for n in range(40):
        notify(tenant, director, f"更多通知 {n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(LIST).json()["results"]) == 43
