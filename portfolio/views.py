"""Portfolio pages (DESIGN section 13), under /t/<tenant_slug>/portfolio/: the people's table
(directors, executives, administrators; managers and members go to their own page), one
person's page with accounts, shares and the four-quarter trend, the account teams, the export,
and the administrators' weights."""

from __future__ import annotations

import datetime as dt
import json

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from kam.forms import add_service_errors
from kam.permissions import ADMINS, tenant_view
from kam.tenancy import tenant_today
from portfolio import exports, selectors, services
from portfolio.forms import AsOfForm, WeightsForm

TEAMS_SHOWN = 200
# The four quarter ends are past days whose snapshots seldom change: their figures are kept this
# long per tenant, day, person and weights (the whole tenant's take seconds on 100,000 accounts).
TREND_CACHE_SECONDS = 3600


def _cached_trend(request: HttpRequest, day: dt.date, compute, *, user_id: int | None = None) -> list:  # type: ignore[no-untyped-def]
    weights = selectors.weights_get(request.tenant)
    key = "portfolio:trend:{}:{}:{}:{}".format(
        request.tenant.pk, day.isoformat(), user_id or "all", "-".join(str(weights[k]) for k in sorted(weights))
    )
    return cache.get_or_set(key, compute, TREND_CACHE_SECONDS)


SORTS = {
    "index": lambda p: (p.index is None, -(p.index or 0)),
    "revenue": lambda p: -p.revenue,
    "health": lambda p: (p.health is None, -(p.health or 0)),
    "growth": lambda p: (p.growth is None, -(p.growth or 0)),
    "accounts": lambda p: -p.accounts,
    "alerts": lambda p: -p.open_alerts,
    "sla": lambda p: -p.sla_breaches,
    "name": lambda p: p.name.lower(),
}


def _as_of(request: HttpRequest) -> tuple[AsOfForm, dt.date]:
    today = tenant_today(request.tenant)
    form = AsOfForm(request.GET) if request.GET.get("as_of") else AsOfForm(initial={"as_of": today})
    if form.is_bound and form.is_valid() and form.cleaned_data.get("as_of"):
        return form, form.cleaned_data["as_of"]
    return form, today


def _sorted(people: list, sort: str) -> list:
    key = SORTS.get(sort.lstrip("-"), SORTS["index"])
    rows = sorted(people, key=lambda p: p.name.lower())
    return sorted(rows, key=key, reverse=sort.startswith("-"))


def _chart(trend: list) -> str:
    days = sorted({row.day for row in trend})
    names: dict[int, str] = {}
    values: dict[int, dict] = {}
    for row in trend:
        names[row.user_id] = row.name
        values.setdefault(row.user_id, {})[row.day] = row.index
    series = [
        {
            "name": names[user],
            "data": [float(values[user][day]) if values[user].get(day) is not None else None for day in days],
        }
        for user in names
    ]
    return json.dumps({"days": [day.isoformat() for day in days], "series": series})


@tenant_view()
@require_GET
def people_page(request: HttpRequest) -> HttpResponse:
    if not selectors.sees_all(request.membership):
        return redirect("portfolio-person", tenant_slug=request.tenant.slug, user_id=request.user.pk)
    form, day = _as_of(request)
    sort = request.GET.get("sort", "index")
    people = _sorted(selectors.people(request.tenant, day), sort)
    rollup_trend = _cached_trend(request, day, lambda: selectors.rollup_trend(request.tenant, day))
    context = {
        "form": form,
        "as_of": day,
        "people": people,
        "sort": sort,
        "weights": selectors.weights_get(request.tenant),
        "rollup": selectors.rollup(request.tenant, day),
        "rollup_trend": rollup_trend,
        "query": f"as_of={day.isoformat()}",
    }
    return render(request, "portfolio/people.html", context)


@tenant_view()
@require_GET
def person_page(request: HttpRequest, user_id: int) -> HttpResponse:
    # 404: not a member of this tenant, or another person's page for a manager or member
    if not selectors.sees_all(request.membership) and user_id != request.user.pk:
        raise Http404
    membership = selectors.member_user(request.tenant, user_id)
    if membership is None:
        raise Http404
    form, day = _as_of(request)
    trend = _cached_trend(request, day, lambda: selectors.trend(request.tenant, day, user_id=user_id), user_id=user_id)
    context = {
        "form": form,
        "as_of": day,
        "person_user": membership.user,
        "person": selectors.person(request.tenant, user_id, day),
        "accounts": selectors.person_accounts(request.tenant, user_id, day),
        "trend": trend,
        "chart": _chart(trend),
        "weights": selectors.weights_get(request.tenant),
        "sees_all": selectors.sees_all(request.membership),
    }
    return render(request, "portfolio/person.html", context)


@tenant_view()
@require_GET
def teams_page(request: HttpRequest) -> HttpResponse:
    form, day = _as_of(request)
    own = None if selectors.sees_all(request.membership) else request.user.pk
    teams = selectors.teams(request.tenant, day, user_id=own)
    # the largest accounts first; the whole list is in the API (portfolio/teams/)
    context = {"form": form, "as_of": day, "teams": teams[:TEAMS_SHOWN], "total": len(teams), "own": own}
    return render(request, "portfolio/teams.html", context)


@tenant_view()
@require_GET
def export(request: HttpRequest) -> HttpResponse:
    file_format = request.GET.get("format", "csv")
    if file_format not in exports.FORMATS:
        file_format = "csv"
    _form, day = _as_of(request)
    own = None if selectors.sees_all(request.membership) else request.user.pk
    people = _sorted(selectors.people(request.tenant, day, user_id=own), request.GET.get("sort", "index"))
    body = exports.export_people(people, file_format, title=_("Portfolio"))
    response = HttpResponse(body, content_type=exports.FORMATS[file_format])
    response["Content-Disposition"] = f'attachment; filename="portfolio-{day.isoformat()}.{file_format}"'
    return response


@tenant_view(roles=ADMINS)
@require_http_methods(["GET", "POST"])
def weights_page(request: HttpRequest) -> HttpResponse:
    row = selectors.weights_row(request.tenant)
    current = selectors.weights_get(request.tenant)
    form = WeightsForm(request.POST if request.method == "POST" else None, initial=current)
    if request.method == "POST" and form.is_valid():
        try:
            services.weights_update(request.tenant, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The incentive weights were saved."))
            return redirect("portfolio-weights", tenant_slug=request.tenant.slug)
    context = {
        "form": form,
        "row": row,
        "current": current,
        "people_url": reverse("portfolio-people", kwargs={"tenant_slug": request.tenant.slug}),
    }
    return render(request, "portfolio/weights.html", context)


urlpatterns = [
    path("", people_page, name="portfolio-people"),
    path("people/<int:user_id>/", person_page, name="portfolio-person"),
    path("teams/", teams_page, name="portfolio-teams"),
    path("export/", export, name="portfolio-export"),
    path("settings/weights/", weights_page, name="portfolio-weights"),
]
