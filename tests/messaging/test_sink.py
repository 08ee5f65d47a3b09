"""The channel sink answers like each vendor (messaging/sink.py, issue #20).

The requests here are signed by the vendors' documented algorithms written out again in this
file, not with the sink's own helpers, so that a mistake in the sink's checks cannot hide
behind the same mistake in the test.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from messaging.sink import Sink

ROOT = Path(__file__).resolve().parents[2]

WECOM_KEY = "wecom-key-1"
DING_TOKEN = "ding-token-1"
DING_SECRET = "SEC0123456789abcdef"
FEISHU_TOKEN = "feishu-token-1"
FEISHU_SECRET = "feishu-secret-xyz"
HOOK_NAME = "crm"
HOOK_SECRET = "whsec-abc"
SECRETS = {WECOM_KEY: "", DING_TOKEN: DING_SECRET, FEISHU_TOKEN: FEISHU_SECRET, HOOK_NAME: HOOK_SECRET}


@pytest.fixture
def sink() -> Iterator[Sink]:
    with Sink(SECRETS) as running:
        yield running


def post(url: str, body: bytes | dict[str, Any], headers: dict[str, str] | None = None, timeout: float = 5):
    """(HTTP status, parsed JSON answer) of a POST; HTTP errors are answers too."""
    data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def get(url: str) -> tuple[int, str, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.headers.get("Content-Type", ""), response.read().decode("utf-8")


# --- the vendors' algorithms, written out independently ------------------------------------------


def ding_query(secret: str, timestamp_ms: int | None = None) -> tuple[str, str]:
    """(timestamp, the URL-encoded sign) of DingTalk's 加签: HMAC-SHA256 keyed by the secret."""
    timestamp = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
    string_to_sign = f"{timestamp}\n{secret}".encode()
    raw = hmac.new(secret.encode("utf-8"), string_to_sign, digestmod=hashlib.sha256).digest()
    return timestamp, urllib.parse.quote_plus(base64.b64encode(raw))


def ding_url(sink: Sink, token: str, secret: str, timestamp_ms: int | None = None) -> str:
    timestamp, sign = ding_query(secret, timestamp_ms)
    return f"{sink.dingtalk_url(token)}&timestamp={timestamp}&sign={sign}"


def ding_message(text: str = "## 预警\n\n恒通汽车 **回款逾期**", **extra: Any) -> dict[str, Any]:
    return {"msgtype": "markdown", "markdown": {"title": "KAM 预警", "text": text}, **extra}


def feishu_body(secret: str, *, timestamp: int | None = None, card: dict[str, Any] | None = None) -> dict[str, Any]:
    """Feishu signs with the key "<seconds>\\n<secret>" over an empty message."""
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    key = (stamp + "\n" + secret).encode("utf-8")
    sign = base64.b64encode(hmac.new(key, msg=b"", digestmod=hashlib.sha256).digest()).decode()
    return {"timestamp": stamp, "sign": sign, "msg_type": "interactive", "card": card or feishu_card()}


def feishu_card(title: str = "KAM 预警") -> dict[str, Any]:
    return {
        "header": {"title": {"tag": "plain_text", "content": title}, "template": "red"},
        "elements": [
            {"tag": "div", "text": {"tag": "lark_md", "content": "恒通汽车 **回款逾期** 45 天"}},
            {"tag": "hr"},
            {"tag": "note", "elements": [{"tag": "plain_text", "content": "KAM · 华东"}]},
        ],
    }


def hook_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"X-KAM-Timestamp": stamp, "X-KAM-Signature": "sha256=" + digest}


def wecom_message(content: str = '## 预警\n恒通汽车 <font color="warning">回款逾期</font>') -> dict[str, Any]:
    return {"msgtype": "markdown", "markdown": {"content": content}}


# --- WeCom ---------------------------------------------------------------------------------------


def test_wecom_accepts_the_markdown_message(sink: Sink) -> None:
    status, answer = post(sink.wecom_url(WECOM_KEY), wecom_message())

    assert (status, answer) == (200, {"errcode": 0, "errmsg": "ok"})
    [received] = sink.accepted("wecom")
    assert received.token == WECOM_KEY and received.json == wecom_message() and received.ok


