"""Writes of growth's catalogue side: offerings (and their import), the product line ->
offering mappings, the buying centres of an account and the not-applicable marks of the
whitespace. Every function takes the tenant first and runs in its context; bad input is a
ValidationError with field messages and writes nothing; every write is audited (kam.records).

Opportunities are written by growth.opportunities.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from accounts.models import Account, Contact
from growth.models import (
    CODE_REGEX,
    BuyingCentre,
    BuyingCentreKind,
    NotApplicable,
    Offering,
    ProductLineMapping,
)
from kam import audit
from kam.models import AuditAction, Tenant
from kam.records import UNSET, check_same_tenant, create_record, delete_record, given, update_record
from kam.tenancy import tenant_service

CODE_RE = re.compile(CODE_REGEX)
MAX_IMPORT_ROWS = 2000
MAX_REPORTED_ERRORS = 200


def _text(value: Any, limit: int) -> str:
    """One line of text: NULs dropped, runs of white space made one space, cut at ``limit``."""
    text = "" if value is None else str(value)
    return " ".join(text.replace("\x00", "").split())[:limit]


def _multiline(value: Any, limit: int) -> str:
    text = "" if value is None else str(value)
    return text.replace("\x00", "").strip()[:limit]


def _code(value: Any, field_name: str = "code") -> str:
    code = "" if value is None else str(value).strip()
    if not code:
        raise ValidationError({field_name: _("Enter a code.")})
    if len(code) > 40:
        raise ValidationError({field_name: _("A code has at most 40 characters.")})
    if not CODE_RE.match(code):
        raise ValidationError(
            {field_name: _("A code is letters, digits, “.”, “_” and “-”, starting with a letter or a digit.")}
        )
    return code


def _required_name(value: Any, field_name: str, limit: int = 120) -> str:
    name = _text(value, 1000)
    if not name:
        raise ValidationError({field_name: _("Enter a name.")})
    if len(name) > limit:
        raise ValidationError({field_name: _("A name has at most %(limit)s characters.") % {"limit": limit}})
    return name


def _refresh_figures(tenant: Tenant, account_ids: list[int]) -> None:
    """The account's wallet, share of wallet and potential again (growth.metrics, when it is there)."""
    try:
        from growth.metrics import account_figures_refresh
    except ImportError:  # pragma: no cover - before growth.metrics lands
        return
    account_figures_refresh(tenant, account_ids=account_ids)


# --- offerings ---------------------------------------------------------------------------------


def _offering_fields(changes: dict[str, Any]) -> dict[str, Any]:
    if "code" in changes:
        changes["code"] = _code(changes["code"])
    for name in ("name_zh", "name_en"):
        if name in changes:
            changes[name] = _required_name(changes[name], name)
    if "category" in changes:
        changes["category"] = _text(changes["category"], 1000)
        if len(changes["category"]) > 60:
            raise ValidationError({"category": _("A category has at most 60 characters.")})
    if "description" in changes:
        changes["description"] = _multiline(changes["description"], 5000)
    if "position" in changes:
        position = changes["position"]
        if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position <= 32767:
            raise ValidationError({"position": _("The position is a whole number from 0 to 32767.")})
    if "is_active" in changes:
        changes["is_active"] = bool(changes["is_active"])
    return changes


def _code_taken() -> str:
    return _("An offering with this code exists already.")


@tenant_service
def offering_create(
    tenant: Tenant,
    *,
    code: str,
    name_zh: str,
    name_en: str,
    category: str = "",
    description: str = "",
    is_active: bool = True,
    position: int = 0,
    actor: Any = None,
) -> Offering:
    data = _offering_fields(
        {
            "code": code,
            "name_zh": name_zh,
            "name_en": name_en,
            "category": category,
            "description": description,
            "is_active": is_active,
            "position": position,
        }
    )
    if Offering.objects.filter(code=data["code"]).exists():
        raise ValidationError({"code": _code_taken()})
    return create_record(tenant, Offering, data, actor=actor, database_message=lambda exc: _code_taken())


