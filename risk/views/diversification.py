"""Risk pages: diversification (DESIGN section 13, item 2) — the targets of the concentration lines
(shown on the concentration page, set, edited and closed here) and the alternative markets
(替代市场培育计划: list with progress from the orders, create, edit, delete).

Roles as the API: READ_ALL read; writes are for directors and administrators
(kam.permissions.SCORECARD_EDITORS). Another tenant's target or market is 404. Every write goes
through risk.diversification's services; bad input is a 400 with the form's errors, nothing written.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from accounts.selectors import user_list
from kam.forms import DateField, UserChoiceField, add_service_errors
from kam.models import User
from kam.permissions import READ_ALL, SCORECARD_EDITORS, tenant_view
from risk import diversification as div
from risk import selectors
from risk.models import AlternativeMarket, DiversificationLine, DiversificationTarget

EDITORS = SCORECARD_EDITORS


def can_edit(request: HttpRequest) -> bool:
    return request.membership.role in EDITORS


def _concentration_url(request: HttpRequest) -> str:
    return reverse("risk-concentration", kwargs={"tenant_slug": request.tenant.slug}) + "#diversification"


def _markets_url(request: HttpRequest) -> str:
    return reverse("risk-markets", kwargs={"tenant_slug": request.tenant.slug})


# --- targets -----------------------------------------------------------------------------------------


class TargetForm(forms.Form):
    line = forms.ChoiceField(label=gettext_lazy("Line"), choices=DiversificationLine.choices)
    target_value = forms.DecimalField(
        label=gettext_lazy("Target value"),
        max_digits=12,
        decimal_places=4,
        help_text=gettext_lazy(
            "A share from 0 to 1 for the largest customer and the top 5 (0.15 = 15 %); 0 to 10000 for HHI."
        ),
    )
    target_date = DateField(label=gettext_lazy("Target date"))
    owner = UserChoiceField(label=gettext_lazy("Owner"), queryset=User.objects.none(), required=False)
    note = forms.CharField(label=gettext_lazy("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, tenant: Any, target: DiversificationTarget | None = None, **kwargs: Any) -> None:
        if target is not None:
            kwargs.setdefault(
                "initial",
                {
                    "line": target.line,
                    "target_value": target.target_value,
                    "target_date": target.target_date,
                    "owner": target.owner_id,
                    "note": target.note,
                },
            )
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = user_list(tenant, include=[target.owner_id if target else None])
        if target is not None:
            self.fields["line"].disabled = True


def target_rows(request: HttpRequest, snapshot: Any) -> list[dict[str, Any]]:
    """Each line with its active target (if any) and its status against the latest snapshot."""
    active = {target.line: target for target in div.diversification_target_list(request.tenant, active=True)}
    rows = []
    for line, label in DiversificationLine.choices:
        target = active.get(line)
        row: dict[str, Any] = {"line": line, "label": label, "target": target, "is_share": div.is_share_line(line)}
        if target is not None:
            row.update(div.path_status(target, snapshot))
        rows.append(row)
    return rows


PATH_LABELS = {
    DiversificationLine.TOP1: gettext_lazy("Path to the target, largest group"),
    DiversificationLine.TOP5: gettext_lazy("Path to the target, top 5"),
    DiversificationLine.HHI: gettext_lazy("Path to the target, HHI"),
}


def _path_points(target: DiversificationTarget, trend: list[dict[str, Any]], latest: Any) -> dict[Any, Any]:
    """The path's corners within the chart: its start (the baseline, or the path's value on the
    period's first day), the target date, and the latest day when that is after the target date."""
    baseline, goal = target.baseline_value, target.target_value
    start = max(target.baseline_date, trend[0]["as_of"]) if trend else target.baseline_date
    points = {
        start: div.expected_value(baseline, target.baseline_date, goal, target.target_date, start),
        target.target_date: goal,
    }
    if latest is not None and latest.as_of > target.target_date:
        points[latest.as_of] = goal
    return points


def chart_paths(request: HttpRequest, trend: list[dict[str, Any]], latest: Any) -> tuple[list, list]:
    """The active targets' paths for the share chart and the HHI chart (presenters.PathSeries)."""
    share, hhi = [], []
    for target in div.diversification_target_list(request.tenant, active=True):
        series = (f"path_{target.line}", PATH_LABELS[target.line], _path_points(target, trend, latest))
        (hhi if target.line == DiversificationLine.HHI else share).append(series)
    return share, hhi


def _target_form(request: HttpRequest, form: TargetForm, target: DiversificationTarget | None) -> HttpResponse:
    return render(
        request,
        "risk/diversification_target_form.html",
        {"form": form, "target": target},
        status=400 if form.errors else 200,
    )


