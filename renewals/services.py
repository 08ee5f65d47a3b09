"""Writes of renewals (续约). DESIGN section 14.

Opening is set-based: :func:`renewals_open` inserts, in one statement, a renewal for every
contract of the tenant that does not renew itself and whose window has come (notice_days +
LEAD_DAYS before its end, up to the end itself), unless it has one already or was renewed
(another contract names it ``renewal_of``). Beat runs it nightly for every tenant
(renewals.tasks) and a contract's save runs it for that contract once committed
(renewals.apps). A contract whose end passed before its window was seen is history, not
opened.

Stages move prepare -> proposed -> negotiating -> signed | lost: one step forward, proposed
or negotiating straight to signed, any open stage to lost (with a reason), and lost back to
prepare while the contract has not ended. Signing (:func:`renewal_sign`) creates the next
contract from the previous one's terms (accounts.services.contract_create); a move to signed
signs with the default terms. Every write takes the tenant first, validates (a ValidationError
with field messages, nothing written), runs in one transaction and is audited. Who may write
is the pages' and the API's check (accounts.access.can_write), not the services'.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import services as account_services
from accounts.models import AccountStatus, Contract
from kam import audit
from kam.models import AuditAction, Membership, Tenant, User
from kam.records import UNSET, given, update_record
from kam.tenancy import tenant_service, tenant_today
from renewals.models import LEAD_DAYS, STAGE_LABELS, Renewal, RenewalStage

EARLIEST_DAY = dt.date(2000, 1, 1)
LATEST_DAY = dt.date(2100, 12, 31)
MAX_REASON = 500
MAX_NOTE = 5000
MAX_TITLE = 200
MAX_VALUE = Decimal("99999999999999.99")  # accounts' MONEY: 16 digits, 2 places

# Where each stage may go (signed is reached through renewal_sign, which makes the next contract).
MOVES: dict[str, frozenset[str]] = {
    RenewalStage.PREPARE: frozenset({RenewalStage.PROPOSED, RenewalStage.LOST}),
    RenewalStage.PROPOSED: frozenset({RenewalStage.NEGOTIATING, RenewalStage.SIGNED, RenewalStage.LOST}),
    RenewalStage.NEGOTIATING: frozenset({RenewalStage.SIGNED, RenewalStage.LOST}),
    RenewalStage.SIGNED: frozenset(),
    RenewalStage.LOST: frozenset({RenewalStage.PREPARE}),
}

# One statement: every tenant table named with its tenant, the joins included.
OPEN_SQL = """
    INSERT INTO renewals_renewal
        (tenant_id, account_id, contract_id, stage, owner_id, due_on, opened_on, note, lost_reason,
         created_at, updated_at)
    SELECT c.tenant_id, c.account_id, c.id, %(stage)s, a.owner_id, c.end_on - c.notice_days, %(as_of)s, '', '',
           %(now)s, %(now)s
    FROM accounts_contract c
    JOIN accounts_account a ON a.tenant_id = c.tenant_id AND a.id = c.account_id
    WHERE c.tenant_id = %(tenant)s
      AND a.tenant_id = %(tenant)s
      AND NOT c.auto_renew
      AND a.status <> %(lost)s
      AND %(as_of)s >= c.end_on - (c.notice_days + %(lead)s)
      AND %(as_of)s <= c.end_on
      AND NOT EXISTS (
          SELECT 1 FROM accounts_contract n WHERE n.tenant_id = %(tenant)s AND n.renewal_of_id = c.id
      )
      {only}
    ON CONFLICT (tenant_id, contract_id) DO NOTHING
    RETURNING id
