"""Writes of scoring: default scorecards, versions, ratings, overrides and score runs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, TypedDict

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import access
from accounts.models import Account
from kam import audit, runs
from kam.db import analyze_written
from kam.models import IndustryProfile, Membership, Role, RunStatus, Tenant
from kam.permissions import OVERRIDE_APPROVERS
from kam.runs import advisory_xact_lock
from kam.stage import staged, temp_table
from kam.tenancy import tenant_service, tenant_today
from scoring import selectors, signals
from scoring.engine import (
    RESULT_COLUMNS,
    SUMMARY_COLUMNS,
    TIER_ORDER,
    Basis,
    ScoringSpec,
    scores_query,
    transaction_id,
)
from scoring.models import (
    AccountScore,
    Criterion,
    CriterionKind,
    OverrideRequestStatus,
    Rating,
    RunTrigger,
    ScoreBasis,
    Scorecard,
    ScorecardStatus,
    ScoreRun,
    ScoreStage,
    TierOverride,
    TierOverrideRequest,
    TierRule,
)

# DESIGN section 4: the default scorecard (key, 中文, English, kind, metric, normalisation, params, weight).
DEFAULT_CRITERIA = [
    ("revenue_share", "客户贡献率", "Revenue contribution", "metric", "revenue_share", "percentile", {}, 30),
    ("growth", "采购增长率", "Purchase growth", "metric", "growth", "linear", {"lo": -0.2, "hi": 0.5}, 15),
    (
        "cooperation_years",
        "合作年限",
        "Years of cooperation",
        "metric",
        "cooperation_years",
        "bands",
        {"bands": [[0, 0], [1, 40], [3, 70], [5, 100]]},
        10,
    ),
    ("industry_position", "行业地位", "Industry position", "rating", "", "rating", {}, 20),
    ("tech_leadership", "技术领先性", "Technology leadership", "rating", "", "rating", {}, 10),
    ("payment_credit", "付款信用", "Payment credit", "rating", "", "rating", {}, 15),
]
DEFAULT_TIERS = [("S", Decimal("80")), ("A", Decimal("65")), ("B", Decimal("45")), ("C", Decimal("0"))]
MANUFACTURING_GATE = Decimal("10000000")


def default_scorecard_spec(industry_profile: str) -> tuple[list[tuple], dict[str, Decimal | None]]:
    """Criteria and tier gates the tenant's industry profile starts with.

    manufacturing: tiers A and S need revenue_12m >= 10,000,000; consulting: no gate,
    and a strategic demonstration effect (战略示范效应) rating criterion besides.
    """
    criteria = list(DEFAULT_CRITERIA)
    gates: dict[str, Decimal | None] = {tier: None for tier, _threshold in DEFAULT_TIERS}
    if industry_profile == IndustryProfile.MANUFACTURING:
        gates["S"] = gates["A"] = MANUFACTURING_GATE
    if industry_profile == IndustryProfile.CONSULTING:
        criteria.append(
            ("demonstration_effect", "战略示范效应", "Strategic demonstration effect", "rating", "", "rating", {}, 10)
        )
    return criteria, gates


@tenant_service
def scorecard_seed_default(tenant: Tenant) -> Scorecard:
    """The first, active scorecard of a new tenant."""
    criteria, gates = default_scorecard_spec(tenant.industry_profile)
    scorecard = Scorecard.objects.create(
        tenant=tenant, version=1, status=ScorecardStatus.ACTIVE, activated_at=timezone.now(), note=_("Default")
    )
    Criterion.objects.bulk_create(
        [
            Criterion(
                tenant=tenant,
                scorecard=scorecard,
                key=key,
                label_zh=zh,
                label_en=en,
                kind=kind,
                metric=metric,
                normalization=normalization,
                params=params,
                weight=Decimal(weight),
                position=position,
            )
            for position, (key, zh, en, kind, metric, normalization, params, weight) in enumerate(criteria)
        ]
    )
    TierRule.objects.bulk_create(
        [
            TierRule(tenant=tenant, scorecard=scorecard, tier=tier, threshold=threshold, min_revenue_12m=gates[tier])
            for tier, threshold in DEFAULT_TIERS
        ]
    )
    return scorecard


# --- ratings and overrides -------------------------------------------------------------------------


@tenant_service
def rating_add(
    tenant: Tenant, *, account: Account, criterion: str, value: int, comment: str = "", actor: Any = None
) -> Rating:
    """A new rating (history kept); the account is rescored once the transaction commits."""
    if account.tenant_id != tenant.pk:
        raise ValidationError({"account": _("No such account in this workspace.")})
    keys = set(
        Criterion.objects.filter(
            scorecard__status__in=[ScorecardStatus.ACTIVE, ScorecardStatus.DRAFT], kind=CriterionKind.RATING
        ).values_list("key", flat=True)
    )
    if criterion not in keys:
        raise ValidationError(
            {
                "criterion": _("Choose one of the scorecard's rating criteria: %(keys)s.")
                % {"keys": ", ".join(sorted(keys))}
            }
        )
    try:
        value = int(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError({"value": _("A rating is a whole number from 1 to 5.")}) from exc
    if not 1 <= value <= 5:
        raise ValidationError({"value": _("A rating is a whole number from 1 to 5.")})
    rating = Rating.objects.create(
        tenant=tenant, account=account, criterion=criterion, value=value, comment=comment, rated_by=_user(actor)
    )
    audit.record_create(tenant=tenant, instance=rating, actor=actor)
    _rescore_on_commit(tenant, account, RunTrigger.RATING)
    return rating


@tenant_service
def tier_override_set(
    tenant: Tenant, *, account: Account, tier: str, reason: str, expires_on: dt.date | None = None, actor: Any = None
) -> TierOverride:
    if tier not in TIER_ORDER:
        raise ValidationError({"tier": _("Choose a tier: S, A, B or C.")})
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Say why the tier is set by hand.")})
    if expires_on is not None and expires_on <= tenant_today(tenant):
        raise ValidationError({"expires_on": _("The expiry must be in the future.")})
    TierOverride.objects.filter(account=account, lifted_at__isnull=True).update(lifted_at=timezone.now())
    override = TierOverride.objects.create(
        tenant=tenant, account=account, tier=tier, reason=reason.strip(), expires_on=expires_on, set_by=_user(actor)
    )
    audit.record_create(tenant=tenant, instance=override, actor=actor)
    _rescore_on_commit(tenant, account, RunTrigger.MANUAL)
    return override


@tenant_service
def tier_override_lift(tenant: Tenant, *, account: Account, actor: Any = None) -> int:
    lifted = TierOverride.objects.filter(account=account, lifted_at__isnull=True)
    count = lifted.update(lifted_at=timezone.now())
    if count:
        audit.record(
            tenant=tenant, action="update", instance=account, changes={"tier_override": ["set", "lifted"]}, actor=actor
        )
        _rescore_on_commit(tenant, account, RunTrigger.MANUAL)
    return count


# --- tier override requests (DESIGN section 14) ----------------------------------------------------

# Who asks for a tier by hand: the writing roles that may not set one themselves (a manager on
# the accounts they own or serve on, an administrator on any); directors set it directly.
OVERRIDE_REQUESTERS = frozenset({Role.MANAGER, Role.ADMIN})


def _membership(tenant: Tenant, actor: Any) -> Membership | None:
    user = _user(actor)
    if user is None:
        return None
    return Membership.objects.filter(tenant=tenant, user=user, is_active=True, user__is_active=True).first()


def _own_request(tenant: Tenant, request: TierOverrideRequest) -> None:
    """Another tenant's request is not found here."""
    if request.tenant_id != tenant.pk:
        raise Http404("No such tier request.")


