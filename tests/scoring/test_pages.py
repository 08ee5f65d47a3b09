"""Scoring pages: the tier page, score runs, the scorecard editor with its preview, and the
account page's score tab. Expected numbers are worked by hand (the `world` of test_engine)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import services as account_services
from kam import formats
from kam.models import RunStatus
from kam.tenancy import tenant_context
from scoring import services
from scoring.models import AccountScore, Rating, Scorecard, ScorecardStatus, ScoreRun, TierOverride
from tests.factories import AccountFactory, OrderFactory

pytestmark = pytest.mark.django_db

D = dt.date(2026, 6, 30)
D2 = dt.date(2026, 7, 1)
HTMX = {"HTTP_HX_REQUEST": "true"}


def client_in(user, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def url(name: str, slug: str = "acme", **kwargs) -> str:
    return reverse(name, kwargs={"tenant_slug": slug, **kwargs})


def run(tenant, as_of: dt.date = D) -> ScoreRun:
    return services.score_run_execute(tenant, run=services.score_run_create(tenant, as_of=as_of))


def text(html: str) -> str:
    """The page's text with tags dropped and white space collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def orders(tenant, account, *, now: str = "", prev: str = "") -> None:
    """12m revenue on 2026-01-15, prev-12m revenue on 2025-01-15."""
    if now:
        OrderFactory(tenant=tenant, account=account, order_date=dt.date(2026, 1, 15), amount=Decimal(now))
    if prev:
        OrderFactory(tenant=tenant, account=account, order_date=dt.date(2025, 1, 15), amount=Decimal(prev))


@pytest.fixture
def world(tenant, manager, django_capture_on_commit_callbacks):
    """acme (manufacturing: tiers A and S need revenue_12m >= 10,000,000) with the accounts of test_engine.

    As of D: X total 90.00 but gated -> B; Y 30.00 -> C, unrated; Z 37.00 + 10 (investment) = 47.00 -> B.
    """
    services.scorecard_seed_default(tenant)
    x = AccountFactory(tenant=tenant, name="X 重工", cooperation_since=dt.date(2020, 6, 30), owner=manager)
    y = AccountFactory(tenant=tenant, name="Y 电子")
    z = AccountFactory(tenant=tenant, name="Z 精密", cooperation_since=dt.date(2023, 6, 30))
    lost = AccountFactory(tenant=tenant, name="Lost 流失", status="lost")
    orders(tenant, x, now="6000000", prev="4000000")
    orders(tenant, y, now="2000000")
    OrderFactory(tenant=tenant, account=y, order_date=dt.date(2025, 12, 31), amount=Decimal("1000000"))
    orders(tenant, z, now="500000", prev="2000000")
    orders(tenant, lost, now="500000")
    with django_capture_on_commit_callbacks(execute=False):
        for account, ratings in ((x, (5, 4, 3)), (z, (3, 3, 5))):
            for key, value in zip(("industry_position", "tech_leadership", "payment_credit"), ratings, strict=True):
                services.rating_add(tenant, account=account, criterion=key, value=value)
        account_services.event_create(tenant, account=z, kind="major_investment", occurred_on=dt.date(2026, 6, 1))
    return SimpleNamespace(tenant=tenant, x=x, y=y, z=z)


def score_tab(client: Client, account, **extra) -> str:
    response = client.get(url("scoring-account-tab", account_id=account.pk), **HTMX, **extra)
    assert response.status_code == 200
    return response.content.decode()


def why(html: str) -> list[str]:
    box = re.search(r'<div class="score-why"[^>]*>(.*?)</div>', html, re.S).group(1)
    return [text(sentence) for sentence in re.findall(r"<p>(.*?)</p>", box, re.S)]


def breakdown(html: str) -> dict[str, tuple[str, str, str, str]]:
    """Per criterion key: (value, points, weight, weighted points) as the tab shows them."""
    rows = {}
    for key, body in re.findall(r'<tr data-criterion="([a-z_]+)">(.*?)</tr>', html, re.S):
        raw, weight = (text(cell) for cell in re.findall(r'<td class="num[^"]*">(.*?)</td>', body, re.S))
        points, weighted = re.findall(r'<span class="bar-value">([\d.]+)', body)
        rows[key] = (raw, points, weight, weighted)
    return rows


