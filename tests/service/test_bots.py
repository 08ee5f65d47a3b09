"""Needs by chat bots: WeCom, DingTalk and Feishu callbacks, signed and encrypted here from
each vendor's documented formula (not with the code under test), through the real URL,
middleware and CSRF checks included."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import struct
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.test import Client
from django.urls import reverse

from kam.models import Tenant
from kam.tenancy import tenant_context
from service.models import Channel, InboundBot, Need, NeedStatus
from tests import factories

pytestmark = pytest.mark.django_db

WECOM_TOKEN = "QDG6eK"
# 43 characters: base64 of 32 bytes without its "="
WECOM_AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")
CORP_ID = "wx5823bf96d3bd56c7"
DINGTALK_SECRET = "SECdemo-app-secret-0123456789"
FEISHU_ENCRYPT_KEY = "kudryavka-encrypt-key"
FEISHU_TOKEN = "v-token-42"


@pytest.fixture
def client() -> Client:
    # The callbacks carry no CSRF token; their refusals and notes in English.
    return Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")


def make_bot(tenant: Tenant, kind: str, **fields: Any) -> InboundBot:
    defaults = {
        "wecom": {"token": WECOM_TOKEN, "aes_key": WECOM_AES_KEY, "receive_id": CORP_ID},
        "dingtalk": {"secret": DINGTALK_SECRET},
        "feishu": {"secret": FEISHU_ENCRYPT_KEY, "token": FEISHU_TOKEN},
    }[kind]
    with tenant_context(tenant):
        return InboundBot.objects.create(tenant=tenant, kind=kind, name=f"{kind} bot", **{**defaults, **fields})


def url(tenant: Tenant, bot: InboundBot, kind: str | None = None) -> str:
    return reverse("service-bot-callback", kwargs={"slug": tenant.slug, "kind": kind or bot.kind, "bot_id": bot.pk})


def needs_of(tenant: Tenant) -> list[Need]:
    with tenant_context(tenant):
        return list(Need.objects.select_related("account", "contact").order_by("id"))


def error_of(response: Any) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


# --- WeCom: SHA-1 over the sorted [token, timestamp, nonce, encrypt]; AES-256-CBC, PKCS#7 to 32 ---


def wecom_encrypt(message: bytes, receive_id: str = CORP_ID, aes_key: str = WECOM_AES_KEY) -> str:
    key = base64.b64decode(aes_key + "=")
    plain = os.urandom(16) + struct.pack(">I", len(message)) + message + receive_id.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def wecom_query(encrypted: str, *, timestamp: int | None = None, nonce: str = "1372623149", token: str = WECOM_TOKEN):
    timestamp_text = str(int(time.time()) if timestamp is None else timestamp)
    signature = hashlib.sha1("".join(sorted([token, timestamp_text, nonce, encrypted])).encode()).hexdigest()
    return {"msg_signature": signature, "timestamp": timestamp_text, "nonce": nonce}


def wecom_text(content: str, *, user: str = "zhangsan", msg_id: str = "1234567890123456") -> bytes:
    return (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>"
    ).encode()


def wecom_post(client: Client, tenant: Tenant, bot: InboundBot, message: bytes, **query: Any) -> Any:
    encrypted = wecom_encrypt(message)
    envelope = f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    target = f"{url(tenant, bot)}?{urlencode(wecom_query(encrypted, **query))}"
    return client.post(target, data=envelope, content_type="text/xml")


def test_wecom_url_verification_echoes_the_decrypted_echostr(client, tenant):
    bot = make_bot(tenant, "wecom")
    echostr = wecom_encrypt(b"4612845387206497543")
    response = client.get(url(tenant, bot), {**wecom_query(echostr), "echostr": echostr})
    assert response.status_code == 200
    assert response.content == b"4612845387206497543"


def test_wecom_text_message_becomes_a_need_in_triage(client, tenant, other_tenant):
    bot = make_bot(tenant, "wecom")
    response = wecom_post(client, tenant, bot, wecom_text("设备故障，无法启动\n3号线今天早上停机"))
    assert (response.status_code, response.content) == (200, b"success")
    (need,) = needs_of(tenant)
    assert (need.channel, need.sender, need.external_ref) == (Channel.WECOM, "zhangsan", "wecom:1234567890123456")
    assert (need.subject, need.body) == ("设备故障，无法启动", "设备故障，无法启动\n3号线今天早上停机")
    assert (need.account, need.status) == (None, NeedStatus.NEW)
    assert needs_of(other_tenant) == []


def test_wecom_user_named_by_mobile_maps_to_the_contact(client, tenant, account):
    with tenant_context(tenant):
        contact = factories.ContactFactory(tenant=tenant, account=account, phone="+86 138-0013-8000")
    bot = make_bot(tenant, "wecom")
    response = wecom_post(client, tenant, bot, wecom_text("请报价", user="13800138000"))
    assert response.status_code == 200
    (need,) = needs_of(tenant)
    assert (need.account, need.contact) == (account, contact)


def test_wecom_intelligent_robot_json_callback_is_stored(client, tenant):
    bot = make_bot(tenant, "wecom", receive_id="")
    message = {
        "msgid": "CAIQz7/MjQYY/NGagIOAgAMgl8jK/gI=",
        "aibotid": "AIBOTID",
        "chattype": "single",
        "from": {"userid": "lisi"},
        "msgtype": "text",
        "text": {"content": "发票抬头写错了"},
    }
    encrypted = wecom_encrypt(json.dumps(message, ensure_ascii=False).encode(), receive_id="")
    target = f"{url(tenant, bot)}?{urlencode(wecom_query(encrypted))}"
    response = client.post(target, data=json.dumps({"encrypt": encrypted}), content_type="application/json")
    assert (response.status_code, response.content) == (200, b"")
    (need,) = needs_of(tenant)
    assert (need.sender, need.body, need.external_ref) == ("lisi", "发票抬头写错了", f"wecom:{message['msgid']}")


def test_wecom_bad_signature_is_refused_and_stores_nothing(client, tenant, caplog):
    bot = make_bot(tenant, "wecom")
    response = wecom_post(client, tenant, bot, wecom_text("hello"), token="not-the-token")
    assert error_of(response) == (401, "bad_signature")
    assert response.json()["error"]["message"] == "The signature does not match."
    assert needs_of(tenant) == []
    assert f"refused a wecom callback for acme bot {bot.pk}: 401 bad_signature" in caplog.text


def test_wecom_old_timestamp_is_refused(client, tenant):
    bot = make_bot(tenant, "wecom")
    response = wecom_post(client, tenant, bot, wecom_text("hello"), timestamp=int(time.time()) - 301)
    assert error_of(response) == (403, "expired")
    assert needs_of(tenant) == []


def test_wecom_replayed_nonce_is_refused_and_a_retried_message_stored_once(client, tenant):
    bot = make_bot(tenant, "wecom")
    assert wecom_post(client, tenant, bot, wecom_text("第一条", msg_id="1"), nonce="n-1").status_code == 200
    replay = wecom_post(client, tenant, bot, wecom_text("第二条", msg_id="2"), nonce="n-1")
    retry = wecom_post(client, tenant, bot, wecom_text("第一条", msg_id="1"), nonce="n-2")
    assert error_of(replay) == (403, "replayed")
    assert retry.status_code == 200
    assert [need.body for need in needs_of(tenant)] == ["第一条"]


def test_wecom_message_for_another_receiver_id_is_refused(client, tenant):
    bot = make_bot(tenant, "wecom", receive_id="wwOTHERCORP")
    response = wecom_post(client, tenant, bot, wecom_text("hello"))
    assert error_of(response) == (401, "bad_receiver")
    assert needs_of(tenant) == []


# --- DingTalk: sign = base64(HMAC-SHA256(app secret, timestamp + "\n" + app secret)) -----------------


def dingtalk_headers(*, timestamp_ms: int | None = None, secret: str = DINGTALK_SECRET) -> dict[str, str]:
    timestamp = str(int(time.time() * 1000) if timestamp_ms is None else timestamp_ms)
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return {"timestamp": timestamp, "sign": base64.b64encode(digest).decode()}


def dingtalk_body(content: str = "交货期能提前吗？", msg_id: str = "msgX1") -> str:
    return json.dumps(
        {
            "msgtype": "text",
            "text": {"content": content},
            "msgId": msg_id,
            "createAt": int(time.time() * 1000),
            "conversationType": "1",
            "senderNick": "王芳",
            "senderStaffId": "manager4220",
            "senderId": "$:LWCP_v1:$abc",
        },
        ensure_ascii=False,
    )


def test_dingtalk_message_becomes_a_need_and_the_reply_acknowledges_it(client, tenant):
    bot = make_bot(tenant, "dingtalk")
    response = client.post(
        url(tenant, bot), data=dingtalk_body(), content_type="application/json", headers=dingtalk_headers()
    )
    assert response.status_code == 200
    (need,) = needs_of(tenant)
    assert (need.channel, need.sender, need.body) == (Channel.DINGTALK, "王芳 (manager4220)", "交货期能提前吗？")
    assert need.external_ref == "dingtalk:msgX1"
    reply = response.json()
    assert reply["msgtype"] == "text"
    assert f"#{need.pk}" in reply["text"]["content"]


def test_dingtalk_bad_sign_is_refused(client, tenant):
    bot = make_bot(tenant, "dingtalk")
    headers = dingtalk_headers(secret="SECwrong")
    response = client.post(url(tenant, bot), data=dingtalk_body(), content_type="application/json", headers=headers)
    assert error_of(response) == (401, "bad_signature")
    assert needs_of(tenant) == []


def test_dingtalk_timestamp_over_an_hour_old_is_refused(client, tenant):
    bot = make_bot(tenant, "dingtalk")
    headers = dingtalk_headers(timestamp_ms=int((time.time() - 3601) * 1000))
    response = client.post(url(tenant, bot), data=dingtalk_body(), content_type="application/json", headers=headers)
    assert error_of(response) == (403, "expired")
    assert needs_of(tenant) == []


def test_dingtalk_replayed_signature_is_refused_even_with_another_body(client, tenant):
    # the signature covers only the timestamp: each one is taken once
    bot = make_bot(tenant, "dingtalk")
    headers = dingtalk_headers()
    first = client.post(url(tenant, bot), data=dingtalk_body(), content_type="application/json", headers=headers)
    forged = dingtalk_body("转账到新账户", msg_id="msgX2")
    replay = client.post(url(tenant, bot), data=forged, content_type="application/json", headers=headers)
    assert first.status_code == 200
    assert error_of(replay) == (403, "replayed")
    assert [need.body for need in needs_of(tenant)] == ["交货期能提前吗？"]


# --- Feishu: hex(SHA-256(timestamp + nonce + encrypt key + body)); AES-256-CBC with SHA-256(key) ---


def feishu_encrypt(event: dict, encrypt_key: str = FEISHU_ENCRYPT_KEY) -> str:
    key = hashlib.sha256(encrypt_key.encode()).digest()
    iv = os.urandom(16)
    plain = json.dumps(event, ensure_ascii=False).encode()
    pad = 16 - len(plain) % 16
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return base64.b64encode(iv + encryptor.update(plain + bytes([pad]) * pad) + encryptor.finalize()).decode()


def feishu_event(text: str = "合同需要盖章", message_id: str = "om_dc13264520392913993dd051dba21dcf") -> dict:
    return {
        "schema": "2.0",
        "header": {
            "event_id": "f7984f25108f8137722bb63cee927e66",
            "event_type": "im.message.receive_v1",
            "create_time": str(int(time.time() * 1000)),
            "token": FEISHU_TOKEN,
            "app_id": "cli_9f5343c580712544",
        },
        "event": {
            "sender": {"sender_id": {"open_id": "ou_84aad35d084aa403a838cf73ee18467", "user_id": "e33ggbyz"}},
            "message": {
                "message_id": message_id,
                "create_time": str(int(time.time() * 1000)),
                "chat_type": "p2p",
                "message_type": "text",
                "content": json.dumps({"text": text}, ensure_ascii=False),
            },
        },
    }


def feishu_post(
    client: Client,
    tenant: Tenant,
    bot: InboundBot,
    payload: dict,
    *,
    timestamp: int | None = None,
    nonce: str = "17e1a1b2c3",
    encrypt_key: str = FEISHU_ENCRYPT_KEY,
    signed: bool = True,
) -> Any:
    body = json.dumps(payload).encode()
    headers = {}
    if signed:
        timestamp_text = str(int(time.time()) if timestamp is None else timestamp)
        signature = hashlib.sha256((timestamp_text + nonce + encrypt_key).encode() + body).hexdigest()
        headers = {
            "X-Lark-Request-Timestamp": timestamp_text,
            "X-Lark-Request-Nonce": nonce,
            "X-Lark-Signature": signature,
        }
    return client.post(url(tenant, bot), data=body, content_type="application/json", headers=headers)


def test_feishu_encrypted_event_becomes_a_need(client, tenant):
    bot = make_bot(tenant, "feishu")
    response = feishu_post(client, tenant, bot, {"encrypt": feishu_encrypt(feishu_event())})
    assert (response.status_code, response.json()) == (200, {"code": 0, "msg": "success"})
    (need,) = needs_of(tenant)
    assert (need.channel, need.sender, need.body) == (Channel.FEISHU, "e33ggbyz", "合同需要盖章")
    assert need.external_ref == "feishu:om_dc13264520392913993dd051dba21dcf"


def test_feishu_url_verification_answers_the_challenge(client, tenant):
    bot = make_bot(tenant, "feishu")
    plain = {"challenge": "ajls384kdjx98XX", "token": FEISHU_TOKEN, "type": "url_verification"}
    by_token = feishu_post(client, tenant, bot, plain, signed=False)
    by_key = feishu_post(client, tenant, bot, {"encrypt": feishu_encrypt({**plain, "token": ""})}, signed=False)
    forged = feishu_post(client, tenant, bot, {**plain, "token": "guess"}, signed=False)
    assert (by_token.status_code, by_token.json()) == (200, {"challenge": "ajls384kdjx98XX"})
    assert (by_key.status_code, by_key.json()) == (200, {"challenge": "ajls384kdjx98XX"})
    assert error_of(forged) == (401, "bad_signature")


def test_feishu_bad_signature_is_refused(client, tenant):
    bot = make_bot(tenant, "feishu")
    payload = {"encrypt": feishu_encrypt(feishu_event())}
    response = feishu_post(client, tenant, bot, payload, encrypt_key="another-key")
    unsigned = feishu_post(client, tenant, bot, payload, signed=False)
    assert error_of(response) == (401, "bad_signature")
    assert error_of(unsigned) == (401, "bad_signature")
    assert needs_of(tenant) == []


def test_feishu_old_timestamp_is_refused(client, tenant):
    bot = make_bot(tenant, "feishu")
    payload = {"encrypt": feishu_encrypt(feishu_event())}
    response = feishu_post(client, tenant, bot, payload, timestamp=int(time.time()) - 301)
    assert error_of(response) == (403, "expired")
    assert needs_of(tenant) == []


def test_feishu_replayed_nonce_is_refused(client, tenant):
    bot = make_bot(tenant, "feishu")
    first = feishu_post(client, tenant, bot, {"encrypt": feishu_encrypt(feishu_event())}, nonce="n-7")
    again = feishu_post(
        client, tenant, bot, {"encrypt": feishu_encrypt(feishu_event("再来一条", message_id="om_2"))}, nonce="n-7"
    )
    assert first.status_code == 200
    assert error_of(again) == (403, "replayed")
    assert [need.body for need in needs_of(tenant)] == ["合同需要盖章"]


# --- tenants and bots ---------------------------------------------------------------------------


def test_another_tenants_bot_is_404_and_stores_nothing(client, tenant, other_tenant):
    # given: a bot of the other tenant, reached under this tenant's slug
    theirs = make_bot(other_tenant, "dingtalk")
    response = client.post(
        url(tenant, theirs), data=dingtalk_body(), content_type="application/json", headers=dingtalk_headers()
    )
    assert error_of(response) == (404, "not_found")
    assert needs_of(tenant) == [] and needs_of(other_tenant) == []


@pytest.mark.parametrize("case", ["unknown tenant", "other kind", "unknown kind", "switched off"])
def test_unknown_bots_are_404(client, tenant, case):
    bot = make_bot(tenant, "dingtalk", is_active=case != "switched off")
    target = {
        "unknown tenant": url(tenant, bot).replace("/acme/", "/nosuch/"),
        "other kind": url(tenant, bot, kind="feishu"),
        "unknown kind": url(tenant, bot, kind="slack"),
        "switched off": url(tenant, bot),
    }[case]
    response = client.post(target, data=dingtalk_body(), content_type="application/json", headers=dingtalk_headers())
    assert error_of(response) == (404, "not_found")
    assert needs_of(tenant) == []


def test_oversized_callback_is_refused_before_it_is_read(client, tenant, settings):
    settings.SERVICE_HOOK_MAX_BYTES = 1024
    bot = make_bot(tenant, "dingtalk")
    body = dingtalk_body("长" * 1000)
    response = client.post(url(tenant, bot), data=body, content_type="application/json", headers=dingtalk_headers())
    assert error_of(response) == (413, "too_large")
    assert needs_of(tenant) == []


def test_garbage_body_is_400_not_500(client, tenant):
    bot = make_bot(tenant, "dingtalk")
    response = client.post(
        url(tenant, bot), data=b"\xff\x00{", content_type="application/json", headers=dingtalk_headers()
    )
    assert error_of(response) == (400, "invalid")
    assert needs_of(tenant) == []


# --- setting bots up ------------------------------------------------------------------------------


def audit_of(tenant: Tenant, bot: InboundBot) -> list[tuple[str, dict]]:
    from kam.models import AuditLog

    with tenant_context(tenant):
        rows = AuditLog.objects.filter(object_type="service.inboundbot", object_id=str(bot.pk)).order_by("id")
        return [(row.action, row.changes) for row in rows]


def test_service_bots_command_adds_lists_and_switches_a_bot_off(client, tenant, other_tenant):
    from io import StringIO

    from django.core.management import call_command

    # when: a bot is added
    out = StringIO()
    call_command(
        "service_bots", "--tenant", "acme", "--add", "dingtalk", "--name", "钉钉客服", "--secret", DINGTALK_SECRET,
        stdout=out,
    )  # fmt: skip
    with tenant_context(tenant):
        bot = InboundBot.objects.get()
    # then: its callback URL is printed, its key is stored as given and kept out of the audit log
    assert out.getvalue() == f"{bot.pk}\tdingtalk\ton\t/hooks/service/acme/dingtalk/{bot.pk}/\t钉钉客服\n"
    assert bot.secret == DINGTALK_SECRET
    [(action, changes)] = audit_of(tenant, bot)
    assert action == "create"
    assert changes["secret"] == ["…", "…"] and DINGTALK_SECRET not in json.dumps(changes)
    # when: switched off, its callbacks are 404
    call_command("service_bots", "--tenant", "acme", "--disable", str(bot.pk), stdout=StringIO())
    response = client.post(
        url(tenant, bot), data=dingtalk_body(), content_type="application/json", headers=dingtalk_headers()
    )
    assert error_of(response) == (404, "not_found")
    # and the other tenant's list does not show it
    listing = StringIO()
    call_command("service_bots", "--tenant", "globex", stdout=listing)
    assert listing.getvalue() == ""


def test_service_bots_command_refuses_a_wecom_bot_without_its_aes_key(tenant):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="The EncodingAESKey is 43 characters, as WeCom's console shows it."):
        call_command("service_bots", "--tenant", "acme", "--add", "wecom", "--token", WECOM_TOKEN)
    with tenant_context(tenant):
        assert not InboundBot.objects.exists()


def test_a_bot_added_in_the_django_admin_is_saved_in_its_tenant(tenant, admin):
    from django.contrib.auth import get_user_model

    get_user_model().objects.filter(pk=admin.pk).update(is_staff=True, is_superuser=True)
    staff = Client()
    staff.force_login(admin)
    form = {"tenant": tenant.pk, "kind": "feishu", "name": "飞书客服", "secret": FEISHU_ENCRYPT_KEY, "is_active": "on"}
    response = staff.post("/admin/service/inboundbot/add/", form)
    assert response.status_code == 302
    with tenant_context(tenant):
        bot = InboundBot.objects.get()
    assert (bot.kind, bot.secret) == ("feishu", FEISHU_ENCRYPT_KEY)
    [(action, changes)] = audit_of(tenant, bot)
    assert action == "create" and FEISHU_ENCRYPT_KEY not in json.dumps(changes)


def test_wecom_image_is_kept_as_a_placeholder_and_events_store_nothing(client, tenant):
    bot = make_bot(tenant, "wecom")
    image = (
        f"<xml><FromUserName>zhangsan</FromUserName><CreateTime>{int(time.time())}</CreateTime>"
        "<MsgType>image</MsgType><PicUrl>http://example.invalid/p.jpg</PicUrl><MsgId>77</MsgId></xml>"
    ).encode()
    event = b"<xml><FromUserName>zhangsan</FromUserName><MsgType>event</MsgType><Event>enter_agent</Event></xml>"
    assert wecom_post(client, tenant, bot, image, nonce="i-1").content == b"success"
    assert wecom_post(client, tenant, bot, event, nonce="i-2").content == b"success"
    (need,) = needs_of(tenant)
    assert (need.subject, need.external_ref) == ("[image]", "wecom:77")
    assert need.problems == ["A message of type image: only text is read; see the chat for the rest."]


def test_feishu_event_that_is_no_message_is_acknowledged_and_dropped(client, tenant):
    bot = make_bot(tenant, "feishu")
    event = feishu_event()
    event["header"]["event_type"] = "im.chat.member.bot.added_v1"
    response = feishu_post(client, tenant, bot, {"encrypt": feishu_encrypt(event)})
    assert (response.status_code, response.json()) == (200, {"code": 0, "msg": "success"})
    assert needs_of(tenant) == []
