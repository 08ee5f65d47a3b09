"""The parts of a dashboard: each card (a chart with its table, a list, a row of figures) is
built by one function from a ``Board`` and served both inside its page and alone, at
/dashboards/parts/<key>/ — as HTML for the live refresh (htmx) and as CSV
(``?format=csv``). Builders live in dashboards/executive.py and dashboards/mine.py and
register here.

A ``Board`` holds what several parts of one request read (the tier summary, the
concentration snapshot, the latest runs), each read once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.http import HttpRequest, QueryDict
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from dashboards import cache, selectors
from dashboards.periods import Period, period_of
from kam.formats import EMPTY, currency_symbol, format_money
from kam.models import Membership, Tenant
from kam.tenancy import tenant_today

# The event names the live refresh sends (dashboards/views.py: version) and parts listen to.
EVENTS = {"score": "kam:score-changed", "risk": "kam:risk-changed"}
DATA_CHANGED = "kam:data-changed"


# --- what a part is made of ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    label: str | Promise
    numeric: bool = False


@dataclass(frozen=True)
class Cell:
    """A table cell: ``text`` as the page shows it, ``value`` as the CSV writes it (plain
    numbers and ISO dates; None: the text), an optional link and badge (a CSS modifier
    such as "tier-s" or "health-red")."""

    text: str
    value: Any = None
    url: str = ""
    badge: str = ""

    @property
    def csv_value(self) -> Any:
        return self.text if self.value is None else self.value


@dataclass(frozen=True)
class Figure:
    """A key figure tile; ``level`` ok|warning|critical colours it."""

    label: str | Promise
    value: str
    note: str = ""
    level: str = ""
    url: str = ""


@dataclass
class Part:
    key: str
    title: str | Promise
    depends: frozenset[str]  # "score", "risk": the runs whose end refreshes the part
    width: str = "half"  # full | half | wide | narrow
    kind: str = "chart"  # chart | table | figures
    summary: str = ""
    option: dict[str, Any] | None = None
    columns: list[Column] = field(default_factory=list)
    rows: list[list[Cell]] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    empty: str = ""  # set: the part has nothing to show, this says why
    chart_height: int = 280
    more_url: str = ""
    more_label: str = ""
    url: str = ""  # set by the view: where the part reloads itself
    csv_url: str = ""
    png_name: str = ""

    @property
    def option_id(self) -> str:
        return f"chart-{self.key}-option"

    @property
    def trigger(self) -> str:
        return ", ".join(f"{EVENTS[name]} from:body" for name in sorted(self.depends))

    @property
    def table(self) -> list[list[tuple[Cell, bool]]]:
        """The rows, each cell with whether its column is numeric (right-aligned)."""
        numeric = [column.numeric for column in self.columns]
        return [list(zip(row, numeric, strict=False)) for row in self.rows]


# --- the request's board -----------------------------------------------------------------------------


@dataclass
class Board:
    """What the parts of one request share: who asks, the period, and reads done once."""

    tenant: Tenant
    membership: Membership
    period: Period
    today: dt.date
    _memo: dict[str, Any] = field(default_factory=dict, repr=False)

    def memo(self, name: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per request, for reads several parts share."""
        if name not in self._memo:
            self._memo[name] = compute()
        return self._memo[name]

    @classmethod
    def of(cls, request: HttpRequest) -> Board:
        today = tenant_today(request.tenant)
        return cls(request.tenant, request.membership, period_of(request.GET.get("period"), today), today)

    def url(self, name: str, query: dict[str, Any] | None = None, **kwargs: Any) -> str:
        """A tenant page's URL with a query string; "" when the page does not exist (yet)."""
        try:
            url = reverse(name, kwargs={"tenant_slug": self.tenant.slug, **kwargs})
        except NoReverseMatch:
            return ""
        if query:
            params = QueryDict(mutable=True)
            params.update({key: value for key, value in query.items() if value not in (None, "")})
            url = f"{url}?{params.urlencode()}"
        return url

    @cached_property
    def version(self) -> selectors.DataVersion:
        return selectors.data_version(self.tenant)

    @cached_property
    def full_run(self) -> Any:
        """The latest full score run: the tiers, revenue and Pareto figures come from its snapshots."""
        from scoring.selectors import run_get_latest_full

        return run_get_latest_full(self.tenant)

    @cached_property
    def tier_summary(self) -> dict[str, Any]:
        """scoring's tier summary of the latest full run (kept with the run: its snapshots never change)."""
        from scoring.selectors import tier_summary_get

        if self.full_run is None:
            return {"as_of": None, "run": None, "tiers": [], "pareto": None}
        return cache.cached(
            self.tenant,
            "tier-summary",
            (self.full_run.pk,),
            lambda: tier_summary_get(self.tenant),
            ttl=cache.SNAPSHOT_TTL,
        )

    @cached_property
    def concentration(self) -> Any:
        from risk.selectors import concentration_latest

        return concentration_latest(self.tenant)

    @cached_property
    def concentration_lines(self) -> dict[str, dict[str, Any]]:
        """The latest snapshot's figures against the policy's warning lines, by key."""
        from risk.selectors import concentration_lines, policy_get

        policy = policy_get(self.tenant)
        if policy is None or self.concentration is None:
            return {}
        return {line["key"]: line for line in concentration_lines(policy, self.concentration)}

    @cached_property
    def alert_counts(self) -> dict[str, dict[str, int]]:
        from risk.selectors import alert_counts_open

        return alert_counts_open(self.tenant, self.membership)

    @cached_property
    def my_account_ids(self) -> list[int]:
        return selectors.my_account_ids(self.tenant, self.membership)

    @property
    def my_accounts(self) -> Any:
        return selectors.my_accounts(self.tenant, self.my_account_ids)