class FormValues(HTMLParser):
    """What a browser would submit from the form carrying ``marker``: inputs, checked boxes,
    the selected (or first) option of each select, and textareas."""

    def __init__(self, marker: str) -> None:
        super().__init__()
        self.marker, self.inside, self.values = marker, False, {}
        self.select: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        if tag == "form" and self.marker in attributes:
            self.inside = True
        if not self.inside:
            return
        if tag == "input" and attributes.get("type") not in ("submit", "button"):
            if attributes.get("type") in ("checkbox", "radio") and "checked" not in attributes:
                return
            checkable = attributes.get("type") in ("checkbox", "radio")
            self.values[attributes["name"]] = attributes.get("value") or ("on" if checkable else "")
        elif tag == "select":
            self.select = attributes["name"]
            self.values[self.select] = None
        elif tag == "option" and self.select and (self.values[self.select] is None or "selected" in attributes):
            self.values[self.select] = attributes.get("value", "")
        elif tag == "textarea":
            self.textarea = attributes["name"]
            self.values[self.textarea] = ""

    def handle_data(self, data: str) -> None:
        if self.inside and self.textarea:
            self.values[self.textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None


def editor_values(client: Client) -> dict[str, str]:
    parser = FormValues("data-scorecard-editor")
    parser.feed(client.get(url("scoring-scorecard")).content.decode())
    return parser.values


def draft_spec(**tiers: tuple[str, str | None]) -> dict:
    """The default criteria with other tiers: tier=(threshold, gate)."""
    criteria = [
        {
            "key": key,
            "label_zh": zh,
            "label_en": en,
            "kind": kind,
            "metric": metric,
            "normalization": normalization,
            "params": params,
            "weight": Decimal(weight),
            "missing_value": Decimal("0"),
        }
        for key, zh, en, kind, metric, normalization, params, weight in services.DEFAULT_CRITERIA
    ]
    rules = {"S": ("80", "10000000"), "A": ("65", "10000000"), "B": ("45", None), "C": ("0", None), **tiers}
    return {
        "criteria": criteria,
        "tiers": [
            {"tier": tier, "threshold": Decimal(t), "min_revenue_12m": Decimal(g) if g else None}
            for tier, (t, g) in rules.items()
        ],
        "hysteresis": Decimal("2"),
        "note": "测试",
    }


# --- another tenant: 404 ----------------------------------------------------------------------------


def acme_urls(world) -> tuple[dict[str, str], dict[str, str]]:
    tenant = world.tenant
    first = run(tenant)
    with tenant_context(tenant):
        active = Scorecard.objects.get(status=ScorecardStatus.ACTIVE)
    account = {"account_id": world.x.pk}
    gets = {
        "tiers": url("scoring-tiers"),
        "runs": url("scoring-runs"),
        "run-row": url("scoring-run-row", run_id=first.pk),
        "scorecard": url("scoring-scorecard"),
        "tab": url("scoring-account-tab", **account),
    }
    posts = {
        "run-start": url("scoring-run-start"),
        "scorecard": url("scoring-scorecard"),
        "preview": url("scoring-scorecard-preview", scorecard_id=active.pk),
        "activate": url("scoring-scorecard-activate", scorecard_id=active.pk),
        "rate": url("scoring-rate", **account),
        "override": url("scoring-override", **account),
        "lift": url("scoring-override-lift", **account),
    }
    return gets, posts


def test_outsider_gets_404_on_every_scoring_page_of_acme(world, outsider, django_capture_on_commit_callbacks):
    # given acme's pages with real acme ids, and an admin of globex
    gets, posts = acme_urls(world)
    client = client_in(outsider)
    # when they open or post to them, then every one is 404
    for name, address in gets.items():
        assert client.get(address).status_code == 404, name
        assert client.get(address, **HTMX).status_code == 404, name
    with django_capture_on_commit_callbacks(execute=True):
        for name, address in posts.items():
            assert (
                client.post(
                    address, {"tier": "S", "reason": "x", "criterion": "industry_position", "value": 5}
                ).status_code
                == 404
            ), name
    # and nothing was written
    with tenant_context(world.tenant):
        assert (ScoreRun.objects.count(), Scorecard.objects.count(), TierOverride.objects.count()) == (1, 1, 0)
        assert Rating.objects.filter(account=world.x).count() == 3


@pytest.mark.parametrize("role", ["admin", "director"])
def test_another_tenants_ids_are_404(world, role, role_users, other_tenant, django_capture_on_commit_callbacks):
    # given globex's account, scorecard and run
    services.scorecard_seed_default(other_tenant)
    foreign = AccountFactory(tenant=other_tenant, name="Globex 客户")
    foreign_run = run(other_tenant)
    with tenant_context(other_tenant):
        foreign_scorecard = Scorecard.objects.get()
    client = client_in(role_users[role])
    account = {"account_id": foreign.pk}
    # when acme's admin or director puts them into acme's pages, then 404
    assert client.get(url("scoring-run-row", run_id=foreign_run.pk), **HTMX).status_code == 404
    assert client.get(url("scoring-account-tab", **account), **HTMX).status_code == 404
    assert client.get(url("scoring-scorecard") + f"?from={foreign_scorecard.pk}").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        for address in (
            url("scoring-scorecard-preview", scorecard_id=foreign_scorecard.pk),
            url("scoring-scorecard-activate", scorecard_id=foreign_scorecard.pk),
            url("scoring-rate", **account),
            url("scoring-override", **account),
            url("scoring-override-lift", **account),
        ):
            response = client.post(address, {"tier": "S", "reason": "x", "criterion": "industry_position", "value": 5})
            assert response.status_code == 404, address
    # and globex is untouched
    with tenant_context(other_tenant):
        assert (Rating.objects.count(), TierOverride.objects.count(), ScoreRun.objects.count()) == (0, 0, 1)


# --- tier page --------------------------------------------------------------------------------------


def test_tier_page_before_the_first_run_offers_run_now_to_runners(world, admin, executive):
    # given no run yet
    # when the admin and an executive open the tier page
    for_admin = client_in(admin).get(url("scoring-tiers")).content.decode()
    for_executive = client_in(executive).get(url("scoring-tiers")).content.decode()
    # then both see the empty state; only the admin gets the button
    assert "No tiers yet." in for_admin and "No tiers yet." in for_executive
    assert f'action="{url("scoring-run-start")}"' in for_admin
    assert f'action="{url("scoring-run-start")}"' not in for_executive
    assert "An administrator or a director can start the first run." in for_executive


def test_tier_page_counts_revenue_share_and_pareto(world, director):
    # given a run as of D: X 90.00 B (gated), Z 47.00 B, Y 30.00 C
    run(world.tenant)
    # when the director opens the tier page
    page = text(client_in(director).get(url("scoring-tiers")).content.decode())
    # then per tier: B has X and Z with 6,000,000 + 500,000 of 10,000,000 (the lost account counts in the total)
    assert "B · Priority 2 accounts ¥6,500,000.00 65.0% of revenue, last 12 months" in page
    assert "C · Standard 1 account ¥3,000,000.00 30.0% of revenue, last 12 months" in page
    assert "S · Strategic 0 accounts ¥0.00 0.0% of revenue, last 12 months" in page
    # and the Pareto line: 4 accounts with revenue, k = ceil(0.8) = 1: X's 6,000,000 / 10,000,000
    assert (
        "The top 20% of accounts (1 of 4 with revenue) bring 60.0% of the revenue of the last 12 months "
        "(¥10,000,000.00)." in page
    )
    # and the B section lists X then Z, highest total first, both new
    assert "X 重工 90.00 ¥6,000,000.00 new Z 精密 47.00 ¥500,000.00 new" in page
    assert "Y 电子 Incomplete 30.00 ¥3,000,000.00 new" in page


def test_tier_page_shows_movement_and_overrides(world, director):
    tenant = world.tenant
    # given Z at 47.00 (B) on D, then two setbacks on D2: 43.50 kept B, then 42.50 -> C
    run(tenant)
    account_services.event_create(
        tenant, account=world.z, kind="competitor_win", occurred_on=D2, impact_points=Decimal("-3.5")
    )
    account_services.event_create(
        tenant, account=world.z, kind="budget_cut", occurred_on=D2, impact_points=Decimal("-1")
    )
    # and X set to A by hand
    services.tier_override_set(tenant, account=world.x, tier="A", reason="战略合作伙伴")
    run(tenant, D2)
    # when the director opens the tier page
    page = text(client_in(director).get(url("scoring-tiers")).content.decode())
    # then X moved up by hand, Z moved down, Y stayed
    assert "X 重工 Set by hand 90.00 ¥6,000,000.00 B → A ↑ moved up" in page
    assert "Z 精密 42.50 ¥500,000.00 B → C ↓ moved down" in page
    assert "Y 电子 Incomplete 30.00 ¥3,000,000.00 C = unchanged" in page


def test_movement_is_since_the_previous_full_run_even_on_the_same_day(world, director):
    tenant = world.tenant
    # given two full runs as of the same day, X set to A by hand between them
    run(tenant)
    services.tier_override_set(tenant, account=world.x, tier="A", reason="战略合作伙伴")
    run(tenant)
    # when the director opens the tier page, then X moved up since the first run, the others stayed
    page = text(client_in(director).get(url("scoring-tiers")).content.decode())
    assert "X 重工 Set by hand 90.00 ¥6,000,000.00 B → A ↑ moved up" in page
    assert "Z 精密 47.00 ¥500,000.00 B = unchanged" in page


def test_member_sees_only_the_accounts_they_work_on(world, member, django_capture_on_commit_callbacks):
    # given a run, and Y owned by the member
    with tenant_context(world.tenant):
        world.y.owner = member
        world.y.save()
    run(world.tenant)
    # when the member opens the tier page
    html = client_in(member).get(url("scoring-tiers")).content.decode()
    page = text(html)
    # then only Y is listed, with figures over Y alone and no tenant-wide Pareto
    assert "Y 电子" in page and "X 重工" not in page and "Z 精密" not in page
    assert "C · Standard 1 account ¥3,000,000.00 Revenue, last 12 months" in page
    assert "B · Priority 0 accounts ¥0.00" in page
    assert "Pareto" not in page
    assert "Figures over the accounts you work on." in page


def test_tier_page_query_count_does_not_grow_with_the_accounts(world, director, django_assert_max_num_queries):
    tenant = world.tenant
    run(tenant)
    run(tenant)  # movements are read against the run before
    client = client_in(director)
    client.get(url("scoring-tiers"))  # warm the session
    with CaptureQueriesContext(connection) as three:
        assert client.get(url("scoring-tiers")).status_code == 200
    # when 30 more accounts with orders are scored
    for number in range(30):
        account = AccountFactory(tenant=tenant, name=f"更多 {number:02d}")
        orders(tenant, account, now=str(1000 + number))
    run(tenant)
    # then the page takes no more queries than with three accounts
    with django_assert_max_num_queries(len(three.captured_queries)):
        html = client.get(url("scoring-tiers")).content.decode()
    assert "33 accounts" not in html and "31 accounts" in text(html)  # C: Y and the 30 new


def test_tier_page_lists_25_per_tier_and_pages_through_one(world, director):
    tenant = world.tenant
    for number in range(30):
        orders(tenant, AccountFactory(tenant=tenant, name=f"小客户 {number:02d}"), now="1000")
    run(tenant)
    client = client_in(director)
    # when the director opens the page, then C shows 25 of its 31 with a link to the rest
    page = text(client.get(url("scoring-tiers")).content.decode())
    assert "Show all 31 accounts of C · Standard" in page
    # when they open tier C alone, then all 31 are listed on one page (50 a page)
    only = client.get(url("scoring-tiers") + "?tier=C").content.decode()
    assert only.count('class="account-link"') == 31
    assert "B · Priority" not in re.search(r'<div id="tier-list">(.*)', only, re.S).group(1)


# --- score runs -------------------------------------------------------------------------------------


def test_run_now_creates_a_run_and_completes_it(world, admin, django_capture_on_commit_callbacks):
    client = client_in(admin)
    # when the admin starts a run as of D
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("scoring-run-start"), {"as_of": "2026-06-30"})
    # then it is queued, executed once the transaction commits, and listed as done
    assert response.status_code == 302 and response["Location"] == url("scoring-runs")
    with tenant_context(world.tenant):
        created = ScoreRun.objects.get()
    assert (created.status, created.as_of, created.accounts_scored, created.created_by) == ("done", D, 3, admin)
    page = text(client.get(url("scoring-runs")).content.decode())
    assert "The score run was queued. Its row shows the progress." in page
    assert "Manual All accounts 2026-06-30 v1 Done 3 0 0" in page


