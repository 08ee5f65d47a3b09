"""The forms of the channel pages (messaging/views.py).

They only read what was posted into the shapes the service takes: every rule of a channel
(the URL of each vendor, the addresses, the secret's length, the time, the routes) is
``services.channel_validate``'s, so that the pages and the API refuse the same things with
the same words. The fields are therefore lenient (a URL is a plain text here) and the
service's ValidationError is put beside them (:func:`add_channel_errors`).

The routes matrix is one select per routable alert kind, named ``route_<kind>``: Off, or the
minimum severity that is sent.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from messaging.models import URL_KINDS, Channel, ChannelKind, ChannelLanguage
from messaging.services import ROUTABLE_KINDS
from risk.models import AlertKind, Severity

ROUTE_PREFIX = "route_"
TIME_FORMAT = re.compile(r"\d{2}:\d{2}(:\d{2})?")
ROUTE_CHOICES = [
    ("", pgettext_lazy("channel route", "Off")),
    (Severity.INFO.value, _("Info and above")),
    (Severity.WARNING.value, _("Warning and above")),
    (Severity.CRITICAL.value, _("Critical only")),
]
# What a new channel is sent until someone changes it: every alert of warning and above.
DEFAULT_ROUTE = Severity.WARNING.value

# The form of each vendor's robot URL, shown under the URL field (… is the robot's token).
URL_FORMS: dict[str, str] = {
    ChannelKind.WECOM_ROBOT: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…",
    ChannelKind.DINGTALK_ROBOT: "https://oapi.dingtalk.com/robot/send?access_token=…",
    ChannelKind.FEISHU_ROBOT: "https://open.feishu.cn/open-apis/bot/v2/hook/…",
    ChannelKind.WEBHOOK: "https://bi.example.com/kam/channel",
}
SECRET_HELP: dict[str, Any] = {
    ChannelKind.WECOM_ROBOT: _("WeCom group robots are not signed: leave it blank."),
    ChannelKind.DINGTALK_ROBOT: _(
        "The robot's signing secret (security setting “加签”, it starts with SEC). Blank if the robot uses keywords or IP addresses instead."
    ),
    ChannelKind.FEISHU_ROBOT: _(
        "The robot's signature verification secret (security setting “签名校验”). Blank if the robot does not verify signatures."
    ),
    ChannelKind.WEBHOOK: _(
        "Signs each request (X-KAM-Signature, as risk's webhooks do). Leave it blank to have one made; it is shown once."
    ),
}
URL_HELP: dict[str, Any] = {
    ChannelKind.WECOM_ROBOT: _("The robot's webhook address, copied from the group's robot settings."),
    ChannelKind.DINGTALK_ROBOT: _("The robot's webhook address, copied from the group's robot settings."),
    ChannelKind.FEISHU_ROBOT: _("The robot's webhook address, copied from the group's robot settings."),
    ChannelKind.WEBHOOK: _("An http or https address that accepts signed JSON POST requests."),
}


def route_field_name(kind: str) -> str:
    return f"{ROUTE_PREFIX}{kind}"


def add_channel_errors(form: forms.Form, exc: ValidationError) -> None:
    """The service's errors beside the fields they name; the routes' above the matrix, the
    rest (and a field the form does not show, such as the kind on an edit) above the form."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, messages in exc.message_dict.items():
        if field == "alert_routes":
            form.routes_errors.extend(messages)
            form.add_error(None, messages)
        elif field in form.fields:
            form.add_error(field, messages)
        else:
            form.add_error(None, messages)


