"""Celery entry points of the accounts app. Thin: the work is in accounts.imports.jobs."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation

from accounts.imports import jobs
from kam.models import Tenant
from kam.tasks import tenant_task


@tenant_task(name="accounts.run_import_job")
def run_import_job(
    tenant: Tenant,
    job_id: int,
    *,
    dry_run: bool = False,
    user_id: int | None = None,
    token_id: int | None = None,
    language: str | None = None,
) -> None:
    """Check (``dry_run``) or import an uploaded file; progress and outcome go to the ImportJob.

    Row errors are written in the language of the person or request that queued the job.
    """
    with translation.override(language or settings.LANGUAGE_CODE):
        jobs.import_job_execute(tenant, job_id=job_id, dry_run=dry_run, user_id=user_id, token_id=token_id)


STALE_UPLOAD_AGE_HOURS = 24


@tenant_task(name="accounts.sweep_stale_imports")
def sweep_stale_imports(tenant: Tenant) -> int:
    """Uploads checked but never confirmed nor discarded go after a day, file and record."""
    import datetime as dt

    from django.utils import timezone

    from accounts.models import ImportJob, ImportStatus

    cutoff = timezone.now() - dt.timedelta(hours=STALE_UPLOAD_AGE_HOURS)
    stale = ImportJob.objects.filter(status=ImportStatus.PENDING, created_at__lt=cutoff)
    return sum(1 for job in stale if jobs.import_job_discard(tenant, job))
