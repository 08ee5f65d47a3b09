"""Channels deliver to each vendor in its own format and signature, within its rate limit,
merging and retrying, and never lose an item (DESIGN section 15). Against the local
receiver of messaging/sink.py, which checks what each vendor checks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from urllib.parse import unquote

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from kam.models import Membership
from kam.tenancy import tenant_context
from messaging import delivery, formats, routing, services
from messaging.models import ChannelDelivery, ChannelItem, ChannelKind, DeliveryStatus
from tests.factories import AccountFactory
from tests.messaging.conftest import SECRET, make_alerts, robot

pytestmark = pytest.mark.django_db

ALERT_LINK = re.compile(r"/risk/alerts/(\d+)/")


def queue(tenant, alert_ids, *, escalated=()):
    with tenant_context(tenant):
        return routing.alerts_to_channels(tenant, opened=list(alert_ids), escalated=list(escalated))


def flush(tenant, channel):
    return delivery.flush(tenant, channel.pk)


def deliveries(tenant, channel):
    with tenant_context(tenant):
        return list(ChannelDelivery.objects.filter(channel=channel).order_by("id"))


def make_due(tenant, record) -> None:
    with tenant_context(tenant):
        ChannelDelivery.objects.filter(pk=record.pk).update(next_attempt_at=record.created_at)


def text_of(received) -> str:
    body = received.json
    if received.vendor == "wecom":
        return body["markdown"]["content"]
    if received.vendor == "dingtalk":
        return body["markdown"]["text"]
    if received.vendor == "feishu":
        return json.dumps(body["card"], ensure_ascii=False)
    return json.dumps(body, ensure_ascii=False)


# --- each vendor's format and signature ---------------------------------------------------------------


def test_wecom_gets_markdown_with_the_alert_account_kind_severity_figures_owner_and_link(tenant, manager, sink):
    channel = robot(tenant, sink, ChannelKind.WECOM_ROBOT, language="en")
    account = AccountFactory(tenant=tenant, name="远航船舶重工", owner=manager, tier="S")
    [alert_id] = make_alerts(tenant, 1, account=account)
    assert queue(tenant, [alert_id]) == 1
    outcome = flush(tenant, channel)
    assert outcome.sent == 1
    [received] = sink.accepted("wecom")
    assert set(received.json) == {"msgtype", "markdown"} and received.json["msgtype"] == "markdown"
    content = received.json["markdown"]["content"]
    assert "远航船舶重工 (S)" in content
    assert "Payment overdue" in content and "Critical" in content
    assert "1 invoice unpaid, up to 45 days past due" in content
    assert manager.display_name in content
    assert f"https://kam.example.com/t/{tenant.slug}/risk/alerts/{alert_id}/" in content
    [record] = deliveries(tenant, channel)
    assert record.status == DeliveryStatus.DELIVERED and record.item_count == 1 and record.attempts == 1
    assert json.loads(record.response_body)["errcode"] == 0


def test_the_message_speaks_the_channels_language(tenant, sink):
    channel = robot(tenant, sink, ChannelKind.WECOM_ROBOT, language="zh-hans")
    make = make_alerts(tenant, 1)
    queue(tenant, make)
    flush(tenant, channel)
    content = sink.accepted("wecom")[0].json["markdown"]["content"]
    assert "严重" in content and "Critical" not in content
    english = robot(tenant, sink, ChannelKind.WECOM_ROBOT, name="English", language="en")
    queue(tenant, make_alerts(tenant, 1))
    flush(tenant, english)
    assert "Critical" in sink.accepted("wecom")[-1].json["markdown"]["content"]


def test_dingtalk_is_signed_and_mentions_the_owner_by_mobile(tenant, manager, sink):
    Membership.objects.filter(tenant=tenant, user=manager).update(mobile="13800138001")
    channel = robot(tenant, sink, ChannelKind.DINGTALK_ROBOT, language="en")
    account = AccountFactory(tenant=tenant, owner=manager)
    queue(tenant, make_alerts(tenant, 1, account=account))
    assert flush(tenant, channel).sent == 1
    [received] = sink.accepted("dingtalk")
    # The signature, checked here independently of the sink: urlencoded base64 HMAC-SHA256.
    timestamp = received.query["timestamp"]
    expected = base64.b64encode(
        hmac.new(SECRET.encode(), f"{timestamp}\n{SECRET}".encode(), hashlib.sha256).digest()
    ).decode()
    assert received.query["sign"] == expected
    assert set(received.json) == {"msgtype", "markdown", "at"}
    assert received.json["at"] == {"atMobiles": ["13800138001"], "isAtAll": False}
    assert "@13800138001" in received.json["markdown"]["text"]
    assert received.json["markdown"]["title"].startswith("KAM · Critical")


def test_an_owner_without_a_mobile_is_named_not_mentioned(tenant, manager, sink):
    channel = robot(tenant, sink, ChannelKind.DINGTALK_ROBOT, language="en")
    queue(tenant, make_alerts(tenant, 1, account=AccountFactory(tenant=tenant, owner=manager)))
    flush(tenant, channel)
    [received] = sink.accepted("dingtalk")
    assert received.json["at"]["atMobiles"] == []
    assert manager.display_name in received.json["markdown"]["text"]


def test_feishu_gets_a_signed_interactive_card(tenant, sink):
    channel = robot(tenant, sink, ChannelKind.FEISHU_ROBOT, language="en")
    [alert_id] = make_alerts(tenant, 1)
    queue(tenant, [alert_id])
    assert flush(tenant, channel).sent == 1
    [received] = sink.accepted("feishu")
    body = received.json
    assert body["msg_type"] == "interactive"
    timestamp = body["timestamp"]
    expected = base64.b64encode(hmac.new(f"{timestamp}\n{SECRET}".encode(), b"", hashlib.sha256).digest()).decode()
    assert body["sign"] == expected
    card = body["card"]
    assert card["header"]["template"] == "red"
    assert card["header"]["title"]["tag"] == "plain_text"
    button = card["elements"][-1]["actions"][0]
    assert button["url"].endswith(f"/risk/alerts/{alert_id}/")


def test_a_webhook_channel_is_signed_like_the_webhooks(tenant, sink):
    channel = robot(tenant, sink, ChannelKind.WEBHOOK)
    [alert_id] = make_alerts(tenant, 1)
    queue(tenant, [alert_id])
    assert flush(tenant, channel).sent == 1
    [received] = sink.accepted("webhook")
    assert received.json["event"] == "channel.alert"
    assert received.json["items"][0]["alert_id"] == alert_id
    assert received.json["tenant"] == tenant.slug


def test_an_email_channel_sends_one_message_to_its_recipients(tenant, outbound):
    channel = services.channel_create(
        tenant,
        name="Team mailbox",
        kind=ChannelKind.EMAIL,
        recipients="kam@example.com; boss@example.com",
        alert_routes={"payment_overdue": "warning"},
        language="en",
    )
    queue(tenant, make_alerts(tenant, 2))
    assert flush(tenant, channel).sent == 1
    [message] = mail.outbox
    assert message.to == ["kam@example.com", "boss@example.com"]
    assert message.subject == "KAM · 2 alerts"


# --- routes ------------------------------------------------------------------------------------------


def test_routes_take_the_kinds_at_or_above_their_minimum_severity(tenant, sink):
    channel = robot(
        tenant, sink, ChannelKind.WECOM_ROBOT, alert_routes={"payment_overdue": "critical"}, sla_breaches=False
    )
    warning = make_alerts(tenant, 1, severity="warning")
    critical = make_alerts(tenant, 1, severity="critical")
    other_kind = make_alerts(tenant, 1, kind="health_red")
    breach = make_alerts(tenant, 1, kind="sla_breach")
    assert queue(tenant, warning + critical + other_kind + breach) == 1
    with tenant_context(tenant):
        assert list(ChannelItem.objects.filter(channel=channel).values_list("alert_id", flat=True)) == critical
    channel = services.channel_update(tenant, channel=channel, sla_breaches=True)
    assert queue(tenant, breach) == 1


def test_a_tenants_alerts_never_reach_another_tenants_channel(tenant, other_tenant, sink):
    mine = robot(tenant, sink, ChannelKind.WECOM_ROBOT)
    theirs = services.channel_create(
        other_tenant,
        name="Theirs",
        kind=ChannelKind.WECOM_ROBOT,
        url=sink.wecom_url("wx-key"),
        alert_routes={"payment_overdue": "info"},
    )
    alert_ids = make_alerts(tenant, 3)
    queue(tenant, alert_ids)
    with tenant_context(other_tenant):
        assert not ChannelItem.objects.exists()
    assert delivery.flush(other_tenant, theirs.pk).sent == 0
    # Another tenant's channel id does nothing in this tenant.
    assert delivery.flush(tenant, theirs.pk).sent == 0
    flush(tenant, mine)
    assert len(sink.accepted()) == 1


def test_an_alert_evaluation_queues_with_its_own_transaction(tenant, sink):
    """The items are written in the evaluation's transaction: rolled back with it."""
    from django.db import transaction

    channel = robot(tenant, sink, ChannelKind.WECOM_ROBOT)
    alert_ids = make_alerts(tenant, 2)

    def evaluation() -> None:
        with transaction.atomic():
            queue(tenant, alert_ids)
            raise RuntimeError("the evaluation failed")

    with pytest.raises(RuntimeError):
        evaluation()
    with tenant_context(tenant):
        assert not ChannelItem.objects.filter(channel=channel).exists()


