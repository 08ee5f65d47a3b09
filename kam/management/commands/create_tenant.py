from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from kam import services
from kam.models import IndustryProfile


class Command(BaseCommand):
    help = "Create a tenant (a supplier company), optionally with its first administrator."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--slug", required=True, help="URL name, e.g. acme (pages live under /t/<slug>/)")
        parser.add_argument("--name", required=True)
        parser.add_argument("--industry", required=True, choices=IndustryProfile.values, help="industry profile")
        parser.add_argument("--currency", default="CNY")
        parser.add_argument("--time-zone", default="Asia/Shanghai")
        parser.add_argument("--admin-email")
        parser.add_argument("--admin-password")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["admin_password"] and not options["admin_email"]:
            raise CommandError("--admin-password needs --admin-email")
        try:
            tenant = services.tenant_create(
                slug=options["slug"],
                name=options["name"],
                industry_profile=options["industry"],
                currency=options["currency"],
                time_zone=options["time_zone"],
                admin_email=options["admin_email"],
                admin_password=options["admin_password"],
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(f"created tenant {tenant.slug} (id {tenant.pk})")
