"""One account rescored against the basis (the tenant's latest full run of the same as_of)
and the change notes written since gives exactly the rows of the statement that
aggregates every order, whatever was written since — orders inserted, updated, moved
across the 12-month window or to another account, deleted; accounts added, removed, lost
or won back — and a note the basis cannot place (written while there was no basis, or
against another day) or an account deleted since makes it fall back to that statement (DESIGN section 4: the
percentile ranks among the accounts a full run scores, also when a single account is
rescored)."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from accounts import services as account_services
from accounts.models import Account, Order
from kam.tenancy import tenant_context
from scoring import services
from scoring.engine import Basis, ScoringSpec, scores_query
from scoring.models import AccountScore, ScoreBasis, Scorecard, ScorecardStatus, ScoreChange
from tests.factories import AccountFactory, InvoiceFactory, OrderFactory, TenantFactory

pytestmark = pytest.mark.django_db

D = dt.date(2026, 6, 30)
RATING_KEYS = ("industry_position", "tech_leadership", "payment_credit")
# (12m revenue, prev-12m revenue): ties, no orders at all, orders only before the window
REVENUES = [
    ("100000", "80000"),
    ("250000", None),
    ("250000", "400000"),
    (None, "50000"),
    (None, None),
    ("9000000", "3000000"),
    ("1200000", "1200000"),
    ("60000", None),
]


@pytest.fixture
def world(db):
    # given: a manufacturing tenant (revenue gates on S and A) whose accounts spread over ties,
    # accounts without orders, a lost account whose revenue still counts, ratings and events
    tenant = TenantFactory(slug="kuaisu", industry_profile="manufacturing")
    services.scorecard_seed_default(tenant)
    accounts = []
    for n, (now, prev) in enumerate(REVENUES):
        account = AccountFactory(
            tenant=tenant, name=f"A{n}", cooperation_since=dt.date(2019 + n % 6, 3, 1) if n % 3 else None
        )
        if now:
            OrderFactory(tenant=tenant, account=account, order_date=dt.date(2026, 2, 1), amount=Decimal(now))
        if prev:
            OrderFactory(tenant=tenant, account=account, order_date=dt.date(2025, 2, 1), amount=Decimal(prev))
        accounts.append(account)
    lost = AccountFactory(tenant=tenant, name="lost", status="lost")
    OrderFactory(tenant=tenant, account=lost, order_date=dt.date(2026, 3, 1), amount=Decimal("700000"))
    for account, value in zip(accounts[:4], (5, 3, 4, 2), strict=True):
        services.rating_add(tenant, account=account, criterion="industry_position", value=value)
    account_services.event_create(tenant, account=accounts[2], kind="expansion", occurred_on=dt.date(2026, 6, 1))
    full_run(tenant)
    return tenant, accounts, lost


def full_run(tenant):
    return services.score_run_execute(tenant, run=services.score_run_create(tenant, as_of=D))


def rescore(tenant, account):
    return services.score_run_execute(tenant, run=services.score_run_create(tenant, as_of=D, account=account))


def statement_rows(tenant, account_id: int, *, against_basis: bool) -> list[tuple[Any, ...]]:
    """The single-account statement's rows, against the basis or aggregating every order."""
    with tenant_context(tenant), connection.cursor() as cursor:
        spec = ScoringSpec.of(Scorecard.objects.get(status=ScorecardStatus.ACTIVE))
        basis = None
        if against_basis:
            row = ScoreBasis.objects.values_list("run_id", "as_of", "snapshot", "xid").get()
            basis = Basis(*row)
        cursor.execute(*scores_query(tenant.pk, D, spec, account_id=account_id, basis=basis))
        return cursor.fetchall()


def scored_ids(tenant) -> list[int]:
    with tenant_context(tenant):
        return list(Account.objects.exclude(status="lost").order_by("pk").values_list("pk", flat=True))


def assert_basis_matches_the_full_statement(tenant, context: Any = None) -> None:
    for account_id in scored_ids(tenant):
        full = statement_rows(tenant, account_id, against_basis=False)
        assert len(full) == 1
        assert statement_rows(tenant, account_id, against_basis=True) == full, (account_id, context)


def assert_basis_unusable(tenant) -> None:
    for account_id in scored_ids(tenant):
        assert statement_rows(tenant, account_id, against_basis=True) == []