def test_the_risk_run_tells_the_channels_of_the_alerts_it_opens(tenant, sink, policy):
    import datetime as dt
    from decimal import Decimal

    from tests.factories import InvoiceFactory
    from tests.risk.conftest import D, run

    channel = robot(tenant, sink, ChannelKind.WECOM_ROBOT)
    account = AccountFactory(tenant=tenant, name="逾期客户")
    InvoiceFactory(
        tenant=tenant,
        account=account,
        issued_on=D - dt.timedelta(days=120),
        due_on=D - dt.timedelta(days=90),
        amount=Decimal("5000"),
    )
    run(tenant)
    with tenant_context(tenant):
        kinds = set(ChannelItem.objects.filter(channel=channel).values_list("data__kind", flat=True))
    assert "payment_overdue" in kinds


# --- failures, retries, nothing lost -----------------------------------------------------------------


def test_a_wrong_secret_is_refused_as_the_vendor_would_and_the_message_waits_for_the_fix(tenant, sink):
    channel = robot(tenant, sink, ChannelKind.DINGTALK_ROBOT, secret="SECwrong")
    queue(tenant, make_alerts(tenant, 2))
    outcome = flush(tenant, channel)
    assert outcome.sent == 0 and outcome.failed == 1
    [record] = deliveries(tenant, channel)
    assert record.status == DeliveryStatus.PENDING and record.next_attempt_at is not None
    assert "310000" in record.error and "sign not match" in record.error
    assert sink.received[-1].answer["errcode"] == 310000 and not sink.accepted()
    # The administrator corrects the secret: the waiting message goes at once, both alerts in it.
    channel = services.channel_update(tenant, channel=channel, secret=SECRET)
    assert flush(tenant, channel).sent == 1
    [record] = deliveries(tenant, channel)
    assert record.status == DeliveryStatus.DELIVERED and record.attempts == 2 and record.item_count == 2