@tenant_service
def offering_update(
    tenant: Tenant,
    *,
    offering: Offering,
    code: str = UNSET,
    name_zh: str = UNSET,
    name_en: str = UNSET,
    category: str = UNSET,
    description: str = UNSET,
    is_active: bool = UNSET,
    position: int = UNSET,
    actor: Any = None,
) -> Offering:
    """Change the fields given. A new code: orders that name the old code no longer count for
    it (they keep their codes), so a code in use by orders cannot change."""
    check_same_tenant(tenant, offering=offering)
    changes = _offering_fields(
        given(
            code=code,
            name_zh=name_zh,
            name_en=name_en,
            category=category,
            description=description,
            is_active=is_active,
            position=position,
        )
    )
    if "code" in changes and changes["code"] != offering.code:
        if Offering.objects.filter(code=changes["code"]).exclude(pk=offering.pk).exists():
            raise ValidationError({"code": _code_taken()})
        if _orders_name_offering(tenant, offering.code):
            raise ValidationError(
                {
                    "code": _("Orders name this offering by its code “%(code)s”, so the code stays.")
                    % {"code": offering.code}
                }
            )
    return update_record(tenant, offering, changes, actor=actor, database_message=lambda exc: _code_taken())


def _orders_name_offering(tenant: Tenant, code: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM accounts_order WHERE tenant_id = %s AND offering = %s)", [tenant.pk, code]
        )
        return bool(cursor.fetchone()[0])


@tenant_service
def offering_deactivate(tenant: Tenant, *, offering: Offering, actor: Any = None) -> Offering:
    """An inactive offering leaves the whitespace (no column) and the choices of new
    opportunities; its orders, mappings and opportunities stay."""
    return offering_update(tenant, offering=offering, is_active=False, actor=actor)


@tenant_service
def offering_activate(tenant: Tenant, *, offering: Offering, actor: Any = None) -> Offering:
    return offering_update(tenant, offering=offering, is_active=True, actor=actor)


# --- the import of offerings ----------------------------------------------------------------------

# field -> the header names accepted (Chinese, English; case, spaces and underscores ignored)
OFFERING_COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("编码", "代码", "code", "offering code"),
    "name_zh": ("中文名称", "名称", "name_zh", "chinese name", "name (chinese)"),
    "name_en": ("英文名称", "name_en", "english name", "name (english)", "name"),
    "category": ("类别", "分类", "category"),
    "description": ("描述", "说明", "description"),
    "position": ("排序", "顺序", "position"),
    "is_active": ("启用", "是否启用", "active", "is_active"),
}
REQUIRED_COLUMNS = ("code", "name_zh", "name_en")
TRUE_WORDS = {"1", "true", "yes", "y", "是", "启用", "active", "x", "✓"}
FALSE_WORDS = {"0", "false", "no", "n", "否", "停用", "inactive"}


@dataclass
class RowError:
    row: int
    column: str
    message: str


@dataclass
class OfferingImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_total: int = 0
    file_error: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors and not self.file_error


def _normalize_header(text: str) -> str:
    return re.sub(r"[\s_]+", "", text.strip().casefold())


def _cell_text(raw: Any) -> str:
    from accounts.imports.cells import cell_text

    return cell_text(raw)


def _parse_position(text: str) -> int:
    if not text:
        return 0
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise ValidationError(_("The position is a whole number from 0 to 32767.")) from exc
    if number != number.to_integral_value() or not 0 <= number <= 32767:
        raise ValidationError(_("The position is a whole number from 0 to 32767."))
    return int(number)


def _parse_active(text: str) -> bool:
    if not text:
        return True
    word = text.strip().casefold()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValidationError(_("Write yes or no (是 or 否)."))


