"""Opportunities (商机): their services (writes) and selectors (reads). DESIGN section 12.

Writes take the tenant first, validate (the account and buying centre of the tenant, the
centre of that account, offerings active and of the tenant, amount >= 0, a close date, an
owner who is a member of the tenant, a known stage), run in one transaction, are audited and
then refresh the account's denormalised figures (``growth.metrics.account_figures_refresh``,
when it exists). Concurrency is optimistic, as on accounts: every save increments
``version``, and a save given ``expected_version`` over a newer one is refused.

A stage moves to any other stage; won and lost set ``closed_on`` to the tenant's today,
reopening (an open stage) clears it and the reason lost. A need (service) or an initiative of
an account plan (teams) becomes one opportunity in one step; a second attempt answers the
opportunity made the first time.

Who works an opportunity is the rule of interactions (accounts.access.can_log_interaction):
writers on the accounts they write, members on the accounts they read; executives read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.utils.translation import gettext as _

from accounts.access import can_log_interaction, readable_account_ids
from accounts.models import Account
from growth.models import (
    CLOSED_STAGES,
    OPEN_STAGES,
    STAGE_PROBABILITY,
    BuyingCentre,
    Offering,
    Opportunity,
    OpportunityOffering,
    Source,
    Stage,
)
from kam import audit
from kam.models import AuditAction, Membership, Role, Tenant, User
from kam.permissions import WRITERS
from kam.records import UNSET, given, save_validated
from kam.tenancy import get_object_for_tenant, tenant_selector, tenant_service, tenant_today

STALE_CODE = "stale"
MAX_AMOUNT = Decimal("99999999999999.99")  # max_digits 16, 2 places
EARLIEST_CLOSE = dt.date(2000, 1, 1)
LATEST_CLOSE = dt.date(2100, 12, 31)
MAX_TITLE = 200
MAX_REASON = 300
# A new opportunity from a need or an initiative closes, unless told, this many days ahead.
DEFAULT_CLOSE_DAYS = 90


def stale_message() -> str:
    return _(
        "Someone else saved this opportunity while you were editing it, so your changes were not saved. "
        "Open it again to see their changes; to keep yours instead, save again."
    )


# --- validation -------------------------------------------------------------------------------------


def _check_account(tenant: Tenant, account: Any) -> Account:
    if not isinstance(account, Account) or account.tenant_id != tenant.pk:
        raise ValidationError({"account": _("Choose one of this workspace's accounts.")})
    return account


def _check_centre(tenant: Tenant, account: Account, centre: Any) -> BuyingCentre | None:
    if centre is None:
        return None
    if not isinstance(centre, BuyingCentre) or centre.tenant_id != tenant.pk:
        raise ValidationError({"buying_centre": _("Choose one of this workspace's buying centres.")})
    if centre.account_id != account.pk:
        raise ValidationError(
            {
                "buying_centre": _("This buying centre belongs to another account: choose one of %(name)s.")
                % {"name": account.name}
            }
        )
    return centre


def _check_offerings(tenant: Tenant, offerings: Iterable[Any], *, keep: Iterable[int] = ()) -> list[Offering]:
    """Offerings of the tenant, active ones (an inactive one an opportunity names already may stay)."""
    kept = set(keep)
    chosen: dict[int, Offering] = {}
    for offering in offerings or ():
        if not isinstance(offering, Offering) or offering.tenant_id != tenant.pk:
            raise ValidationError({"offerings": _("Choose offerings of this workspace's catalogue.")})
        if not offering.is_active and offering.pk not in kept:
            raise ValidationError(
                {"offerings": _("The offering %(code)s is no longer offered.") % {"code": offering.code}}
            )
        chosen[offering.pk] = offering
    return list(chosen.values())


def _check_amount(amount: Any) -> Decimal:
    if isinstance(amount, bool) or amount is None:
        raise ValidationError({"amount": _("Enter the amount, a number of 0 or more.")})
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError({"amount": _("Enter the amount, a number of 0 or more.")}) from None
    if not value.is_finite():
        raise ValidationError({"amount": _("Enter the amount, a number of 0 or more.")})
    if value < 0:
        raise ValidationError({"amount": _("The amount cannot be negative.")})
    if value > MAX_AMOUNT:
        raise ValidationError({"amount": _("The amount is too large.")})
    return value.quantize(Decimal("0.01"))


def _check_close(expected_close: Any) -> dt.date:
    if not isinstance(expected_close, dt.date) or isinstance(expected_close, dt.datetime):
        raise ValidationError({"expected_close": _("Enter the expected close as a date.")})
    if not EARLIEST_CLOSE <= expected_close <= LATEST_CLOSE:
        raise ValidationError(
            {
                "expected_close": _("Enter an expected close between %(first)s and %(last)s.")
                % {"first": EARLIEST_CLOSE.isoformat(), "last": LATEST_CLOSE.isoformat()}
            }
        )
    return expected_close


def _check_owner(tenant: Tenant, owner: Any) -> User | None:
    if owner is None:
        return None
    if (
        not isinstance(owner, User)
        or not owner.is_active
        or not Membership.objects.filter(tenant=tenant, user=owner, is_active=True).exists()
    ):
        raise ValidationError({"owner": _("The owner must be a member of this workspace.")})
    return owner


def _check_stage(stage: Any) -> str:
    if stage not in Stage.values:
        raise ValidationError(
            {"stage": _("Unknown stage. Choose one of: %(stages)s.") % {"stages": ", ".join(Stage.values)}}
        )
    return str(stage)


def _check_title(title: Any) -> str:
    text = " ".join(("" if title is None else str(title)).replace("\x00", "").split())
    if not text:
        raise ValidationError({"title": _("Give the opportunity a title.")})
    return text[:MAX_TITLE]


def _clean_reason(reason: Any) -> str:
    return " ".join(("" if reason is None else str(reason)).replace("\x00", "").split())[:MAX_REASON]


# --- after a write ----------------------------------------------------------------------------------


def _refresh_figures(tenant: Tenant, account_ids: Iterable[int]) -> None:
    """The account's share of wallet and potential again (helper figures' growth.metrics), when
    that function exists."""
    try:
        from growth import metrics
    except ImportError:
        return
    refresh = getattr(metrics, "account_figures_refresh", None)
    if refresh is None:
        return
    refresh(tenant, account_ids=sorted({pk for pk in account_ids if pk}))


def _offering_codes(opportunity: Opportunity) -> list[str]:
    return sorted(
        Offering.objects.filter(
            pk__in=OpportunityOffering.objects.filter(opportunity=opportunity).values("offering_id")
        ).values_list("code", flat=True)
    )


def _set_offerings(tenant: Tenant, opportunity: Opportunity, offerings: list[Offering]) -> None:
    wanted = {offering.pk for offering in offerings}
    have = set(OpportunityOffering.objects.filter(opportunity=opportunity).values_list("offering_id", flat=True))
    if have - wanted:
        OpportunityOffering.objects.filter(opportunity=opportunity, offering_id__in=have - wanted).delete()
    if wanted - have:
        OpportunityOffering.objects.bulk_create(
            [
                OpportunityOffering(tenant=tenant, opportunity=opportunity, offering_id=pk)
                for pk in sorted(wanted - have)
            ]
        )


def _bump_version(opportunity: Opportunity) -> None:
    # An UPDATE of its own, so that the audit entry lists only the fields people changed.
    Opportunity.objects.filter(pk=opportunity.pk).update(version=models.F("version") + 1)
    opportunity.version += 1


def _locked_current(opportunity: Opportunity) -> Opportunity:
    opportunity.refresh_from_db(from_queryset=Opportunity.objects.select_for_update())
    return opportunity


def _apply_stage(tenant: Tenant, opportunity: Opportunity, stage: str, lost_reason: Any = UNSET) -> None:
    """Set the stage with its closing date: won or lost on the tenant's today (a move between
    them too), an open stage none; the reason lost only on lost."""
    before = opportunity.stage
    opportunity.stage = stage
    if stage in CLOSED_STAGES:
        if before != stage or opportunity.closed_on is None:
            opportunity.closed_on = tenant_today(tenant)
    else:
        opportunity.closed_on = None
    if stage == Stage.LOST:
        if lost_reason is not UNSET:
            opportunity.lost_reason = _clean_reason(lost_reason)
    else:
        opportunity.lost_reason = ""


# --- services ---------------------------------------------------------------------------------------


@tenant_service
def opportunity_create(
    tenant: Tenant,
    *,
    account: Account,
    title: str,
    amount: Decimal | int | str,
    expected_close: dt.date,
    buying_centre: BuyingCentre | None = None,
    offerings: Iterable[Offering] = (),
    owner: User | None = None,
    stage: str = Stage.LEAD,
    lost_reason: str = "",
    description: str = "",
    source: str = Source.MANUAL,
    need: Any = None,
    initiative: Any = None,
    actor: Any = None,
) -> Opportunity:
    account = _check_account(tenant, account)
    opportunity = Opportunity(
        tenant=tenant,
        account=account,
        buying_centre=_check_centre(tenant, account, buying_centre),
        title=_check_title(title),
        amount=_check_amount(amount),
        expected_close=_check_close(expected_close),
        owner=_check_owner(tenant, owner),
        source=source if source in Source.values else Source.MANUAL,
        need=need,
        initiative=initiative,
        description=("" if description is None else str(description)).replace("\x00", "")[:20_000],
        created_by=actor if isinstance(actor, User) else None,
    )
    chosen = _check_offerings(tenant, offerings)
    _apply_stage(tenant, opportunity, _check_stage(stage), lost_reason)
    save_validated(opportunity)
    _set_offerings(tenant, opportunity, chosen)
    created = {
        key: [None, value]
        for key, value in audit.snapshot(opportunity).items()
        if value not in (None, "") and key not in audit.BOOKKEEPING_FIELDS
    }
    if chosen:
        created["offerings"] = [None, sorted(offering.code for offering in chosen)]
    audit.record(tenant=tenant, action=AuditAction.CREATE, instance=opportunity, changes=created, actor=actor)
    _refresh_figures(tenant, [account.pk])
    return opportunity


@tenant_service
def opportunity_update(
    tenant: Tenant,
    *,
    opportunity: Opportunity,
    account: Account = UNSET,
    buying_centre: BuyingCentre | None = UNSET,
    offerings: Iterable[Offering] = UNSET,
    title: str = UNSET,
    amount: Decimal | int | str = UNSET,
    expected_close: dt.date = UNSET,
    owner: User | None = UNSET,
    stage: str = UNSET,
    lost_reason: str = UNSET,
    description: str = UNSET,
    actor: Any = None,
    expected_version: int | None = None,
) -> Opportunity:
    """Change the fields given (a stage as :func:`opportunity_move` does). With
    ``expected_version`` (the version a form was shown with) a save over a newer version is
    refused, nothing written. Every save increments the version."""
    if opportunity.tenant_id != tenant.pk:
        raise ValidationError(_("No such record in this workspace."))
    _locked_current(opportunity)
    if expected_version is not None and opportunity.version != expected_version:
        raise ValidationError(stale_message(), code=STALE_CODE)
    changes = given(title=title, amount=amount, expected_close=expected_close, owner=owner, description=description)
    before = audit.snapshot(opportunity)
    before_account = opportunity.account_id
    new_account = _check_account(tenant, account) if account is not UNSET else opportunity.account
    if "title" in changes:
        opportunity.title = _check_title(changes["title"])
    if "amount" in changes:
        opportunity.amount = _check_amount(changes["amount"])
    if "expected_close" in changes:
        opportunity.expected_close = _check_close(changes["expected_close"])
    if "owner" in changes:
        new_owner = changes["owner"]
        # an owner who has left may stay on the opportunities they had; a new one must be a member
        if (new_owner.pk if isinstance(new_owner, User) else None) != opportunity.owner_id:
            opportunity.owner = _check_owner(tenant, new_owner)
    if "description" in changes:
        opportunity.description = ("" if description is None else str(description)).replace("\x00", "")[:20_000]
    if buying_centre is not UNSET:
        opportunity.buying_centre = _check_centre(tenant, new_account, buying_centre)
    elif new_account.pk != before_account and opportunity.buying_centre_id is not None:
        # the centre stays only when it is the new account's too
        _check_centre(tenant, new_account, opportunity.buying_centre)
    opportunity.account = new_account
    offerings_before = _offering_codes(opportunity)
    chosen = None
    if offerings is not UNSET:
        keep = OpportunityOffering.objects.filter(opportunity=opportunity).values_list("offering_id", flat=True)
        chosen = _check_offerings(tenant, offerings, keep=list(keep))
    if stage is not UNSET:
        _apply_stage(tenant, opportunity, _check_stage(stage), lost_reason)
    elif lost_reason is not UNSET and opportunity.stage == Stage.LOST:
        opportunity.lost_reason = _clean_reason(lost_reason)
    save_validated(opportunity)
    diff = audit.diff(before, audit.snapshot(opportunity))
    if chosen is not None:
        _set_offerings(tenant, opportunity, chosen)
        offerings_after = sorted(offering.code for offering in chosen)
        if offerings_after != offerings_before:
            diff["offerings"] = [offerings_before, offerings_after]
    if diff:
        audit.record(tenant=tenant, action=AuditAction.UPDATE, instance=opportunity, changes=diff, actor=actor)
    _bump_version(opportunity)
    _refresh_figures(tenant, [before_account, opportunity.account_id])
    return opportunity


@tenant_service
def opportunity_move(
    tenant: Tenant,
    *,
    opportunity: Opportunity,
    stage: str,
    lost_reason: str = UNSET,
    actor: Any = None,
    expected_version: int | None = None,
) -> Opportunity:
    """Move to any stage (the pipeline's drag and drop, its select, the API's PATCH)."""
    return opportunity_update(
        tenant,
        opportunity=opportunity,
        stage=stage,
        lost_reason=lost_reason,
        actor=actor,
        expected_version=expected_version,
    )


@tenant_service
def opportunity_delete(
    tenant: Tenant, *, opportunity: Opportunity, actor: Any = None, expected_version: int | None = None
) -> None:
    if opportunity.tenant_id != tenant.pk:
        raise ValidationError(_("No such record in this workspace."))
    _locked_current(opportunity)
    if expected_version is not None and opportunity.version != expected_version:
        raise ValidationError(stale_message(), code=STALE_CODE)
    account_id = opportunity.account_id
    removed = {
        key: [value, None]
        for key, value in audit.snapshot(opportunity).items()
        if value not in (None, "") and key not in audit.BOOKKEEPING_FIELDS
    }
    codes = _offering_codes(opportunity)
    if codes:
        removed["offerings"] = [codes, None]
    audit.record(tenant=tenant, action=AuditAction.DELETE, instance=opportunity, changes=removed, actor=actor)
    OpportunityOffering.objects.filter(opportunity=opportunity).delete()
    opportunity.delete()
    _refresh_figures(tenant, [account_id])


def _default_owner(tenant: Tenant, actor: Any, fallback: User | None) -> User | None:
    for candidate in (actor, fallback):
        if (
            isinstance(candidate, User)
            and candidate.is_active
            and Membership.objects.filter(tenant=tenant, user=candidate, is_active=True).exists()
        ):
            return candidate
    return None


@tenant_service
def opportunity_from_need(
    tenant: Tenant,
    *,
    need: Any,
    actor: Any = None,
    owner: User | None = UNSET,
    amount: Decimal | int | str = 0,
    expected_close: dt.date | None = None,
) -> tuple[Opportunity, bool]:
    """A customer need (service) as an opportunity: source ``need``, its account, its subject
    as the title. One per need: a second call answers the first one's (``created`` False)."""
    from service.models import Need

    if not isinstance(need, Need) or need.tenant_id != tenant.pk:
        raise ValidationError({"need": _("Choose one of this workspace's needs.")})
    need = Need.objects.select_for_update().get(pk=need.pk)  # two clicks at once make one
    found = Opportunity.objects.filter(need=need).order_by("id").first()
    if found is not None:
        return found, False
    if need.account_id is None:
        raise ValidationError(
            {"need": _("This need has no account yet: set its account (triage) before making it an opportunity.")}
        )
    account = need.account
    opportunity = opportunity_create(
        tenant,
        account=account,
        title=need.subject or _("Need %(number)s") % {"number": need.pk},
        amount=amount,
        expected_close=expected_close or tenant_today(tenant) + dt.timedelta(days=DEFAULT_CLOSE_DAYS),
        owner=_default_owner(tenant, actor, account.owner) if owner is UNSET else owner,
        description=need.body[:20_000] if need.body else "",
        source=Source.NEED,
        need=need,
        actor=actor,
    )
    return opportunity, True


