"""A complete tenant for the cross-tenant suites: people of every role, a write token, and
one object of every kind a URL can name, all hanging off one account so that nested URLs
(an account's plan's action) resolve. Every name a person reads carries a marker, so that
a page or a response of another tenant can be searched for it.

The registries below map a URL keyword (or a viewset's model) to the object it names. A
route with a keyword that is in none of them fails the isolation sweep, which then says
what to add here.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.files.base import ContentFile
from django.db import models
from django.utils import timezone

from accounts.models import (
    Account,
    Contact,
    Contract,
    Event,
    ImportJob,
    ImportKind,
    Interaction,
    Invoice,
    Order,
    Payment,
)
from growth.models import BuyingCentre, NotApplicable, Offering, Opportunity, OpportunityOffering, ProductLineMapping
from kam import services as kam_services
from kam.models import IndustryProfile, Membership, Role, Tenant, User
from kam.tenancy import tenant_context
from messaging.models import Channel, ChannelDelivery, ChannelKind, DeliveryStatus, ItemTopic
from renewals.models import Renewal
from risk import services as risk_services
from risk.models import (
    AlertKind,
    AlternativeMarket,
    ConcentrationSnapshot,
    ContingencyKind,
    ContingencyPlan,
    DiversificationTarget,
    HealthAssessment,
    Notification,
    RiskAlert,
    RiskRun,
    Severity,
    WebhookDelivery,
    WebhookEndpoint,
)
from scoring import services as scoring_services
from scoring.models import AccountScore, Rating, Scorecard, ScoreRun, TierOverride, TierOverrideRequest
from service import services as service_services
from service.models import Category, KeywordRule, Need, NeedEntry
from teams.models import AccountPlan, AccountTeam, CounterpartLink, Initiative, PlanAction, StaffingRule, TeamMember
from tests.factories import (
    AccountFactory,
    ContactFactory,
    ContractFactory,
    EventFactory,
    InteractionFactory,
    InvoiceFactory,
    OrderFactory,
    PaymentFactory,
    UserFactory,
)
from tests.teams.factories import (
    AccountPlanFactory,
    AccountTeamFactory,
    CounterpartLinkFactory,
    InitiativeFactory,
    PlanActionFactory,
    TeamMemberFactory,
)

AS_OF = dt.date(2026, 6, 30)

# URL keyword -> the world's object it names, whatever app serves the route.
KWARG_OBJECTS: dict[str, str] = {
    "account_id": "account",
    "need_id": "need",
    "category_id": "need_category",
    "entry_id": "need_entry",
    "contact_id": "contact",
    "order_id": "order",
    "invoice_id": "invoice",
    "payment_id": "payment",
    "interaction_id": "interaction",
    "event_id": "event",
    "contract_id": "contract",
    "job_id": "import_job",
    "membership_id": "membership",
    "token_id": "api_token",
    "scorecard_id": "scorecard",
    "rating_id": "rating",
    "override_id": "tier_override",
    "request_id": "tier_override_request",
    "score_id": "account_score",
    "team_id": "team",
    "member_id": "team_member",
    "link_id": "counterpart_link",
    "rule_id": "staffing_rule",
    "initiative_id": "initiative",
    "action_id": "plan_action",
    "alert_id": "alert",
    "notification_id": "notification",
    "endpoint_id": "webhook_endpoint",
    "webhook_id": "webhook_endpoint",
    "delivery_id": "webhook_delivery",
    "assessment_id": "health_assessment",
    "snapshot_id": "concentration_snapshot",
    "contingency_plan_id": "contingency_plan",
    "offering_id": "offering",
    "mapping_id": "product_line_mapping",
    "centre_id": "buying_centre",
    "opportunity_id": "opportunity",
    "renewal_id": "renewal",
    "channel_id": "channel",
}
# Keywords whose meaning depends on the app that serves the route (its view's top package).
APP_KWARG_OBJECTS: dict[tuple[str, str], str] = {
    ("teams", "plan_id"): "account_plan",
    ("service", "rule_id"): "keyword_rule",
    ("risk", "plan_id"): "contingency_plan",
    ("scoring", "run_id"): "score_run",
    ("risk", "run_id"): "risk_run",
    ("risk", "target_id"): "diversification_target",
    ("risk", "market_id"): "alternative_market",
    ("portfolio", "user_id"): "portfolio_person",
    ("messaging", "delivery_id"): "channel_delivery",
}


# Keywords that are not ids, by (app, keyword): every value the sweep should try.
def dashboard_part_keys() -> list[str]:
    from dashboards.parts import specs_of

    return [spec.key for board in ("executive", "mine") for spec in specs_of(board)]


VALUE_KEYWORDS: dict[tuple[str, str], Callable[[], list[str]]] = {
    ("dashboards", "key"): dashboard_part_keys,
}
# A router's {pk}: the model of the viewset's queryset.
MODEL_OBJECTS: dict[type[models.Model], str] = {
    Account: "account",
    Contact: "contact",
    Order: "order",
    Invoice: "invoice",
    Payment: "payment",
    Interaction: "interaction",
    Event: "event",
    Contract: "contract",
    ImportJob: "import_job",
    Scorecard: "scorecard",
    ScoreRun: "score_run",
    TierOverrideRequest: "tier_override_request",
    AccountTeam: "team",
    TeamMember: "team_member",
    CounterpartLink: "counterpart_link",
    AccountPlan: "account_plan",
    Initiative: "initiative",
    PlanAction: "plan_action",
    StaffingRule: "staffing_rule",
    RiskAlert: "alert",
    RiskRun: "risk_run",
    ContingencyPlan: "contingency_plan",
    DiversificationTarget: "diversification_target",
    AlternativeMarket: "alternative_market",
    WebhookEndpoint: "webhook_endpoint",
    WebhookDelivery: "webhook_delivery",
    ConcentrationSnapshot: "concentration_snapshot",
    HealthAssessment: "health_assessment",
    Notification: "notification",
    Need: "need",
    NeedEntry: "need_entry",
    Category: "need_category",
    KeywordRule: "keyword_rule",
    Offering: "offering",
    ProductLineMapping: "product_line_mapping",
    BuyingCentre: "buying_centre",
    Opportunity: "opportunity",
    Renewal: "renewal",
    Channel: "channel",
    ChannelDelivery: "channel_delivery",
}


@dataclass
class World:
    """One tenant's people, token and objects (``objects[name]``, named as in the registries)."""

    tenant: Tenant
    people: dict[str, User]
    token: str
    marker: str
    objects: dict[str, models.Model] = field(default_factory=dict)