@tenant_service
def offerings_import(
    tenant: Tenant, *, path: str | Path, file_name: str = "", actor: Any = None
) -> OfferingImportResult:
    """Offerings from a CSV (UTF-8 or GB18030) or XLSX file, one per row, upserted by code.
    Every row is checked first; when any row is bad, the result lists the errors (row number
    as in the file, header = row 1, and column) and nothing is written."""
    from accounts.imports.cells import is_blank
    from accounts.imports.errors import ImportFileError
    from accounts.imports.files import inspect_file, iter_records

    result = OfferingImportResult()

    def error(row: int, column: str, message: str) -> None:
        result.error_total += 1
        if len(result.errors) < MAX_REPORTED_ERRORS:
            result.errors.append(RowError(row, column, str(message)))

    try:
        source = inspect_file(path, file_name)
        records = iter_records(source)
        header_row, header_cells = None, None
        for row, cells in records:
            if not is_blank(cells):
                header_row, header_cells = row, cells
                break
        if header_cells is None:
            raise ImportFileError(_("The file has no header row."))
        by_name = {_normalize_header(name): key for key, names in OFFERING_COLUMNS.items() for name in names}
        positions: dict[str, int] = {}
        written: dict[str, str] = {}
        for index, raw in enumerate(header_cells):
            text = _cell_text(raw)
            key = by_name.get(_normalize_header(text)) if text else None
            if key is None:
                continue
            if key in positions:
                error(
                    header_row,
                    text,
                    _("This column means the same as “%(other)s”; keep one of them.") % {"other": written[key]},
                )
                continue
            positions[key], written[key] = index, text
        for key in REQUIRED_COLUMNS:
            if key not in positions:
                error(
                    header_row,
                    "",
                    _("The required column “%(column)s” is missing.")
                    % {"column": " / ".join(OFFERING_COLUMNS[key][:1] + (key,))},
                )
        if result.errors:
            return result
        rows: list[tuple[int, dict[str, Any]]] = []
        seen: dict[str, int] = {}
        for row, cells in records:
            if is_blank(cells):
                continue
            if len(rows) >= MAX_IMPORT_ROWS:
                raise ImportFileError(
                    _("At most %(max)s offerings per file; split the file.") % {"max": MAX_IMPORT_ROWS}
                )
            values = {key: _cell_text(cells[index]) if index < len(cells) else "" for key, index in positions.items()}
            data: dict[str, Any] = {}
            for key, parse in (("position", _parse_position), ("is_active", _parse_active)):
                if key in values:
                    try:
                        data[key] = parse(values[key])
                    except ValidationError as exc:
                        error(row, written[key], exc.messages[0])
            for key in ("code", "name_zh", "name_en", "category", "description"):
                if key in values:
                    data[key] = values[key]
            try:
                data = _offering_fields(data)
            except ValidationError as exc:
                for key, messages in exc.message_dict.items():
                    error(row, written.get(key, key), " ".join(messages))
                continue
            code = data["code"]
            if code in seen:
                error(
                    row,
                    written["code"],
                    _("The code %(code)s appears already in row %(row)s.") % {"code": code, "row": seen[code]},
                )
                continue
            seen[code] = row
            rows.append((row, data))
    except ImportFileError as exc:
        result.file_error = str(exc.message if hasattr(exc, "message") else exc)
        return result
    if result.errors:
        return result
    existing = {offering.code: offering for offering in Offering.objects.filter(code__in=list(seen))}
    for _row, data in rows:
        offering = existing.get(data["code"])
        if offering is None:
            create_record(tenant, Offering, data, actor=actor, database_message=lambda exc: _code_taken())
            result.created += 1
            continue
        changes = {key: value for key, value in data.items() if getattr(offering, key) != value}
        if not changes:
            result.unchanged += 1
            continue
        update_record(tenant, offering, changes, actor=actor)
        result.updated += 1
    if result.created or result.updated:
        audit.record_bulk(
            tenant=tenant,
            action=AuditAction.CREATE,
            model=Offering,
            summary=_("Offerings imported from %(file)s") % {"file": file_name or Path(path).name},
            changes={"created": [None, result.created], "updated": [None, result.updated]},
            actor=actor,
        )
    return result


# --- product line mappings ------------------------------------------------------------------------


def _product_line(value: Any) -> str:
    line = "" if value is None else str(value).replace("\x00", "").strip()
    if not line:
        raise ValidationError({"product_line": _("Enter the product line as the orders name it.")})
    if len(line) > 100:
        raise ValidationError({"product_line": _("A product line has at most 100 characters.")})
    return line


@tenant_service
def product_line_mapping_set(
    tenant: Tenant, *, product_line: str, offering: Offering, actor: Any = None
) -> ProductLineMapping:
    """Map a product line (matched ignoring case and surrounding spaces) to an offering;
    a line mapped already moves to this offering."""
    check_same_tenant(tenant, offering=offering)
    line = _product_line(product_line)
    if offering.tenant_id != tenant.pk or not Offering.objects.filter(pk=offering.pk).exists():
        raise ValidationError({"offering": _("Choose one of this workspace's own records.")})
    current = ProductLineMapping.objects.filter(product_line_key=line.casefold()).first()
    taken = lambda exc: _("This product line is mapped already.")  # noqa: E731
    if current is None:
        return create_record(
            tenant,
            ProductLineMapping,
            {"product_line": line, "product_line_key": line.casefold(), "offering": offering},
            actor=actor,
            database_message=taken,
        )
    if current.offering_id == offering.pk and current.product_line == line:
        return current
    return update_record(tenant, current, {"product_line": line, "offering": offering}, actor=actor)


