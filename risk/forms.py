"""Forms of the risk settings pages: the risk policy (warning lines and alert thresholds) and
webhook endpoints; and the ids the risk pages post (posted_id).

The limits of every policy field are read from the model's validators, so the page, the
API and the service agree on them; the form only turns percentages (10 = 10 %) into the
fractions the model keeps (0.10). Rules across fields (a critical line not below its
warning line) and the webhook URL's rules stay in risk.services, whose errors are put
beside the fields (add_service_errors).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from kam.api.fields import MAX_ID
from kam.formats import plain_number
from risk.models import RiskPolicy, WebhookEndpoint, WebhookEvent

__all__ = [
    "POLICY_GROUPS",
    "RiskPolicyForm",
    "WebhookEndpointForm",
    "endpoint_initial",
    "posted_id",
]

HUNDRED = Decimal(100)


class Unit:
    """How a policy value is entered: a share in percent, a number, or whole days."""

    SHARE = "share"
    NUMBER = "number"
    DAYS = "days"


@dataclass(frozen=True)
class PolicySetting:
    name: str
    label: Promise
    help: Promise
    unit: str
    suffix: Promise | str = ""


@dataclass(frozen=True)
class PolicyGroup:
    key: str
    title: Promise
    intro: Promise
    settings: tuple[PolicySetting, ...]


# The page's sections, in the order of DESIGN section 6.
POLICY_GROUPS: tuple[PolicyGroup, ...] = (
    PolicyGroup(
        "concentration",
        gettext_lazy("Concentration warning lines"),
        gettext_lazy(
            "Shares of the revenue of the last 12 months, over customer groups: a parent and all its "
            "subsidiaries count as one customer."
        ),
        (
            PolicySetting(
                "single_customer_warning",
                gettext_lazy("Single customer: warning"),
                gettext_lazy("A customer group whose share of revenue reaches this line opens a warning."),
                Unit.SHARE,
                "%",
            ),
            PolicySetting(
                "single_customer_critical",
                gettext_lazy("Single customer: critical"),
                gettext_lazy("At or above this share the alert becomes critical. Not below the warning line."),
                Unit.SHARE,
                "%",
            ),
            PolicySetting(
                "top5_warning",
                gettext_lazy("Top 5 customers: warning"),
                gettext_lazy("The five largest customer groups together at or above this share open a warning."),
                Unit.SHARE,
                "%",
            ),
            PolicySetting(
                "hhi_warning",
                gettext_lazy("HHI: warning"),
                gettext_lazy(
                    "The Herfindahl index, the sum of (100 × each group's share)², from 0 to 10,000: at or "
                    "above this line it opens a warning."
                ),
                Unit.NUMBER,
            ),
            PolicySetting(
                "hhi_critical",
                gettext_lazy("HHI: critical"),
                gettext_lazy("At or above this index the alert becomes critical. Not below the warning line."),
                Unit.NUMBER,
            ),
        ),
    ),
    PolicyGroup(
        "health",
        gettext_lazy("Health"),
        gettext_lazy("Customer health assessment, 0 to 100 points, run every night."),
        (
            PolicySetting(
                "health_drop_points",
                gettext_lazy("Health drop"),
                gettext_lazy(
                    "A fall of at least this many points since the account's previous assessment opens an alert."
                ),
                Unit.NUMBER,
                gettext_lazy("points"),
            ),
        ),
    ),
    PolicyGroup(
        "purchase",
        gettext_lazy("Purchase rhythm"),
        gettext_lazy("The usual interval is the median number of days between an account's orders."),
        (
            PolicySetting(
                "purchase_overdue_ratio",
                gettext_lazy("Purchase overdue at"),
                gettext_lazy(
                    "A purchase is overdue when the days since the last order exceed this many times the usual "
                    "interval."
                ),
                Unit.NUMBER,
                gettext_lazy("× the usual interval"),
            ),
        ),
    ),
    PolicyGroup(
        "payments",
        gettext_lazy("Payments"),
        gettext_lazy("Invoices and their due dates."),
        (
            PolicySetting(
                "payment_overdue_days",
                gettext_lazy("Payment overdue after"),
                gettext_lazy("An invoice still unpaid more than this many days after its due date opens an alert."),
                Unit.DAYS,
                gettext_lazy("days"),
            ),
        ),
    ),
    PolicyGroup(
        "contracts",
        gettext_lazy("Contracts"),
        gettext_lazy("Contract renewals."),
        (
            PolicySetting(
                "contract_expiring_days",
                gettext_lazy("Contract expiring within"),
                gettext_lazy(
                    "An account whose last contract ends within this many days and does not renew itself gets an alert."
                ),
                Unit.DAYS,
                gettext_lazy("days"),
            ),
        ),
    ),
    PolicyGroup(
        "recent",
        gettext_lazy("Recent changes"),
        gettext_lazy("Departures of key contacts, leadership changes and mergers."),
        (
            PolicySetting(
                "recent_days",
                gettext_lazy("Recent for"),
                gettext_lazy(
                    "How long a key contact's departure, or a leadership change or merger, keeps asking for attention."
                ),
                Unit.DAYS,
                gettext_lazy("days"),
            ),
        ),
    ),
)
POLICY_SETTINGS = {setting.name: setting for group in POLICY_GROUPS for setting in group.settings}


def _limits(name: str) -> tuple[Decimal, Decimal]:
    """The model field's minimum and maximum, from its validators (one source for page, API and service)."""
    field = RiskPolicy._meta.get_field(name)
    low = next(v.limit_value for v in field.validators if isinstance(v, MinValueValidator))
    high = next(v.limit_value for v in field.validators if isinstance(v, MaxValueValidator))
    return Decimal(low), Decimal(high)


