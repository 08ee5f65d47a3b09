"""Demo customer data: realistic Chinese companies, group hierarchies, people, three
years of orders with seasonal purchase rhythms, invoices with some late payers,
interactions, events and contracts. Deterministic (seeded), so every fresh demo looks
the same. Called by `manage.py seed_demo` through AccountsConfig.load_demo."""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo
from decimal import Decimal
from typing import Any

from accounts.models import (
    Account,
    AccountStatus,
    Attitude,
    BuyingRole,
    Contact,
    ContactLevel,
    Contract,
    Event,
    EventKind,
    Interaction,
    InteractionKind,
    Invoice,
    IpOwnership,
    Order,
)
from accounts.services import event_defaults
from accounts.validators import credit_code_check_character
from kam.models import Tenant
from kam.tenancy import tenant_context, tenant_today

# (name, legal name, industry, region, parent, years of cooperation, yearly revenue in 万元,
#  purchase interval in days, payment behaviour: "prompt" | "late" | "very_late")
MANUFACTURING_ACCOUNTS = [
    ("中车华北集团", "中车华北装备集团有限公司", "轨道交通", "北京", None, 11, 2600, 30, "prompt"),
    ("中车华北·唐山基地", "中车唐山机车车辆有限公司", "轨道交通", "河北", "中车华北集团", 9, 1800, 21, "prompt"),
    ("中车华北·天津基地", "中车天津装备制造有限公司", "轨道交通", "天津", "中车华北集团", 6, 950, 35, "late"),
    ("远航船舶重工", "远航船舶重工股份有限公司", "船舶制造", "上海", None, 14, 2100, 45, "prompt"),
    ("远航船舶·舟山修造", "远航舟山船舶修造有限公司", "船舶制造", "浙江", "远航船舶重工", 5, 420, 60, "late"),
    ("蓝天新能源", "蓝天新能源科技有限公司", "新能源", "江苏", None, 4, 1500, 25, "prompt"),
    ("蓝天新能源·储能", "蓝天储能系统有限公司", "新能源", "江苏", "蓝天新能源", 2, 600, 40, "prompt"),
    ("恒通汽车零部件", "恒通汽车零部件有限公司", "汽车", "浙江", None, 8, 780, 28, "very_late"),
    ("华晟精密机床", "华晟精密机床股份有限公司", "机床", "辽宁", None, 12, 690, 50, "prompt"),
    ("北方重型机械", "北方重型机械集团有限公司", "工程机械", "山东", None, 10, 1200, 33, "late"),
    ("长江航空部件", "长江航空部件制造有限公司", "航空航天", "湖北", None, 7, 880, 42, "prompt"),
    ("粤海电子", "粤海电子科技有限公司", "电子", "广东", None, 3, 350, 18, "prompt"),
    ("西部矿山装备", "西部矿山装备有限公司", "矿山", "陕西", None, 6, 260, 75, "very_late"),
    ("晨光医疗器械", "晨光医疗器械有限公司", "医疗器械", "上海", None, 2, 190, 55, "prompt"),
    ("宏远风电", "宏远风电设备有限公司", "新能源", "内蒙古", None, 5, 540, 38, "late"),
    ("东海港口机械", "东海港口机械有限公司", "港口机械", "福建", None, 9, 310, 65, "prompt"),
    ("金桥家电", "金桥家电集团有限公司", "家电", "安徽", None, 1, 120, 30, "prompt"),
    ("瑞丰农机", "瑞丰农业机械有限公司", "农机", "河南", None, 4, 95, 90, "late"),
]