@tenant_service
def product_line_mapping_delete(tenant: Tenant, *, mapping: ProductLineMapping, actor: Any = None) -> None:
    delete_record(tenant, mapping, actor=actor)


# --- buying centres -------------------------------------------------------------------------------


def _annual_spend(value: Any) -> Decimal:
    if value is None or value == "":
        return Decimal("0")
    if isinstance(value, bool):
        raise ValidationError({"annual_spend": _("Enter an amount.")})
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation as exc:
        raise ValidationError({"annual_spend": _("Enter an amount.")}) from exc
    if not amount.is_finite():
        raise ValidationError({"annual_spend": _("Enter an amount.")})
    if amount < 0:
        raise ValidationError({"annual_spend": _("The annual spend cannot be negative.")})
    if amount != amount.quantize(Decimal("0.01")):
        raise ValidationError({"annual_spend": _("Two decimals at most.")})
    if amount >= Decimal("1e14"):
        raise ValidationError({"annual_spend": _("The amount is too large.")})
    return amount


def _centre_fields(changes: dict[str, Any], account: Account) -> dict[str, Any]:
    if "code" in changes:
        changes["code"] = _code(changes["code"])
    if "name" in changes:
        changes["name"] = _required_name(changes["name"], "name")
    if "kind" in changes and changes["kind"] not in BuyingCentreKind.values:
        raise ValidationError({"kind": _("Choose a business unit, a plant or a department.")})
    if "annual_spend" in changes:
        changes["annual_spend"] = _annual_spend(changes["annual_spend"])
    if "notes" in changes:
        changes["notes"] = _multiline(changes["notes"], 5000)
    if "is_primary" in changes:
        changes["is_primary"] = bool(changes["is_primary"])
    if changes.get("decision_maker") is not None:
        contact = changes["decision_maker"]
        if not isinstance(contact, Contact) or contact.account_id != account.pk:
            raise ValidationError({"decision_maker": _("The decision maker must be a contact of this account.")})
        if not Contact.objects.filter(pk=contact.pk, account_id=account.pk).exists():
            raise ValidationError({"decision_maker": _("The decision maker must be a contact of this account.")})
    return changes


def _centre_code_taken() -> str:
    return _("This account has a buying centre with this code already.")


def _unset_primary(tenant: Tenant, account: Account, keep: BuyingCentre | None, actor: Any) -> None:
    others = BuyingCentre.objects.filter(account=account, is_primary=True)
    if keep is not None and keep.pk:
        others = others.exclude(pk=keep.pk)
    for other in others.select_for_update():
        update_record(tenant, other, {"is_primary": False}, actor=actor)


@tenant_service
def buying_centre_create(
    tenant: Tenant,
    *,
    account: Account,
    code: str,
    name: str,
    kind: str = BuyingCentreKind.BUSINESS_UNIT,
    decision_maker: Contact | None = None,
    annual_spend: Decimal | str | int = Decimal("0"),
    is_primary: bool = False,
    notes: str = "",
    actor: Any = None,
) -> BuyingCentre:
    """A buying centre of the account. The first one of an account is its primary; making
    one primary unsets the account's other primary in the same transaction."""
    check_same_tenant(tenant, account=account, decision_maker=decision_maker)
    data = _centre_fields(
        {
            "code": code,
            "name": name,
            "kind": kind,
            "decision_maker": decision_maker,
            "annual_spend": annual_spend,
            "is_primary": is_primary,
            "notes": notes,
        },
        account,
    )
    Account.objects.select_for_update().filter(pk=account.pk).first()  # one writer of an account's centres at a time
    if BuyingCentre.objects.filter(account=account, code=data["code"]).exists():
        raise ValidationError({"code": _centre_code_taken()})
    if not BuyingCentre.objects.filter(account=account).exists():
        data["is_primary"] = True
    if data["is_primary"]:
        _unset_primary(tenant, account, None, actor)
    centre = create_record(
        tenant,
        BuyingCentre,
        {"account": account, **data},
        actor=actor,
        database_message=lambda exc: _centre_code_taken(),
    )
    _refresh_figures(tenant, [account.pk])
    return centre