def _display(setting: PolicySetting, value: Decimal | int) -> Decimal | int:
    return Decimal(value) * HUNDRED if setting.unit == Unit.SHARE else value


class PlainMessagesMixin:
    """Field errors given as finished text. Django %-formats a validator's message with its
    params, so a percent sign in a message (or in its translation) would break it."""

    def clean(self, value: Any) -> Any:
        try:
            return super().clean(value)  # type: ignore[misc]
        except ValidationError as exc:
            raise ValidationError(
                [ValidationError(error.message, code=error.code) for error in exc.error_list]
            ) from exc


class PolicyDecimalField(PlainMessagesMixin, forms.DecimalField):
    pass


class PolicyIntegerField(PlainMessagesMixin, forms.IntegerField):
    pass


def _policy_field(setting: PolicySetting) -> forms.Field:
    """A field in the unit people think in, with the model's limits and a message that names them."""
    model_field = RiskPolicy._meta.get_field(setting.name)
    low, high = (_display(setting, limit) for limit in _limits(setting.name))
    limits = {"low": plain_number(low), "high": plain_number(high)}
    if setting.unit == Unit.SHARE:
        message = _("Enter a percentage from %(low)s to %(high)s, e.g. 10 for 10 %%.") % limits
        places = model_field.decimal_places - 2
    elif setting.unit == Unit.DAYS:
        message = _("Enter a whole number of days from %(low)s to %(high)s.") % limits
        places = 0
    else:
        message = _("Enter a number from %(low)s to %(high)s.") % limits
        places = model_field.decimal_places
    # A no-break space keeps "10 %" and "30 days" on one line.
    default = f"{plain_number(_display(setting, model_field.default))}\u00a0{setting.suffix}".strip()
    help_text = _("%(help)s Default: %(value)s.") % {"help": setting.help, "value": default}
    errors = dict.fromkeys(("required", "invalid", "min_value", "max_value", "max_digits", "max_whole_digits"), message)
    errors["max_decimal_places"] = (
        _("Use at most %(places)s decimal places.") % {"places": places} if places else message
    )
    attrs = {"inputmode": "decimal" if places else "numeric", "class": "policy-input"}
    if setting.unit == Unit.DAYS:
        return PolicyIntegerField(
            label=setting.label,
            min_value=int(low),
            max_value=int(high),
            help_text=help_text,
            error_messages=errors,
            widget=forms.NumberInput(attrs={**attrs, "step": "1"}),
        )
    return PolicyDecimalField(
        label=setting.label,
        min_value=low,
        max_value=high,
        decimal_places=places,
        help_text=help_text,
        error_messages=errors,
        widget=forms.NumberInput(attrs={**attrs, "step": "any"}),
    )


