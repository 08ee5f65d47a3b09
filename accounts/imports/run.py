"""One import file, start to end (``import_file``): read and check every row, then, only when
the whole file is valid, write it in one transaction (a savepoint when the caller has one
open) under the tenant's row-level security and the tenant's lock for the kind, and audit it.
What the page, the API, the task and the command all call (through jobs.py or directly)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import DatabaseError, transaction
from django.utils.translation import gettext as _

from accounts.imports.base import Counts, Importer
from accounts.imports.cells import cell_text, is_blank
from accounts.imports.columns import COLUMNS, map_header
from accounts.imports.errors import ErrorLog, ImportFileError
from accounts.imports.files import SourceFile, inspect_file, iter_records
from accounts.imports.graph import AccountImporter, ContactImporter
from accounts.imports.progress import Progress, running_status
from accounts.imports.staged import InvoiceImporter, OrderImporter
from accounts.models import ImportKind
from kam import audit
from kam.models import AuditAction, Membership, Tenant
from kam.runs import advisory_xact_lock
from kam.tenancy import tenant_context

logger = logging.getLogger(__name__)

PREVIEW_ROWS = 10

IMPORTERS: dict[str, type[Importer]] = {
    ImportKind.ACCOUNTS: AccountImporter,
    ImportKind.CONTACTS: ContactImporter,
    ImportKind.ORDERS: OrderImporter,
    ImportKind.INVOICES: InvoiceImporter,
}


@dataclass
class ImportOutcome:
    kind: str
    encoding: str = ""
    total_rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0
    preview: dict[str, Any] | None = None
    written: bool = False
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error_count == 0


class ImportBusy(Exception):
    """Another import of the same kind holds the tenant's lock (only when not waiting for it)."""


class _HeaderRejected(Exception):
    """The header is wrong: no row is read."""


def kind_lock(tenant: Tenant, kind: str, *, wait: bool) -> bool:
    """One import per tenant and kind at a time (DESIGN section 7), until the transaction ends."""
    return advisory_xact_lock(tenant, f"import:{kind}", wait=wait)


def import_file(
    tenant: Tenant,
    *,
    kind: str,
    path: str | Path,
    file_name: str = "",
    membership: Membership | None = None,
    actor: Any = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    wait_for_lock: bool = True,
) -> ImportOutcome:
    """Check the whole file, then (unless ``dry_run`` or a row is wrong) write it in one transaction.

    ``membership`` limits a manager to the accounts they may write; None (API token, command)
    writes anything in the tenant. Runs in the tenant's context (a savepoint when the caller's
    transaction is open), so row-level security applies to every statement. With
    ``wait_for_lock=False``, raises ImportBusy when another import of the kind is running.
    """
    if kind not in COLUMNS:
        raise ValueError(f"unknown import kind {kind!r}")
    progress = progress or Progress()
    outcome = ImportOutcome(kind=kind)
    errors = ErrorLog()
    started = time.perf_counter()
    importer: Importer | None = None
    with tenant_context(tenant, actor=actor):
        try:
            if not dry_run and not kind_lock(tenant, kind, wait=wait_for_lock):
                raise ImportBusy
            source = _inspect(path, file_name)
            outcome.encoding = source.encoding
            progress.begin(status=running_status(dry_run), total=source.estimated_rows)
            records = iter_records(source)
            first = next(((number, cells) for number, cells in records if not is_blank(cells)), None)
            if first is None:
                raise ImportFileError(_("The file is empty."))
            header = map_header(kind, first[0], first[1], errors)
            outcome.preview = {"columns": header.columns, "rows": []}
            if errors.count:
                raise _HeaderRejected
            importer = IMPORTERS[kind](tenant, header=header, errors=errors, membership=membership)
            outcome.total_rows = _read_rows(importer, records, outcome.preview["rows"], progress, source)
            if outcome.total_rows == 0:
                raise ImportFileError(_("The file has no data rows, only a header."))
            outcome.seconds["read_and_check_rows"] = time.perf_counter() - started
            try:
                with transaction.atomic():  # nothing of it stays unless every row is valid
                    importer.check()
                    outcome.seconds["check_file"] = time.perf_counter() - started
                    if errors.count or dry_run:
                        transaction.set_rollback(True)
                    else:
                        progress.writing(outcome.total_rows)
                        counts = importer.write()
                        outcome.created, outcome.updated, outcome.unchanged = (
                            counts.created,
                            counts.updated,
                            counts.unchanged,
                        )
                        if counts.created or counts.updated:
                            _audit(tenant, kind, file_name or Path(path).name, counts, actor)
                        outcome.written = True
            except DatabaseError as exc:  # the savepoint rolled everything back
                logger.info("import refused by the database: %s", exc)
                errors.add(None, "", _database_message(exc))
            outcome.seconds["total"] = time.perf_counter() - started
        except _HeaderRejected:
            pass
        except ImportFileError as exc:
            errors.add(exc.row, exc.column, exc.message)
        finally:
            if importer is not None:
                importer.close()
    outcome.errors = errors.as_json()
    outcome.error_count = errors.count
    if outcome.error_count:
        outcome.created = outcome.updated = outcome.unchanged = 0
        outcome.written = False
    return outcome


def _inspect(path: str | Path, file_name: str) -> SourceFile:
    try:
        return inspect_file(path, file_name)
    except FileNotFoundError:
        raise ImportFileError(_("The uploaded file is no longer available; upload it again.")) from None


def _read_rows(
    importer: Importer,
    records: Iterator[tuple[int, list[Any]]],
    preview_rows: list[dict[str, Any]],
    progress: Progress,
    source: SourceFile,
) -> int:
    rows = 0
    positions = importer.header.cell_indexes
    add_row = importer.add_row
    for number, cells in records:
        if is_blank(cells):
            continue
        rows += 1
        if len(preview_rows) < PREVIEW_ROWS:
            preview_rows.append({"row": number, "cells": _preview_cells(cells, positions)})
        add_row(number, cells)
        if rows % 1000 == 0:
            progress.checked(rows, source.estimated_rows)
    progress.checked(rows, rows)
    return rows


def _preview_cells(cells: Sequence[Any], positions: list[int]) -> list[str]:
    texts = []
    for index in positions:
        text = cell_text(cells[index] if index < len(cells) else None)
        texts.append(text if len(text) <= 80 else text[:79] + "…")
    return texts


def _database_message(exc: Exception) -> str:
    if "cycle" in str(exc):
        return _("The import would make a cycle in the group hierarchy, so nothing was written.")
    constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
    return _("The database refused the import (rule %(rule)s), so nothing was written.") % {
        "rule": constraint or type(exc).__name__
    }


def _audit(tenant: Tenant, kind: str, file_name: str, counts: Counts, actor: Any) -> None:
    audit.record_bulk(
        tenant=tenant,
        action=AuditAction.CREATE if counts.created else AuditAction.UPDATE,
        model=IMPORTERS[kind].model,
        summary=_("Import %(file)s: %(created)s created, %(updated)s updated, %(unchanged)s unchanged")
        % {"file": file_name, "created": counts.created, "updated": counts.updated, "unchanged": counts.unchanged},
        changes={
            "file": [None, file_name],
            "created": [None, counts.created],
            "updated": [None, counts.updated],
            "unchanged": [None, counts.unchanged],
        },
        actor=actor,
    )