def test_run_row_polls_while_queued_and_stops_when_done(world, director, django_capture_on_commit_callbacks):
    client = client_in(director)
    # given a run started with htmx whose task has not run yet
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(url("scoring-run-start"), {}, **HTMX)
    with tenant_context(world.tenant):
        queued = ScoreRun.objects.get()
    row_url = url("scoring-run-row", run_id=queued.pk)
    # then the answer is the new row, polling itself every second
    assert response.status_code == 201
    html = response.content.decode()
    assert html.strip().startswith(f'<tr id="run-{queued.pk}" class="run-row run-row--queued"')
    assert f'hx-get="{row_url}" hx-trigger="every 1s" hx-swap="outerHTML"' in html
    assert "Queued" in html
    assert 'hx-trigger="every 1s"' in client.get(row_url, **HTMX).content.decode()
    # when the worker runs the task
    for callback in callbacks:
        callback()
    # then the row shows the result and no longer polls
    done = client.get(row_url, **HTMX).content.decode()
    assert "hx-trigger" not in done and "hx-get" not in done
    assert "Done" in done and 'class="run-row run-row--done"' in done


def test_run_start_is_for_admins_and_directors(world, role_users):
    # when a manager, a member or an executive starts a run, then 403 and no run
    for role in ("manager", "member", "executive"):
        assert client_in(role_users[role]).post(url("scoring-run-start"), {}).status_code == 403, role
    with tenant_context(world.tenant):
        assert ScoreRun.objects.count() == 0


