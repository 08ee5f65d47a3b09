"""growth.metrics.account_figures_refresh: wallet, share of wallet and potential (DESIGN section
12), against figures worked out by hand below (never by running the SQL again)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from accounts.models import Account
from growth import metrics
from growth.models import BuyingCentre, Opportunity, Stage
from kam.models import Tenant
from kam.tenancy import tenant_context
from tests import factories

D = dt.date(2026, 6, 30)


def centre(tenant: Tenant, account: Account, code: str, spend: str, *, primary: bool = False) -> BuyingCentre:
    with tenant_context(tenant):
        return BuyingCentre.objects.create(
            tenant=tenant, account=account, code=code, name=code, annual_spend=Decimal(spend), is_primary=primary
        )


def opportunity(tenant: Tenant, account: Account, amount: str, stage: str, close: dt.date) -> Opportunity:
    with tenant_context(tenant):
        return Opportunity.objects.create(
            tenant=tenant, account=account, title=f"{stage} {amount}", amount=Decimal(amount), stage=stage,
            expected_close=close,
        )  # fmt: skip


def order(tenant: Tenant, account: Account, day: dt.date, amount: str) -> None:
    factories.OrderFactory(tenant=tenant, account=account, order_date=day, amount=Decimal(amount))


def figures(tenant: Tenant, account: Account) -> tuple:
    with tenant_context(tenant):
        account = Account.objects.get(pk=account.pk)
    return account.wallet, account.share_of_wallet, account.potential_12m


@pytest.fixture
def accounts(tenant: Tenant) -> dict[str, Account]:
    """Four accounts whose figures are worked out in the comments."""
    a = factories.AccountFactory(tenant=tenant, name="A")
    b = factories.AccountFactory(tenant=tenant, name="B")
    c = factories.AccountFactory(tenant=tenant, name="C")
    empty = factories.AccountFactory(tenant=tenant, name="empty")
    # A: wallet 300,000 + 200,000 = 500,000.00
    centre(tenant, a, "HQ", "300000.00", primary=True)
    centre(tenant, a, "P2", "200000.00")
    # A's revenue_12m, D-365 < date <= D: 100,000 (on D) + 50,000.50 (D-364) = 150,000.50;
    # D-365 itself and D+1 are outside.
    order(tenant, a, D, "100000.00")
    order(tenant, a, D - dt.timedelta(days=364), "50000.50")
    order(tenant, a, D - dt.timedelta(days=365), "999.00")
    order(tenant, a, D + dt.timedelta(days=1), "777.00")
    # A's weighted pipeline: lead 10,000 x 10% = 1,000; proposal 33,333.33 x 70% = 23,333.331
    # (closing on D+365, inside); negotiation 1,000 x 85% = 850 (overdue: still expected);
    # won, lost, and qualified closing on D+366: none. Sum 25,183.331.
    opportunity(tenant, a, "10000.00", Stage.LEAD, D + dt.timedelta(days=30))
    opportunity(tenant, a, "33333.33", Stage.PROPOSAL, D + dt.timedelta(days=365))
    opportunity(tenant, a, "1000.00", Stage.NEGOTIATION, dt.date(2026, 1, 1))
    opportunity(tenant, a, "50000.00", Stage.WON, D)
    opportunity(tenant, a, "40000.00", Stage.LOST, D)
    opportunity(tenant, a, "20000.00", Stage.QUALIFIED, D + dt.timedelta(days=366))
    # B: no buying centre (wallet 0, share NULL); revenue 10 > wallet: max(0, -10) = 0;
    # solution 0.01 x 50% = 0.005 -> 0.01 (half up; half even would give 0.00).
    order(tenant, b, dt.date(2026, 1, 1), "10.00")
    opportunity(tenant, b, "0.01", Stage.SOLUTION, D)
    # C: wallet 20,000, revenue 1.00: share 0.00005 -> 0.0001 (half up); potential 19,999.00.
    centre(tenant, c, "C1", "20000.00", primary=True)
    order(tenant, c, dt.date(2026, 3, 1), "1.00")
    return {"a": a, "b": b, "c": c, "empty": empty}


@pytest.mark.django_db
def test_figures_worked_out_by_hand(tenant: Tenant, accounts: dict[str, Account]) -> None:
    changed = metrics.account_figures_refresh(tenant, as_of=D)

    assert changed == 4
    # 150,000.50 / 500,000 = 0.300001 -> 0.3000; 500,000 - 150,000.50 + 25,183.331 = 375,182.831
    assert figures(tenant, accounts["a"]) == (Decimal("500000.00"), Decimal("0.3000"), Decimal("375182.83"))
    assert figures(tenant, accounts["b"]) == (Decimal("0.00"), None, Decimal("0.01"))
    assert figures(tenant, accounts["c"]) == (Decimal("20000.00"), Decimal("0.0001"), Decimal("19999.00"))
    assert figures(tenant, accounts["empty"]) == (Decimal("0.00"), None, Decimal("0.00"))


@pytest.mark.django_db
def test_only_changed_rows_are_written(tenant: Tenant, accounts: dict[str, Account]) -> None:
    assert metrics.account_figures_refresh(tenant, as_of=D) == 4
    assert metrics.account_figures_refresh(tenant, as_of=D) == 0
    # A day later A's window is (D-364, D+1]: the 50,000.50 order of D-364 leaves, the 777 one
    # of D+1 joins: revenue 100,777.00; share 100,777 / 500,000 = 0.201554 -> 0.2016. Only A changes (B's, C's
    # orders stay in the window; the pipeline's D+366 qualified one now counts: + 5,000).
    assert metrics.account_figures_refresh(tenant, as_of=D + dt.timedelta(days=1)) == 1
    # 500,000 - 100,777 + 1,000 + 23,333.331 + 850 + 20,000 x 25% (5,000) = 429,406.331
    assert figures(tenant, accounts["a"]) == (Decimal("500000.00"), Decimal("0.2016"), Decimal("429406.33"))


@pytest.mark.django_db
def test_some_accounts_only(tenant: Tenant, accounts: dict[str, Account]) -> None:
    assert metrics.account_figures_refresh(tenant, as_of=D, account_ids=[accounts["c"].pk]) == 1
    assert figures(tenant, accounts["a"]) == (None, None, None)
    assert figures(tenant, accounts["c"]) == (Decimal("20000.00"), Decimal("0.0001"), Decimal("19999.00"))
    # A centre added to C: only C's refresh sees it. 20,000 + 5,000 = 25,000; 1 / 25,000 = 0.00004 -> 0.0000
    centre(tenant, accounts["c"], "C2", "5000.00")
    assert metrics.account_figures_refresh(tenant, as_of=D, account_ids=[accounts["a"].pk]) == 1
    assert figures(tenant, accounts["c"]) == (Decimal("20000.00"), Decimal("0.0001"), Decimal("19999.00"))
    assert metrics.account_figures_refresh(tenant, as_of=D, account_ids=[accounts["c"].pk]) == 1
    assert figures(tenant, accounts["c"]) == (Decimal("25000.00"), Decimal("0.0000"), Decimal("24999.00"))
    assert metrics.account_figures_refresh(tenant, as_of=D, account_ids=[]) == 0


@pytest.mark.django_db
def test_tenant_isolation(tenant: Tenant, other_tenant: Tenant, accounts: dict[str, Account]) -> None:
    """Another tenant's centres, orders and opportunities never count, and its accounts are
    never written, even when their ids are passed."""
    theirs = factories.AccountFactory(tenant=other_tenant, name="theirs")
    centre(other_tenant, theirs, "X", "999999.00", primary=True)
    order(other_tenant, theirs, D, "5.00")
    opportunity(other_tenant, theirs, "1000.00", Stage.LEAD, D)

    assert metrics.account_figures_refresh(tenant, as_of=D, account_ids=[theirs.pk, accounts["c"].pk]) == 1
    assert figures(other_tenant, theirs) == (None, None, None)
    assert metrics.account_figures_refresh(tenant, as_of=D) == 3
    assert figures(tenant, accounts["a"]) == (Decimal("500000.00"), Decimal("0.3000"), Decimal("375182.83"))
    assert figures(other_tenant, theirs) == (None, None, None)
    assert metrics.account_figures_refresh(other_tenant, as_of=D) == 1
    # 5 / 999,999 = 0.000005 -> 0.0000; 999,999 - 5 + 100 = 1,000,094.00
    assert figures(other_tenant, theirs) == (Decimal("999999.00"), Decimal("0.0000"), Decimal("1000094.00"))


@pytest.mark.django_db
def test_a_share_beyond_the_column_is_capped(tenant: Tenant) -> None:
    account = factories.AccountFactory(tenant=tenant)
    centre(tenant, account, "tiny", "0.01", primary=True)
    order(tenant, account, D, "5000.00")  # 5,000 / 0.01 = 500,000: beyond numeric(9,4)
    assert metrics.account_figures_refresh(tenant, as_of=D) == 1
    assert figures(tenant, account) == (Decimal("0.01"), metrics.MAX_SHARE, Decimal("0.00"))


def test_statement_names_its_tenant_on_every_table() -> None:
    """Every tenant table of the statement is filtered by the tenant (a router query on Citus)."""
    for only_some in (False, True):
        sql = metrics.refresh_sql(only_some=only_some)
        for alias in ("c", "o", "p", "a"):
            assert f"{alias}.tenant_id = %(tenant)s" in sql
        assert sql.count("FROM accounts_order") == 1  # the orders are read once
        assert ("= ANY(%(ids)s)" in sql) is only_some


@pytest.mark.django_db
def test_one_statement(tenant: Tenant, accounts: dict[str, Account]) -> None:
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        metrics.account_figures_refresh(tenant, as_of=D)
    updates = [q["sql"] for q in queries.captured_queries if "UPDATE accounts_account" in q["sql"]]
    assert len(updates) == 1
    assert "IS DISTINCT FROM" in updates[0]
