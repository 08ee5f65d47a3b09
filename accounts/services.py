"""Writes of customer accounts and their records. Every function takes the tenant
first, validates (model rules + constraints), runs in a transaction and records the
change in the audit log. Pages, the API, imports and tasks all come through here."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _

from accounts import documents, references
from accounts.models import (
    EVENT_DEFAULTS,
    Account,
    AccountStatus,
    Attitude,
    BuyingRole,
    Contact,
    ContactLevel,
    Contract,
    Event,
    Interaction,
    Invoice,
    IpOwnership,
    Order,
    Payment,
)
from kam import audit
from kam.formats import format_money
from kam.models import AuditAction, Tenant, User
from kam.records import UNSET, check_same_tenant, create_record, delete_record, given, update_record
from kam.runs import wait_for_account_readers
from kam.tenancy import tenant_service, tenant_today

M = TypeVar("M", bound=models.Model)

# Called after an event is recorded, once the transaction commits: fn(tenant, event).
# Scoring registers its rescore here (accounts imports no other domain app).
event_recorded_hooks: list[Callable[[Tenant, Event], None]] = []
# Called after a single order is created, changed or deleted, once the transaction commits:
# fn(tenant, account_id), once per account the order belongs (or belonged) to. Scoring
# rescores that account. The bulk path (orders_bulk_create, the import) calls none: the
# nightly run covers it.
order_written_hooks: list[Callable[[Tenant, int], None]] = []


def _database_message(exc: IntegrityError) -> str:
    text = str(exc)
    if "cycle" in text:
        return _("This parent would make a cycle in the group hierarchy.")
    if "not an account of this tenant" in text:
        return _("Choose one of this workspace's own accounts as parent.")
    return _("The change breaks a data rule and was not saved.")


def _create(tenant: Tenant, model: type[M], data: Mapping[str, Any], *, actor: Any = None) -> M:
    return create_record(tenant, model, data, actor=actor, database_message=_database_message)


def _update(tenant: Tenant, instance: M, data: Mapping[str, Any], *, actor: Any = None) -> M:
    return update_record(tenant, instance, data, actor=actor, database_message=_database_message)


_check_same_tenant = check_same_tenant
_delete = delete_record


# --- accounts ---------------------------------------------------------------------------------


def _check_parent(tenant: Tenant, account: Account | None, parent: Account | None) -> None:
    if parent is None:
        return
    _check_same_tenant(tenant, parent=parent)
    if account is None or account.pk is None:
        return
    if parent.pk == account.pk:
        raise ValidationError({"parent": _("An account cannot be its own parent.")})
    ancestor: Account | None = parent
    seen: set[int] = set()
    while ancestor is not None and ancestor.pk not in seen:
        if ancestor.pk == account.pk:
            raise ValidationError({"parent": _("This parent would make a cycle in the group hierarchy.")})
        seen.add(ancestor.pk)
        ancestor = ancestor.parent


@tenant_service
def account_create(
    tenant: Tenant,
    *,
    name: str,
    legal_name: str = "",
    credit_code: str = "",
    industry: str = "",
    region: str = "",
    parent: Account | None = None,
    owner: User | None = None,
    status: str = AccountStatus.ACTIVE,
    cooperation_since: dt.date | None = None,
    notes: str = "",
    actor: Any = None,
) -> Account:
    _check_parent(tenant, None, parent)
    data = {
        "name": name,
        "legal_name": legal_name,
        "credit_code": credit_code,
        "industry": industry,
        "region": region,
        "parent": parent,
        "owner": owner,
        "status": status,
        "cooperation_since": cooperation_since,
        "notes": notes,
    }
    return _create(tenant, Account, data, actor=actor)


STALE_ACCOUNT_CODE = "stale"


def stale_account_message() -> str:
    return _(
        "Someone else saved this account while you were editing it, so your changes were not saved. "
        "Open the account in another tab to see their changes; to keep yours instead, save again."
    )


def _locked_current(account: Account) -> Account:
    """Re-read ``account`` under a row lock (in place), so that the checks and the save see
    the latest committed values and a concurrent edit waits for this one."""
    account.refresh_from_db(from_queryset=Account.objects.select_for_update())
    return account


def _bump_version(account: Account) -> None:
    # An UPDATE of its own, so that the audit entry lists only the fields people changed.
    Account.objects.filter(pk=account.pk).update(version=models.F("version") + 1)
    account.version += 1


@tenant_service
def account_update(
    tenant: Tenant,
    *,
    account: Account,
    name: str = UNSET,
    legal_name: str = UNSET,
    credit_code: str = UNSET,
    industry: str = UNSET,
    region: str = UNSET,
    parent: Account | None = UNSET,
    owner: User | None = UNSET,
    status: str = UNSET,
    cooperation_since: dt.date | None = UNSET,
    notes: str = UNSET,
    actor: Any = None,
    expected_version: int | None = None,
) -> Account:
    """Change the fields given. With ``expected_version`` (the version a form was shown with),
    a save over a newer version is refused: two people editing at once never silently lose
    the first one's changes. Every save increments the version."""
    data = given(
        name=name,
        legal_name=legal_name,
        credit_code=credit_code,
        industry=industry,
        region=region,
        parent=parent,
        owner=owner,
        status=status,
        cooperation_since=cooperation_since,
        notes=notes,
    )
    _locked_current(account)
    if expected_version is not None and account.version != expected_version:
        raise ValidationError(stale_account_message(), code=STALE_ACCOUNT_CODE)
    if "parent" in data:
        _check_parent(tenant, account, data["parent"])
    _update(tenant, account, data, actor=actor)
    _bump_version(account)
    return account


