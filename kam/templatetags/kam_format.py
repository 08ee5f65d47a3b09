"""Template filters for numbers: ``{{ amount|money }}``, ``{{ share|percent }}``
(the formats themselves are in :mod:`kam.formats`)."""

from __future__ import annotations

from typing import Any

from django import template

from kam.formats import format_money, format_percent

register = template.Library()


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