@tenant_service
def opportunity_from_initiative(
    tenant: Tenant,
    *,
    initiative: Any,
    actor: Any = None,
    owner: User | None = UNSET,
    amount: Decimal | int | str = 0,
    expected_close: dt.date | None = None,
) -> tuple[Opportunity, bool]:
    """An initiative of an account plan (teams) as an opportunity: source ``plan``, the plan's
    account, the initiative's title. One per initiative, as for needs."""
    from teams.models import Initiative

    if not isinstance(initiative, Initiative) or initiative.tenant_id != tenant.pk:
        raise ValidationError({"initiative": _("Choose one of this workspace's initiatives.")})
    initiative = Initiative.objects.select_for_update().select_related("plan").get(pk=initiative.pk)
    found = Opportunity.objects.filter(initiative=initiative).order_by("id").first()
    if found is not None:
        return found, False
    account = initiative.plan.account
    close = expected_close or min(
        max(initiative.plan.period_end, tenant_today(tenant)), tenant_today(tenant) + dt.timedelta(days=365)
    )
    opportunity = opportunity_create(
        tenant,
        account=account,
        title=initiative.title,
        amount=amount,
        expected_close=close,
        owner=_default_owner(tenant, actor, account.owner) if owner is UNSET else owner,
        description=initiative.description[:20_000] if initiative.description else "",
        source=Source.PLAN,
        initiative=initiative,
        actor=actor,
    )
    return opportunity, True