@tenant_service
def account_archive(tenant: Tenant, *, account: Account, actor: Any = None) -> Account:
    """An account with history is never deleted: it is marked lost and keeps its records."""
    _update(tenant, _locked_current(account), {"status": AccountStatus.LOST}, actor=actor)
    _bump_version(account)
    return account


@tenant_service
def account_delete(tenant: Tenant, *, account: Account, actor: Any = None) -> None:
    # First, before any account row is locked: the jobs that read the accounts finish, and
    # no new one starts until this commits (no job writes a row for the deleted account).
    wait_for_account_readers(tenant)
    if account.orders.exists() or account.invoices.exists():
        raise ValidationError(
            _("%(name)s has orders or invoices; archive it (status lost) instead of deleting its history.")
            % {"name": account.name}
        )
    if account.children.exists():
        raise ValidationError(_("%(name)s has subsidiaries; move or archive them first.") % {"name": account.name})
    _delete(tenant, account, actor=actor)


@tenant_service
def accounts_set_current_values(tenant: Tenant, *, values: Iterable[tuple[int, Mapping[str, Any]]]) -> int:
    """The entry point by which scoring and risk denormalise tier, score and health onto
    accounts. For set-based jobs, an UPDATE ... FROM in their own SQL is preferred;
    this serves the single-account path. growth denormalises wallet, share_of_wallet and
    potential_12m (DESIGN section 12) the same way."""
    allowed = {"tier", "score", "health_score", "health_band", "wallet", "share_of_wallet", "potential_12m"}
    count = 0
    for account_id, fields in values:
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"not a denormalised account value: {sorted(unknown)}")
        count += Account.objects.filter(pk=account_id).update(**fields)
    return count


# --- contacts ----------------------------------------------------------------------------------


def _check_reports_to(tenant: Tenant, contact: Contact | None, account: Account, reports_to: Contact | None) -> None:
    if reports_to is None:
        return
    _check_same_tenant(tenant, reports_to=reports_to)
    if reports_to.account_id != account.pk:
        raise ValidationError({"reports_to": _("A contact reports to someone at the same account.")})
    boss: Contact | None = reports_to
    seen: set[int] = set()
    while contact is not None and contact.pk and boss is not None and boss.pk not in seen:
        if boss.pk == contact.pk:
            raise ValidationError({"reports_to": _("This would make a loop in the org chart.")})
        seen.add(boss.pk)
        boss = boss.reports_to


