"""Risk pages: customer concentration (客户集中度) — the latest snapshot against the
tenant's warning lines, the largest customer groups (with their accounts) and accounts,
and the trend over a chosen period. The risk runs page lives in risk/views/runs.py and
is routed from here.

Roles as the API's concentration endpoints: READ_ALL (a team member reads only the
accounts they work on, and concentration is tenant-wide, so 403). Reads only; the
empty state's button posts to the runs page's start form.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from kam.models import RunStatus
from kam.pages import is_partial
from kam.permissions import READ_ALL, RUNNERS, tenant_view
from risk import presenters, selectors, services
from risk.models import RunKind
from risk.views import diversification

TEMPLATE = "risk/concentration.html"
# The parts htmx swaps in place: the period selector answers the trend, the view switch the table.
PARTIALS = {"concentration-trend": "trend", "concentration-top": "top"}
VIEWS = ("groups", "accounts")


def _choice(request: HttpRequest, name: str, choices: Any, default: str) -> str:
    value = request.GET.get(name, "")
    return value if value in choices else default


def _run_in_progress(request: HttpRequest) -> Any:
    """A queued or running run that takes a snapshot, so the empty state does not offer another."""
    return (
        selectors.run_list(request.tenant)
        .filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING], kind__in=[RunKind.FULL, RunKind.CONCENTRATION])
        .first()
    )


def _context(request: HttpRequest) -> dict[str, Any]:
    tenant = request.tenant
    snapshot = selectors.concentration_latest(tenant)
    context: dict[str, Any] = {"snapshot": snapshot, "can_run": request.membership.role in RUNNERS}
    if snapshot is None:
        context["run_in_progress"] = _run_in_progress(request)
        return context
    policy = services.risk_policy_of(tenant)
    view = _choice(request, "view", VIEWS, "groups")
    period = _choice(request, "period", presenters.PERIODS, presenters.DEFAULT_PERIOD)
    trend = selectors.concentration_trend(tenant, since=presenters.period_since(period, snapshot.as_of))
    share_paths, hhi_paths = diversification.chart_paths(request, trend, snapshot)
    context.update(
        policy=policy,
        gauges=presenters.concentration_gauges(selectors.concentration_lines(policy, snapshot), snapshot),
        view=view,
        period=period,
        periods=list(presenters.PERIOD_LABELS.items()),
        share_marks=presenters.share_marks(policy),
        share_chart=presenters.share_chart(trend, policy, share_paths),
        hhi_chart=presenters.hhi_chart(trend, policy, hhi_paths),
        share_paths=share_paths,
        hhi_paths=hhi_paths,
        targets=diversification.target_rows(request, snapshot),
        can_edit_targets=diversification.can_edit(request),
        trend_rows=presenters.trend_rows(trend, policy),
        trend_count=len(trend),
        table_limit=presenters.TREND_TABLE_ROWS,
    )
    if view == "groups":
        context["groups"] = presenters.group_rows(snapshot, policy, selectors.plan_root_ids(tenant))
    else:
        context["accounts"] = presenters.account_rows(snapshot, policy)
        context["account_hhi_text"] = presenters.hhi_text(snapshot.account_hhi)
    return context


@tenant_view(roles=READ_ALL)
@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def concentration(request: HttpRequest) -> HttpResponse:
    """The latest snapshot's figures as gauges against the lines, the largest groups or
    accounts (?view=), and the trend over ?period= (90d, 1y, all)."""
    context = _context(request)
    partial = PARTIALS.get(request.htmx.target or "") if is_partial(request) else None
    if partial and context["snapshot"] is not None:
        return render(request, f"{TEMPLATE}#{partial}", context)
    return render(request, TEMPLATE, context)


urlpatterns = [
    path("concentration/", concentration, name="risk-concentration"),
]
