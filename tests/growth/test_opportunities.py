"""Opportunities' services and selectors (growth/opportunities.py): validation, stages and
closed_on, optimistic concurrency, audit, needs and initiatives made opportunities, the
board's figures, tenant isolation. The fixtures here serve the pipeline and API tests too."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404

from growth import opportunities as opps
from growth.models import BuyingCentre, Offering, Opportunity, OpportunityOffering, Source, Stage
from kam.models import AuditLog, Membership, Tenant, User
from kam.tenancy import tenant_context, tenant_today
from service import services as service_services
from teams.models import AccountPlan, Initiative
from tests import factories

pytestmark = pytest.mark.django_db


def _offering(tenant: Tenant, code: str, **kwargs: Any) -> Offering:
    with tenant_context(tenant):
        return Offering.objects.create(
            tenant=tenant, code=code, name_zh=f"产品 {code}", name_en=f"Offering {code}", **kwargs
        )


def _centre(tenant: Tenant, account: Any, code: str, **kwargs: Any) -> BuyingCentre:
    with tenant_context(tenant):
        return BuyingCentre.objects.create(tenant=tenant, account=account, code=code, name=f"采购中心 {code}", **kwargs)


@pytest.fixture
def growth(tenant: Tenant, other_tenant: Tenant, manager: User, outsider: User) -> SimpleNamespace:
    """Two accounts of the tenant (the manager owns the first), centres, offerings; and another
    tenant's account, centre and offering."""
    with tenant_context(tenant):
        account = factories.AccountFactory(tenant=tenant, name="华东精密机械", owner=manager, tier="A")
        second = factories.AccountFactory(tenant=tenant, name="西南重工", tier="B")
    with tenant_context(other_tenant):
        foreign_account = factories.AccountFactory(tenant=other_tenant, name="别家客户")
    return SimpleNamespace(
        account=account,
        second=second,
        centre=_centre(tenant, account, "BU1", annual_spend=Decimal("1000000")),
        second_centre=_centre(tenant, second, "BU2"),
        plc=_offering(tenant, "PLC"),
        servo=_offering(tenant, "SERVO"),
        retired=_offering(tenant, "OLD", is_active=False),
        foreign_account=foreign_account,
        foreign_centre=_centre(other_tenant, foreign_account, "X1"),
        foreign_offering=_offering(other_tenant, "PLC"),
    )


@pytest.fixture
def make_opportunity(tenant: Tenant, growth: SimpleNamespace, manager: User) -> Any:
    def make(*, on: Tenant | None = None, **kwargs: Any) -> Opportunity:
        target = on or tenant
        data: dict[str, Any] = {
            "account": growth.account,
            "title": "二期产线自动化改造",
            "amount": Decimal("100000"),
            "expected_close": dt.date(2027, 3, 31),
            "owner": manager,
        }
        data.update(kwargs)
        with tenant_context(target):
            return opps.opportunity_create(target, **data)

    return make


# --- create and validation ------------------------------------------------------------------------


def test_create_with_centre_and_offerings_is_audited(tenant, growth, manager, make_opportunity):
    opportunity = make_opportunity(buying_centre=growth.centre, offerings=[growth.plc, growth.servo], actor=manager)
    with tenant_context(tenant):
        assert opportunity.stage == Stage.LEAD and opportunity.source == Source.MANUAL
        assert opportunity.version == 1 and opportunity.closed_on is None
        assert opportunity.probability == 10 and opportunity.weighted_amount == Decimal("10000.00")
        codes = set(
            OpportunityOffering.objects.filter(opportunity=opportunity).values_list("offering__code", flat=True)
        )
        assert codes == {"PLC", "SERVO"}
        entry = AuditLog.objects.get(object_type="growth.opportunity", object_id=str(opportunity.pk))
        assert entry.action == "create" and entry.actor_user == manager
        assert entry.changes["offerings"] == [None, ["PLC", "SERVO"]]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"amount": Decimal("-1")}, "amount", "cannot be negative"),
        ({"amount": "abc"}, "amount", "number"),
        ({"expected_close": dt.date(1900, 1, 1)}, "expected_close", "between"),
        ({"expected_close": "2027-01-01"}, "expected_close", "date"),
        ({"stage": "won-ish"}, "stage", "Unknown stage"),
        ({"title": "   "}, "title", "title"),
    ],
)
def test_bad_input_is_a_field_error_and_nothing_is_written(tenant, make_opportunity, change, field, message):
    with pytest.raises(ValidationError) as caught:
        make_opportunity(**change)
    assert message in " ".join(caught.value.message_dict[field])
    with tenant_context(tenant):
        assert not Opportunity.objects.exists()
        assert not AuditLog.objects.filter(object_type="growth.opportunity").exists()