def test_wecom_refuses_an_unknown_key(sink: Sink) -> None:
    status, answer = post(sink.wecom_url("nobody"), wecom_message())

    assert status == 200 and answer["errcode"] == 93000
    assert answer["errmsg"].startswith("invalid webhook url")
    assert sink.accepted() == [] and len(sink.received) == 1 and not sink.received[0].ok


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({"msgtype": "text", "text": {"content": "hi"}}, 40008),
        ({"msgtype": "markdown", "markdown": {"content": "hi"}, "extra": 1}, 40008),
        ({"msgtype": "markdown", "markdown": {"content": "hi", "mentioned_list": []}}, 40008),
        ({"msgtype": "markdown", "markdown": {"content": ""}}, 40058),
        ({"msgtype": "markdown", "markdown": {"content": 42}}, 40058),
        # 1366 CJK characters are 4098 bytes of UTF-8: over the limit, though under 4096 characters.
        ({"msgtype": "markdown", "markdown": {"content": "预" * 1366}}, 40058),
    ],
)
def test_wecom_refuses_a_wrong_shape(sink: Sink, body: dict[str, Any], errcode: int) -> None:
    status, answer = post(sink.wecom_url(WECOM_KEY), body)

    assert status == 200 and answer["errcode"] == errcode
    assert sink.accepted() == []


def test_wecom_takes_exactly_4096_bytes(sink: Sink) -> None:
    content = "预" * 1365 + "a"  # 4095 + 1 bytes

    assert post(sink.wecom_url(WECOM_KEY), wecom_message(content))[1]["errcode"] == 0


# --- DingTalk ------------------------------------------------------------------------------------


def test_dingtalk_accepts_a_signed_message(sink: Sink) -> None:
    message = ding_message(at={"atMobiles": ["13800000000"], "isAtAll": False})

    status, answer = post(ding_url(sink, DING_TOKEN, DING_SECRET), message)

    assert (status, answer) == (200, {"errcode": 0, "errmsg": "ok"})
    [received] = sink.accepted("dingtalk")
    assert received.json == message and received.query["access_token"] == DING_TOKEN


def test_dingtalk_decodes_the_sign_from_the_query(sink: Sink) -> None:
    # A sign with "+" or "/" in its base64 must arrive URL-encoded and be compared decoded.
    now = int(time.time() * 1000)
    stamp = next(t for t in range(now, now - 1000, -1) if "%2B" in ding_query(DING_SECRET, t)[1])

    assert post(ding_url(sink, DING_TOKEN, DING_SECRET, stamp), ding_message())[1]["errcode"] == 0


def test_dingtalk_refuses_a_wrong_secret(sink: Sink) -> None:
    status, answer = post(ding_url(sink, DING_TOKEN, "SECsomethingelse"), ding_message())

    assert status == 200 and answer["errcode"] == 310000 and answer["errmsg"].startswith("sign not match")
    assert sink.accepted() == []


def test_dingtalk_refuses_a_missing_sign(sink: Sink) -> None:
    assert post(sink.dingtalk_url(DING_TOKEN), ding_message())[1]["errcode"] == 310000


def test_dingtalk_refuses_a_stale_timestamp(sink: Sink) -> None:
    # correctly signed, but an hour and a minute old
    stale = int((time.time() - 3660) * 1000)

    assert post(ding_url(sink, DING_TOKEN, DING_SECRET, stale), ding_message())[1]["errcode"] == 310000
    assert sink.accepted() == []


def test_dingtalk_refuses_an_unknown_token(sink: Sink) -> None:
    status, answer = post(ding_url(sink, "nobody", DING_SECRET), ding_message())

    assert (status, answer) == (200, {"errcode": 300001, "errmsg": "token is not exist"})


@pytest.mark.parametrize(
    "body",
    [
        {"msgtype": "text", "text": {"content": "hi"}},
        {"msgtype": "markdown", "markdown": {"title": "t"}},
        {"msgtype": "markdown", "markdown": {"title": "t", "text": "x", "extra": 1}},
        {"msgtype": "markdown", "markdown": {"title": "t", "text": "x"}, "at": {"atMobiles": "138"}},
        {"msgtype": "markdown", "markdown": {"title": "t", "text": "x"}, "at": {"isAtAll": "yes"}},
        {"msgtype": "markdown", "markdown": {"title": "t", "text": "x"}, "at": {"atUserIds": []}},
        {"msgtype": "markdown", "markdown": {"title": "t", "text": "x"}, "btns": []},
    ],
)
def test_dingtalk_refuses_a_wrong_shape(sink: Sink, body: dict[str, Any]) -> None:
    status, answer = post(ding_url(sink, DING_TOKEN, DING_SECRET), body)

    assert status == 200 and answer["errcode"] == 40035
    assert sink.accepted() == []


