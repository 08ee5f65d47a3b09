"""An event recorded on the page or through the API rescores its account once the
transaction commits (DESIGN section 3, Event; section 4, Score and Runs): the event's
impact points are the snapshot's adjustments, the total and the tier move with them.
The same journey in a real browser is tests/browser/test_journeys.py."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Account, Event
from kam.tenancy import tenant_context, tenant_today
from scoring.models import AccountScore, ScoreRun
from tests.conftest import bearer, login
from tests.factories import scored_account_in_b

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(tenant, manager) -> Account:
    return scored_account_in_b(tenant, manager)


def rescored(tenant, account) -> tuple[list[tuple[Any, ...]], AccountScore, Account]:
    """The event runs, the latest snapshot and the account as stored."""
    with tenant_context(tenant):
        runs = list(ScoreRun.objects.filter(trigger="event").values_list("account_id", "status", "accounts_scored"))
        latest = AccountScore.objects.filter(account=account).select_related("run").latest("run__created_at", "id")
        account.refresh_from_db()
    return runs, latest, account


def assert_moved_to(tenant, account, *, total: str, tier: str, adjustments: str) -> None:
    runs, latest, stored = rescored(tenant, account)
    assert runs == [(account.pk, "done", 1)]
    assert latest.run.trigger == "event"
    # the base is what it was; the event's points are the adjustments; total = base + adjustments
    assert (latest.base, latest.adjustments, latest.total) == (
        Decimal("58.75"),
        Decimal(adjustments),
        Decimal(total),
    )
    # (no previous tier: that is the computed tier of a snapshot with an earlier as_of, not today's)
    assert (latest.computed_tier, latest.tier) == (tier, tier)
    assert (stored.score, stored.tier) == (Decimal(total), tier)


def test_an_event_recorded_on_the_page_rescores_the_account(
    tenant, manager, account, django_capture_on_commit_callbacks
):
    today = tenant_today(tenant)
    client = login(manager)
    url = reverse("accounts-event-create", kwargs={"tenant_slug": tenant.slug, "account_id": account.pk})
    body = {"kind": "major_investment", "occurred_on": today.isoformat(), "note": "新建智能工厂，三年投资十亿元"}
    # when: the manager records a major investment on the account's page (+10 by default)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(url, body, HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "The event Major investment project was recorded (+10 points)." in response.content.decode()
    assert callbacks  # the rescore waited for the commit
    # then: 58.75 + 10 = 68.75 >= 65: tier A
    with tenant_context(tenant):
        assert Event.objects.get().impact_points == Decimal("10.00")
    assert_moved_to(tenant, account, total="68.75", tier="A", adjustments="10.00")
    page = client.get(
        reverse("accounts-detail", kwargs={"tenant_slug": tenant.slug, "account_id": account.pk}),
        HTTP_ACCEPT_LANGUAGE="en",
    ).content.decode()
    assert '<span class="badge badge--tier badge--tier-a">A · Key</span>' in page


@pytest.mark.parametrize(
    ("kind", "total", "tier", "adjustments"),
    [
        ("major_investment", "68.75", "A", "10.00"),  # 58.75 + 10 >= 65
        ("competitor_win", "48.75", "B", "-10.00"),  # 58.75 - 10, still >= 45
        ("budget_cut", "53.75", "B", "-5.00"),
    ],
)
def test_an_event_posted_through_the_api_rescores_the_account(
    tenant, account, write_token, kind, total, tier, adjustments, django_capture_on_commit_callbacks
):
    today = tenant_today(tenant)
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(
            f"/api/v1/accounts/{account.pk}/events/",
            json.dumps({"kind": kind, "occurred_on": today.isoformat()}),
            content_type="application/json",
            **bearer(write_token),
        )
    assert response.status_code == 201, response.content
    assert_moved_to(tenant, account, total=total, tier=tier, adjustments=adjustments)
    # and the account's score through the API is the new one
    read = Client().get(f"/api/v1/accounts/{account.pk}/", **bearer(write_token)).json()
    assert (read["score"], read["tier"]) == (float(total), tier)


def test_an_event_that_expired_before_today_does_not_move_the_score(
    tenant, account, write_token, django_capture_on_commit_callbacks
):
    # Active on D means occurred_on <= D < expires_on: recorded (and rescored), but no points.
    today = tenant_today(tenant)
    body = {
        "kind": "major_investment",
        "occurred_on": (today - dt.timedelta(days=200)).isoformat(),
        "expires_on": (today - dt.timedelta(days=20)).isoformat(),
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(
            f"/api/v1/accounts/{account.pk}/events/",
            json.dumps(body),
            content_type="application/json",
            **bearer(write_token),
        )
    assert response.status_code == 201, response.content
    runs, latest, stored = rescored(tenant, account)
    assert runs == [(account.pk, "done", 1)]
    assert (latest.adjustments, latest.total, stored.score, stored.tier) == (
        Decimal("0.00"),
        Decimal("58.75"),
        Decimal("58.75"),
        "B",
    )
