"""The score run against DESIGN section 4, with every expected number worked by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from accounts import services as account_services
from accounts.models import Account
from kam.tenancy import tenant_context
from scoring import services
from scoring.models import AccountScore, Scorecard, ScorecardStatus
from tests.factories import AccountFactory, InvoiceFactory, OrderFactory, TenantFactory

pytestmark = pytest.mark.django_db

D = dt.date(2026, 6, 30)
D2 = dt.date(2026, 7, 1)


def orders(tenant, account, **amounts):
    """12m revenue on 2026-01-15, prev-12m revenue on 2025-01-15 (both far from the window edges)."""
    if amounts.get("now"):
        OrderFactory(tenant=tenant, account=account, order_date=dt.date(2026, 1, 15), amount=Decimal(amounts["now"]))
    if amounts.get("prev"):
        OrderFactory(tenant=tenant, account=account, order_date=dt.date(2025, 1, 15), amount=Decimal(amounts["prev"]))


@pytest.fixture
def world(db, django_capture_on_commit_callbacks):
    # given: a manufacturing tenant (tiers A and S gated at revenue_12m >= 10,000,000)
    tenant = TenantFactory(slug="gongchang", industry_profile="manufacturing")
    services.scorecard_seed_default(tenant)
    x = AccountFactory(tenant=tenant, name="X", cooperation_since=dt.date(2020, 6, 30))
    y = AccountFactory(tenant=tenant, name="Y")
    z = AccountFactory(tenant=tenant, name="Z", cooperation_since=dt.date(2023, 6, 30))
    lost = AccountFactory(tenant=tenant, name="Lost", status="lost")
    orders(tenant, x, now="6000000", prev="4000000")
    orders(tenant, y, now="2000000")
    OrderFactory(tenant=tenant, account=y, order_date=dt.date(2025, 12, 31), amount=Decimal("1000000"))
    orders(tenant, z, now="500000", prev="2000000")
    orders(tenant, lost, now="500000")  # not scored, but counts in the tenant total
    with django_capture_on_commit_callbacks(execute=False):
        for account, ratings in ((x, (5, 4, 3)), (z, (3, 3, 5))):
            for key, value in zip(("industry_position", "tech_leadership", "payment_credit"), ratings, strict=True):
                services.rating_add(tenant, account=account, criterion=key, value=value)
        account_services.event_create(tenant, account=z, kind="major_investment", occurred_on=dt.date(2026, 6, 1))
        account_services.event_create(
            tenant, account=y, kind="budget_cut", occurred_on=dt.date(2025, 1, 1)
        )  # expired 2025-06-30
    return tenant, x, y, z


def run(tenant, as_of):
    created = services.score_run_create(tenant, as_of=as_of)
    return services.score_run_execute(tenant, run=created)


def scores(tenant, run_):
    with tenant_context(tenant):
        return {s.account.name: s for s in AccountScore.objects.filter(run=run_).select_related("account")}


def test_full_run_matches_the_hand_computation(world):
    tenant, x, y, z = world
    result = run(tenant, D)
    got = scores(tenant, result)
    assert result.accounts_scored == 3  # the lost account is not scored
    # tenant revenue_12m = 6,000,000 + 3,000,000 + 500,000 + 500,000 (lost) = 10,000,000
    # shares X .6, Y .3, Z .05 -> percentile among the three: Z 0, Y 50, X 100
    # X: growth (6-4)/4 = .5 -> linear(-.2,.5) 100; years 2191/365.25 = 5.9986 -> band 100; ratings 5,4,3 -> 100,75,50
    #    base = (30*100 + 15*100 + 10*100 + 20*100 + 10*75 + 15*50) / 100 = 90.00; revenue 6M < 10M gate: S, A fail -> B
    assert (got["X"].base, got["X"].total, got["X"].computed_tier, got["X"].tier) == (
        Decimal("90.0000"),
        Decimal("90.00"),
        "B",
        "B",
    )
    # Y: prev 0 and revenue > 0 -> growth 1.0 -> 100; first order 2025-12-31: 181 days -> .4956 years -> band 0;
    #    no ratings -> 0 and incomplete; base = (30*50 + 15*100) / 100 = 30.00; the budget cut expired -> C
    assert (got["Y"].total, got["Y"].adjustments, got["Y"].tier, got["Y"].incomplete) == (
        Decimal("30.00"),
        Decimal("0.00"),
        "C",
        True,
    )
    # Z: growth (.5-2)/2 = -.75 -> 0; years 1096/365.25 = 3.0007 -> 70; ratings 3,3,5 -> 50,50,100
    #    base = (10*70 + 20*50 + 10*50 + 15*100) / 100 = 37.00; major investment +10 active -> 47.00 -> B
    assert (got["Z"].base, got["Z"].adjustments, got["Z"].total, got["Z"].tier, got["Z"].incomplete) == (
        Decimal("37.0000"),
        Decimal("10.00"),
        Decimal("47.00"),
        "B",
        False,
    )
    breakdown = {row["key"]: row for row in got["X"].breakdown}
    assert breakdown["tech_leadership"] == {
        "key": "tech_leadership",
        "raw": 4,
        "normalized": 75.0,
        "weight": 10.0,
        "weighted": 7.5,
    }
    assert breakdown["revenue_share"]["raw"] == 0.6
    with tenant_context(tenant):
        assert dict(Account.objects.values_list("name", "tier")) == {"X": "B", "Y": "C", "Z": "B", "Lost": ""}


def test_the_run_stores_why_each_tier(world):
    tenant, x, y, z = world
    got = scores(tenant, run(tenant, D))
    # X 90.00 reaches S, but both S and A gate at 10,000,000 of revenue: B, held by S's gate first
    assert (got["X"].computed_tier, got["X"].tier_reason, got["X"].gated_tier) == ("B", "gate", "S")
    # Y 30.00 reaches no tier above C; Z 47.00 reaches B (45) and not A (65)
    assert (got["Y"].computed_tier, got["Y"].tier_reason, got["Y"].gated_tier) == ("C", "threshold", "")
    assert (got["Z"].computed_tier, got["Z"].tier_reason, got["Z"].gated_tier) == ("B", "threshold", "")
    # when Z falls to 43.50 the next day, within 2 points of B: kept by the hysteresis
    account_services.event_create(
        tenant, account=z, kind="competitor_win", occurred_on=D2, impact_points=Decimal("-3.5")
    )
    got = scores(tenant, run(tenant, D2))
    assert (got["Z"].computed_tier, got["Z"].tier_reason, got["Z"].gated_tier) == ("B", "hysteresis", "")


def test_a_tier_set_by_hand_keeps_the_reason_of_the_computed_tier(world):
    tenant, x, *_ = world
    services.tier_override_set(tenant, account=x, tier="S", reason="战略合作伙伴")
    got = scores(tenant, run(tenant, D))
    assert (got["X"].tier, got["X"].computed_tier, got["X"].tier_reason, got["X"].gated_tier) == (
        "S",
        "B",
        "gate",
        "S",
    )


def test_same_as_of_twice_gives_the_same_result(world):
    tenant, *_ = world
    first = {k: (v.total, v.tier, v.breakdown) for k, v in scores(tenant, run(tenant, D)).items()}
    second = {k: (v.total, v.tier, v.breakdown) for k, v in scores(tenant, run(tenant, D)).items()}
    assert first == second


def test_hysteresis_keeps_the_higher_tier_within_two_points(world):
    tenant, x, y, z = world
    run(tenant, D)  # Z computed B at 47.00
    # when: a competitor win of -3.5 on D2 -> 37 + 10 - 3.5 = 43.5, below B (45) but >= 45 - 2
    account_services.event_create(
        tenant, account=z, kind="competitor_win", occurred_on=D2, impact_points=Decimal("-3.5")
    )
    got = scores(tenant, run(tenant, D2))
    assert (got["Z"].total, got["Z"].previous_tier, got["Z"].computed_tier) == (Decimal("43.50"), "B", "B")
    # and: another -1 -> 42.5 < 43: C
    account_services.event_create(tenant, account=z, kind="budget_cut", occurred_on=D2, impact_points=Decimal("-1"))
    got = scores(tenant, run(tenant, D2))
    assert (got["Z"].total, got["Z"].computed_tier) == (Decimal("42.50"), "C")


def test_gate_decides_when_revenue_reaches_it(world):
    tenant, x, *_ = world
    OrderFactory(tenant=tenant, account=x, order_date=dt.date(2026, 2, 1), amount=Decimal("4000000"))
    # X now 10,000,000 of 14,000,000: still the top share (100); growth (10-4)/4 = 1.5 -> 100: base 90 -> S
    got = scores(tenant, run(tenant, D))
    assert (got["X"].total, got["X"].tier) == (Decimal("90.00"), "S")


def test_override_wins_while_active(world):
    tenant, x, *_ = world
    services.tier_override_set(tenant, account=x, tier="A", reason="战略合作伙伴", expires_on=dt.date(2099, 1, 1))
    got = scores(tenant, run(tenant, D))
    assert (got["X"].computed_tier, got["X"].override_tier, got["X"].tier) == ("B", "A", "A")
    services.tier_override_lift(tenant, account=x)
    got = scores(tenant, run(tenant, D))
    assert (got["X"].override_tier, got["X"].tier) == ("", "B")


def test_single_account_rescore_ranks_among_all(world):
    tenant, x, y, z = world
    created = services.score_run_create(tenant, as_of=D, account=y)
    result = services.score_run_execute(tenant, run=created)
    got = scores(tenant, result)
    assert list(got) == ["Y"]
    assert got["Y"].breakdown[0]["normalized"] == 50.0  # percentile among the three, not alone


def test_preview_writes_nothing(world):
    tenant, *_ = world
    with tenant_context(tenant):
        draft = Scorecard.objects.get(status=ScorecardStatus.ACTIVE)
        before = AccountScore.objects.count()
    rows = services.score_preview(tenant, scorecard=draft, as_of=D)
    assert sorted((row["name"], row["total"]) for row in rows) == [
        ("X", Decimal("90.00")),
        ("Y", Decimal("30.00")),
        ("Z", Decimal("47.00")),
    ]
    with tenant_context(tenant):
        assert AccountScore.objects.count() == before


def test_consulting_profile_has_no_gate_and_a_demonstration_criterion(db):
    tenant = TenantFactory(slug="zixun", industry_profile="consulting")
    scorecard = services.scorecard_seed_default(tenant)
    with tenant_context(tenant):
        keys = list(scorecard.criteria.values_list("key", flat=True))
        gates = set(scorecard.tiers.values_list("min_revenue_12m", flat=True))
    assert keys[-1] == "demonstration_effect"
    assert gates == {None}


def test_pareto_over_all_accounts_with_revenue(world):
    tenant, *_ = world
    # revenue_12m: X 6,000,000, Y 3,000,000, Z 500,000, Lost 500,000 -> N = 4, k = ceil(0.8) = 1
    # top20_share = 6,000,000 / 10,000,000
    result = run(tenant, D)
    assert (result.pareto_accounts, result.pareto_top_count, result.total_revenue_12m, result.top20_share) == (
        4,
        1,
        Decimal("10000000.00"),
        Decimal("0.600000"),
    )


def test_score_command(world):
    from io import StringIO

    from django.core.management import call_command

    tenant, *_ = world
    out = StringIO()
    call_command("score", "--tenant", tenant.slug, "--as-of", "2026-06-30", stdout=out)
    assert "3 accounts scored" in out.getvalue()
    assert "top 20% share 0.600000" in out.getvalue()


def test_percentile_ties_share_the_rank(db):
    # given: four accounts, two with the same revenue
    tenant = TenantFactory(slug="ties", industry_profile="other")
    services.scorecard_seed_default(tenant)
    for name, amount in (("a", "100"), ("b", "200"), ("c", "200"), ("d", "400")):
        account = AccountFactory(tenant=tenant, name=name)
        orders(tenant, account, now=amount)
    got = scores(tenant, run(tenant, D))
    # percent_rank ascending: a 0/3, b and c tie at rank 2 -> 1/3, d 3/3
    assert [got[name].breakdown[0]["normalized"] for name in "abcd"] == [0.0, 33.3333, 33.3333, 100.0]


def test_event_window_edges(world):
    tenant, x, y, z = world
    # Z's major investment occurred on 2026-06-01 and expires on 2026-11-28 (180 days)
    assert scores(tenant, run(tenant, dt.date(2026, 5, 31)))["Z"].adjustments == Decimal("0.00")  # the day before
    assert scores(tenant, run(tenant, dt.date(2026, 6, 1)))["Z"].adjustments == Decimal("10.00")  # occurred_on counts
    assert scores(tenant, run(tenant, dt.date(2026, 11, 27)))["Z"].adjustments == Decimal("10.00")  # last day
    assert scores(tenant, run(tenant, dt.date(2026, 11, 28)))["Z"].adjustments == Decimal("0.00")  # expires_on does not


def test_override_expires(world):
    tenant, x, *_ = world
    services.tier_override_set(tenant, account=x, tier="S", reason="集团战略", expires_on=dt.date(2099, 12, 31))
    assert scores(tenant, run(tenant, D))["X"].tier == "S"
    assert scores(tenant, run(tenant, dt.date(2099, 12, 31)))["X"].override_tier == ""  # expired on its expiry day


def test_total_is_rounded_half_up(db):
    # given: weights 1 and 7 on two ratings, the first rated 2 (25 points), the second not (0)
    # base = (1 * 25 + 7 * 0) / 8 = 3.125 exactly: half up gives 3.13 (banker's rounding would give 3.12)
    tenant = TenantFactory(slug="rounding", industry_profile="other")
    scorecard = services.scorecard_seed_default(tenant)
    with tenant_context(tenant):
        scorecard.criteria.exclude(key__in=["industry_position", "tech_leadership"]).delete()
        scorecard.criteria.filter(key="industry_position").update(weight=1)
        scorecard.criteria.filter(key="tech_leadership").update(weight=7)
    account = AccountFactory(tenant=tenant, name="半数")
    services.rating_add(tenant, account=account, criterion="industry_position", value=2)
    got = scores(tenant, run(tenant, D))
    assert (got["半数"].base, got["半数"].total) == (Decimal("3.1250"), Decimal("3.13"))


def test_missing_rating_uses_the_missing_value_and_marks_incomplete(db):
    tenant = TenantFactory(slug="missing", industry_profile="other")
    scorecard = services.scorecard_seed_default(tenant)
    with tenant_context(tenant):
        scorecard.criteria.exclude(key="payment_credit").delete()
        scorecard.criteria.filter(key="payment_credit").update(weight=100, missing_value=Decimal("40"))
    AccountFactory(tenant=tenant, name="未评级")
    got = scores(tenant, run(tenant, D))
    assert (got["未评级"].total, got["未评级"].incomplete) == (Decimal("40.00"), True)
    assert got["未评级"].breakdown[0]["raw"] is None


def test_a_scorecard_edit_leaves_past_snapshots_unchanged(world):
    tenant, *_ = world
    first = run(tenant, D)
    before = {k: (v.total, v.breakdown) for k, v in scores(tenant, first).items()}
    with tenant_context(tenant):
        active = Scorecard.objects.get(status=ScorecardStatus.ACTIVE)
        spec = {
            "criteria": list(
                active.criteria.values(
                    "key",
                    "label_zh",
                    "label_en",
                    "kind",
                    "metric",
                    "normalization",
                    "params",
                    "weight",
                    "missing_value",
                )
            ),
            "tiers": list(active.tiers.values("tier", "threshold", "min_revenue_12m")),
        }
    spec["criteria"][0]["weight"] = Decimal("20")
    spec["criteria"][1]["weight"] = Decimal("25")
    draft = services.scorecard_create_draft(tenant, spec=spec)
    services.scorecard_activate(tenant, scorecard=draft)
    second = run(tenant, D)
    assert {k: (v.total, v.breakdown) for k, v in scores(tenant, first).items()} == before
    assert scores(tenant, second)["Y"].total != before["Y"][0]


@pytest.mark.django_db(transaction=True)
def test_two_runs_of_one_tenant_are_serialised():
    import threading
    import zlib

    from django.db import connection, transaction

    tenant = TenantFactory(slug="serial", industry_profile="other")
    services.scorecard_seed_default(tenant)
    AccountFactory(tenant=tenant)
    queued = services.score_run_create(tenant, as_of=D)
    finished = []

    def second_run():
        try:
            services.score_run_execute(tenant, run=queued)
            finished.append(time_now())
        finally:
            connection.close()

    def time_now():
        import time

        return time.monotonic()

    # given: a run of this tenant holds the lock (an open transaction)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [zlib.crc32(b"score") & 0x7FFFFFFF, tenant.pk])
        worker = threading.Thread(target=second_run)
        worker.start()
        worker.join(timeout=1.0)
        # then: the second run waits while the first holds the lock
        assert worker.is_alive() and finished == []
        released = time_now()
    worker.join(timeout=30)
    assert finished and finished[0] >= released


def test_previous_tier_is_the_latest_earlier_snapshot_whichever_run_wrote_it(world):
    tenant, x, y, z = world
    before, yesterday = D - dt.timedelta(days=2), D - dt.timedelta(days=1)
    # Z on the day before: 1094 days since 2023-06-30 are 2.995 years -> band 40, not 70:
    # base (10*40 + 20*50 + 10*50 + 15*100) / 100 = 34 + 10 = 44.00 -> C
    run(tenant, before)  # X B, Y C, Z C
    account_services.account_archive(tenant, account=z)
    run(tenant, yesterday)  # Z lost: not scored; X B, Y C
    account_services.account_update(tenant, account=z, status="active")
    # Y alone, later on yesterday: +20 -> 50.00 -> B
    account_services.event_create(
        tenant, account=y, kind="expansion", occurred_on=yesterday, impact_points=Decimal("20")
    )
    services.score_run_execute(tenant, run=services.score_run_create(tenant, as_of=yesterday, account=y))
    got = scores(tenant, run(tenant, D))
    # X: yesterday's full run; Y: its own later snapshot of yesterday, not the full run's C;
    # Z: the snapshot of the day before, the latest it has
    assert {name: got[name].previous_tier for name in "XYZ"} == {"X": "B", "Y": "B", "Z": "C"}


@pytest.mark.parametrize("runs_the_day_before", [1, 5])
def test_previous_tier_comes_from_the_last_of_the_days_runs(world, runs_the_day_before):
    # given: full runs of yesterday, the last one after Y gained 20 points (30 -> 50: C -> B)
    tenant, x, y, z = world
    yesterday = D - dt.timedelta(days=1)
    for _ in range(runs_the_day_before - 1):
        run(tenant, yesterday)
    account_services.event_create(
        tenant, account=y, kind="expansion", occurred_on=yesterday, impact_points=Decimal("20")
    )
    run(tenant, yesterday)
    # then: today's run takes the last one's tiers
    # (Z yesterday: 1095 days are 2.998 years -> band 40: 34 + 10 = 44.00 -> C)
    got = scores(tenant, run(tenant, D))
    assert {name: got[name].previous_tier for name in "XYZ"} == {"X": "B", "Y": "B", "Z": "C"}


def test_margin_and_payments_on_time(db):
    # given: a scorecard of margin and payments on time, linear from 0 to 1, weight 50 each
    tenant = TenantFactory(slug="maoli", industry_profile="other")
    scorecard = services.scorecard_seed_default(tenant)
    with tenant_context(tenant):
        scorecard.criteria.exclude(key__in=["growth", "cooperation_years"]).delete()
        scorecard.criteria.filter(key="growth").update(
            key="margin", metric="margin", params={"lo": 0, "hi": 1}, weight=50
        )
        scorecard.criteria.filter(key="cooperation_years").update(
            key="payment_on_time",
            metric="payment_on_time",
            normalization="linear",
            params={"lo": 0, "hi": 1},
            weight=50,
        )
    account = AccountFactory(tenant=tenant, name="毛利")
    # margin over the orders with a cost: (1,000 - 600) / 1,000 = 0.4 -> 40 (the order without cost is left out)
    OrderFactory(tenant=tenant, account=account, amount=Decimal("1000"), cost=Decimal("600"))
    OrderFactory(tenant=tenant, account=account, amount=Decimal("500"))
    # 3 of the 4 invoices due in the window paid on or before their due date -> 0.75 -> 75; one due later ignored
    for due, paid in (("2026-03-31", "2026-03-31"), ("2026-04-30", "2026-04-01"), ("2026-05-31", "2026-05-20")):
        InvoiceFactory(
            tenant=tenant, account=account, due_on=dt.date.fromisoformat(due), paid_on=dt.date.fromisoformat(paid)
        )
    InvoiceFactory(tenant=tenant, account=account, due_on=dt.date(2026, 6, 15), paid_on=dt.date(2026, 6, 16))
    InvoiceFactory(tenant=tenant, account=account, due_on=dt.date(2026, 7, 15))
    got = scores(tenant, run(tenant, D))["毛利"]
    assert [(row["key"], row["raw"], row["normalized"]) for row in got.breakdown] == [
        ("margin", 0.4, 40.0),
        ("payment_on_time", 0.75, 75.0),
    ]
    assert got.total == Decimal("57.50")  # (50 * 40 + 50 * 75) / 100


def test_a_run_counts_the_accounts_that_moved_and_updates_those_that_changed(world):
    tenant, x, y, z = world
    first = run(tenant, D)
    assert (first.moved_up, first.moved_down) == (0, 0)  # no tier before the first run
    # when: X passes the revenue gate (S) and Z falls to C (37 + 10 - 15 = 32)
    OrderFactory(tenant=tenant, account=x, order_date=dt.date(2026, 2, 1), amount=Decimal("4000000"))
    account_services.event_create(tenant, account=z, kind="competitor_win", occurred_on=D, impact_points=Decimal("-15"))
    with tenant_context(tenant):
        Account.objects.filter(pk=y.pk).update(score=Decimal("99.99"))  # a stale score is put right too
    second = run(tenant, D)
    assert (second.moved_up, second.moved_down) == (1, 1)
    with tenant_context(tenant):
        now = {a.name: (a.tier, a.score) for a in Account.objects.all()}
    assert now == {
        "X": ("S", Decimal("90.00")),
        "Y": ("C", Decimal("30.00")),
        "Z": ("C", Decimal("32.00")),
        "Lost": ("", None),
    }


@pytest.mark.django_db(transaction=True)
def test_an_account_deleted_during_a_run_waits_for_it_and_takes_its_snapshot_along():
    import threading
    import time

    from django.db import connection, transaction

    tenant = TenantFactory(slug="shanchu", industry_profile="other")
    services.scorecard_seed_default(tenant)
    keep = AccountFactory(tenant=tenant, name="留")
    gone = AccountFactory(tenant=tenant, name="删")  # no orders or invoices: it may be deleted
    services.score_run_execute(tenant, run=services.score_run_create(tenant, as_of=D))
    queued = services.score_run_create(tenant, as_of=D)  # changes no account: locks none of their rows
    deleted = []

    def delete():
        try:
            account_services.account_delete(tenant, account=gone)
            deleted.append(time.monotonic())
        finally:
            connection.close()

    # given: a second run that has written its snapshots and not committed yet
    with transaction.atomic():
        services.score_run_execute(tenant, run=queued)
        worker = threading.Thread(target=delete)
        worker.start()
        worker.join(timeout=1.0)
        # then: the delete waits for the run
        assert worker.is_alive() and deleted == []
        committed = time.monotonic()
    worker.join(timeout=30)
    assert deleted and deleted[0] >= committed
    # and: no snapshot outlives its account
    with tenant_context(tenant):
        assert sorted(AccountScore.objects.values_list("account_id", flat=True)) == [keep.pk, keep.pk]
