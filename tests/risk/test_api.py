"""Risk API: the field names of DESIGN section 8, roles and scopes, query counts that do
not grow with the page, and the outsider's 404 on every endpoint."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import Account
from kam.tenancy import tenant_context
from risk import services
from risk.models import ContingencyPlan, RiskAlert, WebhookEndpoint
from tests.conftest import bearer, login
from tests.factories import AccountFactory, InteractionFactory, InvoiceFactory, OrderFactory
from tests.risk.conftest import D, open_alerts, run

pytestmark = pytest.mark.django_db


def api(token: str) -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE="en", **bearer(token))


@pytest.fixture
def world(tenant, policy, manager):
    """A group of two (600 + 400 of 1000 revenue) owned by the manager, one overdue invoice."""
    root = AccountFactory(tenant=tenant, name="中车华北集团", owner=manager)
    child = AccountFactory(tenant=tenant, name="中车华北·唐山基地", parent=root)
    other = AccountFactory(tenant=tenant, name="远航船舶重工")
    for account, amount in ((root, "600"), (child, "200"), (other, "200")):
        OrderFactory(tenant=tenant, account=account, order_date=dt.date(2026, 3, 1), amount=Decimal(amount))
    InvoiceFactory(tenant=tenant, account=other, issued_on=dt.date(2026, 4, 1), due_on=dt.date(2026, 5, 1))
    InteractionFactory(
        tenant=tenant, account=root, occurred_at=dt.datetime(2026, 6, 20, 10, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai"))
    )
    return {"root": root, "child": child, "other": other}


def test_a_risk_run_and_what_it_produced(tenant, world, write_token):
    client = api(write_token)
    # when
    response = client.post("/api/v1/risk-runs/?wait=true", {"as_of": "2026-06-30"}, content_type="application/json")
    # then
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["as_of"], body["kind"], body["progress"]) == ("done", "2026-06-30", "full", 100)
    assert list(body)[:3] == ["id", "status", "as_of"]
    assert client.get(f"/api/v1/risk-runs/{body['id']}/").json()["status"] == "done"
    # concentration: groups 800 (.8) and 200 (.2) of 1000; HHI = 6400 + 400 = 6800
    concentration = client.get("/api/v1/concentration/").json()
    assert list(concentration)[:7] == [
        "as_of",
        "total_revenue_12m",
        "top1_share",
        "top5_share",
        "top10_share",
        "hhi",
        "groups",
    ]
    assert (concentration["total_revenue_12m"], concentration["top1_share"], concentration["hhi"]) == (
        "1000.00",
        0.8,
        6800.0,
    )
    assert concentration["groups"][0] == {
        "root": world["root"].pk,
        "root_name": "中车华北集团",
        "revenue_12m": "800.00",
        "share": 0.8,
        "accounts": [
            {"id": world["root"].pk, "name": "中车华北集团", "revenue_12m": "600.00", "share": 0.6},
            {"id": world["child"].pk, "name": "中车华北·唐山基地", "revenue_12m": "200.00", "share": 0.2},
        ],
    }
    # without roll-up: .6, .2, .2 -> HHI 3600 + 400 + 400 = 4400
    assert (concentration["account_top1_share"], concentration["account_hhi"]) == (0.6, 4400.0)
    history = client.get("/api/v1/concentration/history/").json()
    assert [row["as_of"] for row in history["results"]] == ["2026-06-30"]
    # health of the root: engagement 10 days -> 100; relationship 0; trend: p6 = 0 < r6 -> 100;
    # payment, rhythm: no data -> (25*100 + 15*100 + 15*0) / 55 = 72.7272... -> 72.73 green
    health = client.get(f"/api/v1/accounts/{world['root'].pk}/health/").json()
    assert list(health)[:6] == ["as_of", "score", "band", "signals", "complaint_penalty", "expected_next_purchase"]
    assert (health["as_of"], health["score"], health["band"], health["complaint_penalty"]) == (
        "2026-06-30",
        72.73,
        "green",
        0.0,
    )
    assert health["signals"] == {
        "revenue_trend": {"raw": 1.0, "points": 100.0, "weight": 25},
        "purchase_rhythm": None,
        "payment": None,
        "engagement": {"raw": 10.0, "points": 100.0, "weight": 15},
        "relationship": {"raw": 0.0, "points": 0.0, "weight": 15},
        "service": None,  # no rated need: no data
    }
    assert health["expected_next_purchase"] is None
    account = client.get(f"/api/v1/accounts/{world['root'].pk}/").json()
    assert (account["health_score"], account["health_band"]) == (72.73, "green")


def test_alerts_list_filters_acknowledge_resolve_and_assign(tenant, world, write_token, manager):
    run(tenant)
    client = api(write_token)
    listed = client.get("/api/v1/alerts/?kind=payment_overdue").json()["results"]
    assert len(listed) == 1
    alert = listed[0]
    assert (alert["kind"], alert["severity"], alert["status"], alert["account"]) == (
        "payment_overdue",
        "warning",
        "open",
        {"id": world["other"].pk, "name": "远航船舶重工"},
    )
    assert alert["summary"] == "1 invoice unpaid, up to 60 days past due (¥50,000.00)."
    kinds = {row["kind"] for row in client.get("/api/v1/alerts/?open=true").json()["results"]}
    assert {"concentration_single", "concentration_top5", "concentration_hhi", "payment_overdue"} <= kinds
    tenant_wide = client.get("/api/v1/alerts/?kind=concentration_hhi").json()["results"][0]
    assert (tenant_wide["account"], tenant_wide["severity"], tenant_wide["details"]["hhi"]) == (
        None,
        "critical",
        6800.0,
    )
    # the other account: share .2 (critical line); health (25*100 + 20*0 + 15*0 + 15*0) / 75 = 33.33, red
    by_account = client.get(f"/api/v1/alerts/?account={world['other'].pk}&severity=critical").json()["results"]
    assert {row["kind"] for row in by_account} == {"health_red", "concentration_single"}
    # acknowledge, assign and snooze, resolve
    acknowledged = client.post(f"/api/v1/alerts/{alert['id']}/acknowledge/")
    assert (acknowledged.status_code, acknowledged.json()["status"]) == (200, "acknowledged")
    patched = client.patch(
        f"/api/v1/alerts/{alert['id']}/",
        {"assignee": manager.pk, "snoozed_until": "2099-01-01"},
        content_type="application/json",
    )
    assert (patched.status_code, patched.json()["assignee"], patched.json()["snoozed_until"]) == (
        200,
        manager.pk,
        "2099-01-01",
    )
    past = client.patch(
        f"/api/v1/alerts/{alert['id']}/", {"snoozed_until": "2020-01-01"}, content_type="application/json"
    )
    assert past.status_code == 400
    assert past.json()["error"]["fields"] == {"snoozed_until": ["Snooze until a day in the future."]}
    resolved = client.post(
        f"/api/v1/alerts/{alert['id']}/resolve/", {"note": "已收款"}, content_type="application/json"
    )
    body = resolved.json()
    assert (body["status"], body["resolution"], body["resolution_note"]) == ("resolved", "manual", "已收款")
    assert client.get("/api/v1/alerts/?status=resolved").json()["results"][0]["id"] == alert["id"]
    assert client.put(f"/api/v1/alerts/{alert['id']}/", {}, content_type="application/json").status_code == 405
    assert client.get("/api/v1/alerts/?kind=nonsense").status_code == 400


def test_the_alerts_list_costs_the_same_whatever_its_length(tenant, policy, write_token):
    client = api(write_token)

    def overdue(count: int) -> None:
        for _ in range(count):
            account = AccountFactory(tenant=tenant)
            InvoiceFactory(tenant=tenant, account=account, issued_on=dt.date(2026, 4, 1), due_on=dt.date(2026, 5, 1))

    overdue(2)
    run(tenant)
    client.get("/api/v1/me/")  # the token's last use is written once a minute: not inside the count
    with CaptureQueriesContext(connection) as few:
        assert len(client.get("/api/v1/alerts/").json()["results"]) == 4  # health red + payment, twice
    overdue(10)
    run(tenant)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get("/api/v1/alerts/").json()["results"]) == 24
    assert len(many) == len(few)


def test_contingency_plans_crud(tenant, world, write_token, admin):
    client = api(write_token)
    created = client.post(
        "/api/v1/contingency-plans/",
        {
            "account": world["root"].pk,
            "kind": "alternative_market",
            "title": "华南市场替代计划",
            "owner": admin.pk,
            "actions": "开发两家华南轨交客户；季度复盘。",
            "review_on": "2026-09-30",
        },
        content_type="application/json",
    )
    assert created.status_code == 201
    plan = created.json()
    assert (plan["account"], plan["kind"], plan["owner"], plan["review_on"]) == (
        world["root"].pk,
        "alternative_market",
        admin.pk,
        "2026-09-30",
    )
    listed = client.get(f"/api/v1/contingency-plans/?account={world['root'].pk}").json()["results"]
    assert [row["id"] for row in listed] == [plan["id"]]
    changed = client.patch(
        f"/api/v1/contingency-plans/{plan['id']}/", {"kind": "sudden_loss"}, content_type="application/json"
    )
    assert changed.json()["kind"] == "sudden_loss"
    empty = client.patch(f"/api/v1/contingency-plans/{plan['id']}/", {"actions": " "}, content_type="application/json")
    assert empty.status_code == 400
    # the concentration alert of the group now says it has a plan
    run(tenant)
    single = client.get(f"/api/v1/alerts/?kind=concentration_single&account={world['root'].pk}").json()["results"][0]
    assert single["details"]["has_contingency_plan"] is True
    assert client.delete(f"/api/v1/contingency-plans/{plan['id']}/").status_code == 204


def test_webhooks_secret_shown_once_deliveries_and_roles(tenant, policy, write_token, read_token, settings):
    client = api(write_token)
    created = client.post(
        "/api/v1/webhooks/",
        {"url": "https://bi.example.com/kam/hooks", "events": ["alert.opened", "alert.resolved"]},
        content_type="application/json",
    )
    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("whsec_") and body["secret_hint"] == body["secret"][:10] + "…"
    shown = client.get(f"/api/v1/webhooks/{body['id']}/").json()
    assert "secret" not in shown and shown["events"] == ["alert.opened", "alert.resolved"]
    rotated = client.post(f"/api/v1/webhooks/{body['id']}/rotate-secret/").json()
    assert rotated["secret"] != body["secret"]
    bad = client.post(
        "/api/v1/webhooks/", {"url": "https://x.example", "events": ["nope"]}, content_type="application/json"
    )
    assert bad.status_code == 400
    # a test to a host that does not resolve is recorded as failed, not raised
    settings.RISK_WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    missing = client.patch(
        f"/api/v1/webhooks/{body['id']}/", {"url": "https://kam-hooks.invalid/x"}, content_type="application/json"
    )
    assert missing.status_code == 200
    tested = client.post(f"/api/v1/webhooks/{body['id']}/test/").json()
    assert (tested["event"], tested["status"], tested["attempts"]) == ("webhook.test", "failed", 1)
    log = client.get(f"/api/v1/webhooks/{body['id']}/deliveries/").json()["results"]
    assert [(row["event"], row["status"]) for row in log] == [("webhook.test", "failed")]
    # a read token reads, but cannot write
    assert api(read_token).get("/api/v1/webhooks/").status_code == 200
    assert api(read_token).post(f"/api/v1/webhooks/{body['id']}/test/").status_code == 403
    assert client.delete(f"/api/v1/webhooks/{body['id']}/").status_code == 204


def test_risk_policy_read_and_change(tenant, policy, write_token):
    client = api(write_token)
    assert client.get("/api/v1/risk-policy/").json()["single_customer_warning"] == 0.1
    changed = client.patch("/api/v1/risk-policy/", {"single_customer_warning": 0.08}, content_type="application/json")
    assert (changed.status_code, changed.json()["single_customer_warning"]) == (200, 0.08)
    wrong = client.patch("/api/v1/risk-policy/", {"hhi_critical": 1000}, content_type="application/json")
    assert wrong.json()["error"]["fields"] == {"hhi_critical": ["The critical line cannot be below the warning line."]}


def test_roles_of_session_users(tenant, world, admin, director, manager, member, executive):
    run(tenant)
    # a team member reads only the alerts of the accounts they read (none here) and no tenant-wide ones
    assert login(member).get("/api/v1/alerts/").json()["results"] == []
    assert login(member).get("/api/v1/concentration/").status_code == 403
    assert login(member).get(f"/api/v1/accounts/{world['root'].pk}/health/").status_code == 404
    assert login(member).get("/api/v1/webhooks/").status_code == 403
    # an executive reads everything and writes nothing
    alerts = {row["kind"]: row for row in login(executive).get("/api/v1/alerts/").json()["results"]}
    assert "concentration_hhi" in alerts
    assert login(executive).post(f"/api/v1/alerts/{alerts['concentration_hhi']['id']}/acknowledge/").status_code == 403
    # a manager acknowledges alerts of the accounts they own, not tenant-wide ones nor others'
    manager_client = login(manager)
    own = open_alerts(tenant)[("concentration_single", world["root"].pk)]
    assert manager_client.post(f"/api/v1/alerts/{own.pk}/acknowledge/").status_code == 200
    assert manager_client.post(f"/api/v1/alerts/{alerts['concentration_hhi']['id']}/acknowledge/").status_code == 403
    others = open_alerts(tenant)[("payment_overdue", world["other"].pk)]
    assert manager_client.post(f"/api/v1/alerts/{others.pk}/resolve/").status_code == 403
    assert manager_client.post("/api/v1/risk-runs/", {}, content_type="application/json").status_code == 403
    # a director runs, and resolves tenant-wide alerts
    assert login(director).post(f"/api/v1/alerts/{alerts['concentration_hhi']['id']}/resolve/").status_code == 200
    queued = login(director).post("/api/v1/risk-runs/", {"kind": "health"}, content_type="application/json")
    assert (queued.status_code, queued.json()["kind"]) == (202, "health")
    assert login(admin).get("/api/v1/webhooks/").status_code == 200


def test_before_any_run(tenant, policy, write_token):
    client = api(write_token)
    account = AccountFactory(tenant=tenant)
    none = client.get("/api/v1/concentration/")
    assert (none.status_code, none.json()["error"]["message"]) == (404, "No concentration snapshot yet.")
    assert client.get(f"/api/v1/accounts/{account.pk}/health/").status_code == 404
    assert client.get("/api/v1/concentration/history/").json()["results"] == []


# --- the outsider -----------------------------------------------------------------------------------


def test_every_endpoint_answers_404_for_another_tenants_objects(
    tenant, world, admin, write_token, outsider, outsider_token, other_tenant
):
    # given: the tenant ran its jobs and has an alert, a plan, an endpoint with a delivery
    run(tenant)
    alert = open_alerts(tenant)[("payment_overdue", world["other"].pk)]
    plan = services.contingency_plan_create(tenant, account=world["root"], kind="sudden_loss", actions="预案")
    endpoint = services.webhook_endpoint_create(tenant, url="https://kam-hooks.invalid/x", events=["alert.opened"])
    with tenant_context(tenant):
        risk_run = alert.run
    services.risk_policy_seed_default(other_tenant)
    for client in (api(outsider_token), login(outsider)):
        for method, path, data in [
            ("get", f"/api/v1/alerts/{alert.pk}/", None),
            ("patch", f"/api/v1/alerts/{alert.pk}/", {"snoozed_until": "2099-01-01"}),
            ("post", f"/api/v1/alerts/{alert.pk}/acknowledge/", None),
            ("post", f"/api/v1/alerts/{alert.pk}/resolve/", {}),
            ("get", f"/api/v1/accounts/{world['root'].pk}/health/", None),
            ("get", f"/api/v1/risk-runs/{risk_run.pk}/", None),
            ("get", f"/api/v1/contingency-plans/{plan.pk}/", None),
            ("patch", f"/api/v1/contingency-plans/{plan.pk}/", {"actions": "x"}),
            ("delete", f"/api/v1/contingency-plans/{plan.pk}/", None),
            ("get", f"/api/v1/webhooks/{endpoint.pk}/", None),
            ("patch", f"/api/v1/webhooks/{endpoint.pk}/", {"is_active": False}),
            ("post", f"/api/v1/webhooks/{endpoint.pk}/test/", None),
            ("post", f"/api/v1/webhooks/{endpoint.pk}/rotate-secret/", None),
            ("get", f"/api/v1/webhooks/{endpoint.pk}/deliveries/", None),
            ("delete", f"/api/v1/webhooks/{endpoint.pk}/", None),
            ("get", "/api/v1/concentration/", None),
        ]:
            kwargs = {"content_type": "application/json"} if data is not None else {}
            response = (
                getattr(client, method)(path, data, **kwargs) if data is not None else getattr(client, method)(path)
            )
            assert response.status_code == 404, (method, path, response.status_code)
        # and the lists show none of the tenant's rows
        for path in ("/api/v1/alerts/", "/api/v1/risk-runs/", "/api/v1/contingency-plans/", "/api/v1/webhooks/"):
            assert client.get(path).json()["results"] == [], path
        assert client.get("/api/v1/concentration/history/").json()["results"] == []
        # nor can its plans point at the tenant's accounts
        refused = client.post(
            "/api/v1/contingency-plans/",
            {"account": world["root"].pk, "kind": "sudden_loss", "actions": "x"},
            content_type="application/json",
        )
        assert refused.status_code == 400
    # nothing of the tenant changed
    with tenant_context(tenant):
        alert.refresh_from_db()
        assert (alert.status, alert.snoozed_until) == ("open", None)
        assert ContingencyPlan.objects.filter(pk=plan.pk).exists()
        assert WebhookEndpoint.objects.get(pk=endpoint.pk).is_active
        assert RiskAlert.objects.filter(tenant=tenant).count() > 0
        assert Account.objects.get(pk=world["root"].pk).health_score is not None
    assert dt.date(2026, 6, 30) == D