def test_run_start_refuses_a_bad_date(world, admin):
    # when the date is not a date, then the form comes back in place with the error
    response = client_in(admin).post(url("scoring-run-start"), {"as_of": "30.06.2026"}, **HTMX)
    assert response.status_code == 400
    assert response["HX-Retarget"] == "#run-start"
    assert "Enter the date as YYYY-MM-DD, e.g. 2026-12-07" in response.content.decode()


def test_runs_page_lists_single_account_runs_a_member_may_see(world, member):
    tenant = world.tenant
    with tenant_context(tenant):
        world.y.owner = member
        world.y.save()
    # given a full run and the rescoring of X and of Y (owned by the member)
    run(tenant)
    for account in (world.x, world.y):
        single = services.score_run_create(tenant, as_of=D, account=account, trigger="rating")
        services.score_run_execute(tenant, run=single)
    # when the member lists the runs, then they see the full run and Y's rescoring, not X's
    page = text(client_in(member).get(url("scoring-runs")).content.decode())
    assert "Rating Y 电子" in page and "X 重工" not in page
    assert "Manual All accounts" in page
    assert "Run now" not in page


# --- scorecard --------------------------------------------------------------------------------------


def test_scorecard_pages_are_for_admins_and_directors(world, role_users):
    with tenant_context(world.tenant):
        active = Scorecard.objects.get()
    # when others than admins and directors open or post to the scorecard pages, then 403
    for role in ("manager", "member", "executive"):
        client = client_in(role_users[role])
        assert client.get(url("scoring-scorecard")).status_code == 403, role
        assert client.post(url("scoring-scorecard"), {}).status_code == 403, role
        assert client.post(url("scoring-scorecard-preview", scorecard_id=active.pk)).status_code == 403, role
        assert client.post(url("scoring-scorecard-activate", scorecard_id=active.pk)).status_code == 403, role
    for role in ("admin", "director"):
        assert client_in(role_users[role]).get(url("scoring-scorecard")).status_code == 200, role


