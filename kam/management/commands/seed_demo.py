"""Demo data: two tenants and a user for every role; each app then adds its own
(AppConfig.load_demo: accounts, and later scores, teams, risk). `--once` does nothing when the
demo tenants exist already, so `make run` can call it every time.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from kam import services
from kam.models import IndustryProfile, Role, Tenant, User

DEMO_PASSWORD = "kam-demo-2026"

TENANTS = [
    {
        "slug": "huadong",
        "name": "华东精工装备有限公司",
        "industry_profile": IndustryProfile.MANUFACTURING,
        "domain": "huadong.example.com",
        "people": {
            Role.ADMIN: "周敏",
            Role.DIRECTOR: "陈立华",
            Role.MANAGER: "王海峰",
            Role.MEMBER: "李静",
            Role.EXECUTIVE: "张国栋",
        },
    },
    {
        "slug": "zhice",
        "name": "智策管理咨询",
        "industry_profile": IndustryProfile.CONSULTING,
        "domain": "zhice.example.com",
        "people": {
            Role.ADMIN: "刘洋",
            Role.DIRECTOR: "赵雪",
            Role.MANAGER: "孙浩",
            Role.MEMBER: "吴婷",
            Role.EXECUTIVE: "郑伟",
        },
    },
]

# One person with two workspaces, to show the tenant switcher.
CROSS_TENANT = ("director@huadong.example.com", "zhice", Role.EXECUTIVE)


def demo_logins() -> list[tuple[str, str]]:
    logins = []
    for spec in TENANTS:
        for role in spec["people"]:
            logins.append((f"{role}@{spec['domain']}", f"{spec['slug']}: {Role(role).label}"))
    email, slug, role = CROSS_TENANT
    logins.append((email, f"also {slug}: {Role(role).label}"))
    return logins


class Command(BaseCommand):
    help = "Load demo tenants, users for every role and a few accounts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="do nothing when the demo data is loaded already")

    def handle(self, *args: Any, **options: Any) -> None:
        if Tenant.objects.filter(slug=TENANTS[0]["slug"]).exists():
            if options["once"]:
                self.stdout.write("demo data already loaded")
                return
            self.stdout.write("demo tenants exist; nothing to do (drop the database to reload)")
            return
        with transaction.atomic():
            for spec in TENANTS:
                self._load_tenant(spec)
            email, slug, role = CROSS_TENANT
            services.membership_create(
                tenant=Tenant.objects.get(slug=slug), user=User.objects.get(email=email), role=role
            )
        self.stdout.write(f"demo data loaded; every demo user's password is {DEMO_PASSWORD}")

    def _load_tenant(self, spec: dict[str, Any]) -> None:
        tenant = services.tenant_create(slug=spec["slug"], name=spec["name"], industry_profile=spec["industry_profile"])
        people = {}
        for role, full_name in spec["people"].items():
            user = services.user_get_or_create(
                email=f"{role}@{spec['domain']}", password=DEMO_PASSWORD, full_name=full_name
            )
            services.membership_create(tenant=tenant, user=user, role=role)
            people[str(role)] = user
        # Each app adds its own demo data (AppConfig.load_demo), so kam imports no domain app.
        for config in apps.get_app_configs():
            load = getattr(config, "load_demo", None)
            if load is not None:
                load(tenant, people)
