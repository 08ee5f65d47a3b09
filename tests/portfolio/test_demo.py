"""The portfolio demo: in 智策 a specialist with the larger revenue on an unhealthy account ranks
below one with a smaller, healthy portfolio; the demo changes allocations only (scores, health,
alerts untouched) and loading it again changes nothing."""

from __future__ import annotations

import io

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db.models import Sum

from kam.models import Tenant
from kam.tenancy import tenant_context
from portfolio import selectors
from risk.models import HealthAssessment, RiskAlert
from scoring.models import AccountScore
from teams.models import TeamMember

pytestmark = pytest.mark.django_db


def figures(tenant):
    with tenant_context(tenant):
        return (
            AccountScore.objects.aggregate(Sum("total"))["total__sum"],
            HealthAssessment.objects.aggregate(Sum("score"))["score__sum"],
            sorted(RiskAlert.objects.values_list("kind", "status", "account_id")),
            sorted(TeamMember.objects.values_list("id", "allocation")),
        )


def test_demo_rewards_the_healthy_portfolio():
    call_command("seed_demo", "--once", stdout=io.StringIO())
    tenant = Tenant.objects.get(slug="zhice")
    with tenant_context(tenant):
        people = {p.name: p for p in selectors.people(tenant)}
    unhealthy, healthy = people["刘建国"], people["黄志强"]
    assert unhealthy.revenue > healthy.revenue
    assert unhealthy.health < healthy.health
    assert unhealthy.index < healthy.index
    before = figures(tenant)
    apps.get_app_config("portfolio").load_demo(
        tenant, {"member": tenant.memberships.get(user__email__startswith="member@").user}
    )
    assert figures(tenant) == before