def test_scorecard_page_shows_the_active_version_in_the_editor(world, admin):
    # when the admin opens the scorecard page, then the active version is summed up
    html = client_in(admin).get(url("scoring-scorecard")).content.decode()
    page = text(html)
    assert "Active: version 1" in page
    assert "Years of cooperation quantitative bands 0:0, 1:40, 3:70, 5:100 10" in page
    assert "Purchase growth quantitative linear from -0.2 to 0.5 15" in page
    assert "New draft from version 1" in page
    # the editor starts from the active version's values, and adds up its weights
    values = editor_values(client_in(admin))
    assert [values[f"criteria-{i}-weight"] for i in range(6)] == ["30", "15", "10", "20", "10", "15"]
    assert (values["criteria-2-bands"], values["criteria-1-lo"], values["criteria-1-hi"]) == (
        "0:0, 1:40, 3:70, 5:100",
        "-0.2",
        "0.5",
    )
    assert (values["threshold_S"], values["gate_S"], values["gate_B"], values["hysteresis"]) == (
        "80",
        "10000000",
        "",
        "2",
    )
    assert '<output class="weight-total" data-weight-total' in html
    assert "Total: 100 / 100</output>" in html


def test_draft_with_weights_not_100_is_refused_and_the_input_kept(world, admin):
    client = client_in(admin)
    values = editor_values(client)
    # when the admin lowers revenue contribution from 30 to 20: 20 + 15 + 10 + 20 + 10 + 15 = 90
    values["criteria-0-weight"] = "20"
    response = client.post(url("scoring-scorecard"), values)
    # then the page answers 400 with the service's message, and keeps what was typed
    assert response.status_code == 400
    html = response.content.decode()
    assert "<li>The weights add up to 90; they must add up to 100.</li>" in html
    assert re.search(r'<input type="number" name="criteria-0-weight" value="20"', html)
    assert "Total: 90 / 100</output>" in html and "weight-total weight-total--bad" in html
    # and nothing was created
    with tenant_context(world.tenant):
        assert list(Scorecard.objects.values_list("version", "status")) == [(1, "active")]


def test_draft_with_bad_bands_is_refused(world, admin):
    client = client_in(admin)
    values = editor_values(client)
    # when years of cooperation get bands that are not threshold:points pairs
    values["criteria-2-bands"] = "0:0, 1-40"
    response = client.post(url("scoring-scorecard"), values)
    assert response.status_code == 400
    assert "Write bands as threshold:points pairs, e.g. 0:0, 1:40, 3:70, 5:100." in response.content.decode()
    with tenant_context(world.tenant):
        assert Scorecard.objects.count() == 1


def test_draft_saved_as_version_2(world, director):
    client = client_in(director)
    values = editor_values(client)
    # when the director moves 5 points from revenue contribution to growth, and lowers B to 40
    values.update({"criteria-0-weight": "25", "criteria-1-weight": "20", "threshold_B": "40", "note": "增长优先"})
    # and drops technology leadership, spreading its 10 points over the ratings left
    values.update({"criteria-4-DELETE": "on", "criteria-3-weight": "25", "criteria-5-weight": "20"})
    response = client.post(url("scoring-scorecard"), values)
    # then a draft version 2 is made, and the page opens on its preview
    with tenant_context(world.tenant):
        draft = Scorecard.objects.get(version=2)
        weights = list(draft.criteria.values_list("key", "weight"))
        thresholds = dict(draft.tiers.values_list("tier", "threshold"))
    assert response.status_code == 302
    assert response["Location"] == f"{url('scoring-scorecard')}?draft={draft.pk}"
    assert (draft.status, draft.note, draft.created_by) == ("draft", "增长优先", director)
    assert weights == [
        ("revenue_share", Decimal("25.00")),
        ("growth", Decimal("20.00")),
        ("cooperation_years", Decimal("10.00")),
        ("industry_position", Decimal("25.00")),
        ("payment_credit", Decimal("20.00")),
    ]
    assert thresholds == {"S": Decimal("80"), "A": Decimal("65"), "B": Decimal("40"), "C": Decimal("0")}
    page = client.get(response["Location"]).content.decode()
    assert "Draft version 2 was saved. Check who would move below, then activate it." in page
    preview_url = url("scoring-scorecard-preview", scorecard_id=draft.pk)
    assert f'hx-post="{preview_url}" hx-trigger="load"' in page


