"""Number formats every page shares: money in CNY, percentages, plain numbers and points.

``format_money``: ¥ with thousands separators and two decimals; in Chinese, large amounts
in 万 (10^4) and 亿 (10^8) as a Chinese reader expects them (元, 万元, 亿元):
12,345,678 -> "¥1,234.57万" in zh-hans, "¥12,345,678.00" in English. The symbol is the
tenant's currency's (``Tenant.currency``: the active tenant's unless one is named; ¥ for CNY).
``format_datetime``: an instant as "YYYY-MM-DD HH:MM" in the tenant's time zone.
The template filters in ``kam/templatetags/kam_format.py`` call these; texts outside the
templates (alert summaries, notifications, e-mails, webhook summaries, channel messages)
call them too, so that an amount or a time reads the same everywhere.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import get_language

from kam.tenancy import get_current_tenant

if TYPE_CHECKING:
    from kam.models import Tenant

EMPTY = "—"
CENT = Decimal("0.01")
WAN = Decimal("10000")
YI = Decimal("100000000")
DEFAULT_CURRENCY = "CNY"
# The symbol a reader in China expects before an amount of each currency (ISO 4217 code);
# another code is written before the amount ("CHF 1,234.00").
CURRENCY_SYMBOLS = {
    "CNY": "¥",
    "RMB": "¥",
    "USD": "US$",
    "HKD": "HK$",
    "MOP": "MOP$",
    "TWD": "NT$",
    "SGD": "S$",
    "AUD": "A$",
    "CAD": "C$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "JP¥",
    "KRW": "₩",
}


def to_decimal(value: Any) -> Decimal | None:
    """The value as a Decimal, or None when it is empty or not a number."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None


# The tenant whose currency and time zone texts use, where one is written outside its context
# (a channel message rendered for a tenant): see formats_for.
_format_tenant: ContextVar[Tenant | None] = ContextVar("kam_format_tenant", default=None)


@contextmanager
def formats_for(tenant: Tenant | None) -> Iterator[None]:
    """Amounts and times written inside the block use ``tenant``'s currency and time zone,
    whichever tenant is active (texts written for a tenant: messages, e-mails)."""
    token = _format_tenant.set(tenant)
    try:
        yield
    finally:
        _format_tenant.reset(token)


def _tenant(tenant: Tenant | None) -> Tenant | None:
    if tenant is not None:
        return tenant
    return _format_tenant.get() or get_current_tenant()


def active_currency(tenant: Tenant | None = None) -> str:
    """The currency code of ``tenant``, else of the active tenant, else CNY."""
    tenant = _tenant(tenant)
    return (getattr(tenant, "currency", "") or DEFAULT_CURRENCY).strip().upper()


def currency_symbol(currency: str | None = None) -> str:
    """¥ for CNY, US$ for USD, ...; the code and a space for one without a symbol here.
    Without a code: the active tenant's currency."""
    code = (currency or active_currency()).strip().upper()
    return CURRENCY_SYMBOLS.get(code, f"{code} ")


def format_money(value: Any, language: str | None = None, currency: str | None = None) -> str:
    """An amount as the pages show it, in ``language`` (the active one by default) and
    ``currency`` (the active tenant's by default)."""
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
    return f"{sign}{currency_symbol(currency)}{amount.quantize(CENT, rounding=ROUND_HALF_UP):,}{unit}"


def tenant_zone(tenant: Tenant | None = None) -> dt.tzinfo:
    """The time zone of ``tenant``, else of the active tenant, else the current one."""
    tenant = _tenant(tenant)
    name = getattr(tenant, "time_zone", "")
    if name:
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    return timezone.get_current_timezone()


def format_datetime(value: Any, tenant: Tenant | None = None, *, empty: str = EMPTY) -> str:
    """An instant (a datetime or its ISO 8601 text) to the minute in the tenant's time zone
    (the active tenant's unless one is named): "2026-12-07 09:30"."""
    try:
        moment = parse_datetime(value) if isinstance(value, str) else value
    except ValueError:
        return empty
    if not isinstance(moment, dt.datetime):
        return empty
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    return f"{moment.astimezone(tenant_zone(tenant)):%Y-%m-%d %H:%M}"


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
