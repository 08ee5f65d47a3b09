"""Messages in each vendor's own format (DESIGN section 15), in the channel's language.

- WeCom (企业微信): ``{"msgtype": "markdown", "markdown": {"content": ...}}``; the content
  at most 4,096 bytes. Its markdown cannot @mention by mobile number (only text messages
  can), so the owner is named.
- DingTalk (钉钉): ``{"msgtype": "markdown", "markdown": {"title", "text"}, "at":
  {"atMobiles": [...], "isAtAll": false}}``; an owner with a mobile number is @mentioned
  (the number in ``atMobiles`` and ``@number`` in the text, as DingTalk requires).
- Feishu (飞书): an interactive card (header, ``div`` elements in ``lark_md``, a button to
  the page); the signature fields are added when it is sent.
- E-mail: subject and plain text; webhook: the text with the items' facts as JSON.

One alert is told in full; several waiting at once are merged into one message listing
them (as many as fit the vendor's size limit, at most ``MAX_MERGED``): that is how a burst
of alerts stays within a robot's 20 messages a minute without dropping any.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext_lazy

from kam.formats import format_datetime, format_money, formats_for
from kam.models import Tenant
from messaging.models import Channel, ChannelKind, ItemTopic
from risk.models import AlertKind, Severity
from risk.notifications import alert_summary

# The most bytes of a message's text (WeCom: the vendor's limit; the others: well within theirs).
SIZE_LIMITS = {
    ChannelKind.WECOM_ROBOT: 4096,
    ChannelKind.DINGTALK_ROBOT: 18000,
    ChannelKind.FEISHU_ROBOT: 25000,
    ChannelKind.EMAIL: 200_000,
    ChannelKind.WEBHOOK: 200_000,
}
MAX_MERGED = 50
# Lines per section of the digest; the rest are counted.
DIGEST_LINES = 10

SEVERITY_ICON = {Severity.CRITICAL: "🔴", Severity.WARNING: "🟠", Severity.INFO: "🔵"}
WECOM_COLOUR = {Severity.CRITICAL: "warning", Severity.WARNING: "comment", Severity.INFO: "info"}
FEISHU_TEMPLATE = {Severity.CRITICAL: "red", Severity.WARNING: "orange", Severity.INFO: "blue"}

# The words of the messages, in the context of a chat message (their own translations: a
# bare "Open" means "unpaid" on an invoice).
LABEL = {
    "account": pgettext_lazy("channel message", "Account"),
    "alert": pgettext_lazy("channel message", "Alert"),
    "figures": pgettext_lazy("channel message", "Figures"),
    "owner": pgettext_lazy("channel message", "Owner"),
    "opened": pgettext_lazy("channel message", "Opened"),
    "open_alert": pgettext_lazy("channel message", "Open the alert"),
    "escalated": pgettext_lazy("channel message", "escalated"),
    "open": pgettext_lazy("channel message", "Open"),
    "digest_heading": pgettext_lazy("channel message", "KAM daily digest"),
    "none": pgettext_lazy("channel message", "none"),
    "due": pgettext_lazy("channel message", "due"),
    "open_risk_center": pgettext_lazy("channel message", "Open the risk center"),
    "test_heading": pgettext_lazy("channel message", "KAM test message"),
    "sent_by": pgettext_lazy("channel message", "Sent by"),
    "daily_digest": pgettext_lazy("channel message", "Daily digest"),
    "test_message": pgettext_lazy("channel message", "Test message"),
}


@dataclass
class Message:
    title: str
    payload: dict[str, Any]
    mentions: list[str] = field(default_factory=list)

    def size(self) -> int:
        return len(json.dumps(self.payload, ensure_ascii=False).encode())


def severity_label(severity: str) -> str:
    return str(Severity(severity).label) if severity in Severity.values else severity


def kind_label(kind: str) -> str:
    return str(AlertKind(kind).label) if kind in AlertKind.values else kind


def _local(tenant: Tenant, value: str | None) -> str:
    """An instant of the facts (ISO 8601) in the tenant's time zone, to the minute."""
    return format_datetime(value, tenant, empty="") if value else ""