def test_another_tenants_account_centre_offering_and_a_centre_of_another_account_are_refused(
    tenant, growth, make_opportunity
):
    cases = [
        ({"account": growth.foreign_account}, "account"),
        ({"buying_centre": growth.foreign_centre}, "buying_centre"),
        ({"buying_centre": growth.second_centre}, "buying_centre"),
        ({"offerings": [growth.foreign_offering]}, "offerings"),
        ({"offerings": [growth.retired]}, "offerings"),
    ]
    for change, field in cases:
        with pytest.raises(ValidationError) as caught:
            make_opportunity(**change)
        assert field in caught.value.message_dict, change
    with pytest.raises(ValidationError) as caught:
        make_opportunity(buying_centre=growth.second_centre)
    assert "another account" in caught.value.message_dict["buying_centre"][0]
    with tenant_context(tenant):
        assert not Opportunity.objects.exists() and not OpportunityOffering.objects.exists()


def test_the_owner_must_be_a_member_of_the_tenant(tenant, make_opportunity, outsider):
    with pytest.raises(ValidationError) as caught:
        make_opportunity(owner=outsider)
    assert "owner" in caught.value.message_dict
    stranger = factories.UserFactory(email="nobody@example.test")
    with pytest.raises(ValidationError):
        make_opportunity(owner=stranger)
    with tenant_context(tenant):
        assert not Opportunity.objects.exists()


def test_an_owner_who_left_stays_on_an_edit_but_is_not_given_anew(tenant, make_opportunity, manager, admin):
    opportunity = make_opportunity(owner=manager)
    Membership.objects.filter(tenant=tenant, user=manager).update(is_active=False)
    with tenant_context(tenant):
        opps.opportunity_update(tenant, opportunity=opportunity, owner=manager, title="改名")
        assert Opportunity.objects.get(pk=opportunity.pk).title == "改名"
        opps.opportunity_update(tenant, opportunity=opportunity, owner=admin)
        with pytest.raises(ValidationError) as caught:
            opps.opportunity_update(tenant, opportunity=opportunity, owner=manager)
        assert "owner" in caught.value.message_dict
        assert Opportunity.objects.get(pk=opportunity.pk).owner_id == admin.pk


# --- stages -----------------------------------------------------------------------------------------


def test_won_and_lost_set_closed_on_to_the_tenants_today_and_reopening_clears_it(tenant, make_opportunity, manager):
    opportunity = make_opportunity()
    with tenant_context(tenant):
        today = tenant_today(tenant)
        opps.opportunity_move(tenant, opportunity=opportunity, stage=Stage.WON, actor=manager)
        opportunity.refresh_from_db()
        assert (opportunity.stage, opportunity.closed_on, opportunity.probability) == ("won", today, 100)
        opps.opportunity_move(tenant, opportunity=opportunity, stage=Stage.LOST, lost_reason=" 价格 太高 ")
        opportunity.refresh_from_db()
        assert (opportunity.stage, opportunity.closed_on, opportunity.lost_reason) == ("lost", today, "价格 太高")
        assert opportunity.weighted_amount == Decimal("0.00")
        opps.opportunity_move(tenant, opportunity=opportunity, stage=Stage.PROPOSAL)
        opportunity.refresh_from_db()
        assert (opportunity.stage, opportunity.closed_on, opportunity.lost_reason) == ("proposal", None, "")
        assert opportunity.weighted_amount == Decimal("70000.00")
        assert opportunity.version == 4
        moves = AuditLog.objects.filter(object_type="growth.opportunity", action="update").order_by("id")
        assert [entry.changes["stage"] for entry in moves] == [["lead", "won"], ["won", "lost"], ["lost", "proposal"]]


def test_any_stage_moves_to_any_other(tenant, make_opportunity):
    opportunity = make_opportunity(stage=Stage.NEGOTIATION)
    with tenant_context(tenant):
        for stage in (Stage.LEAD, Stage.WON, Stage.QUALIFIED, Stage.LOST, Stage.SOLUTION):
            opps.opportunity_move(tenant, opportunity=opportunity, stage=stage)
            assert Opportunity.objects.get(pk=opportunity.pk).stage == stage


def test_an_unknown_stage_changes_nothing(tenant, make_opportunity):
    opportunity = make_opportunity()
    with tenant_context(tenant), pytest.raises(ValidationError) as caught:
        opps.opportunity_move(tenant, opportunity=opportunity, stage="closed")
    assert "stage" in caught.value.message_dict
    with tenant_context(tenant):
        fresh = Opportunity.objects.get(pk=opportunity.pk)
        assert (fresh.stage, fresh.version) == ("lead", 1)


# --- update, concurrency, delete --------------------------------------------------------------------