@tenant_service
def override_request_create(
    tenant: Tenant,
    *,
    account: Account,
    tier: str,
    reason: str,
    expires_on: dt.date | None = None,
    actor: Any,
) -> TierOverrideRequest:
    """等级调整申请: a manager asks the directors for a tier by hand on an account they write.

    Refused (PermissionDenied) for anyone but a manager or administrator who may write the
    account; refused (ValidationError, by field) for a tier not S/A/B/C, no reason, an expiry
    not in the future, the tier the account's override gives already, or a second pending
    request of the account. The directors hear of it once the transaction commits."""
    if account.tenant_id != tenant.pk:
        raise Http404("No such account.")
    membership = _membership(tenant, actor)
    if membership is None or membership.role not in OVERRIDE_REQUESTERS:
        raise PermissionDenied(_("Only account managers ask for a tier change; directors set the tier directly."))
    if not access.can_write(tenant, membership, account):
        raise PermissionDenied(_("You do not serve this account, so you cannot ask for its tier to change."))
    errors: dict[str, str] = {}
    if tier not in TIER_ORDER:
        errors["tier"] = _("Choose a tier: S, A, B or C.")
    if not (reason or "").strip():
        errors["reason"] = _("Say why the account should have this tier.")
    if expires_on is not None and expires_on <= tenant_today(tenant):
        errors["expires_on"] = _("The expiry must be in the future.")
    if errors:
        raise ValidationError(errors)
    current = selectors.override_get_active(tenant, account)
    if current is not None and current.tier == tier:
        raise ValidationError({"tier": _("The account has tier %(tier)s by hand already.") % {"tier": tier}})
    pending_message = _("This account has a pending tier request already; wait for its decision or withdraw it.")
    if TierOverrideRequest.objects.filter(account=account, status=OverrideRequestStatus.PENDING).exists():
        raise ValidationError(pending_message)
    try:
        with transaction.atomic():
            request = TierOverrideRequest.objects.create(
                tenant=tenant,
                account=account,
                tier=tier,
                reason=reason.strip(),
                expires_on=expires_on,
                requested_by=membership.user,
            )
    except IntegrityError as exc:  # another request of the account came in meanwhile
        raise ValidationError(pending_message) from exc
    audit.record_create(tenant=tenant, instance=request, actor=actor)
    transaction.on_commit(
        lambda: signals.override_requested.send(sender=TierOverrideRequest, tenant=tenant, request=request)
    )
    return request


