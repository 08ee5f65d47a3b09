"""manage.py import_csv --tenant SLUG --kind accounts|contacts|orders|invoices FILE [--dry-run]

Runs the import engine synchronously in the tenant's context: prints the counts, or the
row errors and exits with status 1 (nothing is written then).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation

from accounts.imports.jobs import record_outcome
from accounts.imports.run import import_file
from accounts.models import ImportJob, ImportKind
from kam.models import Tenant
from kam.tenancy import tenant_context


class Command(BaseCommand):
    help = "Import a CSV or XLSX file of accounts, contacts, orders or invoices into a tenant."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="a .csv (UTF-8 or GB18030) or .xlsx file")
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--kind", required=True, choices=ImportKind.values)
        parser.add_argument("--dry-run", action="store_true", help="check the file only; write nothing")
        parser.add_argument("--language", default=settings.LANGUAGE_CODE, help="language of the messages")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"], is_active=True).first()
        if tenant is None:
            raise CommandError(f"no active tenant with slug {options['tenant']!r}")
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        dry_run = options["dry_run"]
        with translation.override(options["language"]), tenant_context(tenant):
            outcome = import_file(tenant, kind=options["kind"], path=path, file_name=path.name, dry_run=dry_run)
            if not dry_run:
                # Recorded as a job, so that the import shows among the tenant's recent imports.
                # Its file_path stays empty: the command reads the file in place and leaves it alone.
                job = ImportJob.objects.create(tenant=tenant, kind=options["kind"], file_name=path.name[:255])
                record_outcome(tenant, job, outcome, dry_run=False)
        if not outcome.ok:
            for error in outcome.errors:
                where = f"row {error['row']}" if error["row"] else "file"
                column = f", {error['column']}" if error["column"] else ""
                self.stderr.write(f"{where}{column}: {error['message']}")
            raise CommandError(f"{outcome.error_count} error(s) in {path.name}; nothing was imported.", returncode=1)
        if dry_run:
            self.stdout.write(f"{path.name}: all {outcome.total_rows} rows are valid (dry run: nothing was written).")
        else:
            self.stdout.write(
                f"{path.name}: {outcome.total_rows} rows imported into {tenant.slug}: "
                f"{outcome.created} created, {outcome.updated} updated, {outcome.unchanged} unchanged."
            )