# --- who works which opportunity -------------------------------------------------------------------


# The roles that work opportunities (on the accounts they may log interactions on).
WORKERS = WRITERS | {Role.MEMBER}


def may_work(tenant: Tenant, membership: Membership | None, account: Account) -> bool:
    """Whether a session member creates, changes, moves and deletes the opportunities of
    ``account`` (None: an API token, whose scope the API checks)."""
    if membership is None:
        return True
    if membership.role not in WORKERS:
        return False
    return can_log_interaction(tenant, membership, account)


# --- selectors --------------------------------------------------------------------------------------


@tenant_selector
def opportunity_list_visible(tenant: Tenant, membership: Membership | None) -> QuerySet[Opportunity]:
    """The opportunities of the accounts the member reads (all of the tenant's for the roles that
    read every account, and for a token)."""
    rows = Opportunity.objects.all()
    account_ids = None if membership is None else readable_account_ids(tenant, membership)
    return rows if account_ids is None else rows.filter(account_id__in=account_ids)


@tenant_selector
def opportunity_get(tenant: Tenant, membership: Membership | None, pk: Any) -> Opportunity:
    """An opportunity the member sees, or 404 (another tenant's, not theirs, garbage)."""
    rows = opportunity_list_visible(tenant, membership).select_related("account", "buying_centre", "owner")
    return get_object_for_tenant(rows, tenant, pk)