def _people(tenant: Tenant, marker: str) -> dict[str, User]:
    people = {}
    for role in Role.values:
        user = UserFactory(email=f"{role}@{tenant.slug}.test", full_name=f"{marker} {role}")
        Membership.objects.create(tenant=tenant, user=user, role=role)
        people[role] = user
    return people


def build_world(slug: str, marker: str) -> World:
    """A tenant made as `create_tenant` makes one (default scorecard, staffing rules, risk
    policy), with one of everything, each carrying ``marker`` in what people read."""
    tenant = kam_services.tenant_create(
        slug=slug, name=f"{marker} 供应商", industry_profile=IndustryProfile.MANUFACTURING
    )
    people = _people(tenant, marker)
    token, raw = kam_services.api_token_create(tenant=tenant, name=f"{marker} token", scope="write")
    world = World(tenant=tenant, people=people, token=raw, marker=marker)
    objects = world.objects
    admin, manager = people[Role.ADMIN], people[Role.MANAGER]
    objects["membership"] = Membership.objects.get(tenant=tenant, user=people[Role.MEMBER])
    objects["api_token"] = token
    objects["portfolio_person"] = manager  # the owner of the world's accounts: a portfolio

    account = AccountFactory(tenant=tenant, name=f"{marker} 客户集团", owner=manager, region=marker)
    objects["account"] = account
    objects["child_account"] = AccountFactory(tenant=tenant, name=f"{marker} 子公司", parent=account, owner=manager)
    objects["contact"] = ContactFactory(tenant=tenant, account=account, name=f"{marker} 联系人")
    objects["order"] = OrderFactory(
        tenant=tenant, account=account, product_line=marker, external_ref=f"{marker}-PO-1", order_date=AS_OF
    )
    objects["invoice"] = InvoiceFactory(
        tenant=tenant,
        account=account,
        number=f"{marker}-INV-1",
        issued_on=AS_OF - dt.timedelta(days=90),
        due_on=AS_OF - dt.timedelta(days=60),
    )
    objects["payment"] = PaymentFactory(
        tenant=tenant, invoice=objects["invoice"], paid_on=AS_OF - dt.timedelta(days=80), reference=f"{marker}-PAY-1"
    )
    objects["interaction"] = InteractionFactory(tenant=tenant, account=account, summary=f"{marker} 拜访", user=manager)
    objects["event"] = EventFactory(tenant=tenant, account=account, note=f"{marker} 事件")
    # with a document, so that its download route has something to serve to A
    objects["contract"] = ContractFactory(
        tenant=tenant,
        account=account,
        title=f"{marker} 框架协议",
        document=ContentFile(b"%PDF-1.7\n%%EOF\n", name="document.pdf"),
        document_name=f"{marker} 合同.pdf",
        document_size=15,
        document_type="application/pdf",
    )

    with tenant_context(tenant):
        objects["import_job"] = ImportJob.objects.create(
            tenant=tenant, kind=ImportKind.ORDERS, file_name=f"{marker}.csv", created_by=admin
        )
    _teams(world)
    _scoring(world)
    _risk(world)
    _service(world)
    _growth(world)
    _renewals(world)
    _messaging(world)
    return world


