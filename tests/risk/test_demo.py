"""The demo (seed_demo's load_demo of accounts, scoring, teams and risk) shows at least one
alert of each family the issue names, in both demo industries."""

from __future__ import annotations

import pytest
from django.apps import apps

from kam import services as kam_services
from kam.models import Role
from kam.tenancy import tenant_context
from risk.models import ConcentrationSnapshot, ContingencyPlan, RiskAlert, RiskRun

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("industry", ["manufacturing", "consulting"])
def test_the_demo_shows_each_family_of_alerts(industry):
    # given: a demo tenant as seed_demo makes it
    tenant = kam_services.tenant_create(slug=f"demo-{industry}", name=f"演示 {industry}", industry_profile=industry)
    people = {}
    for role in Role.values:
        user = kam_services.user_get_or_create(
            email=f"{role}@{industry}.example.com", password="x" * 12, full_name=role
        )
        kam_services.membership_create(tenant=tenant, user=user, role=role)
        people[role] = user
    # when
    for label in ("accounts", "scoring", "teams", "risk"):
        apps.get_app_config(label).load_demo(tenant, people)
    # then
    with tenant_context(tenant):
        open_kinds = set(RiskAlert.objects.exclude(status="resolved").values_list("kind", flat=True))
        runs = list(RiskRun.objects.values_list("status", flat=True))
        snapshots = ConcentrationSnapshot.objects.count()
        plan = ContingencyPlan.objects.get(trigger_kinds=[])
        planned = RiskAlert.objects.get(kind="concentration_single", account=plan.account, status="open")
    assert {"concentration_single", "payment_overdue", "purchase_overdue", "team_gap", "health_red"} <= open_kinds
    assert {"key_contact_left", "contract_expiring", "review_needed"} <= open_kinds
    assert runs == ["done"] * 9
    assert snapshots == 9
    assert planned.details["has_contingency_plan"] is True
