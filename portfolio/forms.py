from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kam.forms import DateField


class WeightsForm(forms.Form):
    revenue = forms.IntegerField(label=_("Revenue weight"), min_value=0, max_value=100)
    health = forms.IntegerField(label=_("Health weight"), min_value=0, max_value=100)
    growth = forms.IntegerField(label=_("Growth weight"), min_value=0, max_value=100)

    def clean(self) -> dict:
        data = super().clean()
        if all(isinstance(data.get(name), int) for name in ("revenue", "health", "growth")):
            total = data["revenue"] + data["health"] + data["growth"]
            if total != 100:
                raise forms.ValidationError(_("The weights must sum to 100 (now %(total)s).") % {"total": total})
        return data


class AsOfForm(forms.Form):
    as_of = DateField(label=_("As of"), required=False)

    def clean_as_of(self):
        value = self.cleaned_data.get("as_of")
        if value is not None and not 2000 <= value.year <= 2100:
            raise forms.ValidationError(_("Enter a date from 2000 to 2100."))
        return value
