"""kam.formats for texts outside the templates (issue #21, part 4): money in the tenant's
currency, instants in the tenant's time zone (the pages' zone: tests/risk/test_china_fit.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from kam.formats import format_datetime, format_money, formats_for
from kam.models import Tenant
from kam.tenancy import tenant_context

INSTANT = dt.datetime(2026, 12, 7, 1, 30, tzinfo=dt.UTC)  # 09:30 in Shanghai, 10:30 in Tokyo


def test_money_as_the_pages_write_it():
    assert format_money("525777.72", "zh-hans") == "¥52.58万"
    assert format_money("525777.72", "en") == "¥525,777.72"
    assert format_money("150000000", "zh-hans") == "¥1.50亿"
    with translation.override("zh-hans"):
        assert format_money("-525777.72") == "-¥52.58万"


def test_money_takes_the_active_tenants_currency(tenant, other_tenant):
    tenant.currency = "USD"
    tenant.save(update_fields=["currency"])
    with tenant_context(tenant):
        assert format_money("525777.72", "en") == "US$525,777.72"
        assert format_money("525777.72", "zh-hans") == "US$52.58万"
        # a text written for another tenant (formats_for), and a code without a symbol here
        with formats_for(other_tenant):
            assert format_money("1", "en") == "¥1.00"
        assert format_money("1", "en", "CHF") == "CHF 1.00"
    assert format_money("1", "en") == "¥1.00"  # no tenant: CNY


def test_an_instant_is_shown_in_the_tenants_time_zone():
    tenant = Tenant(slug="tokyo", time_zone="Asia/Tokyo")
    assert format_datetime(INSTANT, tenant) == "2026-12-07 10:30"
    assert format_datetime(INSTANT.isoformat(), tenant) == "2026-12-07 10:30"
    assert format_datetime("not a time", tenant) == "—"
    with timezone.override(dt.UTC), formats_for(tenant):
        assert format_datetime(INSTANT) == "2026-12-07 10:30"  # not the server's or the current zone


@pytest.mark.django_db
def test_the_pages_tell_the_charts_the_workspaces_currency_symbol(tenant, other_tenant, admin):
    from kam.models import Membership, Role
    from tests.conftest import login

    other_tenant.currency = "USD"
    other_tenant.save()
    Membership.objects.create(tenant=other_tenant, user=admin, role=Role.ADMIN)
    client = login(admin)
    mine = client.get(f"/t/{tenant.slug}/dashboards/").content.decode()
    theirs = client.get(f"/t/{other_tenant.slug}/dashboards/").content.decode()
    assert 'data-currency-symbol="¥"' in mine
    assert 'data-currency-symbol="US$"' in theirs
