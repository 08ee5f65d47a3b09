"""Needs by e-mail: a real SMTP conversation with the receiver (aiosmtpd on a free local port,
smtplib as the sending server). The receiver stores from its own threads and connections,
hence transactional tests."""

from __future__ import annotations

import base64
import smtplib
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import SMTP
from typing import Any

import pytest

from kam.models import Tenant
from kam.tenancy import tenant_context
from service.inbound.smtp import make_controller
from service.models import Channel, Need, NeedStatus
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

DOMAIN = "needs.test"
ACME = f"needs+acme@{DOMAIN}"
# Small enough to send past it quickly; the production default is 25 MB.
MAX_BYTES = 512 * 1024


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_port(settings: Any, tenant: Tenant, other_tenant: Tenant) -> Iterator[int]:
    settings.SERVICE_MAIL_DOMAIN = DOMAIN
    # The receiver's thread runs outside any request, in the default language: English here, so
    # that the notes compare with the English texts (production's default is Chinese).
    settings.LANGUAGE_CODE = "en"
    port = free_port()
    controller = make_controller("127.0.0.1", port, max_bytes=MAX_BYTES)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def converse(port: int, raw: bytes, *, rcpt: tuple[str, ...] = (ACME,), mail_from: str = "li.wei@customer.cn"):
    """MAIL, RCPT, DATA as a sending server does; the reply to DATA (code, text)."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.ehlo("relay.customer.cn")
        assert smtp.mail(mail_from)[0] == 250
        for address in rcpt:
            code, text = smtp.rcpt(address)
            assert code == 250, text
        code, text = smtp.data(raw)
        return code, text.decode()


def mail(subject: str = "设备故障，无法启动", body: str = "3号线的设备今天早上无法启动。", **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = headers.pop("from_", "Li Wei <li.wei@customer.cn>")
    message["To"] = headers.pop("to", ACME)
    message["Subject"] = subject
    message["Message-ID"] = headers.pop("message_id", "<m1@customer.cn>")
    message["Date"] = headers.pop("date", "")
    if not message["Date"]:
        del message["Date"]
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    if body:
        message.set_content(body)
    return message.as_bytes(policy=SMTP)  # lines end in CRLF on the wire


def needs_of(tenant: Tenant) -> list[Need]:
    with tenant_context(tenant):
        return list(Need.objects.select_related("account", "contact").order_by("id"))


# --- tenant and sender ----------------------------------------------------------------------------


def test_mail_from_a_contact_becomes_a_need_of_its_account_in_the_addressed_tenant(
    smtp_port, tenant, other_tenant, account
):
    # given: the contact's address written in other letters' case
    with tenant_context(tenant):
        contact = factories.ContactFactory(tenant=tenant, account=account, email="Li.Wei@Customer.CN")
    # when
    code, text = converse(smtp_port, mail())
    # then
    assert code == 250, text
    (need,) = needs_of(tenant)
    assert (need.channel, need.account, need.contact) == (Channel.EMAIL, account, contact)
    assert need.subject == "设备故障，无法启动"
    assert need.body == "3号线的设备今天早上无法启动。"
    assert need.sender == "li.wei@customer.cn"
    assert need.external_ref == "email:<m1@customer.cn>"
    assert need.problems == []
    assert text == f"2.0.0 Received: acme#{need.pk}"
    assert needs_of(other_tenant) == []


def test_unknown_sender_waits_in_triage_of_the_addressed_tenant_only(smtp_port, tenant, other_tenant):
    # given: the sender is a contact, but of the other tenant
    with tenant_context(other_tenant):
        factories.ContactFactory(tenant=other_tenant, email="li.wei@customer.cn")
    # when
    code, _text = converse(smtp_port, mail())
    # then
    assert code == 250
    (need,) = needs_of(tenant)
    assert (need.account, need.contact, need.status) == (None, None, NeedStatus.NEW)
    assert needs_of(other_tenant) == []


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        (f"needs+nosuch@{DOMAIN}", "no such workspace"),
        ("needs+acme@elsewhere.test", f"not an address of this server; write to needs+<workspace>@{DOMAIN}"),
        (f"sales+acme@{DOMAIN}", "not an address of this server"),
        (f"needs@{DOMAIN}", "not an address of this server"),
    ],
)
def test_other_addresses_are_refused_at_rcpt_with_550(smtp_port, tenant, other_tenant, address, reason):
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as smtp:
        smtp.ehlo()
        smtp.mail("li.wei@customer.cn")
        code, text = smtp.rcpt(address)
    assert code == 550
    assert text.decode().startswith(f"5.1.1 <{address}>: {reason}")
    assert needs_of(tenant) == [] and needs_of(other_tenant) == []


def test_only_the_envelope_recipient_routes_a_spoofed_to_header(smtp_port, tenant, other_tenant):
    # given: the header names the other tenant's address, the envelope this one's
    raw = mail(to=f"needs+globex@{DOMAIN}")
    # when
    code, _text = converse(smtp_port, raw, rcpt=(ACME,))
    # then
    assert code == 250
    (need,) = needs_of(tenant)
    assert need.problems == [
        "The To or Cc header also names another workspace's address; "
        "only the address the message was delivered to counts."
    ]
    assert needs_of(other_tenant) == []


def test_a_message_delivered_to_two_workspaces_is_a_need_in_each(smtp_port, tenant, other_tenant):
    code, text = converse(smtp_port, mail(), rcpt=(ACME, f"needs+globex@{DOMAIN}"))
    (ours,), (theirs,) = needs_of(tenant), needs_of(other_tenant)
    assert (code, text) == (250, f"2.0.0 Received: acme#{ours.pk}, globex#{theirs.pk}")
    assert ours.problems == []
    assert theirs.problems == [
        "The To or Cc header also names another workspace's address; "
        "only the address the message was delivered to counts."
    ]


def test_utf8_headers_of_smtputf8_mail_are_read_without_a_note(smtp_port, tenant):
    raw = ("From: 李伟 <li.wei@customer.cn>\r\nTo: " + ACME + "\r\nSubject: 报价请求\r\n\r\n请报价。\r\n").encode()
    code, _text = converse(smtp_port, raw)
    assert code == 250
    (need,) = needs_of(tenant)
    assert (need.subject, need.body, need.sender, need.problems) == ("报价请求", "请报价。", "li.wei@customer.cn", [])


def test_from_header_differing_from_the_envelope_sender_is_noted(smtp_port, tenant):
    code, _text = converse(smtp_port, mail(), mail_from="bounces@relay.customer.cn")
    assert code == 250
    (need,) = needs_of(tenant)
    assert need.sender == "li.wei@customer.cn"
    assert need.problems == [
        "The From header (li.wei@customer.cn) differs from the envelope sender (bounces@relay.customer.cn); "
        "the From header was used."
    ]


# --- charsets ------------------------------------------------------------------------------------


def raw_mail(subject_words: str, content_type: str, body: bytes, encoding: str = "base64") -> bytes:
    payload = base64.encodebytes(body) if encoding == "base64" else body
    head = (
        "From: li.wei@customer.cn\r\n"
        f"To: {ACME}\r\n"
        f"Subject: {subject_words}\r\n"
        "Message-ID: <cs@customer.cn>\r\n"
        "MIME-Version: 1.0\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Transfer-Encoding: {encoding}\r\n\r\n"
    )
    return head.encode("ascii") + payload


def encoded_word(text: str, charset: str) -> str:
    return f"=?{charset}?B?{base64.b64encode(text.encode(charset)).decode()}?="


def test_gb18030_declared_as_gb2312_is_read_whole(smtp_port, tenant):
    # "镕" is GBK, not GB2312: a mail client that says gb2312 often means GBK
    text = "朱镕基路的仓库发货延迟，请尽快处理。"
    raw = raw_mail(encoded_word("发货延迟", "gb2312"), "text/plain; charset=gb2312", text.encode("gb18030"))
    code, _text = converse(smtp_port, raw)
    assert code == 250
    (need,) = needs_of(tenant)
    assert (need.subject, need.body, need.problems) == ("发货延迟", text, [])


def test_big5_body_and_subject_are_decoded(smtp_port, tenant):
    text = "請盡快提供報價單，謝謝。"
    raw = raw_mail(encoded_word("報價請求", "big5"), "text/plain; charset=big5", text.encode("big5"))
    code, _text = converse(smtp_port, raw)
    assert code == 250
    (need,) = needs_of(tenant)
    assert (need.subject, need.body, need.problems) == ("報價請求", text, [])


def test_undeclared_big5_8bit_body_falls_back_and_says_so(smtp_port, tenant):
    text = "機器無法啟動，請派工程師。"
    raw = raw_mail("Repair", "text/plain", text.encode("big5"), encoding="8bit")
    code, _text = converse(smtp_port, raw)
    assert code == 250
    (need,) = needs_of(tenant)
    assert need.body == text
    assert need.problems == ["The text declares no charset; it was read as big5hkscs."]


def test_wrongly_declared_charset_falls_back_to_gb18030(smtp_port, tenant):
    text = "发票抬头需要修改"
    raw = raw_mail("Invoice", "text/plain; charset=utf-8", text.encode("gb18030"))
    code, _text = converse(smtp_port, raw)
    assert code == 250
    (need,) = needs_of(tenant)
    assert need.body == text
    assert need.problems == ["The text was declared as utf-8 but is not; it was read as gb18030."]


def test_html_only_mail_is_read_as_text(smtp_port, tenant):
    markup = "<html><head><style>p{}</style></head><body><p>请报价&nbsp;<b>200台</b></p><p>谢谢</p></body></html>"
    raw = raw_mail(encoded_word("报价", "utf-8"), "text/html; charset=utf-8", markup.encode())
    code, _text = converse(smtp_port, raw)
    assert code == 250
    (need,) = needs_of(tenant)
    assert need.body == "请报价 200台\n\n谢谢"


# --- bad input -----------------------------------------------------------------------------------


def test_empty_body_keeps_the_subject_and_notes_it(smtp_port, tenant):
    code, _text = converse(smtp_port, mail(subject="请回电", body=""))
    assert code == 250
    (need,) = needs_of(tenant)
    assert (need.subject, need.body) == ("请回电", "")
    assert need.problems == ["The message has no text; only its subject was kept."]


def test_neither_subject_nor_text_is_refused_with_554(smtp_port, tenant):
    code, text = converse(smtp_port, mail(subject="", body=""))
    assert (code, text) == (554, "5.6.0 The message has neither a subject nor a text.")
    assert needs_of(tenant) == []


def test_malformed_mime_keeps_what_could_be_read(smtp_port, tenant):
    # given: a multipart message whose closing boundary never comes
    raw = (
        b"From: li.wei@customer.cn\r\nTo: " + ACME.encode() + b"\r\nSubject: broken\r\n"
        b"Message-ID: <broken@customer.cn>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="XYZ"\r\n\r\n'
        b"--XYZ\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        b"\xe8\xae\xa2\xe5\x8d\x95\xe7\xbc\xba\xe8\xb4\xa7\r\n"
    )
    code, _text = converse(smtp_port, raw)
    assert code == 250
    (need,) = needs_of(tenant)
    assert (need.subject, need.body) == ("broken", "订单缺货")
    assert need.problems == [
        "The message's MIME structure is damaged (CloseBoundaryNotFoundDefect); what could be read was kept."
    ]


def test_message_over_the_limit_is_refused_with_552_during_data(smtp_port, tenant):
    big = mail(body="大" * MAX_BYTES)  # 3 bytes a character in UTF-8, base64 on top
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as smtp:
        smtp.ehlo()
        smtp.mail("li.wei@customer.cn")  # no SIZE: the limit is found while the data comes
        smtp.rcpt(ACME)
        code, text = smtp.data(big)
    assert (code, text.decode()) == (552, "Error: Too much mail data")
    assert needs_of(tenant) == []


def test_large_attachment_under_the_limit_is_left_out_with_a_note(smtp_port, tenant):
    message = EmailMessage()
    message["From"] = "li.wei@customer.cn"
    message["To"] = ACME
    message["Subject"] = "图纸"
    message["Message-ID"] = "<att@customer.cn>"
    message.set_content("图纸见附件")
    message.add_attachment(b"\x89PNG" + b"\x00" * (300 * 1024), maintype="image", subtype="png", filename="图纸.png")
    code, _text = converse(smtp_port, message.as_bytes(policy=SMTP))
    assert code == 250
    (need,) = needs_of(tenant)
    assert need.body == "图纸见附件"
    # 300 KiB + 4 bytes, in whole KB
    assert need.problems == ["Attachment left out (attachments are not stored): 图纸.png, 300 KB."]


def test_the_same_message_id_again_stores_nothing_new(smtp_port, tenant):
    first = converse(smtp_port, mail())
    again = converse(smtp_port, mail(body="resent by the relay"))
    (need,) = needs_of(tenant)
    assert first == (250, f"2.0.0 Received: acme#{need.pk}")
    assert again == (250, f"2.0.0 Received: acme#{need.pk} (already received)")
    assert need.body == "3号线的设备今天早上无法启动。"


def test_implausible_date_is_replaced_by_the_time_of_receipt(smtp_port, tenant):
    code, _text = converse(smtp_port, mail(date="Mon, 01 Jan 2001 08:00:00 +0800"))
    assert code == 250
    (need,) = needs_of(tenant)
    assert need.received_at.year >= 2026
    assert need.problems == [
        "The Date header (Mon, 01 Jan 2001 08:00:00 +0800) is not plausible; the time of receipt is used."
    ]
