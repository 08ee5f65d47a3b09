"""Risk pages: the risk runs (the concentration snapshot and the health assessment, each
followed by alert evaluation) — their history, a form to start one, and the live progress
of a run that is queued or running (its row asks for itself every second until done).

The page is kam's runs page (kam.runs.RunsPage, templates/kam/_runs.html); this module
and templates/risk/runs.html say only what a risk run adds: its kind, its figures, its
start form. Roles as the API's risk-runs: READ_ALL read, the API's RUNNERS start. A run
is queued to Celery once the request's transaction commits, as the API does
(risk.tasks.queue_run).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from kam.forms import DateField
from kam.models import Tenant
from kam.permissions import READ_ALL, RUNNERS, tenant_view
from kam.runs import RunsPage
from kam.tenancy import tenant_today
from risk import selectors, services, tasks
from risk.models import RunKind


class RunStartForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("What to run"),
        choices=RunKind.choices,
        initial=RunKind.FULL,
        help_text=gettext_lazy("Each part is followed by its alert evaluation."),
    )
    as_of = DateField(
        label=gettext_lazy("As of"),
        required=False,
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


PAGE = RunsPage(
    template="risk/runs.html",
    list_url="risk-runs",
    row_url="risk-run-row",
    start_url="risk-run-start",
    title=gettext_lazy("Risk runs"),
    empty=gettext_lazy("No risk runs yet."),
    queued_message=gettext_lazy("The risk run was queued. Its row shows the progress."),
    runners=RUNNERS,
    runs=lambda request: selectors.run_list(request.tenant),
    form=lambda request, data: RunStartForm(data, tenant=request.tenant),
    start=lambda request, data: services.risk_run_create(
        request.tenant, kind=data["kind"], as_of=data["as_of"], actor=request.user
    ),
    queue=tasks.queue_run,
)


@tenant_view(roles=READ_ALL)
@require_GET
@vary_on_headers("HX-Request")
def runs(request: HttpRequest) -> HttpResponse:
    return PAGE.list_view(request)


@tenant_view(roles=READ_ALL)
@require_GET
@vary_on_headers("HX-Request")
def run_row(request: HttpRequest, run_id: int) -> HttpResponse:
    return PAGE.row_view(request, run_id)


@tenant_view(roles=RUNNERS)
@require_POST
def run_start(request: HttpRequest) -> HttpResponse:
    """Queue a run of the chosen kind as of a day; a worker executes it after the commit."""
    return PAGE.start_view(request)


urlpatterns = [
    path("runs/", runs, name="risk-runs"),
    path("runs/start/", run_start, name="risk-run-start"),
    path("runs/<int:run_id>/row/", run_row, name="risk-run-row"),
]