def test_a_vendor_error_code_is_a_failure_with_its_message(tenant, sink):
    channel = robot(tenant, sink, ChannelKind.WECOM_ROBOT)
    sink.fail_next(1, how="vendor_error")
    queue(tenant, make_alerts(tenant, 1))
    assert flush(tenant, channel).failed == 1
    [record] = deliveries(tenant, channel)
    assert record.response_code == 200 and record.status == DeliveryStatus.PENDING
    assert record.error.startswith("The vendor refused the message: code 45009")


def test_a_receiver_that_hangs_costs_one_attempt_within_the_deadline(tenant, sink):
    import time

    channel = robot(tenant, sink, ChannelKind.FEISHU_ROBOT)
    sink.fail_next(1, how="hang", seconds=5)
    queue(tenant, make_alerts(tenant, 1))
    started = time.monotonic()
    assert flush(tenant, channel).failed == 1
    assert time.monotonic() - started < 4
    [record] = deliveries(tenant, channel)
    assert record.status == DeliveryStatus.PENDING and record.error
    make_due(tenant, record)
    assert flush(tenant, channel).sent == 1


def test_retries_back_off_and_give_up_after_the_last_attempt(tenant, sink):
    channel = robot(tenant, sink, ChannelKind.WECOM_ROBOT)
    sink.fail_next(delivery.MAX_ATTEMPTS, how="http500")
    queue(tenant, make_alerts(tenant, 1))
    waits = []
    for _attempt in range(delivery.MAX_ATTEMPTS):
        flush(tenant, channel)
        [record] = deliveries(tenant, channel)
        if record.next_attempt_at:
            waits.append((record.next_attempt_at - record.last_attempt_at).total_seconds())
            make_due(tenant, record)
    assert record.status == DeliveryStatus.FAILED and record.attempts == delivery.MAX_ATTEMPTS
    assert record.error == "HTTP 500"
    assert waits == sorted(waits) and waits[0] < 40 and waits[-1] > 1000
    # Nothing lost: sent again by hand, it goes.
    assert services.delivery_send_again(tenant, record=record)
    assert flush(tenant, channel).sent == 1


