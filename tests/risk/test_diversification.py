"""Diversification targets and alternative markets (DESIGN section 13, item 2; issue #19), with the
figures worked by hand.

The world: A 600 and B 400 of revenue in the 12 months to D -> top 1 share 0.6, top 5 1.0,
HHI 60^2 + 40^2 = 5,200.

The path: expected(D) = baseline + (target - baseline) x elapsed / span (elapsed clamped to
[0, span]); behind when actual - expected(D) > 0.1 x |baseline - target|.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from kam import services as kam_services
from kam.models import Role
from kam.tenancy import tenant_context, tenant_today
from risk import diversification as div
from risk.models import AlternativeMarket, DiversificationTarget, RiskAlert, RunKind
from risk.notifications import alert_summary
from tests.conftest import bearer
from tests.factories import AccountFactory, OrderFactory
from tests.risk.conftest import D, open_alerts, run

pytestmark = pytest.mark.django_db

KIND = "diversification_behind"


def client_in(user, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def url(name: str, slug: str = "acme", **kwargs) -> str:
    return reverse(name, kwargs={"tenant_slug": slug, **kwargs})


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def order(tenant, account, amount: str, day: dt.date = dt.date(2026, 3, 1)) -> None:
    OrderFactory(tenant=tenant, account=account, order_date=day, amount=Decimal(amount))


@pytest.fixture
def world(tenant, policy):
    a = AccountFactory(tenant=tenant, name="A 集团", industry="汽车", region="华东")
    b = AccountFactory(tenant=tenant, name="B 公司", industry="化工", region="华南")
    order(tenant, a, "600")
    order(tenant, b, "400")
    return {"a": a, "b": b}


def target(tenant, line, baseline, baseline_date, goal, target_date, **kwargs) -> DiversificationTarget:
    """Written directly: the services refuse a target date in the past, which the path tests need."""
    with tenant_context(tenant):
        return DiversificationTarget.objects.create(
            tenant=tenant,
            line=line,
            baseline_value=Decimal(baseline),
            baseline_date=baseline_date,
            target_value=Decimal(goal),
            target_date=target_date,
            **kwargs,
        )


def behind_alert(tenant) -> RiskAlert | None:
    return open_alerts(tenant).get((KIND, None))


# --- the path, by hand ----------------------------------------------------------------------------------


def test_expected_value_is_the_straight_line_clamped_at_the_target():
    start, end = dt.date(2026, 1, 1), dt.date(2026, 1, 1) + dt.timedelta(days=200)
    # halfway: 0.8 + (0.3 - 0.8) x 100 / 200 = 0.55
    assert div.expected_value(Decimal("0.8"), start, Decimal("0.3"), end, start + dt.timedelta(days=100)) == Decimal(
        "0.55"
    )
    # before the baseline: the baseline; after the target date: the target
    assert div.expected_value(Decimal("0.8"), start, Decimal("0.3"), end, start - dt.timedelta(days=5)) == Decimal(
        "0.8"
    )
    assert div.expected_value(Decimal("0.8"), start, Decimal("0.3"), end, end + dt.timedelta(days=30)) == Decimal("0.3")


def test_the_ten_percent_of_the_gap_rule_at_its_boundary():
    start = dt.date(2026, 1, 1)
    end = start + dt.timedelta(days=200)
    # halfway: expected 0.55, gap 0.5, 10 % = 0.05; actual 0.6 is exactly 0.05 above: not behind
    assert not div.is_behind(Decimal("0.6"), Decimal("0.8"), start, Decimal("0.3"), end, start + dt.timedelta(days=100))
    # a day later: expected 0.8 - 0.5 x 101/200 = 0.5475; 0.6 - 0.5475 = 0.0525 > 0.05: behind
    assert div.is_behind(Decimal("0.6"), Decimal("0.8"), start, Decimal("0.3"), end, start + dt.timedelta(days=101))
    # HHI: 6000 -> 4000 over 100 days, halfway expected 5000, gap 2000, 10 % = 200; 5200 exactly: not behind
    assert not div.is_behind(
        Decimal("5200"), Decimal("6000"), start, Decimal("4000"), start + dt.timedelta(100), start + dt.timedelta(50)
    )
    assert div.is_behind(
        Decimal("5200.01"), Decimal("6000"), start, Decimal("4000"), start + dt.timedelta(100), start + dt.timedelta(50)
    )


def test_exactly_ten_percent_of_the_gap_opens_no_alert(tenant, world):
    # given: top1 0.8 on D-100 -> 0.3 on D+100 (expected on D 0.55, gap 0.5, 10 % = 0.05; actual 0.6);
    # HHI 6000 on D-50 -> 4000 on D+50 (expected 5000, gap 2000, 10 % = 200; actual 5200)
    target(tenant, "top1", "0.8", D - dt.timedelta(days=100), "0.3", D + dt.timedelta(days=100))
    target(tenant, "hhi", "6000", D - dt.timedelta(days=50), "4000", D + dt.timedelta(days=50))
    # when
    run(tenant, kind=RunKind.CONCENTRATION)
    # then
    assert not [key for key in open_alerts(tenant) if key[0] == KIND]


def test_a_line_behind_its_path_opens_an_alert_with_the_figures(tenant, world):
    # given: 0.8 on D-101 -> 0.3 on D+99: on D elapsed 101 of 200, expected 0.8 - 0.5 x 101/200 = 0.5475
    t = target(tenant, "top1", "0.8", D - dt.timedelta(days=101), "0.3", D + dt.timedelta(days=99))
    # when
    run(tenant, kind=RunKind.CONCENTRATION)
    # then: 0.6 - 0.5475 = 0.0525 > 0.05
    alert = behind_alert(tenant)
    assert alert is not None
    assert (alert.severity, alert.dedupe_key, alert.account_id) == ("warning", "diversification_behind:top1", None)
    details = alert.details
    assert details["target_id"] == t.pk
    assert (details["line"], details["baseline"], details["target"], details["gap"]) == ("top1", 0.8, 0.3, 0.5)
    assert (details["expected"], details["actual"]) == (0.5475, 0.6)
    assert (details["baseline_date"], details["target_date"], details["as_of"]) == (
        str(D - dt.timedelta(days=101)),
        str(D + dt.timedelta(days=99)),
        str(D),
    )
    assert alert_summary(KIND, details) == (
        "Largest customer's share is 60.0%, behind the path to the target: 54.8% expected by now, "
        f"30.0% by {D + dt.timedelta(days=99)} (from 80.0% on {D - dt.timedelta(days=101)})."
    )


def test_after_the_target_date_the_path_is_the_target(tenant, world):
    # given: top1 0.8 -> 0.55 by D-10: expected on D = 0.55, gap 0.25, 10 % = 0.025; 0.6 - 0.55 = 0.05: behind.
    # top5 1.2 -> 0.98 by D-10 (a line may start above 1 only when written directly): expected 0.98,
    # gap 0.22, 10 % = 0.022; 1.0 - 0.98 = 0.02: on track
    target(tenant, "top1", "0.8", D - dt.timedelta(days=300), "0.55", D - dt.timedelta(days=10))
    target(tenant, "top5", "1.2", D - dt.timedelta(days=300), "0.98", D - dt.timedelta(days=10))
    # when
    run(tenant, kind=RunKind.CONCENTRATION)
    # then
    keys = {alert.dedupe_key: alert for (kind, _), alert in open_alerts(tenant).items() if kind == KIND}
    assert set(keys) == {"diversification_behind:top1"}
    assert keys["diversification_behind:top1"].details["expected"] == 0.55


def test_the_alert_updates_then_resolves_with_runs(tenant, world):
    # given: 0.8 on D-100 -> 0.2 on D+100; expected on D 0.5, gap 0.6, 10 % = 0.06; 0.6 - 0.5 = 0.1: behind
    target(tenant, "top1", "0.8", D - dt.timedelta(days=100), "0.2", D + dt.timedelta(days=100))
    run(tenant, kind=RunKind.CONCENTRATION)
    first = behind_alert(tenant)
    assert first.details["expected"] == 0.5
    # when: the next day, expected 0.8 - 0.6 x 101/200 = 0.497; still behind (0.103)
    run(tenant, as_of=D + dt.timedelta(days=1), kind=RunKind.CONCENTRATION)
    # then: the same alert, updated
    second = behind_alert(tenant)
    assert second.pk == first.pk
    assert second.details["expected"] == 0.497
    # when: a new customer C 1000 on D+2: top1 = 1000 / 2000 = 0.5; expected 0.8 - 0.6 x 102/200 = 0.494;
    # 0.5 - 0.494 = 0.006 <= 0.06
    c = AccountFactory(tenant=tenant, name="C")
    order(tenant, c, "1000", day=D + dt.timedelta(days=2))
    run(tenant, as_of=D + dt.timedelta(days=2), kind=RunKind.CONCENTRATION)
    # then
    assert behind_alert(tenant) is None
    with tenant_context(tenant):
        first = RiskAlert.objects.get(pk=first.pk)
    assert (first.status, first.resolution) == ("resolved", "cleared")


def test_a_closed_target_is_not_followed(tenant, world, director):
    t = target(tenant, "top1", "0.8", D - dt.timedelta(days=100), "0.2", D + dt.timedelta(days=100))
    run(tenant, kind=RunKind.CONCENTRATION)
    assert behind_alert(tenant) is not None
    with tenant_context(tenant):
        div.diversification_target_close(tenant, target=t, actor=director)
    run(tenant, kind=RunKind.CONCENTRATION)
    assert behind_alert(tenant) is None


def test_the_other_concentration_alerts_are_unchanged_by_a_target(tenant, world):
    run(tenant, kind=RunKind.CONCENTRATION)
    before = {key: (a.severity, a.details) for key, a in open_alerts(tenant).items()}
    target(tenant, "top1", "0.8", D - dt.timedelta(days=100), "0.2", D + dt.timedelta(days=100))
    run(tenant, kind=RunKind.CONCENTRATION)
    after = {key: (a.severity, a.details) for key, a in open_alerts(tenant).items() if key[0] != KIND}
    assert after == before


# --- services: the target's rules ------------------------------------------------------------------------


def test_a_target_takes_its_baseline_from_the_latest_snapshot(tenant, world, director):
    run(tenant, kind=RunKind.CONCENTRATION)
    with tenant_context(tenant):
        t = div.diversification_target_create(
            tenant,
            line="hhi",
            target_value=Decimal("2500"),
            target_date=tenant_today(tenant) + dt.timedelta(days=90),
            owner=director,
            actor=director,
        )
    assert (t.baseline_value, t.baseline_date, t.is_active) == (Decimal("5200.0000"), D, True)


@pytest.mark.parametrize(
    ("line", "value", "days", "field", "message"),
    [
        ("top1", "1.01", 30, "target_value", "A target share is between 0 and 1"),
        ("top5", "-0.1", 30, "target_value", "A target share is between 0 and 1"),
        ("hhi", "10001", 30, "target_value", "A target HHI is between 0 and 10,000"),
        ("top1", "0.1", -1, "target_date", "The target date must be in the future"),
        ("top1", "0.1", 0, "target_date", "The target date must be in the future"),
        ("top9", "0.1", 30, "line", "Choose top1, top5 or hhi"),
    ],
)
def test_bad_targets_are_refused(tenant, world, director, line, value, days, field, message):
    run(tenant, kind=RunKind.CONCENTRATION)
    with tenant_context(tenant), pytest.raises(ValidationError) as error:
        div.diversification_target_create(
            tenant,
            line=line,
            target_value=Decimal(value),
            target_date=tenant_today(tenant) + dt.timedelta(days=days),
            actor=director,
        )
    assert message in " ".join(error.value.message_dict[field])
    with tenant_context(tenant):
        assert not DiversificationTarget.objects.exists()


def test_one_active_target_per_line_and_another_tenants_owner(tenant, world, director, outsider):
    run(tenant, kind=RunKind.CONCENTRATION)
    later = tenant_today(tenant) + dt.timedelta(days=60)
    with tenant_context(tenant):
        div.diversification_target_create(tenant, line="top1", target_value=Decimal("0.4"), target_date=later)
        with pytest.raises(ValidationError) as twice:
            div.diversification_target_create(tenant, line="top1", target_value=Decimal("0.3"), target_date=later)
        with pytest.raises(ValidationError) as foreign:
            div.diversification_target_create(
                tenant, line="top5", target_value=Decimal("0.8"), target_date=later, owner=outsider
            )
        assert DiversificationTarget.objects.count() == 1
    assert "active target already" in twice.value.message_dict["line"][0]
    assert "active member of this workspace" in foreign.value.message_dict["owner"][0]


def test_no_snapshot_no_baseline(tenant, policy):
    with tenant_context(tenant), pytest.raises(ValidationError) as error:
        div.diversification_target_create(
            tenant, line="top1", target_value=Decimal("0.2"), target_date=tenant_today(tenant) + dt.timedelta(days=9)
        )
    assert "no concentration snapshot" in " ".join(error.value.messages)


# --- alternative markets ----------------------------------------------------------------------------------


@pytest.fixture
def segments(tenant, other_tenant):
    p = AccountFactory(tenant=tenant, name="P", industry="化工", region="华东")
    q = AccountFactory(tenant=tenant, name="Q", industry="化工", region="华南")
    r = AccountFactory(tenant=tenant, name="R", industry="机械", region="华东")
    foreign = AccountFactory(tenant=other_tenant, name="Foreign", industry="化工", region="华东")
    order(tenant, p, "100", day=D)
    order(tenant, p, "50", day=D - dt.timedelta(days=365))  # outside (D-365, D]
    order(tenant, q, "200", day=D - dt.timedelta(days=364))
    order(tenant, r, "300")
    order(tenant, q, "70", day=D + dt.timedelta(days=1))  # after D
    order(other_tenant, foreign, "999")
    return {"p": p, "q": q, "r": r}


def market(tenant, **fields) -> AlternativeMarket:
    with tenant_context(tenant):
        return AlternativeMarket.objects.create(
            tenant=tenant,
            name=fields.pop("name", "M"),
            target_revenue_12m=Decimal(fields.pop("target", "1000")),
            target_date=D + dt.timedelta(days=200),
            **fields,
        )


def test_market_progress_from_the_orders_of_the_segment(tenant, segments):
    # given
    chem = market(tenant, name="化工", industry="化工")
    chem_east = market(tenant, name="华东化工", industry="化工", region="华东")
    east = market(tenant, name="华东", region="华东", target="1000")
    nobody = market(tenant, name="无", industry="食品", target="0.00")
    # when
    with tenant_context(tenant):
        progress = div.alternative_market_progress(tenant, [chem, chem_east, east, nobody], as_of=D)
    # then: 化工 = P 100 + Q 200 = 300 (P's 50 on D-365 and Q's 70 after D left out; the other tenant's too)
    assert (progress[chem.pk]["accounts"], progress[chem.pk]["revenue_12m"]) == (2, Decimal("300"))
    assert (progress[chem_east.pk]["accounts"], progress[chem_east.pk]["revenue_12m"]) == (1, Decimal("100"))
    # 华东 = P 100 + R 300 = 400 of 1000: 40.0 %
    assert (progress[east.pk]["accounts"], progress[east.pk]["revenue_12m"], progress[east.pk]["progress"]) == (
        2,
        Decimal("400"),
        Decimal("40.0"),
    )
    assert (progress[nobody.pk]["accounts"], progress[nobody.pk]["revenue_12m"], progress[nobody.pk]["progress"]) == (
        0,
        Decimal("0"),
        None,
    )
    with tenant_context(tenant):
        assert [a.name for a in div.alternative_market_accounts(tenant, chem)] == ["P", "Q"]


def test_bad_markets_are_refused(tenant, director, outsider):
    later = tenant_today(tenant) + dt.timedelta(days=60)
    cases = [
        ({"name": "x", "target_revenue_12m": Decimal("10"), "target_date": later}, "industry"),
        ({"name": "x", "industry": "化工", "target_revenue_12m": Decimal("10"), "target_date": D}, "target_date"),
        (
            {"name": "x", "industry": "化工", "target_revenue_12m": Decimal("0"), "target_date": later},
            "target_revenue_12m",
        ),
        ({"name": " ", "industry": "化工", "target_revenue_12m": Decimal("1"), "target_date": later}, "name"),
        (
            {
                "name": "x",
                "industry": "化工",
                "target_revenue_12m": Decimal("1"),
                "target_date": later,
                "owner": outsider,
            },
            "owner",
        ),
    ]
    with tenant_context(tenant):
        for data, field in cases:
            with pytest.raises(ValidationError) as error:
                div.alternative_market_create(tenant, actor=director, **data)
            assert field in error.value.message_dict, data
        assert not AlternativeMarket.objects.exists()


# --- pages -------------------------------------------------------------------------------------------------


@pytest.fixture
def behind(tenant, world):
    # 0.8 on D-300 -> 0.2 ten days from today: on D the path is well below 0.6
    t = target(tenant, "top1", "0.8", D - dt.timedelta(days=300), "0.2", tenant_today(tenant) + dt.timedelta(days=10))
    run(tenant, kind=RunKind.CONCENTRATION)
    return t


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", ["Diversification targets", "Behind", "Path to the target, largest group", "Alternative markets"]),
        ("zh-hans", ["分散化目标", "落后", "替代市场", "每个指标的路径是从基线"]),
    ],
)
def test_the_concentration_page_shows_the_targets_and_the_path(tenant, director, behind, language, words):
    response = client_in(director, language).get(url("risk-concentration"))
    assert response.status_code == 200
    html = response.content.decode()
    for word in words:
        assert word in html, word
    assert 'class="chart-series chart-series--path_top1"' in html
    assert url("risk-target-edit", target_id=behind.pk) in html


def test_readers_see_no_target_buttons(tenant, manager, behind):
    html = client_in(manager).get(url("risk-concentration")).content.decode()
    assert "Diversification targets" in html
    assert url("risk-target-edit", target_id=behind.pk) not in html
    assert client_in(manager).get(url("risk-target-edit", target_id=behind.pk)).status_code == 403
    assert client_in(manager).post(url("risk-market-create"), {"name": "x"}).status_code == 403


def test_setting_a_target_by_the_page(tenant, world, director):
    run(tenant, kind=RunKind.CONCENTRATION)
    later = tenant_today(tenant) + dt.timedelta(days=120)
    client = client_in(director)
    # bad input: 400, nothing written
    for data, message in (
        ({"line": "top1", "target_value": "1.5", "target_date": later}, "A target share is between 0 and 1"),
        ({"line": "top1", "target_value": "0.3", "target_date": D}, "The target date must be in the future"),
        ({"line": "hhi", "target_value": "12000", "target_date": later}, "A target HHI is between 0 and 10,000"),
        ({"line": "top1", "target_value": "abc", "target_date": "never"}, "Enter a number"),
    ):
        response = client.post(url("risk-target-create"), data)
        assert response.status_code == 400, data
        assert message in response.content.decode()
    with tenant_context(tenant):
        assert not DiversificationTarget.objects.exists()
    # good input
    response = client.post(url("risk-target-create"), {"line": "top1", "target_value": "0.3", "target_date": later})
    assert response.status_code == 302
    with tenant_context(tenant):
        t = DiversificationTarget.objects.get()
    assert (t.baseline_value, t.target_value, t.target_date) == (Decimal("0.6000"), Decimal("0.3000"), later)
    # edit, then close (the confirmation first)
    response = client.post(
        url("risk-target-edit", target_id=t.pk), {"target_value": "0.25", "target_date": later, "note": "n"}
    )
    assert response.status_code == 302
    t.refresh_from_db()
    assert (t.target_value, t.note, t.line) == (Decimal("0.2500"), "n", "top1")
    assert "Close the target" in client.get(url("risk-target-close", target_id=t.pk)).content.decode()
    assert client.post(url("risk-target-close", target_id=t.pk)).status_code == 302
    t.refresh_from_db()
    assert t.is_active is False


@pytest.mark.parametrize(("language", "word"), [("en", "Accounts found"), ("zh-hans", "找到的客户")])
def test_the_markets_page_and_its_forms(tenant, segments, director, language, word):
    m = market(tenant, name="华东市场", region="华东", target="1000")
    client = client_in(director, language)
    html = client.get(url("risk-markets")).content.decode()
    assert word in html
    assert "华东市场" in html
    assert "region=%E5%8D%8E%E4%B8%9C" in html  # the link to the segment's accounts
    # create: bad, then good
    response = client.post(url("risk-market-create"), {"name": "x", "target_revenue_12m": "10", "target_date": D})
    assert response.status_code == 400
    later = tenant_today(tenant) + dt.timedelta(days=300)
    response = client.post(
        url("risk-market-create"),
        {"name": "化工", "industry": "化工", "target_revenue_12m": "500", "target_date": later, "owner": director.pk},
    )
    assert response.status_code == 302
    # edit and delete
    response = client.post(
        url("risk-market-edit", market_id=m.pk),
        {"name": "华东市场 2", "region": "华东", "target_revenue_12m": "2000", "target_date": m.target_date},
    )
    assert response.status_code == 302
    m.refresh_from_db()
    assert (m.name, m.target_revenue_12m) == ("华东市场 2", Decimal("2000.00"))
    assert client.get(url("risk-market-delete", market_id=m.pk)).status_code == 200
    assert client.post(url("risk-market-delete", market_id=m.pk)).status_code == 302
    with tenant_context(tenant):
        assert list(AlternativeMarket.objects.values_list("name", flat=True)) == ["化工"]


def test_the_alert_page_and_the_risk_center(tenant, director, behind):
    alert = behind_alert(tenant)
    client = client_in(director)
    html = client.get(url("risk-alert", alert_id=alert.pk)).content.decode()
    assert "Diversification behind" in html
    assert "behind the path to the target" in html
    assert "See the diversification targets" in html
    center = client.get(url("risk-center") + "?kind=diversification_behind").content.decode()
    assert f"alert-{alert.pk}" in center
    zh = client_in(director, "zh-hans").get(url("risk-alert", alert_id=alert.pk)).content.decode()
    assert "分散化进度落后" in zh


def test_pages_of_another_tenant_are_404(tenant, other_tenant, director, policy):
    foreign_target = target(other_tenant, "top1", "0.5", D, "0.2", D + dt.timedelta(days=300))
    foreign_market = market(other_tenant, name="外部市场", industry="化工")
    client = client_in(director)
    for name, kwargs in (
        ("risk-target-edit", {"target_id": foreign_target.pk}),
        ("risk-target-close", {"target_id": foreign_target.pk}),
        ("risk-market-edit", {"market_id": foreign_market.pk}),
        ("risk-market-delete", {"market_id": foreign_market.pk}),
    ):
        assert client.get(url(name, **kwargs)).status_code == 404
        assert client.post(url(name, **kwargs)).status_code == 404
    assert "外部市场" not in client.get(url("risk-markets")).content.decode()
    with tenant_context(other_tenant):
        foreign_target.refresh_from_db()
    assert foreign_target.is_active


# --- API ---------------------------------------------------------------------------------------------------


def api(name, **kwargs):
    return reverse(name, kwargs=kwargs)


def test_the_targets_api(tenant, world, director, manager, member, other_tenant):
    run(tenant, kind=RunKind.CONCENTRATION)
    later = tenant_today(tenant) + dt.timedelta(days=100)
    client = client_in(director)
    # bad input
    for body in (
        {"line": "top1", "target_value": 1.2, "target_date": str(later)},
        {"line": "top1", "target_value": 0.2, "target_date": str(D)},
        {"line": "hhi", "target_value": 10001, "target_date": str(later)},
    ):
        response = client.post(api("api-diversification-target-list"), body, content_type="application/json")
        assert response.status_code == 400, body
    # create
    response = client.post(
        api("api-diversification-target-list"),
        {"line": "top1", "target_value": 0.3, "target_date": str(later), "owner": director.pk},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["baseline_value"], body["baseline_date"], body["is_active"]) == (0.6, str(D), True)
    # the latest snapshot is the baseline itself (as of D, 0.6): on the path, not behind
    assert body["path"]["status"] == "on_track"
    pk = body["id"]
    # read: READ_ALL; a team member: 403; a manager cannot write
    assert client_in(manager).get(api("api-diversification-target-list")).status_code == 200
    assert client_in(member).get(api("api-diversification-target-list")).status_code == 403
    assert (
        client_in(manager)
        .patch(api("api-diversification-target-detail", pk=pk), {"note": "x"}, content_type="application/json")
        .status_code
        == 403
    )
    # change, close
    response = client.patch(
        api("api-diversification-target-detail", pk=pk), {"target_value": 0.25}, content_type="application/json"
    )
    assert (response.status_code, response.json()["target_value"]) == (200, 0.25)
    response = client.post(api("api-diversification-target-close", pk=pk))
    assert (response.status_code, response.json()["is_active"]) == (200, False)
    # isolation
    foreign = target(other_tenant, "top1", "0.5", D, "0.2", D + dt.timedelta(days=300))
    assert client.get(api("api-diversification-target-detail", pk=foreign.pk)).status_code == 404
    ids = [row["id"] for row in client.get(api("api-diversification-target-list")).json()["results"]]
    assert ids == [pk]


def test_the_markets_api(tenant, segments, director, manager, outsider, other_tenant, write_token):
    later = tenant_today(tenant) + dt.timedelta(days=100)
    client = client_in(director)
    response = client.post(
        api("api-alternative-market-list"),
        {"name": "化工", "industry": "化工", "target_revenue_12m": "1000.00", "target_date": str(later)},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    # another tenant's owner, no segment: 400
    for body in (
        {"name": "y", "industry": "化工", "target_revenue_12m": "1", "target_date": str(later), "owner": outsider.pk},
        {"name": "y", "target_revenue_12m": "1", "target_date": str(later)},
    ):
        assert client.post(api("api-alternative-market-list"), body, content_type="application/json").status_code == 400
    rows = client_in(manager).get(api("api-alternative-market-list")).json()["results"]
    # today's 12 months: the orders of the fixture lie around D, at most a year ago; count as of today
    with tenant_context(tenant):
        expected = div.alternative_market_progress(tenant, [AlternativeMarket.objects.get(pk=pk)])[pk]
    assert [(r["id"], r["accounts_found"], r["revenue_12m"]) for r in rows] == [
        (pk, 2, f"{expected['revenue_12m']:.2f}")
    ]
    assert client.get(api("api-alternative-market-detail", pk=pk), **bearer(write_token)).status_code == 200
    foreign = market(other_tenant, name="外部", industry="化工")
    assert client.get(api("api-alternative-market-detail", pk=foreign.pk)).status_code == 404
    assert client.delete(api("api-alternative-market-detail", pk=foreign.pk)).status_code == 404
    assert client.delete(api("api-alternative-market-detail", pk=pk)).status_code == 204


# --- the demo ----------------------------------------------------------------------------------------------


def test_the_demo_has_a_target_behind_and_alternative_markets():
    tenant = kam_services.tenant_create(slug="demo-div", name="演示 分散化", industry_profile="manufacturing")
    people = {}
    for role in Role.values:
        user = kam_services.user_get_or_create(email=f"{role}@div.example.com", password="x" * 12, full_name=role)
        kam_services.membership_create(tenant=tenant, user=user, role=role)
        people[role] = user
    for label in ("accounts", "scoring", "teams", "risk"):
        apps.get_app_config(label).load_demo(tenant, people)
    with tenant_context(tenant):
        alert = RiskAlert.objects.get(kind=KIND, status="open")
        markets = list(AlternativeMarket.objects.all())
        progress = div.alternative_market_progress(tenant, markets)
    assert alert.details["line"] == "top1"
    assert alert.details["actual"] - alert.details["expected"] > 0.1 * alert.details["gap"]
    assert len(markets) == 2
    assert all(progress[m.pk]["accounts"] > 0 for m in markets)