class RoutesForm(forms.Form):
    """What a channel is sent (the routes matrix, SLA breaches, the digest), in which language,
    and whether it is on: the settings on the channel's own page."""

    # Plain texts with a select: the service says what is wrong with a value, with every other error.
    language = forms.CharField(
        label=_("Language"),
        initial=ChannelLanguage.ZH_HANS,
        required=False,
        help_text=_("The language of the messages this channel is sent."),
        widget=forms.Select(choices=ChannelLanguage.choices),
    )
    sla_breaches = forms.BooleanField(
        label=_("SLA breaches"),
        required=False,
        initial=True,
        help_text=_("A message when a service ticket breaches its SLA."),
    )
    daily_digest = forms.BooleanField(
        label=_("Daily digest"),
        required=False,
        initial=True,
        help_text=_("Open alerts, breaches and renewals due, once a day."),
    )
    digest_time = forms.CharField(
        label=_("Digest time"),
        required=False,
        initial="08:30",
        help_text=_("In the workspace's time zone, e.g. 08:30."),
        # A text box, not the browser's time picker (its own locale and 12-hour clock on a Chinese page).
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "pattern": "[0-2][0-9]:[0-5][0-9]", "placeholder": "08:30", "size": 6}
        ),
    )
    is_active = forms.BooleanField(
        label=pgettext_lazy("channel status", "Active"),
        required=False,
        initial=True,
        help_text=_("Switched off, the channel is sent nothing; what is waiting stays queued."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.routes_errors: list[str] = []
        labels = dict(AlertKind.choices)
        for kind in ROUTABLE_KINDS:
            self.fields[route_field_name(kind)] = forms.ChoiceField(
                label=labels.get(kind, kind),
                choices=ROUTE_CHOICES,
                required=False,
                initial=DEFAULT_ROUTE,
                error_messages={"invalid_choice": _("Choose Off or a severity from the list.")},
            )

    def route_fields(self) -> list[forms.BoundField]:
        """The matrix's rows, in the order of risk's alert kinds."""
        return [self[route_field_name(kind)] for kind in ROUTABLE_KINDS]

    def clean_digest_time(self) -> str:
        # The service reads ISO times; refuse here what it would read as something else (an offset).
        value = (self.cleaned_data.get("digest_time") or "").strip()
        if value and not TIME_FORMAT.fullmatch(value):
            raise ValidationError(_("Give a time as HH:MM."))
        return value

    def channel_values(self) -> dict[str, Any]:
        """The cleaned values as the service's fields (a blank time keeps the default)."""
        data = self.cleaned_data
        routes = {kind: data[route_field_name(kind)] for kind in ROUTABLE_KINDS if data.get(route_field_name(kind))}
        values: dict[str, Any] = {
            "language": data["language"],
            "alert_routes": routes,
            "sla_breaches": data["sla_breaches"],
            "daily_digest": data["daily_digest"],
            "is_active": data["is_active"],
        }
        if data["digest_time"]:
            values["digest_time"] = data["digest_time"]
        return values


class ChannelForm(RoutesForm):
    """A whole channel: adding one (``kind`` chosen) or editing one (``kind`` fixed). The
    secret is write-only: never shown back, and blank on an edit keeps it."""

    name = forms.CharField(
        label=_("Name"),
        required=False,
        help_text=_("How the channel is called here, e.g. the group's name."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    kind = forms.CharField(
        label=_("Kind"),
        required=False,
        initial=ChannelKind.WECOM_ROBOT,
        widget=forms.Select(choices=ChannelKind.choices),
    )
    url = forms.CharField(
        label=_("URL"),
        required=False,
        max_length=Channel._meta.get_field("url").max_length,
        widget=forms.URLInput(attrs={"placeholder": "https://", "autocomplete": "off", "spellcheck": "false"}),
    )
    recipients = forms.CharField(
        label=_("Recipients"),
        required=False,
        max_length=5000,
        help_text=_("E-mail addresses, one a line or separated by commas; at most 20."),
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
    )
    secret = forms.CharField(
        label=_("Secret"),
        required=False,
        max_length=1000,
        strip=True,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "spellcheck": "false"}),
    )

    field_order = ["name", "kind", "url", "recipients", "secret", "language"]

    def __init__(self, *args: Any, channel: Channel | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.channel = channel
        if channel is not None:
            # The kind cannot change after creation: shown, not posted.
            del self.fields["kind"]
            if channel.secret:
                self.fields["secret"].help_text = _(
                    "Now %(hint)s. Leave it blank to keep it; type a new one to replace it."
                ) % {"hint": channel.secret_hint}
            else:
                self.fields["secret"].help_text = SECRET_HELP.get(channel.kind, "")
            self.fields["url"].help_text = URL_HELP.get(channel.kind, "")

    @property
    def kind_value(self) -> str:
        """The channel's kind, or the one chosen (posted or initial) on a new channel."""
        if self.channel is not None:
            return self.channel.kind
        value = self.data.get("kind") if self.is_bound else self.initial.get("kind")
        return value if value in ChannelKind.values else ChannelKind.WECOM_ROBOT

    @property
    def shows_url(self) -> bool:
        return self.channel is None or self.channel.kind in URL_KINDS

    @property
    def shows_recipients(self) -> bool:
        return self.channel is None or self.channel.kind == ChannelKind.EMAIL

    @property
    def shows_secret(self) -> bool:
        return self.channel is None or self.channel.kind != ChannelKind.EMAIL

    def url_forms(self) -> list[tuple[str, str, str]]:
        """(kind, label, example URL) for the help under the URL field."""
        kinds = [self.channel.kind] if self.channel is not None else list(URL_FORMS)
        return [(kind, str(ChannelKind(kind).label), URL_FORMS[kind]) for kind in kinds if kind in URL_FORMS]

    def secret_helps(self) -> list[tuple[str, str]]:
        return [(kind, str(text)) for kind, text in SECRET_HELP.items()]

    def channel_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        values = super().channel_values()
        values["name"] = data["name"]
        if self.channel is None:
            values["kind"] = data["kind"]
        kind = self.kind_value
        if kind == ChannelKind.EMAIL:
            values["recipients"] = data["recipients"]
        else:
            values["url"] = data["url"]
            values["secret"] = data["secret"]
        return values


def routes_initial(channel: Channel) -> dict[str, Any]:
    """A channel's values as a form's initial data (never its secret)."""
    routes = channel.alert_routes or {}
    digest_time = channel.digest_time or dt.time(8, 30)
    initial: dict[str, Any] = {
        "language": channel.language,
        "sla_breaches": channel.sla_breaches,
        "daily_digest": channel.daily_digest,
        "digest_time": digest_time.strftime("%H:%M"),
        "is_active": channel.is_active,
    }
    for kind in ROUTABLE_KINDS:
        initial[route_field_name(kind)] = routes.get(kind, "")
    return initial


def channel_initial(channel: Channel) -> dict[str, Any]:
    return {
        **routes_initial(channel),
        "name": channel.name,
        "url": channel.url,
        "recipients": "\n".join(channel.recipients or []),
    }