def test_a_later_message_waits_behind_a_failing_one(tenant, sink):
    channel = robot(tenant, sink, ChannelKind.WECOM_ROBOT)
    sink.fail_next(1, how="http500")
    queue(tenant, make_alerts(tenant, 1))
    flush(tenant, channel)
    queue(tenant, make_alerts(tenant, 1))
    assert flush(tenant, channel).sent == 0  # the first's retry is not due: the second waits
    with tenant_context(tenant):
        assert ChannelItem.objects.filter(channel=channel, delivery__isnull=True).count() == 1


# --- rate limits and merging -------------------------------------------------------------------------


def test_a_thousand_alerts_at_once_reach_dingtalk_merged_within_its_limit_and_none_lost(tenant, sink, clock):
    channel = robot(tenant, sink, ChannelKind.DINGTALK_ROBOT, language="en")
    alert_ids = make_alerts(tenant, 1000)
    assert queue(tenant, alert_ids) == 1000
    minutes = 0
    while True:
        outcome = flush(tenant, channel)
        with tenant_context(tenant):
            waiting = ChannelItem.objects.filter(channel=channel, delivery__isnull=True).count()
        if not waiting and not outcome.wait and not outcome.more:
            break
        assert outcome.sent <= 20
        clock.advance(60)
        minutes += 1
        assert minutes < 10
    assert not sink.violations
    told = [int(found) for received in sink.accepted("dingtalk") for found in ALERT_LINK.findall(text_of(received))]
    assert sorted(told) == sorted(alert_ids)  # every alert exactly once
    records = deliveries(tenant, channel)
    assert sum(record.item_count for record in records) == 1000
    assert all(record.status == DeliveryStatus.DELIVERED for record in records)
    assert len(records) <= 40 and max(record.item_count for record in records) == formats.MAX_MERGED
    # No window of 60 s held more than 20 messages.
    times = sorted(received.at for received in sink.accepted("dingtalk"))
    assert all(later - earlier >= 60 for earlier, later in zip(times, times[20:], strict=False))


def test_alerts_arriving_while_the_window_is_full_are_merged_into_the_next_message(tenant, sink, clock):
    channel = robot(tenant, sink, ChannelKind.DINGTALK_ROBOT)
    for _ in range(20):
        queue(tenant, make_alerts(tenant, 1))
        flush(tenant, channel)
    assert len(sink.accepted()) == 20
    late = make_alerts(tenant, 5)
    for alert_id in late:
        queue(tenant, [alert_id])
        outcome = flush(tenant, channel)
        assert outcome.sent == 0 and 0 < outcome.wait <= 60
    clock.advance(61)
    assert flush(tenant, channel).sent == 1
    last = sink.accepted()[-1]
    assert sorted(int(i) for i in ALERT_LINK.findall(text_of(last))) == sorted(late)
    assert "同时有 5 条预警" in last.json["markdown"]["text"]  # the channel speaks the tenant's Chinese


def test_wecom_messages_stay_within_its_4096_bytes(tenant, sink, clock):
    channel = robot(tenant, sink, ChannelKind.WECOM_ROBOT, language="zh-hans")
    alert_ids = make_alerts(tenant, 60)
    queue(tenant, alert_ids)
    for _ in range(5):
        flush(tenant, channel)
        clock.advance(61)
    accepted = sink.accepted("wecom")
    assert all(len(r.json["markdown"]["content"].encode()) <= 4096 for r in accepted)
    told = [int(i) for r in accepted for i in ALERT_LINK.findall(text_of(r))]
    assert sorted(told) == sorted(alert_ids)


