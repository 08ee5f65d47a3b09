"""manage.py import_tenant FILE: restore an export_tenant archive (kam/backup.py)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kam.backup import BackupError, import_tenant


class Command(BaseCommand):
    help = (
        "Restore a tenant from an export_tenant archive into this database, where that tenant must not exist. "
        "All or nothing; the tenant's rows keep their ids, which must be free here."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the .tar.gz written by export_tenant")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        started = time.perf_counter()
        try:
            restored = import_tenant(path)
        except BackupError as exc:
            raise CommandError(f"{exc}") from exc
        rows = sum(restored.counts.values())
        self.stdout.write(
            f"{path}: tenant {restored.tenant.slug} restored, {rows:,} rows in {len(restored.counts)} tables, "
            f"{restored.users_created} users created, {restored.users_matched} matched by e-mail, "
            f"{time.perf_counter() - started:.1f} s"
        )