def _messaging(world: World) -> None:
    """An e-mail channel (a test message to it goes to the test mail outbox, never the network)
    and a failed delivery of it, so that "send again" has something to send."""
    tenant, objects, marker = world.tenant, world.objects, world.marker
    with tenant_context(tenant):
        channel = Channel.objects.create(
            tenant=tenant,
            name=f"{marker} 渠道",
            kind=ChannelKind.EMAIL,
            recipients=[f"kam@{tenant.slug}.test"],
            alert_routes={"payment_overdue": "warning"},
            created_by=world.people[Role.ADMIN],
        )
        objects["channel"] = channel
        objects["channel_delivery"] = ChannelDelivery.objects.create(
            tenant=tenant,
            channel=channel,
            topic=ItemTopic.ALERT,
            title=f"{marker} 预警",
            payload={"subject": f"{marker} 预警", "text": marker},
            status=DeliveryStatus.FAILED,
            attempts=8,
            error=f"{marker} refused",
        )


def _renewals(world: World) -> None:
    tenant, objects, marker = world.tenant, world.objects, world.marker
    contract = objects["contract"]
    # The contract's save may have opened its renewal already (renewals.apps, once committed).
    with tenant_context(tenant):
        objects["renewal"], _created = Renewal.objects.update_or_create(
            contract=contract,
            defaults={
                "tenant": tenant,
                "account": objects["account"],
                "owner": world.people[Role.MANAGER],
                "due_on": contract.end_on - dt.timedelta(days=contract.notice_days),
                "opened_on": AS_OF,
                "note": f"{marker} 续约",
            },
        )


def _growth(world: World) -> None:
    tenant, objects, marker = world.tenant, world.objects, world.marker
    account = objects["account"]
    with tenant_context(tenant):
        offering = Offering.objects.create(
            tenant=tenant, code=f"OFF-{marker}"[:40], name_zh=f"{marker} 方案", name_en=f"{marker} solution"
        )
        other = Offering.objects.create(
            tenant=tenant, code="OTHER", name_zh=f"{marker} 服务", name_en=f"{marker} service"
        )
        objects["offering"] = offering
        objects["product_line_mapping"] = ProductLineMapping.objects.create(
            tenant=tenant, product_line=f"{marker} line", offering=offering
        )
        centre = BuyingCentre.objects.create(
            tenant=tenant,
            account=account,
            code="BC1",
            name=f"{marker} 采购中心",
            decision_maker=objects["contact"],
            annual_spend=1_000_000,
            is_primary=True,
        )
        objects["buying_centre"] = centre
        NotApplicable.objects.create(
            tenant=tenant,
            buying_centre=centre,
            offering=other,
            reason=f"{marker} 不适用",
            set_by=world.people[Role.ADMIN],
        )
        opportunity = Opportunity.objects.create(
            tenant=tenant,
            account=account,
            buying_centre=centre,
            title=f"{marker} 商机",
            amount=200_000,
            expected_close=AS_OF + dt.timedelta(days=60),
            owner=world.people[Role.MANAGER],
        )
        OpportunityOffering.objects.create(tenant=tenant, opportunity=opportunity, offering=offering)
        objects["opportunity"] = opportunity


def _service(world: World) -> None:
    tenant, objects, marker = world.tenant, world.objects, world.marker
    account, manager = objects["account"], world.people[Role.MANAGER]
    with tenant_context(tenant):
        need, _created = service_services.need_create(
            tenant,
            subject=f"{marker} 设备故障",
            body=f"{marker} 无法启动",
            account=account,
            contact=objects["contact"],
            external_ref=f"{marker}-NEED-1",
            actor=manager,
        )
        objects["need"] = need
        objects["need_entry"] = service_services.need_reply(tenant, need=need, body=f"{marker} 已收到", actor=manager)
        objects["need_category"] = Category.objects.get(key="technical_support")
        objects["keyword_rule"] = KeywordRule.objects.filter(category=objects["need_category"]).order_by("id").first()


