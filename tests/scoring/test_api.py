"""Scoring API: field names of DESIGN section 8, roles and scopes, tenant isolation."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client

from kam.tenancy import tenant_context
from scoring import services
from scoring.models import Rating, Scorecard, ScoreRun
from tests.conftest import bearer, login, make_token
from tests.factories import AccountFactory, OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored(tenant):
    services.scorecard_seed_default(tenant)
    big = AccountFactory(tenant=tenant, name="大客户", cooperation_since=dt.date(2015, 1, 1))
    small = AccountFactory(tenant=tenant, name="小客户")
    OrderFactory(tenant=tenant, account=big, order_date=dt.date(2026, 1, 15), amount=Decimal("900"))
    OrderFactory(tenant=tenant, account=small, order_date=dt.date(2026, 1, 15), amount=Decimal("100"))
    return big, small


def api(token):
    return Client(HTTP_ACCEPT_LANGUAGE="en", **bearer(token))


def test_run_then_read_the_score(tenant, scored, write_token):
    big, small = scored
    client = api(write_token)
    response = client.post("/api/v1/score-runs/?wait=true", {"as_of": "2026-06-30"}, content_type="application/json")
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["as_of"], body["accounts_scored"]) == ("done", "2026-06-30", 2)
    score = client.get(f"/api/v1/accounts/{big.pk}/score/").json()
    assert list(score) == [
        "run",
        "as_of",
        "total",
        "base",
        "adjustments",
        "tier",
        "computed_tier",
        "override",
        "incomplete",
        "breakdown",
    ]
    # share 0.9 -> percentile 100 (weight 30); growth: prev 0, revenue > 0 -> 1.0 -> 100 (15);
    # 2006 days since 2015-01-01... more than 5 years -> 100 (10); no ratings -> 0 (45): base 55.00
    assert (score["total"], score["base"], score["adjustments"], score["tier"]) == (55.0, 55.0, 0.0, "B")
    assert (score["computed_tier"], score["override"], score["incomplete"], score["run"]) == (
        "B",
        None,
        True,
        body["id"],
    )
    assert score["breakdown"][0] == {
        "key": "revenue_share",
        "raw": 0.9,
        "normalized": 100.0,
        "weight": 30.0,
        "weighted": 30.0,
    }
    history = client.get(f"/api/v1/accounts/{big.pk}/score-history/").json()
    assert [row["total"] for row in history] == [55.0]
    summary = client.get("/api/v1/tiers/summary/").json()
    assert summary["tiers"][2] == {"tier": "B", "count": 1, "revenue_12m": "900.00", "share": 0.9}
    assert summary["pareto"] == {"accounts": 2, "top_count": 1, "total_revenue_12m": "1000.00", "top20_share": 0.9}


def test_run_without_wait_is_queued(tenant, scored, write_token):
    response = api(write_token).post("/api/v1/score-runs/", {}, content_type="application/json")
    assert response.status_code == 202
    assert response.json()["status"] == "queued"


def test_score_before_any_run_is_404(tenant, scored, read_token):
    big, _ = scored
    assert api(read_token).get(f"/api/v1/accounts/{big.pk}/score/").status_code == 404


def test_rating_post_and_validation(tenant, scored, write_token):
    big, _ = scored
    client = api(write_token)
    ok = client.post(
        f"/api/v1/accounts/{big.pk}/ratings/",
        {"criterion": "industry_position", "value": 4, "comment": "行业前三"},
        content_type="application/json",
    )
    assert ok.status_code == 201
    assert {k: ok.json()[k] for k in ("criterion", "value", "comment")} == {
        "criterion": "industry_position",
        "value": 4,
        "comment": "行业前三",
    }
    bad_value = client.post(
        f"/api/v1/accounts/{big.pk}/ratings/",
        {"criterion": "industry_position", "value": 6},
        content_type="application/json",
    )
    assert bad_value.status_code == 400
    unknown = client.post(
        f"/api/v1/accounts/{big.pk}/ratings/", {"criterion": "charisma", "value": 3}, content_type="application/json"
    )
    assert unknown.status_code == 400
    assert unknown.json()["error"]["fields"] == {
        "criterion": [
            "Choose one of the scorecard's rating criteria: industry_position, payment_credit, tech_leadership."
        ]
    }
    with tenant_context(tenant):
        assert Rating.objects.count() == 1


def test_read_token_cannot_rate_or_run(tenant, scored, read_token):
    big, _ = scored
    client = api(read_token)
    assert (
        client.post(
            f"/api/v1/accounts/{big.pk}/ratings/",
            {"criterion": "industry_position", "value": 3},
            content_type="application/json",
        ).status_code
        == 403
    )
    assert client.post("/api/v1/score-runs/", {}, content_type="application/json").status_code == 403


def test_member_cannot_start_a_run_and_executive_cannot_rate(tenant, scored, member, executive):
    big, _ = scored
    assert login(member).post("/api/v1/score-runs/", {}, content_type="application/json").status_code == 403
    response = login(executive).post(
        f"/api/v1/accounts/{big.pk}/ratings/",
        {"criterion": "industry_position", "value": 3},
        content_type="application/json",
    )
    assert response.status_code == 403


def test_another_tenants_ids_are_404(tenant, other_tenant, scored, outsider_token):
    big, _ = scored
    services.score_run_execute(tenant, run=services.score_run_create(tenant))
    with tenant_context(tenant):
        scorecard = Scorecard.objects.get()
        run = ScoreRun.objects.get()
    client = api(outsider_token)
    for url in (
        f"/api/v1/accounts/{big.pk}/score/",
        f"/api/v1/accounts/{big.pk}/score-history/",
        f"/api/v1/accounts/{big.pk}/ratings/",
        f"/api/v1/scorecards/{scorecard.pk}/",
        f"/api/v1/score-runs/{run.pk}/",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/api/v1/scorecards/{scorecard.pk}/activate/").status_code == 404
    assert client.get("/api/v1/scorecards/").json()["results"] == []
    assert client.get("/api/v1/score-runs/").json()["results"] == []


def test_scorecard_versions_draft_activate_preview(tenant, scored, write_token):
    client = api(write_token)
    active = client.get("/api/v1/scorecards/").json()["results"][0]
    assert (active["version"], active["status"], len(active["criteria"])) == (1, "active", 6)
    # a draft whose weights add up to 90 is refused
    spec = {"criteria": active["criteria"], "tiers": active["tiers"], "hysteresis": "2.00"}
    spec["criteria"][0]["weight"] = "20.00"
    refused = client.post("/api/v1/scorecards/", spec, content_type="application/json")
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"]["criteria"] == ["The weights add up to 90; they must add up to 100."]
    # revenue share only: 100 % weight on it
    spec["criteria"] = [dict(active["criteria"][0], weight="100.00")]
    draft = client.post("/api/v1/scorecards/", spec, content_type="application/json")
    assert draft.status_code == 201
    assert (draft.json()["version"], draft.json()["status"]) == (2, "draft")
    services.score_run_execute(tenant, run=services.score_run_create(tenant, as_of=dt.date(2026, 6, 30)))
    preview = client.post(f"/api/v1/scorecards/{draft.json()['id']}/preview/?as_of=2026-06-30").json()
    # under the draft the big account scores 100 -> still B (manufacturing gates are not set on this tenant)
    assert preview["scored"] == 2
    activated = client.post(f"/api/v1/scorecards/{draft.json()['id']}/activate/")
    assert activated.json()["status"] == "active"
    statuses = {row["version"]: row["status"] for row in client.get("/api/v1/scorecards/").json()["results"]}
    assert statuses == {1: "retired", 2: "active"}


def test_session_director_may_edit_scorecards_manager_may_not(tenant, scored, director, manager):
    assert login(manager).post("/api/v1/scorecards/", {}, content_type="application/json").status_code == 403
    assert login(director).post("/api/v1/scorecards/", {}, content_type="application/json").status_code == 400


def test_bad_as_of_is_400(tenant, scored, write_token):
    response = api(write_token).post("/api/v1/score-runs/", {"as_of": "yesterday"}, content_type="application/json")
    assert response.status_code == 400
    assert "as_of" in response.json()["error"]["fields"]


def test_tokens_for_other_tenant_make_no_runs_here(tenant, other_tenant, scored):
    services.scorecard_seed_default(other_tenant)
    _token, raw = make_token(other_tenant, "write")
    api(raw).post("/api/v1/score-runs/?wait=true", {}, content_type="application/json")
    with tenant_context(tenant):
        assert ScoreRun.objects.count() == 0