def edit_at_random(tenant, accounts, rng: random.Random) -> str:
    """One change a rescore reads fresh, never from the basis (none of them touches orders or
    who is scored)."""
    account = rng.choice(accounts)
    edit = rng.choice(["rating", "event", "override", "lift", "invoice", "since", "status"])
    if edit == "rating":
        services.rating_add(tenant, account=account, criterion=rng.choice(RATING_KEYS), value=rng.randint(1, 5))
    elif edit == "event":
        account_services.event_create(
            tenant,
            account=account,
            kind=rng.choice(["major_investment", "budget_cut", "competitor_win", "expansion"]),
            occurred_on=D - dt.timedelta(days=rng.randint(0, 200)),
        )
    elif edit == "override":
        services.tier_override_set(tenant, account=account, tier=rng.choice("SABC"), reason="战略调整")
    elif edit == "lift":
        services.tier_override_lift(tenant, account=account)
    elif edit == "invoice":
        due = D - dt.timedelta(days=rng.randint(1, 300))
        paid = due + dt.timedelta(days=rng.randint(-10, 10)) if rng.random() < 0.7 else None
        InvoiceFactory(tenant=tenant, account=account, issued_on=due - dt.timedelta(days=30), due_on=due, paid_on=paid)
    elif edit == "since":
        account_services.account_update(
            tenant, account=account, cooperation_since=D - dt.timedelta(days=rng.randint(0, 4000))
        )
    else:
        account_services.account_update(tenant, account=account, status=rng.choice(["active", "dormant", "prospect"]))
    return edit


def test_the_basis_gives_the_full_statements_rows_under_random_edits(world, django_capture_on_commit_callbacks):
    tenant, accounts, _lost = world
    assert_basis_matches_the_full_statement(tenant)
    rng = random.Random(20260630)
    with django_capture_on_commit_callbacks(execute=False):
        for _ in range(12):
            edit_at_random(tenant, accounts, rng)
            assert_basis_matches_the_full_statement(tenant)
            # and: the stored snapshot of a rescore is that row
            account = rng.choice(accounts)
            run = rescore(tenant, account)
            with tenant_context(tenant):
                stored = AccountScore.objects.get(run=run)
            row = statement_rows(tenant, account.pk, against_basis=False)[0]
            assert (stored.total, stored.tier, stored.breakdown_values, stored.revenue_rank) == (
                row[4],
                row[6],
                row[11],
                row[12],
            )


def test_a_rescore_uses_the_basis_and_ranks_among_all(world, monkeypatch):
    tenant, accounts, _lost = world
    calls = spy_on_statements(monkeypatch)
    run = rescore(tenant, accounts[1])
    assert calls == ["basis"]
    with tenant_context(tenant):
        score = AccountScore.objects.get(run=run)
    # revenue_12m: A4 0 and A3 0 (tie, rank 1), A7 60,000 (3), A0 100,000 (4), A1 and A2 250,000 (5)...
    # percentile of A1 among 8: 100 * (5 - 1) / 7 = 57.142857...; the lost account's 700,000 counts in
    # the total only: 11,560,000, and A1's share 250,000 / 11,560,000 = 0.021626297577854671280...
    assert score.revenue_rank == 5
    assert score.breakdown[0]["normalized"] == 57.1429
    assert score.breakdown[0]["raw"] == 0.02162629757785467128


def spy_on_statements(monkeypatch) -> list[str]:
    calls: list[str] = []
    real = services.scores_query

    def spy(*args, **kwargs):
        calls.append("basis" if kwargs.get("basis") else "full")
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "scores_query", spy)
    return calls


@pytest.mark.parametrize("write", ["insert", "update", "delete", "into the window", "out of it", "moved"])
def test_an_order_written_moves_the_basis_by_its_amount(world, write, monkeypatch):
    tenant, accounts, _lost = world
    with tenant_context(tenant):
        order = Order.objects.filter(account=accounts[0]).order_by("order_date").last()
        old = Order.objects.filter(account=accounts[0]).order_by("order_date").first()
    if write == "insert":
        account_services.order_create(tenant, account=accounts[4], order_date=dt.date(2026, 5, 1), amount=Decimal("1"))
    elif write == "update":
        account_services.order_update(tenant, order=order, amount=Decimal("250000.00"))  # ties A1 and A2
    elif write == "delete":
        account_services.order_delete(tenant, order=order)
    elif write == "into the window":
        account_services.order_update(tenant, order=old, order_date=D - dt.timedelta(days=364))
    elif write == "out of it":
        account_services.order_update(tenant, order=order, order_date=D - dt.timedelta(days=365))
    else:
        account_services.order_update(tenant, order=order, account=accounts[3])
    assert_basis_matches_the_full_statement(tenant)
    # then: a rescore ranks against the basis and stores the full statement's row
    calls = spy_on_statements(monkeypatch)
    run = rescore(tenant, accounts[1])
    assert calls == ["basis"]
    with tenant_context(tenant):
        stored = AccountScore.objects.get(run=run)
    full = statement_rows(tenant, accounts[1].pk, against_basis=False)[0]
    assert (stored.revenue_rank, stored.breakdown_values) == (full[12], full[11])