def test_dingtalk_refuses_a_body_that_is_not_json(sink: Sink) -> None:
    answer = post(ding_url(sink, DING_TOKEN, DING_SECRET), b"not json")[1]

    assert answer == {"errcode": 40035, "errmsg": "缺少参数 json"}


def test_dingtalk_refuses_the_21st_message_in_a_minute(sink: Sink) -> None:
    answers = [post(ding_url(sink, DING_TOKEN, DING_SECRET), ding_message(f"#{n}"))[1] for n in range(21)]

    assert [answer["errcode"] for answer in answers] == [0] * 20 + [130101]
    assert answers[-1]["errmsg"] == "send too fast, exceed 20 times per minute"
    assert len(sink.accepted("dingtalk")) == 20
    assert [v.json["markdown"]["text"] for v in sink.violations] == ["#20"]


def test_dingtalk_limit_is_per_token(sink: Sink) -> None:
    sink.secrets = {**SECRETS, "second": DING_SECRET}
    for _ in range(20):
        assert post(ding_url(sink, DING_TOKEN, DING_SECRET), ding_message())[1]["errcode"] == 0

    assert post(ding_url(sink, "second", DING_SECRET), ding_message())[1]["errcode"] == 0
    assert post(ding_url(sink, DING_TOKEN, DING_SECRET), ding_message())[1]["errcode"] == 130101


def test_rate_limits_can_be_turned_off() -> None:
    with Sink(SECRETS, rate_limits=False) as sink:
        answers = [post(ding_url(sink, DING_TOKEN, DING_SECRET), ding_message())[1] for _ in range(22)]

        assert {answer["errcode"] for answer in answers} == {0}
        assert sink.violations == []


def test_dingtalk_window_slides(sink: Sink) -> None:
    clock = [time.time()]
    sink.clock = lambda: clock[0]
    url = ding_url(sink, DING_TOKEN, DING_SECRET, int(clock[0] * 1000))
    for _ in range(20):
        assert post(url, ding_message())[1]["errcode"] == 0
        clock[0] += 2.9  # 20 messages in 58 s

    assert post(url, ding_message())[1]["errcode"] == 130101  # 58 s after the first
    clock[0] += 2.5  # the first falls out of the minute
    assert post(url, ding_message())[1]["errcode"] == 0
    assert len(sink.violations) == 1


# --- Feishu --------------------------------------------------------------------------------------


FEISHU_OK = {"StatusCode": 0, "StatusMessage": "success", "code": 0, "data": {}, "msg": "success"}


def test_feishu_accepts_a_signed_card(sink: Sink) -> None:
    body = feishu_body(FEISHU_SECRET)

    status, answer = post(sink.feishu_url(FEISHU_TOKEN), body)

    assert (status, answer) == (200, FEISHU_OK)
    [received] = sink.accepted("feishu")
    assert received.token == FEISHU_TOKEN and received.json == body


def test_feishu_refuses_a_wrong_secret(sink: Sink) -> None:
    status, answer = post(sink.feishu_url(FEISHU_TOKEN), feishu_body("wrong"))

    assert status == 200 and answer["code"] == 19021
    assert answer["msg"] == "sign match fail or timestamp is not within one hour from current time"


def test_feishu_refuses_a_stale_timestamp(sink: Sink) -> None:
    body = feishu_body(FEISHU_SECRET, timestamp=int(time.time()) - 3660)

    assert post(sink.feishu_url(FEISHU_TOKEN), body)[1]["code"] == 19021
    assert sink.accepted() == []


def test_feishu_refuses_milliseconds_for_seconds(sink: Sink) -> None:
    body = feishu_body(FEISHU_SECRET, timestamp=int(time.time() * 1000))

    assert post(sink.feishu_url(FEISHU_TOKEN), body)[1]["code"] == 19021


