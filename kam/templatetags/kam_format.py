"""Template filters for numbers: ``{{ amount|money }}``, ``{{ share|percent }}``
(the formats themselves are in :mod:`kam.formats`), and ``{% date_input_attrs %}``: the
attributes of a date input a template writes by hand, as kam.forms.DateInput renders them."""

from __future__ import annotations

from typing import Any

from django import template
from django.forms.utils import flatatt
from django.utils.safestring import SafeString

from kam.formats import currency_symbol, format_money, format_percent
from kam.forms import date_input_attrs

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


@register.simple_tag
def date_input_attrs_html() -> SafeString:
    """``<input type="text" name="day" {% date_input_attrs_html %}>``: the shared date input's
    attributes (YYYY-MM-DD, the placeholder in the page's language, the numeric keyboard)."""
    return flatatt(date_input_attrs())


@register.simple_tag(name="currency_symbol")
def currency_symbol_tag() -> str:
    """The active tenant's currency symbol (¥, US$ ...), for the scripts that draw amounts."""
    return currency_symbol()
