from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from kam.models import RunStatus, Tenant
from risk import services
from risk.models import RunKind


class Command(BaseCommand):
    help = (
        "Run the risk jobs of a tenant now: the concentration snapshot and the health assessment, "
        "each followed by alert evaluation, as of a date (default: today in the tenant's time zone)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--as-of", type=dt.date.fromisoformat, default=None, help="YYYY-MM-DD")
        parser.add_argument("--kind", choices=RunKind.values, default=RunKind.FULL, help="default: full")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"], is_active=True).first()
        if tenant is None:
            raise CommandError(f"no active tenant with slug {options['tenant']!r}")
        try:
            run = services.risk_run_create(tenant, kind=options["kind"], as_of=options["as_of"])
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        run = services.risk_run_execute(tenant, run=run)
        if run.status != RunStatus.DONE:
            raise CommandError(f"run {run.pk} as of {run.as_of} failed: {run.error}")
        self.stdout.write(
            f"run {run.pk} as of {run.as_of} ({run.kind}): {run.accounts_assessed} accounts assessed, "
            f"{run.alerts_opened} alerts opened, {run.alerts_updated} updated, {run.alerts_resolved} resolved "
            f"in {run.duration_seconds or 0:.2f} s"
        )
