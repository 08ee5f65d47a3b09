"""One cell of an import file, parsed and checked: text, dates, amounts, choices in either
language, credit codes, e-mail addresses. A value that is wrong raises CellError with a
message for the user; an empty cell parses to None or ""."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import models
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.imports.errors import CellError
from accounts.models import AccountStatus, Attitude, BuyingRole, ContactLevel
from accounts.validators import validate_credit_code


def cell_text(raw: Any) -> str:
    """A cell as text: strings stripped; Excel numbers without a spurious ".0"; dates as ISO."""
    if raw is None:
        return ""
    if isinstance(raw, str):
        return raw.strip()
    if isinstance(raw, bool):
        return "TRUE" if raw else "FALSE"
    if isinstance(raw, float):
        return str(int(raw)) if raw.is_integer() else repr(raw)
    if isinstance(raw, dt.datetime):
        return raw.date().isoformat() if raw.time() == dt.time(0) else raw.isoformat(sep=" ")
    if isinstance(raw, dt.date):
        return raw.isoformat()
    return str(raw).strip()


def is_blank(cells: Sequence[Any]) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)


def parse_text(raw: Any, max_length: int | None) -> str:
    text = cell_text(raw)
    if max_length is not None and len(text) > max_length:
        raise CellError(
            _("Use at most %(limit)d characters; this value has %(length)d.")
            % {"limit": max_length, "length": len(text)}
        )
    return text


DATE_RE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?\Z"
)
EXCEL_EPOCH = dt.date(1899, 12, 30)


def _date_message() -> str:
    return _("Enter a valid date such as 2026-03-31, 2026/3/31 or 2026年3月31日.")


def parse_date(raw: Any) -> dt.date | None:
    if raw is None:
        return None
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        # An Excel date serial in a cell not formatted as a date.
        if 1 <= raw < 2958466:
            return EXCEL_EPOCH + dt.timedelta(days=int(raw))
        raise CellError(_date_message())
    text = raw.strip() if isinstance(raw, str) else str(raw).strip()
    if not text:
        return None
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise CellError(_date_message()) from None
    match = DATE_RE.match(text)
    if match is None:
        raise CellError(_date_message())
    try:
        return dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise CellError(_date_message()) from None


PLAIN_NUMBER_RE = re.compile(r"-?\d+(?:\.\d+)?\Z")
GROUPED_NUMBER_RE = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?\Z")
MONEY_LIMIT = Decimal(10) ** 14  # max_digits 16, 2 decimal places
# A plain amount that needs no parsing: what parse_money accepts unchanged (0 or more, < 10^14).
FAST_AMOUNT_RE = re.compile(r"(?:0|[1-9]\d{0,13})(?:\.\d{1,2})?\Z")
TWO_PLACES = Decimal("0.01")


def _number_message() -> str:
    return _("Enter a number such as 1234.50, 1,234.50 or ¥1,234.50.")


def parse_money(raw: Any) -> Decimal | None:
    """A decimal amount: thousands separators and a leading ¥ allowed, two decimal places at most."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise CellError(_number_message())
    if isinstance(raw, int):
        value = Decimal(raw)
    elif isinstance(raw, float):
        value = Decimal(repr(raw))
        rounded = value.quantize(TWO_PLACES)
        if abs(rounded - value) < Decimal("0.000001"):  # binary noise of a stored float
            value = rounded
    else:
        text = raw.strip() if isinstance(raw, str) else str(raw).strip()
        if not text:
            return None
        value = Decimal(text) if PLAIN_NUMBER_RE.match(text) else _parse_money_text(text)
    if not value.is_finite():
        raise CellError(_number_message())
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise CellError(_("Use at most two decimal places."))
    if abs(value) >= MONEY_LIMIT:
        raise CellError(_("The number is too large."))
    return value


def _parse_money_text(text: str) -> Decimal:
    negative = False
    text = text.replace(" ", "")
    if text[:1] in "-+":
        negative, text = text[0] == "-", text[1:]
    for prefix in ("¥", "￥", "RMB", "CNY", "rmb", "cny"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    if text[:1] in "-+" and not negative:
        negative, text = text[0] == "-", text[1:]
    if text.endswith("元"):
        text = text[:-1]
    if GROUPED_NUMBER_RE.match(text):
        text = text.replace(",", "")
    if not PLAIN_NUMBER_RE.match(text) or text.startswith("-"):
        raise CellError(_number_message())
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise CellError(_number_message()) from None
    return -value if negative else value


def normalize_name(text: str) -> str:
    """Header and choice spelling ignored: case, spaces, underscores, hyphens, a unit in brackets."""
    text = re.sub(r"[(（][^)）]*[)）]", "", text)
    return re.sub(r"[\s_\-*＊:：]+", "", text).casefold()


# Choice values in the glossary's words, besides the keys and the model's labels in both languages.
CHOICE_SYNONYMS: dict[type[models.TextChoices], dict[str, tuple[str, ...]]] = {
    AccountStatus: {
        "prospect": ("潜在客户", "潜在"),
        "active": ("活跃", "合作中", "正常"),
        "dormant": ("休眠", "沉睡"),
        "lost": ("流失", "已流失"),
    },
    ContactLevel: {
        "operational": ("操作层",),
        "managerial": ("管理层",),
        "executive": ("决策层", "executive"),
    },
    BuyingRole: {
        "decision_maker": ("决策者",),
        "influencer": ("影响者",),
        "user": ("使用者", "用户"),
        "gatekeeper": ("把关者",),
        "technical_buyer": ("技术评估者",),
    },
    Attitude: {
        "champion": ("支持者（内线）", "支持者", "内线"),
        "supporter": ("认可者",),
        "neutral": ("中立",),
        "skeptic": ("怀疑者",),
        "blocker": ("反对者",),
    },
}


@lru_cache(maxsize=16)
def _choice_table(choices: type[models.TextChoices], language: str) -> dict[str, str]:
    table: dict[str, str] = {}
    for value, label in choices.choices:
        names = {value, *CHOICE_SYNONYMS.get(choices, {}).get(value, ())}
        for lang in ("en", "zh-hans", language):
            with translation.override(lang):
                names.add(str(label))
        for name in names:
            table.setdefault(normalize_name(name), value)
    return table


def parse_choice(raw: Any, choices: type[models.TextChoices]) -> str | None:
    text = cell_text(raw)
    if not text:
        return None
    value = _choice_table(choices, translation.get_language() or "en").get(normalize_name(text))
    if value is None:
        listed = ", ".join(f"{key} ({label})" for key, label in choices.choices)
        raise CellError(_("“%(value)s” is not one of: %(choices)s.") % {"value": text, "choices": listed})
    return value


def normalize_code(text: str) -> str:
    """A credit code as stored: upper case, without spaces."""
    return text.upper().replace(" ", "")


def _validated(validate: Callable[[str], None], value: str) -> str:
    """``value`` when the Django validator accepts it; else CellError with its messages."""
    try:
        validate(value)
    except ValidationError as exc:
        raise CellError(" ".join(str(message) for message in exc.messages)) from None
    return value


def parse_credit_code(raw: Any) -> str:
    return _validated(validate_credit_code, normalize_code(cell_text(raw)))


_email_validator = EmailValidator()


def parse_email(raw: Any) -> str:
    text = parse_text(raw, 254)
    return _validated(_email_validator, text) if text else text