def _pending_for_decision(tenant: Tenant, request: TierOverrideRequest) -> TierOverrideRequest:
    """The request, locked, if it still waits for a decision."""
    _own_request(tenant, request)
    locked = TierOverrideRequest.objects.select_for_update().get(pk=request.pk)
    if locked.status != OverrideRequestStatus.PENDING:
        raise ValidationError(
            _("This request was %(status)s already.") % {"status": locked.get_status_display().lower()}
        )
    return locked


def _require_approver(tenant: Tenant, actor: Any) -> Any:
    membership = _membership(tenant, actor)
    if membership is None or membership.role not in OVERRIDE_APPROVERS:
        raise PermissionDenied(_("Only directors approve or reject tier requests."))
    return membership.user


def _decide(
    tenant: Tenant, request: TierOverrideRequest, *, status: str, comment: str, actor: Any, **changes: Any
) -> TierOverrideRequest:
    before = audit.snapshot(request)
    request.status = status
    request.comment = (comment or "").strip()
    request.decided_by = _user(actor)
    request.decided_at = timezone.now()
    for field, value in changes.items():
        setattr(request, field, value)
    request.save(update_fields=["status", "comment", "decided_by", "decided_at", *changes])
    audit.record_update(tenant=tenant, instance=request, before=before, actor=actor)
    if status != OverrideRequestStatus.WITHDRAWN:
        transaction.on_commit(
            lambda: signals.override_decided.send(sender=TierOverrideRequest, tenant=tenant, request=request)
        )
    return request


@tenant_service
def override_request_approve(
    tenant: Tenant, *, request: TierOverrideRequest, comment: str = "", actor: Any
) -> TierOverrideRequest:
    """A director approves: the override is set with the request's tier, reason and expiry (in
    the director's name, the account rescored), and the request names it."""
    director = _require_approver(tenant, actor)
    request = _pending_for_decision(tenant, request)
    if request.expires_on is not None and request.expires_on <= tenant_today(tenant):
        raise ValidationError(
            _("The expiry asked for (%(day)s) has passed: reject this request; the manager may ask again.")
            % {"day": request.expires_on.isoformat()}
        )
    override = tier_override_set(
        tenant,
        account=request.account,
        tier=request.tier,
        reason=request.reason,
        expires_on=request.expires_on,
        actor=director,
    )
    return _decide(
        tenant, request, status=OverrideRequestStatus.APPROVED, comment=comment, actor=director, override=override
    )