def test_feishu_keeps_five_a_second(tenant, sink, clock):
    channel = robot(tenant, sink, ChannelKind.FEISHU_ROBOT)
    for _ in range(7):
        assert services.channel_test(tenant, channel=channel).wait == 0 if len(sink.received) < 5 else True
    waits = [services.channel_test(tenant, channel=channel).wait for _ in range(2)]
    assert all(0 < wait <= 1 for wait in waits)
    assert len(sink.accepted("feishu")) == 5 and not sink.violations


# --- the test message --------------------------------------------------------------------------------


def test_the_test_message_returns_the_vendors_answer(tenant, admin, sink):
    channel = robot(tenant, sink, ChannelKind.DINGTALK_ROBOT, language="en")
    outcome = services.channel_test(tenant, channel=channel, actor=admin)
    assert outcome.delivery.status == DeliveryStatus.DELIVERED
    assert json.loads(outcome.delivery.response_body) == {"errcode": 0, "errmsg": "ok"}
    assert admin.display_name in sink.accepted()[0].json["markdown"]["text"]
    wrong = services.channel_update(tenant, channel=channel, secret="SECwrong")
    failed = services.channel_test(tenant, channel=wrong, actor=admin).delivery
    assert failed.status == DeliveryStatus.FAILED and "310000" in failed.error  # a test is tried once


# --- production: the vendors' hosts only -------------------------------------------------------------


def test_production_refuses_a_robot_url_on_another_host(tenant, sink, settings):
    channel = robot(tenant, sink, ChannelKind.DINGTALK_ROBOT)
    queue(tenant, make_alerts(tenant, 1))
    settings.CHANNEL_VENDOR_HOSTS_ONLY = True
    with pytest.raises(ValidationError) as refused:
        robot(tenant, sink, ChannelKind.DINGTALK_ROBOT, name="Elsewhere")
    assert "oapi.dingtalk.com" in refused.value.message_dict["url"][0]
    # A channel saved before the rule sends nothing to the other host; its message waits.
    assert flush(tenant, channel).failed == 1
    assert not sink.received
    [record] = deliveries(tenant, channel)
    assert "not allowed" in record.error and record.status == DeliveryStatus.PENDING
    ok = services.channel_create(
        tenant,
        name="Real robot",
        kind=ChannelKind.DINGTALK_ROBOT,
        url="https://oapi.dingtalk.com/robot/send?access_token=abc",
        secret=SECRET,
    )
    assert ok.pk


@pytest.mark.parametrize(
    ("kind", "url", "message"),
    [
        (ChannelKind.WECOM_ROBOT, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send", "looks like"),
        (ChannelKind.DINGTALK_ROBOT, "https://oapi.dingtalk.com/robot/send?token=x", "looks like"),
        (ChannelKind.FEISHU_ROBOT, "https://open.feishu.cn/open-apis/bot/v2/hook/", "looks like"),
        (ChannelKind.WEBHOOK, "ftp://example.com/x", "valid http or https URL"),
        (ChannelKind.WEBHOOK, "", "Give the robot"),
    ],
)
def test_a_url_not_of_its_kind_is_refused_with_a_clear_message(tenant, kind, url, message):
    with pytest.raises(ValidationError) as refused:
        services.channel_create(tenant, name="x", kind=kind, url=url)
    assert message in refused.value.message_dict["url"][0]
    with tenant_context(tenant):
        assert not ChannelItem.objects.exists()


def test_routes_and_recipients_are_checked(tenant):
    with pytest.raises(ValidationError) as refused:
        services.channel_create(
            tenant,
            name="",
            kind=ChannelKind.EMAIL,
            recipients="not-an-address",
            alert_routes={"sla_breach": "warning", "health_red": "loud"},
        )
    errors = refused.value.message_dict
    assert set(errors) == {"name", "recipients", "alert_routes"}
    assert any("not a severity" in e for e in errors["alert_routes"])
    assert any("SLA breaches have their own switch" in e for e in errors["alert_routes"])


def test_the_audit_log_never_holds_the_secret(tenant, sink):
    from kam.models import AuditLog

    robot(tenant, sink, ChannelKind.DINGTALK_ROBOT)
    with tenant_context(tenant):
        logged = json.dumps(list(AuditLog.objects.values_list("changes", flat=True)))
    assert SECRET not in logged and unquote(SECRET) not in logged
