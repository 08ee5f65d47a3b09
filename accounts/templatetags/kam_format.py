"""Number formats of the account pages: money in CNY, and percentages.

``money``: ¥ with thousands separators and two decimals; in Chinese, large amounts
in 万 (10^4) and 亿 (10^8) as a Chinese reader expects them (GLOSSARY: 元, 万元, 亿元):
12,345,678 -> "¥1,234.57万" in zh-hans, "¥12,345,678.00" in English.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django import template
from django.utils.translation import get_language

register = template.Library()

EMPTY = "—"
CENT = Decimal("0.01")
WAN = Decimal("10000")
YI = Decimal("100000000")


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None


def format_money(value: Any, language: str | None = None) -> str:
    amount = _decimal(value)
    if amount is None:
        return EMPTY
    language = (language or get_language() or "").lower()
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    unit = ""
    if language.startswith("zh"):
        if amount >= YI:
            amount, unit = amount / YI, "亿"
        elif amount >= WAN:
            amount, unit = amount / WAN, "万"
    return f"{sign}¥{amount.quantize(CENT, rounding=ROUND_HALF_UP):,}{unit}"


def format_percent(value: Any, digits: int = 1, *, signed: bool = False) -> str:
    """A share from 0 to 1 as a percentage: 0.1234 -> "12.3%" (signed: "+12.3%")."""
    share = _decimal(value)
    if share is None:
        return EMPTY
    percent = (share * 100).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    if percent == 0:
        percent = abs(percent)  # no "-0.0%"
    return f"{'+' if signed and percent > 0 else ''}{percent}%"


@register.filter
def money(value: Any) -> str:
    return format_money(value)


@register.filter
def percent(value: Any, arg: str | int = 1) -> str:
    """``{{ share|percent }}`` -> 12.3%; ``{{ growth|percent:"+1" }}`` -> +12.3% (a leading + shows the sign)."""
    text = str(arg)
    signed = text.startswith("+")
    try:
        digits = int(text.lstrip("+") or 1)
    except ValueError:
        digits = 1
    return format_percent(value, digits, signed=signed)
