"""The channel settings pages (issue #20): administrators only; the list with its empty state;
adding a channel (the service's rules by field, a 400 and nothing saved); the routes matrix;
the write-only secret; deletion with confirmation; "send a test message" against the local
vendor receiver (messaging.sink) with the vendor's answer shown in place, and the rate-limit
wait; the delivery log (filter, escaped message); "send again"; another tenant's channels
(404); both languages. And the members page's work mobile number (DingTalk @mentions)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import pytest
from django.test import Client

from kam.models import Membership, Role
from kam.tenancy import tenant_context
from messaging import services
from messaging.models import Channel, ChannelDelivery, ChannelItem, ChannelKind, DeliveryStatus, ItemTopic
from messaging.sink import Sink

pytestmark = pytest.mark.django_db

LIST = "/t/acme/channels/"
NEW = f"{LIST}new/"
HTMX = {"HTTP_HX_REQUEST": "true"}
DING_TOKEN = "ding-token-1"
DING_SECRET = "SEC0123456789abcdef"
WECOM_KEY = "wecom-key-1"


@pytest.fixture(autouse=True)
def _local_receivers_allowed(settings) -> None:
    # The sink listens on 127.0.0.1, which production refuses.
    settings.RISK_WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.CHANNEL_VENDOR_HOSTS_ONLY = False


@pytest.fixture
def sink() -> Iterator[Sink]:
    with Sink({DING_TOKEN: DING_SECRET, WECOM_KEY: ""}) as running:
        yield running


def client_in(user, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def page_of(channel: Channel) -> str:
    return f"{LIST}{channel.pk}/"


def channels(tenant) -> list[Channel]:
    with tenant_context(tenant):
        return list(Channel.objects.filter(tenant=tenant).order_by("id"))


def deliveries(tenant) -> list[ChannelDelivery]:
    with tenant_context(tenant):
        return list(ChannelDelivery.objects.filter(tenant=tenant).order_by("id"))


def reload(channel: Channel) -> Channel:
    with tenant_context(channel.tenant):
        return Channel.objects.get(tenant=channel.tenant, pk=channel.pk)


def field_error(html: str, name: str) -> str:
    match = re.search(rf'<div class="field-error" id="id_{name}_error">(.*?)</div>', html, re.S)
    return match.group(1).strip() if match else ""


def selected(html: str, name: str) -> str:
    match = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert match, name
    chosen = re.search(r'<option value="([^"]*)" selected>', match.group(1))
    return chosen.group(1) if chosen else ""


@pytest.fixture
def ding(tenant) -> Channel:
    return services.channel_create(
        tenant,
        name="风险值班 · 钉钉群",
        kind=ChannelKind.DINGTALK_ROBOT,
        url="https://oapi.dingtalk.com/robot/send?access_token=abc",
        secret=DING_SECRET,
        alert_routes={"payment_overdue": "warning", "health_red": "critical"},
    )


@pytest.fixture
def foreign(other_tenant) -> Channel:
    return services.channel_create(
        other_tenant,
        name="Globex robot",
        kind=ChannelKind.WECOM_ROBOT,
        url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=globex-secret-key",
    )


def new_values(**changes: str) -> dict[str, str]:
    values = {
        "name": "大客户部 · 钉钉群",
        "kind": "dingtalk_robot",
        "url": "https://oapi.dingtalk.com/robot/send?access_token=tok123",
        "recipients": "",
        "secret": "SECabcdef123456",
        "language": "zh-hans",
        "route_payment_overdue": "warning",
        "route_health_red": "critical",
        "route_team_gap": "",
        "sla_breaches": "on",
        "daily_digest": "on",
        "digest_time": "09:15",
        "is_active": "on",
    }
    values.update(changes)
    return values


def make_delivery(channel: Channel, *, status: str, title: str, payload: dict | None = None) -> ChannelDelivery:
    with tenant_context(channel.tenant):
        return ChannelDelivery.objects.create(
            tenant=channel.tenant,
            channel=channel,
            topic=ItemTopic.ALERT,
            title=title,
            item_count=3,
            payload=payload or {"msgtype": "markdown", "markdown": {"title": title, "text": "body"}},
            status=status,
            attempts=8 if status == DeliveryStatus.FAILED else 1,
            response_code=200,
            response_body='{"errcode":310000,"errmsg":"sign not match"}' if status == DeliveryStatus.FAILED else "",
            error="The vendor refused the message: code 310000, sign not match"
            if status == DeliveryStatus.FAILED
            else "",
        )


# --- who may -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.DIRECTOR, Role.MANAGER, Role.MEMBER, Role.EXECUTIVE])
def test_only_administrators_reach_the_channel_pages(tenant, ding, role_users, role):
    failed = make_delivery(ding, status=DeliveryStatus.FAILED, title="old")
    client = client_in(role_users[role])
    base = page_of(ding)
    for url in (LIST, NEW, base, f"{base}edit/", f"{base}delete/", f"{base}deliveries/{failed.pk}/send-again/"):
        assert client.get(url).status_code == 403, url
    for url in (
        NEW,
        base,
        f"{base}edit/",
        f"{base}delete/",
        f"{base}test/",
        f"{base}deliveries/{failed.pk}/send-again/",
    ):
        assert client.post(url, new_values(name="x")).status_code == 403, url
    (only,) = channels(tenant)
    assert (only.name, only.secret, only.alert_routes) == (ding.name, ding.secret, ding.alert_routes)
    assert [d.status for d in deliveries(tenant)] == [DeliveryStatus.FAILED]


def test_another_tenants_channel_is_404_and_never_listed(tenant, admin, ding, foreign):
    client = client_in(admin)
    html = client.get(LIST).content.decode()
    assert ding.name in html and "Globex" not in html and "globex-secret-key" not in html
    base = page_of(foreign)
    foreign_delivery = make_delivery(foreign, status=DeliveryStatus.FAILED, title="theirs")
    own = page_of(ding)
    for url in (base, f"{base}edit/", f"{base}delete/", f"{own}deliveries/{foreign_delivery.pk}/send-again/"):
        assert client.get(url).status_code == 404, url
    for url in (
        base,
        f"{base}edit/",
        f"{base}delete/",
        f"{base}test/",
        f"{own}deliveries/{foreign_delivery.pk}/send-again/",
    ):
        assert client.post(url, new_values(name="hijacked")).status_code == 404, url
    (still,) = channels(foreign.tenant)
    assert (still.name, still.url) == ("Globex robot", foreign.url)
    assert [d.status for d in deliveries(foreign.tenant)] == [DeliveryStatus.FAILED]


def test_an_administrator_of_another_tenant_gets_404(tenant, ding, outsider):
    client = client_in(outsider)
    assert client.get(LIST).status_code == 404
    assert client.get(page_of(ding)).status_code == 404
    assert client.post(f"{page_of(ding)}test/").status_code == 404


def test_bad_ids_are_404(admin, ding):
    client = client_in(admin)
    for url in (
        f"{LIST}0/",
        f"{LIST}99999999999999999999999/",
        f"{LIST}{ding.pk}/deliveries/99999999999999999999/send-again/",
    ):
        assert client.get(url).status_code == 404, url
    assert client.get(f"{LIST}abc/").status_code == 404


# --- the list ------------------------------------------------------------------------------------------


def test_the_empty_list_explains_channels(admin):
    html = client_in(admin).get(LIST).content.decode()
    assert "No channels yet." in html
    assert "group robot" in html and "webhook" in html
    assert f'href="{NEW}"' in html


def test_the_list_shows_each_channel_with_its_target_routes_and_last_message(tenant, admin, ding):
    email = services.channel_create(
        tenant,
        name="Team mailbox",
        kind=ChannelKind.EMAIL,
        recipients=["a@acme.test", "b@acme.test", "c@acme.test"],
        language="en",
        alert_routes={},
        sla_breaches=False,
    )
    make_delivery(ding, status=DeliveryStatus.DELIVERED, title="older")
    make_delivery(ding, status=DeliveryStatus.FAILED, title="newer")
    with tenant_context(tenant):
        ChannelItem.objects.create(tenant=tenant, channel=ding, topic=ItemTopic.ALERT, data={})
    html = client_in(admin).get(LIST).content.decode()
    row = re.search(rf'<tr id="channel-{ding.pk}".*?</tr>', html, re.S).group(0)
    assert "DingTalk group robot" in row
    assert "oapi.dingtalk.com" in row and "access_token=abc" not in row  # the host, not the token
    assert "简体中文" in row
    assert "2 alert kinds" in row and "SLA breaches" in row and "Digest at 08:30" in row
    assert "badge--delivery-failed" in row and "sign not match" in row
    assert "1 waiting" in row and "1 failed" in row
    mail_row = re.search(rf'<tr id="channel-{email.pk}".*?</tr>', html, re.S).group(0)
    assert "a@acme.test, b@acme.test and 1 more" in mail_row
    assert "No alerts" in mail_row and "Nothing sent yet" in mail_row
    assert "No channels yet." not in html


def test_the_pages_render_in_chinese(admin, ding):
    client = client_in(admin, "zh-hans")
    for url in (LIST, page_of(ding), f"{page_of(ding)}edit/", NEW, f"{page_of(ding)}delete/"):
        response = client.get(url)
        html = response.content.decode()
        assert response.status_code == 200, url
        assert '<html lang="zh-hans">' in html, url
    html = client.get(page_of(ding)).content.decode()
    assert "编辑" in html and "删除" in html and ding.name in html


# --- adding --------------------------------------------------------------------------------------------


def test_a_valid_channel_is_added_with_its_routes(tenant, admin):
    response = client_in(admin).post(NEW, new_values())
    (channel,) = channels(tenant)
    assert response.status_code == 302 and response["Location"] == page_of(channel)
    assert channel.kind == ChannelKind.DINGTALK_ROBOT
    assert channel.secret == "SECabcdef123456"
    assert channel.alert_routes == {"payment_overdue": "warning", "health_red": "critical"}
    assert channel.digest_time.strftime("%H:%M") == "09:15"
    assert (channel.sla_breaches, channel.daily_digest, channel.is_active) == (True, True, True)
    assert channel.created_by == admin


def test_the_new_form_shows_each_vendors_url_form(admin):
    html = client_in(admin).get(NEW).content.decode()
    assert "https://oapi.dingtalk.com/robot/send?access_token=…" in html
    assert "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…" in html
    assert "https://open.feishu.cn/open-apis/bot/v2/hook/…" in html
    assert 'name="recipients"' in html and 'name="url"' in html
    # every routable alert kind has its row; the SLA breach has its own switch
    assert 'name="route_payment_overdue"' in html and 'name="route_sla_breach"' not in html
    assert "Warning and above" in html and "Critical only" in html


def test_an_invalid_channel_is_400_with_errors_by_field_and_nothing_saved(tenant, admin):
    client = client_in(admin)
    response = client.post(NEW, new_values(name="  ", url="https://oapi.dingtalk.com/wrong", digest_time="25:99"))
    html = response.content.decode()
    assert response.status_code == 400
    assert field_error(html, "name") == "Give the channel a name."
    assert "This is not a DingTalk group robot URL" in field_error(html, "url")
    assert field_error(html, "digest_time") == "Give a time as HH:MM."
    response = client.post(NEW, new_values(kind="email", recipients="ok@acme.test, not-an-address"))
    assert response.status_code == 400
    assert "is not an e-mail address" in field_error(response.content.decode(), "recipients")
    response = client.post(NEW, new_values(kind="fax", route_team_gap="sometimes", name="x" * 101))
    html = response.content.decode()
    assert response.status_code == 400
    assert "Choose Off or a severity from the list." in field_error(html, "route_team_gap")
    for garbage in (
        {"kind": "fax"},
        {"name": "x" * 101},
        {"language": "fr"},
        {"name": "a\x00b"},
        {"secret": "s" * 201},
    ):
        response = client.post(NEW, new_values(**garbage))
        assert response.status_code == 400, garbage
    assert channels(tenant) == []


def test_a_duplicate_name_is_refused(tenant, admin, ding):
    response = client_in(admin).post(NEW, new_values(name=ding.name))
    assert response.status_code == 400
    assert field_error(response.content.decode(), "name") == "A channel of this name exists already."
    assert channels(tenant) == [ding]


def test_a_webhook_channels_generated_secret_is_shown_once(tenant, admin):
    client = client_in(admin)
    response = client.post(
        NEW, new_values(kind="webhook", name="BI", url="https://bi.example.com/kam/channel", secret="")
    )
    (channel,) = channels(tenant)
    html = response.content.decode()
    assert response.status_code == 200
    assert channel.secret and f'value="{channel.secret}"' in html
    assert channel.secret not in client.get(page_of(channel)).content.decode()


# --- the channel page: routes, edit, delete ------------------------------------------------------------


def test_the_channel_page_shows_the_routes_matrix(admin, ding):
    html = client_in(admin).get(page_of(ding)).content.decode()
    assert selected(html, "route_payment_overdue") == "warning"
    assert selected(html, "route_health_red") == "critical"
    assert selected(html, "route_team_gap") == ""
    assert "Payment overdue" in html and "Health in the red" in html
    assert DING_SECRET not in html and ding.secret_hint in html


def test_the_routes_matrix_is_saved(admin, ding):
    values = {
        "route_team_gap": "info",
        "route_payment_overdue": "",
        "route_health_red": "warning",
        "language": "en",
        "daily_digest": "on",
        "digest_time": "07:45",
        "is_active": "on",
    }
    response = client_in(admin).post(page_of(ding), values)
    assert response.status_code == 302
    saved = reload(ding)
    assert saved.alert_routes == {"team_gap": "info", "health_red": "warning"}
    assert (saved.language, saved.sla_breaches, saved.daily_digest) == ("en", False, True)
    assert saved.digest_time.strftime("%H:%M") == "07:45"
    assert saved.secret == DING_SECRET and saved.url == ding.url


def test_invalid_routes_are_400_and_change_nothing(admin, ding):
    response = client_in(admin).post(
        page_of(ding), {"route_team_gap": "loud", "language": "en", "digest_time": "7 o'clock"}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "Choose Off or a severity from the list." in html
    assert field_error(html, "digest_time") == "Give a time as HH:MM."
    saved = reload(ding)
    assert (saved.alert_routes, saved.language) == (ding.alert_routes, ding.language)


def test_editing_keeps_the_secret_when_blank_and_shows_its_hint(admin, ding):
    client = client_in(admin)
    html = client.get(f"{page_of(ding)}edit/").content.decode()
    assert ding.secret_hint in html and DING_SECRET not in html
    assert 'name="kind"' not in html  # the kind cannot change
    values = new_values(name="Renamed", url=ding.url, secret="", kind="wecom_robot")
    response = client.post(f"{page_of(ding)}edit/", values)
    assert response.status_code == 302
    saved = reload(ding)
    assert (saved.name, saved.secret, saved.kind) == ("Renamed", DING_SECRET, ChannelKind.DINGTALK_ROBOT)
    client.post(f"{page_of(ding)}edit/", new_values(name="Renamed", url=ding.url, secret="SECnew"))
    assert reload(ding).secret == "SECnew"


def test_an_invalid_edit_is_400_and_changes_nothing(admin, ding):
    response = client_in(admin).post(
        f"{page_of(ding)}edit/", new_values(name="", url="ftp://nowhere", secret="SECother")
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert field_error(html, "name") == "Give the channel a name."
    assert field_error(html, "url") == "Enter a valid http or https URL."
    saved = reload(ding)
    assert (saved.name, saved.url, saved.secret) == (ding.name, ding.url, DING_SECRET)


def test_delete_asks_first_then_deletes_the_channel_and_its_log(tenant, admin, ding):
    make_delivery(ding, status=DeliveryStatus.DELIVERED, title="sent")
    client = client_in(admin)
    html = client.get(f"{page_of(ding)}delete/").content.decode()
    assert "delivery log" in html and ding.name in html
    assert channels(tenant) == [ding]
    response = client.post(f"{page_of(ding)}delete/", **HTMX)
    assert response.status_code == 200 and response["HX-Redirect"] == LIST
    assert channels(tenant) == [] and deliveries(tenant) == []
    assert client.get(page_of(ding)).status_code == 404


# --- send a test message ---------------------------------------------------------------------------------


def test_the_test_message_shows_the_vendors_answer(tenant, admin, sink):
    channel = services.channel_create(
        tenant, name="Ding", kind=ChannelKind.DINGTALK_ROBOT, url=sink.dingtalk_url(DING_TOKEN), secret=DING_SECRET
    )
    response = client_in(admin).post(f"{page_of(channel)}test/", **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "test-answer--delivered" in html and "HTTP 200" in html and "errcode" in html
    assert json.loads(response["HX-Trigger"]) == {"channel-tested": {}}
    (received,) = sink.accepted("dingtalk")
    (delivery,) = deliveries(tenant)
    assert (delivery.status, delivery.topic) == (DeliveryStatus.DELIVERED, ItemTopic.TEST)
    assert f"{delivery.duration_ms} ms" in html


def test_the_test_message_shows_the_vendors_refusal(tenant, admin, sink):
    channel = services.channel_create(
        tenant, name="Ding", kind=ChannelKind.DINGTALK_ROBOT, url=sink.dingtalk_url(DING_TOKEN), secret="SECwrong"
    )
    client = client_in(admin)
    html = client.post(f"{page_of(channel)}test/", **HTMX).content.decode()
    assert "test-answer--failed" in html
    assert "The vendor refused the message: code 310000, sign not match" in html
    assert sink.accepted() == []
    # the log shows it, failed, with "send again"
    log = client.get(page_of(channel)).content.decode()
    (delivery,) = deliveries(tenant)
    assert delivery.status == DeliveryStatus.FAILED
    assert f"{page_of(channel)}deliveries/{delivery.pk}/send-again/" in log
    # without htmx: a message and back to the page
    response = client.post(f"{page_of(channel)}test/")
    assert response.status_code == 302 and response["Location"] == page_of(channel)


def test_the_test_message_waits_for_the_rate_limit(tenant, admin, sink):
    channel = services.channel_create(tenant, name="WeCom", kind=ChannelKind.WECOM_ROBOT, url=sink.wecom_url(WECOM_KEY))
    with tenant_context(tenant):
        Channel.objects.filter(tenant=tenant, pk=channel.pk).update(recent_sends=[time.time() - 10] * 20)
    response = client_in(admin).post(f"{page_of(channel)}test/", **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    match = re.search(r"Try again in (\d+) seconds", html)
    assert match and 40 <= int(match.group(1)) <= 51
    assert deliveries(tenant) == [] and sink.received == []


# --- the delivery log and send again ---------------------------------------------------------------------


def test_the_log_is_filtered_and_shows_the_message_escaped(admin, ding):
    make_delivery(ding, status=DeliveryStatus.DELIVERED, title="delivered one")
    make_delivery(
        ding,
        status=DeliveryStatus.FAILED,
        title="failed one",
        payload={"msgtype": "markdown", "markdown": {"text": "<script>alert(1)</script> 恒通"}},
    )
    client = client_in(admin)
    html = client.get(page_of(ding)).content.decode()
    assert "delivered one" in html and "failed one" in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; 恒通" in html  # pretty JSON, escaped, Chinese kept
    assert '"msgtype": "markdown"' not in html and "&quot;msgtype&quot;: &quot;markdown&quot;" in html
    failed = client.get(f"{page_of(ding)}?status=failed").content.decode()
    assert "failed one" in failed and "delivered one" not in failed
    partial = client.get(f"{page_of(ding)}?status=delivered", **HTMX).content.decode()
    assert "delivered one" in partial and "failed one" not in partial and "<html" not in partial
    assert client.get(f"{page_of(ding)}?status=nonsense&page=abc").status_code == 200


def test_send_again_asks_then_queues_a_failed_message(tenant, admin, sink, django_capture_on_commit_callbacks):
    channel = services.channel_create(
        tenant, name="Ding", kind=ChannelKind.DINGTALK_ROBOT, url=sink.dingtalk_url(DING_TOKEN), secret=DING_SECRET
    )
    failed = make_delivery(
        channel,
        status=DeliveryStatus.FAILED,
        title="Payment overdue",
        payload={"msgtype": "markdown", "markdown": {"title": "Payment overdue", "text": "## Payment overdue"}},
    )
    url = f"{page_of(channel)}deliveries/{failed.pk}/send-again/"
    client = client_in(admin)
    html = client.get(url).content.decode()
    assert "Send “Payment overdue” again?" in html
    assert deliveries(tenant)[0].status == DeliveryStatus.FAILED
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, **HTMX)
    assert response.status_code == 200 and response["HX-Redirect"] == page_of(channel)
    (again,) = deliveries(tenant)
    assert again.status == DeliveryStatus.DELIVERED and again.attempts == 1
    (received,) = sink.accepted("dingtalk")
    assert received.json["markdown"]["text"] == "## Payment overdue"
    # a delivered message is not sent again
    response = client.post(url)
    assert response.status_code == 302
    assert deliveries(tenant)[0].attempts == 1 and len(sink.received) == 1


# --- members: the work mobile number -----------------------------------------------------------------------


def membership_of(tenant, user) -> Membership:
    return Membership.objects.get(tenant=tenant, user=user)


def test_the_members_page_shows_and_saves_the_mobile_number(tenant, admin, manager):
    client = client_in(admin)
    mark = membership_of(tenant, manager)
    html = client.get("/t/acme/settings/members/").content.decode()
    assert "DingTalk robots @mention the owner of an alert by this number" in html
    assert f'id="mobile-{mark.pk}"' in html
    url = f"/t/acme/settings/members/{mark.pk}/"
    response = client.post(url, {"mobile": " 13800138001 "}, **HTMX)
    assert response.status_code == 200
    assert membership_of(tenant, manager).mobile == "13800138001"
    assert 'value="13800138001"' in response.content.decode()
    assert membership_of(tenant, manager).role == Role.MANAGER
    # a blank number clears it
    client.post(url, {"mobile": ""}, **HTMX)
    assert membership_of(tenant, manager).mobile == ""


def test_an_invalid_mobile_number_is_400_with_the_message_and_changes_nothing(tenant, admin, manager):
    client = client_in(admin)
    mark = membership_of(tenant, manager)
    client.post(f"/t/acme/settings/members/{mark.pk}/", {"mobile": "13800138001"}, **HTMX)
    for bad in ("12345", "call me", "1380013800112345678901234"):
        response = client.post(f"/t/acme/settings/members/{mark.pk}/", {"mobile": bad}, **HTMX)
        assert response.status_code == 400, bad
        assert "Enter a mobile number such as 13800138000" in response.content.decode()
        assert membership_of(tenant, manager).mobile == "13800138001"


def test_only_administrators_set_mobile_numbers(tenant, admin, manager, outsider):
    mark = membership_of(tenant, manager)
    assert client_in(manager).post(f"/t/acme/settings/members/{mark.pk}/", {"mobile": "13800138009"}).status_code == 403
    assert (
        client_in(outsider).post(f"/t/acme/settings/members/{mark.pk}/", {"mobile": "13800138009"}).status_code == 404
    )
    assert membership_of(tenant, manager).mobile == ""
