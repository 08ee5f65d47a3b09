"""The growth demo (seed_demo: growth's load_demo after the other apps'): offerings and the
mapping of the demo orders' product lines, buying centres with decision makers and wallets, a
whitespace with every cell status, opportunities in every stage (one from a need, one from an
account plan initiative), the figures computed; all inside the demo tenants, and loading it
again changes nothing."""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum

from accounts.models import Account, Contact, Order, Tier
from growth.models import (
    OPEN_STAGES,
    BuyingCentre,
    CellStatus,
    NotApplicable,
    Offering,
    Opportunity,
    OpportunityOffering,
    ProductLineMapping,
    Source,
    Stage,
)
from growth.orders import attributed_orders
from kam.models import Tenant, User
from kam.tenancy import tenant_context, tenant_today
from service.models import Need
from teams.models import Initiative
from tests import factories

pytestmark = pytest.mark.django_db

DEMO = ["huadong", "zhice"]


@pytest.fixture
def demo() -> tuple[list[Tenant], Tenant]:
    """The demo tenants, loaded beside a tenant that is not a demo one."""
    outsider = factories.TenantFactory(slug="not-a-demo")
    call_command("seed_demo", "--once", stdout=io.StringIO())
    return list(Tenant.objects.filter(slug__in=DEMO).order_by("slug")), outsider


def cell_statuses(tenant: Tenant) -> dict[int, dict[tuple[int, int], str]]:
    """Per account, each whitespace cell's status, by DESIGN section 12's rule (precedence bought >
    pipeline > not_applicable > open), computed here from the rows: bought = an order of the cell
    in (D-730, D] (growth.orders decides the cell of an order), pipeline = an open opportunity with
    that buying centre naming that offering, not applicable = a person's mark."""
    today = tenant_today(tenant)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT a.buying_centre_id, a.offering_id FROM ("
            + attributed_orders(" AND o.order_date > %(since)s AND o.order_date <= %(today)s")
            + ") a WHERE a.buying_centre_id IS NOT NULL AND a.offering_id IS NOT NULL",
            {"tenant": tenant.pk, "since": today - dt.timedelta(days=730), "today": today},
        )
        bought = set(cursor.fetchall())
    pipeline = set(
        OpportunityOffering.objects.filter(
            opportunity__stage__in=OPEN_STAGES, opportunity__buying_centre__isnull=False
        ).values_list("opportunity__buying_centre_id", "offering_id")
    )
    marked = set(NotApplicable.objects.values_list("buying_centre_id", "offering_id"))
    offerings = list(Offering.objects.filter(is_active=True).values_list("id", flat=True))
    statuses: dict[int, dict[tuple[int, int], str]] = defaultdict(dict)
    for centre_id, account_id in BuyingCentre.objects.values_list("id", "account_id"):
        for offering_id in offerings:
            cell = (centre_id, offering_id)
            if cell in bought:
                status = CellStatus.BOUGHT
            elif cell in pipeline:
                status = CellStatus.PIPELINE
            elif cell in marked:
                status = CellStatus.NOT_APPLICABLE
            else:
                status = CellStatus.OPEN
            statuses[account_id][cell] = str(status)
    return statuses


