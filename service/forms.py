"""Forms of the service pages. Choices that name a tenant's rows (people, categories,
accounts, contacts) are querysets read inside the request's tenant, so another tenant's id
is an invalid choice with a message, never a lookup across tenants."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Account, Contact, Tier
from kam.forms import DateTimeField, UserChoiceField
from kam.models import User
from service.models import Category, Channel, NeedStatus, Priority, RouteTo

# inbox

SUBJECT_MESSAGE = _("Give the need a subject: what does the customer want?")
FUTURE_SLACK = dt.timedelta(minutes=5)


class NeedFilterForm(forms.Form):
    """The inbox's filters; an invalid value is dropped (the field's default), never an error page."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Subject or account"), "autocomplete": "off"}),
    )
    status = forms.MultipleChoiceField(
        label=_("Status"),
        required=False,
        choices=NeedStatus.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: the open ones."),
    )
    category = forms.ChoiceField(label=_("Category"), required=False)
    assignee = forms.ChoiceField(label=_("Assignee"), required=False)
    tier = forms.ChoiceField(label=_("Tier"), required=False, choices=[("", _("All")), *Tier.choices])
    priority = forms.ChoiceField(label=_("Priority"), required=False, choices=[("", _("All")), *Priority.choices])
    channel = forms.ChoiceField(label=_("Channel"), required=False, choices=[("", _("All")), *Channel.choices])
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
    triage = forms.BooleanField(label=_("Triage queue"), required=False)
    account = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)
    sort = forms.ChoiceField(
        label=_("Sort"),
        required=False,
        choices=[("received", _("Newest first")), ("due", _("Next deadline first"))],
    )

    FILTERS = ("q", "status", "category", "assignee", "tier", "priority", "channel", "overdue", "triage", "account")

    def __init__(self, data: Any, *, categories: Iterable[Category], members: Iterable[User]) -> None:
        super().__init__(data)
        self.fields["category"].choices = [
            ("", _("All")),
            ("none", _("Not classified")),
            *[(str(category.pk), category.name) for category in categories],
        ]
        self.fields["assignee"].choices = [
            ("", _("Anyone")),
            ("me", _("Me")),
            ("unassigned", _("Unassigned")),
            *[(str(user.pk), user.display_name) for user in members],
        ]

    def filters(self) -> dict[str, Any]:
        """The valid filters for selectors.need_inbox (an invalid one is left out)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "q": (data.get("q") or "").strip(),
            "statuses": list(data.get("status") or []),
            "category": data.get("category") or "",
            "assignee": data.get("assignee") or "",
            "tier": data.get("tier") or "",
            "priority": data.get("priority") or "",
            "channel": data.get("channel") or "",
            "overdue": bool(data.get("overdue")),
            "triage": bool(data.get("triage")),
            "account_id": data.get("account"),
            "sort": data.get("sort") or "received",
        }

    def active(self) -> bool:
        """Whether the filters narrow the default view (the open needs)."""
        filters = self.filters()
        return any(filters[key] for key in filters if key != "sort")


class AccountChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Account) -> str:
        return obj.name


class ContactChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Contact) -> str:
        return f"{obj.name} · {obj.title}" if obj.title else obj.name


class NeedCreateForm(forms.Form):
    """A need a person logs (a call, a meeting, a message that came another way)."""

    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.PHONE)
    account = AccountChoiceField(
        label=_("Account"),
        queryset=Account.objects.none(),
        error_messages={
            "required": _("Choose the account the need came from."),
            "invalid_choice": _("Choose one of the accounts you may log needs for."),
        },
    )
    contact = ContactChoiceField(
        label=_("Contact"),
        queryset=Contact.objects.none(),
        required=False,
        empty_label=_("— nobody in particular —"),
        error_messages={"invalid_choice": _("Choose a contact of this account.")},
    )
    subject = forms.CharField(label=_("Subject"), max_length=300, error_messages={"required": SUBJECT_MESSAGE})
    body = forms.CharField(
        label=_("Text"),
        required=False,
        max_length=100_000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("What the customer said or wrote; the keyword rules read it with the subject."),
    )
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices, initial=Priority.NORMAL)
    received_at = DateTimeField(label=_("Received"), error_messages={"required": _("Enter when the need came in.")})
    category = forms.ModelChoiceField(
        label=_("Category"),
        queryset=Category.objects.none(),
        required=False,
        empty_label=_("— classify automatically —"),
        help_text=_("Leave empty to let the keyword rules (and the text model) choose."),
        error_messages={"invalid_choice": _("Choose one of this workspace's active categories.")},
    )

    def __init__(self, *args: Any, accounts: QuerySet[Account], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = accounts
        self.fields["category"].queryset = Category.objects.filter(is_active=True).order_by("position", "id")
        self.fields["received_at"].initial = timezone.localtime().replace(second=0, microsecond=0)
        # The contacts of the account chosen (posted, or given in the link): another account's is refused.
        raw = self.data.get("account") if self.is_bound else self.initial.get("account")
        account_id = raw.pk if isinstance(raw, Account) else raw
        if account_id and str(account_id).isascii() and str(account_id).isdigit():
            self.fields["contact"].queryset = Contact.objects.filter(account_id=int(account_id)).order_by("name", "id")

    def clean_subject(self) -> str:
        subject = self.cleaned_data["subject"].strip()
        if not subject:
            raise forms.ValidationError(SUBJECT_MESSAGE)
        return subject

    def clean_received_at(self) -> dt.datetime:
        instant = self.cleaned_data["received_at"]
        try:
            instant = instant.astimezone(dt.UTC)
        except OverflowError:
            instant = None
        if instant is None or instant < dt.datetime(1900, 1, 1, tzinfo=dt.UTC):
            raise forms.ValidationError(_("Enter a date and time from 1900 on."))
        if instant > timezone.now() + FUTURE_SLACK:
            raise forms.ValidationError(_("A need cannot be received in the future."))
        return instant

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        account, contact = data.get("account"), data.get("contact")
        if account is not None and contact is not None and contact.account_id != account.pk:
            self.add_error("contact", _("This contact belongs to another account."))
        return data


BULK_ACTIONS = ("assign", "category", "priority", "status")


class NeedBulkForm(forms.Form):
    """A bulk triage action and its value; the selection is read by the view."""

    action = forms.ChoiceField(
        choices=[(action, action) for action in BULK_ACTIONS],
        error_messages={
            "required": _("Choose what to do with the selected needs."),
            "invalid_choice": _("Choose what to do with the selected needs."),
        },
    )
    assignee = UserChoiceField(
        label=_("Assign to"),
        queryset=User.objects.none(),
        required=False,
        error_messages={"invalid_choice": _("Choose an active member of this workspace.")},
    )
    category = forms.ModelChoiceField(
        label=_("Category"),
        queryset=Category.objects.none(),
        required=False,
        error_messages={"invalid_choice": _("Choose one of this workspace's active categories.")},
    )
    priority = forms.ChoiceField(
        label=_("Priority"),
        required=False,
        choices=[("", "—"), *Priority.choices],
        error_messages={"invalid_choice": _("Choose a priority.")},
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", "—"), *NeedStatus.choices],
        error_messages={"invalid_choice": _("Choose a status.")},
    )

    MISSING = {
        "assign": ("assignee", _("Choose the person to assign the needs to.")),
        "category": ("category", _("Choose a category.")),
        "priority": ("priority", _("Choose a priority.")),
        "status": ("status", _("Choose a status.")),
    }

    def __init__(self, *args: Any, members: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = members
        self.fields["category"].queryset = Category.objects.filter(is_active=True).order_by("position", "id")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        action = data.get("action")
        if action in self.MISSING:
            field, message = self.MISSING[action]
            if not data.get(field) and field not in self.errors:
                self.add_error(field, message)
        return data

    def value(self) -> Any:
        return self.cleaned_data[self.MISSING[self.cleaned_data["action"]][0]]


# need page

SATISFACTION_MESSAGE = _("Satisfaction is rated from 1 to 5.")


class NeedReplyForm(forms.Form):
    """A reply to the customer, or an internal note (the button pressed says which)."""

    body = forms.CharField(
        label=_("Message"),
        max_length=100_000,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("Write something first.")},
    )
    kind = forms.ChoiceField(
        choices=[("reply", _("Reply to the customer")), ("note", _("Internal note"))],
        error_messages={
            "required": _("Choose reply or internal note."),
            "invalid_choice": _("Choose reply or internal note."),
        },
    )


class NeedStatusForm(forms.Form):
    """The status is passed on as posted: need_set_status says why a move is not allowed."""

    status = forms.CharField(max_length=20, error_messages={"required": _("Choose the new status.")})
    satisfaction = forms.IntegerField(
        label=_("Customer satisfaction"),
        required=False,
        min_value=1,
        max_value=5,
        error_messages={
            "invalid": SATISFACTION_MESSAGE,
            "min_value": SATISFACTION_MESSAGE,
            "max_value": SATISFACTION_MESSAGE,
        },
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class NeedAssignForm(forms.Form):
    assignee = UserChoiceField(
        label=_("Assignee"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Nobody"),
        error_messages={"invalid_choice": _("Choose an active member of this workspace.")},
    )

    def __init__(self, *args: Any, members: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = members


class NeedPriorityForm(forms.Form):
    priority = forms.ChoiceField(
        label=_("Priority"),
        choices=Priority.choices,
        error_messages={"required": _("Choose a priority."), "invalid_choice": _("Choose a priority.")},
    )


class NeedCategoryForm(forms.Form):
    category = forms.ModelChoiceField(
        label=_("Category"),
        queryset=Category.objects.none(),
        error_messages={
            "required": _("Choose a category."),
            "invalid_choice": _("Choose one of this workspace's active categories."),
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = Category.objects.filter(is_active=True).order_by("position", "id")


class NeedAccountForm(forms.Form):
    """Triage: the account an unknown sender belongs to, and optionally the contact."""

    account = forms.ModelChoiceField(
        label=_("Account"),
        queryset=Account.objects.none(),
        error_messages={
            "required": _("Choose the account the need came from."),
            "invalid_choice": _("Choose one of the accounts you may change."),
        },
    )
    contact = forms.ModelChoiceField(
        label=_("Contact"),
        queryset=Contact.objects.none(),
        required=False,
        empty_label=_("No contact"),
        error_messages={"invalid_choice": _("Choose a contact of this workspace.")},
    )

    def __init__(self, *args: Any, accounts: QuerySet[Account], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = accounts
        self.fields["contact"].queryset = Contact.objects.all()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        account, contact = data.get("account"), data.get("contact")
        if account is not None and contact is not None and contact.account_id != account.pk:
            self.add_error("contact", _("This contact belongs to another account."))
        return data


# rules

WEIGHT_MESSAGE = _("The weight is a whole number from 1 to 10.")


def _weight_field() -> forms.IntegerField:
    return forms.IntegerField(
        label=_("Weight"),
        min_value=1,
        max_value=10,
        initial=1,
        error_messages={
            "required": WEIGHT_MESSAGE,
            "invalid": WEIGHT_MESSAGE,
            "min_value": WEIGHT_MESSAGE,
            "max_value": WEIGHT_MESSAGE,
        },
    )


class CategoryForm(forms.Form):
    name_zh = forms.CharField(
        label=_("Name (Chinese)"), max_length=60, error_messages={"required": _("Give the category a name.")}
    )
    name_en = forms.CharField(
        label=_("Name (English)"), max_length=60, error_messages={"required": _("Give the category a name.")}
    )
    route_to = forms.ChoiceField(
        label=_("Routed to"),
        choices=RouteTo.choices,
        error_messages={"invalid_choice": _("Choose whom the category's needs go to.")},
    )
    tells_director = forms.BooleanField(label=_("Tell the directors"), required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False)
    position = forms.IntegerField(
        label=_("Position"),
        min_value=0,
        max_value=999,
        error_messages={
            "required": _("Enter a position from 0 to 999."),
            "invalid": _("Enter a position from 0 to 999."),
        },
    )


def category_initial(category: Category) -> dict[str, Any]:
    return {
        "name_zh": category.name_zh,
        "name_en": category.name_en,
        "route_to": category.route_to,
        "tells_director": category.tells_director,
        "is_active": category.is_active,
        "position": category.position,
    }


class KeywordRuleForm(forms.Form):
    keyword = forms.CharField(
        label=_("Keyword or phrase"),
        max_length=60,
        error_messages={
            "required": _("Enter a keyword or a phrase."),
            "max_length": _("A keyword has at most 60 characters."),
        },
    )
    weight = _weight_field()


class KeywordWeightForm(forms.Form):
    weight = _weight_field()