CONSULTING_ACCOUNTS = [
    ("国泰银行", "国泰商业银行股份有限公司", "金融", "上海", None, 10, 820, 60, "prompt"),
    ("国泰银行·信用卡中心", "国泰商业银行信用卡中心", "金融", "上海", "国泰银行", 6, 310, 75, "prompt"),
    ("瑞康医药集团", "瑞康医药集团有限公司", "医药", "广东", None, 7, 560, 45, "late"),
    ("瑞康医药·华南分销", "瑞康医药华南分销有限公司", "医药", "广东", "瑞康医药集团", 5, 240, 50, "late"),
    ("星辰零售", "星辰零售连锁有限公司", "零售", "四川", None, 4, 180, 40, "prompt"),
    ("天行物流", "天行物流股份有限公司", "物流", "湖南", None, 3, 150, 55, "very_late"),
    ("云帆互联网", "云帆网络科技有限公司", "互联网", "浙江", None, 2, 260, 35, "prompt"),
    ("中原能源", "中原能源集团有限公司", "能源", "河南", None, 8, 430, 80, "prompt"),
    ("华夏保险", "华夏人寿保险股份有限公司", "保险", "北京", None, 5, 380, 70, "late"),
    ("新锐教育", "新锐教育科技有限公司", "教育", "江苏", None, 1, 60, 45, "prompt"),
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰", "军", "涛", "明", "超", "霞", "平", "刚", "桂英"]
PRODUCT_LINES = {
    "manufacturing": ["精密轴承", "液压系统", "数控刀具", "传动部件", "备品备件"],
    "consulting": ["战略咨询", "数字化转型", "组织与人才", "风险合规", "运营优化"],
}
# Month factors: a dip around the Spring Festival, a peak before year end.
SEASON = {1: 0.8, 2: 0.55, 3: 1.0, 4: 1.0, 5: 1.05, 6: 1.1, 7: 0.95, 8: 0.95, 9: 1.05, 10: 0.9, 11: 1.2, 12: 1.35}
PAYMENT_DELAY = {"prompt": (-10, 3), "late": (5, 45), "very_late": (30, 120)}


def demo_credit_code(rng: random.Random) -> str:
    body = (
        "91"
        + f"{rng.randint(110000, 659000):06d}"
        + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
    )
    return body + credit_code_check_character(body)


def load(tenant: Tenant, people: dict[str, Any]) -> None:
    """Create the demo customers of one tenant. ``people`` maps roles to users."""
    consulting = tenant.industry_profile == "consulting"
    specs = CONSULTING_ACCOUNTS if consulting else MANUFACTURING_ACCOUNTS
    lines = PRODUCT_LINES["consulting" if consulting else "manufacturing"]
    rng = random.Random(f"kam-demo-{tenant.slug}")
    today = tenant_today(tenant)
    start = today - dt.timedelta(days=3 * 365)
    owners = [people["manager"], people["manager"], people["director"]]
    with tenant_context(tenant):
        accounts: dict[str, Account] = {}
        for index, (name, legal, industry, region, parent, years, revenue_wan, interval, payer) in enumerate(specs):
            account = Account.objects.create(
                tenant=tenant,
                name=name,
                legal_name=legal,
                credit_code=demo_credit_code(rng),
                industry=industry,
                region=region,
                parent=accounts.get(parent) if parent else None,
                owner=owners[index % len(owners)],
                status=AccountStatus.DORMANT if index == len(specs) - 1 else AccountStatus.ACTIVE,
                cooperation_since=today - dt.timedelta(days=int(years * 365.25)),
                notes="" if index % 3 else "年度框架协议客户，重点关注交付周期。",
            )
            accounts[name] = account
            _contacts(tenant, account, rng, today)
            _orders_and_invoices(tenant, account, rng, start, today, revenue_wan, interval, payer, lines, index)
            _interactions(tenant, account, rng, today, people)
            _contracts(tenant, account, rng, today, revenue_wan, index)
        _events(tenant, list(accounts.values()), today)


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def _contacts(tenant: Tenant, account: Account, rng: random.Random, today: dt.date) -> None:
    chief = Contact.objects.create(
        tenant=tenant,
        account=account,
        name=_person(rng),
        title="总经理",
        department="总经办",
        level=ContactLevel.EXECUTIVE,
        buying_role=BuyingRole.DECISION_MAKER,
        attitude=rng.choice([Attitude.CHAMPION, Attitude.SUPPORTER, Attitude.NEUTRAL]),
    )
    buyer = Contact.objects.create(
        tenant=tenant,
        account=account,
        name=_person(rng),
        title="采购总监",
        department="采购部",
        level=ContactLevel.MANAGERIAL,
        buying_role=BuyingRole.INFLUENCER,
        attitude=rng.choice([Attitude.SUPPORTER, Attitude.NEUTRAL, Attitude.SKEPTIC]),
        reports_to=chief,
    )
    Contact.objects.create(
        tenant=tenant,
        account=account,
        name=_person(rng),
        title="技术主管",
        department="技术部",
        level=ContactLevel.MANAGERIAL,
        buying_role=BuyingRole.TECHNICAL_BUYER,
        attitude=rng.choice(list(Attitude.values)),
        reports_to=chief,
    )
    Contact.objects.create(
        tenant=tenant,
        account=account,
        name=_person(rng),
        title="采购专员",
        department="采购部",
        level=ContactLevel.OPERATIONAL,
        buying_role=BuyingRole.GATEKEEPER,
        attitude=Attitude.NEUTRAL,
        reports_to=buyer,
        # Now and then a key person has left: the relationship gap risk watches for it.
        left_on=(today - dt.timedelta(days=40)) if rng.random() < 0.15 else None,
    )


def _orders_and_invoices(
    tenant: Tenant,
    account: Account,
    rng: random.Random,
    start: dt.date,
    today: dt.date,
    revenue_wan: int,
    interval: int,
    payer: str,
    lines: list[str],
    index: int,
) -> None:
    orders, invoices = [], []
    day = start + dt.timedelta(days=rng.randint(0, interval))
    # Some accounts grow, some shrink, one stops buying (an overdue purchase rhythm).
    trend = rng.choice([0.85, 1.0, 1.1, 1.25])
    stop = today - dt.timedelta(days=interval * 4) if index % 7 == 6 else None
    per_order = Decimal(revenue_wan * 10_000) * interval / 365
    while day <= today and (stop is None or day <= stop):
        years_back = (today - day).days / 365
        amount = per_order * Decimal(SEASON[day.month] * trend ** (-years_back) * rng.uniform(0.7, 1.3))
        amount = amount.quantize(Decimal("0.01"))
        ref = f"{tenant.slug.upper()}-{account.pk}-{day:%Y%m%d}"
        orders.append(
            Order(
                tenant=tenant,
                account=account,
                order_date=day,
                amount=amount,
                cost=(amount * Decimal(rng.uniform(0.55, 0.8))).quantize(Decimal("0.01")),
                product_line=rng.choice(lines),
                external_ref=ref,
            )
        )
        due = day + dt.timedelta(days=30)
        low, high = PAYMENT_DELAY[payer]
        paid = due + dt.timedelta(days=rng.randint(low, high))
        invoices.append(
            Invoice(
                tenant=tenant,
                account=account,
                number=f"FP{ref}",
                issued_on=day,
                due_on=due,
                amount=amount,
                paid_on=paid if paid <= today else None,
                paid_amount=amount if paid <= today else None,
            )
        )
        day += dt.timedelta(days=max(7, round(rng.gauss(interval, interval * 0.2))))
    Order.objects.bulk_create(orders, batch_size=1000)
    Invoice.objects.bulk_create(invoices, batch_size=1000)


def _interactions(tenant: Tenant, account: Account, rng: random.Random, today: dt.date, people: dict[str, Any]) -> None:
    contacts = list(account.contacts.all())
    kinds = [InteractionKind.MEETING, InteractionKind.CALL, InteractionKind.VISIT, InteractionKind.EMAIL]
    summaries = {
        InteractionKind.MEETING: "季度业务回顾会议，讨论明年采购计划。",
        InteractionKind.CALL: "电话沟通交付进度。",
        InteractionKind.VISIT: "拜访客户工厂，了解新产线需求。",
        InteractionKind.EMAIL: "发送技术方案与报价。",
        InteractionKind.SERVICE_TICKET: "处理设备故障报修。",
        InteractionKind.COMPLAINT: "客户投诉交付延迟，已安排专人跟进。",
    }
    zone = zoneinfo.ZoneInfo(tenant.time_zone)
    items = []
    for _ in range(rng.randint(3, 9)):
        kind = rng.choice(kinds if rng.random() > 0.12 else [InteractionKind.COMPLAINT, InteractionKind.SERVICE_TICKET])
        when = dt.datetime.combine(
            today - dt.timedelta(days=rng.randint(1, 300)), dt.time(rng.randint(9, 17), 0), tzinfo=zone
        )
        items.append(
            Interaction(
                tenant=tenant,
                account=account,
                contact=rng.choice(contacts),
                user=people["manager"],
                kind=kind,
                occurred_at=when,
                summary=summaries[kind],
            )
        )
    Interaction.objects.bulk_create(items)


def _contracts(
    tenant: Tenant, account: Account, rng: random.Random, today: dt.date, revenue_wan: int, index: int
) -> None:
    # Every fourth contract ends within the next 90 days: a renewal to prepare.
    end = today + dt.timedelta(days=rng.randint(20, 85) if index % 4 == 0 else rng.randint(120, 700))
    start = end - dt.timedelta(days=365 * 2)
    value = Decimal(revenue_wan * 10_000 * 2)
    Contract.objects.create(
        tenant=tenant,
        account=account,
        title=f"{account.name}年度框架采购协议",
        start_on=start,
        end_on=end,
        value=value,
        auto_renew=index % 3 == 0,
        exclusivity=index % 5 == 0,
        **_clause_register(index, start, today, value),
    )


# The IP state of each account's contract, by the account's place in its list (no random draw):
# every state in both tenants. The accounts the score runs make S or A are the big ones at the
# head of the lists (manufacturing: 0, 3 and 9, S; consulting: 0, S, and 1, A); of them, one per
# tenant is left with nothing that protects our IP, so that ip_unprotected fires there:
# 远航船舶重工 (3: the customer's IP, its confidentiality lapsed) and 国泰银行·信用卡中心
# (1: the customer's IP, no confidentiality). The others are protected (ours, joint). Notice
# periods stay the default 90 days: the renewals' demo opens its renewals by them.
IP_STATES = ("ours", "customer", "joint", "lapsed", "confidential", "none", "ours", "customer", "none", "joint")


def _clause_register(index: int, start: dt.date, today: dt.date, value: Decimal) -> dict[str, Any]:
    state = IP_STATES[index % len(IP_STATES)]
    if state == "lapsed":
        # a confidentiality period that ran out halfway between the start and today
        ownership, until = IpOwnership.CUSTOMER, start + (today - start) // 2
    elif state == "confidential":
        # the customer owns the IP, and confidentiality runs three years past today
        ownership, until = IpOwnership.CUSTOMER, today + dt.timedelta(days=3 * 365)
    else:
        ownership, until = IpOwnership(state), None
    return {
        "ip_ownership": ownership,
        "confidentiality_until": until,
        "non_solicit": index % 4 == 1,
        "liability_cap": value if index % 3 == 0 else (value / 2 if index % 3 == 1 else None),
    }


def _events(tenant: Tenant, accounts: list[Account], today: dt.date) -> None:
    plan = [
        (0, EventKind.MAJOR_INVESTMENT, 20, "客户启动新一代动车组产线重大投资项目。"),
        (3, EventKind.EXPANSION, 45, "新建舟山修造基地二期。"),
        (7, EventKind.COMPETITOR_WIN, 30, "竞争对手中标其年度刀具集采。"),
        (9, EventKind.LEADERSHIP_CHANGE, 10, "客户总经理更换。"),
        (5, EventKind.BUDGET_CUT, 60, "客户压缩年度设备预算。"),
    ]
    for position, kind, days_ago, note in plan:
        if position >= len(accounts):
            continue
        occurred = today - dt.timedelta(days=days_ago)
        points, expires = event_defaults(kind, occurred)
        Event.objects.create(
            tenant=tenant,
            account=accounts[position],
            kind=kind,
            occurred_on=occurred,
            impact_points=points,
            expires_on=expires,
            note=note,
        )
