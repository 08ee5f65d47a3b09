"""Dashboard pages: the executive dashboard (管理驾驶舱), the account manager's home, each
card alone (HTML for the live refresh, CSV for the spreadsheet), and the latest-runs
endpoint the live refresh polls (templates/kam/_refresh.html, on the dashboards and the
account page).

Thin: the figures are built by dashboards/executive.py and dashboards/mine.py from
dashboards/selectors.py and the apps' selectors; nothing here writes.
"""

from __future__ import annotations

import json

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from accounts.exports import CSV_CONTENT_TYPE, neutralise, to_csv
from dashboards import executive, forecast, mine  # noqa: F401 (the parts register themselves)
from dashboards.parts import DATA_CHANGED, EVENTS, Board, Part, spec_of, specs_of
from dashboards.periods import all_periods
from dashboards.selectors import DataVersion, data_version
from kam.permissions import READ_ALL, tenant_view

PAGES = {"executive": "dashboards-executive", "mine": "dashboards-mine"}


def _part(board: Board, key: str, *, in_page: bool = False) -> Part:
    """Build one part, with the URLs it reloads and exports itself from. In the page, a lazy
    part is only its placeholder (kind "lazy"), which loads the part from its URL."""
    spec = spec_of(key)
    assert spec is not None
    if in_page and spec.lazy_title:
        part = Part(key=key, title=spec.lazy_title, depends=frozenset(), width="wide", kind="lazy")
    else:
        part = spec.build(board)
    part.url = (
        f"{reverse('dashboards-part', kwargs={'tenant_slug': board.tenant.slug, 'key': key})}?period={board.period.key}"
    )
    part.csv_url = f"{part.url}&format=csv"
    part.png_name = f"{board.tenant.slug}-{part.png_name or key}-{board.today.isoformat()}"
    return part


def _parts(request: HttpRequest, board: Board, page: str) -> list[Part]:
    role = request.membership.role
    return [_part(board, spec.key, in_page=True) for spec in specs_of(page) if role in spec.roles]


def _page_context(request: HttpRequest, board: Board, page: str) -> dict:
    version = board.version
    return {
        "board": board,
        "parts": _parts(request, board, page),
        "data_version": version.token,
        "has_runs": bool(version.score_run or version.risk_run),
    }


@tenant_view(roles=READ_ALL)
@require_GET
def executive_dashboard(request: HttpRequest) -> HttpResponse:
    """管理驾驶舱: tiers, Pareto, health, migration, concentration, alerts, team coverage."""
    from kam.navigation import panels_for

    board = Board.of(request)
    context = _page_context(request, board, "executive")
    context["periods"] = all_periods(board.today)
    # As the workspace home (kam.homes), the panels other apps register for the home come
    # along (plan actions), as on every home page.
    if request.resolver_match is not None and request.resolver_match.url_name == "tenant-home":
        context["panels"] = panels_for(request.membership)
    return render(request, "dashboards/executive.html", context)


@tenant_view()
@require_GET
def my_dashboard(request: HttpRequest) -> HttpResponse:
    """The account manager's (and team member's) home: my accounts, alerts, purchases,
    renewals, and the panels other apps register for the home page (plan actions)."""
    from kam.navigation import panels_for

    board = Board.of(request)
    context = _page_context(request, board, "mine")
    context["panels"] = panels_for(request.membership)
    return render(request, "dashboards/mine.html", context)


@tenant_view()
@require_GET
@vary_on_headers("HX-Request")
def part(request: HttpRequest, key: str) -> HttpResponse:
    """One card: its HTML for htmx (the live refresh), ``?format=csv`` for its table."""
    spec = spec_of(key)
    if spec is None:
        raise Http404("No such dashboard part")
    if request.membership.role not in spec.roles:
        raise PermissionDenied
    file_format = request.GET.get("format", "")
    if file_format not in ("", "csv"):
        return HttpResponseBadRequest(_("Unknown format: choose csv."), content_type="text/plain; charset=utf-8")
    board = Board.of(request)
    built = _part(board, key)
    if file_format == "csv":
        return _csv(built, board)
    if not request.htmx:
        page = reverse(PAGES[spec.board], kwargs={"tenant_slug": board.tenant.slug})
        return redirect(f"{page}?period={board.period.key}")
    return render(request, "dashboards/_part.html", {"part": built})


def _csv(built: Part, board: Board) -> HttpResponse:
    """The part's table with plain values (numbers, ISO dates), formula-guarded like the
    account export (accounts.exports)."""
    header = [str(column.label) for column in built.columns]
    body = [[neutralise(cell.csv_value) for cell in row] for row in built.rows]
    response = HttpResponse(to_csv(header, body), content_type=CSV_CONTENT_TYPE)
    name = f"{board.tenant.slug}-{built.key}-{board.today.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@tenant_view()
@require_GET
@never_cache
def version(request: HttpRequest) -> HttpResponse:
    """The latest finished score and risk runs. For the pages' poller (htmx): 204 while
    nothing changed since ``seen``; else a new poller and an ``HX-Trigger`` of
    kam:data-changed plus kam:score-changed / kam:risk-changed, on which the parts that
    read those runs reload themselves. Without htmx: the ids as JSON."""
    current = data_version(request.tenant)
    if not request.htmx:
        return JsonResponse({"score_run": current.score_run, "risk_run": current.risk_run, "token": current.token})
    seen = DataVersion.parse(request.GET.get("seen", ""))
    if seen == current:
        return HttpResponse(status=204)
    response = render(request, "kam/_refresh.html", {"data_version": current.token})
    if seen is not None:
        changed = {"score": seen.score_run != current.score_run, "risk": seen.risk_run != current.risk_run}
        events: dict[str, object] = {DATA_CHANGED: changed}
        events.update({EVENTS[name]: {} for name, yes in changed.items() if yes})
        response["HX-Trigger"] = json.dumps(events)
    return response
