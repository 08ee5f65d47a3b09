"""Concentration against DESIGN section 6, with every number worked by hand: shares over
customer groups (the top-most parent and all its descendants), top1/top5/top10, HHI, and
the same per account without the roll-up."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kam.tenancy import tenant_context
from risk import selectors, services
from risk.models import ConcentrationSnapshot, RunKind
from tests.factories import AccountFactory, OrderFactory
from tests.risk.conftest import D, run

pytestmark = pytest.mark.django_db


def order(tenant, account, amount, day=dt.date(2026, 3, 1)):
    OrderFactory(tenant=tenant, account=account, order_date=day, amount=Decimal(amount))


def latest(tenant):
    with tenant_context(tenant):
        return selectors.concentration_latest(tenant)


def history(tenant):
    with tenant_context(tenant):
        return [snapshot.as_of for snapshot in selectors.concentration_list(tenant)]


@pytest.fixture
def groups(tenant, policy):
    # given: a group R > C1 > C2 and three stand-alone customers
    root = AccountFactory(tenant=tenant, name="集团总部 R")
    child = AccountFactory(tenant=tenant, name="子公司 C1", parent=root)
    grandchild = AccountFactory(tenant=tenant, name="孙公司 C2", parent=child)
    x = AccountFactory(tenant=tenant, name="X")
    y = AccountFactory(tenant=tenant, name="Y")
    z = AccountFactory(tenant=tenant, name="Z")
    quiet = AccountFactory(tenant=tenant, name="Quiet")
    order(tenant, root, "300")
    order(tenant, child, "150")
    order(tenant, child, "50", day=D)  # on D: inside the 12 months
    order(tenant, grandchild, "100")
    order(tenant, x, "250")
    order(tenant, y, "100")
    order(tenant, z, "50", day=D - dt.timedelta(days=364))  # the oldest day inside (D-365, D]
    order(tenant, quiet, "999", day=D - dt.timedelta(days=365))  # on D-365: outside
    order(tenant, quiet, "999", day=D + dt.timedelta(days=1))  # after D: ignored
    return {"root": root, "child": child, "grandchild": grandchild, "x": x, "y": y, "z": z, "quiet": quiet}


def test_group_roll_up_shares_and_hhi(tenant, groups):
    # when
    result = run(tenant, kind=RunKind.CONCENTRATION)
    # then
    assert result.status == "done"
    snapshot = latest(tenant)
    # groups: R+C1+C2 = 300 + 200 + 100 = 600; X 250; Y 100; Z 50; Quiet 0 (no group) -> total 1000
    # shares .60, .25, .10, .05; top1 .6; top5 = top10 = all four = 1.0
    # HHI = 60^2 + 25^2 + 10^2 + 5^2 = 3600 + 625 + 100 + 25 = 4350
    assert (snapshot.as_of, snapshot.total_revenue_12m, snapshot.group_count) == (D, Decimal("1000.00"), 4)
    assert (snapshot.top1_share, snapshot.top5_share, snapshot.top10_share, snapshot.hhi) == (
        Decimal("0.6"),
        Decimal("1"),
        Decimal("1"),
        Decimal("4350"),
    )
    group = snapshot.groups[0]
    assert (group["root"], group["root_name"], group["revenue_12m"], group["share"]) == (
        groups["root"].pk,
        "集团总部 R",
        "600.00",
        0.6,
    )
    assert [(a["name"], a["revenue_12m"], a["share"]) for a in group["accounts"]] == [
        ("集团总部 R", "300.00", 0.3),
        ("子公司 C1", "200.00", 0.2),
        ("孙公司 C2", "100.00", 0.1),
    ]
    assert [(g["root_name"], g["share"]) for g in snapshot.groups] == [
        ("集团总部 R", 0.6),
        ("X", 0.25),
        ("Y", 0.1),
        ("Z", 0.05),
    ]


def test_account_figures_without_roll_up(tenant, groups):
    run(tenant, kind=RunKind.CONCENTRATION)
    snapshot = latest(tenant)
    # accounts: R 300 (.30), X 250 (.25), C1 200 (.20), Y 100 (.10), C2 100 (.10), Z 50 (.05)
    # top1 .30; top5 = .30 + .25 + .20 + .10 + .10 = .95; top10 = 1.0
    # HHI = 900 + 625 + 400 + 100 + 100 + 25 = 2150
    assert (snapshot.account_count, snapshot.account_top1_share, snapshot.account_top5_share) == (
        6,
        Decimal("0.3"),
        Decimal("0.95"),
    )
    assert (snapshot.account_top10_share, snapshot.account_hhi) == (Decimal("1"), Decimal("2150"))
    # the tie of C2 and Y at 100 is broken by id: C2 was made first
    assert [(a["name"], a["share"], a["root"]) for a in snapshot.accounts] == [
        ("集团总部 R", 0.3, groups["root"].pk),
        ("X", 0.25, groups["x"].pk),
        ("子公司 C1", 0.2, groups["root"].pk),
        ("孙公司 C2", 0.1, groups["root"].pk),
        ("Y", 0.1, groups["y"].pk),
        ("Z", 0.05, groups["z"].pk),
    ]


def test_top5_and_top10_take_the_largest_of_many(tenant, policy):
    # given: twelve stand-alone customers buying 1, 2, ..., 12
    for amount in range(1, 13):
        order(tenant, AccountFactory(tenant=tenant, name=f"客户 {amount:02d}"), str(amount))
    # when
    snapshot = services.concentration_take(tenant, as_of=D)
    # then: total = 78; top1 = 12/78 = .15384615; top5 = (12+11+10+9+8)/78 = 50/78 = .64102564;
    # top10 = (78 - 1 - 2)/78 = 75/78 = .96153846; HHI = 10000 * (1^2 + ... + 12^2) / 78^2 = 6,500,000 / 6084
    # = 1068.37607...
    assert (snapshot.total_revenue_12m, snapshot.group_count) == (Decimal("78.00"), 12)
    assert snapshot.top1_share == Decimal("0.15384615")
    assert snapshot.top5_share == Decimal("0.64102564")
    assert snapshot.top10_share == Decimal("0.96153846")
    assert snapshot.hhi == Decimal("1068.3761")


def test_fewer_than_five_groups_sum_all_and_an_empty_tenant_is_zero(tenant, other_tenant, policy):
    order(tenant, AccountFactory(tenant=tenant), "40")
    order(tenant, AccountFactory(tenant=tenant), "60")
    two = services.concentration_take(tenant, as_of=D)
    # shares .4 and .6: top1 .6, top5 = top10 = 1; HHI = 1600 + 3600 = 5200
    assert (two.top1_share, two.top5_share, two.top10_share, two.hhi) == (
        Decimal("0.6"),
        Decimal("1"),
        Decimal("1"),
        Decimal("5200"),
    )
    services.risk_policy_seed_default(other_tenant)
    empty = services.concentration_take(other_tenant, as_of=D)
    assert (empty.total_revenue_12m, empty.group_count, empty.top1_share, empty.hhi, empty.groups) == (
        Decimal("0"),
        0,
        Decimal("0"),
        Decimal("0"),
        [],
    )


def test_a_rerun_of_the_day_replaces_the_snapshot(tenant, groups):
    run(tenant, kind=RunKind.CONCENTRATION)
    order(tenant, groups["z"], "1000")  # Z now 1050 of 2000
    run(tenant, kind=RunKind.CONCENTRATION)
    with tenant_context(tenant):
        snapshots = list(ConcentrationSnapshot.objects.all())
    assert len(snapshots) == 1
    assert (snapshots[0].total_revenue_12m, snapshots[0].top1_share) == (Decimal("2000.00"), Decimal("0.525"))
    run(tenant, as_of=D + dt.timedelta(days=1), kind=RunKind.CONCENTRATION)
    assert history(tenant) == [D + dt.timedelta(days=1), D]


def test_lines_say_which_figures_cross_them(tenant, groups, policy):
    run(tenant, kind=RunKind.CONCENTRATION)
    lines = selectors.concentration_lines(policy, latest(tenant))
    # top1 .6 >= .20 critical; top5 1.0 >= .5 warning; HHI 4350 >= 2500 critical
    assert [(line["key"], line["level"]) for line in lines] == [
        ("top1_share", "critical"),
        ("top5_share", "warning"),
        ("hhi", "critical"),
    ]
