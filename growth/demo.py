"""Demo growth data (GrowthConfig.load_demo, after the accounts, scoring, teams, risk and service
demos): the tenant's catalogue, the mapping of the product lines its demo orders use, buying
centres of the S and A accounts with their decision makers and wallets, a whitespace that
shows every cell status, and opportunities in every stage. Deterministic; loads once (a
tenant that has offerings already is left as it is). Growth's services write everything
(growth.services, growth.opportunities), as the pages would; the won and lost opportunities
are then dated back to their close (the service closes them today).

- Offerings: ten per industry profile, in Chinese and English; the five product lines of
  accounts/demo.py map to the first five (the others are what the customers have not bought
  from us yet: services, digital, retrofits).
- Buying centres: two to four per S and A account (four on the showcase), the first one
  primary (orders that name no buying centre count for it), each with a decision maker
  among the account's contacts and an estimated annual spend; their sum (the wallet) is a
  multiple of what the account bought from us in the last twelve months, so share of wallet
  is below one and potential is left. A third of those accounts' orders name their second
  buying centre, so that whitespace has more than one row bought.
- The showcase (the first S account in score order): a cell in every status — bought (its
  orders), pipeline (an open opportunity naming a centre and an offering nobody bought
  there), not applicable (a person's mark with the reason), open (the rest).
- Opportunities: every stage on the S and A accounts (won and lost ones closed in the past,
  a lost one with its reason), one made from a customer's new requirement (service's demo
  need) and one from the account plan's joint lab initiative (teams' demo plan).

Then the figures (share of wallet, potential) through ``growth.metrics`` when it is there.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from django.db.models import Sum

from accounts.models import Account, BuyingRole, Contact, Order, Tier
from growth import opportunities, services
from growth.models import (
    CLOSED_STAGES,
    BuyingCentre,
    BuyingCentreKind,
    Offering,
    Opportunity,
    Stage,
)
from kam.models import Tenant
from kam.tenancy import tenant_context, tenant_today

# (code, Chinese name, English name, category, product line of accounts/demo.py it maps from)
OFFERINGS = {
    "manufacturing": [
        ("BRG", "精密轴承", "Precision bearings", "核心部件", "精密轴承"),
        ("HYD", "液压系统", "Hydraulic systems", "核心部件", "液压系统"),
        ("CUT", "数控刀具", "CNC cutting tools", "刀具与耗材", "数控刀具"),
        ("DRV", "传动部件", "Drive components", "核心部件", "传动部件"),
        ("SPR", "备品备件", "Spare parts", "刀具与耗材", "备品备件"),
        ("MNT", "设备维保服务", "Maintenance contracts", "服务", ""),
        ("CMS", "设备状态监测", "Condition monitoring", "数字化", ""),
        ("RTF", "产线升级改造", "Production line retrofit", "解决方案", ""),
        ("LUB", "润滑管理方案", "Lubrication management", "解决方案", ""),
        ("TRN", "技术培训", "Technical training", "服务", ""),
    ],
    "consulting": [
        ("STR", "战略咨询", "Strategy consulting", "战略", "战略咨询"),
        ("DGT", "数字化转型", "Digital transformation", "数字化", "数字化转型"),
        ("ORG", "组织与人才", "Organisation and talent", "组织", "组织与人才"),
        ("RSK", "风险合规", "Risk and compliance", "风险", "风险合规"),
        ("OPS", "运营优化", "Operations excellence", "运营", "运营优化"),
        ("DAT", "数据治理", "Data governance", "数字化", ""),
        ("ESG", "ESG 可持续发展", "ESG and sustainability", "风险", ""),
        ("MNA", "并购整合", "Post-merger integration", "战略", ""),
        ("SCM", "供应链优化", "Supply chain optimisation", "运营", ""),
        ("LDP", "领导力发展", "Leadership development", "组织", ""),
    ],
}

# (code, name, kind) of an account's buying centres; an account gets the first two to four.
CENTRES = {
    "manufacturing": [
        ("HQ", "集团采购中心", BuyingCentreKind.BUSINESS_UNIT),
        ("PLANT-1", "总装一厂", BuyingCentreKind.PLANT),
        ("MRO", "设备维修部", BuyingCentreKind.DEPARTMENT),
        ("RND", "研发中心", BuyingCentreKind.DEPARTMENT),
    ],
    "consulting": [
        ("HQ", "总部战略与采购部", BuyingCentreKind.BUSINESS_UNIT),
        ("IT", "信息技术部", BuyingCentreKind.DEPARTMENT),
        ("HR", "人力资源部", BuyingCentreKind.DEPARTMENT),
        ("BU-1", "华东事业部", BuyingCentreKind.BUSINESS_UNIT),
    ],
}
# The decision maker of each centre, by the contact's title in accounts/demo.py (else the
# account's decision maker, else its first contact).
DECIDERS = {"HQ": "总经理", "PLANT-1": "采购总监", "MRO": "技术主管", "RND": "技术主管", "IT": "技术主管"}

# The showcase account's not-applicable mark: (centre code, offering code, reason).
NOT_APPLICABLE = {
    "manufacturing": ("RND", "SPR", "研发中心只做样机试制，备件由总装一厂统一采购。"),
    "consulting": ("HR", "DGT", "人力资源部的系统由集团信息技术部统一立项，不单独采购。"),
}

# Opportunities: (title, stage, centre index or None, offering codes, amount in 万元, days from
# today to the expected close, lost reason). Account index in the S-then-A list.
OPPORTUNITIES = {
    "manufacturing": [
        (0, "总装一厂设备状态监测试点", Stage.LEAD, 1, ["CMS"], 45, 120, ""),
        (0, "集团采购中心年度维保框架", Stage.PROPOSAL, 0, ["MNT", "LUB"], 180, 40, ""),
        (1, "二号线产线升级改造", Stage.QUALIFIED, 1, ["RTF"], 320, 150, ""),
        (1, "数控刀具年度集采", Stage.NEGOTIATION, 0, ["CUT"], 260, 20, ""),
        (2, "液压站国产化替代方案", Stage.SOLUTION, 0, ["HYD", "TRN"], 95, 75, ""),
        (2, "传动部件备件包", Stage.WON, 0, ["DRV", "SPR"], 68, -30, ""),
        (3, "润滑管理外包", Stage.LOST, 0, ["LUB"], 40, -60, "竞争对手报价低 18%，客户选择了低价方案。"),
        (3, "技术培训与认证", Stage.QUALIFIED, None, ["TRN"], 12, 200, ""),
        (4, "逾期未决：精密轴承替代", Stage.SOLUTION, 0, ["BRG"], 55, -15, ""),
        (1, "明年的状态监测推广", Stage.LEAD, 0, ["CMS"], 150, 420, ""),
    ],
    "consulting": [
        (0, "数据治理现状诊断", Stage.LEAD, 1, ["DAT"], 35, 90, ""),
        (0, "ESG 报告与披露咨询", Stage.PROPOSAL, 0, ["ESG"], 80, 45, ""),
        (1, "事业部运营提升项目", Stage.QUALIFIED, 1, ["OPS", "SCM"], 120, 140, ""),
        (1, "并购后整合百日计划", Stage.NEGOTIATION, 0, ["MNA"], 200, 25, ""),
        (2, "高管领导力发展项目", Stage.SOLUTION, 0, ["LDP", "ORG"], 60, 70, ""),
        (2, "合规体系年度复核", Stage.WON, 0, ["RSK"], 45, -20, ""),
        (3, "供应链韧性评估", Stage.LOST, 0, ["SCM"], 30, -50, "客户预算冻结，项目取消。"),
        (3, "数字化转型路线图", Stage.QUALIFIED, None, ["DGT"], 90, 180, ""),
        (4, "逾期未决：组织架构优化", Stage.SOLUTION, 0, ["ORG"], 40, -10, ""),
        (1, "明年的数据平台规划", Stage.LEAD, 0, ["DAT"], 110, 400, ""),
    ],
}
WAN = Decimal(10_000)


def load(tenant: Tenant, people: dict[str, Any]) -> None:
    """Loads the demo growth data of one tenant once (nothing when it has offerings already)."""
    profile = "consulting" if tenant.industry_profile == "consulting" else "manufacturing"
    rng = random.Random(f"kam-demo-growth-{tenant.slug}")
    today = tenant_today(tenant)
    manager = people.get("manager")
    with tenant_context(tenant):
        if Offering.objects.exists():
            return
        offerings = _offerings(tenant, profile, people.get("admin"))
        accounts = sorted(
            Account.objects.filter(tier__in=[Tier.S, Tier.A]),
            key=lambda account: (account.tier != Tier.S, -(account.score or 0), account.name),
        )
        if not accounts:  # scores not run: the best-selling five stand in
            accounts = list(Account.objects.exclude(status="lost").order_by("-id")[:5])
        if not accounts:
            return
        centres = {
            account.pk: _centres(
                tenant, account, profile, rng, today, count=4 if index == 0 else 2 + account.pk % 3, actor=manager
            )
            for index, account in enumerate(accounts)
        }
        showcase = accounts[0]
        code, offering, reason = NOT_APPLICABLE[profile]
        services.not_applicable_mark(
            tenant,
            buying_centre=next(c for c in centres[showcase.pk] if c.code == code),
            offering=offerings[offering],
            reason=reason,
            actor=people.get("manager"),
        )
        _opportunities(tenant, profile, accounts, centres, offerings, people, today)
    _figures(tenant)


def _offerings(tenant: Tenant, profile: str, actor: Any) -> dict[str, Offering]:
    offerings = {}
    for position, (code, name_zh, name_en, category, line) in enumerate(OFFERINGS[profile], start=1):
        offering = services.offering_create(
            tenant, code=code, name_zh=name_zh, name_en=name_en, category=category, position=position * 10, actor=actor
        )
        offerings[code] = offering
        if line:
            services.product_line_mapping_set(tenant, product_line=line, offering=offering, actor=actor)
    return offerings


def _centres(
    tenant: Tenant, account: Account, profile: str, rng: random.Random, today: dt.date, *, count: int, actor: Any
) -> list[BuyingCentre]:
    """``count`` buying centres (two to four), the first primary; a third of the account's orders
    name the second. Their annual spends add up to 1.6 to 3 times the account's last twelve months."""
    contacts = list(Contact.objects.filter(account=account, left_on__isnull=True).order_by("id"))
    decider = next((c for c in contacts if c.buying_role == BuyingRole.DECISION_MAKER), None)
    specs = CENTRES[profile][:count]
    year_ago = today - dt.timedelta(days=365)
    revenue = Order.objects.filter(account=account, order_date__gt=year_ago, order_date__lte=today).aggregate(
        total=Sum("amount")
    )["total"] or Decimal(500_000)
    wallet = revenue * Decimal(str(rng.choice([1.6, 2.0, 2.5, 3.0])))
    shares = [Decimal(str(rng.uniform(1.0, 2.0))) for _ in specs]
    shares[0] *= 2  # the group's purchasing centre buys most
    centres = []
    for index, (code, name, kind) in enumerate(specs):
        title = DECIDERS.get(code)
        maker = next((c for c in contacts if title and c.title == title), None) or decider
        spend = (wallet * shares[index] / sum(shares) / WAN).quantize(Decimal("1")) * WAN
        centres.append(
            services.buying_centre_create(
                tenant,
                account=account,
                code=code,
                name=name,
                kind=kind,
                decision_maker=maker or (contacts[0] if contacts else None),
                annual_spend=spend,
                is_primary=index == 0,
                actor=actor,
            )
        )
    # Orders that name their buying centre (by code, as an ERP export does): every third order.
    order_ids = list(Order.objects.filter(account=account).order_by("order_date", "id").values_list("id", flat=True))
    Order.objects.filter(id__in=order_ids[1::3]).update(buying_centre=centres[1].code)
    return centres


