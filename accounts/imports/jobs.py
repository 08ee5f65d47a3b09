"""The ImportJob's life, what the page, the API, the Celery task and the command share: an
upload saved for the worker (created pending), checked (still pending when valid, else
failed), claimed and imported (done or failed), or discarded; its preview in the cache, its
progress, the task's idempotent run under the tenant's lock for the kind."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.imports import uploads
from accounts.imports.columns import COLUMNS
from accounts.imports.errors import ImportFileError
from accounts.imports.files import inspect_file
from accounts.imports.progress import JobProgress, Progress, running_status
from accounts.imports.run import ImportOutcome, import_file, kind_lock
from accounts.models import ImportJob, ImportStatus
from kam.models import ApiToken, Membership, Tenant, User
from kam.permissions import WRITERS
from kam.tenancy import tenant_context

logger = logging.getLogger(__name__)

# Files with fewer data rows than this are checked and imported in the request; larger ones in a task.
SYNC_ROW_LIMIT = 2000
# Uploaded files wait here for the worker (kam's var/ folder; deleted when the job ends).
IMPORT_ROOT = Path(settings.VAR_DIR) / "imports"
PREVIEW_TTL = 7 * 24 * 3600
TERMINAL_STATUSES = frozenset({ImportStatus.DONE, ImportStatus.FAILED})
RUNNING_STATUSES = frozenset({ImportStatus.VALIDATING, ImportStatus.IMPORTING})


def import_dir(tenant: Tenant) -> Path:
    folder = IMPORT_ROOT / str(tenant.pk)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def import_job_create(tenant: Tenant, *, kind: str, upload: UploadedFile, user: User | None = None) -> ImportJob:
    """Save the uploaded file where the worker can read it and record the job (pending)."""
    if kind not in COLUMNS:
        raise ValidationError({"kind": _("Choose what the file contains.")})
    if uploads.over_limit(upload.size):
        raise ValidationError({"file": uploads.too_large_message(upload.size)})
    file_name = Path(upload.name or "upload.csv").name[:255]
    suffix = Path(file_name).suffix.lower()
    target = import_dir(tenant) / f"{uuid.uuid4().hex}{suffix if suffix in ('.csv', '.txt', '.xlsx') else ''}"
    try:
        written = 0
        with open(target, "wb") as out:
            for chunk in upload.chunks():
                written += len(chunk)
                if uploads.over_limit(written):
                    raise ValidationError({"file": uploads.too_large_message(written)})
                out.write(chunk)
        with tenant_context(tenant):
            return ImportJob.objects.create(
                tenant=tenant,
                kind=kind,
                file_name=file_name,
                file_path=str(target),
                created_by=user if isinstance(user, User) else None,
            )
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def import_job_is_ready(job: ImportJob) -> bool:
    """Checked without errors and waiting for the user to confirm."""
    return job.status == ImportStatus.PENDING and job.total_rows > 0 and not job.errors and bool(job.file_path)


def import_job_estimated_rows(job: ImportJob) -> int:
    try:
        return inspect_file(job.file_path, job.file_name).estimated_rows
    except (ImportFileError, OSError):
        return 0  # small enough: the check in the request says what is wrong


def import_job_process(
    tenant: Tenant,
    job: ImportJob,
    *,
    dry_run: bool,
    membership: Membership | None = None,
    actor: Any = None,
    progress: Progress | None = None,
    wait_for_lock: bool = True,
) -> ImportOutcome:
    """Check (``dry_run``) or import the job's file, and record the outcome on the job."""
    outcome = import_file(
        tenant,
        kind=job.kind,
        path=job.file_path,
        file_name=job.file_name,
        membership=membership,
        actor=actor,
        dry_run=dry_run,
        progress=progress,
        wait_for_lock=wait_for_lock,
    )
    record_outcome(tenant, job, outcome, dry_run=dry_run)
    return outcome


def record_outcome(tenant: Tenant, job: ImportJob, outcome: ImportOutcome, *, dry_run: bool) -> None:
    now = timezone.now()
    job.encoding = outcome.encoding[:20]
    job.total_rows = job.processed_rows = outcome.total_rows
    job.created_count, job.updated_count, job.unchanged_count = outcome.created, outcome.updated, outcome.unchanged
    job.errors = outcome.errors
    if outcome.error_count:
        job.status = ImportStatus.FAILED
    else:
        job.status = ImportStatus.PENDING if dry_run else ImportStatus.DONE
    job.started_at = job.started_at or now
    if job.status in TERMINAL_STATUSES:
        job.finished_at = now
    with tenant_context(tenant):
        job.save(
            update_fields=[
                "encoding",
                "total_rows",
                "processed_rows",
                "created_count",
                "updated_count",
                "unchanged_count",
                "errors",
                "status",
                "started_at",
                "finished_at",
            ]
        )
    if outcome.preview is not None:
        cache.set(_preview_key(job), outcome.preview, PREVIEW_TTL)
    if job.status in TERMINAL_STATUSES:
        _delete_file_on_commit(job)


