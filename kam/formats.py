"""Number formats every page shares: money in CNY, percentages, plain numbers and points.

``format_money``: ¥ with thousands separators and two decimals; in Chinese, large amounts
in 万 (10^4) and 亿 (10^8) as a Chinese reader expects them (元, 万元, 亿元):
12,345,678 -> "¥1,234.57万" in zh-hans, "¥12,345,678.00" in English.
The template filters in ``kam/templatetags/kam_format.py`` call these.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.utils.translation import get_language

EMPTY = "—"
CENT = Decimal("0.01")
WAN = Decimal("10000")
YI = Decimal("100000000")


def to_decimal(value: Any) -> Decimal | None:
    """The value as a Decimal, or None when it is empty or not a number."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None


def format_money(value: Any, language: str | None = None) -> str:
    amount = to_decimal(value)
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


def format_percent(value: Any, digits: int = 1, *, signed: bool = False, empty: str = EMPTY) -> str:
    """A share from 0 to 1 as a percentage: 0.1234 -> "12.3%" (signed: "+12.3%")."""
    share = to_decimal(value)
    if share is None:
        return empty
    percent = (share * 100).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    if percent == 0:
        percent = abs(percent)  # no "-0.0%"
    return f"{'+' if signed and percent > 0 else ''}{percent}%"


def share_text(value: Any) -> str:
    """A share as a percentage without a needless decimal: 0.10 -> "10%", 0.125 -> "12.5%"."""
    return format_percent(value, 1).replace(".0%", "%")


def plain_number(value: Any, *, grouping: bool = True) -> str:
    """65.00 -> "65", 47.50 -> "47.5", 6000000 -> "6,000,000" (thresholds, gates, weights);
    without grouping, as a number input takes it: "6000000"."""
    number = Decimal(str(value))
    spec = ",f" if grouping else "f"
    if number == number.to_integral_value():
        return format(number.to_integral_value(), spec)
    return format(number.normalize(), spec)


def two_decimals(value: Any) -> str:
    return f"{Decimal(str(value)).quantize(CENT)}"


def signed(value: Any) -> str:
    """Points with their sign: +10.00, -3.50, 0.00."""
    number = Decimal(str(value)).quantize(CENT)
    return f"{number:+}" if number else "0.00"