@tenant_service
def contact_create(
    tenant: Tenant,
    *,
    account: Account,
    name: str,
    title: str = "",
    department: str = "",
    level: str = ContactLevel.OPERATIONAL,
    buying_role: str = BuyingRole.USER,
    attitude: str = Attitude.NEUTRAL,
    reports_to: Contact | None = None,
    email: str = "",
    phone: str = "",
    left_on: dt.date | None = None,
    actor: Any = None,
) -> Contact:
    _check_same_tenant(tenant, account=account)
    _check_reports_to(tenant, None, account, reports_to)
    data = {
        "account": account,
        "name": name,
        "title": title,
        "department": department,
        "level": level,
        "buying_role": buying_role,
        "attitude": attitude,
        "reports_to": reports_to,
        "email": email,
        "phone": phone,
        "left_on": left_on,
    }
    return _create(tenant, Contact, data, actor=actor)


@tenant_service
def contact_update(
    tenant: Tenant,
    *,
    contact: Contact,
    account: Account = UNSET,
    name: str = UNSET,
    title: str = UNSET,
    department: str = UNSET,
    level: str = UNSET,
    buying_role: str = UNSET,
    attitude: str = UNSET,
    reports_to: Contact | None = UNSET,
    email: str = UNSET,
    phone: str = UNSET,
    left_on: dt.date | None = UNSET,
    actor: Any = None,
) -> Contact:
    """Change the fields given."""
    data = given(
        account=account,
        name=name,
        title=title,
        department=department,
        level=level,
        buying_role=buying_role,
        attitude=attitude,
        reports_to=reports_to,
        email=email,
        phone=phone,
        left_on=left_on,
    )
    account = data.get("account", contact.account)
    _check_same_tenant(tenant, account=account)
    if "reports_to" in data or "account" in data:
        _check_reports_to(tenant, contact, account, data.get("reports_to", contact.reports_to))
    return _update(tenant, contact, data, actor=actor)


@tenant_service
def contact_delete(tenant: Tenant, *, contact: Contact, actor: Any = None) -> None:
    _delete(tenant, contact, actor=actor)


# --- orders ------------------------------------------------------------------------------------


def _order_written(tenant: Tenant, *account_ids: int | None) -> None:
    for account_id in dict.fromkeys(pk for pk in account_ids if pk is not None):
        for hook in order_written_hooks:
            transaction.on_commit(lambda hook=hook, account_id=account_id: hook(tenant, account_id))


def _code(value: Any) -> str:
    """An order's offering or buying centre code: text without surrounding spaces ("" for none)."""
    return "" if value is None else str(value).strip()


def _check_order_references(tenant: Tenant, rows: list[Mapping[str, Any]]) -> None:
    """Unknown offering and buying centre codes (accounts.references) are field errors; in a
    batch, the first bad row's, with its index."""
    errors = references.order_reference_errors(tenant, rows)
    if not errors:
        return
    if len(rows) == 1:
        raise ValidationError(errors[0])
    index = min(errors)
    raise ValidationError(
        {
            field: [_("Order %(index)s: %(message)s") % {"index": index, "message": message} for message in messages]
            for field, messages in errors[index].items()
        }
    )


@tenant_service
def order_create(
    tenant: Tenant,
    *,
    account: Account,
    order_date: dt.date,
    amount: Decimal,
    cost: Decimal | None = None,
    product_line: str = "",
    offering: str = "",
    buying_centre: str = "",
    external_ref: str = "",
    actor: Any = None,
) -> Order:
    _check_same_tenant(tenant, account=account)
    data = {
        "account": account,
        "order_date": order_date,
        "amount": amount,
        "cost": cost,
        "product_line": product_line,
        "offering": _code(offering),
        "buying_centre": _code(buying_centre),
        "external_ref": external_ref,
    }
    _check_order_references(tenant, [data])
    order = _create(tenant, Order, data, actor=actor)
    _order_written(tenant, order.account_id)
    return order


