from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kam.models import AuditAction, Membership, Role, TokenScope, User, mobile_validator

# --- dates as the page writes them -------------------------------------------------------------------
# Not <input type="date">: the browser draws that in its own locale (mm/dd/yyyy on a Chinese
# page under an English browser). A text input shows the date as YYYY-MM-DD, which is how a
# Chinese page writes dates and ISO 8601 in English, and takes the spellings people type.

DATE_FORMAT = "%Y-%m-%d"
# 2026-12-07, 2026/12/07, 2026.12.07, 2026年12月7日 (one-digit month and day too).
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日"]
# What the browser checks before sending (the server parses the same spellings). No character
# classes: browsers compile the pattern with the "v" flag, where "-" and "/" in one must be escaped.
DATE_PATTERN = r"\s*\d{4}\s*(-|/|\.|年)\s*\d{1,2}\s*(-|/|\.|月)\s*\d{1,2}\s*日?\s*"
DATE_PLACEHOLDER = _("YYYY-MM-DD, e.g. 2026-12-07")
DATE_INVALID = _("Enter the date as YYYY-MM-DD, e.g. 2026-12-07 (2026/12/07 and 2026年12月7日 are taken too).")


def date_input_attrs() -> dict[str, str]:
    """The attributes of a date input, for the widget and for the inputs a template writes."""
    return {
        "class": "date-input",
        "inputmode": "numeric",
        "pattern": DATE_PATTERN,
        "placeholder": str(DATE_PLACEHOLDER),
        "title": str(DATE_PLACEHOLDER),
        "autocomplete": "off",
        "maxlength": "20",
        "size": "12",
    }


def normalize_date_text(text: str) -> str:
    """Full-width digits and signs as ASCII (２０２６－１２－０７), spaces dropped."""
    return "".join(unicodedata.normalize("NFKC", text).split())


class DateInput(forms.DateInput):
    """A text input for a date, the same in every language's page: shown as YYYY-MM-DD,
    a placeholder in the page's language, the numeric keyboard on a phone."""

    input_type = "text"

    def __init__(self, attrs: dict[str, Any] | None = None, format: str | None = None) -> None:
        super().__init__(attrs=attrs, format=format or DATE_FORMAT)

    def build_attrs(self, base_attrs: dict[str, Any], extra_attrs: dict[str, Any] | None = None) -> dict[str, Any]:
        # Built at render time: the placeholder is in the language of the request.
        extra = extra_attrs or {}
        attrs = {**date_input_attrs(), **base_attrs, **extra}
        classes = ["date-input", base_attrs.get("class"), extra.get("class")]
        attrs["class"] = " ".join(dict.fromkeys(c for c in classes if c))
        return attrs


class DateField(forms.DateField):
    """A date typed as 2026-12-07, 2026/12/07, 2026.12.07 or 2026年12月7日 (full-width digits
    too), whatever the page's language; anything else is told how to write it. The query
    parameters of the filters (``?as_of=2026-12-07``) are read by the same field."""

    widget = DateInput
    input_formats = DATE_INPUT_FORMATS
    default_error_messages = {"invalid": DATE_INVALID}

    def to_python(self, value: Any) -> dt.date | None:
        if isinstance(value, str):
            value = normalize_date_text(value)
        return super().to_python(value)


def parse_date_text(text: Any) -> dt.date | None:
    """A date typed in any of DATE_INPUT_FORMATS (as DateField takes it), or None."""
    if isinstance(text, dt.date):
        return text
    try:
        return DateField(required=False).clean(text) if isinstance(text, str) else None
    except ValidationError:
        return None


# Kept for the forms that name a widget: the same input.
DATE_WIDGET = DateInput()


# A date and time, the same way: YYYY-MM-DD HH:MM (not <input type="datetime-local">,
# which the browser draws as mm/dd/yyyy, hh:mm AM under an English browser).
DATETIME_FORMAT = "%Y-%m-%d %H:%M"
DATETIME_INPUT_FORMATS = [f"{day} %H:%M" for day in DATE_INPUT_FORMATS]
DATETIME_PLACEHOLDER = _("YYYY-MM-DD HH:MM, e.g. 2026-12-07 09:30")
DATETIME_INVALID = _("Enter the date and time as YYYY-MM-DD HH:MM, e.g. 2026-12-07 09:30.")