@tenant_service
def override_request_reject(
    tenant: Tenant, *, request: TierOverrideRequest, comment: str, actor: Any
) -> TierOverrideRequest:
    """A director rejects, saying why (the comment is required)."""
    director = _require_approver(tenant, actor)
    if not (comment or "").strip():
        raise ValidationError({"comment": _("Say why the request is rejected.")})
    request = _pending_for_decision(tenant, request)
    return _decide(tenant, request, status=OverrideRequestStatus.REJECTED, comment=comment, actor=director)


@tenant_service
def override_request_withdraw(tenant: Tenant, *, request: TierOverrideRequest, actor: Any) -> TierOverrideRequest:
    """The requester takes back a pending request."""
    _own_request(tenant, request)
    user = _user(actor)
    if user is None or user.pk != request.requested_by_id:
        raise PermissionDenied(_("Only the person who asked may withdraw a tier request."))
    request = _pending_for_decision(tenant, request)
    return _decide(tenant, request, status=OverrideRequestStatus.WITHDRAWN, comment="", actor=user)


def _user(actor: Any) -> Any:
    return actor if hasattr(actor, "email") else None


def _rescore_on_commit(tenant: Tenant, account: Account, trigger: str) -> None:
    from scoring import tasks

    transaction.on_commit(lambda: tasks.rescore_account.delay(tenant.pk, account.pk, trigger))


# --- runs ------------------------------------------------------------------------------------------

# A run's progress while it works: one statement computes everything, so the page can only
# tell queued (0), running (this) and done (100).
RUNNING_PROGRESS = 10


@tenant_service
def score_run_create(
    tenant: Tenant,
    *,
    trigger: str = RunTrigger.MANUAL,
    as_of: dt.date | None = None,
    account: Account | None = None,
    actor: Any = None,
) -> ScoreRun:
    """A queued run with the active scorecard; ``score_run_execute`` (in a task or inline) does the work."""
    scorecard = selectors.scorecard_get_active(tenant)
    if scorecard is None:
        raise ValidationError(_("This workspace has no active scorecard."))
    return runs.create(
        ScoreRun, tenant, as_of=as_of, actor=actor, trigger=trigger, scorecard=scorecard, account=account
    )


@tenant_service
def score_run_execute(tenant: Tenant, *, run: ScoreRun) -> ScoreRun:
    """Score every account (or the run's one account) in one statement and store the result.

    Idempotent: a re-delivered task for the same run replaces that run's snapshots;
    the same as_of twice gives the same result.
    """
    advisory_xact_lock(tenant, "score")
    with connection.cursor() as cursor:
        # The percentile and the per-account sums sort and hash 100,000s of rows in memory.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        # The planner has no statistics for the statement's CTEs, guesses millions of rows for
        # their joins and sorts 100,000 rows per merge join; hash joins need no sort.
        cursor.execute("SET LOCAL enable_mergejoin = off")
    run = ScoreRun.objects.select_for_update().get(pk=run.pk)
    # Executed inline (a rescore, the nightly run, the API's ?wait=true) or again after a
    # failure: running from now. A worker's run was marked running, and committed, before.
    runs.mark_running(
        tenant, run=run, progress=RUNNING_PROGRESS, claimable=(RunStatus.QUEUED, RunStatus.DONE, RunStatus.FAILED)
    )
    spec = ScoringSpec.of(run.scorecard)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM scoring_accountscore WHERE tenant_id = %s AND run_id = %s", [tenant.pk, run.pk])
        _compute_result(cursor, tenant, run, spec)
        scored, updated, moved_up, moved_down = _store_result(cursor, tenant, run)
        pareto = _store_summary(cursor, tenant, run) if run.account_id is None else {}
        cursor.execute(f"DROP TABLE {SCORE_RESULT}")
    analyze_written({"scoring_accountscore": scored, "accounts_account": updated})
    return runs.mark_done(tenant, run=run, accounts_scored=scored, moved_up=moved_up, moved_down=moved_down, **pareto)


# The run's result, computed once and then written from: a temporary table of the transaction.
RESULT_TABLE = "score_result"
SCORE_RESULT = f"pg_temp.{RESULT_TABLE}"