def test_a_new_criterion_can_be_added(world, admin):
    client = client_in(admin)
    values = editor_values(client)
    # when the admin fills the empty row with a rating criterion of weight 10, taking 10 from revenue share
    values.update(
        {
            "criteria-6-key": "market_access",
            "criteria-6-label_zh": "市场准入",
            "criteria-6-label_en": "Market access",
            "criteria-6-weight": "10",
            "criteria-0-weight": "20",
        }
    )
    assert client.post(url("scoring-scorecard"), values).status_code == 302
    with tenant_context(world.tenant):
        added = Scorecard.objects.get(version=2).criteria.get(key="market_access")
    assert (added.kind, added.normalization, added.weight, added.position) == ("rating", "rating", Decimal("10.00"), 6)


def test_preview_lists_who_would_move(world, director):
    tenant = world.tenant
    # given the current tiers as of D (X B, Y C, Z B) and a draft without gates and with B at 50
    run(tenant)
    draft = services.scorecard_create_draft(tenant, spec=draft_spec(S=("80", None), A=("65", None), B=("50", None)))
    # when the director previews it as of D
    response = client_in(director).post(
        url("scoring-scorecard-preview", scorecard_id=draft.pk), {"as_of": "2026-06-30"}, **HTMX
    )
    # then X (90.00) would rise to S, Z (47.00) fall to C; nothing is written
    page = text(response.content.decode())
    assert "As of 2026-06-30, 3 accounts scored. Nothing was written. ↑ 1 would move up ↓ 1 would move down" in page
    assert "X 重工 B S ↑ moved up 90.00" in page
    assert "Z 精密 B C ↓ moved down 47.00" in page
    assert "Y 电子" not in page
    assert "Activate version 2" in page
    with tenant_context(tenant):
        assert AccountScore.objects.count() == 3


def test_preview_without_javascript_answers_the_whole_page(world, admin):
    tenant = world.tenant
    # given the tiers as of D and a draft with B at 50
    run(tenant)
    draft = services.scorecard_create_draft(tenant, spec=draft_spec(B=("50", None)))
    # when the preview form is posted without htmx
    response = client_in(admin).post(url("scoring-scorecard-preview", scorecard_id=draft.pk), {"as_of": "2026-06-30"})
    # then the scorecard page comes back with the preview in its panel and the editor on that version
    page = text(response.content.decode())
    assert response.status_code == 200
    assert "What-if preview of version 2 As of 2026-06-30, 3 accounts scored." in page
    assert "Z 精密 B C ↓ moved down 47.00" in page
    assert "New draft from version 2" in page


def test_activate_makes_the_draft_the_one_runs_use(world, admin):
    tenant = world.tenant
    draft = services.scorecard_create_draft(tenant, spec=draft_spec())
    client = client_in(admin)
    response = client.post(url("scoring-scorecard-activate", scorecard_id=draft.pk), **HTMX)
    assert response.status_code == 200 and response["HX-Redirect"] == url("scoring-scorecard")
    with tenant_context(tenant):
        assert list(Scorecard.objects.order_by("version").values_list("version", "status")) == [
            (1, "retired"),
            (2, "active"),
        ]
    page = text(client.get(url("scoring-scorecard")).content.decode())
    assert "Version 2 is now active: the next score run uses it." in page
    assert run(tenant).scorecard_id == draft.pk


# --- the account score tab --------------------------------------------------------------------------


def test_score_tab_before_the_first_run(world, director):
    # given no run yet: the tab says so, and ratings can be given already
    html = score_tab(client_in(director), world.x)
    assert "Not scored yet." in html
    assert "Rate a qualitative criterion" in html


def test_plain_visit_of_the_tab_goes_to_the_account_page(world, director):
    # when the fragment's URL is opened without htmx, then the account page opens on the tab
    response = client_in(director).get(url("scoring-account-tab", account_id=world.x.pk))
    # then
    assert response.status_code == 302
    assert response["Location"] == f"/t/acme/accounts/{world.x.pk}/?tab=score"


def test_score_tab_shows_the_hand_computed_breakdown(world, director):
    run(world.tenant)
    html = score_tab(client_in(director), world.x)
    # X: share 6/10 = .6 -> percentile 100 of 3; growth (6-4)/4 = .5 -> linear(-.2, .5) 100;
    # 2191 days / 365.25 = 5.9986 years -> band 100; ratings 5, 4, 3 -> 100, 75, 50
    # weighted = points * weight / 100
    assert breakdown(html) == {
        "revenue_share": ("60.0%", "100.00", "30", "30.00"),
        "growth": ("+50.0%", "100.00", "15", "15.00"),
        "cooperation_years": ("6.0 years", "100.00", "10", "10.00"),
        "industry_position": ("5/5", "100.00", "20", "20.00"),
        "tech_leadership": ("4/5", "75.00", "10", "7.50"),
        "payment_credit": ("3/5", "50.00", "15", "7.50"),
    }
    page = text(html)
    assert "Total score 90.00 / 100 Base 90.00, events 0.00" in page
    assert "Base: the weighted points together 90.00 Events (dynamic adjustment) 0.00 Total (0–100) 90.00" in page
    assert 'style="width: 75.0%"' in html  # the points bar of technology leadership
    assert "Incomplete" not in page


