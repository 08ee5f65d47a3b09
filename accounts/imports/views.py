"""Import pages: upload and check a file, look at the preview and the row errors, confirm,
watch the progress. Thin: the work is in jobs.py (DESIGN section 3)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from accounts.access import WRITE_ALL
from accounts.imports import jobs, uploads
from accounts.imports.columns import COLUMNS, column_reference
from accounts.imports.errors import error_total
from accounts.imports.run import ImportBusy
from accounts.models import ImportJob, ImportKind
from kam.pages import is_partial
from kam.permissions import WRITERS, tenant_view
from kam.tenancy import get_object_for_tenant

# Row errors listed on the page (of the up to 1,000 the job keeps; the total is shown beside).
ERRORS_SHOWN = 200


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("The file contains"), choices=ImportKind.choices)
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy(
            "CSV (UTF-8 or GB18030, as Excel saves it) or an Excel workbook (.xlsx), at most 50 MB. "
            "The first row holds the column names."
        ),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".csv,.txt,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        ),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if uploads.over_limit(upload.size):
            raise ValidationError(uploads.too_large_message(upload.size))
        return upload


def _may_act_on(request: HttpRequest, job: ImportJob) -> bool:
    """Confirm or discard: the person who uploaded the file, or an administrator or director."""
    return job.created_by_id == request.user.pk or request.membership.role in WRITE_ALL


def _job_to_act_on(request: HttpRequest, job_id: int) -> ImportJob:
    job = get_object_for_tenant(ImportJob, request.tenant, job_id)
    if not _may_act_on(request, job):
        raise PermissionDenied
    return job


@csrf_exempt  # checked by _import_list, once the size limit is in place (Django: "upload handlers on the fly")
@tenant_view(roles=WRITERS)
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def import_list(request: HttpRequest) -> HttpResponse:
    handler = None
    if request.method == "POST":
        try:
            handler = uploads.limit_upload(request)
        except uploads.UploadTooLarge as exc:
            # Refused unread, before CSRF (whose check would parse the body): nothing changes here.
            return _render_list(request, ImportUploadForm(), exc.message, status=413)
    return _import_list(request, handler=handler)


@csrf_protect
def _import_list(request: HttpRequest, *, handler: uploads.SizeLimitedUploadHandler | None) -> HttpResponse:
    if request.method != "POST":
        if is_partial(request):
            return render(request, "accounts/import_list.html#recent-imports", {"page": _recent(request)})
        return _render_list(request, ImportUploadForm())
    files = request.FILES  # the body is parsed here (if CSRF did not already), through the limit
    if handler is not None and handler.too_large:
        form = ImportUploadForm(initial={"kind": request.POST.get("kind")})
        return _render_list(request, form, uploads.too_large_message(handler.received), status=413)
    form = ImportUploadForm(request.POST, files)
    if form.is_valid():
        return _start(request, form)
    return _render_list(request, form, status=400)


def _recent(request: HttpRequest) -> Any:
    page = Paginator(jobs.import_jobs_recent(request.tenant), 20).get_page(request.GET.get("page"))
    for job in page.object_list:
        job.error_total = error_total(job.errors)
    return page


def _render_list(
    request: HttpRequest, form: ImportUploadForm, upload_error: str = "", *, status: int = 200
) -> HttpResponse:
    context = {
        "form": form,
        "upload_error": upload_error,
        "page": _recent(request),
        "reference": column_reference(),
    }
    return render(request, "accounts/import_list.html", context, status=status)


def _start(request: HttpRequest, form: ImportUploadForm) -> HttpResponse:
    tenant = request.tenant
    try:
        job = jobs.import_job_create(
            tenant, kind=form.cleaned_data["kind"], upload=form.cleaned_data["file"], user=request.user
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("imports-list", tenant_slug=tenant.slug)
    if jobs.import_job_estimated_rows(job) < jobs.SYNC_ROW_LIMIT:
        jobs.import_job_process(tenant, job, dry_run=True, membership=request.membership, actor=request.user)
    else:
        jobs.import_job_queue(tenant, job, dry_run=True, user=request.user)
    return redirect("imports-detail", tenant_slug=tenant.slug, job_id=job.pk)


@tenant_view(roles=WRITERS)
@require_GET
@vary_on_headers("HX-Request")
def import_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_object_for_tenant(ImportJob.objects.select_related("created_by"), request.tenant, job_id)
    context = _detail_context(request, job)
    template = "accounts/import_detail.html#job-state" if is_partial(request) else "accounts/import_detail.html"
    return render(request, template, context)


def _detail_context(request: HttpRequest, job: ImportJob) -> dict[str, Any]:
    errors = [item for item in job.errors if "more" not in item]
    error_cells = {(item["row"], item["column"]) for item in errors}
    labels = {column.field: column.label for column in COLUMNS.get(job.kind, ())}
    preview = jobs.import_job_preview(job)
    if preview is not None:
        columns = [{**column, "label": labels.get(column["field"], "")} for column in preview["columns"]]
        rows = [
            {
                "row": row["row"],
                "cells": [
                    {"text": text, "error": (row["row"], column["header"]) in error_cells}
                    for text, column in zip(row["cells"], preview["columns"], strict=False)
                ],
                "error": any(item["row"] == row["row"] for item in errors),
            }
            for row in preview["rows"]
        ]
        preview = {"columns": columns, "rows": rows}
    return {
        "job": job,
        "running": job.status in jobs.RUNNING_STATUSES,
        "ready": jobs.import_job_is_ready(job),
        "may_act": _may_act_on(request, job),
        "preview": preview,
        "errors": errors[:ERRORS_SHOWN],
        "error_count": error_total(job.errors),
        "errors_shown": min(len(errors), ERRORS_SHOWN),
        "sync_limit": jobs.SYNC_ROW_LIMIT,
    }


@tenant_view(roles=WRITERS)
@require_POST
def import_confirm(request: HttpRequest, job_id: int) -> HttpResponse:
    tenant = request.tenant
    job = _job_to_act_on(request, job_id)
    detail = reverse("imports-detail", kwargs={"tenant_slug": tenant.slug, "job_id": job.pk})
    if not jobs.import_job_claim(tenant, job):
        messages.info(request, _("This import has already started, or its file has errors."))
        return redirect(detail)
    if job.total_rows < jobs.SYNC_ROW_LIMIT:
        try:
            outcome = jobs.import_job_process(
                tenant, job, dry_run=False, membership=request.membership, actor=request.user, wait_for_lock=False
            )
        except ImportBusy:
            jobs.import_job_release(tenant, job)
            messages.warning(
                request, _("Another import of this kind is running in this workspace; try again when it has finished.")
            )
            return redirect(detail)
        if outcome.ok:
            messages.success(
                request,
                _("Imported: %(created)s created, %(updated)s updated, %(unchanged)s unchanged.")
                % {"created": outcome.created, "updated": outcome.updated, "unchanged": outcome.unchanged},
            )
    else:
        jobs.import_job_queue(tenant, job, dry_run=False, user=request.user)
    return redirect(detail)


@tenant_view(roles=WRITERS)
@require_POST
def import_discard(request: HttpRequest, job_id: int) -> HttpResponse:
    tenant = request.tenant
    job = _job_to_act_on(request, job_id)
    name = job.file_name
    if not jobs.import_job_discard(tenant, job):
        messages.warning(request, _("A running import cannot be discarded; wait until it has finished."))
        return redirect("imports-detail", tenant_slug=tenant.slug, job_id=job.pk)
    messages.success(request, _("The import of %(file)s was removed.") % {"file": name})
    return redirect("imports-list", tenant_slug=tenant.slug)
