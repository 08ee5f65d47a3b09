"""The channels API (issue #20): CRUD through messaging.services, each refused input a 400 with
its field that changes nothing, the secret never read back (but a webhook's generated one, at
creation), administrators only, another tenant's channels and deliveries 404 and never
listed, a test message against the local receiver (delivered; refused with the vendor's
error code; 429 when the robot's rate window is full), and "send again" of a failed one."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import Client

from kam.models import AuditLog
from kam.tenancy import tenant_context
from messaging import services
from messaging.models import Channel, ChannelDelivery, ChannelKind, DeliveryStatus, ItemTopic
from tests.conftest import bearer, login
from tests.messaging.conftest import SECRET, robot

pytestmark = pytest.mark.django_db

API = "/api/v1/channels/"
LOG = "/api/v1/channel-deliveries/"
DINGTALK_URL = "https://oapi.dingtalk.com/robot/send?access_token=6f1c0a"
WECOM_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6"


def api(token: str) -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE="en", **bearer(token))


def as_json(client: Client, method: str, path: str, data: Any = None) -> Any:
    if data is None:
        return getattr(client, method)(path)
    return getattr(client, method)(path, data, content_type="application/json")


def read(tenant, pk: int) -> Channel:
    with tenant_context(tenant):
        return Channel.objects.get(pk=pk)


def count(tenant) -> int:
    with tenant_context(tenant):
        return Channel.objects.filter(tenant=tenant).count()


def audited(tenant, action: str) -> int:
    with tenant_context(tenant):
        return AuditLog.objects.filter(tenant=tenant, action=action, object_type="messaging.channel").count()


def email_channel(tenant, **fields: Any) -> Channel:
    values = {"name": "风险邮箱", "kind": ChannelKind.EMAIL, "recipients": ["risk@acme.test"], **fields}
    return services.channel_create(tenant, **values)


def failed_delivery(tenant, channel: Channel, **fields: Any) -> ChannelDelivery:
    with tenant_context(tenant):
        return ChannelDelivery.objects.create(
            tenant=tenant,
            channel=channel,
            topic=ItemTopic.ALERT,
            title="2 new alerts",
            payload={"subject": "2 new alerts", "text": "…"},
            status=DeliveryStatus.FAILED,
            attempts=8,
            error="SMTPServerDisconnected: gone",
            **fields,
        )


# --- CRUD ---------------------------------------------------------------------------------------------


def test_create_read_change_and_delete_a_robot(tenant, write_token):
    client = api(write_token)
    created = as_json(
        client,
        "post",
        API,
        {
            "name": "大客户部钉钉群",
            "kind": "dingtalk_robot",
            "url": DINGTALK_URL,
            "secret": "SEC0123456789",
            "language": "en",
            "alert_routes": {"payment_overdue": "warning", "concentration_single": "critical"},
            "sla_breaches": False,
            "digest_time": "07:45",
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    # a robot's secret is the vendor's: never read back, not even at creation
    assert body["secret"] is None and body["secret_hint"] == "SEC012…"
    assert (body["kind"], body["url"], body["recipients"], body["language"]) == (
        "dingtalk_robot",
        DINGTALK_URL,
        [],
        "en",
    )
    assert body["alert_routes"] == {"payment_overdue": "warning", "concentration_single": "critical"}
    assert (body["sla_breaches"], body["daily_digest"], body["digest_time"], body["is_active"]) == (
        False,
        True,
        "07:45",
        True,
    )
    assert (body["waiting_count"], body["last_status"], body["last_at"]) == (0, None, None)
    stored = read(tenant, body["id"])
    assert stored.secret == "SEC0123456789" and stored.digest_time.strftime("%H:%M") == "07:45"
    assert audited(tenant, "create") == 1

    shown = client.get(f"{API}{body['id']}/")
    assert shown.status_code == 200 and "secret" not in shown.json()
    assert shown.json() == {key: value for key, value in body.items() if key != "secret"}
    assert [row["id"] for row in client.get(API).json()["results"]] == [body["id"]]

    # PATCH: the fields given; a blank secret keeps the secret
    changed = as_json(
        client,
        "patch",
        f"{API}{body['id']}/",
        {"alert_routes": {"health_red": "info"}, "secret": "", "digest_time": "18:00:00", "is_active": False},
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["alert_routes"] == {"health_red": "info"} and changed.json()["digest_time"] == "18:00"
    assert changed.json()["is_active"] is False and "secret" not in changed.json()
    stored = read(tenant, body["id"])
    assert stored.secret == "SEC0123456789" and stored.name == "大客户部钉钉群"
    # a new secret is taken, and still not shown
    rotated = as_json(client, "patch", f"{API}{body['id']}/", {"secret": "SECnew"})
    assert rotated.status_code == 200 and rotated.json()["secret_hint"] == "SECnew…"
    assert read(tenant, body["id"]).secret == "SECnew"

    # PUT: name and kind required, the kind the same
    replaced = as_json(
        client,
        "put",
        f"{API}{body['id']}/",
        {"name": "钉钉群", "kind": "dingtalk_robot", "url": DINGTALK_URL + "b", "language": "zh-hans"},
    )
    assert replaced.status_code == 200, replaced.content
    assert (replaced.json()["name"], replaced.json()["url"], replaced.json()["language"]) == (
        "钉钉群",
        DINGTALK_URL + "b",
        "zh-hans",
    )
    assert as_json(client, "put", f"{API}{body['id']}/", {"url": DINGTALK_URL}).status_code == 400

    assert client.delete(f"{API}{body['id']}/").status_code == 204
    assert count(tenant) == 0 and audited(tenant, "delete") == 1
    assert client.get(f"{API}{body['id']}/").status_code == 404


def test_an_email_channel_takes_recipients_and_no_url(tenant, write_token):
    client = api(write_token)
    created = as_json(
        client,
        "post",
        API,
        {"name": "Risk mailbox", "kind": "email", "recipients": ["Risk@Acme.test", "ops@acme.test", "risk@acme.test"]},
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["recipients"] == ["risk@acme.test", "ops@acme.test"] and body["url"] == ""
    assert body["secret"] is None and body["secret_hint"] == ""
    # the defaults: Chinese, SLA breaches and the digest at 08:30
    assert (body["language"], body["sla_breaches"], body["daily_digest"], body["digest_time"]) == (
        "zh-hans",
        True,
        True,
        "08:30",
    )


def test_a_webhook_channel_secret_is_shown_once_at_creation(tenant, write_token):
    client = api(write_token)
    created = as_json(
        client, "post", API, {"name": "BI", "kind": "webhook", "url": "https://bi.example.com/kam/channel"}
    )
    assert created.status_code == 201, created.content
    secret = created.json()["secret"]
    assert secret.startswith("whsec_") and created.json()["secret_hint"] == secret[:6] + "…"
    assert read(tenant, created.json()["id"]).secret == secret
    assert "secret" not in client.get(f"{API}{created.json()['id']}/").json()
    assert all("secret" not in row for row in client.get(API).json()["results"])
    changed = as_json(client, "patch", f"{API}{created.json()['id']}/", {"name": "BI 系统"})
    assert changed.status_code == 200 and "secret" not in changed.json()
    # a secret of the integrator's own is answered back once too (it is the webhook's)
    own = as_json(
        client,
        "post",
        API,
        {"name": "CRM", "kind": "webhook", "url": "https://crm.example.com/in", "secret": "whsec_mine-123"},
    )
    assert own.status_code == 201 and own.json()["secret"] == "whsec_mine-123"


# --- refused input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"name": "x", "kind": "wecom_robot", "url": DINGTALK_URL},
            "url",
            "This is not a WeCom group robot URL; it looks like https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…",
        ),
        ({"name": "x", "kind": "dingtalk_robot", "url": "ftp://oapi.dingtalk.com/robot/send"}, "url", None),
        ({"name": "x", "kind": "feishu_robot"}, "url", "Give the robot's or the receiver's URL."),
        (
            {"name": "x", "kind": "wecom_robot", "url": WECOM_URL, "alert_routes": {"sla_breach": "info"}},
            "alert_routes",
            "“sla_breach” is not an alert kind (SLA breaches have their own switch).",
        ),
        (
            {"name": "x", "kind": "wecom_robot", "url": WECOM_URL, "alert_routes": {"nope": "info"}},
            "alert_routes",
            "“nope” is not an alert kind (SLA breaches have their own switch).",
        ),
        (
            {"name": "x", "kind": "wecom_robot", "url": WECOM_URL, "alert_routes": {"health_red": "urgent"}},
            "alert_routes",
            "“urgent” is not a severity; use one of info, warning, critical.",
        ),
        ({"name": "x", "kind": "wecom_robot", "url": WECOM_URL, "alert_routes": ["health_red"]}, "alert_routes", None),
        ({"name": "x", "kind": "email", "recipients": []}, "recipients", "Give at least one e-mail address."),
        ({"name": "x", "kind": "email"}, "recipients", "Give at least one e-mail address."),
        (
            {"name": "x", "kind": "email", "recipients": ["risk@acme.test", "not an address"]},
            "recipients",
            "“not an address” is not an e-mail address.",
        ),
        ({"name": "x", "kind": "sms", "url": WECOM_URL}, "kind", None),
        ({"kind": "wecom_robot", "url": WECOM_URL}, "name", None),
        ({"name": "  ", "kind": "wecom_robot", "url": WECOM_URL}, "name", None),
        ({"name": "x", "kind": "wecom_robot", "url": WECOM_URL, "language": "fr"}, "language", None),
        ({"name": "x", "kind": "wecom_robot", "url": WECOM_URL, "digest_time": "25:00"}, "digest_time", None),
        ({"name": "x", "kind": "wecom_robot", "url": WECOM_URL, "secret": "s" * 201}, "secret", None),
    ],
)
def test_refused_input_is_a_400_with_its_field_and_creates_nothing(tenant, write_token, data, field, message):
    response = as_json(api(write_token), "post", API, data)
    assert response.status_code == 400, response.content
    fields = response.json()["error"]["fields"]
    assert field in fields, fields
    if message is not None:
        assert fields[field] == [message]
    assert count(tenant) == 0 and audited(tenant, "create") == 0


def test_every_wrong_field_is_answered_at_once(tenant, write_token):
    response = as_json(
        api(write_token),
        "post",
        API,
        {"name": "x", "kind": "wecom_robot", "url": "nope", "alert_routes": {"nope": "info"}},
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"url", "alert_routes"}


def test_a_refused_change_changes_nothing(tenant, write_token):
    channel = services.channel_create(
        tenant, name="企业微信群", kind=ChannelKind.WECOM_ROBOT, url=WECOM_URL, alert_routes={"health_red": "warning"}
    )
    email_channel(tenant)
    client = api(write_token)
    path = f"{API}{channel.pk}/"
    for data, field, message in [
        ({"kind": "dingtalk_robot"}, "kind", "The kind of a channel cannot change; make a new channel."),
        ({"kind": "email", "recipients": ["a@acme.test"]}, "kind", None),
        ({"url": DINGTALK_URL, "name": "new"}, "url", None),
        ({"alert_routes": {"health_red": "urgent"}, "name": "new"}, "alert_routes", None),
        ({"alert_routes": {"sla_breach": "info"}}, "alert_routes", None),
        ({"name": "风险邮箱"}, "name", "A channel of this name exists already."),
        ({"digest_time": "8h30"}, "digest_time", None),
    ]:
        response = as_json(client, "patch", path, data)
        assert response.status_code == 400, (data, response.content)
        fields = response.json()["error"]["fields"]
        assert field in fields, (data, fields)
        if message is not None:
            assert fields[field] == [message]
        stored = read(tenant, channel.pk)
        assert (stored.name, stored.kind, stored.url, stored.alert_routes) == (
            "企业微信群",
            "wecom_robot",
            WECOM_URL,
            {"health_red": "warning"},
        ), data
    # the same kind again is no change of kind
    same = as_json(client, "patch", path, {"kind": "wecom_robot", "name": "企业微信大群"})
    assert same.status_code == 200 and read(tenant, channel.pk).name == "企业微信大群"
    assert audited(tenant, "update") == 1


# --- who may ------------------------------------------------------------------------------------------


def test_administrators_only(tenant, admin, director, manager, member, executive, write_token, read_token):
    channel = email_channel(tenant)
    record = failed_delivery(tenant, channel)
    for user in (director, manager, member, executive):
        client = login(user)
        for method, path, data in [
            ("get", API, None),
            ("get", f"{API}{channel.pk}/", None),
            ("post", API, {"name": "x", "kind": "email", "recipients": ["a@acme.test"]}),
            ("patch", f"{API}{channel.pk}/", {"name": "x"}),
            ("delete", f"{API}{channel.pk}/", None),
            ("post", f"{API}{channel.pk}/test/", None),
            ("get", LOG, None),
            ("get", f"{LOG}{record.pk}/", None),
            ("post", f"{LOG}{record.pk}/send-again/", None),
        ]:
            response = as_json(client, method, path, data)
            assert response.status_code == 403, (user.email, method, path, response.status_code)
    assert login(admin).get(API).status_code == 200
    assert login(admin).get(f"{LOG}{record.pk}/").status_code == 200
    # a read token reads, a write token writes
    reader = api(read_token)
    assert reader.get(API).status_code == 200 and reader.get(LOG).status_code == 200
    assert as_json(reader, "patch", f"{API}{channel.pk}/", {"name": "x"}).status_code == 403
    assert reader.post(f"{API}{channel.pk}/test/").status_code == 403
    assert reader.post(f"{LOG}{record.pk}/send-again/").status_code == 403
    assert reader.delete(f"{API}{channel.pk}/").status_code == 403
    assert read(tenant, channel.pk).name == "风险邮箱"
    with tenant_context(tenant):
        assert ChannelDelivery.objects.get(pk=record.pk).status == DeliveryStatus.FAILED
    assert mail.outbox == []
    assert api(write_token).post(f"{API}{channel.pk}/test/").status_code == 200


def test_another_tenants_channels_and_deliveries_are_404_and_never_listed(
    tenant, admin, write_token, outsider, outsider_token, other_tenant
):
    channel = email_channel(tenant)
    record = failed_delivery(tenant, channel)
    email_channel(other_tenant, name="Globex mailbox")
    for client in (api(outsider_token), login(outsider)):
        for method, path, data in [
            ("get", f"{API}{channel.pk}/", None),
            ("patch", f"{API}{channel.pk}/", {"name": "taken"}),
            ("put", f"{API}{channel.pk}/", {"name": "taken", "kind": "email", "recipients": ["x@globex.test"]}),
            ("delete", f"{API}{channel.pk}/", None),
            ("post", f"{API}{channel.pk}/test/", None),
            ("get", f"{LOG}{record.pk}/", None),
            ("post", f"{LOG}{record.pk}/send-again/", None),
        ]:
            response = as_json(client, method, path, data)
            assert response.status_code == 404, (method, path, response.status_code)
        assert [row["name"] for row in client.get(API).json()["results"]] == ["Globex mailbox"]
        assert client.get(LOG).json()["results"] == []
        assert client.get(LOG, {"channel": channel.pk}).json()["results"] == []
    stored = read(tenant, channel.pk)
    assert stored.name == "风险邮箱"
    with tenant_context(tenant):
        assert ChannelDelivery.objects.get(pk=record.pk).status == DeliveryStatus.FAILED
        assert ChannelDelivery.objects.filter(tenant=tenant).count() == 1
    assert mail.outbox == []


# --- test messages and the delivery log ---------------------------------------------------------------


def test_a_test_message_is_delivered_and_its_answer_shown(tenant, write_token, sink):
    channel = robot(tenant, sink, ChannelKind.DINGTALK_ROBOT)
    response = api(write_token).post(f"{API}{channel.pk}/test/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["channel"], body["topic"], body["status"], body["attempts"]) == (
        channel.pk,
        "test",
        "delivered",
        1,
    )
    assert body["response_code"] == 200 and '"errcode":0' in body["response_body"].replace(" ", "")
    assert body["error"] == "" and body["duration_ms"] is not None and body["delivered_at"]
    [received] = sink.accepted("dingtalk")
    assert received.json["msgtype"] == "markdown"
    # the channel now shows its last message
    shown = api(write_token).get(f"{API}{channel.pk}/").json()
    assert (shown["last_status"], shown["waiting_count"]) == ("delivered", 0) and shown["last_at"]


def test_a_vendor_refusal_is_a_200_with_the_vendors_error(tenant, write_token, sink):
    channel = robot(tenant, sink, ChannelKind.DINGTALK_ROBOT, secret="SECwrong")
    response = api(write_token).post(f"{API}{channel.pk}/test/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["attempts"], body["next_attempt_at"]) == ("failed", 1, None)
    assert "310000" in body["error"] and "sign not match" in body["error"]
    assert sink.accepted() == [] and len(sink.received) == 1


def test_a_full_rate_window_is_a_429_with_retry_after(tenant, write_token, sink, settings):
    settings.CHANNEL_RATE_LIMITS = {ChannelKind.FEISHU_ROBOT: ((1, 60),)}
    channel = robot(tenant, sink, ChannelKind.FEISHU_ROBOT)
    client = api(write_token)
    assert client.post(f"{API}{channel.pk}/test/").json()["status"] == "delivered"
    refused = client.post(f"{API}{channel.pk}/test/")
    assert refused.status_code == 429, refused.content
    body = refused.json()
    assert 55 <= body["retry_after"] <= 60 and refused["Retry-After"] == str(body["retry_after"])
    assert body["detail"] == f"The robot takes no more messages for now: try again in {body['retry_after']} s."
    assert body["error"]["code"] == "rate_limited" and body["error"]["message"] == body["detail"]
    # nothing was made or sent for the refused one
    assert len(sink.received) == 1
    with tenant_context(tenant):
        assert ChannelDelivery.objects.filter(channel=channel).count() == 1


def test_the_delivery_log_filters_and_sends_a_failed_one_again(
    tenant, write_token, sink, django_capture_on_commit_callbacks
):
    wrong = robot(tenant, sink, ChannelKind.DINGTALK_ROBOT, secret="SECwrong")
    good = robot(tenant, sink, ChannelKind.WECOM_ROBOT)
    client = api(write_token)
    failed = client.post(f"{API}{wrong.pk}/test/").json()
    delivered = client.post(f"{API}{good.pk}/test/").json()
    assert (failed["status"], delivered["status"]) == ("failed", "delivered")

    def ids(**query: Any) -> list[int]:
        response = client.get(LOG, query)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids() == [delivered["id"], failed["id"]]
    assert ids(status="failed") == [failed["id"]]
    assert ids(channel=good.pk) == [delivered["id"]]
    assert ids(channel=good.pk, status="failed") == []
    assert ids(topic="alert") == []
    for bad in ({"status": "lost"}, {"channel": "x"}, {"channel": "1.5"}):
        assert client.get(LOG, bad).status_code == 400, bad
    shown = client.get(f"{LOG}{failed['id']}/").json()
    assert shown == failed and shown["payload"]["msgtype"] == "markdown" and shown["item_count"] == 1

    # a delivered one is not sent again
    refused = client.post(f"{LOG}{delivered['id']}/send-again/")
    assert refused.status_code == 409
    assert refused.json()["error"]["message"] == "Only a failed message can be sent again; this one is delivered."

    # the secret corrected, the failed one goes back in the queue and out
    assert as_json(client, "patch", f"{API}{wrong.pk}/", {"secret": SECRET}).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(f"{LOG}{failed['id']}/send-again/")
    assert again.status_code == 200, again.content
    assert (again.json()["status"], again.json()["attempts"], again.json()["error"]) == ("pending", 0, "")
    sent = client.get(f"{LOG}{failed['id']}/").json()
    assert (sent["status"], sent["attempts"]) == ("delivered", 1)
    assert len(sink.accepted("dingtalk")) == 1
    # and once delivered, not again
    assert client.post(f"{LOG}{failed['id']}/send-again/").status_code == 409


def test_an_email_test_goes_to_the_recipients(tenant, write_token):
    channel = email_channel(tenant, language="en")
    response = api(write_token).post(f"{API}{channel.pk}/test/")
    assert response.status_code == 200 and response.json()["status"] == "delivered"
    [message] = mail.outbox
    assert message.to == ["risk@acme.test"]