def test_score_tab_of_an_unrated_account_lists_what_is_missing(world, director):
    run(world.tenant)
    html = score_tab(client_in(director), world.y)
    assert breakdown(html)["industry_position"] == ("not rated", "0.00", "20", "0.00")
    assert (
        "Incomplete: not rated yet: Industry position, Technology leadership, Payment credit. "
        "Until rated they count the points set for a missing rating." in text(html)
    )


def test_why_plain_threshold_and_active_events(world, director):
    run(world.tenant)
    html = score_tab(client_in(director), world.z)
    # Z: 37.00 + 10 (major investment, 2026-06-01 + 180 days) = 47.00
    assert why(html) == ["Total 47.00 reaches B (45) but not A (65)."]
    page = text(html)
    assert "Major investment project +10.00 2026-06-01 until 2026-11-28" in page
    assert "Base 37.00, events +10.00" in page


def test_why_lowest_tier(world, director):
    # Y: 30.00 reaches no tier above C
    run(world.tenant)
    assert why(score_tab(client_in(director), world.y)) == ["Total 30.00 is below B (45), so C."]


def test_why_gates(world, director):
    tenant = world.tenant
    run(tenant)
    client = client_in(director)
    # X reaches S and A by score, but both need 10,000,000 of revenue
    assert why(score_tab(client, world.x)) == [
        "Total 90.00 reaches S (80), but revenue 6,000,000 is below the gates of S (10,000,000) and "
        "A (10,000,000), so B."
    ]
    # given a version where only S is gated
    draft = services.scorecard_create_draft(tenant, spec=draft_spec(A=("65", None)))
    services.scorecard_activate(tenant, scorecard=draft)
    run(tenant, D2)
    assert why(score_tab(client, world.x)) == [
        "Total 90.00 reaches S (80), but revenue 6,000,000 is below the S gate 10,000,000, so A."
    ]


def test_why_hysteresis(world, director):
    tenant = world.tenant
    run(tenant)  # Z computed B at 47.00
    # a competitor win of -3.5 on D2: 43.50 < 45 but >= 45 - 2
    account_services.event_create(
        tenant, account=world.z, kind="competitor_win", occurred_on=D2, impact_points=Decimal("-3.5")
    )
    run(tenant, D2)
    html = score_tab(client_in(director), world.z)
    assert why(html) == ["Kept at B by the 2-point hysteresis: total 43.50 is within 2 points of B (45)."]
    # and the history shows both snapshots, oldest first on the chart
    assert re.search(r'<polyline class="chart-line" points="34\.0,[\d.]+ 552\.0,[\d.]+"/>', html)
    assert "2026-07-01 43.50 B 2026-06-30 47.00 B" in text(
        re.search(r'class="table-wrap history-table">(.*?)</table>', html, re.S).group(1)
    )


def test_why_override(world, director):
    tenant = world.tenant
    services.tier_override_set(tenant, account=world.x, tier="A", reason="战略合作伙伴")
    run(tenant)
    html = score_tab(client_in(director), world.x)
    assert why(html) == [
        "Set to A by hand: 战略合作伙伴.",
        "Total 90.00 reaches S (80), but revenue 6,000,000 is below the gates of S (10,000,000) and "
        "A (10,000,000), so B.",
    ]
    assert "Set by hand; the scorecard gives B · Priority" in text(html)


def test_why_is_left_out_for_a_snapshot_from_before_runs_stored_it(world, director):
    tenant = world.tenant
    services.tier_override_set(tenant, account=world.x, tier="A", reason="战略合作伙伴")
    run(tenant)
    with tenant_context(tenant):  # as migration 0004 left the snapshots written before it
        AccountScore.objects.update(tier_reason=None, gated_tier="")
    client = client_in(director)
    # then no reason is made up for the computed tier; a tier set by hand still says why
    assert why(score_tab(client, world.x)) == ["Set to A by hand: 战略合作伙伴."]
    assert 'class="score-why"' not in score_tab(client, world.z)


def test_why_in_chinese(world, director):
    run(world.tenant)
    html = score_tab(client_in(director, "zh-hans"), world.z)
    assert why(html) == ["总分 47.00 达到 B（45），未达到 A（65）。"]
    assert "为什么是这个等级" in html


def test_manager_rates_their_account_and_it_is_rescored(world, manager, django_capture_on_commit_callbacks):
    tenant = world.tenant
    run(tenant)
    client = client_in(manager)
    # when the manager who owns X rates its technology leadership 5
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url("scoring-rate", account_id=world.x.pk),
            {"criterion": "tech_leadership", "value": "5", "comment": "新产线投产"},
            **HTMX,
        )
    # then the tab comes back with the notice, and the rating is kept
    assert response.status_code == 200
    assert "Saved; the score updates in a few seconds." in response.content.decode()
    with tenant_context(tenant):
        rating = Rating.objects.filter(account=world.x).first()
        rescore = ScoreRun.objects.get(account=world.x)
    assert (rating.criterion, rating.value, rating.comment, rating.rated_by) == (
        "tech_leadership",
        5,
        "新产线投产",
        manager,
    )
    # and X was rescored by a task after the commit: 10 points more on a 10 weight -> +2.50
    assert (rescore.trigger, rescore.status) == ("rating", RunStatus.DONE)
    html = score_tab(client, world.x)
    assert breakdown(html)["tech_leadership"] == ("5/5", "100.00", "10", "10.00")


