"""manage.py export_tenant SLUG [--output FILE]: one tenant's data in one archive (kam/backup.py)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from kam.backup import BackupError, export_tenant
from kam.models import Tenant


class Command(BaseCommand):
    help = (
        "Write all of a tenant's data (every tenant-owned table, the tenant, its memberships, API tokens and "
        "their users with password hashes) into one .tar.gz archive that import_tenant restores."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="the tenant's slug")
        parser.add_argument("--output", help="the archive to write (default: kam-<slug>-<date>.tar.gz here)")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["slug"]).first()
        if tenant is None:
            raise CommandError(f"no tenant with slug {options['slug']!r}")
        output = Path(options["output"] or f"kam-{tenant.slug}-{timezone.localdate():%Y%m%d}.tar.gz")
        started = time.perf_counter()
        try:
            manifest = export_tenant(tenant, output)
        except (BackupError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        rows = sum(info["rows"] for info in manifest.files.values())
        self.stdout.write(
            f"{output}: tenant {tenant.slug}, {rows:,} rows in {len(manifest.files)} tables, "
            f"{output.stat().st_size / 1024 / 1024:.1f} MB, {time.perf_counter() - started:.1f} s"
        )