def test_feishu_refuses_an_unknown_token(sink: Sink) -> None:
    answer = post(sink.feishu_url("nobody"), feishu_body(FEISHU_SECRET))[1]

    assert answer == {"code": 19001, "msg": "param invalid: incoming webhook access token invalid"}


@pytest.mark.parametrize(
    "change",
    [
        lambda body: body.update(msg_type="text"),
        lambda body: body.update(extra=1),
        lambda body: body.update(card=[]),
        lambda body: body["card"].update(elements=[]),
        lambda body: body["card"].update(elements=[{"text": "no tag"}]),
        lambda body: body["card"].update(elements=["plain string"]),
        lambda body: body["card"].pop("header"),
        lambda body: body["card"]["header"].pop("template"),
        lambda body: body["card"]["header"]["title"].update(tag="lark_md"),
        lambda body: body["card"]["header"].update(title="KAM"),
    ],
)
def test_feishu_refuses_a_wrong_shape(sink: Sink, change: Any) -> None:
    body = feishu_body(FEISHU_SECRET)
    change(body)

    assert post(sink.feishu_url(FEISHU_TOKEN), body)[1] == {"code": 9499, "msg": "Bad Request"}
    assert sink.accepted() == []


def test_feishu_refuses_the_6th_message_in_a_second(sink: Sink) -> None:
    now = time.time()
    sink.clock = lambda: now
    codes = [post(sink.feishu_url(FEISHU_TOKEN), feishu_body(FEISHU_SECRET, timestamp=int(now)))[1] for _ in range(6)]

    assert [answer["code"] for answer in codes] == [0] * 5 + [11232]
    assert codes[-1]["msg"] == "frequency limited"
    assert len(sink.violations) == 1 and sink.violations[0].vendor == "feishu"


def test_feishu_refuses_the_101st_message_in_a_minute(sink: Sink) -> None:
    clock = [time.time()]
    sink.clock = lambda: clock[0]
    body = feishu_body(FEISHU_SECRET, timestamp=int(clock[0]))
    for _ in range(100):
        assert post(sink.feishu_url(FEISHU_TOKEN), body)[1]["code"] == 0
        clock[0] += 0.5  # two a second: under the per-second limit

    assert post(sink.feishu_url(FEISHU_TOKEN), body)[1]["code"] == 11232
    assert len(sink.violations) == 1


# --- generic webhooks ----------------------------------------------------------------------------


def test_webhook_accepts_a_signed_delivery(sink: Sink) -> None:
    body = json.dumps({"event": "alert.opened", "data": {"id": 1}}, separators=(",", ":"), sort_keys=True).encode()

    status, answer = post(sink.webhook_url(HOOK_NAME), body, hook_headers(HOOK_SECRET, body))

    assert (status, answer) == (200, {"ok": True})
    [received] = sink.accepted("webhook")
    assert received.body == body and received.json["event"] == "alert.opened"


def test_webhook_checks_what_risk_webhooks_signs(sink: Sink) -> None:
    from risk.webhooks import signature

    body = b'{"event":"webhook.test"}'
    stamp = str(int(time.time()))
    headers = {"X-KAM-Timestamp": stamp, "X-KAM-Signature": signature(HOOK_SECRET, stamp, body)}

    assert post(sink.webhook_url(HOOK_NAME), body, headers) == (200, {"ok": True})


def test_webhook_refuses_a_bad_signature(sink: Sink) -> None:
    body = b'{"event":"alert.opened"}'
    headers = hook_headers("another secret", body)

    assert post(sink.webhook_url(HOOK_NAME), body, headers) == (401, {"ok": False, "error": "bad signature"})
    # signed, then changed on the way
    headers = hook_headers(HOOK_SECRET, body)
    assert post(sink.webhook_url(HOOK_NAME), body + b" ", headers)[0] == 401
    assert post(sink.webhook_url(HOOK_NAME), body)[0] == 401
    assert sink.accepted() == []


def test_webhook_refuses_a_stale_timestamp(sink: Sink) -> None:
    body = b'{"event":"alert.opened"}'

    status, answer = post(sink.webhook_url(HOOK_NAME), body, hook_headers(HOOK_SECRET, body, int(time.time()) - 600))

    assert status == 401 and answer["ok"] is False