class DateTimeInput(forms.DateTimeInput):
    input_type = "text"

    def __init__(self, attrs: dict[str, Any] | None = None, format: str | None = None) -> None:
        super().__init__(attrs=attrs, format=format or DATETIME_FORMAT)

    def build_attrs(self, base_attrs: dict[str, Any], extra_attrs: dict[str, Any] | None = None) -> dict[str, Any]:
        placeholder = str(DATETIME_PLACEHOLDER)
        attrs = {"inputmode": "numeric", "placeholder": placeholder, "title": placeholder, "autocomplete": "off"}
        return {**attrs, "size": "18", "maxlength": "30", **base_attrs, **(extra_attrs or {})}


class DateTimeField(forms.DateTimeField):
    """A date and time typed as 2026-12-07 09:30 (the date in any spelling DateField takes,
    ``T`` or a space before the time), in the workspace's time zone."""

    widget = DateTimeInput
    input_formats = DATETIME_INPUT_FORMATS
    default_error_messages = {"invalid": DATETIME_INVALID}

    def to_python(self, value: Any) -> dt.datetime | None:
        if isinstance(value, str):
            text = " ".join(unicodedata.normalize("NFKC", value).replace("T", " ").split())
            day, _space, time = text.rpartition(" ")
            value = f"{normalize_date_text(day)} {time}" if day else text
        return super().to_python(value)


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """A service's ValidationError beside the fields it names; the rest above the form."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.display_name


class LoginForm(AuthenticationForm):
    username = forms.EmailField(
        label=_("E-mail"), widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )
    error_messages = {
        "invalid_login": _("The e-mail address or the password is incorrect."),
        "inactive": _("This user is deactivated."),
    }


class MemberInviteForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"), max_length=254)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.MEMBER)


class MemberUpdateForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, required=False)
    active = forms.TypedChoiceField(
        label=_("Status"),
        choices=[("1", _("Active")), ("0", _("Deactivated"))],
        coerce=lambda value: value == "1",
        required=False,
        empty_value=None,
    )
    # Posted only by the row's number form (absent: unchanged; blank: cleared).
    mobile = forms.CharField(
        label=_("Work mobile"),
        max_length=Membership._meta.get_field("mobile").max_length,
        required=False,
        validators=[mobile_validator],
        help_text=_("DingTalk robots @mention the owner of an alert by this number"),
        error_messages={"max_length": mobile_validator.message},
    )

    def clean_mobile(self) -> str:
        return "".join(self.cleaned_data.get("mobile", "").split())


EXPIRY_CHOICES = [("", _("Never")), ("30", _("30 days")), ("90", _("90 days")), ("365", _("1 year"))]


class TokenCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, help_text=_("Which system uses it, e.g. ERP sync."))
    scope = forms.ChoiceField(label=_("Scope"), choices=TokenScope.choices, initial=TokenScope.READ)
    expires_in = forms.ChoiceField(label=_("Expires"), choices=EXPIRY_CHOICES, required=False)

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Give the token a name, e.g. the system that will use it."))
        return name

    def expires_at(self) -> dt.datetime | None:
        days = self.cleaned_data.get("expires_in")
        return timezone.now() + dt.timedelta(days=int(days)) if days else None


class AuditFilterForm(forms.Form):
    object_type = forms.ChoiceField(label=_("Object type"), required=False)
    action = forms.ChoiceField(label=_("Action"), choices=[("", _("All"))] + list(AuditAction.choices), required=False)

    def __init__(self, *args, object_types: list[str] = (), **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["object_type"].choices = [("", _("All"))] + [(value, value) for value in object_types]


def time_of_day_field(label: str) -> forms.TimeField:
    """A time typed as HH:MM (a text box: the browser's time picker would speak its own
    locale and 12-hour clock on a Chinese page)."""
    return forms.TimeField(
        label=label,
        input_formats=["%H:%M"],
        error_messages={"invalid": _("Give a time of day as HH:MM, e.g. 02:00.")},
        widget=forms.TimeInput(
            format="%H:%M",
            attrs={"inputmode": "numeric", "pattern": "[0-2][0-9]:[0-5][0-9]", "placeholder": "02:00", "size": 6},
        ),
    )


class NightlyScheduleForm(forms.Form):
    """The times of the tenant's nightly jobs, in the tenant's time zone."""

    score_at = time_of_day_field(_("Score run"))
    concentration_at = time_of_day_field(_("Concentration"))
    health_at = time_of_day_field(_("Health assessment"))