def _colon() -> str:
    """The colon after a label: full-width in Chinese (客户：…), a colon and a space in English."""
    return "：" if (translation.get_language() or "").startswith("zh") else ": "


def _label(key: str) -> str:
    """A field's label in bold with its colon (the space after it outside the bold, where
    markdown wants it)."""
    colon = _colon()
    return f"**{LABEL[key]}{colon.strip()}**{colon[1:]}"


def _escape(text: str) -> str:
    """Markdown's active characters in names and sentences, made harmless."""
    return str(text).replace("[", "［").replace("]", "］").replace("<", "‹").replace(">", "›").replace("*", "＊")


def _mobile(item: dict[str, Any]) -> str:
    owner = item.get("owner") or {}
    return str(owner.get("mobile") or "")


# --- the words, shared by every vendor ---------------------------------------------------------------


def _alert_heading(item: dict[str, Any]) -> str:
    account = (item.get("account") or {}).get("name")
    label = kind_label(item["kind"])
    return f"{label} · {_escape(account)}" if account else label


def _owner_text(channel: Channel, item: dict[str, Any]) -> str:
    owner = item.get("owner") or {}
    if not owner:
        return _("no owner")
    name = _escape(owner.get("name") or "")
    mobile = _mobile(item)
    if channel.kind == ChannelKind.DINGTALK_ROBOT and mobile:
        return f"{name} @{mobile}"
    return name


def _event_text(item: dict[str, Any]) -> str:
    return _("Escalated") if item.get("event") == "escalated" else _("New alert")


def _alert_lines(channel: Channel, tenant: Tenant, item: dict[str, Any]) -> list[str]:
    """One alert told in full, as markdown lines."""
    severity = item["severity"]
    account = item.get("account") or {}
    lines = []
    if channel.kind == ChannelKind.WECOM_ROBOT:
        colour = WECOM_COLOUR.get(severity, "comment")
        lines.append(f'### <font color="{colour}">{severity_label(severity)}</font> {_alert_heading(item)}')
    else:
        lines.append(f"### {SEVERITY_ICON.get(severity, '')} {severity_label(severity)} · {_alert_heading(item)}")
    if account:
        tier = f" ({account['tier']})" if account.get("tier") else ""
        lines.append(f"{_label('account')}{_escape(account.get('name', ''))}{tier}")
    lines.append(f"{_label('alert')}{kind_label(item['kind'])} · {severity_label(severity)} · {_event_text(item)}")
    lines.append(f"{_label('figures')}{_escape(alert_summary(item['kind'], item.get('details') or {}))}")
    lines.append(f"{_label('owner')}{_owner_text(channel, item)}")
    lines.append(f"{_label('opened')}{_local(tenant, item.get('opened_at'))}")
    lines.append(f"[{LABEL['open_alert']}]({item['link']})")
    return lines


def _alert_line(channel: Channel, item: dict[str, Any], number: int) -> str:
    """One alert among several, on one line."""
    severity = item["severity"]
    summary = _escape(alert_summary(item["kind"], item.get("details") or {}))
    escalated = f" ({LABEL['escalated']})" if item.get("event") == "escalated" else ""
    return (
        f"{number}. {SEVERITY_ICON.get(severity, '')} **{severity_label(severity)} · {_alert_heading(item)}**{escalated}"
        f" — {summary} · {_owner_text(channel, item)} [{LABEL['open']}]({item['link']})"
    )


def _alerts_title(tenant: Tenant, items: list[dict[str, Any]]) -> str:
    if len(items) == 1:
        item = items[0]
        return f"KAM · {severity_label(item['severity'])} · {_alert_heading(item)}"
    return "KAM · " + ngettext("%(count)s alert", "%(count)s alerts", len(items)) % {"count": len(items)}