@tenant_view(roles=EDITORS)
@require_http_methods(["GET", "POST"])
def target_create(request: HttpRequest) -> HttpResponse:
    line = request.GET.get("line", "")
    initial = {
        "line": line if line in DiversificationLine.values else DiversificationLine.TOP1,
        "owner": request.user.pk,
    }
    form = TargetForm(request.POST or None, tenant=request.tenant, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            div.diversification_target_create(request.tenant, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The diversification target was set."))
            return redirect(_concentration_url(request))
    return _target_form(request, form, None)


@tenant_view(roles=EDITORS)
@require_http_methods(["GET", "POST"])
def target_edit(request: HttpRequest, target_id: int) -> HttpResponse:
    target = div.diversification_target_get(request.tenant, target_id)
    form = TargetForm(request.POST or None, tenant=request.tenant, target=target)
    if request.method == "POST" and form.is_valid():
        changed = {
            name: value for name, value in form.cleaned_data.items() if name in form.changed_data and name != "line"
        }
        try:
            div.diversification_target_update(request.tenant, target=target, actor=request.user, **changed)
        except ValidationError as exc:
            add_service_errors(form, exc)
            target.refresh_from_db()
        else:
            messages.success(request, _("The diversification target was saved."))
            return redirect(_concentration_url(request))
    return _target_form(request, form, target)


@tenant_view(roles=EDITORS)
@require_http_methods(["GET", "POST"])
def target_close(request: HttpRequest, target_id: int) -> HttpResponse:
    """GET: the confirmation; POST: close the target."""
    target = div.diversification_target_get(request.tenant, target_id)
    if request.method != "POST":
        return render(request, "risk/diversification_target_close.html", {"target": target})
    div.diversification_target_close(request.tenant, target=target, actor=request.user)
    messages.success(request, _("The diversification target was closed."))
    return redirect(_concentration_url(request))


# --- alternative markets -----------------------------------------------------------------------------


class MarketForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    industry = forms.CharField(label=gettext_lazy("Industry"), max_length=100, required=False)
    region = forms.CharField(label=gettext_lazy("Region"), max_length=100, required=False)
    target_revenue_12m = forms.DecimalField(
        label=gettext_lazy("Target revenue, 12 months"), max_digits=18, decimal_places=2
    )
    target_date = DateField(label=gettext_lazy("Target date"))
    owner = UserChoiceField(label=gettext_lazy("Owner"), queryset=User.objects.none(), required=False)
    note = forms.CharField(label=gettext_lazy("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, tenant: Any, market: AlternativeMarket | None = None, **kwargs: Any) -> None:
        if market is not None:
            kwargs.setdefault("initial", {name: getattr(market, name) for name in div.MARKET_FIELDS if name != "owner"})
            kwargs["initial"]["owner"] = market.owner_id
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = user_list(tenant, include=[market.owner_id if market else None])


def market_accounts_url(request: HttpRequest, market: AlternativeMarket) -> str:
    query = {key: value for key, value in (("industry", market.industry), ("region", market.region)) if value}
    return reverse("accounts-list", kwargs={"tenant_slug": request.tenant.slug}) + "?" + urlencode(query)


@tenant_view(roles=READ_ALL)
@require_GET
def market_list(request: HttpRequest) -> HttpResponse:
    markets = list(div.alternative_market_list(request.tenant))
    progress = div.alternative_market_progress(request.tenant, markets)
    rows = [
        {"market": market, **progress[market.pk], "accounts_url": market_accounts_url(request, market)}
        for market in markets
    ]
    snapshot = selectors.concentration_latest(request.tenant)
    return render(
        request,
        "risk/diversification_markets.html",
        {"rows": rows, "can_edit": can_edit(request), "snapshot": snapshot},
    )


def _market_form(request: HttpRequest, form: MarketForm, market: AlternativeMarket | None) -> HttpResponse:
    return render(
        request,
        "risk/diversification_market_form.html",
        {"form": form, "market": market},
        status=400 if form.errors else 200,
    )


@tenant_view(roles=EDITORS)
@require_http_methods(["GET", "POST"])
def market_create(request: HttpRequest) -> HttpResponse:
    form = MarketForm(request.POST or None, tenant=request.tenant, initial={"owner": request.user.pk})
    if request.method == "POST" and form.is_valid():
        try:
            div.alternative_market_create(request.tenant, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The alternative market was added."))
            return redirect(_markets_url(request))
    return _market_form(request, form, None)


@tenant_view(roles=EDITORS)
@require_http_methods(["GET", "POST"])
def market_edit(request: HttpRequest, market_id: int) -> HttpResponse:
    market = div.alternative_market_get(request.tenant, market_id)
    form = MarketForm(request.POST or None, tenant=request.tenant, market=market)
    if request.method == "POST" and form.is_valid():
        changed = {name: value for name, value in form.cleaned_data.items() if name in form.changed_data}
        try:
            div.alternative_market_update(request.tenant, market=market, actor=request.user, **changed)
        except ValidationError as exc:
            add_service_errors(form, exc)
            market.refresh_from_db()
        else:
            messages.success(request, _("The alternative market was saved."))
            return redirect(_markets_url(request))
    return _market_form(request, form, market)


@tenant_view(roles=EDITORS)
@require_http_methods(["GET", "POST"])
def market_delete(request: HttpRequest, market_id: int) -> HttpResponse:
    """GET: the confirmation; POST: delete."""
    market = div.alternative_market_get(request.tenant, market_id)
    if request.method != "POST":
        return render(request, "risk/diversification_market_delete.html", {"market": market})
    div.alternative_market_delete(request.tenant, market=market, actor=request.user)
    messages.success(request, _("The alternative market was deleted."))
    return redirect(_markets_url(request))


urlpatterns = [
    path("diversification/targets/new/", target_create, name="risk-target-create"),
    path("diversification/targets/<int:target_id>/edit/", target_edit, name="risk-target-edit"),
    path("diversification/targets/<int:target_id>/close/", target_close, name="risk-target-close"),
    path("diversification/markets/", market_list, name="risk-markets"),
    path("diversification/markets/new/", market_create, name="risk-market-create"),
    path("diversification/markets/<int:market_id>/edit/", market_edit, name="risk-market-edit"),
    path("diversification/markets/<int:market_id>/delete/", market_delete, name="risk-market-delete"),
]
