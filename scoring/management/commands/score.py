from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from kam.models import Tenant
from scoring import services
from scoring.models import RunTrigger


class Command(BaseCommand):
    help = "Score every account of a tenant now (a manual score run), as of a date (default: today)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--as-of", type=dt.date.fromisoformat, default=None, help="YYYY-MM-DD")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"], is_active=True).first()
        if tenant is None:
            raise CommandError(f"no active tenant with slug {options['tenant']!r}")
        try:
            run = services.score_run_create(tenant, trigger=RunTrigger.MANUAL, as_of=options["as_of"])
            run = services.score_run_execute(tenant, run=run)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(
            f"run {run.pk} as of {run.as_of}: {run.accounts_scored} accounts scored, "
            f"{run.moved_up} moved up, {run.moved_down} moved down, top 20% share {run.top20_share}"
        )