"""


def stage_label(stage: str) -> str:
    return str(STAGE_LABELS.get(stage, stage))


# --- opening ------------------------------------------------------------------------------------------


@tenant_service
def renewals_open(tenant: Tenant, as_of: dt.date | None = None, *, contract_ids: Iterable[int] | None = None) -> int:
    """Open the renewals whose window has come on ``as_of`` (the tenant's today by default), of
    every contract or of ``contract_ids`` only; running it again opens nothing more. Returns how
    many were opened."""
    as_of = as_of or tenant_today(tenant)
    params: dict[str, Any] = {
        "tenant": tenant.pk,
        "as_of": as_of,
        "lead": LEAD_DAYS,
        "stage": RenewalStage.PREPARE.value,
        "lost": AccountStatus.LOST.value,
        "now": timezone.now(),
    }
    only = ""
    if contract_ids is not None:
        ids = sorted({int(pk) for pk in contract_ids})
        if not ids:
            return 0
        params["ids"] = ids
        only = "AND c.id = ANY(%(ids)s)"
    with connection.cursor() as cursor:
        cursor.execute(OPEN_SQL.format(only=only), params)
        opened = [row[0] for row in cursor.fetchall()]
    if opened:
        audit.record_bulk(
            tenant=tenant,
            action=AuditAction.CREATE,
            model=Renewal,
            summary=_("%(count)s renewals opened as of %(day)s") % {"count": len(opened), "day": as_of.isoformat()},
            changes={"opened": [None, len(opened)], "as_of": [None, as_of.isoformat()], "ids": [None, opened[:100]]},
        )
    return len(opened)


# --- validation ---------------------------------------------------------------------------------------


def _check_day(value: Any, field: str) -> dt.date:
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise ValidationError({field: _("Enter a date.")})
    if not EARLIEST_DAY <= value <= LATEST_DAY:
        raise ValidationError(
            {
                field: _("Enter a date between %(first)s and %(last)s.")
                % {"first": EARLIEST_DAY.isoformat(), "last": LATEST_DAY.isoformat()}
            }
        )
    return value


def _check_owner(tenant: Tenant, owner: Any) -> User | None:
    if owner is None:
        return None
    if (
        not isinstance(owner, User)
        or not owner.is_active
        or not Membership.objects.filter(tenant=tenant, user=owner, is_active=True).exists()
    ):
        raise ValidationError({"owner": _("The owner must be an active member of this workspace.")})
    return owner


def _check_value(value: Any) -> Decimal:
    message = _("Enter the value, a number of 0 or more.")
    if isinstance(value, bool) or value is None:
        raise ValidationError({"value": message})
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError({"value": message}) from None
    if not amount.is_finite() or amount < 0:
        raise ValidationError({"value": message})
    if amount > MAX_VALUE:
        raise ValidationError({"value": _("The value is too large.")})
    return amount.quantize(Decimal("0.01"))


def _clean_text(value: Any, limit: int) -> str:
    return ("" if value is None else str(value)).replace("\x00", "").strip()[:limit]


def _check_same_tenant(tenant: Tenant, renewal: Renewal) -> None:
    if not isinstance(renewal, Renewal) or renewal.tenant_id != tenant.pk:
        raise ValidationError(_("No such renewal in this workspace."))


def _locked(renewal: Renewal) -> Renewal:
    """The renewal read again under a row lock: two moves or signatures at once run one after the other."""
    return Renewal.objects.select_for_update().select_related("contract", "account").get(pk=renewal.pk)


def _reopenable(tenant: Tenant, renewal: Renewal) -> bool:
    return renewal.contract.end_on >= tenant_today(tenant)


# --- stages -------------------------------------------------------------------------------------------


def allowed_moves(tenant: Tenant, renewal: Renewal) -> list[str]:
    """The stages this renewal may move to now, in the stages' order."""
    targets = MOVES.get(renewal.stage, frozenset())
    if renewal.stage == RenewalStage.LOST and not _reopenable(tenant, renewal):
        targets = frozenset()
    return [stage for stage in RenewalStage.values if stage in targets]


@tenant_service
def renewal_move(tenant: Tenant, *, renewal: Renewal, stage: str, reason: str = "", actor: Any = None) -> Renewal:
    """Move to ``stage``: lost needs ``reason``; signed signs with the default terms (renewal_sign)."""
    _check_same_tenant(tenant, renewal)
    if stage not in RenewalStage.values:
        raise ValidationError(
            {"stage": _("Unknown stage. Choose one of: %(stages)s.") % {"stages": ", ".join(RenewalStage.values)}}
        )
    renewal = _locked(renewal)
    if stage == renewal.stage:
        raise ValidationError({"stage": _("The renewal is at this stage already.")})
    if stage not in MOVES[renewal.stage]:
        raise ValidationError(
            {
                "stage": _("A renewal cannot move from %(from)s to %(to)s.")
                % {"from": stage_label(renewal.stage), "to": stage_label(stage)}
            }
        )
    if stage == RenewalStage.SIGNED:
        return renewal_sign(tenant, renewal=renewal, actor=actor)
    changes: dict[str, Any] = {"stage": stage}
    if stage == RenewalStage.LOST:
        reason = _clean_text(reason, MAX_REASON)
        if not reason:
            raise ValidationError({"reason": _("Say why the renewal was lost.")})
        changes.update(lost_reason=reason, closed_at=timezone.now())
    elif renewal.stage == RenewalStage.LOST:
        if not _reopenable(tenant, renewal):
            raise ValidationError(
                {"stage": _("The contract has ended: a lost renewal can be reopened only before the contract ends.")}
            )
        changes.update(lost_reason="", closed_at=None)
    return update_record(tenant, renewal, changes, actor=actor)


@tenant_service
def renewal_update(
    tenant: Tenant,
    *,
    renewal: Renewal,
    owner: User | None = UNSET,
    due_on: dt.date = UNSET,
    note: str = UNSET,
    actor: Any = None,
) -> Renewal:
    """Change the fields given: the owner (an active member, or nobody), the due date, the note."""
    _check_same_tenant(tenant, renewal)
    changes = given(owner=owner, due_on=due_on, note=note)
    if "owner" in changes:
        changes["owner"] = _check_owner(tenant, changes["owner"])
    if "due_on" in changes:
        changes["due_on"] = _check_day(changes["due_on"], "due_on")
    if "note" in changes:
        changes["note"] = _clean_text(changes["note"], MAX_NOTE)
    renewal = _locked(renewal)
    return update_record(tenant, renewal, changes, actor=actor)


# --- signing ------------------------------------------------------------------------------------------


def term_defaults(contract: Contract) -> dict[str, Any]:
    """The next contract's term when none is given: from the day after the old end, as long as the
    old term, at the old value, under the old title."""
    start_on = contract.end_on + dt.timedelta(days=1)
    return {
        "title": contract.title,
        "start_on": start_on,
        "end_on": start_on + (contract.end_on - contract.start_on),
        "value": contract.value,
    }


@tenant_service
def renewal_sign(
    tenant: Tenant,
    *,
    renewal: Renewal,
    start_on: dt.date | None = None,
    end_on: dt.date | None = None,
    value: Decimal | None = None,
    title: str | None = None,
    actor: Any = None,
) -> Renewal:
    """Sign: the next contract, from the previous one's terms (auto-renew, notice, the clause
    register; confidentiality moved by as many days as the end moved), renewing it; the renewal
    signed and closed, naming it."""
    _check_same_tenant(tenant, renewal)
    renewal = _locked(renewal)
    if renewal.stage not in (RenewalStage.PROPOSED, RenewalStage.NEGOTIATING):
        raise ValidationError(
            {
                "stage": _("Only a proposed or negotiating renewal can be signed (this one is %(stage)s).")
                % {"stage": stage_label(renewal.stage)}
            }
        )
    previous = renewal.contract
    if Contract.objects.filter(renewal_of=previous).exists():
        raise ValidationError(_("This contract was renewed already."))
    defaults = term_defaults(previous)
    start_on = _check_day(defaults["start_on"] if start_on is None else start_on, "start_on")
    if end_on is None:
        end_on = start_on + (previous.end_on - previous.start_on)
    end_on = _check_day(end_on, "end_on")
    if end_on <= start_on:
        raise ValidationError({"end_on": _("The new contract must end after it starts.")})
    value = _check_value(defaults["value"] if value is None else value)
    title = _clean_text(defaults["title"] if title is None or not str(title).strip() else title, 1000)
    if len(title) > MAX_TITLE:
        raise ValidationError({"title": _("A title has at most %(limit)s characters.") % {"limit": MAX_TITLE}})
    shift = end_on - previous.end_on
    confidentiality = previous.confidentiality_until + shift if previous.confidentiality_until else None
    if confidentiality is not None and not EARLIEST_DAY <= confidentiality <= LATEST_DAY:
        confidentiality = None if confidentiality < EARLIEST_DAY else LATEST_DAY
    terms = {name: getattr(previous, name) for name in account_services.CONTRACT_TERMS}
    terms.update(title=title, start_on=start_on, end_on=end_on, value=value, confidentiality_until=confidentiality)
    following = account_services.contract_create(
        tenant, account=previous.account, renewal_of=previous, actor=actor, **terms
    )
    return update_record(
        tenant,
        renewal,
        {"stage": RenewalStage.SIGNED, "next_contract": following, "closed_at": timezone.now()},
        actor=actor,
    )