def test_an_order_moved_into_the_window_lifts_the_rank(world):
    tenant, accounts, _lost = world
    # A4 (no orders) ties A3 at the bottom: rank 1 of 8 (A7's 60,000 is 3rd); within the window
    # 60,000.01 puts A4 just above A7
    account_services.order_create(
        tenant, account=accounts[4], order_date=D - dt.timedelta(days=400), amount=Decimal("60000.01")
    )
    assert statement_rows(tenant, accounts[4].pk, against_basis=True)[0][12] == 1
    with tenant_context(tenant):
        order = Order.objects.get(account=accounts[4])
    account_services.order_update(tenant, order=order, order_date=D)
    assert statement_rows(tenant, accounts[4].pk, against_basis=True)[0][12] == 3
    assert statement_rows(tenant, accounts[7].pk, against_basis=True)[0][12] == 2


@pytest.mark.parametrize("change", ["new account", "lost", "won back"])
def test_a_change_of_who_is_scored_moves_the_population(world, change):
    tenant, accounts, lost = world
    if change == "new account":
        account = AccountFactory(tenant=tenant, name="新客户")
        account_services.order_create(tenant, account=account, order_date=D, amount=Decimal("250000"))
    elif change == "lost":
        account_services.account_archive(tenant, account=accounts[3])
    elif change == "won back":
        account_services.account_update(tenant, account=lost, status="active")
    assert_basis_matches_the_full_statement(tenant)


def test_a_deleted_account_forces_the_full_statement(world):
    """The basis's stored ranks counted the deleted account, whose snapshots went with it."""
    tenant, accounts, _lost = world
    account_services.account_delete(tenant, account=accounts[4])  # no orders, no invoices
    assert_basis_unusable(tenant)
    run = rescore(tenant, accounts[0])
    with tenant_context(tenant):
        rank = AccountScore.objects.get(run=run).revenue_rank
    assert rank == statement_rows(tenant, accounts[0].pk, against_basis=False)[0][12]


@pytest.mark.parametrize("note", ["no basis", "another day"])
def test_a_note_the_basis_cannot_place_forces_the_full_statement(world, note, monkeypatch):
    tenant, accounts, _lost = world
    # given: an order written while the tenant had no basis, or while its basis was of another day
    with tenant_context(tenant):
        basis = ScoreBasis.objects.get()
        if note == "no basis":
            ScoreBasis.objects.filter(pk=basis.pk).delete()
        else:
            ScoreBasis.objects.filter(pk=basis.pk).update(as_of=D - dt.timedelta(days=1))
    account_services.order_create(tenant, account=accounts[4], order_date=D, amount=Decimal("1"))
    with tenant_context(tenant):
        if note == "no basis":
            basis.save(force_insert=True)
        else:
            ScoreBasis.objects.filter(pk=basis.pk).update(as_of=D)
        assert list(ScoreChange.objects.values_list("as_of", flat=True)) == [
            None if note == "no basis" else D - dt.timedelta(days=1)
        ]
    assert_basis_unusable(tenant)
    calls = spy_on_statements(monkeypatch)
    rescore(tenant, accounts[1])
    assert calls == ["basis", "full"]
    # and: the next full run is a basis again
    full_run(tenant)
    assert_basis_matches_the_full_statement(tenant)


def order_write_at_random(tenant, rng: random.Random) -> str:
    """An order inserted, updated (amount, a date across the window's edges, another account) or
    deleted; an account added, lost, won back or deleted."""
    with tenant_context(tenant):
        orders = list(Order.objects.order_by("pk"))
        accounts = list(Account.objects.order_by("pk"))
    edges = [D, D - dt.timedelta(days=364), D - dt.timedelta(days=365), D - dt.timedelta(days=366)]
    edges += [D - dt.timedelta(days=729), D - dt.timedelta(days=730), D + dt.timedelta(days=1)]

    def some_date() -> dt.date:
        return rng.choice(edges) if rng.random() < 0.5 else D - dt.timedelta(days=rng.randint(-30, 800))

    def some_amount() -> Decimal:
        # cents, and amounts that tie other accounts' revenue
        return (
            rng.choice([Decimal("250000"), Decimal("0.01")])
            if rng.random() < 0.2
            else Decimal(rng.randint(1, 10**9)) / 100
        )

    write = rng.choice(
        ["insert"] * 3 + ["amount", "date", "account", "delete", "all"] * 2 + ["add", "lose", "delete account"]
    )
    if write == "delete account" and len(accounts) < 3:
        write = "add"
    if write == "insert" or not orders:
        account_services.order_create(
            tenant, account=rng.choice(accounts), order_date=some_date(), amount=some_amount()
        )
    elif write == "amount":
        account_services.order_update(tenant, order=rng.choice(orders), amount=some_amount())
    elif write == "date":
        account_services.order_update(tenant, order=rng.choice(orders), order_date=some_date())
    elif write == "account":
        account_services.order_update(tenant, order=rng.choice(orders), account=rng.choice(accounts))
    elif write == "all":
        account_services.order_update(
            tenant, order=rng.choice(orders), account=rng.choice(accounts), order_date=some_date(), amount=some_amount()
        )
    elif write == "delete":
        account_services.order_delete(tenant, order=rng.choice(orders))
    elif write == "add":
        AccountFactory(tenant=tenant, name=f"新增{rng.randint(0, 10**6)}")
    elif write == "lose":
        account = rng.choice(accounts)
        account_services.account_update(
            tenant, account=account, status="active" if account.status == "lost" else "lost"
        )
    else:
        account = rng.choice(accounts)
        with tenant_context(tenant):
            Order.objects.filter(account=account).delete()
        account_services.account_delete(tenant, account=account)
    return write


