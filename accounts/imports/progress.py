"""Where an import reports how far it got: nowhere (a request, a command), or on its ImportJob
through a database connection of its own, so that the page sees the progress while the
import's own transaction is still open."""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from django.db import connection
from django.utils import timezone

from accounts.models import ImportJob, ImportStatus
from kam.tenancy import set_tenant_sql

logger = logging.getLogger(__name__)


class Progress:
    """Where an import reports how far it got. This one reports nowhere (requests, commands)."""

    def begin(self, *, status: str, total: int) -> None:
        pass

    def checked(self, rows: int, total: int) -> None:
        pass

    def writing(self, total: int) -> None:
        pass

    def close(self) -> None:
        pass


class JobProgress(Progress):
    """Progress written to the ImportJob through a database connection of its own.

    The import runs in one transaction (the task's tenant context), so what it writes is
    invisible until the end; this connection commits each report at once, so the page
    sees it while the import runs. The import's own transaction never updates the job row
    before it finishes, so the two never wait on each other; a lock timeout guards anyway.
    Best effort: a report that fails is logged and skipped.
    """

    INTERVAL = 0.5  # seconds between two reports

    def __init__(self, job: ImportJob) -> None:
        self.job_id = job.pk
        self.tenant_id = job.tenant_id
        self._raw: Any = None
        self._last = 0.0

    def begin(self, *, status: str, total: int) -> None:
        self._update(status=status, total_rows=total, processed_rows=0, started_at=timezone.now())

    def checked(self, rows: int, total: int) -> None:
        now = time.monotonic()
        if now - self._last >= self.INTERVAL:
            self._last = now
            self._update(processed_rows=rows, total_rows=max(total, rows))

    def writing(self, total: int) -> None:
        self._update(status=ImportStatus.IMPORTING, processed_rows=total, total_rows=total)

    def _update(self, **values: Any) -> None:
        try:
            if self._raw is None:
                self._raw = connection.get_new_connection(connection.get_connection_params())
                self._raw.autocommit = False
            with self._raw.cursor() as cursor:
                cursor.execute(set_tenant_sql(self.tenant_id))
                cursor.execute("SET LOCAL lock_timeout = '2s'")
                assignments = ", ".join(f"{name} = %s" for name in values)
                cursor.execute(
                    f"UPDATE accounts_importjob SET {assignments} WHERE id = %s AND tenant_id = %s",
                    [*values.values(), self.job_id, self.tenant_id],
                )
            self._raw.commit()
        except Exception:  # progress is a courtesy; the import goes on without it
            logger.warning("import job %s: progress not reported", self.job_id, exc_info=True)
            self.close()

    def close(self) -> None:
        if self._raw is not None:
            with contextlib.suppress(Exception):  # closing a broken connection
                self._raw.close()
            self._raw = None


def running_status(dry_run: bool) -> str:
    """A job's status while it runs: checking the file only, or importing it."""
    return ImportStatus.VALIDATING if dry_run else ImportStatus.IMPORTING