def _compute_result(cursor: Any, tenant: Tenant, run: ScoreRun, spec: ScoringSpec) -> None:
    """The result into SCORE_RESULT. CREATE TABLE AS may aggregate the orders in parallel,
    which INSERT ... SELECT may not (PostgreSQL 16); written once, it is then read twice.

    One account is first tried against the tenant's basis (its latest full run, when of
    the same as_of): that statement returns no row when anything it would take from the
    basis has changed since, and the account is then ranked among all.
    """
    basis = _score_basis(tenant, run, spec)
    if basis is not None and _create_result(
        cursor, *scores_query(tenant.pk, run.as_of, spec, account_id=run.account_id, basis=basis)
    ):
        return
    if run.account_id is not None:
        _create_result(cursor, *scores_query(tenant.pk, run.as_of, spec, account_id=run.account_id))
    else:
        xid = transaction_id(cursor, tenant.pk, run.pk)
        _create_result(cursor, *scores_query(tenant.pk, run.as_of, spec, summary=True, xid=xid))


def _create_result(cursor: Any, sql: str, params: dict[str, Any]) -> int:
    return temp_table(cursor, RESULT_TABLE, f"CREATE TEMP TABLE {RESULT_TABLE} ON COMMIT DROP AS {sql}", params)


def _score_basis(tenant: Tenant, run: ScoreRun, spec: ScoringSpec) -> Basis | None:
    if run.account_id is None or not spec.ranks_only_revenue_share:
        return None
    row = ScoreBasis.objects.filter(as_of=run.as_of).values_list("run_id", "as_of", "snapshot", "xid").first()
    return Basis(*row) if row else None


def _store_result(cursor: Any, tenant: Tenant, run: ScoreRun) -> tuple[int, int, int, int]:
    """Insert the snapshots, update the accounts whose tier or score changed; (scored,
    accounts updated, moved up, moved down).

    Through the stage (kam.stage), in account order: the index entries of (tenant, run,
    account) and (tenant, account, as_of) go in one after the other rather than all over
    the indexes, a quarter faster."""
    columns = RESULT_COLUMNS
    params = {"tenant": tenant.pk, "run": run.pk, "d": run.as_of}
    with staged(
        cursor,
        ScoreStage,
        source=SCORE_RESULT,
        columns=columns,
        tenant_id=tenant.pk,
        run_id=run.pk,
        target=AccountScore,
        where="account_id IS NOT NULL",
    ):
        cursor.execute(
            f"""
            INSERT INTO scoring_accountscore (id, tenant_id, run_id, as_of, {", ".join(columns)})
            SELECT s.row_id, s.tenant_id, s.run_id, %(d)s, {", ".join(f"s.{c}" for c in columns)}
            FROM scoring_scorestage s
            WHERE s.tenant_id = %(tenant)s AND s.run_id = %(run)s
            ORDER BY s.account_id
            """,
            params,
        )
        scored = cursor.rowcount
        cursor.execute(
            """
            UPDATE accounts_account a SET tier = x.tier, score = x.total
            FROM scoring_scorestage x
            WHERE a.tenant_id = %(tenant)s AND x.tenant_id = %(tenant)s AND x.run_id = %(run)s
              AND a.id = x.account_id
              AND (a.tier IS DISTINCT FROM x.tier OR a.score IS DISTINCT FROM x.total)
            """,
            params,
        )
        updated = cursor.rowcount
    cursor.execute(
        f"""
        SELECT COUNT(*) FILTER (WHERE position(tier IN 'CBAS') > position(account_tier IN 'CBAS')),
               COUNT(*) FILTER (WHERE position(tier IN 'CBAS') < position(account_tier IN 'CBAS'))
        FROM {SCORE_RESULT}
        WHERE account_id IS NOT NULL AND account_tier <> ''
        """
    )
    moved_up, moved_down = cursor.fetchone()
    return scored, updated, moved_up, moved_down


def _store_summary(cursor: Any, tenant: Tenant, run: ScoreRun) -> dict[str, Any]:
    """A full run's Pareto figures; the run becomes the tenant's basis, and the changes it saw
    are forgotten (a basis is only ever replaced by a later run, which saw them too)."""
    cursor.execute(f"SELECT {', '.join(SUMMARY_COLUMNS)} FROM {SCORE_RESULT} WHERE account_id IS NULL")
    n, k, total, top, snapshot, xid = cursor.fetchone()
    ScoreBasis.objects.update_or_create(
        tenant=tenant, defaults={"run": run, "as_of": run.as_of, "snapshot": snapshot, "xid": xid}
    )
    cursor.execute(
        "DELETE FROM scoring_scorechange WHERE tenant_id = %s"
        " AND (pg_visible_in_snapshot(xid::text::xid8, %s::pg_snapshot) OR xid = %s)",
        [tenant.pk, snapshot, xid],
    )
    return {
        "pareto_accounts": n,
        "pareto_top_count": int(k),
        "total_revenue_12m": total,
        "top20_share": (top / total).quantize(Decimal("0.000001")) if total else Decimal("0"),
    }


