"""Renewals' services: opening (the window's first and last day exactly, auto-renew, lost
accounts, renewed contracts and ended ones left out, idempotent, a contract's save opening its
own), the stage moves allowed and refused, signing (the next contract with the old terms and
the confidentiality moved), the owner and dates checked, tenants apart, every write audited."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from accounts import services as account_services
from accounts.models import AccountStatus, Contract, IpOwnership
from kam.models import AuditLog, Membership
from kam.tenancy import tenant_context
from renewals import services
from renewals.models import Renewal, RenewalStage
from tests.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db

# The contract of make_contract: ends 2027-03-31 with 90 days' notice. Its window opens
# 90 + 30 = 120 days before the end: 2027-03-31 - 120 days = 2026-12-01; it is due 90 days
# before the end: 2026-12-31; it stays open to be opened until the end itself.
FIRST_DAY = dt.date(2026, 12, 1)
DUE_ON = dt.date(2026, 12, 31)
END_ON = dt.date(2027, 3, 31)


def _renewals(tenant):
    with tenant_context(tenant):
        return list(Renewal.objects.order_by("id"))


# --- opening ------------------------------------------------------------------------------------------


def test_the_window_opens_notice_plus_30_days_before_the_end(tenant, account, manager, make_contract):
    contract = make_contract()
    # given the day before the window: nothing
    assert services.renewals_open(tenant, FIRST_DAY - dt.timedelta(days=1)) == 0
    # when the window's first day comes
    assert services.renewals_open(tenant, FIRST_DAY) == 1
    # then one renewal, preparing, owned by the account's owner, due 90 days before the end
    (renewal,) = _renewals(tenant)
    assert renewal.contract_id == contract.pk and renewal.account_id == account.pk
    assert renewal.stage == RenewalStage.PREPARE and renewal.owner_id == manager.pk
    assert (renewal.opened_on, renewal.due_on) == (FIRST_DAY, DUE_ON)
    assert renewal.note == "" and renewal.closed_at is None
    # and running it again opens nothing more
    assert services.renewals_open(tenant, FIRST_DAY + dt.timedelta(days=3)) == 0
    assert len(_renewals(tenant)) == 1


def test_the_last_day_is_the_end_and_an_ended_contract_is_history(tenant, make_contract):
    make_contract()
    assert services.renewals_open(tenant, END_ON + dt.timedelta(days=1)) == 0
    assert services.renewals_open(tenant, END_ON) == 1
    assert _renewals(tenant)[0].opened_on == END_ON


def test_the_notice_period_moves_the_window(tenant, make_contract):
    # 30 days' notice: opens 60 days before 2027-03-31 = 2027-01-30, due 2027-03-01
    make_contract(notice_days=30)
    assert services.renewals_open(tenant, dt.date(2027, 1, 29)) == 0
    assert services.renewals_open(tenant, dt.date(2027, 1, 30)) == 1
    assert _renewals(tenant)[0].due_on == dt.date(2027, 3, 1)


def test_auto_renewing_lost_and_renewed_contracts_are_not_opened(tenant, account, make_contract):
    make_contract(auto_renew=True)
    lost_account = AccountFactory(tenant=tenant, status=AccountStatus.LOST)
    make_contract(account=lost_account)
    renewed = make_contract(title="已续签的协议")
    make_contract(title="后续协议", start_on=dt.date(2027, 4, 1), end_on=dt.date(2028, 3, 31), renewal_of=renewed)
    assert services.renewals_open(tenant, FIRST_DAY) == 0
    assert _renewals(tenant) == []


def test_only_the_contracts_named(tenant, make_contract):
    first, second = make_contract(), make_contract(title="第二份")
    assert services.renewals_open(tenant, FIRST_DAY, contract_ids=[second.pk]) == 1
    assert [renewal.contract_id for renewal in _renewals(tenant)] == [second.pk]
    assert services.renewals_open(tenant, FIRST_DAY, contract_ids=[]) == 0
    assert services.renewals_open(tenant, FIRST_DAY) == 1
    assert {renewal.contract_id for renewal in _renewals(tenant)} == {first.pk, second.pk}


def test_opening_is_audited_once_for_the_set(tenant, make_contract):
    make_contract()
    make_contract(title="第二份")
    services.renewals_open(tenant, FIRST_DAY)
    with tenant_context(tenant):
        entries = list(AuditLog.objects.filter(object_type="renewals.renewal"))
    assert len(entries) == 1 and entries[0].changes["opened"] == [None, 2]


def test_a_contract_saved_in_its_window_opens_its_renewal_once_committed(
    tenant, account, today, django_capture_on_commit_callbacks
):
    end_on = today + dt.timedelta(days=100)  # within 90 + 30 days
    with django_capture_on_commit_callbacks(execute=True):
        contract = account_services.contract_create(
            tenant, account=account, title="新签协议", start_on=end_on - dt.timedelta(days=364), end_on=end_on
        )
    (renewal,) = _renewals(tenant)
    assert renewal.contract_id == contract.pk and renewal.opened_on == today
    assert renewal.due_on == end_on - dt.timedelta(days=90)
    # a change later opens nothing more; a contract outside its window opens nothing
    with django_capture_on_commit_callbacks(execute=True):
        account_services.contract_update(tenant, contract=contract, value=Decimal("5"))
        account_services.contract_create(
            tenant, account=account, title="远期协议", start_on=today, end_on=today + dt.timedelta(days=400)
        )
    assert len(_renewals(tenant)) == 1


def test_the_nightly_task_opens_for_today(tenant, make_contract, today):
    from renewals.tasks import open_due

    make_contract(end_on=today + dt.timedelta(days=10), start_on=today - dt.timedelta(days=300))
    assert open_due.delay(tenant.pk).get() == 1
    from kam.nightly import NIGHTLY_JOBS

    # every night, a quarter of an hour before the tenant's score run
    assert [(job.anchor, job.offset_minutes) for job in NIGHTLY_JOBS if job.task == "renewals.open_due"] == [
        ("score_at", -15)
    ]


# --- stages -------------------------------------------------------------------------------------------


def test_forward_one_step_at_a_time(tenant, make_renewal, manager):
    renewal = make_renewal()
    renewal = services.renewal_move(tenant, renewal=renewal, stage="proposed", actor=manager)
    assert renewal.stage == "proposed"
    renewal = services.renewal_move(tenant, renewal=renewal, stage="negotiating", actor=manager)
    assert renewal.stage == "negotiating" and renewal.closed_at is None
    with tenant_context(tenant):
        assert AuditLog.objects.filter(object_type="renewals.renewal", object_id=str(renewal.pk)).count() == 2


@pytest.mark.parametrize(
    ("start", "target"),
    [("prepare", "negotiating"), ("negotiating", "proposed"), ("negotiating", "prepare"), ("lost", "proposed")],
)
def test_moves_the_stages_do_not_allow_are_refused(tenant, make_renewal, start, target):
    renewal = make_renewal(start)
    with pytest.raises(ValidationError) as caught:
        services.renewal_move(tenant, renewal=renewal, stage=target)
    assert "cannot move from" in caught.value.message_dict["stage"][0]
    with tenant_context(tenant):
        assert Renewal.objects.get(pk=renewal.pk).stage == start


def test_prepare_cannot_be_signed_and_signed_is_final(tenant, make_renewal):
    with pytest.raises(ValidationError):
        services.renewal_move(tenant, renewal=make_renewal("prepare"), stage="signed")
    signed = make_renewal("signed")
    for stage in ("prepare", "lost", "negotiating"):
        with pytest.raises(ValidationError):
            services.renewal_move(tenant, renewal=signed, stage=stage, reason="x")


def test_unknown_and_same_stage(tenant, make_renewal):
    renewal = make_renewal("proposed")
    with pytest.raises(ValidationError) as caught:
        services.renewal_move(tenant, renewal=renewal, stage="won")
    assert caught.value.message_dict["stage"][0].startswith("Unknown stage.")
    with pytest.raises(ValidationError) as caught:
        services.renewal_move(tenant, renewal=renewal, stage="proposed")
    assert caught.value.message_dict == {"stage": ["The renewal is at this stage already."]}


def test_lost_needs_a_reason_and_reopens_while_the_contract_runs(tenant, make_renewal):
    renewal = make_renewal("proposed")
    with pytest.raises(ValidationError) as caught:
        services.renewal_move(tenant, renewal=renewal, stage="lost", reason="   ")
    assert caught.value.message_dict == {"reason": ["Say why the renewal was lost."]}
    lost = services.renewal_move(tenant, renewal=renewal, stage="lost", reason=" 客户改为公开招标 ")
    assert (lost.stage, lost.lost_reason) == ("lost", "客户改为公开招标") and lost.closed_at is not None
    reopened = services.renewal_move(tenant, renewal=lost, stage="prepare")
    assert (reopened.stage, reopened.lost_reason, reopened.closed_at) == ("prepare", "", None)


def test_a_lost_renewal_of_an_ended_contract_stays_lost(tenant, make_renewal):
    renewal = make_renewal("lost", ends_in=-1)
    assert services.allowed_moves(tenant, renewal) == []
    with pytest.raises(ValidationError) as caught:
        services.renewal_move(tenant, renewal=renewal, stage="prepare")
    assert "reopened only before the contract ends" in caught.value.message_dict["stage"][0]


def test_allowed_moves(tenant, make_renewal):
    assert services.allowed_moves(tenant, make_renewal("prepare")) == ["proposed", "lost"]
    assert services.allowed_moves(tenant, make_renewal("proposed")) == ["negotiating", "signed", "lost"]
    assert services.allowed_moves(tenant, make_renewal("negotiating")) == ["signed", "lost"]
    assert services.allowed_moves(tenant, make_renewal("lost")) == ["prepare"]


# --- signing ------------------------------------------------------------------------------------------


@pytest.fixture
def framework(tenant, make_contract, manager):
    """2026-01-01 to 2026-12-31 (364 days from start to end), with every clause set."""
    contract = make_contract(
        title="框架协议",
        start_on=dt.date(2026, 1, 1),
        end_on=dt.date(2026, 12, 31),
        value=Decimal("1200000.00"),
        notice_days=60,
        ip_ownership=IpOwnership.JOINT,
        confidentiality_until=dt.date(2027, 6, 30),
        exclusivity=True,
        non_solicit=True,
        liability_cap=Decimal("500000.00"),
    )
    with tenant_context(tenant):
        return Renewal.objects.create(
            tenant=tenant,
            account=contract.account,
            contract=contract,
            stage="proposed",
            owner=manager,
            due_on=dt.date(2026, 11, 1),
            opened_on=dt.date(2026, 10, 2),
        )


def test_sign_with_the_defaults_copies_the_terms(tenant, framework, manager):
    renewal = services.renewal_sign(tenant, renewal=framework, actor=manager)
    following = renewal.next_contract
    assert renewal.stage == "signed" and renewal.closed_at is not None
    # the day after the old end, plus the old term: 2027-01-01 + 364 days = 2027-12-31
    assert (following.start_on, following.end_on) == (dt.date(2027, 1, 1), dt.date(2027, 12, 31))
    assert (following.title, following.value) == ("框架协议", Decimal("1200000.00"))
    assert following.renewal_of_id == framework.contract_id and following.account_id == framework.account_id
    assert (following.auto_renew, following.notice_days, following.ip_ownership) == (False, 60, "joint")
    assert (following.exclusivity, following.non_solicit, following.liability_cap) == (True, True, Decimal("500000"))
    # the end moved 2026-12-31 -> 2027-12-31, 365 days: 2027-06-30 + 365 days = 2028-06-29
    assert following.confidentiality_until == dt.date(2028, 6, 29)
    with tenant_context(tenant):
        assert AuditLog.objects.filter(object_type="accounts.contract", object_id=str(following.pk)).exists()


def test_sign_with_a_term_of_its_own(tenant, framework):
    renewal = services.renewal_sign(
        tenant,
        renewal=framework,
        start_on=dt.date(2027, 2, 1),
        end_on=dt.date(2028, 1, 31),
        value=Decimal("1500000"),
        title="新框架协议",
    )
    following = renewal.next_contract
    assert (following.title, following.value) == ("新框架协议", Decimal("1500000.00"))
    # the end moved 2026-12-31 -> 2028-01-31, 396 days: 2027-06-30 + 396 days = 2028-07-30
    assert following.confidentiality_until == dt.date(2028, 7, 30)


def test_sign_without_confidentiality_keeps_none_and_a_move_to_signed_signs(tenant, make_renewal):
    renewal = make_renewal("negotiating")
    signed = services.renewal_move(tenant, renewal=renewal, stage="signed")
    assert signed.stage == "signed" and signed.next_contract.confidentiality_until is None
    assert signed.next_contract.start_on == renewal.contract.end_on + dt.timedelta(days=1)


def test_bad_terms_write_nothing(tenant, framework):
    with tenant_context(tenant):
        before = Contract.objects.count()
    with pytest.raises(ValidationError) as caught:
        services.renewal_sign(tenant, renewal=framework, start_on=dt.date(2027, 3, 1), end_on=dt.date(2027, 2, 1))
    assert caught.value.message_dict == {"end_on": ["The new contract must end after it starts."]}
    with pytest.raises(ValidationError) as caught:
        services.renewal_sign(tenant, renewal=framework, value=Decimal("-1"))
    assert "value" in caught.value.message_dict
    with pytest.raises(ValidationError):
        services.renewal_sign(tenant, renewal=framework, start_on=dt.date(1999, 1, 1))
    with tenant_context(tenant):
        assert Contract.objects.count() == before
        assert Renewal.objects.get(pk=framework.pk).stage == "proposed"


def test_signed_twice_is_refused(tenant, framework):
    services.renewal_sign(tenant, renewal=framework)
    with pytest.raises(ValidationError) as caught:
        services.renewal_sign(tenant, renewal=framework)
    assert "Only a proposed or negotiating renewal can be signed" in caught.value.message_dict["stage"][0]
    with tenant_context(tenant):
        assert Contract.objects.filter(renewal_of_id=framework.contract_id).count() == 1


# --- owner, due date, note -----------------------------------------------------------------------------


def test_update_owner_due_date_and_note(tenant, make_renewal, director):
    renewal = make_renewal()
    changed = services.renewal_update(
        tenant, renewal=renewal, owner=director, due_on=dt.date(2026, 12, 20), note="  下周拜访采购总监 "
    )
    assert (changed.owner_id, changed.due_on, changed.note) == (director.pk, dt.date(2026, 12, 20), "下周拜访采购总监")
    assert services.renewal_update(tenant, renewal=changed, owner=None).owner_id is None


def test_the_owner_is_an_active_member_of_this_workspace(tenant, make_renewal, outsider, member):
    renewal = make_renewal()
    message = {"owner": ["The owner must be an active member of this workspace."]}
    with pytest.raises(ValidationError) as caught:
        services.renewal_update(tenant, renewal=renewal, owner=outsider)
    assert caught.value.message_dict == message
    Membership.objects.filter(tenant=tenant, user=member).update(is_active=False)
    with pytest.raises(ValidationError) as caught:
        services.renewal_update(tenant, renewal=renewal, owner=member)
    assert caught.value.message_dict == message
    with pytest.raises(ValidationError):
        services.renewal_update(tenant, renewal=renewal, owner=UserFactory(email="nobody@example.test"))
    with pytest.raises(ValidationError) as caught:
        services.renewal_update(tenant, renewal=renewal, due_on=dt.date(2200, 1, 1))
    assert "due_on" in caught.value.message_dict


def test_another_tenants_renewal_is_not_this_tenants(tenant, other_tenant, make_renewal):
    renewal = make_renewal()
    with pytest.raises(ValidationError):
        services.renewal_move(other_tenant, renewal=renewal, stage="proposed")
    with pytest.raises(ValidationError):
        services.renewal_sign(other_tenant, renewal=renewal)
    with pytest.raises(ValidationError):
        services.renewal_update(other_tenant, renewal=renewal, note="x")
    assert services.renewals_open(other_tenant, FIRST_DAY) == 0