def test_webhook_refuses_an_unknown_name(sink: Sink) -> None:
    body = b"{}"

    assert post(sink.webhook_url("nobody"), body, hook_headers(HOOK_SECRET, body))[0] == 404


# --- secrets, paths ------------------------------------------------------------------------------


def test_the_callable_form_is_asked_with_the_vendor() -> None:
    asked: list[tuple[str, str]] = []

    def secrets(vendor: str, token: str) -> str | None:
        asked.append((vendor, token))
        return {("dingtalk", "d"): DING_SECRET, ("wecom", "w"): ""}.get((vendor, token))

    with Sink(secrets) as sink:
        assert post(ding_url(sink, "d", DING_SECRET), ding_message())[1]["errcode"] == 0
        assert post(sink.wecom_url("w"), wecom_message())[1]["errcode"] == 0
        # the same token under another vendor is not known
        assert post(sink.wecom_url("d"), wecom_message())[1]["errcode"] == 93000

    assert asked == [("dingtalk", "d"), ("wecom", "w"), ("wecom", "d")]


def test_without_secrets_any_token_is_taken_but_the_shape_is_still_checked() -> None:
    with Sink() as sink:
        assert post(sink.dingtalk_url("anything"), ding_message())[1]["errcode"] == 0
        assert post(sink.feishu_url("anything"), feishu_body("whatever"))[1]["code"] == 0
        assert post(sink.wecom_url("anything"), {"msgtype": "text"})[1]["errcode"] == 40008