@dataclass
class PipelineFilters:
    owner: int | None = None
    tier: str = ""
    offering: int | None = None
    close_month: dt.date | None = None  # the first day of the month
    stage: str = ""
    account: int | None = None


def parse_month(value: str) -> dt.date | None:
    """'2026-07' -> 2026-07-01; anything else None."""
    try:
        year, month = (int(part) for part in value.strip().split("-"))
        return dt.date(year, month, 1) if 2000 <= year <= 2100 else None
    except (ValueError, TypeError):
        return None


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + (day.month == 12), day.month % 12 + 1, 1)


@tenant_selector
def opportunity_list_filtered(
    tenant: Tenant, membership: Membership | None, filters: PipelineFilters
) -> QuerySet[Opportunity]:
    rows = opportunity_list_visible(tenant, membership)
    if filters.owner:
        rows = rows.filter(owner_id=filters.owner)
    if filters.tier:
        rows = rows.filter(account__tier=filters.tier)
    if filters.offering:
        rows = rows.filter(
            Exists(OpportunityOffering.objects.filter(opportunity=OuterRef("pk"), offering_id=filters.offering))
        )
    if filters.close_month:
        rows = rows.filter(expected_close__gte=filters.close_month, expected_close__lt=_next_month(filters.close_month))
    if filters.stage:
        rows = rows.filter(stage=filters.stage)
    if filters.account:
        rows = rows.filter(account_id=filters.account)
    return rows


