"""growth.tasks: the nightly refresh of every tenant's figures (beat, kam.fan_out) and the
refresh of one account."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import TestCase

from accounts.models import Account
from growth import tasks
from growth.models import BuyingCentre
from kam import nightly
from kam.celery import app
from kam.models import Tenant
from kam.tasks import fan_out
from kam.tenancy import tenant_context, tenant_today
from tests import factories


def account_with_wallet(tenant: Tenant, spend: str, revenue: str) -> Account:
    """An account with one buying centre and one order of today (inside every 12-month window)."""
    account = factories.AccountFactory(tenant=tenant)
    with tenant_context(tenant):
        BuyingCentre.objects.create(
            tenant=tenant, account=account, code="HQ", name="HQ", annual_spend=Decimal(spend), is_primary=True
        )
    factories.OrderFactory(tenant=tenant, account=account, order_date=tenant_today(tenant), amount=Decimal(revenue))
    return account


def figures(tenant: Tenant, account: Account) -> tuple:
    with tenant_context(tenant):
        account = Account.objects.get(pk=account.pk)
    return account.wallet, account.share_of_wallet, account.potential_12m


def test_the_nightly_refresh_is_scheduled_before_the_score_run() -> None:
    app.loader.import_default_modules()
    jobs = {job.task: job for job in nightly.NIGHTLY_JOBS}
    refresh, score = jobs["growth.refresh_figures"], jobs["scoring.nightly_score"]
    assert (refresh.anchor, refresh.offset_minutes) == ("score_at", -10)
    assert (score.anchor, score.offset_minutes) == ("score_at", 0)
    assert app.tasks["growth.refresh_figures"].soft_time_limit == 10 * 60


@pytest.mark.django_db
def test_the_nightly_refresh_runs_for_every_tenant(tenant: Tenant, other_tenant: Tenant) -> None:
    mine = account_with_wallet(tenant, "1000.00", "250.00")
    theirs = account_with_wallet(other_tenant, "400.00", "100.00")
    # when: beat's fan-out (eager here)
    assert fan_out("growth.refresh_figures") >= 2
    # then: 250 / 1,000 = 0.25, 1,000 - 250 = 750; 100 / 400 = 0.25, 400 - 100 = 300
    assert figures(tenant, mine) == (Decimal("1000.00"), Decimal("0.2500"), Decimal("750.00"))
    assert figures(other_tenant, theirs) == (Decimal("400.00"), Decimal("0.2500"), Decimal("300.00"))


@pytest.mark.django_db
def test_refresh_account_touches_that_account_only(tenant: Tenant, other_tenant: Tenant) -> None:
    one = account_with_wallet(tenant, "1000.00", "250.00")
    two = account_with_wallet(tenant, "1000.00", "500.00")
    theirs = account_with_wallet(other_tenant, "400.00", "100.00")
    assert tasks.refresh_account.delay(tenant.pk, one.pk).get() == 1
    assert figures(tenant, one) == (Decimal("1000.00"), Decimal("0.2500"), Decimal("750.00"))
    assert figures(tenant, two) == (None, None, None)
    # another tenant's account id, run for this tenant: nothing
    assert tasks.refresh_account.delay(tenant.pk, theirs.pk).get() == 0
    assert figures(other_tenant, theirs) == (None, None, None)


class QueuedAfterCommit(TestCase):
    def test_queue_account_refresh_waits_for_the_commit(self) -> None:
        tenant = factories.TenantFactory()
        account = account_with_wallet(tenant, "800.00", "200.00")
        with self.captureOnCommitCallbacks(execute=False) as callbacks, tenant_context(tenant):
            tasks.queue_account_refresh(tenant, account.pk)
        assert figures(tenant, account) == (None, None, None)
        for callback in callbacks:
            callback()
        # 200 / 800 = 0.25; 800 - 200 = 600
        assert figures(tenant, account) == (Decimal("800.00"), Decimal("0.2500"), Decimal("600.00"))
