"""Small pieces of the team pages: the coverage bar and the strength meter."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from teams.models import STRENGTH_RANK, Strength

register = template.Library()


@register.inclusion_tag("teams/_coverage.html")
def coverage_bar(coverage: Any, big: bool = False) -> dict[str, Any]:
    percent = coverage.percent
    if percent is None:
        state = "none"
    elif percent >= 100:
        state = "full"
    elif percent >= 50:
        state = "partial"
    else:
        state = "low"
    return {"coverage": coverage, "percent": percent, "state": state, "big": big}


@register.simple_tag
def strength_meter(strength: str, target: str) -> SafeString:
    """Four steps from vendor to trusted advisor: filled up to now, the aimed-at step ringed."""
    now, aim = STRENGTH_RANK.get(strength, 0), STRENGTH_RANK.get(target, 0)
    steps = []
    for rank in range(1, len(Strength.values)):
        classes = " ".join(name for name, on in (("is-now", rank <= now), ("is-target", rank == aim)) if on)
        steps.append((classes,))
    title = _("Now: %(now)s; aimed at: %(target)s") % {
        "now": Strength(strength).label,
        "target": Strength(target).label,
    }
    return format_html(
        '<span class="meter" role="img" aria-label="{}" title="{}">{}</span>',
        title,
        title,
        format_html_join("", '<span class="{}"></span>', steps),
    )