@dataclass
class PipelineColumn:
    stage: str
    label: str
    probability: int
    count: int = 0
    amount: Decimal = Decimal("0")
    weighted: Decimal = Decimal("0")
    cards: list[Opportunity] = field(default_factory=list)

    @property
    def more(self) -> int:
        return max(0, self.count - len(self.cards))


@dataclass
class Pipeline:
    columns: list[PipelineColumn]

    @property
    def open_count(self) -> int:
        return sum(column.count for column in self.columns if column.stage in OPEN_STAGES)

    @property
    def open_amount(self) -> Decimal:
        return sum((column.amount for column in self.columns if column.stage in OPEN_STAGES), Decimal("0"))

    @property
    def open_weighted(self) -> Decimal:
        return sum((column.weighted for column in self.columns if column.stage in OPEN_STAGES), Decimal("0"))


def weighted_of(amount: Decimal, stage: str) -> Decimal:
    return (amount * STAGE_PROBABILITY[stage] / 100).quantize(Decimal("0.01"))


@tenant_selector
def pipeline_totals(tenant: Tenant, rows: QuerySet[Opportunity]) -> dict[str, tuple[int, Decimal]]:
    """{stage: (count, amount)} in one aggregate query."""
    totals = rows.order_by().values("stage").annotate(n=Count("*"), total=Sum("amount"))
    return {row["stage"]: (row["n"], row["total"] or Decimal("0")) for row in totals}


