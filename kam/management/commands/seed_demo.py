"""Demo data: two tenants, a user for every role, and a few customer accounts.

Later issues extend it (orders, scores, teams, risk). `--once` does nothing when the
demo tenants exist already, so `make run` can call it every time.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from kam import services
from kam.models import IndustryProfile, Role, Tenant, User
from kam.tenancy import tenant_context

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
        # (name, legal name, industry, region, parent name, cooperation since)
        "accounts": [
            ("中车华北集团", "中车华北装备集团有限公司", "轨道交通", "北京", None, dt.date(2015, 3, 1)),
            ("中车华北·唐山基地", "中车唐山机车车辆有限公司", "轨道交通", "河北", "中车华北集团", dt.date(2017, 6, 1)),
            ("中车华北·天津基地", "中车天津装备制造有限公司", "轨道交通", "天津", "中车华北集团", dt.date(2019, 9, 1)),
            ("远航船舶重工", "远航船舶重工股份有限公司", "船舶制造", "上海", None, dt.date(2012, 1, 15)),
            ("蓝天新能源", "蓝天新能源科技有限公司", "新能源", "江苏", None, dt.date(2021, 4, 1)),
            ("恒通汽车零部件", "恒通汽车零部件有限公司", "汽车", "浙江", None, dt.date(2018, 11, 1)),
        ],
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
        "accounts": [
            ("国泰银行", "国泰商业银行股份有限公司", "金融", "上海", None, dt.date(2016, 5, 1)),
            ("瑞康医药集团", "瑞康医药集团有限公司", "医药", "广东", None, dt.date(2019, 2, 1)),
            ("瑞康医药·华南分销", "瑞康医药华南分销有限公司", "医药", "广东", "瑞康医药集团", dt.date(2020, 7, 1)),
            ("星辰零售", "星辰零售连锁有限公司", "零售", "四川", None, dt.date(2022, 3, 1)),
        ],
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
        from accounts.models import Account, AccountStatus

        tenant = services.tenant_create(slug=spec["slug"], name=spec["name"], industry_profile=spec["industry_profile"])
        users = {}
        for role, full_name in spec["people"].items():
            user = services.user_get_or_create(
                email=f"{role}@{spec['domain']}", password=DEMO_PASSWORD, full_name=full_name
            )
            services.membership_create(tenant=tenant, user=user, role=role)
            users[role] = user
        with tenant_context(tenant):
            by_name: dict[str, Account] = {}
            for name, legal_name, industry, region, parent, since in spec["accounts"]:
                by_name[name] = Account.objects.create(
                    tenant=tenant,
                    name=name,
                    legal_name=legal_name,
                    industry=industry,
                    region=region,
                    parent=by_name.get(parent) if parent else None,
                    owner=users[Role.MANAGER],
                    status=AccountStatus.ACTIVE,
                    cooperation_since=since,
                )
