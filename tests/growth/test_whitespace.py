"""The whitespace: the cells of an account (status with its precedence, revenue in 12 months,
the open opportunities of pipeline cells, the reasons of marks; hand-worked figures), the
account's tab (links, marking and undoing), the tenant-wide page (S and A accounts, the
wallet left first, filters, pages) and its export. Tenant isolation throughout."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from accounts.models import Account
from growth import metrics, services, whitespace
from growth.models import BuyingCentre, NotApplicable, Offering, Opportunity, OpportunityOffering, Stage
from kam.models import Tenant, User
from kam.tenancy import tenant_context, tenant_today
from tests import factories
from tests.conftest import login

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def url(name: str, tenant: Tenant, **kwargs: Any) -> str:
    return reverse(name, kwargs={"tenant_slug": tenant.slug, **kwargs})


def days_ago(tenant: Tenant, days: int) -> dt.date:
    return tenant_today(tenant) - dt.timedelta(days=days)


def order(tenant: Tenant, account: Account, days: int, amount: str, **kwargs: Any) -> None:
    factories.OrderFactory(
        tenant=tenant, account=account, order_date=days_ago(tenant, days), amount=Decimal(amount), **kwargs
    )


def opportunity(
    tenant: Tenant, account: Account, centre: BuyingCentre | None, offerings: list[Offering], stage: str
) -> Opportunity:
    with tenant_context(tenant):
        opp = Opportunity.objects.create(
            tenant=tenant,
            account=account,
            buying_centre=centre,
            title=f"{stage} deal",
            amount=Decimal("1000"),
            expected_close=days_ago(tenant, -30),
            stage=stage,
        )
        for offering in offerings:
            OpportunityOffering.objects.create(tenant=tenant, opportunity=opp, offering=offering)
        return opp


def refresh(tenant: Tenant) -> None:
    with tenant_context(tenant):
        metrics.account_figures_refresh(tenant)


@dataclass
class World:
    account: Account
    hq: BuyingCentre
    plant: BuyingCentre
    pump: Offering
    valve: Offering
    seal: Offering
    old: Offering
    open_opp: Opportunity
    b_account: Account
    x_centre: BuyingCentre
    d_centre: BuyingCentre


@pytest.fixture
def world(tenant: Tenant, other_tenant: Tenant, manager: User) -> World:
    """Account S (owned by the manager): HQ (primary, wallet 1,000,000) and PL (200,000);
    offerings PUMP, VALVE, SEAL active and OLD inactive; "Pumps" maps to PUMP.

    Orders: 30 days ago 100,000 "pumps " (no codes: PUMP by mapping, HQ as primary); 400 days
    ago 50,000 VALVE at PL; 800 days ago 9,000 SEAL at PL (older than 24 months); 10 days ago
    20,000 PUMP at PL; 5 days ago 7,000 OLD (inactive) at HQ; 20 days ago 3,000 "Unknown" (no
    offering) at HQ; 15 days ago 1,000 PUMP at a centre code the account does not have (-> HQ).
    An open opportunity at HQ for VALVE and PUMP; a lost one at HQ for SEAL; an open one
    without a centre for SEAL. Marks: HQ x SEAL "no seals used"; PL x VALVE (bought wins).

    Cells: HQ: PUMP bought 101,000; VALVE pipeline; SEAL not applicable.
           PL: PUMP bought 20,000; VALVE bought 0; SEAL open.
    Centre revenue (12 months): HQ 111,000; PL 20,000.

    Account B (tier A): centre X, wallet 50,000, nothing bought. Account C (tier B): centre,
    never listed. Account D (tier S): centre wallet 10,000, revenue 30,000 (wallet left 0).
    The other tenant: an S account with a huge wallet and an open cell, never listed.

    The tenant-wide page reads the centres' denormalised figures: both tenants are refreshed
    (growth.metrics.account_figures_refresh, as the nightly task does) after the orders."""
    account = factories.AccountFactory(tenant=tenant, name="A 华东精密", owner=manager, tier="S")
    pump = services.offering_create(tenant, code="PUMP", name_zh="泵", name_en="Pumps", position=1)
    valve = services.offering_create(tenant, code="VALVE", name_zh="阀门", name_en="Valves", position=2)
    seal = services.offering_create(tenant, code="SEAL", name_zh="密封", name_en="Seals", position=3)
    old = services.offering_create(tenant, code="OLD", name_zh="旧", name_en="Old", is_active=False)
    services.product_line_mapping_set(tenant, product_line="Pumps", offering=pump)
    hq = services.buying_centre_create(tenant, account=account, code="HQ", name="总部", annual_spend=1_000_000)
    plant = services.buying_centre_create(tenant, account=account, code="PL", name="工厂", annual_spend=200_000)
    order(tenant, account, 30, "100000", product_line="pumps ")
    order(tenant, account, 400, "50000", offering="VALVE", buying_centre="PL")
    order(tenant, account, 800, "9000", offering="SEAL", buying_centre="PL")
    order(tenant, account, 10, "20000", offering="PUMP", buying_centre="PL")
    order(tenant, account, 5, "7000", offering="OLD")
    order(tenant, account, 20, "3000", product_line="Unknown")
    order(tenant, account, 15, "1000", offering="PUMP", buying_centre="NOPE")
    open_opp = opportunity(tenant, account, hq, [valve, pump], Stage.PROPOSAL)
    opportunity(tenant, account, hq, [seal], Stage.LOST)
    opportunity(tenant, account, None, [seal], Stage.LEAD)
    services.not_applicable_mark(tenant, buying_centre=hq, offering=seal, reason="no seals used")
    services.not_applicable_mark(tenant, buying_centre=plant, offering=valve, reason="bought anyway")

    b_account = factories.AccountFactory(tenant=tenant, name="B 客户", tier="A")
    x_centre = services.buying_centre_create(tenant, account=b_account, code="X", name="X 部", annual_spend=50_000)
    c_account = factories.AccountFactory(tenant=tenant, name="C 客户", tier="B")
    services.buying_centre_create(tenant, account=c_account, code="C", name="C 部", annual_spend=9_000_000)
    d_account = factories.AccountFactory(tenant=tenant, name="D 客户", tier="S")
    d_centre = services.buying_centre_create(tenant, account=d_account, code="D", name="D 部", annual_spend=10_000)
    order(tenant, d_account, 50, "30000", offering="PUMP")

    theirs = factories.AccountFactory(tenant=other_tenant, name="Theirs 外部", tier="S")
    services.offering_create(other_tenant, code="PUMP", name_zh="泵", name_en="Pumps")
    services.buying_centre_create(other_tenant, account=theirs, code="T", name="Their centre", annual_spend=9_999_999)
    refresh(tenant)
    refresh(other_tenant)
    return World(account, hq, plant, pump, valve, seal, old, open_opp, b_account, x_centre, d_centre)


def statuses(tenant: Tenant, account: Account) -> dict[tuple[str, str], tuple[str, Decimal]]:
    with tenant_context(tenant):
        matrix = whitespace.account_matrix(tenant, account)
    codes = {offering.pk: offering.code for offering in matrix.offerings}
    names = {centre.pk: centre.code for centre in matrix.centres}
    return {(names[c], codes[o]): (cell.status, cell.revenue_12m) for (c, o), cell in matrix.cells.items()}


def test_account_cells(tenant: Tenant, world: World) -> None:
    assert statuses(tenant, world.account) == {
        ("HQ", "PUMP"): ("bought", Decimal("101000.00")),
        ("HQ", "VALVE"): ("pipeline", Decimal("0.00")),
        ("HQ", "SEAL"): ("not_applicable", Decimal("0.00")),
        ("PL", "PUMP"): ("bought", Decimal("20000.00")),
        ("PL", "VALVE"): ("bought", Decimal("0.00")),
        ("PL", "SEAL"): ("open", Decimal("0.00")),
    }
    with tenant_context(tenant):
        matrix = whitespace.account_matrix(tenant, world.account)
    assert [centre.code for centre in matrix.centres] == ["HQ", "PL"]
    assert [offering.code for offering in matrix.offerings] == ["PUMP", "VALVE", "SEAL"]
    valve = matrix.cell(world.hq.pk, world.valve.pk)
    assert valve.opportunity_ids == [world.open_opp.pk] and valve.reason == ""
    assert matrix.cell(world.hq.pk, world.seal.pk).reason == "no seals used"
    assert matrix.cell(world.hq.pk, world.pump.pk).opportunity_ids == []  # bought wins over pipeline
    assert matrix.cell(world.plant.pk, world.valve.pk).reason == ""  # bought wins over the mark
    assert matrix.counts() == {"bought": 3, "pipeline": 1, "not_applicable": 1, "open": 1}


def test_a_closed_opportunity_frees_the_cell_and_an_undone_mark_opens_it(tenant: Tenant, world: World) -> None:
    with tenant_context(tenant):
        Opportunity.objects.filter(pk=world.open_opp.pk).update(stage=Stage.WON)
    services.not_applicable_unmark(tenant, buying_centre=world.hq, offering=world.seal)
    cells = statuses(tenant, world.account)
    assert cells[("HQ", "VALVE")] == ("open", Decimal("0.00"))
    assert cells[("HQ", "SEAL")] == ("open", Decimal("0.00"))


def test_the_24_month_window(tenant: Tenant, world: World) -> None:
    """(D-730, D]: an order 730 days ago is out, 729 days ago is in; one dated tomorrow is out."""
    order(tenant, world.account, 730, "10", offering="SEAL", buying_centre="PL")
    order(tenant, world.account, -1, "10", offering="SEAL", buying_centre="PL")
    assert statuses(tenant, world.account)[("PL", "SEAL")][0] == "open"
    order(tenant, world.account, 729, "10", offering="SEAL", buying_centre="PL")
    assert statuses(tenant, world.account)[("PL", "SEAL")] == ("bought", Decimal("0.00"))
    order(tenant, world.account, 365, "10", offering="SEAL", buying_centre="PL")
    assert statuses(tenant, world.account)[("PL", "SEAL")] == ("bought", Decimal("0.00"))
    order(tenant, world.account, 364, "10", offering="SEAL", buying_centre="PL")
    assert statuses(tenant, world.account)[("PL", "SEAL")] == ("bought", Decimal("10.00"))


def test_no_centres_or_no_offerings(tenant: Tenant) -> None:
    account = factories.AccountFactory(tenant=tenant)
    with tenant_context(tenant):
        assert whitespace.account_matrix(tenant, account).cells == {}
    services.buying_centre_create(tenant, account=account, code="HQ", name="HQ")
    with tenant_context(tenant):
        matrix = whitespace.account_matrix(tenant, account)
    assert matrix.rows and matrix.cells == {} and matrix.offerings == []


# --- the tab -------------------------------------------------------------------------------------


def tab(client: Any, tenant: Tenant, account: Account) -> Any:
    return client.get(url("growth-account-whitespace", tenant, account_id=account.pk), HTTP_HX_REQUEST="true", **EN)


def test_tab_shows_the_matrix_with_its_links(tenant: Tenant, world: World, manager: User) -> None:
    response = tab(login(manager), tenant, world.account)
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('data-status="open"') == 1 and page.count('data-status="bought"') == 3
    assert "no seals used" in page and "101,000" in page
    assert "?tab=orders" in page  # a bought cell opens the account's orders
    assert "Add buying centre" in page and "Undo" in page and 'name="reason"' in page
    try:
        opp_url = reverse(
            "growth-opportunity", kwargs={"tenant_slug": tenant.slug, "opportunity_id": world.open_opp.pk}
        )
    except Exception:  # the pipeline helper's page is not there yet
        opp_url = None
    if opp_url:
        assert opp_url in page


def test_tab_plain_visit_goes_to_the_account_page(tenant: Tenant, world: World, manager: User) -> None:
    response = login(manager).get(url("growth-account-whitespace", tenant, account_id=world.account.pk))
    assert response.status_code == 302 and "tab=whitespace" in response["Location"]
    page = login(manager).get(response["Location"], **EN)
    assert page.status_code == 200 and "ws-matrix" in page.content.decode()


def test_readers_see_without_actions(tenant: Tenant, world: World, executive: User, member: User) -> None:
    page = tab(login(executive), tenant, world.account).content.decode()
    assert "ws-matrix" in page and 'name="reason"' not in page and "Add buying centre" not in page
    assert tab(login(member), tenant, world.account).status_code == 404  # not theirs to read


def test_mark_and_undo_through_the_tab(tenant: Tenant, world: World, manager: User) -> None:
    client = login(manager)
    mark_url = url("growth-whitespace-mark", tenant, account_id=world.account.pk)
    data = {"centre": world.plant.pk, "offering": world.seal.pk, "reason": ""}
    response = client.post(mark_url, data, HTTP_HX_REQUEST="true", **EN)
    assert response.status_code == 400
    with tenant_context(tenant):
        assert not NotApplicable.objects.filter(buying_centre=world.plant, offering=world.seal).exists()
    response = client.post(mark_url, {**data, "reason": "they make their own"}, HTTP_HX_REQUEST="true", **EN)
    assert response.status_code == 200 and "they make their own" in response.content.decode()
    assert statuses(tenant, world.account)[("PL", "SEAL")][0] == "not_applicable"
    unmark_url = url("growth-whitespace-unmark", tenant, account_id=world.account.pk)
    response = client.post(unmark_url, {"centre": world.plant.pk, "offering": world.seal.pk})
    assert response.status_code == 302
    assert statuses(tenant, world.account)[("PL", "SEAL")][0] == "open"


def test_marking_permissions_and_isolation(
    tenant: Tenant, other_tenant: Tenant, world: World, executive: User, admin: User
) -> None:
    mark_url = url("growth-whitespace-mark", tenant, account_id=world.account.pk)
    data = {"centre": world.plant.pk, "offering": world.seal.pk, "reason": "x"}
    assert login(executive).post(mark_url, data).status_code == 403
    client = login(admin)
    theirs_account = factories.AccountFactory(tenant=other_tenant)
    theirs_centre = services.buying_centre_create(other_tenant, account=theirs_account, code="T", name="T")
    theirs_offering = services.offering_create(other_tenant, code="T", name_zh="t", name_en="t")
    for bad in (
        {"centre": theirs_centre.pk},
        {"offering": theirs_offering.pk},
        {"centre": world.x_centre.pk},  # another account's centre
        {"centre": "abc"},
    ):
        assert client.post(mark_url, {**data, **bad}).status_code == 404
    other_mark = url("growth-whitespace-mark", tenant, account_id=theirs_account.pk)
    assert client.post(other_mark, {**data, "centre": theirs_centre.pk}).status_code == 404
    with tenant_context(tenant):
        assert NotApplicable.objects.count() == 2
    with tenant_context(other_tenant):
        assert not NotApplicable.objects.exists()
    # undo of another tenant's mark
    services.not_applicable_mark(other_tenant, buying_centre=theirs_centre, offering=theirs_offering, reason="r")
    unmark_url = url("growth-whitespace-unmark", tenant, account_id=world.account.pk)
    response = client.post(unmark_url, {"centre": theirs_centre.pk, "offering": theirs_offering.pk})
    assert response.status_code == 404
    with tenant_context(other_tenant):
        assert NotApplicable.objects.count() == 1
    assert tab(client, tenant, theirs_account).status_code == 404


# --- the tenant-wide page ----------------------------------------------------------------------------


def page_rows(tenant: Tenant, **kwargs: Any) -> list[tuple[str, str, Decimal, Decimal, list[str]]]:
    with tenant_context(tenant):
        page = whitespace.open_cells_page(tenant, **kwargs)
    return [
        (row.centre_code, row.tier, row.revenue_12m, row.wallet_left, [o.code for o in row.offerings])
        for row in page.rows
    ]


def test_open_cells_sorted_by_wallet_left(tenant: Tenant, world: World) -> None:
    assert page_rows(tenant) == [
        ("PL", "S", Decimal("20000.00"), Decimal("180000.00"), ["SEAL"]),
        ("X", "A", Decimal("0.00"), Decimal("50000.00"), ["PUMP", "VALVE", "SEAL"]),
        ("D", "S", Decimal("30000.00"), Decimal("0.00"), ["VALVE", "SEAL"]),
    ]
    services.not_applicable_unmark(tenant, buying_centre=world.hq, offering=world.seal)
    # HQ: 1,000,000 - (100,000 + 1,000 + 7,000 + 3,000): every order of the centre counts
    assert page_rows(tenant)[0] == ("HQ", "S", Decimal("111000.00"), Decimal("889000.00"), ["SEAL"])


def test_filters_and_pages(tenant: Tenant, world: World) -> None:
    assert [row[0] for row in page_rows(tenant, tiers=["A"])] == ["X"]
    assert [row[0] for row in page_rows(tenant, tiers=["B"])] == ["PL", "X", "D"]  # B is not offered: S and A
    assert [(row[0], row[4]) for row in page_rows(tenant, offering_id=world.pump.pk)] == [("X", ["PUMP"])]
    assert page_rows(tenant, offering_id=world.old.pk) == []
    with tenant_context(tenant):
        first = whitespace.open_cells_page(tenant, page=1, page_size=2)
        second = whitespace.open_cells_page(tenant, page=2, page_size=2)
        beyond = whitespace.open_cells_page(tenant, page=9, page_size=2)
    assert (first.total, first.num_pages, first.has_next) == (3, 2, True)
    assert [row.centre_code for row in second.rows] == ["D"] and not second.has_next
    assert beyond.number == 1 and [row.centre_code for row in beyond.rows] == ["PL", "X"]
    assert [row[0] for row in page_rows(tenant, account_ids=[world.b_account.pk])] == ["X"]


def test_page_for_roles_and_members(tenant: Tenant, world: World, manager: User, member: User) -> None:
    response = login(manager).get(url("growth-whitespace", tenant), **EN)
    assert response.status_code == 200
    page = response.content.decode()
    assert "工厂" in page and "X 部" in page and "Their centre" not in page and "C 部" not in page
    assert "180,000" in page
    response = login(manager).get(url("growth-whitespace", tenant), {"tier": "A", "offering": "junk"}, **EN)
    assert response.status_code == 200 and "X 部" in response.content.decode()
    assert "工厂" not in response.content.decode()
    # a member reads the accounts they own or serve on only
    with tenant_context(tenant):
        Account.objects.filter(pk=world.b_account.pk).update(owner=member)
    page = login(member).get(url("growth-whitespace", tenant), **EN).content.decode()
    assert "X 部" in page and "工厂" not in page


def test_export_csv_and_xlsx(tenant: Tenant, world: World, manager: User, outsider: User) -> None:
    client = login(manager)
    response = client.get(url("growth-whitespace-export", tenant), {"format": "csv"}, **EN)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0].startswith("Account,Tier,Buying centre code")
    assert len(lines) == 4 and lines[1].startswith("A 华东精密,S,PL,工厂,200000.00,20000.00,180000.00,SEAL")
    assert "Their centre" not in text and "C 部" not in text
    response = client.get(url("growth-whitespace-export", tenant), {"format": "xlsx", "tier": "A"})
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert len(values) == 2 and values[1][2] == "X" and values[1][6] == 50000
    assert values[1][7] == "PUMP, VALVE, SEAL"
    # the other tenant's admin exports their own tenant: nothing of ours
    their_export = login(outsider).get(url("growth-whitespace-export", world.account.tenant), {"format": "csv"})
    assert their_export.status_code == 404


def test_export_of_the_other_tenant_never_has_ours(other_tenant: Tenant, world: World, outsider: User) -> None:
    response = login(outsider).get(
        reverse("growth-whitespace-export", kwargs={"tenant_slug": other_tenant.slug}), {"format": "csv"}
    )
    text = response.content.decode("utf-8-sig")
    assert "Their centre" in text
    assert "工厂" not in text and "X 部" not in text


def test_formula_cells_are_neutralised(tenant: Tenant, manager: User) -> None:
    account = factories.AccountFactory(tenant=tenant, name="=HYPERLINK(1)", tier="S", owner=manager)
    services.offering_create(tenant, code="PUMP", name_zh="泵", name_en="Pumps")
    services.buying_centre_create(tenant, account=account, code="HQ", name="+cmd", annual_spend=1)
    text = login(manager).get(url("growth-whitespace-export", tenant)).content.decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in text and "'+cmd" in text


def test_pages_render_in_chinese(tenant: Tenant, world: World, manager: User, admin: User) -> None:
    zh = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
    client = login(manager)
    assert client.get(url("growth-whitespace", tenant), **zh).status_code == 200
    account_page = client.get(
        reverse("accounts-detail", kwargs={"tenant_slug": tenant.slug, "account_id": world.account.pk}),
        {"tab": "whitespace"},
        **zh,
    )
    assert account_page.status_code == 200 and "ws-matrix" in account_page.content.decode()
    assert login(admin).get(url("growth-offerings", tenant), **zh).status_code == 200


# --- the centres' denormalised figures (growth.metrics.account_figures_refresh) ----------------------


def centre_figures(tenant: Tenant) -> dict[str, tuple[Decimal | None, list[int] | None, dt.date | None]]:
    with tenant_context(tenant):
        return {
            centre.code: (centre.revenue_12m, centre.bought_offerings, centre.figures_as_of)
            for centre in BuyingCentre.objects.all()
        }


def test_centre_figures_by_hand(tenant: Tenant, other_tenant: Tenant, world: World) -> None:
    today = tenant_today(tenant)
    figures = centre_figures(tenant)
    # HQ (primary): 100,000 "pumps " by mapping + 7,000 OLD + 3,000 no offering + 1,000 PUMP at
    # a code the account does not have; bought PUMP and OLD (inactive offerings count too)
    assert figures["HQ"] == (Decimal("111000.00"), sorted([world.pump.pk, world.old.pk]), today)
    # PL: 20,000 PUMP in 12 months; VALVE 400 days ago is bought (24 months) but not revenue;
    # SEAL 800 days ago is neither
    assert figures["PL"] == (Decimal("20000.00"), sorted([world.pump.pk, world.valve.pk]), today)
    assert figures["X"] == (Decimal("0.00"), [], today)
    # D: its order names no centre, so it counts for the account's primary (only) centre
    assert figures["D"] == (Decimal("30000.00"), [world.pump.pk], today)
    assert centre_figures(other_tenant)["T"] == (Decimal("0.00"), [], tenant_today(other_tenant))


def test_centre_figures_window_edges_and_mapping(tenant: Tenant) -> None:
    account = factories.AccountFactory(tenant=tenant, name="Edges", tier="S")
    offerings = {
        code: services.offering_create(tenant, code=code, name_zh=code, name_en=code)
        for code in ("IN12", "OUT12", "IN24", "OUT24", "MAPPED", "NAMED")
    }
    services.product_line_mapping_set(tenant, product_line="Mapped line", offering=offerings["MAPPED"])
    main = services.buying_centre_create(tenant, account=account, code="MAIN", name="Main", annual_spend=1000)
    side = services.buying_centre_create(tenant, account=account, code="SIDE", name="Side", annual_spend=1000)
    order(tenant, account, 364, "1.10", offering="IN12", buying_centre="SIDE")  # D-364: in 12 months
    order(tenant, account, 365, "2.20", offering="OUT12", buying_centre="SIDE")  # D-365: out of 12, in 24
    order(tenant, account, 729, "4.40", offering="IN24", buying_centre="SIDE")  # D-729: in 24 months
    order(tenant, account, 730, "8.80", offering="OUT24", buying_centre="SIDE")  # D-730: out of 24
    order(tenant, account, -1, "16.00", offering="IN12", buying_centre="SIDE")  # tomorrow: not yet
    order(tenant, account, 0, "32.00", product_line=" MAPPED LINE")  # by mapping, primary centre
    # a named offering wins over the product line's mapping
    order(tenant, account, 1, "64.00", offering="NAMED", product_line="Mapped line", buying_centre="MAIN")
    refresh(tenant)
    ids = {code: offering.pk for code, offering in offerings.items()}
    today = tenant_today(tenant)
    figures = centre_figures(tenant)
    assert figures["SIDE"] == (Decimal("1.10"), sorted([ids["IN12"], ids["OUT12"], ids["IN24"]]), today)
    assert figures["MAIN"] == (Decimal("96.00"), sorted([ids["MAPPED"], ids["NAMED"]]), today)
    assert main.is_primary and not side.is_primary
    # the page: wallet left = 1,000 - revenue; MAIN's and SIDE's bought offerings are not open
    rows = {row[0]: row for row in page_rows(tenant)}
    assert rows["MAIN"][3] == Decimal("904.00")
    assert set(rows["MAIN"][4]) == {"IN12", "OUT12", "IN24", "OUT24"}
    assert set(rows["SIDE"][4]) == {"OUT24", "MAPPED", "NAMED"}
    # a later order counts only after the next refresh (nightly), then the figures move
    order(tenant, account, 2, "100.00", offering="OUT24", buying_centre="SIDE")
    assert "OUT24" in {row[0]: row for row in page_rows(tenant)}["SIDE"][4]
    refresh(tenant)
    assert centre_figures(tenant)["SIDE"][:2] == (
        Decimal("101.10"),
        sorted([ids["IN12"], ids["OUT12"], ids["IN24"], ids["OUT24"]]),
    )


def test_refresh_of_some_accounts_and_unchanged_rows(tenant: Tenant, world: World) -> None:
    with tenant_context(tenant):
        BuyingCentre.objects.update(revenue_12m=None, bought_offerings=None, figures_as_of=None)
        metrics.account_figures_refresh(tenant, account_ids=[world.b_account.pk])
    figures = centre_figures(tenant)
    assert figures["X"] == (Decimal("0.00"), [], tenant_today(tenant))
    assert figures["HQ"] == figures["PL"] == figures["D"] == (None, None, None)

    def versions() -> dict[int, str]:
        from django.db import connection

        # a row written again is a new tuple: another ctid
        with tenant_context(tenant), connection.cursor() as cursor:
            cursor.execute("SELECT id, ctid::text FROM growth_buyingcentre WHERE tenant_id = %s", [tenant.pk])
            return dict(cursor.fetchall())

    refresh(tenant)
    before = versions()
    assert len(before) == 5  # HQ, PL, X, C, D
    refresh(tenant)  # nothing changed: no centre is written again
    assert versions() == before
    # a new day rewrites the date only
    with tenant_context(tenant):
        metrics.account_figures_refresh(tenant, as_of=tenant_today(tenant) + dt.timedelta(days=1))
    assert versions() != before


def test_page_before_any_refresh(tenant: Tenant, world: World, manager: User) -> None:
    with tenant_context(tenant):
        BuyingCentre.objects.update(revenue_12m=None, bought_offerings=None, figures_as_of=None)
    # not computed: every offering open less the pipeline and the marks, revenue 0
    assert page_rows(tenant) == [
        ("PL", "S", Decimal("0.00"), Decimal("200000.00"), ["PUMP", "SEAL"]),
        ("X", "A", Decimal("0.00"), Decimal("50000.00"), ["PUMP", "VALVE", "SEAL"]),
        ("D", "S", Decimal("0.00"), Decimal("10000.00"), ["PUMP", "VALVE", "SEAL"]),
    ]
    with tenant_context(tenant):
        page = whitespace.open_cells_page(tenant)
    assert (page.figures_as_of, page.not_computed) == (None, 4)
    assert not any(row.computed for row in page.rows)
    html = login(manager).get(url("growth-whitespace", tenant), **EN).content.decode()
    assert "Figures not computed yet" in html and "Figures as of" not in html

    # one account refreshed a day ago, the others not yet: the oldest date and the count
    yesterday = tenant_today(tenant) - dt.timedelta(days=1)
    with tenant_context(tenant):
        metrics.account_figures_refresh(tenant, as_of=yesterday, account_ids=[world.b_account.pk])
        page = whitespace.open_cells_page(tenant)
    assert (page.figures_as_of, page.not_computed) == (yesterday, 3)
    html = login(manager).get(url("growth-whitespace", tenant), **EN).content.decode()
    assert f"Figures as of {yesterday:%Y-%m-%d}" in html and "3 buying centres are not computed yet" in html

    refresh(tenant)
    with tenant_context(tenant):
        page = whitespace.open_cells_page(tenant)
    assert (page.figures_as_of, page.not_computed) == (tenant_today(tenant), 0)
    html = login(manager).get(url("growth-whitespace", tenant), **EN).content.decode()
    assert f"Figures as of {tenant_today(tenant):%Y-%m-%d}" in html and "not computed yet" not in html
    zh = login(manager).get(url("growth-whitespace", tenant), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert zh.status_code == 200 and "ws-freshness" in zh.content.decode()


def test_empty_page_still_dates_its_figures(tenant: Tenant, world: World) -> None:
    with tenant_context(tenant):
        page = whitespace.open_cells_page(tenant, offering_id=world.old.pk)
    assert page.rows == [] and (page.figures_as_of, page.not_computed) == (tenant_today(tenant), 0)


def test_page_and_export_isolated_by_tenant(
    tenant: Tenant, other_tenant: Tenant, world: World, manager: User, outsider: User
) -> None:
    # their centre is not computed (cleared), ours are: neither side sees the other's figures
    with tenant_context(other_tenant):
        BuyingCentre.objects.update(revenue_12m=None, bought_offerings=None, figures_as_of=None)
        theirs = whitespace.open_cells_page(other_tenant)
    assert [row.centre_code for row in theirs.rows] == ["T"]
    assert (theirs.figures_as_of, theirs.not_computed) == (None, 1)
    with tenant_context(tenant):
        ours = whitespace.open_cells_page(tenant)
    assert (ours.figures_as_of, ours.not_computed) == (tenant_today(tenant), 0)
    assert "T" not in [row.centre_code for row in ours.rows]
    # refreshing ours leaves theirs alone
    refresh(tenant)
    assert centre_figures(other_tenant)["T"] == (None, None, None)

    their_page = login(outsider).get(url("growth-whitespace", other_tenant), **EN).content.decode()
    assert "Their centre" in their_page and "Figures not computed yet" in their_page
    assert "工厂" not in their_page and "X 部" not in their_page
    our_page = login(manager).get(url("growth-whitespace", tenant), **EN).content.decode()
    assert "Their centre" not in our_page and "not computed yet" not in our_page
    assert login(outsider).get(url("growth-whitespace", tenant), **EN).status_code == 404
    assert login(manager).get(url("growth-whitespace-export", other_tenant)).status_code == 404
    their_export = login(outsider).get(url("growth-whitespace-export", other_tenant), {"format": "csv"})
    text = their_export.content.decode("utf-8-sig")
    assert "Their centre" in text and "工厂" not in text and "D 部" not in text