@tenant_service
def score_preview(tenant: Tenant, *, scorecard: Scorecard, as_of: dt.date | None = None) -> list[dict[str, Any]]:
    """What-if: every account's result under ``scorecard`` (e.g. a draft), nothing written."""
    select_sql, params = scores_query(tenant.pk, as_of or tenant_today(tenant), ScoringSpec.of(scorecard))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT result.*, a.tier AS current_tier, a.name FROM ({select_sql}) result"
            " JOIN accounts_account a ON a.id = result.account_id",
            params,
        )
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def next_version(tenant: Tenant) -> int:
    return (Scorecard.objects.aggregate(top=Max("version"))["top"] or 0) + 1


# --- scorecard versions ------------------------------------------------------------------------------

WEIGHT_TOTAL = Decimal("100")


class CriterionSpec(TypedDict, total=False):
    """A criterion of a new version: the fields of Criterion (the editor's rows, the API's criteria)."""

    key: str
    label_zh: str
    label_en: str
    kind: str
    metric: str
    normalization: str
    params: dict[str, Any]
    weight: Decimal
    missing_value: Decimal


class TierSpec(TypedDict, total=False):
    """A tier of a new version: the fields of TierRule."""

    tier: str
    threshold: Decimal
    min_revenue_12m: Decimal | None


class ScorecardSpec(TypedDict, total=False):
    """A new version: its criteria and tiers (both required), hysteresis (default 2) and note."""

    criteria: list[CriterionSpec]
    tiers: list[TierSpec]
    hysteresis: Decimal
    note: str


def validate_scorecard_spec(criteria: Sequence[CriterionSpec], tiers: Sequence[TierSpec]) -> None:
    """Refuse a scorecard that runs could not use, with a message per problem."""
    errors: dict[str, list[str]] = {}
    if not criteria:
        errors.setdefault("criteria", []).append(_("A scorecard needs at least one criterion."))
    keys = [c["key"] for c in criteria]
    if len(set(keys)) != len(keys):
        errors.setdefault("criteria", []).append(_("Each criterion key may appear once."))
    total = sum((Decimal(str(c["weight"])) for c in criteria), Decimal("0"))
    if criteria and total != WEIGHT_TOTAL:
        errors.setdefault("criteria", []).append(
            _("The weights add up to %(total)s; they must add up to 100.") % {"total": format(total.normalize(), "f")}
        )
    for c in criteria:
        problem = _criterion_problem(c)
        if problem:
            errors.setdefault("criteria", []).append(f"{c['key']}: {problem}")
    by_tier = {t["tier"]: Decimal(str(t["threshold"])) for t in tiers}
    if set(by_tier) != set(TIER_ORDER):
        errors.setdefault("tiers", []).append(_("Give a threshold for each of the tiers S, A, B and C."))
    elif not by_tier["S"] > by_tier["A"] > by_tier["B"] >= by_tier["C"]:
        errors.setdefault("tiers", []).append(_("Thresholds must fall from S to A to B to C."))
    if errors:
        raise ValidationError(errors)


def _criterion_problem(c: CriterionSpec) -> str | None:
    kind, normalization, params = c["kind"], c["normalization"], c.get("params") or {}
    if kind == CriterionKind.RATING and normalization != "rating":
        return _("a rating criterion uses the rating normalisation.")
    if kind == CriterionKind.METRIC and not c.get("metric"):
        return _("choose the metric it measures.")
    if kind == CriterionKind.METRIC and normalization == "rating":
        return _("a metric cannot use the rating normalisation.")
    if normalization == "linear":
        try:
            if Decimal(str(params["lo"])) >= Decimal(str(params["hi"])):
                return _("the low value must be below the high value.")
        except (KeyError, ArithmeticError, ValueError, TypeError):
            return _("linear needs numbers lo and hi.")
    if normalization == "bands":
        try:
            bands = [(Decimal(str(t)), Decimal(str(p))) for t, p in params["bands"]]
        except (KeyError, ArithmeticError, ValueError, TypeError):
            return _("bands need a list of [threshold, points] pairs.")
        if not bands or any(not Decimal("0") <= p <= Decimal("100") for _t, p in bands):
            return _("band points lie between 0 and 100.")
    return None


