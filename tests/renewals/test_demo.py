"""The renewals demo (RenewalsConfig.load_demo, after the accounts demo): one renewal at every
stage, the signed one with its next contract, the lost one with its reason, one whose contract
ended unsigned (risk's renewal_overdue), what the nightly run opens by itself; deterministic,
and loading it again changes nothing."""

from __future__ import annotations

import pytest
from django.apps import apps

from accounts.models import Contract
from kam.models import Membership, Role
from kam.tenancy import tenant_context, tenant_today
from renewals.models import Renewal, RenewalStage
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("slug", "profile"), [("huadong", "manufacturing"), ("zhice", "consulting")])
def test_one_renewal_at_every_stage_and_one_overdue(slug, profile):
    tenant = factories.TenantFactory(slug=slug, industry_profile=profile)
    people = {}
    for role in Role.values:
        user = factories.UserFactory(email=f"{role}@{slug}.test")
        Membership.objects.create(tenant=tenant, user=user, role=role)
        people[str(role)] = user
    apps.get_app_config("accounts").load_demo(tenant, people)
    apps.get_app_config("renewals").load_demo(tenant, people)
    today = tenant_today(tenant)
    with tenant_context(tenant):
        renewals = list(Renewal.objects.select_related("contract", "next_contract", "account"))
        assert {renewal.stage for renewal in renewals} == set(RenewalStage.values)
        (signed,) = [renewal for renewal in renewals if renewal.stage == RenewalStage.SIGNED]
        assert signed.next_contract.renewal_of_id == signed.contract_id and signed.closed_at is not None
        (lost,) = [renewal for renewal in renewals if renewal.stage == RenewalStage.LOST]
        assert lost.lost_reason
        overdue = [r for r in renewals if r.is_open and r.contract.end_on < today]
        assert len(overdue) == 1
        assert (today - overdue[0].contract.end_on).days == 12
        # every renewal is of a contract that does not renew itself, owned by its account's owner
        assert not any(renewal.contract.auto_renew for renewal in renewals)
        assert all(renewal.owner_id == renewal.account.owner_id for renewal in renewals)
        before = (Renewal.objects.count(), Contract.objects.count())
    apps.get_app_config("renewals").load_demo(tenant, people)
    with tenant_context(tenant):
        assert (Renewal.objects.count(), Contract.objects.count()) == before
