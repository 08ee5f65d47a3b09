"""Risk pages: the risk runs (the concentration snapshot and the health assessment, each
followed by alert evaluation) — their history, a form to start one, and the live progress
of a run that is queued or running (its row asks for itself every second until done).

Roles as the API's risk-runs: READ_ALL read, the API's RUNNERS start. A run is queued to
Celery once the request's transaction commits, as the API does (risk.tasks.queue_run).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import reswap, retarget

from kam.forms import DATE_WIDGET, add_service_errors
from kam.models import Tenant
from kam.permissions import READ_ALL, RUNNERS, tenant_view
from kam.tenancy import tenant_today
from risk import page_selectors, selectors, services, tasks
from risk.models import RunKind

TEMPLATE = "risk/runs.html"
PAGE_SIZE = 25


class RunStartForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("What to run"),
        choices=RunKind.choices,
        initial=RunKind.FULL,
        help_text=gettext_lazy("Each part is followed by its alert evaluation."),
    )
    as_of = forms.DateField(
        label=gettext_lazy("As of"),
        required=False,
        widget=DATE_WIDGET,
        help_text=gettext_lazy("Leave empty for today. A past day adds to the history without moving the alerts."),
    )

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = tenant_today(tenant)
        self.fields["as_of"].initial = self.today

    def clean_as_of(self) -> Any:
        as_of = self.cleaned_data.get("as_of")
        if as_of is not None and as_of > self.today:
            raise forms.ValidationError(_("Choose today or a day in the past: there are no figures for the future."))
        return as_of


def _url(request: HttpRequest, name: str, **kwargs: Any) -> str:
    return reverse(name, kwargs={"tenant_slug": request.tenant.slug, **kwargs})


def _context(request: HttpRequest, form: RunStartForm | None = None) -> dict[str, Any]:
    return {
        "page": Paginator(selectors.runs(request.tenant), PAGE_SIZE).get_page(request.GET.get("page")),
        "query": "",
        "can_run": request.membership.role in RUNNERS,
        "form": form or RunStartForm(tenant=request.tenant),
    }


@tenant_view(roles=READ_ALL)
@require_GET
@vary_on_headers("HX-Request")
def runs(request: HttpRequest) -> HttpResponse:
    partial = request.htmx and not request.htmx.history_restore_request
    return render(request, f"{TEMPLATE}#run-table" if partial else TEMPLATE, _context(request))


@tenant_view(roles=READ_ALL)
@require_GET
@vary_on_headers("HX-Request")
def run_row(request: HttpRequest, run_id: int) -> HttpResponse:
    """One run's row; while the run is queued or running, the row asks for itself again every second."""
    run = page_selectors.run_get(request.tenant, run_id)
    if not request.htmx:
        return redirect(_url(request, "risk-runs"))
    return render(request, f"{TEMPLATE}#run-row", {"run": run})


@tenant_view(roles=RUNNERS)
@require_POST
def run_start(request: HttpRequest) -> HttpResponse:
    """Queue a run of the chosen kind as of a day; a worker executes it after the commit."""
    form = RunStartForm(request.POST, tenant=request.tenant)
    if form.is_valid():
        try:
            run = services.risk_run_create(
                request.tenant,
                kind=form.cleaned_data["kind"],
                as_of=form.cleaned_data["as_of"],
                actor=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            tasks.queue_run(request.tenant, run)
            if request.htmx:
                run = page_selectors.run_get(request.tenant, run.pk)
                return render(request, f"{TEMPLATE}#run-row", {"run": run}, status=201)
            messages.success(request, _("The risk run was queued. Its row shows the progress."))
            return redirect(_url(request, "risk-runs"))
    if request.htmx:
        response = render(request, f"{TEMPLATE}#run-start", {"form": form, "can_run": True}, status=400)
        return reswap(retarget(response, "#run-start"), "outerHTML")
    return render(request, TEMPLATE, _context(request, form), status=400)


urlpatterns = [
    path("runs/", runs, name="risk-runs"),
    path("runs/start/", run_start, name="risk-run-start"),
    path("runs/<int:run_id>/row/", run_row, name="risk-run-row"),
]