STALE_SCORECARD_CODE = "stale"


@tenant_service
def scorecard_create_draft(
    tenant: Tenant, *, spec: ScorecardSpec, actor: Any = None, expected_latest_version: int | None = None
) -> Scorecard:
    """A new draft version from a full specification (criteria and tiers).

    ``expected_latest_version`` is the newest version number the editor knew when it was
    opened: when someone saved another version since, the draft is refused rather than
    made from a scorecard that leaves out their changes (optimistic concurrency on the
    version numbers, checked under the scorecard lock).
    """
    criteria, tiers = list(spec["criteria"]), list(spec["tiers"])
    validate_scorecard_spec(criteria, tiers)
    advisory_xact_lock(tenant, "scorecard")
    latest = next_version(tenant) - 1
    if expected_latest_version is not None and latest != expected_latest_version:
        raise ValidationError(
            _(
                "Version %(version)s was saved by someone else while you were editing, so your draft was not saved. "
                "Look at version %(version)s in the list above; to save your draft anyway, save again."
            )
            % {"version": latest},
            code=STALE_SCORECARD_CODE,
        )
    scorecard = Scorecard.objects.create(
        tenant=tenant,
        version=next_version(tenant),
        hysteresis=spec.get("hysteresis", Decimal("2")),
        note=spec.get("note", ""),
        created_by=_user(actor),
    )
    Criterion.objects.bulk_create(
        [Criterion(tenant=tenant, scorecard=scorecard, position=i, **c) for i, c in enumerate(criteria)]
    )
    TierRule.objects.bulk_create([TierRule(tenant=tenant, scorecard=scorecard, **t) for t in tiers])
    audit.record_create(tenant=tenant, instance=scorecard, actor=actor)
    return scorecard


@tenant_service
def scorecard_activate(tenant: Tenant, *, scorecard: Scorecard, actor: Any = None) -> Scorecard:
    if scorecard.status == ScorecardStatus.ACTIVE:
        return scorecard
    validate_scorecard_spec(
        list(scorecard.criteria.values("key", "kind", "metric", "normalization", "params", "weight")),
        list(scorecard.tiers.values("tier", "threshold")),
    )
    advisory_xact_lock(tenant, "scorecard")
    Scorecard.objects.filter(status=ScorecardStatus.ACTIVE).update(status=ScorecardStatus.RETIRED)
    before = audit.snapshot(scorecard)
    scorecard.status = ScorecardStatus.ACTIVE
    scorecard.activated_at = timezone.now()
    scorecard.save(update_fields=["status", "activated_at"])
    audit.record_update(tenant=tenant, instance=scorecard, before=before, actor=actor)
    return scorecard


def scorecard_preview_moves(tenant: Tenant, *, scorecard: Scorecard, as_of: dt.date | None = None) -> dict[str, Any]:
    """Who would move up or down under ``scorecard`` compared with their current tier."""
    rows = score_preview(tenant, scorecard=scorecard, as_of=as_of)
    rank = {tier: position for position, tier in enumerate(reversed(TIER_ORDER))}
    moves = []
    for row in rows:
        current, new = row["current_tier"] or None, row["tier"]
        if current and current != new:
            moves.append(
                {
                    "account": row["account_id"],
                    "name": row["name"],
                    "from": current,
                    "to": new,
                    "total": float(row["total"]),
                    "direction": "up" if rank[new] > rank[current] else "down",
                }
            )
    moves.sort(key=lambda move: (move["direction"], move["name"]))
    return {
        "as_of": (as_of or tenant_today(tenant)).isoformat(),
        "scored": len(rows),
        "moved_up": sum(1 for move in moves if move["direction"] == "up"),
        "moved_down": sum(1 for move in moves if move["direction"] == "down"),
        "accounts": moves,
    }