def test_an_unknown_path_is_404_and_not_recorded(sink: Sink) -> None:
    assert post(sink.url + "/cgi-bin/other", wecom_message()) == (404, {"error": "not found"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        get(sink.url + "/nothing")
    assert refused.value.code == 404
    assert sink.received == []


def test_stop_closes_the_port() -> None:
    sink = Sink(SECRETS).start()
    url = sink.wecom_url(WECOM_KEY)
    assert post(url, wecom_message())[0] == 200

    sink.stop()

    with pytest.raises(urllib.error.URLError):
        post(url, wecom_message(), timeout=2)


def test_reset_forgets_everything(sink: Sink) -> None:
    for _ in range(21):
        post(ding_url(sink, DING_TOKEN, DING_SECRET), ding_message())
    sink.fail_next(3)

    sink.reset()

    assert sink.received == [] and sink.violations == []
    assert post(ding_url(sink, DING_TOKEN, DING_SECRET), ding_message())[1]["errcode"] == 0


# --- faults --------------------------------------------------------------------------------------


def test_fail_next_http500_then_recovers(sink: Sink) -> None:
    sink.fail_next(2)

    first = post(sink.wecom_url(WECOM_KEY), wecom_message())
    second = post(ding_url(sink, DING_TOKEN, DING_SECRET), ding_message())
    third = post(sink.wecom_url(WECOM_KEY), wecom_message())

    assert first[0] == second[0] == 500
    assert third == (200, {"errcode": 0, "errmsg": "ok"})
    assert [r.status for r in sink.received] == [500, 500, 200]
    assert len(sink.accepted()) == 1


def test_fail_next_vendor_error_answers_like_each_vendor(sink: Sink) -> None:
    sink.fail_next(4, how="vendor_error")
    hook_body = b'{"event":"x"}'

    wecom = post(sink.wecom_url(WECOM_KEY), wecom_message())
    ding = post(ding_url(sink, DING_TOKEN, DING_SECRET), ding_message())
    feishu = post(sink.feishu_url(FEISHU_TOKEN), feishu_body(FEISHU_SECRET))
    hook = post(sink.webhook_url(HOOK_NAME), hook_body, hook_headers(HOOK_SECRET, hook_body))

    assert wecom == ding == (200, {"errcode": 45009, "errmsg": "api freq out of limit"})
    assert feishu == (200, {"code": 11232, "msg": "frequency limited"})
    assert hook[0] == 500
    assert sink.accepted() == [] and sink.violations == []


def test_fail_next_hang_outlasts_the_client(sink: Sink) -> None:
    sink.fail_next(how="hang", seconds=3)
    started = time.monotonic()

    with pytest.raises((TimeoutError, urllib.error.URLError)):
        post(sink.wecom_url(WECOM_KEY), wecom_message(), timeout=0.5)

    assert time.monotonic() - started < 2
    [received] = sink.received
    assert not received.ok
    # the next one is answered at once
    assert post(sink.wecom_url(WECOM_KEY), wecom_message(), timeout=2)[1]["errcode"] == 0


def test_fail_next_slow_answers_success_late(sink: Sink) -> None:
    sink.fail_next(how="slow", seconds=0.6)
    started = time.monotonic()

    status, answer = post(sink.feishu_url(FEISHU_TOKEN), feishu_body(FEISHU_SECRET), timeout=5)

    assert time.monotonic() - started >= 0.6
    assert (status, answer) == (200, FEISHU_OK)


def test_fail_next_refuses_an_unknown_mode(sink: Sink) -> None:
    with pytest.raises(ValueError, match="how must be one of"):
        sink.fail_next(how="explode")


# --- the page ------------------------------------------------------------------------------------


def test_the_page_shows_what_was_received_escaped(sink: Sink) -> None:
    post(sink.wecom_url(WECOM_KEY), wecom_message("<script>alert('x')</script> 回款逾期"))
    post(sink.feishu_url(FEISHU_TOKEN), feishu_body(FEISHU_SECRET, card=feishu_card("飞书 <b>标题</b>")))
    post(ding_url(sink, DING_TOKEN, "wrong"), ding_message("钉钉正文"))
    hook_body = json.dumps({"event": "alert.opened", "tenant": "huadong"}).encode()
    post(sink.webhook_url(HOOK_NAME), hook_body, hook_headers(HOOK_SECRET, hook_body))

    status, content_type, page = get(sink.url + "/")

    assert status == 200 and content_type == "text/html; charset=utf-8"
    assert "<title>KAM channel sink — what would be sent</title>" in page
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; 回款逾期" in page
    assert "飞书 &lt;b&gt;标题&lt;/b&gt;" in page and "回款逾期** 45 天" in page and "KAM · 华东" in page
    assert "钉钉正文" in page and "errcode 310000" in page
    assert "&quot;tenant&quot;: &quot;huadong&quot;" in page
    # newest first
    assert page.index("huadong") < page.index("钉钉正文") < page.index("飞书") < page.index("alert(")
    assert "<link" not in page and "src=" not in page  # no external assets


def test_messages_json_lists_the_same_newest_first(sink: Sink) -> None:
    post(sink.wecom_url(WECOM_KEY), wecom_message("first"))
    post(sink.wecom_url("nobody"), wecom_message("second"))

    status, content_type, text = get(sink.url + "/messages.json")
    messages = json.loads(text)

    assert status == 200 and content_type.startswith("application/json")
    assert [(m["content"], m["verdict"], m["vendor"]) for m in messages] == [
        ("second", "errcode 93000: " + sink.received[1].answer["errmsg"], "wecom"),
        ("first", "accepted", "wecom"),
    ]


def test_the_page_keeps_the_last_200(sink: Sink) -> None:
    sink.rate_limits = False
    for n in range(205):
        post(sink.wecom_url(WECOM_KEY), wecom_message(f"message-{n:03}"))

    messages = json.loads(get(sink.url + "/messages.json")[2])

    assert len(messages) == 200
    assert messages[0]["content"] == "message-204" and messages[-1]["content"] == "message-005"


# --- the command ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_command_serves_until_stopped() -> None:
    port = free_port()
    # Run through the command class itself: it does not need messaging in INSTALLED_APPS.
    script = (
        "import sys, django; django.setup();"
        "from messaging.management.commands.channel_sink import Command;"
        "Command().run_from_argv(['manage.py', 'channel_sink', '--port', sys.argv[1]])"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "kam.settings_test", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        page = None
        deadline = time.monotonic() + 90  # a loaded machine starts Django slowly
        while page is None and time.monotonic() < deadline and process.poll() is None:
            try:
                page = get(f"http://127.0.0.1:{port}/")[2]
            except OSError:
                time.sleep(0.2)
        assert page is not None, process.stderr.read() if process.poll() is not None else "no answer"
        assert "KAM channel sink" in page

        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert process.returncode == 0
    assert f"http://127.0.0.1:{port}/" in out and "Channel sink stopped" in out