class RiskPolicyForm(forms.Form):
    """Every threshold of the risk policy; ``policy_values()`` gives them as the model keeps them."""

    def __init__(self, *args: Any, policy: RiskPolicy, **kwargs: Any) -> None:
        current = {
            name: plain_number(_display(s, getattr(policy, name)), grouping=False)
            for name, s in POLICY_SETTINGS.items()
        }
        kwargs.setdefault("initial", current)
        super().__init__(*args, **kwargs)
        for name, setting in POLICY_SETTINGS.items():
            self.fields[name] = _policy_field(setting)

    def groups(self) -> list[dict[str, Any]]:
        """The sections with their bound fields, units and current values (grouped digits, for
        reading), for the template (editable or read-only)."""
        return [
            {
                "key": group.key,
                "title": group.title,
                "intro": group.intro,
                "rows": [
                    {"field": self[s.name], "suffix": s.suffix, "display": plain_number(self.initial[s.name])}
                    for s in group.settings
                ],
            }
            for group in POLICY_GROUPS
        ]

    def policy_values(self) -> dict[str, Decimal | int]:
        """The cleaned values in the model's units: shares as fractions."""
        values: dict[str, Decimal | int] = {}
        for name, setting in POLICY_SETTINGS.items():
            value = self.cleaned_data[name]
            values[name] = value / HUNDRED if setting.unit == Unit.SHARE else value
        return values


# --- webhooks --------------------------------------------------------------------------------------


def _event_choices() -> list[tuple[str, str]]:
    return [(value, f"{label} ({value})") for value, label in WebhookEvent.choices]


class WebhookEndpointForm(forms.Form):
    """An endpoint's URL, events, description and switch. The URL's and the events' rules are the
    service's (risk.services._check_url, _check_events); the lengths are the model's."""

    url = forms.CharField(
        label=gettext_lazy("URL"),
        max_length=WebhookEndpoint._meta.get_field("url").max_length,
        help_text=gettext_lazy(
            "An http or https address that accepts POST requests, e.g. https://erp.example.com/kam/hooks."
        ),
        widget=forms.URLInput(attrs={"placeholder": "https://", "autocomplete": "off", "spellcheck": "false"}),
        error_messages={"required": gettext_lazy("Enter the URL that receives the events.")},
    )
    description = forms.CharField(
        label=gettext_lazy("Description"),
        max_length=WebhookEndpoint._meta.get_field("description").max_length,
        required=False,
        help_text=gettext_lazy("Which system receives the events, e.g. the BI system."),
    )
    events = forms.MultipleChoiceField(
        label=gettext_lazy("Events"),
        choices=_event_choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Send test sends a webhook.test event whatever you choose here."),
        error_messages={
            "required": gettext_lazy("Choose at least one event to send."),
            "invalid_choice": gettext_lazy("Choose events from the list."),
        },
    )
    is_active = forms.BooleanField(
        label=pgettext_lazy("webhook status", "Active"),
        required=False,
        initial=True,
        help_text=gettext_lazy("Switched off, the endpoint receives nothing."),
    )

    def clean_url(self) -> str:
        return self.cleaned_data["url"].strip()

    def clean_description(self) -> str:
        return self.cleaned_data["description"].strip()


def endpoint_initial(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "url": endpoint.url,
        "description": endpoint.description,
        "events": list(endpoint.events or []),
        "is_active": endpoint.is_active,
    }


def posted_id(value: str) -> int | None:
    """A posted id, or None for anything that is not one (a database id fits in a bigint)."""
    if value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID:
        return int(value)
    return None