def _delete_file_on_commit(job: ImportJob) -> None:
    """The uploaded file goes when the transaction commits (a command's job has none: it reads the file in place)."""
    if job.file_path:
        path = job.file_path
        transaction.on_commit(lambda: Path(path).unlink(missing_ok=True))


def _fail(tenant: Tenant, job: ImportJob, message: str) -> None:
    outcome = ImportOutcome(kind=job.kind, errors=[{"row": None, "column": "", "message": message}], error_count=1)
    record_outcome(tenant, job, outcome, dry_run=False)


def _preview_key(job: ImportJob) -> str:
    return f"import-preview:{job.tenant_id}:{job.pk}"


def import_job_preview(job: ImportJob) -> dict[str, Any] | None:
    return cache.get(_preview_key(job))


def import_job_claim(tenant: Tenant, job: ImportJob) -> bool:
    """pending (checked) -> importing, for one request only (a conditional UPDATE)."""
    with tenant_context(tenant):
        claimed = ImportJob.objects.filter(pk=job.pk, status=ImportStatus.PENDING, total_rows__gt=0, errors=[]).update(
            status=ImportStatus.IMPORTING
        )
    if claimed:
        job.status = ImportStatus.IMPORTING
    return bool(claimed)


def import_job_release(tenant: Tenant, job: ImportJob) -> None:
    """Back to pending after a claim that could not run (another import held the lock)."""
    with tenant_context(tenant):
        ImportJob.objects.filter(pk=job.pk, status=ImportStatus.IMPORTING).update(status=ImportStatus.PENDING)
    job.status = ImportStatus.PENDING


def import_job_queue(
    tenant: Tenant, job: ImportJob, *, dry_run: bool, user: User | None = None, token: ApiToken | None = None
) -> None:
    """Run the job in a Celery task once the current transaction commits."""
    from accounts.tasks import run_import_job
    from kam.tasks import queue_on_commit

    # The run starts afresh (a confirmed import checks every row again before writing).
    job.status = running_status(dry_run)
    job.processed_rows, job.started_at = 0, None
    with tenant_context(tenant):
        ImportJob.objects.filter(pk=job.pk).update(status=job.status, processed_rows=0, started_at=None)
    queue_on_commit(
        run_import_job,
        tenant.pk,
        job.pk,
        dry_run=dry_run,
        user_id=user.pk if isinstance(user, User) else None,
        token_id=token.pk if token is not None else None,
        language=translation.get_language(),
    )


def import_job_execute(
    tenant: Tenant,
    *,
    job_id: int,
    dry_run: bool = False,
    user_id: int | None = None,
    token_id: int | None = None,
) -> ImportOutcome | None:
    """The task's work: idempotent, one run per tenant and kind.

    It acts only on a job in the status it was queued with (validating for a check, importing
    for an import): a re-delivered or late message finds the job moved on and does nothing.
    """
    expected = running_status(dry_run)
    job = ImportJob.objects.filter(pk=job_id, status=expected).first()
    if job is None:
        return None
    if not dry_run:
        # A second delivery of the same message waits here for the first run, then finds it done.
        kind_lock(tenant, job.kind, wait=True)
        job.refresh_from_db()
        if job.status != expected:
            return None
    membership, actor = None, None
    if user_id is not None:
        membership = (
            Membership.objects.select_related("user")
            .filter(tenant=tenant, user_id=user_id, is_active=True, user__is_active=True, role__in=WRITERS)
            .first()
        )
        if membership is None:
            _fail(tenant, job, _("You may no longer import into this workspace."))
            return None
        actor = membership.user
    elif token_id is not None:
        actor = ApiToken.objects.filter(pk=token_id, tenant=tenant).first()
    progress = JobProgress(job)
    try:
        return import_job_process(tenant, job, dry_run=dry_run, membership=membership, actor=actor, progress=progress)
    except Exception:
        logger.exception("import job %s failed", job.pk)
        _fail(tenant, job, _("The import failed unexpectedly, so nothing was written. Try again or ask for help."))
        return None
    finally:
        progress.close()


def import_job_discard(tenant: Tenant, job: ImportJob) -> bool:
    """Forget a job that waits for confirmation (or has finished): its file and its record."""
    if job.status in RUNNING_STATUSES:
        return False
    _delete_file_on_commit(job)
    cache.delete(_preview_key(job))
    with tenant_context(tenant):
        job.delete()
    return True


def import_jobs_recent(tenant: Tenant) -> QuerySet[ImportJob]:
    return ImportJob.objects.select_related("created_by").order_by("-created_at", "-id")