def _teams(world: World) -> None:
    tenant, objects, marker = world.tenant, world.objects, world.marker
    account = objects["account"]
    team = AccountTeamFactory(tenant=tenant, account=account, lead=world.people[Role.MANAGER])
    objects["team"] = team
    objects["team_member"] = TeamMemberFactory(tenant=tenant, team=team, user=world.people[Role.MEMBER])
    objects["counterpart_link"] = CounterpartLinkFactory(
        tenant=tenant, member=objects["team_member"], contact=objects["contact"]
    )
    with tenant_context(tenant):
        objects["staffing_rule"] = StaffingRule.objects.filter(tenant=tenant).order_by("id").first()
    plan = AccountPlanFactory(tenant=tenant, account=account, title=f"{marker} 客户计划")
    objects["account_plan"] = plan
    objects["initiative"] = InitiativeFactory(tenant=tenant, plan=plan, title=f"{marker} 联合实验室")
    objects["plan_action"] = PlanActionFactory(
        tenant=tenant, plan=plan, title=f"{marker} 行动", owner=world.people[Role.MEMBER]
    )


def _scoring(world: World) -> None:
    tenant, objects, marker = world.tenant, world.objects, world.marker
    account, director = objects["account"], world.people[Role.DIRECTOR]
    run = scoring_services.score_run_create(tenant, as_of=AS_OF)
    objects["score_run"] = scoring_services.score_run_execute(tenant, run=run)
    with tenant_context(tenant):
        objects["scorecard"] = Scorecard.objects.filter(tenant=tenant).order_by("id").first()
        objects["account_score"] = AccountScore.objects.filter(account=account).first()
        criterion = objects["scorecard"].criteria.filter(kind="rating").first()
        if criterion is not None:
            objects["rating"] = Rating.objects.create(
                tenant=tenant, account=account, criterion=criterion.key, value=3, comment=marker, rated_by=director
            )
        objects["tier_override"] = TierOverride.objects.create(
            tenant=tenant, account=account, tier="B", reason=f"{marker} 调整", set_by=director
        )
        objects["tier_override_request"] = TierOverrideRequest.objects.create(
            tenant=tenant, account=account, tier="A", reason=f"{marker} 申请", requested_by=world.people[Role.MANAGER]
        )


def _risk(world: World) -> None:
    tenant, objects, marker = world.tenant, world.objects, world.marker
    account, admin = objects["account"], world.people[Role.ADMIN]
    run = risk_services.risk_run_create(tenant, as_of=AS_OF)
    objects["risk_run"] = risk_services.risk_run_execute(tenant, run=run)
    now = timezone.now()
    with tenant_context(tenant):
        objects["concentration_snapshot"] = ConcentrationSnapshot.objects.get(as_of=AS_OF)
        objects["health_assessment"] = HealthAssessment.objects.get(account=account, as_of=AS_OF)
        objects["alert"] = RiskAlert.objects.create(
            tenant=tenant,
            kind=AlertKind.REVIEW_NEEDED,
            severity=Severity.INFO,
            account=account,
            dedupe_key=f"review_needed:{account.pk}:{marker}",
            details={"note": marker},
            opened_at=now,
            updated_at=now,
        )
        objects["notification"] = Notification.objects.create(
            tenant=tenant, user=admin, kind="alert", alert=objects["alert"], title=f"{marker} 预警", body=marker
        )
        objects["contingency_plan"] = ContingencyPlan.objects.create(
            tenant=tenant,
            account=account,
            kind=ContingencyKind.SUDDEN_LOSS,
            title=f"{marker} 应急预案",
            actions=marker,
            owner=admin,
        )
        objects["diversification_target"] = DiversificationTarget.objects.create(
            tenant=tenant,
            line="top1",
            target_value="0.1500",
            target_date=AS_OF + dt.timedelta(days=365),
            baseline_value="0.3000",
            baseline_date=AS_OF,
            owner=admin,
            note=marker,
        )
        objects["alternative_market"] = AlternativeMarket.objects.create(
            tenant=tenant,
            name=f"{marker} 替代市场",
            industry=account.industry or "化工",
            target_revenue_12m="1000000.00",
            target_date=AS_OF + dt.timedelta(days=365),
            owner=admin,
            note=marker,
        )
        endpoint = WebhookEndpoint.objects.create(
            tenant=tenant,
            url=f"https://hooks.{tenant.slug}.example.com/kam",
            description=f"{marker} ERP",
            events=["alert.opened"],
            secret=uuid.uuid4().hex,
            created_by=admin,
        )
        objects["webhook_endpoint"] = endpoint
        objects["webhook_delivery"] = WebhookDelivery.objects.create(
            tenant=tenant, endpoint=endpoint, event="alert.opened", event_id=uuid.uuid4(), payload={"note": marker}
        )
