"""Reads of the dashboards: the snapshots and current values that scoring, risk, teams and
accounts keep, never raw orders or invoices (DESIGN section 9: pages read snapshots and
denormalised values). Every function takes the tenant first and costs one query, whatever
the number of accounts.

The apps' own selectors are used where they serve (tier summary, concentration, alert
counts, plan actions); what the dashboards need beyond them — the Pareto curve, the tier x
health matrix, the tier migration, the key accounts' team coverage, the latest run ids —
is here.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet

from accounts.access import own_or_served
from accounts.models import Account, AccountStatus, Contract, Tier
from kam.models import Membership, RunStatus, Tenant
from kam.tenancy import tenant_selector
from risk.models import AlertKind, AlertStatus, HealthAssessment, RiskAlert, RiskRun, RunKind
from scoring.models import AccountScore, ScoreRun
from teams.models import AccountTeam

# The tiers whose dedicated teams the dashboards watch (DESIGN section 5: staffing rules of S and A).
KEY_TIERS = (Tier.S, Tier.A)


# --- the latest finished runs: what the live refresh compares ----------------------------------------


@dataclass(frozen=True)
class DataVersion:
    """The latest finished score run and risk run of a tenant (ids, None before the first)."""

    score_run: int | None
    risk_run: int | None

    @property
    def token(self) -> str:
        return f"{self.score_run or 0}-{self.risk_run or 0}"

    @classmethod
    def parse(cls, token: str) -> DataVersion | None:
        """The version a page was rendered with, from its token; None for garbage."""
        try:
            score, risk = (int(part) for part in token.split("-"))
        except (AttributeError, ValueError):
            return None
        return cls(score or None, risk or None)


@tenant_selector
def data_version(tenant: Tenant) -> DataVersion:
    """The runs that finished last (by finish time: a long full run may finish after a later
    single-account rescore). One statement, two index scans of a tenant's few runs."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT
              (SELECT id FROM {ScoreRun._meta.db_table} WHERE tenant_id = %(tenant)s AND status = %(done)s
                ORDER BY finished_at DESC NULLS LAST, id DESC LIMIT 1),
              (SELECT id FROM {RiskRun._meta.db_table} WHERE tenant_id = %(tenant)s AND status = %(done)s
                ORDER BY finished_at DESC NULLS LAST, id DESC LIMIT 1)
            """,
            {"tenant": tenant.pk, "done": RunStatus.DONE},
        )
        score_run, risk_run = cursor.fetchone()
    return DataVersion(score_run, risk_run)


# --- Pareto (二八定律) --------------------------------------------------------------------------------

# The curve is drawn through these shares of the accounts (percent), the top ones first.
PARETO_STEPS = tuple(range(5, 101, 5))


@dataclass(frozen=True)
class ParetoPoint:
    """The top ``accounts`` of ``total_accounts`` (by revenue_12m) bring ``revenue_share`` of the revenue."""

    accounts: int
    total_accounts: int
    revenue: Decimal
    revenue_share: float

    @property
    def accounts_share(self) -> float:
        return self.accounts / self.total_accounts if self.total_accounts else 0.0


@tenant_selector
def pareto_curve(tenant: Tenant, run: ScoreRun) -> list[ParetoPoint]:
    """The cumulative revenue share of the top 5 %, 10 %, ... 100 % of the run's accounts with
    revenue_12m > 0 (DESIGN section 4's population and order: ceil(p * N) accounts, revenue
    descending), from the run's snapshots. Points that fall on the same account (few
    accounts) are given once."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH accounts AS (
                SELECT account_id, revenue_12m FROM {AccountScore._meta.db_table}
                WHERE tenant_id = %(tenant)s AND run_id = %(run)s AND revenue_12m > 0
            ),
            totals AS (SELECT count(*) AS n, sum(revenue_12m) AS total FROM accounts),
            positions AS (
                SELECT DISTINCT CEIL(totals.n * step / 100.0)::bigint AS position
                FROM totals CROSS JOIN unnest(%(steps)s::int[]) AS step
            ),
            ranked AS (
                SELECT row_number() OVER w AS position,
                       sum(revenue_12m) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running
                FROM accounts
                WINDOW w AS (ORDER BY revenue_12m DESC, account_id)
            )
            SELECT ranked.position, totals.n, ranked.running, totals.total
            FROM ranked JOIN positions USING (position) CROSS JOIN totals
            ORDER BY ranked.position
            """,
            {"tenant": tenant.pk, "run": run.pk, "steps": list(PARETO_STEPS)},
        )
        rows = cursor.fetchall()
    return [
        ParetoPoint(position, n, running, float(running / total) if total else 0.0)
        for position, n, running, total in rows
    ]


# --- tier x health band ------------------------------------------------------------------------------


def health_matrix(accounts: QuerySet[Account]) -> Counter[tuple[str, str]]:
    """(tier, health band) -> accounts, over current values ('' for not tiered / not assessed).
    Archived (lost) accounts are left out: the runs no longer score or assess them."""
    rows = (
        accounts.exclude(status=AccountStatus.LOST)
        .order_by()
        .values("tier", "health_band")
        .annotate(count=Count("id"))
        .values_list("tier", "health_band", "count")
    )
    return Counter({(tier, band): count for tier, band, count in rows})


# --- tier migration ------------------------------------------------------------------------------------


@tenant_selector
def baseline_run(tenant: Tenant, *, on_or_before: dt.date) -> ScoreRun | None:
    """The last full score run as of the day or before: the tiers at a period's start."""
    return (
        ScoreRun.objects.filter(status=RunStatus.DONE, account__isnull=True, as_of__lte=on_or_before)
        .order_by("-as_of", F("finished_at").desc(nulls_last=True), "-id")
        .first()
    )


