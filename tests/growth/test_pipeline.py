# ruff: noqa: F811  (the fixtures imported from test_opportunities are redefined as arguments)
"""The opportunity pages: the pipeline board and table (figures, filters, a cost that does not
grow with the pipeline), moving a stage by the card's select (without JavaScript) and by htmx,
the opportunity page, create (prefilled from the query), edit (stale version), delete with its
confirmation, the account's tab, needs and initiatives made opportunities; both languages;
another tenant's rows are 404 and never shown."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from growth.models import Opportunity, Stage
from kam.tenancy import tenant_context
from service import services as service_services
from teams.models import AccountPlan, Initiative
from tests.conftest import login
from tests.growth.test_opportunities import growth, make_opportunity  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def url(name: str, **kwargs: object) -> str:
    from django.urls import reverse

    return reverse(name, kwargs={"tenant_slug": "acme", **kwargs})


def test_the_board_shows_each_stage_with_count_amount_and_weighted_sum(tenant, growth, make_opportunity, manager):
    make_opportunity(title="甲", amount=Decimal("1000"), stage=Stage.PROPOSAL)
    make_opportunity(title="乙", amount=Decimal("3000"), stage=Stage.PROPOSAL)
    make_opportunity(title="丙", amount=Decimal("500"), stage=Stage.WON)
    response = login(manager).get(url("growth-pipeline"), **EN)
    assert response.status_code == 200
    html = response.content.decode()
    assert "甲" in html and "乙" in html and "丙" in html
    board = response.context["board"]
    proposal = next(column for column in board.columns if column.stage == "proposal")
    assert (proposal.count, proposal.amount, proposal.weighted) == (2, Decimal("4000.00"), Decimal("2800.00"))
    assert "Negotiation" in html and "Weighted" in html
    assert 'draggable="true"' in html and "pipeline.js" in html


def test_the_board_in_chinese(tenant, growth, make_opportunity, manager):
    make_opportunity()
    response = login(manager).get(url("growth-pipeline"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    assert "二期产线自动化改造" in response.content.decode()


def test_the_board_and_the_table_cost_the_same_whatever_the_pipeline(tenant, growth, make_opportunity, manager):
    client = login(manager)
    for stage in Stage.values:  # a card in every column
        make_opportunity(stage=stage, offerings=[growth.plc])
    client.get(url("growth-pipeline"))  # warm the session
    with CaptureQueriesContext(connection) as few:
        client.get(url("growth-pipeline"))
    with CaptureQueriesContext(connection) as few_table:
        client.get(url("growth-pipeline") + "?view=table")
    for index in range(35):
        make_opportunity(
            title=f"机会 {index}",
            stage=Stage.values[index % 7],
            offerings=[growth.plc, growth.servo],
            owner=manager,
            account=growth.second if index % 2 else growth.account,
        )
    with CaptureQueriesContext(connection) as many:
        response = client.get(url("growth-pipeline"))
    with CaptureQueriesContext(connection) as many_table:
        table = client.get(url("growth-pipeline") + "?view=table")
    assert response.status_code == 200 and table.status_code == 200
    assert sum(len(column.cards) for column in response.context["board"].columns) == 42
    assert len(many) == len(few)
    assert len(many_table) == len(few_table)


def test_a_column_shows_the_first_cards_and_a_more_link(tenant, growth, make_opportunity, manager, monkeypatch):
    from growth.views import opportunities as views

    monkeypatch.setattr(views, "PER_COLUMN", 2)
    for day in (5, 1, 3):
        make_opportunity(title=f"第{day}天", expected_close=dt.date(2027, 1, day))
    html = login(manager).get(url("growth-pipeline"), **EN).content.decode()
    assert "第1天" in html and "第3天" in html and "第5天" not in html
    assert "1 more" in html and "view=table&amp;stage=lead" in html


def test_filters_by_owner_tier_offering_and_month(tenant, growth, make_opportunity, manager, admin):
    make_opportunity(title="甲", offerings=[growth.plc], expected_close=dt.date(2027, 2, 10))
    make_opportunity(title="乙", account=growth.second, owner=admin, expected_close=dt.date(2027, 3, 1))
    client = login(manager)

    def titles(query: str) -> set[str]:
        response = client.get(url("growth-pipeline") + "?view=table&" + query)
        assert response.status_code == 200
        return {row.title for row in response.context["rows"]}

    assert titles("") == {"甲", "乙"}
    assert titles("owner=me") == {"甲"}
    assert titles(f"owner={admin.pk}") == {"乙"}
    assert titles("tier=B") == {"乙"}
    assert titles(f"offering={growth.plc.pk}") == {"甲"}
    assert titles("month=2027-03") == {"乙"}
    assert titles("month=garbage&owner=x&tier=Z&offering=abc") == {"甲", "乙"}  # ignored, never a 500


def test_move_by_the_cards_select_without_javascript(tenant, growth, make_opportunity, manager):
    opportunity = make_opportunity()
    response = login(manager).post(
        url("growth-opportunity-move", opportunity_id=opportunity.pk),
        {"stage": "won", "next": url("growth-pipeline") + "?tier=A"},
        **EN,
    )
    assert response.status_code == 302 and response["Location"].endswith("?tier=A")
    with tenant_context(tenant):
        fresh = Opportunity.objects.get(pk=opportunity.pk)
        assert fresh.stage == "won" and fresh.closed_on is not None


def test_move_by_htmx_answers_the_board_and_a_bad_stage_writes_nothing(tenant, growth, make_opportunity, manager):
    opportunity = make_opportunity()
    client = login(manager)
    move = url("growth-opportunity-move", opportunity_id=opportunity.pk)
    response = client.post(
        move, {"stage": "proposal", "from": "board", "query": "tier=A"}, HTTP_HX_REQUEST="true", **EN
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="pipeline-board"' in html and "is now at Proposal" in html
    bad = client.post(move, {"stage": "bogus", "from": "board"}, HTTP_HX_REQUEST="true", **EN)
    assert bad.status_code == 400 and "Unknown stage" in bad.content.decode()
    stale = client.post(move, {"stage": "won", "from": "board", "version": "1"}, HTTP_HX_REQUEST="true", **EN)
    assert stale.status_code == 400 and "Someone else saved" in stale.content.decode()
    with tenant_context(tenant):
        assert Opportunity.objects.get(pk=opportunity.pk).stage == "proposal"


def test_who_may_move(tenant, other_tenant, growth, make_opportunity, executive, member, outsider):
    opportunity = make_opportunity()
    move = url("growth-opportunity-move", opportunity_id=opportunity.pk)
    assert login(executive).post(move, {"stage": "won"}).status_code == 403
    assert login(member).post(move, {"stage": "won"}).status_code == 404  # not an account they read
    assert login(outsider).post(move, {"stage": "won"}).status_code == 404
    with tenant_context(tenant):
        assert Opportunity.objects.get(pk=opportunity.pk).stage == "lead"


def test_another_tenants_opportunity_is_404_and_not_on_the_board(
    tenant, other_tenant, growth, make_opportunity, manager
):
    foreign = make_opportunity(on=other_tenant, account=growth.foreign_account, owner=None, title="别家的机会")
    client = login(manager)
    for name in ("growth-opportunity", "growth-opportunity-edit", "growth-opportunity-delete"):
        assert client.get(url(name, opportunity_id=foreign.pk)).status_code == 404
    assert client.post(url("growth-opportunity-move", opportunity_id=foreign.pk), {"stage": "won"}).status_code == 404
    for query in ("", "?view=table"):
        assert "别家的机会" not in client.get(url("growth-pipeline") + query).content.decode()
    assert client.get(url("growth-account-opportunities", account_id=growth.foreign_account.pk)).status_code == 404


def test_the_opportunity_page(tenant, growth, make_opportunity, manager):
    opportunity = make_opportunity(buying_centre=growth.centre, offerings=[growth.plc])
    html = login(manager).get(url("growth-opportunity", opportunity_id=opportunity.pk), **EN).content.decode()
    assert "二期产线自动化改造" in html and "采购中心 BU1" in html and "PLC" in html and "10,000.00" in html


def test_create_prefilled_from_the_query_then_saved(tenant, growth, manager):
    client = login(manager)
    query = f"?account={growth.account.pk}&buying_centre={growth.centre.pk}&offering={growth.plc.pk}"
    form = client.get(url("growth-opportunity-create") + query, **EN).context["form"]
    assert form.initial["account"] == growth.account.pk and form.initial["buying_centre"] == growth.centre.pk
    assert form.initial["offerings"] == [growth.plc.pk]
    response = client.post(
        url("growth-opportunity-create"),
        {
            "account": growth.account.pk,
            "buying_centre": growth.centre.pk,
            "offerings": [growth.plc.pk],
            "title": "新机会",
            "amount": "1200",
            "expected_close": "2027-05-01",
            "owner": manager.pk,
            "stage": "qualified",
        },
    )
    assert response.status_code == 302
    with tenant_context(tenant):
        created = Opportunity.objects.get()
        assert (created.title, created.stage, created.buying_centre_id) == ("新机会", "qualified", growth.centre.pk)
        assert response["Location"].endswith(f"/opportunities/{created.pk}/")


def test_the_forms_centre_options_follow_the_account(tenant, growth, manager, member):
    options = url("growth-opportunity-centres")
    html = login(manager).get(options, {"account": growth.account.pk}, HTTP_HX_REQUEST="true").content.decode()
    assert f'value="{growth.centre.pk}"' in html and f'value="{growth.second_centre.pk}"' not in html
    foreign = login(manager).get(options, {"account": growth.foreign_account.pk}).content.decode()
    assert f'value="{growth.foreign_centre.pk}"' not in foreign
    # a member who does not read the account gets no centre of it
    assert (
        f'value="{growth.centre.pk}"' not in login(member).get(options, {"account": growth.account.pk}).content.decode()
    )
    assert login(manager).get(options, {"account": "junk"}).status_code == 200


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"amount": "-5"}, "The amount cannot be negative."),
        ({"expected_close": "1900-01-01"}, "Enter an expected close between"),
        ({"stage": "bogus"}, "Select a valid choice"),
    ],
)
def test_create_with_bad_input_shows_the_error_and_writes_nothing(tenant, growth, manager, change, message):
    body = {"account": growth.account.pk, "title": "x", "amount": "1", "expected_close": "2027-01-01", "stage": "lead"}
    response = login(manager).post(url("growth-opportunity-create"), {**body, **change}, **EN)
    assert response.status_code == 400
    assert message in response.content.decode()
    with tenant_context(tenant):
        assert not Opportunity.objects.exists()


def test_create_with_a_centre_of_another_account_is_refused(tenant, growth, manager):
    body = {
        "account": growth.account.pk,
        "buying_centre": growth.second_centre.pk,
        "title": "x",
        "amount": "1",
        "expected_close": "2027-01-01",
        "stage": "lead",
    }
    response = login(manager).post(url("growth-opportunity-create"), body, **EN)
    assert response.status_code == 400 and "Choose a buying centre of this account." in response.content.decode()
    foreign = login(manager).post(url("growth-opportunity-create"), {**body, "buying_centre": growth.foreign_centre.pk})
    assert foreign.status_code == 400
    with tenant_context(tenant):
        assert not Opportunity.objects.exists()


def test_edit_over_a_newer_version_is_refused(tenant, growth, make_opportunity, manager):
    opportunity = make_opportunity()
    client = login(manager)
    edit = url("growth-opportunity-edit", opportunity_id=opportunity.pk)
    form = client.get(edit).context["form"]
    assert form.initial["version"] == 1
    body = {
        "account": growth.account.pk,
        "title": "改过的",
        "amount": "5",
        "expected_close": "2027-01-01",
        "stage": "lead",
        "version": "1",
    }
    assert client.post(edit, body).status_code == 302
    stale = client.post(edit, {**body, "title": "又改了"}, **EN)
    assert stale.status_code == 400 and "Someone else saved this opportunity" in stale.content.decode()
    with tenant_context(tenant):
        assert Opportunity.objects.get(pk=opportunity.pk).title == "改过的"


def test_delete_asks_then_deletes(tenant, growth, make_opportunity, manager):
    opportunity = make_opportunity()
    client = login(manager)
    delete = url("growth-opportunity-delete", opportunity_id=opportunity.pk)
    page = client.get(delete, **EN)
    assert page.status_code == 200 and "Delete the opportunity" in page.content.decode()
    with tenant_context(tenant):
        assert Opportunity.objects.exists()
    assert client.post(delete).status_code == 302
    with tenant_context(tenant):
        assert not Opportunity.objects.exists()


def test_the_accounts_tab(tenant, growth, make_opportunity, manager):
    make_opportunity(amount=Decimal("1000"), stage=Stage.SOLUTION)
    make_opportunity(title="赢了", amount=Decimal("70"), stage=Stage.WON)
    tab = url("growth-account-opportunities", account_id=growth.account.pk)
    client = login(manager)
    plain = client.get(tab)
    assert plain.status_code == 302 and "tab=opportunities" in plain["Location"]
    response = client.get(tab, HTTP_HX_REQUEST="true", **EN)
    assert response.status_code == 200
    html = response.content.decode()
    assert "二期产线自动化改造" in html and "赢了" in html and "New opportunity" in html
    assert (response.context["open_count"], response.context["weighted"]) == (1, Decimal("500.00"))
    embedded = client.get(url("accounts-detail", account_id=growth.account.pk) + "?tab=opportunities")
    assert embedded.status_code == 200 and "二期产线自动化改造" in embedded.content.decode()


def test_a_need_is_made_an_opportunity_once(tenant, growth, manager):
    with tenant_context(tenant):
        need, _ = service_services.need_create(tenant, subject="询价：伺服电机", account=growth.account)
        orphan, _ = service_services.need_create(tenant, subject="陌生询价", sender="x@unknown.test")
    client = login(manager)
    page = client.get(url("service-need", need_id=need.pk), **EN).content.decode()
    assert url("growth-opportunity-from-need", need_id=need.pk) in page and "Make an opportunity" in page
    first = client.post(url("growth-opportunity-from-need", need_id=need.pk))
    with tenant_context(tenant):
        made = Opportunity.objects.get()
    assert first["Location"] == url("growth-opportunity", opportunity_id=made.pk)
    assert (made.source, made.need_id, made.title) == ("need", need.pk, "询价：伺服电机")
    second = client.post(url("growth-opportunity-from-need", need_id=need.pk))
    assert second["Location"] == url("growth-opportunity", opportunity_id=made.pk)
    refused = client.post(url("growth-opportunity-from-need", need_id=orphan.pk), follow=True, **EN)
    assert "has no account yet" in refused.content.decode()
    with tenant_context(tenant):
        assert Opportunity.objects.count() == 1


def test_another_tenants_need_and_initiative_are_404(tenant, other_tenant, growth, manager):
    with tenant_context(other_tenant):
        need, _ = service_services.need_create(other_tenant, subject="别家的需求", account=growth.foreign_account)
        plan = AccountPlan.objects.create(
            tenant=other_tenant,
            account=growth.foreign_account,
            period_start=dt.date(2026, 1, 1),
            period_end=dt.date(2026, 12, 31),
        )
        initiative = Initiative.objects.create(tenant=other_tenant, plan=plan, kind="training", title="培训")
    client = login(manager)
    assert client.post(url("growth-opportunity-from-need", need_id=need.pk)).status_code == 404
    assert client.post(url("growth-opportunity-from-initiative", initiative_id=initiative.pk)).status_code == 404
    with tenant_context(other_tenant):
        assert not Opportunity.objects.exists()


def test_an_initiative_is_made_an_opportunity_from_the_plan_page(tenant, growth, manager):
    with tenant_context(tenant):
        plan = AccountPlan.objects.create(
            tenant=tenant, account=growth.account, period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 12, 31)
        )
        initiative = Initiative.objects.create(tenant=tenant, plan=plan, kind="joint_lab", title="联合实验室")
    client = login(manager)
    plan_page = client.get(url("teams-plan", account_id=growth.account.pk) + f"?plan={plan.pk}", **EN)
    assert url("growth-opportunity-from-initiative", initiative_id=initiative.pk) in plan_page.content.decode()
    response = client.post(url("growth-opportunity-from-initiative", initiative_id=initiative.pk))
    with tenant_context(tenant):
        made = Opportunity.objects.get()
    assert response["Location"] == url("growth-opportunity", opportunity_id=made.pk)
    assert (made.source, made.initiative_id, made.account_id) == ("plan", initiative.pk, growth.account.pk)