def test_update_with_a_stale_version_is_refused_and_writes_nothing(tenant, growth, make_opportunity):
    opportunity = make_opportunity()
    with tenant_context(tenant):
        opps.opportunity_update(tenant, opportunity=opportunity, amount=Decimal("5"), expected_version=1)
        assert opportunity.version == 2
        stale = Opportunity.objects.get(pk=opportunity.pk)
        with pytest.raises(ValidationError) as caught:
            opps.opportunity_update(tenant, opportunity=stale, title="新标题", expected_version=1)
        assert caught.value.code == opps.STALE_CODE
        fresh = Opportunity.objects.get(pk=opportunity.pk)
        assert (fresh.title, fresh.amount, fresh.version) == ("二期产线自动化改造", Decimal("5.00"), 2)


def test_update_offerings_centre_and_account(tenant, growth, make_opportunity, manager):
    opportunity = make_opportunity(buying_centre=growth.centre, offerings=[growth.plc])
    with tenant_context(tenant):
        # moving to another account with the first account's centre is refused
        with pytest.raises(ValidationError) as caught:
            opps.opportunity_update(tenant, opportunity=opportunity, account=growth.second)
        assert "buying_centre" in caught.value.message_dict
        opportunity = Opportunity.objects.get(pk=opportunity.pk)
        opps.opportunity_update(
            tenant,
            opportunity=opportunity,
            account=growth.second,
            buying_centre=growth.second_centre,
            offerings=[growth.servo],
            actor=manager,
        )
        fresh = Opportunity.objects.get(pk=opportunity.pk)
        assert (fresh.account_id, fresh.buying_centre_id) == (growth.second.pk, growth.second_centre.pk)
        assert list(OpportunityOffering.objects.filter(opportunity=fresh).values_list("offering_id", flat=True)) == [
            growth.servo.pk
        ]
        entry = AuditLog.objects.filter(object_type="growth.opportunity", action="update").latest("id")
        assert entry.changes["offerings"] == [["PLC"], ["SERVO"]]


def test_an_offering_retired_later_may_stay_on_the_opportunity(tenant, growth, make_opportunity):
    opportunity = make_opportunity(offerings=[growth.plc])
    with tenant_context(tenant):
        Offering.objects.filter(pk=growth.plc.pk).update(is_active=False)
        plc = Offering.objects.get(pk=growth.plc.pk)
        opps.opportunity_update(tenant, opportunity=opportunity, offerings=[plc, growth.servo])
        assert OpportunityOffering.objects.filter(opportunity=opportunity).count() == 2


def test_delete_is_audited_and_removes_its_offerings(tenant, growth, make_opportunity, manager):
    opportunity = make_opportunity(offerings=[growth.plc])
    pk = opportunity.pk
    with tenant_context(tenant):
        opps.opportunity_delete(tenant, opportunity=opportunity, actor=manager)
        assert not Opportunity.objects.filter(pk=pk).exists()
        assert not OpportunityOffering.objects.exists()
        entry = AuditLog.objects.get(object_type="growth.opportunity", action="delete")
        assert entry.object_id == str(pk) and entry.changes["offerings"] == [["PLC"], None]


def test_figures_are_refreshed_after_each_write_when_growth_metrics_offers_it(
    tenant, growth, make_opportunity, monkeypatch
):
    from growth import metrics

    calls: list[tuple[int, list[int]]] = []
    monkeypatch.setattr(
        metrics,
        "account_figures_refresh",
        lambda tenant, account_ids: calls.append((tenant.pk, list(account_ids))),
        raising=False,
    )
    opportunity = make_opportunity()
    with tenant_context(tenant):
        opps.opportunity_move(tenant, opportunity=opportunity, stage=Stage.WON)
        opps.opportunity_update(tenant, opportunity=opportunity, account=growth.second)
        opps.opportunity_delete(tenant, opportunity=opportunity)
    account, second = growth.account.pk, growth.second.pk
    assert calls == [
        (tenant.pk, [account]),
        (tenant.pk, [account]),
        (tenant.pk, sorted([account, second])),
        (tenant.pk, [second]),
    ]


# --- from a need, from an initiative ----------------------------------------------------------------


def test_a_need_becomes_one_opportunity(tenant, growth, manager):
    with tenant_context(tenant):
        need, _ = service_services.need_create(
            tenant, subject="希望增加一条伺服产线", body="明年扩产", account=growth.account
        )
        opportunity, created = opps.opportunity_from_need(tenant, need=need, actor=manager)
        assert created
        assert (opportunity.source, opportunity.need_id, opportunity.account_id) == ("need", need.pk, growth.account.pk)
        assert opportunity.title == "希望增加一条伺服产线" and opportunity.owner == manager
        again, created_again = opps.opportunity_from_need(tenant, need=need, actor=manager)
        assert (again.pk, created_again) == (opportunity.pk, False)
        assert Opportunity.objects.count() == 1