@tenant_service
def order_update(
    tenant: Tenant,
    *,
    order: Order,
    account: Account = UNSET,
    order_date: dt.date = UNSET,
    amount: Decimal = UNSET,
    cost: Decimal | None = UNSET,
    product_line: str = UNSET,
    offering: str = UNSET,
    buying_centre: str = UNSET,
    external_ref: str = UNSET,
    actor: Any = None,
) -> Order:
    """Change the fields given."""
    data = given(
        account=account,
        order_date=order_date,
        amount=amount,
        cost=cost,
        product_line=product_line,
        offering=offering,
        buying_centre=buying_centre,
        external_ref=external_ref,
    )
    _check_same_tenant(tenant, account=data.get("account"))
    for name in ("offering", "buying_centre"):
        if name in data:
            data[name] = _code(data[name])
    if {"account", "offering", "buying_centre"} & set(data):
        # the codes as they will be: a new account must have the order's buying centre
        after = {name: data.get(name, getattr(order, name)) for name in ("offering", "buying_centre")}
        after["account"] = data.get("account", order.account_id)
        if "offering" not in data:
            after["offering"] = ""  # unchanged: not checked again
        _check_order_references(tenant, [after])
    account_before = order.account_id
    _update(tenant, order, data, actor=actor)
    _order_written(tenant, account_before, order.account_id)
    return order


@tenant_service
def order_delete(tenant: Tenant, *, order: Order, actor: Any = None) -> None:
    account_id = order.account_id
    _delete(tenant, order, actor=actor)
    _order_written(tenant, account_id)


@tenant_service
def orders_bulk_create(tenant: Tenant, *, rows: list[dict[str, Any]], actor: Any = None) -> dict[str, int]:
    """Create many orders at once, atomically and idempotently by external_ref.

    ``rows`` are validated dicts (account as an Account of this tenant). A row whose
    external_ref exists already is skipped, so re-sending a batch creates nothing.
    One INSERT ... ON CONFLICT DO NOTHING does the work; the audit log gets one entry
    for the batch rather than one per row.
    """
    for row in rows:
        _check_same_tenant(tenant, account=row["account"])
        for name in ("offering", "buying_centre"):
            if name in row:
                row[name] = _code(row[name])
    _check_order_references(tenant, rows)
    counts = Counter(row.get("external_ref") or "" for row in rows)
    duplicated = {ref for ref, count in counts.items() if ref and count > 1}
    if duplicated:
        raise ValidationError(
            _("These external references appear more than once in the batch: %(refs)s")
            % {"refs": ", ".join(sorted(duplicated)[:20])}
        )
    orders = [Order(tenant=tenant, **row) for row in rows]
    with_ref = [order for order in orders if order.external_ref]
    without_ref = [order for order in orders if not order.external_ref]
    created = 0
    if with_ref:
        before = Order.objects.filter(external_ref__in=[o.external_ref for o in with_ref]).count()
        Order.objects.bulk_create(with_ref, batch_size=2000, ignore_conflicts=True)
        after = Order.objects.filter(external_ref__in=[o.external_ref for o in with_ref]).count()
        created += after - before
    if without_ref:
        Order.objects.bulk_create(without_ref, batch_size=2000)
        created += len(without_ref)
    existing = len(rows) - created
    if created:
        audit.record_bulk(
            tenant=tenant,
            action=AuditAction.CREATE,
            model=Order,
            summary=_("%(count)s orders (bulk)") % {"count": created},
            changes={"created": [None, created], "already_existed": [None, existing]},
            actor=actor,
        )
    return {"created": created, "already_existed": existing}


# --- invoices, interactions, contracts ------------------------------------------------------------