@tenant_selector
def tier_migration(tenant: Tenant, baseline: ScoreRun) -> Counter[tuple[str, str]]:
    """(tier in the baseline run's snapshot, current tier) -> accounts. '' on the left: not in
    the baseline (new since); '' on the right: archived since, or not tiered now."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT COALESCE(s.tier, ''), COALESCE(a.tier, ''), count(*)
            FROM (SELECT account_id, tier FROM {AccountScore._meta.db_table}
                  WHERE tenant_id = %(tenant)s AND run_id = %(run)s) s
            FULL JOIN (SELECT id, tier FROM {Account._meta.db_table}
                       WHERE tenant_id = %(tenant)s AND status <> %(lost)s AND tier <> '') a
              ON a.id = s.account_id
            GROUP BY 1, 2
            """,
            {"tenant": tenant.pk, "run": baseline.pk, "lost": AccountStatus.LOST},
        )
        return Counter({(before, now): count for before, now, count in cursor.fetchall()})


# --- team coverage of the key accounts -----------------------------------------------------------------


@dataclass
class TierCoverage:
    tier: str
    accounts: int = 0
    no_team: int = 0
    with_gaps: int = 0

    @property
    def staffed(self) -> int:
        """Accounts with a team that meets its tier's staffing rules."""
        return self.accounts - self.no_team - self.with_gaps


@tenant_selector
def key_account_coverage(tenant: Tenant) -> dict[str, TierCoverage]:
    """Per key tier (S, A): the accounts, those without a team, and those whose team has gaps.

    Gaps are the open ``team_gap`` alerts: the nightly risk run measures every S and A
    team against the staffing rules (teams' coverage), so this reads its result instead of
    re-measuring 1,000s of teams per page view."""
    open_gap = RiskAlert.objects.filter(
        account=OuterRef("pk"), kind=AlertKind.TEAM_GAP, status__in=[AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED]
    )
    has_team = AccountTeam.objects.filter(account=OuterRef("pk"))
    rows = (
        Account.objects.exclude(status=AccountStatus.LOST)
        .filter(tier__in=KEY_TIERS)
        .annotate(has_team=Exists(has_team), has_gap=Exists(open_gap))
        .order_by()
        .values("tier", "has_team", "has_gap")
        .annotate(count=Count("id"))
    )
    coverage = {tier: TierCoverage(tier) for tier in KEY_TIERS}
    for row in rows:
        entry = coverage[row["tier"]]
        entry.accounts += row["count"]
        if not row["has_team"]:
            entry.no_team += row["count"]
        elif row["has_gap"]:
            entry.with_gaps += row["count"]
    return coverage