def test_the_demo_shows_every_cell_status_and_every_stage_in_the_demo_tenants_only(demo):
    tenants, outsider = demo
    assert [tenant.slug for tenant in tenants] == DEMO
    codes = {}
    for tenant in tenants:
        with tenant_context(tenant):
            # the catalogue: about ten offerings, named in both languages, the demo orders' lines mapped
            offerings = list(Offering.objects.all())
            assert 8 <= len(offerings) <= 12, tenant.slug
            assert all(o.name_zh and o.name_en and o.name_zh != o.name_en for o in offerings)
            codes[tenant.slug] = {o.code for o in offerings}
            lines = set(Order.objects.values_list("product_line", flat=True))
            mapped = set(ProductLineMapping.objects.values_list("product_line", flat=True))
            assert lines and lines <= mapped, tenant.slug
            # buying centres on every S and A account, one primary, decision makers among its contacts
            key_accounts = set(Account.objects.filter(tier__in=[Tier.S, Tier.A]).values_list("id", flat=True))
            centres = list(BuyingCentre.objects.all())
            assert key_accounts and {c.account_id for c in centres} == key_accounts, tenant.slug
            for account_id in key_accounts:
                assert sum(c.is_primary for c in centres if c.account_id == account_id) == 1
            contacts = dict(Contact.objects.values_list("id", "account_id"))
            assert all(contacts[c.decision_maker_id] == c.account_id for c in centres)
            assert all(c.annual_spend > 0 for c in centres)
            # a whitespace with every cell status on one account, a not-applicable mark with its reason
            statuses = cell_statuses(tenant)
            complete = [a for a, cells in statuses.items() if set(cells.values()) == set(CellStatus.values)]
            assert complete, tenant.slug
            assert NotApplicable.objects.exclude(reason="").exists()
            # opportunities in every stage, closed ones closed on a day, from a need and from a plan
            opportunities = list(Opportunity.objects.all())
            assert {o.stage for o in opportunities} == set(Stage.values), tenant.slug
            assert all((o.closed_on is not None) == (o.stage in (Stage.WON, Stage.LOST)) for o in opportunities)
            assert all(o.closed_on <= tenant_today(tenant) for o in opportunities if o.closed_on)
            assert Opportunity.objects.filter(stage=Stage.LOST).exclude(lost_reason="").exists()
            from_need = Opportunity.objects.get(source=Source.NEED)
            assert from_need.need.account_id == from_need.account_id
            assert from_need.need.category.key == "new_requirement"
            from_plan = Opportunity.objects.get(source=Source.PLAN)
            assert from_plan.initiative.plan.account_id == from_plan.account_id
            assert all(OpportunityOffering.objects.filter(opportunity=o).exists() for o in opportunities)
            # nothing points outside the tenant (row-level security hides another tenant's rows)
            accounts = set(Account.objects.values_list("id", flat=True))
            centre_ids = {c.id for c in centres}
            offering_ids = {o.id for o in offerings}
            assert {o.account_id for o in opportunities} <= accounts
            assert {o.buying_centre_id for o in opportunities if o.buying_centre_id} <= centre_ids
            assert all(
                BuyingCentre.objects.get(pk=o.buying_centre_id).account_id == o.account_id
                for o in opportunities
                if o.buying_centre_id
            )
            assert set(OpportunityOffering.objects.values_list("offering_id", flat=True)) <= offering_ids
            assert set(NotApplicable.objects.values_list("offering_id", flat=True)) <= offering_ids
            assert from_need.need_id in set(Need.objects.values_list("id", flat=True))
            assert from_plan.initiative_id in set(Initiative.objects.values_list("id", flat=True))
            # orders name the buying centres by their codes, of their own account
            named = Order.objects.exclude(buying_centre="").values_list("account_id", "buying_centre").distinct()
            own = {(c.account_id, c.code) for c in centres}
            assert named and set(named) <= own
    # the two industries have their own catalogues
    assert codes["huadong"] != codes["zhice"]
    with tenant_context(outsider):
        assert not Offering.objects.exists()
        assert not BuyingCentre.objects.exists()
        assert not Opportunity.objects.exists()
    # loading growth's demo again changes nothing
    huadong = tenants[0]
    with tenant_context(huadong):
        before = [model.objects.count() for model in (Offering, BuyingCentre, Opportunity, NotApplicable)]
    apps.get_app_config("growth").load_demo(huadong, {})
    with tenant_context(huadong):
        assert [model.objects.count() for model in (Offering, BuyingCentre, Opportunity, NotApplicable)] == before


def test_the_demo_computes_share_of_wallet_and_potential(demo):
    from growth import metrics

    if not hasattr(metrics, "account_figures_refresh"):
        pytest.skip("growth.metrics.account_figures_refresh is not there yet (helper figures)")
    tenants, _outsider = demo
    for tenant in tenants:
        today = tenant_today(tenant)
        with tenant_context(tenant):
            for account in Account.objects.filter(buying_centres__isnull=False).distinct():
                wallet = BuyingCentre.objects.filter(account=account).aggregate(total=Sum("annual_spend"))["total"]
                revenue = Order.objects.filter(
                    account=account, order_date__gt=today - dt.timedelta(days=365), order_date__lte=today
                ).aggregate(total=Sum("amount"))["total"]
                assert account.wallet == wallet, account.name
                assert account.share_of_wallet is not None, account.name
                assert abs(float(account.share_of_wallet) - float(revenue or 0) / float(wallet)) < 0.0001
                assert account.potential_12m is not None and account.potential_12m >= 0
            # an account with no buying centre has no wallet, so no share of wallet
            bare = Account.objects.filter(buying_centres__isnull=True).first()
            assert bare is not None and bare.share_of_wallet is None


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_demo_whitespace_and_pipeline_pages_show_it_in_both_languages(demo, language):
    from django.test import Client
    from django.urls import reverse

    tenants, _outsider = demo
    for tenant in tenants:
        with tenant_context(tenant):
            statuses = cell_statuses(tenant)
            showcase = next(a for a, cells in statuses.items() if set(cells.values()) == set(CellStatus.values))
            titles = list(Opportunity.objects.filter(stage__in=OPEN_STAGES).values_list("title", flat=True))
        director = User.objects.get(email=f"director@{tenant.slug}.example.com")
        client = Client(HTTP_ACCEPT_LANGUAGE=language)
        client.force_login(director)
        tab = client.get(
            reverse("growth-account-whitespace", kwargs={"tenant_slug": tenant.slug, "account_id": showcase}),
            HTTP_HX_REQUEST="true",
        )
        assert tab.status_code == 200
        body = tab.content.decode()
        for status in CellStatus.values:
            assert f'data-status="{status}"' in body, (tenant.slug, status)
        pipeline = client.get(reverse("growth-pipeline", kwargs={"tenant_slug": tenant.slug}))
        assert pipeline.status_code == 200
        assert all(title in pipeline.content.decode() for title in titles), tenant.slug
