"""The account manager's home (and a team member's): their accounts by tier and health,
their open alerts, the purchases their accounts are expected to make and the contracts
that end in the next 30 and 90 days, and key figures including their plan actions due.
"My accounts" are those the person owns or serves on (accounts.access), whatever their role.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Q
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from accounts import tabs as account_tabs
from dashboards import selectors
from dashboards.executive import BOTH, OPEN_ALERTS, RISK, day_text, heatmap_part
from dashboards.parts import Board, Cell, Column, Figure, Part, count_text, figures_part, register
from kam.formats import format_money
from kam.models import Role
from kam.permissions import ALL_ROLES
from risk.models import AlertKind, Severity

WINDOWS = (30, 90)
# At most this many rows of a list are read; the card's table scrolls.
LIST_LIMIT = 500


def _horizon(board: Board) -> dt.date:
    return board.today + dt.timedelta(days=WINDOWS[-1])


def _soon(board: Board) -> dt.date:
    return board.today + dt.timedelta(days=WINDOWS[0])


def _listed(board: Board, name: str, read: Any) -> list[Any]:
    """The first LIST_LIMIT rows of ``read(tenant, my account ids, start, end)`` over the next
    90 days, read once per request (the key figures and the list share them)."""
    return board.memo(
        name,
        lambda: list(read(board.tenant, board.my_account_ids, start=board.today, end=_horizon(board))[:LIST_LIMIT]),
    )


def _purchases(board: Board) -> list[Any]:
    return _listed(board, "purchases", selectors.expected_purchases)


def _renewals(board: Board) -> list[Any]:
    return _listed(board, "renewals", selectors.contract_renewals)


def _alerts(board: Board) -> list[Any]:
    return board.memo(
        "alerts",
        lambda: list(selectors.my_open_alerts(board.tenant, board.membership, board.my_account_ids)[:LIST_LIMIT]),
    )


def _within(days: list[dt.date], board: Board) -> tuple[int, int]:
    """How many of the days are in the next 30 days, and in the next 90."""
    return sum(1 for day in days if day <= _soon(board)), len(days)


def _windows_text(soon: int, later: int) -> str:
    return _("%(soon)s in the next 30 days, %(later)s in the next 90 days.") % {
        "soon": count_text(soon),
        "later": count_text(later),
    }


# --- key figures ------------------------------------------------------------------------------------------


@register("my-kpis", "mine", ALL_ROLES)
def my_figures(board: Board) -> Part:
    from teams.selectors import plan_action_list_open

    accounts = board.my_accounts.aggregate(
        total=Count("id"),
        key=Count("id", filter=Q(tier__in=["S", "A"])),
        red=Count("id", filter=Q(health_band="red")),
    )
    actions = plan_action_list_open(board.tenant, board.membership, as_of=board.today).aggregate(
        due=Count("id", filter=Q(due_on__lte=_soon(board))),
        overdue=Count("id", filter=Q(due_on__lt=board.today)),
    )
    alerts = _alerts(board)
    critical = sum(1 for alert in alerts if alert.severity == Severity.CRITICAL)
    purchases_soon, purchases = _within([a.expected_next_purchase for a in _purchases(board)], board)
    renewals_soon, renewals = _within([c.end_on for c in _renewals(board)], board)
    figures = [
        Figure(
            _("My accounts"),
            count_text(accounts["total"]),
            note=_("%(key)s S or A · %(red)s in the red")
            % {"key": count_text(accounts["key"]), "red": count_text(accounts["red"])},
        ),
        Figure(
            _("Open alerts"),
            count_text(len(alerts)),
            note=ngettext("%(count)s critical", "%(count)s critical", critical) % {"count": count_text(critical)},
            level="critical" if critical else "",
        ),
        Figure(
            _("Purchases expected in 30 days"),
            count_text(purchases_soon),
            note=_("%(count)s in 90 days") % {"count": count_text(purchases)},
        ),
        Figure(
            _("Contracts ending in 30 days"),
            count_text(renewals_soon),
            note=_("%(count)s in 90 days") % {"count": count_text(renewals)},
            level="warning" if renewals_soon else "",
        ),
        Figure(
            _("Plan actions due in 30 days"),
            count_text(actions["due"]),
            note=ngettext("%(count)s overdue", "%(count)s overdue", actions["overdue"])
            % {"count": count_text(actions["overdue"])},
            level="warning" if actions["overdue"] else "",
            url=board.url("teams-my-actions"),
        ),
    ]
    return figures_part("my-kpis", figures, depends=BOTH)


# --- my accounts by tier and health ---------------------------------------------------------------------------


@register("my-health", "mine", ALL_ROLES)
def my_health(board: Board) -> Part:
    counts = selectors.health_matrix(board.my_accounts)
    # A member's list shows just their accounts; for the others, the list's owner filter
    # comes closest (it leaves out the accounts they serve on without owning them).
    link_query = {} if board.membership.role == Role.MEMBER else {"owner": board.membership.user_id}
    part = heatmap_part(
        board,
        key="my-health",
        title=_("My accounts by tier and health"),
        counts=counts,
        link_query=link_query,
        depends=BOTH,
    )
    if part.empty:
        part.empty = _("No accounts yet: the accounts you own or whose team you serve on appear here.")
    return part


# --- my open alerts ------------------------------------------------------------------------------------------------


@register("my-alerts", "mine", ALL_ROLES)
def my_alerts(board: Board) -> Part:
    alerts = _alerts(board)
    part = Part(
        key="my-alerts",
        title=_("My open alerts"),
        depends=RISK,
        kind="table",
        columns=[Column(_("Severity")), Column(_("Alert")), Column(_("Account")), Column(_("Opened"))],
    )
    if not alerts:
        part.empty = _("No open alerts on your accounts.")
        return part
    for alert in alerts:
        account_cell = (
            Cell(alert.account.name, url=board.url("accounts-detail", account_id=alert.account_id))
            if alert.account_id
            else Cell(_("Whole workspace"))
        )
        risk_tab = (
            account_tabs.page_url(board.tenant.slug, alert.account_id, "risk")
            if alert.account_id
            else board.url("risk-center")
        )
        part.rows.append(
            [
                Cell(str(Severity(alert.severity).label), badge=f"severity-{alert.severity}"),
                Cell(str(AlertKind(alert.kind).label), url=risk_tab),
                account_cell,
                Cell(day_text(alert.opened_at.date()), value=alert.opened_at.date().isoformat()),
            ]
        )
    critical = sum(1 for alert in alerts if alert.severity == Severity.CRITICAL)
    part.summary = ngettext(
        "%(count)s open alert on your accounts or assigned to you, %(critical)s critical.",
        "%(count)s open alerts on your accounts or assigned to you, %(critical)s critical.",
        len(alerts),
    ) % {"count": count_text(len(alerts)), "critical": count_text(critical)}
    part.more_url = board.url("risk-center", OPEN_ALERTS)
    part.more_label = _("All alerts")
    return part


# --- expected purchases and renewals -------------------------------------------------------------------------------


def _days_left(day: dt.date, board: Board) -> Cell:
    days = (day - board.today).days
    text = _("today") if days == 0 else ngettext("in %(days)s day", "in %(days)s days", days) % {"days": days}
    return Cell(text, value=days, badge="soon" if days <= WINDOWS[0] else "")


@register("my-purchases", "mine", ALL_ROLES)
def my_purchases(board: Board) -> Part:
    assessments = _purchases(board)
    part = Part(
        key="my-purchases",
        title=_("Expected purchases"),
        depends=RISK,
        kind="table",
        columns=[
            Column(_("Expected on")),
            Column(_("When")),
            Column(_("Account")),
            Column(_("Usual interval (days)"), numeric=True),
            Column(_("Last order")),
        ],
    )
    if not assessments:
        part.empty = _(
            "No purchase expected in the next 90 days (from the purchase cycle of the latest health assessment)."
        )
        return part
    for assessment in assessments:
        day = assessment.expected_next_purchase
        interval = assessment.purchase_interval_days
        part.rows.append(
            [
                Cell(day_text(day), value=day.isoformat()),
                _days_left(day, board),
                Cell(assessment.account.name, url=board.url("accounts-detail", account_id=assessment.account_id)),
                Cell(count_text(round(interval)) if interval is not None else "—", value=interval),
                Cell(
                    day_text(assessment.last_order_on),
                    value=assessment.last_order_on.isoformat() if assessment.last_order_on else "",
                ),
            ]
        )
    part.summary = _windows_text(*_within([a.expected_next_purchase for a in assessments], board))
    return part


@register("my-renewals", "mine", ALL_ROLES)
def my_renewals(board: Board) -> Part:
    contracts = _renewals(board)
    part = Part(
        key="my-renewals",
        title=_("Contract renewals"),
        depends=frozenset(),
        kind="table",
        columns=[
            Column(_("Ends on")),
            Column(_("When")),
            Column(_("Account")),
            Column(_("Contract")),
            Column(pgettext("contract", "Value"), numeric=True),
            Column(_("Auto-renew")),
        ],
    )
    if not contracts:
        part.empty = _("No contract ends in the next 90 days.")
        return part
    for contract in contracts:
        part.rows.append(
            [
                Cell(day_text(contract.end_on), value=contract.end_on.isoformat()),
                _days_left(contract.end_on, board),
                Cell(contract.account.name, url=board.url("accounts-detail", account_id=contract.account_id)),
                Cell(contract.title),
                Cell(format_money(contract.value), value=contract.value),
                Cell(_("Yes") if contract.auto_renew else _("No"), value=contract.auto_renew),
            ]
        )
    part.summary = _windows_text(*_within([c.end_on for c in contracts], board))
    return part
