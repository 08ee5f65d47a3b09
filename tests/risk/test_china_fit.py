"""China fit (issue #21, part 4): the amounts, figures and times of alert texts read as the
pages show them — ¥52.58万 in Chinese, ¥525,777.72 in English, never a raw 525777.72 — in
the tenant's currency and time zone; the alert's details stay raw numbers."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone, translation

from kam.formats import formats_for
from kam.models import Membership, Role, Tenant
from kam.tenancy import tenant_context
from risk.models import RiskAlert
from risk.notifications import alert_summary, send_alert_emails
from risk.webhooks import alert_payload
from tests.factories import AccountFactory, UserFactory

AMOUNT = "525777.72"
CHINESE, ENGLISH = "¥52.58万", "¥525,777.72"
PAYMENT = {"invoices": 2, "outstanding": AMOUNT, "max_days_overdue": 45}
# 01:30 UTC: 09:30 in Shanghai (the server's zone), 10:30 in Tokyo.
DUE = "2026-12-07T01:30:00+00:00"


def payment_alert(tenant, **fields) -> RiskAlert:
    now = timezone.now()
    with tenant_context(tenant):
        account = AccountFactory(tenant=tenant, name="拖欠客户", owner=fields.pop("owner", None))
        return RiskAlert.objects.create(
            tenant=tenant,
            kind="payment_overdue",
            severity="warning",
            account=account,
            dedupe_key=f"payment_overdue:{account.pk}",
            details=dict(PAYMENT),
            opened_at=fields.pop("opened_at", now),
            updated_at=now,
        )


@pytest.mark.parametrize(("language", "shown"), [("zh-hans", CHINESE), ("en", ENGLISH)])
def test_an_overdue_payment_shows_its_amount_as_the_pages_do(language, shown):
    with translation.override(language):
        text = alert_summary("payment_overdue", PAYMENT)
    assert shown in text
    assert AMOUNT not in text


def test_a_hundred_million_reads_in_yi_in_chinese():
    with translation.override("zh-hans"):
        assert "¥1.50亿" in alert_summary("payment_overdue", {**PAYMENT, "outstanding": "150000000"})


def test_the_other_figures_read_as_the_pages_show_them():
    """HHI whole and grouped (1,523), a usual interval without needless zeros (47 days), a
    score with two decimals (35.50), shares as percentages."""
    assert alert_summary("concentration_hhi", {"hhi": 1523.4, "threshold": 1500}) == "HHI 1,523 (line 1,500)."
    assert "the usual interval is 47 days" in alert_summary(
        "purchase_overdue",
        {"days_since_last_order": 90, "purchase_interval_days": 47.0, "expected_next_purchase": "2026-05-01"},
    )
    assert alert_summary("health_red", {"score": 35.5}) == "Health score 35.50, in the red band."
    assert "12.5%" in alert_summary("concentration_single", {"share": 0.125, "threshold": 0.1})
    summary = alert_summary(
        "diversification_behind",
        {"line": "hhi", "actual": 2600, "expected": 2100.4, "target": 1500, "baseline": 3000},
    )
    assert "2,600" in summary and "2,100" in summary and "1,500" in summary and "3,000" in summary


def test_the_tenants_currency_is_the_symbol(tenant):
    tenant.currency = "USD"
    tenant.save(update_fields=["currency"])
    with tenant_context(tenant):
        with translation.override("zh-hans"):
            assert "US$52.58万" in alert_summary("payment_overdue", PAYMENT)
        with translation.override("en"):
            assert "US$525,777.72" in alert_summary("payment_overdue", PAYMENT)


def test_an_sla_due_time_is_in_the_tenants_time_zone():
    details = {"subject": "断线", "breach": "first_response", "hours_late": 2, "due": DUE}
    with formats_for(Tenant(slug="tokyo", time_zone="Asia/Tokyo")):
        assert "due 2026-12-07 10:30, 2 hours late" in alert_summary("sla_breach", details)


def test_the_alert_email_shows_amounts_and_times_as_the_tenant_reads_them(tenant):
    tenant.time_zone = "Asia/Tokyo"
    tenant.save(update_fields=["time_zone"])
    owner = UserFactory(email="owner@acme.test")
    Membership.objects.create(tenant=tenant, user=owner, role=Role.MANAGER)
    alert = payment_alert(tenant, owner=owner, opened_at=dt.datetime(2026, 12, 7, 1, 30, tzinfo=dt.UTC))
    with translation.override("zh-hans"), tenant_context(tenant):
        assert send_alert_emails(tenant, alert_ids=[alert.pk], event="opened") == 1
    body = mail.outbox[0].body
    assert CHINESE in body and AMOUNT not in body
    assert "2026-12-07 10:30" in body  # opened, in Tokyo


@pytest.mark.parametrize(("language", "shown"), [("zh-hans", CHINESE), ("en", ENGLISH)])
def test_a_webhooks_summary_shows_the_amount_and_its_details_stay_raw(tenant, language, shown):
    alert = payment_alert(tenant)
    with translation.override(language), tenant_context(tenant):
        payload = alert_payload(RiskAlert.objects.get(pk=alert.pk))
    assert shown in payload["summary"] and AMOUNT not in payload["summary"]
    assert payload["details"]["outstanding"] == AMOUNT


def test_the_pages_show_times_in_the_tenants_time_zone(tenant, admin, client_for):
    """The request runs in the tenant's zone (kam.middleware): the notifications page's times."""
    from risk.models import Notification

    tenant.time_zone = "Asia/Tokyo"
    tenant.save(update_fields=["time_zone"])
    with tenant_context(tenant):
        note = Notification.objects.create(tenant=tenant, user=admin, kind="alert.opened", title="到期提醒")
        Notification.objects.filter(pk=note.pk).update(created_at=dt.datetime(2026, 12, 7, 1, 30, tzinfo=dt.UTC))
    html = client_for(admin).get(f"/t/{tenant.slug}/risk/notifications/").content.decode()
    assert "2026-12-07 10:30" in html  # not 09:30 (Shanghai, the server's zone)
