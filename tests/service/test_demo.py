"""The demo (seed_demo: service's load_demo after the other apps'): needs in every status, each
way of classification, breaches and the triage queue, threads in order, all inside the demo
tenants; and loading it again changes nothing."""

from __future__ import annotations

import io

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db.models import F, Q
from django.utils import timezone

from kam.models import Membership, Tenant
from kam.tenancy import tenant_context
from service.models import CategorySource, EntryKind, Need, NeedEntry, NeedStatus
from tests import factories

pytestmark = pytest.mark.django_db


def test_the_demo_shows_needs_of_every_status_source_and_breach_in_the_demo_tenants_only():
    # given: a tenant that is not a demo one
    outsider = factories.TenantFactory(slug="not-a-demo")
    # when
    call_command("seed_demo", "--once", stdout=io.StringIO())
    # then
    tenants = list(Tenant.objects.filter(slug__in=["huadong", "zhice"]).order_by("slug"))
    assert len(tenants) == 2
    now = timezone.now()
    for tenant in tenants:
        with tenant_context(tenant):
            needs = Need.objects.all()
            assert set(needs.values_list("status", flat=True)) == set(NeedStatus.values), tenant.slug
            sources = set(needs.exclude(category_source="").values_list("category_source", flat=True))
            assert sources == {CategorySource.RULE, CategorySource.MODEL, CategorySource.PERSON}, tenant.slug
            assert needs.filter(category_source=CategorySource.PERSON, status=NeedStatus.CLOSED).count() >= 50
            # resolved and rated; one reopened (its thread went resolved -> in progress)
            assert needs.filter(status=NeedStatus.RESOLVED, satisfaction__isnull=False).exists()
            reopened = NeedEntry.objects.filter(
                kind=EntryKind.STATUS, change__from=NeedStatus.RESOLVED, change__to=NeedStatus.IN_PROGRESS
            )
            assert reopened.count() == 1
            assert Need.objects.get(pk=reopened.get().need_id).status == NeedStatus.IN_PROGRESS
            # breached: a first response after its deadline, an open need past its resolution
            assert needs.filter(first_response_at__gt=F("first_response_due_at")).exists()
            assert needs.filter(
                status__in=["new", "triaged", "in_progress", "waiting_customer"], resolution_due_at__lt=now
            ).exists()
            # the triage queue, and a need that waits for a person
            assert needs.filter(account__isnull=True, status=NeedStatus.NEW).count() == 2
            assert needs.filter(account__isnull=False, category__isnull=True, status=NeedStatus.NEW).exists()
            # the threads happened in the past, in order, from the time received
            assert not needs.filter(Q(received_at__gt=now) | Q(first_response_at__lt=F("received_at"))).exists()
            assert not NeedEntry.objects.filter(
                Q(created_at__gt=now) | Q(created_at__lt=F("need__received_at"))
            ).exists()
            assert not needs.filter(resolved_at__lt=F("first_response_at")).exists()
            channels = set(needs.values_list("channel", flat=True))
            assert {"email", "phone", "wecom", "portal", "meeting"} <= channels
            assert NeedEntry.objects.count() > needs.count() * 2
            # everyone working on them is a member of the tenant
            members = set(Membership.objects.filter(tenant=tenant).values_list("user_id", flat=True))
            assignees = set(needs.exclude(assignee=None).values_list("assignee_id", flat=True))
            authors = set(NeedEntry.objects.exclude(author=None).values_list("author_id", flat=True))
            assert assignees and assignees | authors <= members
    with tenant_context(outsider):
        assert not Need.objects.exists()
        assert not NeedEntry.objects.exists()
    # loading service's demo again changes nothing
    huadong = tenants[0]
    with tenant_context(huadong):
        before = Need.objects.count()
    apps.get_app_config("service").load_demo(huadong, {})
    with tenant_context(huadong):
        assert Need.objects.count() == before