def _alerts_markdown(channel: Channel, tenant: Tenant, items: list[dict[str, Any]]) -> str:
    if len(items) == 1:
        return "\n".join(_alert_lines(channel, tenant, items[0]))
    critical = sum(1 for item in items if item["severity"] == Severity.CRITICAL)
    heading = ngettext(
        "%(count)s alerts at once (%(critical)s critical)",
        "%(count)s alerts at once (%(critical)s critical)",
        len(items),
    ) % {"count": len(items), "critical": critical}
    lines = [f"### {heading} · {_escape(tenant.name)}"]
    lines += [_alert_line(channel, item, number) for number, item in enumerate(items, 1)]
    return "\n".join(lines)


def _digest_markdown(channel: Channel, tenant: Tenant, item: dict[str, Any]) -> str:
    data = item
    lines = [f"### {LABEL['digest_heading']} · {_escape(tenant.name)} · {data['date']}"]

    def section(title: str, rows: list[str], total: int, link: str | None = None) -> None:
        lines.append("")
        lines.append(f"**{title}{_colon()}{total}**")
        if not rows:
            lines.append(f"- {LABEL['none']}")
        lines.extend(f"- {row}" for row in rows[:DIGEST_LINES])
        if total > min(len(rows), DIGEST_LINES):
            more = _("… and %(count)s more") % {"count": total - min(len(rows), DIGEST_LINES)}
            lines.append(f"- [{more}]({link})" if link else f"- {more}")

    def alert_row(alert: dict[str, Any]) -> str:
        summary = _escape(alert_summary(alert["kind"], alert.get("details") or {}))
        return f"{_alert_heading(alert)} — {summary} [{LABEL['open']}]({alert['link']})"

    section(
        _("New critical alerts (24 h)"),
        [alert_row(a) for a in data["critical_alerts"]],
        data["critical_total"],
        data.get("risk_center"),
    )
    section(
        _("SLA breaches (24 h)"),
        [alert_row(a) for a in data["sla_breaches"]],
        data["sla_total"],
        data.get("risk_center"),
    )
    section(
        _("Tier moves of S and A accounts (24 h)"),
        [f"{_escape(move['account'])}{_colon()}{move['from']} → {move['to']}" for move in data["tier_moves"]],
        data["tier_total"],
    )
    section(
        _("Renewals due this week"),
        [
            f"{_escape(r['account'])} · {_escape(r['contract'])} · {LABEL['due']} {r['due_on']}"
            f" · {format_money(r['value'], channel.language, tenant.currency)} · {_escape(r['owner'] or _('no owner'))}"
            for r in data["renewals"]
        ],
        data["renewal_total"],
        data.get("renewals_page"),
    )
    if data.get("risk_center"):
        lines.append("")
        lines.append(f"[{LABEL['open_risk_center']}]({data['risk_center']})")
    return "\n".join(lines)


def _test_markdown(channel: Channel, tenant: Tenant, item: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"### {LABEL['test_heading']}",
            _(
                "The channel “%(name)s” of %(tenant)s is connected: alerts, SLA breaches and the daily digest will arrive here."
            )
            % {"name": _escape(channel.name), "tenant": _escape(tenant.name)},
            f"{_label('sent_by')}{_escape(item.get('by') or '')} · {_local(tenant, item.get('at'))}",
        ]
    )


def _title(channel: Channel, tenant: Tenant, topic: str, items: list[dict[str, Any]]) -> str:
    if topic == ItemTopic.DIGEST:
        return f"KAM · {LABEL['daily_digest']} · {items[0]['date']}"
    if topic == ItemTopic.TEST:
        return f"KAM · {LABEL['test_message']}"
    return _alerts_title(tenant, items)


def _markdown(channel: Channel, tenant: Tenant, topic: str, items: list[dict[str, Any]]) -> str:
    if topic == ItemTopic.DIGEST:
        return _digest_markdown(channel, tenant, items[0])
    if topic == ItemTopic.TEST:
        return _test_markdown(channel, tenant, items[0])
    return _alerts_markdown(channel, tenant, items)