def test_rating_errors_keep_the_tab(world, director):
    # when the criterion and the value are not among the choices, then the tab comes back with both errors
    response = client_in(director).post(
        url("scoring-rate", account_id=world.x.pk), {"criterion": "charisma", "value": "6"}, **HTMX
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Select a valid choice. charisma is not one of the available choices." in html
    assert "Select a valid choice. 6 is not one of the available choices." in html


def test_who_may_rate(world, role_users, django_capture_on_commit_callbacks):
    other = AccountFactory(tenant=world.tenant, name="别人的客户", owner=role_users["director"])
    own = AccountFactory(tenant=world.tenant, name="成员的客户", owner=role_users["member"])
    data = {"criterion": "industry_position", "value": "4"}
    # members and executives rate nothing; a manager only the accounts they own or serve on
    for role, account in (("member", own), ("executive", world.x), ("manager", other)):
        client = client_in(role_users[role])
        assert client.post(url("scoring-rate", account_id=account.pk), data).status_code == 403, role
        assert "Rate a qualitative criterion" not in score_tab(client, account), role
    # and an account the member cannot read is not there for them at all
    assert client_in(role_users["member"]).post(url("scoring-rate", account_id=world.x.pk), data).status_code == 404
    with tenant_context(world.tenant):
        assert Rating.objects.filter(account__in=[world.x, other, own]).count() == 3  # the fixture's
    # admins and directors rate any account
    with django_capture_on_commit_callbacks(execute=True):
        for role in ("admin", "director"):
            assert client_in(role_users[role]).post(url("scoring-rate", account_id=other.pk), data).status_code == 302


def test_director_sets_and_lifts_an_override(world, director, django_capture_on_commit_callbacks):
    tenant = world.tenant
    run(tenant)
    client = client_in(director)
    # when the director sets X to A until 2099
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url("scoring-override", account_id=world.x.pk),
            {"tier": "A", "reason": "战略合作伙伴", "expires_on": "2099-01-01"},
            **HTMX,
        )
    # then the tab shows the notice and the override
    assert response.status_code == 200
    page = text(response.content.decode())
    assert "Saved; the score updates in a few seconds." in page
    assert "A · Key set by" in page and "until 2099-01-01 战略合作伙伴 Lift override" in page
    with tenant_context(tenant):
        override = TierOverride.objects.get()
        world.x.refresh_from_db()
    assert (override.tier, override.reason, override.expires_on, override.set_by) == (
        "A",
        "战略合作伙伴",
        dt.date(2099, 1, 1),
        director,
    )
    # and X was rescored with the override
    assert world.x.tier == "A"
    # when the director lifts it
    with django_capture_on_commit_callbacks(execute=True):
        lifted = client.post(url("scoring-override-lift", account_id=world.x.pk), **HTMX)
    assert lifted.status_code == 200
    with tenant_context(tenant):
        override.refresh_from_db()
        world.x.refresh_from_db()
    assert override.lifted_at is not None
    assert world.x.tier == "B"


def test_override_needs_a_reason(world, director):
    # when the director sets a tier without a reason, then 400 and no override
    response = client_in(director).post(
        url("scoring-override", account_id=world.x.pk), {"tier": "S", "reason": ""}, **HTMX
    )
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    with tenant_context(world.tenant):
        assert TierOverride.objects.count() == 0


def test_only_directors_set_overrides(world, role_users):
    # given X, owned by the manager and also handed to the member
    with tenant_context(world.tenant):
        world.x.owner = role_users["member"]
        world.x.save()
    # when anyone but a director sets or lifts an override, then 403 and no form is offered
    for role in ("admin", "manager", "executive", "member"):
        client = client_in(role_users[role])
        data = {"tier": "S", "reason": "x"}
        assert client.post(url("scoring-override", account_id=world.x.pk), data).status_code == 403, role
        assert client.post(url("scoring-override-lift", account_id=world.x.pk)).status_code == 403, role
        assert "Set tier by hand" not in score_tab(client, world.x), role
    with tenant_context(world.tenant):
        assert TierOverride.objects.count() == 0


# --- pure helpers -------------------------------------------------------------------------------


def test_plain_number_and_raw_formats():
    assert [formats.plain_number(v) for v in ("65.00", "47.50", "6000000", "-0.2")] == [
        "65",
        "47.5",
        "6,000,000",
        "-0.2",
    ]
    assert formats.plain_number("6000000.00", grouping=False) == "6000000"
    assert formats.signed(Decimal("-3.5")) == "-3.50"
