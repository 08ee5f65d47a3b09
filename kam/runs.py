"""What every tenant job shares: one run per tenant and kind at a time, the life of a run
(a :class:`kam.models.TenantRun`: score runs, risk runs) and the page that lists the runs.

The lock: a job takes it inside its transaction, on the connection that writes (on Citus,
the coordinator); the lock is released when the transaction ends. The key is the pair
(crc32 of the job's name, tenant id). Whatever must wait for a job takes the same lock in
the application, never in a database trigger (which on Citus runs on a worker): deleting
accounts waits for the jobs that read them (``wait_for_account_readers``).

The life of a run: created queued (who started it, as of which day), queued to a worker
once the creating transaction commits, claimed (running, since when), its progress, and
done (with its figures) or failed (with the error). Each step is a tenant service: called
outside a transaction it commits on its own, which is how the page sees a worker's run
move; inside the run's own transaction it is a savepoint of it, and the page sees it
when that transaction (a job's step) commits.

The page: a history of the runs with pages, a start form (as of a day), and each queued or
running run's row asking for itself every second. The app's page template extends
``kam/_runs.html`` and names only what differs (its columns and cells).
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django_htmx.http import reswap, retarget

from kam.forms import add_service_errors
from kam.models import RunStatus, TenantRun, User
from kam.pages import is_partial
from kam.tasks import queue_on_commit
from kam.tenancy import get_object_for_tenant, tenant_service, tenant_today

if TYPE_CHECKING:
    from celery import Task
    from django import forms
    from django.db.models import QuerySet
    from django.utils.functional import StrOrPromise

    from kam.models import Tenant

RunT = TypeVar("RunT", bound=TenantRun)

# A run's error as stored: enough for the page's details and the admin, never a whole traceback.
ERROR_LENGTH = 2000


def lock_class(name: str) -> int:
    """The first half of the advisory lock key of a job called ``name``."""
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def advisory_xact_lock(tenant: Tenant, name: str, *, wait: bool = True) -> bool:
    """Hold the tenant's lock called ``name`` until the transaction ends.

    Waiting (the default), a second job of the same tenant and name waits here until the
    first commits; with ``wait=False`` it returns False at once instead."""
    with connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [lock_class(name), tenant.pk])
            return True
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [lock_class(name), tenant.pk])
        return bool(cursor.fetchone()[0])


# The jobs that read a tenant's accounts and write rows naming them that have no foreign key
# in the database (the score run's snapshots, the health assessment's rows), by their locks'
# names. Names, not imports: the jobs belong to apps above accounts, which deletes accounts.
ACCOUNT_READING_JOBS = ("score", "risk:health")


def wait_for_account_readers(tenant: Tenant) -> None:
    """Before deleting accounts: wait until no job that reads them runs in the tenant, and keep
    any from starting until the transaction ends, so that none writes a row for an account
    deleted meanwhile (the account's rows go with it by triggers, the job's included once it
    committed). Call it before the transaction locks any account row, which the jobs update.

    In the application rather than in a trigger: a trigger runs beside the tenant's shard on
    a database distributed by tenant (Citus), and the jobs hold their locks on the coordinator."""
    for name in ACCOUNT_READING_JOBS:
        advisory_xact_lock(tenant, name)


# --- the life of a run -------------------------------------------------------------------------------


def create(model: type[RunT], tenant: Tenant, *, as_of: dt.date | None, actor: Any, **fields: Any) -> RunT:
    """A queued run of ``model`` as of the day (today in the tenant's time zone when None),
    started by ``actor``: a user is recorded, an API token or the system (None) is not."""
    return model.objects.create(
        tenant=tenant,
        as_of=as_of or tenant_today(tenant),
        created_by=actor if isinstance(actor, User) else None,
        **fields,
    )


def queue(task: Task, run: TenantRun) -> None:
    """Have a worker execute the run, ``task(tenant_id, run_id)``, once the transaction that
    created it commits: a run whose creation rolls back is never executed."""
    queue_on_commit(task, run.tenant_id, run.pk)


def _this(tenant: Tenant, run: TenantRun) -> QuerySet[Any]:
    return type(run).objects.filter(pk=run.pk)


@tenant_service
def mark_running(
    tenant: Tenant, *, run: TenantRun, progress: int, claimable: Collection[str] = (RunStatus.QUEUED,)
) -> bool:
    """Claim the run: running since now, at ``progress`` percent, no error; only from one of
    the ``claimable`` statuses. Whether it was claimed (a run already done, or claimed by
    another worker when ``claimable`` leaves running out, is not)."""
    claimed = (
        _this(tenant, run)
        .filter(status__in=list(claimable))
        .update(status=RunStatus.RUNNING, started_at=timezone.now(), progress=progress, error="")
    )
    return bool(claimed)


@tenant_service
def set_progress(tenant: Tenant, *, run: TenantRun, percent: int) -> None:
    """The run's percentage, for its row on the page once the current transaction commits."""
    _this(tenant, run).update(progress=percent)


@tenant_service
def mark_done(tenant: Tenant, *, run: RunT, **figures: Any) -> RunT:
    """Done now, at 100 %, with the run's own figures (``figures``: fields of the run's model);
    ``run`` is read back with them."""
    _this(tenant, run).update(status=RunStatus.DONE, progress=100, finished_at=timezone.now(), **figures)
    run.refresh_from_db()
    return run


@tenant_service
def mark_failed(tenant: Tenant, *, run: RunT, error: str) -> RunT:
    """Failed now, with the error; ``run`` is read back."""
    _this(tenant, run).update(status=RunStatus.FAILED, error=error[:ERROR_LENGTH], finished_at=timezone.now())
    run.refresh_from_db()
    return run


def error_text(exc: BaseException) -> str:
    """A failed run's error as the page shows it: the exception's class and message."""
    return f"{type(exc).__name__}: {exc}"


# --- the runs page -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunsPage:
    """An app's runs page, which its views ``list_view``, ``row_view`` and ``start_view`` answer.

    ``template`` is the app's page: it extends ``kam/_runs.html``, fills its blocks and
    defines the partials ``run-head`` (the app's column headers) and ``run-cells`` (a run's
    cells between its start time and its duration); the URL names are the app's three views.
    ``runs`` lists the runs the request may see, newest first (the row of any other run is
    404); ``form`` makes the start form, bound to the posted data or unbound (None);
    ``start`` creates a run from the form's cleaned data (or refuses with a ValidationError)
    and ``queue`` has a worker execute it once the request commits.
    """

    template: str
    list_url: str
    row_url: str
    start_url: str
    title: StrOrPromise
    empty: StrOrPromise
    queued_message: StrOrPromise
    runners: frozenset[str]
    runs: Callable[[HttpRequest], QuerySet[Any]]
    form: Callable[[HttpRequest, Any], forms.Form]
    start: Callable[[HttpRequest, dict[str, Any]], TenantRun]
    queue: Callable[[Tenant, Any], None]
    page_size: int = 25

    @property
    def head(self) -> str:
        return f"{self.template}#run-head"

    @property
    def cells(self) -> str:
        return f"{self.template}#run-cells"

    def list_view(self, request: HttpRequest) -> HttpResponse:
        """The page, or (htmx: a page link) only its table."""
        template = "kam/_runs.html#run-table" if is_partial(request) else self.template
        return render(request, template, self._context(request))

    def row_view(self, request: HttpRequest, run_id: Any) -> HttpResponse:
        """One run's row; while the run is queued or running, the row asks for itself again every second."""
        run = self._run(request, run_id)
        if not request.htmx:
            return redirect(self._url(request))
        return self._row(request, run)

    def start_view(self, request: HttpRequest) -> HttpResponse:
        """Create a run from the posted form and queue it: its row (htmx, 201) or the page with
        a message. A refused form comes back in place (htmx) or on the page, with 400."""
        form = self.form(request, request.POST)
        if form.is_valid():
            try:
                run = self.start(request, form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                self.queue(request.tenant, run)
                if request.htmx:
                    return self._row(request, self._run(request, run.pk), status=201)
                messages.success(request, self.queued_message)
                return redirect(self._url(request))
        if request.htmx:
            context = {"runs_page": self, "form": form, "can_run": True}
            response = render(request, "kam/_runs.html#run-start", context, status=400)
            return reswap(retarget(response, "#run-start"), "outerHTML")
        return render(request, self.template, self._context(request, form), status=400)

    def _context(self, request: HttpRequest, form: forms.Form | None = None) -> dict[str, Any]:
        return {
            "runs_page": self,
            "page": Paginator(self.runs(request), self.page_size).get_page(request.GET.get("page")),
            "query": "",
            "can_run": request.membership.role in self.runners,
            "form": form if form is not None else self.form(request, None),
        }

    def _run(self, request: HttpRequest, run_id: Any) -> TenantRun:
        """A run as the list reads it (with what its cells show), or 404."""
        return get_object_for_tenant(self.runs(request), request.tenant, run_id)

    def _row(self, request: HttpRequest, run: TenantRun, *, status: int = 200) -> HttpResponse:
        return render(request, "kam/_runs.html#run-row", {"runs_page": self, "run": run}, status=status)

    def _url(self, request: HttpRequest) -> str:
        return reverse(self.list_url, kwargs={"tenant_slug": request.tenant.slug})