def _feishu_card(title: str, template: str, markdown: str, link: str | None, button: str) -> dict[str, Any]:
    """A Feishu interactive card: the header, the text split into ``div`` blocks at the
    blank lines and list items, and a button to the page."""
    blocks: list[str] = []
    for paragraph in markdown.split("\n"):
        if paragraph.startswith("### "):
            continue  # the header says it
        if not blocks or paragraph == "" or paragraph[:3].rstrip(".").isdigit():
            blocks.append(paragraph)
        else:
            blocks[-1] += "\n" + paragraph
    elements: list[dict[str, Any]] = [
        {"tag": "div", "text": {"tag": "lark_md", "content": block.strip()}} for block in blocks if block.strip()
    ]
    if link:
        elements.append(
            {
                "tag": "action",
                "actions": [
                    {"tag": "button", "text": {"tag": "plain_text", "content": button}, "type": "primary", "url": link}
                ],
            }
        )
    return {
        "config": {"wide_screen_mode": True},
        "header": {"title": {"tag": "plain_text", "content": title}, "template": template},
        "elements": elements,
    }


def _without_mobile(item: dict[str, Any]) -> dict[str, Any]:
    """The facts as a webhook receives them: the owner's mobile number is for the robots'
    @mention only, not for any system a webhook feeds."""
    owner = item.get("owner")
    if not isinstance(owner, dict) or "mobile" not in owner:
        return item
    return {**item, "owner": {key: value for key, value in owner.items() if key != "mobile"}}


def render(channel: Channel, tenant: Tenant, topic: str, items: list[dict[str, Any]]) -> Message:
    """The message that tells ``items`` (one digest or test, or one or more alerts) on the
    channel, in its language and its vendor's format; amounts in the tenant's currency and
    times in its time zone (the alerts' summaries too)."""
    with translation.override(channel.language), formats_for(tenant):
        title = _title(channel, tenant, topic, items)
        markdown = _markdown(channel, tenant, topic, items)
        mentions = sorted({_mobile(item) for item in items if _mobile(item)}) if topic == ItemTopic.ALERT else []
        if topic == ItemTopic.ALERT:
            link = items[0]["link"] if len(items) == 1 else items[0].get("risk_center")
            button = _("Open the alert") if len(items) == 1 else _("Open the risk center")
            severities = {item["severity"] for item in items}
            top = next((s for s in (Severity.CRITICAL, Severity.WARNING, Severity.INFO) if s in severities), "info")
            template = FEISHU_TEMPLATE.get(top, "blue")
        else:
            link = items[0].get("risk_center") if topic == ItemTopic.DIGEST else items[0].get("link")
            button = _("Open the risk center") if topic == ItemTopic.DIGEST else _("Open KAM")
            template = "blue" if topic == ItemTopic.DIGEST else "green"
        if channel.kind == ChannelKind.WECOM_ROBOT:
            payload: dict[str, Any] = {"msgtype": "markdown", "markdown": {"content": markdown}}
        elif channel.kind == ChannelKind.DINGTALK_ROBOT:
            payload = {
                "msgtype": "markdown",
                # DingTalk's markdown breaks a line only at a blank line.
                "markdown": {"title": title, "text": re.sub(r"\n+", "\n\n", markdown)},
                "at": {"atMobiles": mentions, "isAtAll": False},
            }
        elif channel.kind == ChannelKind.FEISHU_ROBOT:
            payload = {"msg_type": "interactive", "card": _feishu_card(title, template, markdown, link, button)}
        elif channel.kind == ChannelKind.EMAIL:
            payload = {"subject": title, "text": markdown}
        else:
            payload = {
                "event": f"channel.{topic}",
                "tenant": tenant.slug,
                "channel": channel.pk,
                "language": channel.language,
                "title": title,
                "text": markdown,
                "items": [_without_mobile(item) for item in items],
            }
        return Message(title=title[:300], payload=payload, mentions=mentions)


def text_size(channel: Channel, message: Message) -> int:
    """The bytes the vendor counts against its limit."""
    if channel.kind == ChannelKind.WECOM_ROBOT:
        return len(message.payload["markdown"]["content"].encode())
    if channel.kind == ChannelKind.DINGTALK_ROBOT:
        return len(message.payload["markdown"]["text"].encode())
    return message.size()


def fits(channel: Channel, message: Message) -> bool:
    return text_size(channel, message) <= SIZE_LIMITS[ChannelKind(channel.kind)]