@tenant_selector
def gaps_measured(tenant: Tenant) -> bool:
    """Whether a risk run has assessed the teams yet (team gaps come with the health step)."""
    return RiskRun.objects.filter(status=RunStatus.DONE, kind__in=[RunKind.FULL, RunKind.HEALTH]).exists()


# --- the account manager's accounts --------------------------------------------------------------------


@tenant_selector
def my_account_ids(tenant: Tenant, membership: Membership) -> list[int]:
    """Ids of the accounts the member owns or serves on (their team's), not archived — "my
    accounts" for every role, also those that read the whole tenant.

    accounts.access gives the condition as an OR (owner, or an id among each provider's
    served ids); PostgreSQL scans every account for such an OR, so each branch is read on
    its own through its index and the ids are merged: two small queries instead of a scan
    of 100,000 rows. Callers filter by these ids, which also lets the planner fetch the
    joined rows by primary key."""
    condition = own_or_served(tenant, membership.user)
    branches = condition.children if condition.connector == Q.OR and not condition.negated else [condition]
    accounts = Account.objects.exclude(status=AccountStatus.LOST).order_by()
    ids: set[int] = set()
    for branch in branches:
        ids.update(accounts.filter(branch if isinstance(branch, Q) else Q(branch)).values_list("pk", flat=True))
    return sorted(ids)


@tenant_selector
def my_accounts(tenant: Tenant, account_ids: list[int]) -> QuerySet[Account]:
    return Account.objects.filter(pk__in=account_ids)


@tenant_selector
def my_open_alerts(tenant: Tenant, membership: Membership, account_ids: list[int]) -> QuerySet[RiskAlert]:
    """Open (and acknowledged) alerts on the accounts, or assigned to the member; the most
    severe first, then the newest."""
    from django.db.models import Case, IntegerField, Value, When

    severity_rank = Case(
        When(severity="critical", then=Value(0)),
        When(severity="warning", then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return (
        RiskAlert.objects.filter(Q(account_id__in=account_ids) | Q(assignee=membership.user))
        .exclude(status=AlertStatus.RESOLVED)
        .select_related("account")
        .annotate(severity_rank=severity_rank)
        .order_by("severity_rank", "-opened_at", "-id")
    )


@tenant_selector
def expected_purchases(
    tenant: Tenant, account_ids: list[int], *, start: dt.date, end: dt.date
) -> QuerySet[HealthAssessment]:
    """The accounts' latest health assessments whose expected next purchase (采购周期预测)
    falls in [start, end], the soonest first."""
    latest = (
        HealthAssessment.objects.filter(account_id__in=account_ids)
        .order_by("account_id", "-as_of")
        .distinct("account_id")
        .values("pk")
    )
    return (
        HealthAssessment.objects.filter(
            pk__in=latest, expected_next_purchase__gte=start, expected_next_purchase__lte=end
        )
        .select_related("account")
        .order_by("expected_next_purchase", "account__name", "id")
    )


@tenant_selector
def contract_renewals(tenant: Tenant, account_ids: list[int], *, start: dt.date, end: dt.date) -> QuerySet[Contract]:
    """The accounts' contracts that end in [start, end], the soonest first."""
    return (
        Contract.objects.filter(account_id__in=account_ids, end_on__gte=start, end_on__lte=end)
        .select_related("account")
        .order_by("end_on", "account__name", "id")
    )