@tenant_selector
def pipeline_board(
    tenant: Tenant, membership: Membership | None, filters: PipelineFilters, *, per_column: int = 20
) -> Pipeline:
    """The board: per stage its count, amount and weighted sum (one aggregate query: the
    weighted sum of a column is its amount x the stage's probability / 100) and its first
    ``per_column`` cards by expected close (won and lost: the latest first). One query
    per column and one for the cards' offerings, whatever the number of opportunities."""
    rows = opportunity_list_filtered(tenant, membership, PipelineFilters(**{**filters.__dict__, "stage": ""}))
    totals = pipeline_totals(tenant, rows)
    columns = []
    ids_by_stage: dict[str, list[int]] = {}
    for stage in Stage.values:
        count, amount = totals.get(stage, (0, Decimal("0")))
        column = PipelineColumn(stage, str(Stage(stage).label), STAGE_PROBABILITY[stage], count, amount)
        column.weighted = weighted_of(amount, stage)
        if count:
            # A column's ids from the opportunities alone (the (tenant, stage, expected_close)
            # index, forwards for the open stages, the next to close first, backwards for won and
            # lost, the latest first); then all the cards' rows with their joins in one query.
            order = ("expected_close", "id") if stage in OPEN_STAGES else ("-expected_close", "-id")
            ids_by_stage[stage] = list(
                rows.filter(stage=stage).order_by(*order).values_list("id", flat=True)[:per_column]
            )
        columns.append(column)
    cards_by_id = rows_by_id(tenant, [pk for ids in ids_by_stage.values() for pk in ids])
    for column in columns:
        column.cards = [cards_by_id[pk] for pk in ids_by_stage.get(column.stage, []) if pk in cards_by_id]
    attach_offerings(tenant, list(cards_by_id.values()))
    return Pipeline(columns)


@tenant_selector
def rows_by_id(tenant: Tenant, ids: list[int]) -> dict[int, Opportunity]:
    """The opportunities ``ids`` with their account, owner and centre (one query), by id."""
    if not ids:
        return {}
    rows = Opportunity.objects.filter(pk__in=ids).select_related("account", "owner", "buying_centre")
    return {row.pk: row for row in rows}


@tenant_selector
def page_rows(tenant: Tenant, ids: list[int]) -> list[Opportunity]:
    """A page's opportunities in the order of ``ids``, with their joins and offerings."""
    found = rows_by_id(tenant, ids)
    ordered = [found[pk] for pk in ids if pk in found]
    attach_offerings(tenant, ordered)
    return ordered


@tenant_selector
def attach_offerings(tenant: Tenant, opportunities: list[Opportunity]) -> None:
    """Set ``offering_list`` on each (one query)."""
    by_id: dict[int, list[Offering]] = {opportunity.pk: [] for opportunity in opportunities}
    if by_id:
        links = OpportunityOffering.objects.filter(opportunity_id__in=list(by_id)).select_related("offering")
        for link in links.order_by("offering__position", "offering__code"):
            by_id[link.opportunity_id].append(link.offering)
    for opportunity in opportunities:
        opportunity.offering_list = by_id.get(opportunity.pk, [])


@tenant_selector
def opportunity_list_for_account(tenant: Tenant, account: Account) -> QuerySet[Opportunity]:
    """An account's opportunities: the open ones by expected close, then the closed, latest first."""
    return (
        Opportunity.objects.filter(account=account)
        .select_related("owner", "buying_centre")
        .annotate(is_closed=models.Case(models.When(stage__in=CLOSED_STAGES, then=1), default=0))
        .order_by("is_closed", "expected_close", "-closed_on", "id")
    )


@tenant_selector
def opportunity_by_need(tenant: Tenant, need_id: int) -> Opportunity | None:
    return Opportunity.objects.filter(need_id=need_id).order_by("id").first()


@tenant_selector
def opportunity_by_initiative(tenant: Tenant, initiative_id: int) -> Opportunity | None:
    return Opportunity.objects.filter(initiative_id=initiative_id).order_by("id").first()


def open_condition() -> Q:
    return Q(stage__in=OPEN_STAGES)