@tenant_service
def invoice_create(
    tenant: Tenant,
    *,
    account: Account,
    number: str,
    issued_on: dt.date,
    due_on: dt.date,
    amount: Decimal,
    paid_on: dt.date | None = None,
    paid_amount: Decimal | None = None,
    actor: Any = None,
) -> Invoice:
    _check_same_tenant(tenant, account=account)
    data = {
        "account": account,
        "number": number,
        "issued_on": issued_on,
        "due_on": due_on,
        "amount": amount,
        "paid_on": paid_on,
        "paid_amount": paid_amount,
    }
    return _create(tenant, Invoice, data, actor=actor)


@tenant_service
def invoice_update(
    tenant: Tenant,
    *,
    invoice: Invoice,
    account: Account = UNSET,
    number: str = UNSET,
    issued_on: dt.date = UNSET,
    due_on: dt.date = UNSET,
    amount: Decimal = UNSET,
    paid_on: dt.date | None = UNSET,
    paid_amount: Decimal | None = UNSET,
    actor: Any = None,
) -> Invoice:
    """Change the fields given."""
    data = given(
        account=account,
        number=number,
        issued_on=issued_on,
        due_on=due_on,
        amount=amount,
        paid_on=paid_on,
        paid_amount=paid_amount,
    )
    _check_same_tenant(tenant, account=data.get("account"))
    return _update(tenant, invoice, data, actor=actor)


@tenant_service
def invoice_delete(tenant: Tenant, *, invoice: Invoice, actor: Any = None) -> None:
    _delete(tenant, invoice, actor=actor)


# --- payments (回款) -----------------------------------------------------------------------------


def _user_or_none(actor: Any) -> User | None:
    """The person who acts, for a created_by (an API token is no user)."""
    return actor if getattr(actor, "is_authenticated", False) and hasattr(actor, "email") else None


def _locked_invoice(invoice: Invoice) -> Invoice:
    """Re-read ``invoice`` under a row lock (in place): two payments at once cannot both take
    the last of its balance; the second waits, then sees the first."""
    invoice.refresh_from_db(from_queryset=Invoice.objects.select_for_update())
    return invoice


@tenant_service
def payment_create(
    tenant: Tenant,
    *,
    invoice: Invoice,
    paid_on: dt.date,
    amount: Decimal,
    reference: str = "",
    actor: Any = None,
) -> Payment:
    """Record a payment received against an invoice. Its paid_amount grows by the amount; the
    payment that leaves nothing to pay sets its paid_on (the latest day paid), and until then
    paid_on stays empty: paid in part. A payment never exceeds the balance, and an invoice
    already paid takes none."""
    _check_same_tenant(tenant, invoice=invoice)
    _locked_invoice(invoice)
    if invoice.paid_on is not None:
        raise ValidationError(
            {
                "invoice": _("Invoice %(number)s is already paid (on %(day)s); it takes no more payments.")
                % {"number": invoice.number, "day": invoice.paid_on.isoformat()}
            }
        )
    errors: dict[str, str] = {}
    balance = invoice.balance
    if amount is not None and amount <= 0:
        errors["amount"] = _("The amount must be greater than zero.")
    elif amount is not None and amount > balance:
        errors["amount"] = _("The invoice's balance is %(balance)s; a payment cannot exceed it.") % {
            "balance": format_money(balance)
        }
    if paid_on is not None and paid_on < invoice.issued_on:
        errors["paid_on"] = _("A payment cannot be dated before the invoice was issued (%(day)s).") % {
            "day": invoice.issued_on.isoformat()
        }
    elif paid_on is not None and paid_on > tenant_today(tenant):
        errors["paid_on"] = _("A payment cannot be dated in the future.")
    if errors:
        raise ValidationError(errors)
    data = {
        "invoice": invoice,
        "paid_on": paid_on,
        "amount": amount,
        "reference": (reference or "").strip(),
        "created_by": _user_or_none(actor),
    }
    payment = _create(tenant, Payment, data, actor=actor)
    paid = (invoice.paid_amount or Decimal("0")) + payment.amount
    changes: dict[str, Any] = {"paid_amount": paid}
    if paid >= invoice.amount:
        # Settled: on the day the last money came, whichever payment was entered last.
        latest = Payment.objects.filter(invoice=invoice).aggregate(latest=models.Max("paid_on"))["latest"]
        changes["paid_on"] = max(paid_on, latest or paid_on)
    _update(tenant, invoice, changes, actor=actor)
    return payment