def test_a_need_without_an_account_cannot_become_an_opportunity(tenant, manager):
    with tenant_context(tenant):
        need, _ = service_services.need_create(tenant, subject="陌生人的询价", sender="x@unknown.test")
        with pytest.raises(ValidationError) as caught:
            opps.opportunity_from_need(tenant, need=need, actor=manager)
        assert "no account" in caught.value.message_dict["need"][0]
        assert not Opportunity.objects.exists()


def test_an_initiative_becomes_one_opportunity_of_its_plans_account(tenant, growth, manager):
    with tenant_context(tenant):
        plan = AccountPlan.objects.create(
            tenant=tenant, account=growth.second, period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 12, 31)
        )
        initiative = Initiative.objects.create(tenant=tenant, plan=plan, kind="joint_lab", title="联合实验室")
        opportunity, created = opps.opportunity_from_initiative(tenant, initiative=initiative, actor=manager)
        assert created and opportunity.source == "plan" and opportunity.initiative_id == initiative.pk
        assert opportunity.account_id == growth.second.pk and opportunity.title == "联合实验室"
        again, created_again = opps.opportunity_from_initiative(tenant, initiative=initiative, actor=manager)
        assert (again.pk, created_again) == (opportunity.pk, False)


# --- selectors --------------------------------------------------------------------------------------


def test_board_counts_amounts_and_weighted_sums(tenant, growth, make_opportunity, manager, admin):
    make_opportunity(amount=Decimal("100"), stage=Stage.LEAD)
    make_opportunity(amount=Decimal("300"), stage=Stage.LEAD, expected_close=dt.date(2027, 1, 5))
    make_opportunity(amount=Decimal("1000"), stage=Stage.PROPOSAL, offerings=[growth.plc])
    make_opportunity(amount=Decimal("50"), stage=Stage.WON, account=growth.second, owner=None)
    with tenant_context(tenant):
        membership = Membership.objects.get(tenant=tenant, user=admin)
        board = opps.pipeline_board(tenant, membership, opps.PipelineFilters(), per_column=1)
        columns = {column.stage: column for column in board.columns}
        assert [column.stage for column in board.columns] == Stage.values
        assert (columns["lead"].count, columns["lead"].amount, columns["lead"].weighted) == (2, 400, Decimal("40.00"))
        assert len(columns["lead"].cards) == 1 and columns["lead"].more == 1
        assert columns["lead"].cards[0].expected_close == dt.date(2027, 1, 5)  # the earliest first
        assert columns["proposal"].weighted == Decimal("700.00")
        assert (columns["won"].count, columns["won"].weighted) == (1, Decimal("50.00"))
        assert board.open_count == 3 and board.open_weighted == Decimal("740.00")
        by_tier = opps.pipeline_board(tenant, membership, opps.PipelineFilters(tier="B"))
        assert [column.count for column in by_tier.columns] == [0, 0, 0, 0, 0, 1, 0]
        by_offering = opps.pipeline_board(tenant, membership, opps.PipelineFilters(offering=growth.plc.pk))
        assert by_offering.open_count == 1
        by_month = opps.pipeline_board(tenant, membership, opps.PipelineFilters(close_month=dt.date(2027, 1, 1)))
        assert by_month.open_count == 1
        by_owner = opps.pipeline_board(tenant, membership, opps.PipelineFilters(owner=manager.pk))
        assert by_owner.open_count == 3 and by_owner.columns[5].count == 0


def test_a_member_sees_the_opportunities_of_the_accounts_they_read_only(tenant, growth, make_opportunity, member):
    make_opportunity()
    with tenant_context(tenant):
        membership = Membership.objects.get(tenant=tenant, user=member)
        assert not opps.opportunity_list_visible(tenant, membership).exists()
        from accounts.models import Account

        Account.objects.filter(pk=growth.account.pk).update(owner=member)
        assert opps.opportunity_list_visible(tenant, membership).count() == 1


def test_another_tenants_opportunity_is_404_and_never_listed(tenant, other_tenant, growth, make_opportunity, admin):
    foreign = make_opportunity(on=other_tenant, account=growth.foreign_account, owner=None)
    with tenant_context(tenant):
        membership = Membership.objects.get(tenant=tenant, user=admin)
        with pytest.raises(Http404):
            opps.opportunity_get(tenant, membership, foreign.pk)
        assert not opps.opportunity_list_visible(tenant, membership).exists()
        assert opps.pipeline_board(tenant, membership, opps.PipelineFilters()).open_count == 0