@tenant_service
def buying_centre_update(
    tenant: Tenant,
    *,
    centre: BuyingCentre,
    code: str = UNSET,
    name: str = UNSET,
    kind: str = UNSET,
    decision_maker: Contact | None = UNSET,
    annual_spend: Decimal | str | int = UNSET,
    is_primary: bool = UNSET,
    notes: str = UNSET,
    actor: Any = None,
) -> BuyingCentre:
    """Change the fields given. Making it primary unsets the account's other primary; the
    primary cannot be unset by itself (make another one primary instead)."""
    check_same_tenant(tenant, centre=centre)
    changes = given(
        code=code,
        name=name,
        kind=kind,
        decision_maker=decision_maker,
        annual_spend=annual_spend,
        is_primary=is_primary,
        notes=notes,
    )
    if changes.get("decision_maker") is not None:
        check_same_tenant(tenant, decision_maker=changes["decision_maker"])
    account = centre.account
    changes = _centre_fields(changes, account)
    Account.objects.select_for_update().filter(pk=account.pk).first()
    if (
        "code" in changes
        and BuyingCentre.objects.filter(account=account, code=changes["code"]).exclude(pk=centre.pk).exists()
    ):
        raise ValidationError({"code": _centre_code_taken()})
    if changes.get("is_primary") is False and centre.is_primary:
        raise ValidationError(
            {"is_primary": _("An account keeps a primary buying centre: make another one primary instead.")}
        )
    if changes.get("is_primary"):
        _unset_primary(tenant, account, centre, actor)
    changes = {name_: value for name_, value in changes.items() if getattr(centre, name_) != value}
    if not changes:
        return centre
    centre = update_record(tenant, centre, changes, actor=actor, database_message=lambda exc: _centre_code_taken())
    _refresh_figures(tenant, [account.pk])
    return centre


@tenant_service
def buying_centre_delete(tenant: Tenant, *, centre: BuyingCentre, actor: Any = None) -> None:
    """Delete a buying centre with its not-applicable marks; its opportunities keep going
    without a centre. When it was the primary, the account's next one (by name) becomes it."""
    check_same_tenant(tenant, centre=centre)
    account_id, was_primary = centre.account_id, centre.is_primary
    NotApplicable.objects.filter(buying_centre=centre).delete()
    from growth.models import Opportunity

    Opportunity.objects.filter(buying_centre=centre).update(buying_centre=None)
    delete_record(tenant, centre, actor=actor)
    if was_primary:
        successor = BuyingCentre.objects.filter(account_id=account_id).order_by("name", "id").first()
        if successor is not None:
            update_record(tenant, successor, {"is_primary": True}, actor=actor)
    _refresh_figures(tenant, [account_id])


# --- not applicable -------------------------------------------------------------------------------


@tenant_service
def not_applicable_mark(
    tenant: Tenant, *, buying_centre: BuyingCentre, offering: Offering, reason: str, actor: Any = None
) -> NotApplicable:
    """Mark that an offering does not apply to a buying centre, with the reason (a second
    mark of the same cell changes its reason)."""
    check_same_tenant(tenant, buying_centre=buying_centre, offering=offering)
    reason = _text(reason, 1000)
    if not reason:
        raise ValidationError({"reason": _("Say why this offering does not apply here.")})
    if len(reason) > 300:
        raise ValidationError({"reason": _("A reason has at most 300 characters.")})
    user = actor if getattr(actor, "is_authenticated", False) and hasattr(actor, "email") else None
    current = NotApplicable.objects.filter(buying_centre=buying_centre, offering=offering).first()
    if current is not None:
        if current.reason == reason:
            return current
        before = audit.snapshot(current)
        current.reason, current.set_by = reason, user
        current.full_clean(exclude=["set_by"])
        current.save()
        audit.record_update(tenant=tenant, instance=current, before=before, actor=actor)
        return current
    # set_by may be empty (an API token, a task), yet the field is not blank=True: it is left
    # out of full_clean here rather than in create_record.
    mark = NotApplicable(tenant=tenant, buying_centre=buying_centre, offering=offering, reason=reason, set_by=user)
    mark.full_clean(exclude=["set_by"])
    try:
        with transaction.atomic():
            mark.save()
    except IntegrityError as exc:
        raise ValidationError(_("This cell is marked already.")) from exc
    audit.record_create(tenant=tenant, instance=mark, actor=actor)
    return mark


@tenant_service
def not_applicable_unmark(
    tenant: Tenant, *, buying_centre: BuyingCentre, offering: Offering, actor: Any = None
) -> bool:
    """Undo the mark; False when the cell was not marked."""
    check_same_tenant(tenant, buying_centre=buying_centre, offering=offering)
    mark = NotApplicable.objects.filter(buying_centre=buying_centre, offering=offering).first()
    if mark is None:
        return False
    delete_record(tenant, mark, actor=actor)
    return True