@tenant_service
def payment_delete(tenant: Tenant, *, payment: Payment, actor: Any = None) -> Invoice:
    """Undo a payment: its amount comes off the invoice's paid_amount, and an invoice it had
    settled is unpaid again (paid in part, or not at all). Answers the invoice."""
    _check_same_tenant(tenant, payment=payment)
    invoice = Invoice.objects.select_for_update().get(pk=payment.invoice_id)
    paid = max((invoice.paid_amount or Decimal("0")) - payment.amount, Decimal("0"))
    changes: dict[str, Any] = {"paid_amount": paid or None}
    if paid < invoice.amount:
        changes["paid_on"] = None
    _delete(tenant, payment, actor=actor)
    _update(tenant, invoice, changes, actor=actor)
    return invoice


@tenant_service
def interaction_create(
    tenant: Tenant,
    *,
    account: Account,
    kind: str,
    occurred_at: dt.datetime,
    summary: str,
    contact: Contact | None = None,
    user: User | None = None,
    actor: Any = None,
) -> Interaction:
    """Log an interaction; ``user`` is who had it (the member logging it on the pages)."""
    _check_same_tenant(tenant, account=account, contact=contact)
    if contact is not None and contact.account_id != account.pk:
        raise ValidationError({"contact": _("Choose a contact of this account.")})
    data = {
        "account": account,
        "kind": kind,
        "occurred_at": occurred_at,
        "summary": summary,
        "contact": contact,
        "user": user,
    }
    return _create(tenant, Interaction, data, actor=actor)


@tenant_service
def interaction_update(
    tenant: Tenant,
    *,
    interaction: Interaction,
    account: Account = UNSET,
    contact: Contact | None = UNSET,
    kind: str = UNSET,
    occurred_at: dt.datetime = UNSET,
    summary: str = UNSET,
    actor: Any = None,
) -> Interaction:
    """Change the fields given."""
    data = given(account=account, contact=contact, kind=kind, occurred_at=occurred_at, summary=summary)
    contact = data.get("contact", interaction.contact)
    account = data.get("account", interaction.account)
    _check_same_tenant(tenant, account=account, contact=contact)
    if contact is not None and contact.account_id != account.pk:
        raise ValidationError({"contact": _("Choose a contact of this account.")})
    return _update(tenant, interaction, data, actor=actor)


@tenant_service
def interaction_delete(tenant: Tenant, *, interaction: Interaction, actor: Any = None) -> None:
    _delete(tenant, interaction, actor=actor)


CONTRACT_TERMS = (
    "title",
    "start_on",
    "end_on",
    "value",
    "auto_renew",
    "notice_days",
    "ip_ownership",
    "confidentiality_until",
    "exclusivity",
    "non_solicit",
    "liability_cap",
)


@tenant_service
def contract_create(
    tenant: Tenant,
    *,
    account: Account,
    title: str,
    start_on: dt.date,
    end_on: dt.date,
    value: Decimal = Decimal("0"),
    auto_renew: bool = False,
    notice_days: int = 90,
    ip_ownership: str = IpOwnership.NONE,
    confidentiality_until: dt.date | None = None,
    exclusivity: bool = False,
    non_solicit: bool = False,
    liability_cap: Decimal | None = None,
    renewal_of: Contract | None = None,
    document: Any = None,
    actor: Any = None,
) -> Contract:
    """``document``: an uploaded file (accounts.documents checks its size and its type by its
    content before anything is written)."""
    _check_same_tenant(tenant, account=account)
    if renewal_of is not None and renewal_of.tenant_id != tenant.pk:
        raise ValidationError({"renewal_of": _("No such contract in this workspace.")})
    checked = documents.check_document(document) if document is not None else None
    data = {
        "account": account,
        "title": title,
        "start_on": start_on,
        "end_on": end_on,
        "value": value,
        "auto_renew": auto_renew,
        "notice_days": notice_days,
        "ip_ownership": ip_ownership,
        "confidentiality_until": confidentiality_until,
        "exclusivity": exclusivity,
        "non_solicit": non_solicit,
        "liability_cap": liability_cap,
        "renewal_of": renewal_of,
        **(checked.fields() if checked is not None else {}),
    }
    return _create(tenant, Contract, data, actor=actor)