def figures_part(key: str, figures: list[Figure], *, depends: frozenset[str]) -> Part:
    """A row of key figure tiles; its CSV lists them (figure, value, note)."""
    return Part(
        key=key,
        title=_("Key figures"),
        depends=depends,
        width="full",
        kind="figures",
        figures=figures,
        columns=[Column(_("Figure")), Column(pgettext("key figure", "Value"), numeric=True), Column(_("Note"))],
        rows=[[Cell(str(figure.label)), Cell(figure.value), Cell(figure.note)] for figure in figures],
    )


# --- registry ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartSpec:
    key: str
    board: str  # "executive" or "mine": the page the part belongs to
    build: Callable[[Board], Part]
    roles: frozenset[str]
    # Set for a part that reads live records rather than snapshots (the revenue forecast sums
    # orders): the page shows this title with a placeholder that loads the part by itself
    # (htmx, hx-trigger="load"), so that the page never waits for it.
    lazy_title: str | Promise = ""


_PARTS: dict[str, PartSpec] = {}


def register(
    key: str, board: str, roles: frozenset[str], *, lazy_title: str | Promise = ""
) -> Callable[[Callable[[Board], Part]], Callable[[Board], Part]]:
    def decorator(build: Callable[[Board], Part]) -> Callable[[Board], Part]:
        _PARTS[key] = PartSpec(key, board, build, roles, lazy_title)
        return build

    return decorator


def spec_of(key: str) -> PartSpec | None:
    return _PARTS.get(key)


def specs_of(board: str) -> list[PartSpec]:
    return [spec for spec in _PARTS.values() if spec.board == board]


# --- formats for tables (the browser formats the charts' axes itself) -----------------------------------


def count_text(value: int | None) -> str:
    return EMPTY if value is None else f"{value:,}"


def money_short(value: Any) -> str:
    """A large amount for a figure tile: 万/亿 in Chinese (format_money does that), M/B in English."""
    from django.utils.translation import get_language

    if value is None or (get_language() or "").startswith("zh"):
        return format_money(value)
    amount = float(value)
    for size, unit in ((1e9, "B"), (1e6, "M")):
        if abs(amount) >= size:
            return f"{'-' if amount < 0 else ''}{currency_symbol()}{abs(amount) / size:,.2f}{unit}"
    return format_money(value)


def share(part: float | int, whole: float | int) -> float:
    return float(part) / float(whole) if whole else 0.0
