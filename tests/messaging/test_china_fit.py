"""China fit (issue #21, part 4): a channel message tells amounts as the pages do, in the
channel's language and the tenant's currency, and its times in the tenant's time zone."""

from __future__ import annotations

import pytest

from kam.models import Tenant
from messaging.formats import render
from messaging.models import Channel, ChannelKind, ItemTopic

AMOUNT = "525777.72"
OPENED = "2026-12-07T01:30:00+00:00"  # 09:30 in Shanghai, 10:30 in Tokyo


def alert_item() -> dict:
    return {
        "alert_id": 1,
        "event": "opened",
        "kind": "payment_overdue",
        "severity": "warning",
        "details": {"invoices": 2, "outstanding": AMOUNT, "max_days_overdue": 45},
        "opened_at": OPENED,
        "account": {"id": 1, "name": "拖欠客户", "tier": "A"},
        "owner": None,
        "link": "https://kam.example.com/t/acme/risk/alerts/1/",
    }


def digest_item() -> dict:
    return {
        "date": "2026-12-07",
        "critical_alerts": [alert_item()],
        "critical_total": 1,
        "sla_breaches": [],
        "sla_total": 0,
        "tier_moves": [],
        "tier_total": 0,
        "renewals": [
            {"account": "续约客户", "contract": "年度框架", "due_on": "2026-12-09", "value": AMOUNT, "owner": "王经理"}
        ],
        "renewal_total": 1,
        "risk_center": "https://kam.example.com/t/acme/risk/",
        "renewals_page": "https://kam.example.com/t/acme/renewals/",
    }


@pytest.fixture
def tenant() -> Tenant:
    """The tenant a message is written for (only its name, slug, currency and zone are read)."""
    return Tenant(slug="acme", name="Acme 精工")


def text_of(language: str, tenant, topic: str, item: dict) -> str:
    channel = Channel(name="群", kind=ChannelKind.WECOM_ROBOT, language=language)
    return render(channel, tenant, topic, [item]).payload["markdown"]["content"]


@pytest.mark.parametrize(("language", "shown"), [("zh-hans", "¥52.58万"), ("en", "¥525,777.72")])
def test_an_alert_message_shows_the_amount_as_the_pages_do(tenant, language, shown):
    text = text_of(language, tenant, ItemTopic.ALERT, alert_item())
    assert shown in text and AMOUNT not in text


@pytest.mark.parametrize(("language", "shown"), [("zh-hans", "US$52.58万"), ("en", "US$525,777.72")])
def test_the_digests_alerts_and_renewal_values_are_in_the_tenants_currency(tenant, language, shown):
    tenant.currency = "USD"
    text = text_of(language, tenant, ItemTopic.DIGEST, digest_item())
    assert text.count(shown) == 2  # the alert's summary and the renewal's value
    assert "¥" not in text and AMOUNT not in text


def test_times_are_in_the_tenants_time_zone(tenant):
    tenant.time_zone = "Asia/Tokyo"
    item = alert_item()
    item["kind"], item["details"] = (
        "sla_breach",
        {"subject": "断线", "breach": "resolution", "hours_late": 3, "due": OPENED},
    )
    text = text_of("en", tenant, ItemTopic.ALERT, item)
    assert "due 2026-12-07 10:30, 3 hours late" in text  # the summary's due time
    assert "**Opened:** 2026-12-07 10:30" in text
