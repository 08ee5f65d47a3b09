"""The core of needs: classification by the seeded rules, routing to the team, the SLA, the
status machine, replies, corrections, idempotency by external_ref."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from kam.models import Membership
from kam.tenancy import tenant_context
from service import services
from service.models import Category, NeedEntry, NeedStatus
from teams.models import AccountTeam, TeamMember
from tests import factories
from tests.service.conftest import hours_ago

pytestmark = pytest.mark.django_db


def test_seeded_rules_classify_and_route_to_the_team_member_with_fewest_open_needs(
    tenant, account, manager, member, make_need
):
    with tenant_context(tenant):
        team = AccountTeam.objects.create(tenant=tenant, account=account)
        second = factories.UserFactory(email="tech2@acme.example")
        Membership.objects.create(tenant=tenant, user=second, role="member")
        for user in (member, second):
            TeamMember.objects.create(
                tenant=tenant,
                team=team,
                user=user,
                function="technical",
                level="operational",
                since=dt.date(2024, 1, 1),
            )
    first = make_need("设备故障，无法启动", account=account)
    assert (first.category.key, first.category_source, first.function) == ("technical_support", "rule", "technical")
    assert first.classification["rule"]["keywords"]
    assert first.assignee == member  # both have none open: the lower id
    assert first.status == NeedStatus.TRIAGED
    second_need = make_need("The controller shows an error and a fault light", account=account)
    assert second_need.assignee == second


def test_sla_deadlines_follow_tier_and_priority(tenant, account, make_need):
    received = hours_ago(1)
    normal = make_need("发票抬头错误", account=account, received_at=received)
    assert normal.first_response_due_at - received == dt.timedelta(hours=4)
    assert normal.resolution_due_at - received == dt.timedelta(hours=48)
    urgent = make_need("发票抬头错误", account=account, received_at=received, priority="urgent")
    assert urgent.first_response_due_at - received == dt.timedelta(hours=2)
    low = make_need("发票抬头错误", account=account, received_at=received, priority="low")
    assert low.resolution_due_at - received == dt.timedelta(hours=96)


def test_unknown_text_waits_for_a_person_and_no_account_waits_in_triage(tenant, make_need):
    need = make_need("你好", body="请回电")
    assert need.category is None and need.status == NeedStatus.NEW and need.assignee is None


def test_complaint_goes_to_the_owner(tenant, account, manager, make_need):
    need = make_need("投诉：服务态度太差", account=account)
    assert need.category.key == "complaint" and need.assignee == manager and need.function == "owner"


def test_external_ref_is_idempotent(tenant, account, make_need):
    one = make_need("交货延期", account=account, external_ref="crm-1")
    again = make_need("something else", account=account, external_ref="crm-1")
    assert again.pk == one.pk and again.subject == "交货延期"


def test_status_machine_reply_and_rating(tenant, account, manager, make_need):
    need = make_need("报价单需要更新", account=account)
    with tenant_context(tenant):
        services.need_reply(tenant, need=need, body="收到，今天回复", actor=manager)
        need.refresh_from_db()
        assert need.first_response_at is not None and need.status == NeedStatus.IN_PROGRESS
        with pytest.raises(ValidationError):
            services.need_set_status(tenant, need=need, status="closed", actor=manager)
        services.need_set_status(tenant, need=need, status="resolved", actor=manager, satisfaction=4)
        need.refresh_from_db()
        assert need.satisfaction == 4 and need.resolved_at
        services.need_set_status(tenant, need=need, status="in_progress", actor=manager)  # reopen
        need.refresh_from_db()
        assert need.resolved_at is None and need.satisfaction is None
        kinds = list(NeedEntry.objects.filter(need=need).values_list("kind", flat=True))
        assert kinds == ["message", "reply", "status", "status"]


def test_correcting_the_category_marks_it_a_person_s(tenant, account, make_need):
    need = make_need("交货延期", account=account)
    with tenant_context(tenant):
        billing = Category.objects.get(key="billing")
        services.need_set_category(tenant, need=need, category=billing)
        need.refresh_from_db()
        assert (need.category.key, need.category_source, need.function) == ("billing", "person", "finance")
        assert need.classification["person"] == {"from": "delivery", "to": "billing"}
