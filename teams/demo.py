"""Demo teams, after the accounts app loaded its customers and scoring tiered them.

The S and A accounts get dedicated teams, with a few gaps a KAM director would
recognise: an S account without an executive sponsor, one without finance, a key
contact who left (their link ends and the operational level opens a gap). A few
specialists join the workspace for this (technical, delivery, finance, service people,
role "member"), the demo manager serves on several teams (over 100 % allocated) and the
demo member serves on some, so their account list is not empty. The first S account
gets an account plan with a joint lab (联合实验室), a shared data platform
(共享数据分析平台) and actions, one of them overdue.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from accounts import services as account_services
from accounts.models import Account, Contact, ContactLevel, Tier
from kam import services as kam_services
from kam.models import Membership, Role, Tenant, User
from kam.tenancy import tenant_context, tenant_today
from teams import services
from teams.models import ActionStatus, Function, InitiativeKind, Level, Strength

# (e-mail name, full name, function) of the specialists who join the demo workspace.
SPECIALISTS = [
    ("tech.liu", "刘建国", Function.TECHNICAL),
    ("tech.huang", "黄志强", Function.TECHNICAL),
    ("delivery.he", "何晓燕", Function.DELIVERY),
    ("delivery.guo", "郭涛", Function.DELIVERY),
    ("finance.lin", "林芳", Function.FINANCE),
    ("service.luo", "罗斌", Function.SERVICE),
]

# Per S account in score order: which functions stay empty and whether the operational contact leaves.
S_SCENARIOS = [
    {"missing": {Function.FINANCE}, "contact_leaves": True},
    {"missing": {Function.EXECUTIVE_SPONSOR}, "contact_leaves": False},
    {"missing": set(), "contact_leaves": False},
]
A_SCENARIOS = [
    {"missing": set(), "contact_leaves": False},
    {"missing": {Function.DELIVERY}, "contact_leaves": False},
]
# An account of a lower tier gets a team too (so the tab is not only for S and A).
EXTRA_TEAMS = 1


def load(tenant: Tenant, people: dict[str, Any]) -> None:
    today = tenant_today(tenant)
    staff = _specialists(tenant, people)
    with tenant_context(tenant):
        accounts = list(Account.objects.exclude(status="lost").order_by("-score", "name"))
        strategic = [account for account in accounts if account.tier == Tier.S]
        key = [account for account in accounts if account.tier == Tier.A]
        others = [account for account in accounts if account.tier not in (Tier.S, Tier.A)][:EXTRA_TEAMS]
        if not strategic and not key:  # scores not run: the best three stand in
            strategic, key, others = accounts[:1], accounts[1:3], []
    started = today - dt.timedelta(days=400)
    director = people["director"]
    for index, account in enumerate(strategic):
        scenario = S_SCENARIOS[index % len(S_SCENARIOS)]
        sponsor = people["executive"] if index % 2 == 0 else director
        _team(tenant, account, people, staff, scenario, sponsor=sponsor, since=started, today=today, index=index)
    for index, account in enumerate(key):
        scenario = A_SCENARIOS[index % len(A_SCENARIOS)]
        _team(tenant, account, people, staff, scenario, sponsor=None, since=started, today=today, index=index + 1)
    for index, account in enumerate(others):
        _team(
            tenant,
            account,
            people,
            staff,
            {"missing": {Function.FINANCE}, "contact_leaves": False},
            sponsor=None,
            since=started,
            today=today,
            index=index + 2,
        )
    if strategic:
        _plan(tenant, strategic[0], people, staff, today)
    services.counterpart_links_end_stale(tenant, as_of=today)


def _specialists(tenant: Tenant, people: dict[str, Any]) -> dict[str, list[User]]:
    from kam.management.commands.seed_demo import DEMO_PASSWORD

    domain = people["member"].email.split("@", 1)[1]
    staff: dict[str, list[User]] = {}
    for name, full_name, function in SPECIALISTS:
        user = kam_services.user_get_or_create(email=f"{name}@{domain}", password=DEMO_PASSWORD, full_name=full_name)
        if not Membership.objects.filter(tenant=tenant, user=user).exists():
            kam_services.membership_create(tenant=tenant, user=user, role=Role.MEMBER)
        staff.setdefault(function, []).append(user)
    return staff


def _contacts_by_level(tenant: Tenant, account: Account) -> dict[str, list[Contact]]:
    with tenant_context(tenant):
        contacts = list(Contact.objects.filter(account=account, left_on__isnull=True).order_by("id"))
    levels: dict[str, list[Contact]] = {}
    for contact in contacts:
        levels.setdefault(contact.level, []).append(contact)
    return levels


def _team(
    tenant: Tenant,
    account: Account,
    people: dict[str, Any],
    staff: dict[str, list[User]],
    scenario: dict[str, Any],
    *,
    sponsor: User | None,
    since: dt.date,
    today: dt.date,
    index: int,
) -> None:
    manager, member = people["manager"], people["member"]
    pick = index % 2
    lineup: list[tuple[str, User, str, int]] = [
        (Function.SALES, manager, Level.MANAGERIAL, 40),
        (Function.TECHNICAL, staff[Function.TECHNICAL][pick], Level.MANAGERIAL, 30),
        (Function.DELIVERY, staff[Function.DELIVERY][pick], Level.OPERATIONAL, 35),
        (Function.SERVICE, member, Level.OPERATIONAL, 25),
    ]
    if sponsor is not None:
        lineup.insert(0, (Function.EXECUTIVE_SPONSOR, sponsor, Level.EXECUTIVE, 5))
        lineup.append((Function.FINANCE, staff[Function.FINANCE][0], Level.OPERATIONAL, 15))
    team = services.team_create(tenant, account=account, lead=manager)
    members = {}
    for function, user, level, allocation in lineup:
        if function in scenario["missing"]:
            continue
        members[function] = services.team_member_add(
            tenant, team=team, user=user, function=function, level=level, allocation=allocation, since=since
        )
    contacts = _contacts_by_level(tenant, account)
    strengths = [Strength.TRUSTED_ADVISOR, Strength.PROBLEM_SOLVER, Strength.CREDIBLE_SOURCE, Strength.VENDOR]
    pairs = [
        (Function.EXECUTIVE_SPONSOR, ContactLevel.EXECUTIVE, 0),
        (Function.SALES, ContactLevel.MANAGERIAL, 0),
        (Function.TECHNICAL, ContactLevel.MANAGERIAL, 1),
        (Function.DELIVERY, ContactLevel.OPERATIONAL, 0),
    ]
    for position, (function, level, nth) in enumerate(pairs):
        member_row, at_level = members.get(function), contacts.get(level, [])
        if member_row is None or len(at_level) <= nth:
            continue
        services.counterpart_link_create(
            tenant,
            member=member_row,
            contact=at_level[nth],
            strength=strengths[(position + index) % len(strengths)],
            target_strength=Strength.TRUSTED_ADVISOR if level != ContactLevel.OPERATIONAL else Strength.PROBLEM_SOLVER,
            started_on=since + dt.timedelta(days=30),
        )
    if scenario["contact_leaves"] and contacts.get(ContactLevel.OPERATIONAL):
        leaving = contacts[ContactLevel.OPERATIONAL][0]
        with tenant_context(tenant):
            leaving = Contact.objects.get(pk=leaving.pk)
        account_services.contact_update(tenant, contact=leaving, left_on=today - dt.timedelta(days=12))


def _plan(
    tenant: Tenant, account: Account, people: dict[str, Any], staff: dict[str, list[User]], today: dt.date
) -> None:
    manager, member = people["manager"], people["member"]
    plan = services.account_plan_create(
        tenant,
        account=account,
        title=f"{today.year} 年度客户计划",
        period_start=today.replace(month=1, day=1),
        period_end=today.replace(month=12, day=31),
        objectives=(
            "1. 年度采购额增长 15%，保持首选供应商地位。\n"
            "2. 与客户技术中心共建联合实验室，进入新一代产品的早期设计。\n"
            "3. 打通双方生产与质量数据，建立共享数据分析平台，把交付周期缩短 10 天。"
        ),
        actor=manager,
    )
    lab = services.initiative_create(
        tenant,
        plan=plan,
        kind=InitiativeKind.JOINT_LAB,
        title="联合实验室",
        description="与客户技术中心共建材料与工艺联合实验室，共同验证新一代关键部件。",
    )
    platform = services.initiative_create(
        tenant,
        plan=plan,
        kind=InitiativeKind.SHARED_DATA_PLATFORM,
        title="共享数据分析平台",
        description="共享需求预测、库存与质量数据，提前安排排产，降低双方库存。",
    )
    technical = staff[Function.TECHNICAL][0]
    actions = [
        (lab, "签署联合实验室合作协议", manager, -10, ActionStatus.IN_PROGRESS),
        (lab, "确定首批联合验证课题", technical, 21, ActionStatus.OPEN),
        (platform, "完成数据接口技术方案评审", technical, 35, ActionStatus.OPEN),
        (platform, "整理客户近两年交付数据", member, 14, ActionStatus.OPEN),
        (None, "高层季度互访", manager, -40, ActionStatus.DONE),
    ]
    for initiative, title, owner, days, status in actions:
        services.plan_action_create(
            tenant,
            plan=plan,
            initiative=initiative,
            title=title,
            owner=owner,
            due_on=today + dt.timedelta(days=days),
            status=status,
        )