@pytest.mark.parametrize("seed", range(4))
def test_property_random_order_writes_keep_the_basis_exact(world, seed, monkeypatch):
    # Property: after any sequence of order and account writes since the basis, every scored
    # account's statement against the basis equals the full statement's, to the cent and the rank.
    tenant, _accounts, _lost = world
    rng = random.Random(seed)
    for step in range(25):
        write = order_write_at_random(tenant, rng)
        if write == "delete account":
            # the basis's ranks counted the account: it serves no one until the next full run
            assert_basis_unusable(tenant)
            full_run(tenant)
        assert_basis_matches_the_full_statement(tenant, (step, write))
        if step % 10 == 9:
            full_run(tenant)  # a new basis forgets the notes it saw
    with tenant_context(tenant):
        account = Account.objects.get(pk=rng.choice(scored_ids(tenant)))
    calls = spy_on_statements(monkeypatch)
    rescore(tenant, account)
    assert calls == ["basis"]


def test_an_edit_that_keeps_an_account_scored_keeps_the_basis(world):
    tenant, accounts, _lost = world
    account_services.account_update(tenant, account=accounts[0], status="dormant", notes="暂停采购")
    assert_basis_matches_the_full_statement(tenant)


def test_a_percentile_of_another_metric_never_uses_the_basis(world, monkeypatch):
    tenant, accounts, _lost = world
    with tenant_context(tenant):
        Scorecard.objects.get(status=ScorecardStatus.ACTIVE).criteria.filter(key="growth").update(
            normalization="percentile", params={}
        )
    calls = spy_on_statements(monkeypatch)
    rescore(tenant, accounts[0])
    assert calls == ["full"]


def test_a_basis_is_only_for_the_same_as_of(world, monkeypatch):
    tenant, accounts, _lost = world
    calls = spy_on_statements(monkeypatch)
    services.score_run_execute(
        tenant, run=services.score_run_create(tenant, as_of=D + dt.timedelta(days=1), account=accounts[0])
    )
    assert calls == ["full"]


@pytest.mark.django_db(transaction=True)
def test_changes_are_noted_per_committed_transaction_and_tenant():
    # given: two tenants, each with a basis (every call below commits on its own)
    tenants = []
    for slug in ("jiaoyi-a", "jiaoyi-b"):
        tenant = TenantFactory(slug=slug, industry_profile="other")
        services.scorecard_seed_default(tenant)
        for amount in ("100", "300"):
            OrderFactory(tenant=tenant, account=AccountFactory(tenant=tenant), amount=Decimal(amount))
        full_run(tenant)
        tenants.append(tenant)
    a, b = tenants
    with tenant_context(a):
        assert ScoreChange.objects.count() == 0  # the full run forgot what it saw
    # when: another transaction commits an order of B, and a rating of A
    with tenant_context(b):
        account = Account.objects.first()
    OrderFactory(tenant=b, account=account, amount=Decimal("5"))
    with tenant_context(a):
        services.rating_add(a, account=Account.objects.first(), criterion="industry_position", value=4)
    # then: B has a note of the account moving by 5, A none (the note is B's alone, written as the app
    # role under RLS), and both bases give the full statement's rows
    with tenant_context(b):
        assert list(ScoreChange.objects.values_list("account_id", "revenue_delta")) == [(account.pk, Decimal("5"))]
    with tenant_context(a):
        assert ScoreChange.objects.count() == 0
    assert_basis_matches_the_full_statement(a)
    assert_basis_matches_the_full_statement(b)