@tenant_service
def contract_update(
    tenant: Tenant,
    *,
    contract: Contract,
    account: Account = UNSET,
    title: str = UNSET,
    start_on: dt.date = UNSET,
    end_on: dt.date = UNSET,
    value: Decimal = UNSET,
    auto_renew: bool = UNSET,
    notice_days: int = UNSET,
    ip_ownership: str = UNSET,
    confidentiality_until: dt.date | None = UNSET,
    exclusivity: bool = UNSET,
    non_solicit: bool = UNSET,
    liability_cap: Decimal | None = UNSET,
    document: Any = UNSET,
    actor: Any = None,
) -> Contract:
    """Change the fields given. ``document``: a new file replaces the stored one, None removes
    it; the file it replaces is deleted once the change commits. Every field and the file are
    checked before anything is written: a bad one changes nothing."""
    data = given(
        account=account,
        title=title,
        start_on=start_on,
        end_on=end_on,
        value=value,
        auto_renew=auto_renew,
        notice_days=notice_days,
        ip_ownership=ip_ownership,
        confidentiality_until=confidentiality_until,
        exclusivity=exclusivity,
        non_solicit=non_solicit,
        liability_cap=liability_cap,
    )
    _check_same_tenant(tenant, account=data.get("account"))
    if document is not UNSET:
        data.update(documents.check_document(document).fields() if document is not None else NO_DOCUMENT)
    old_file = contract.document.name if "document" in data else ""
    _update(tenant, contract, data, actor=actor)
    if old_file and old_file != contract.document.name:
        _delete_file_on_commit(contract, old_file)
    return contract


# A contract without a document (its removal).
NO_DOCUMENT = {"document": "", "document_name": "", "document_size": None, "document_type": ""}


def _delete_file_on_commit(contract: Contract, name: str) -> None:
    storage = contract.document.storage
    transaction.on_commit(lambda: storage.delete(name))


@tenant_service
def contract_delete(tenant: Tenant, *, contract: Contract, actor: Any = None) -> None:
    stored = contract.document.name
    _delete(tenant, contract, actor=actor)
    if stored:
        _delete_file_on_commit(contract, stored)


# --- events (动态调整) -------------------------------------------------------------------------------


def event_defaults(kind: str, occurred_on: dt.date) -> tuple[Decimal, dt.date | None]:
    points, days = EVENT_DEFAULTS[kind]
    return points, (occurred_on + dt.timedelta(days=days) if days else None)


@tenant_service
def event_create(
    tenant: Tenant,
    *,
    account: Account,
    kind: str,
    occurred_on: dt.date,
    impact_points: Decimal | None = None,
    expires_on: dt.date | None = None,
    note: str = "",
    actor: Any = None,
) -> Event:
    """Record an event; the kind's default fills impact and expiry when not given.

    Once committed, the registered hooks run (scoring rescores the account at once)."""
    _check_same_tenant(tenant, account=account)
    if kind not in EVENT_DEFAULTS:
        raise ValidationError({"kind": _("Choose a valid event kind.")})
    default_points, default_expiry = event_defaults(kind, occurred_on)
    data = {
        "account": account,
        "kind": kind,
        "occurred_on": occurred_on,
        "impact_points": default_points if impact_points is None else impact_points,
        "expires_on": default_expiry if expires_on is None else expires_on,
        "note": note,
        "created_by": _user_or_none(actor),
    }
    event = _create(tenant, Event, data, actor=actor)
    for hook in event_recorded_hooks:
        transaction.on_commit(lambda hook=hook: hook(tenant, event))
    return event