def _opportunities(
    tenant: Tenant,
    profile: str,
    accounts: list[Account],
    centres: dict[int, list[BuyingCentre]],
    offerings: dict[str, Offering],
    people: dict[str, Any],
    today: dt.date,
) -> None:
    manager = people.get("manager")
    for index, title, stage, centre, codes, amount_wan, days, lost_reason in OPPORTUNITIES[profile]:
        account = accounts[index % len(accounts)]
        account_centres = centres[account.pk]
        _opportunity(
            tenant,
            account=account,
            buying_centre=account_centres[min(centre, len(account_centres) - 1)] if centre is not None else None,
            offerings=[offerings[code] for code in codes],
            title=title,
            stage=stage,
            amount=Decimal(amount_wan) * WAN,
            expected_close=today + dt.timedelta(days=days),
            owner=account.owner or manager,
            lost_reason=lost_reason,
            today=today,
            actor=manager,
        )
    # From a customer's new requirement (service's demo), and from the account plan's initiative
    # (teams' demo): each becomes an opportunity in one step, as on the pages.
    from service.models import Need
    from teams.models import Initiative

    need = (
        Need.objects.filter(category__key="new_requirement", account__isnull=False)
        .select_related("account")
        .order_by("id")
        .first()
    )
    if need is not None:
        opportunity, _created = opportunities.opportunity_from_need(
            tenant, need=need, actor=manager, amount=Decimal(60) * WAN, expected_close=today + dt.timedelta(days=100)
        )
        account_centres = centres.get(need.account_id) or list(need.account.buying_centres.all())
        opportunities.opportunity_update(
            tenant,
            opportunity=opportunity,
            buying_centre=account_centres[0] if account_centres else None,
            offerings=[offerings["RTF" if profile == "manufacturing" else "DGT"]],
            stage=Stage.QUALIFIED,
            actor=manager,
        )
    initiative = Initiative.objects.select_related("plan__account").order_by("id").first()
    if initiative is not None:
        opportunity, _created = opportunities.opportunity_from_initiative(
            tenant,
            initiative=initiative,
            actor=manager,
            amount=Decimal(150) * WAN,
            expected_close=today + dt.timedelta(days=160),
        )
        account = initiative.plan.account
        account_centres = centres.get(account.pk) or list(account.buying_centres.all())
        opportunities.opportunity_update(
            tenant,
            opportunity=opportunity,
            buying_centre=account_centres[-1] if account_centres else None,
            offerings=[offerings["CMS" if profile == "manufacturing" else "DAT"]],
            stage=Stage.SOLUTION,
            actor=manager,
        )


def _opportunity(
    tenant: Tenant,
    *,
    stage: str,
    expected_close: dt.date,
    today: dt.date,
    actor: Any,
    **fields: Any,
) -> Opportunity:
    """Through the service, as a person on the pipeline page; a won or lost one is then dated back
    to its expected close (the service closes it today), with a tenant-scoped update."""
    opportunity = opportunities.opportunity_create(
        tenant, stage=stage, expected_close=expected_close, actor=actor, **fields
    )
    if stage in CLOSED_STAGES and expected_close < today:
        Opportunity.objects.filter(pk=opportunity.pk).update(closed_on=expected_close)
    return opportunity


def _figures(tenant: Tenant) -> None:
    """Share of wallet and potential of every account, through growth.metrics when it exists."""
    try:
        from growth import metrics
    except ImportError:
        return
    refresh = getattr(metrics, "account_figures_refresh", None)
    if refresh is not None:
        refresh(tenant)
