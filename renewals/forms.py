"""Forms of the renewal pages. They check the shape of the input; the rules (stages, dates,
owners of the workspace) are renewals.services', whose errors the views put beside the fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.selectors import user_list
from kam.forms import DateField, UserChoiceField
from kam.models import User
from renewals.models import Renewal
from renewals.services import MAX_NOTE, MAX_REASON, MAX_TITLE


def _date_field(label: Any, **kwargs: Any) -> forms.DateField:
    return DateField(label=label, **kwargs)


class RenewalEditForm(forms.Form):
    owner = UserChoiceField(
        label=_("Owner"),
        queryset=User.objects.none(),  # the tenant's people, set in __init__
        required=False,
        empty_label=_("— nobody —"),
        error_messages={"invalid_choice": _("Choose one of this workspace's people.")},
    )
    due_on = _date_field(
        pgettext_lazy("renewal", "Due on"), help_text=_("The day the customer must have the proposal.")
    )
    note = forms.CharField(
        label=_("Note"), required=False, max_length=MAX_NOTE, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, tenant: Any, renewal: Renewal, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = user_list(tenant, include=[renewal.owner_id])


class MoveForm(forms.Form):
    stage = forms.CharField(max_length=20)
    reason = forms.CharField(max_length=MAX_REASON, required=False)


class SignForm(forms.Form):
    title = forms.CharField(label=pgettext_lazy("contract", "Title"), max_length=MAX_TITLE)
    start_on = _date_field(_("Start"))
    end_on = _date_field(_("End"))
    value = forms.DecimalField(
        label=_("Value"),
        max_digits=16,
        decimal_places=2,
        min_value=0,
        error_messages={"invalid": _("Enter the value, a number of 0 or more.")},
    )
