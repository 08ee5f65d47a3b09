"""Forms of growth's catalogue, buying centre and whitespace pages. They check the shape of
the input; the rules live in growth.services. Choices that name a tenant's rows are
querysets read inside the request's tenant, so another tenant's id is an invalid choice."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Account, Contact
from growth.models import BuyingCentre, BuyingCentreKind, Offering
from growth.whitespace import WHITESPACE_TIERS

UPLOAD_LIMIT = 5 * 1024 * 1024


class OfferingForm(forms.Form):
    code = forms.CharField(
        label=_("Code"), max_length=40, help_text=_("As orders and spreadsheets name it, e.g. PUMP-01.")
    )
    name_zh = forms.CharField(label=_("Name (Chinese)"), max_length=120)
    name_en = forms.CharField(label=_("Name (English)"), max_length=120)
    category = forms.CharField(label=_("Category"), max_length=60, required=False)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    position = forms.IntegerField(label=_("Position"), min_value=0, max_value=32767, initial=0, required=False)
    is_active = forms.BooleanField(label=pgettext_lazy("offering", "Active"), required=False, initial=True)

    def clean_position(self) -> int:
        return self.cleaned_data.get("position") or 0


def offering_initial(offering: Offering) -> dict[str, Any]:
    return {name: getattr(offering, name) for name in OfferingForm.base_fields}


class OfferingImportForm(forms.Form):
    file = forms.FileField(label=_("File"), help_text=_("CSV (UTF-8 or GB18030) or Excel workbook (.xlsx)."))

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > UPLOAD_LIMIT:
            raise forms.ValidationError(_("The file is larger than 5 MB."))
        return upload


class MappingForm(forms.Form):
    product_line = forms.CharField(label=_("Product line"), max_length=100)
    offering = forms.ModelChoiceField(label=_("Offering"), queryset=Offering.objects.none())

    def __init__(self, *args: Any, offerings: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["offering"].queryset = offerings


class BuyingCentreForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=40, help_text=_("How orders name it, e.g. PLANT-SH."))
    name = forms.CharField(label=_("Name"), max_length=120)
    kind = forms.ChoiceField(label=_("Kind"), choices=BuyingCentreKind.choices, initial=BuyingCentreKind.BUSINESS_UNIT)
    decision_maker = forms.ModelChoiceField(label=_("Decision maker"), queryset=Contact.objects.none(), required=False)
    annual_spend = forms.DecimalField(
        label=_("Estimated annual spend"),
        max_digits=16,
        decimal_places=2,
        min_value=Decimal("0"),
        initial=Decimal("0"),
        help_text=_("What it spends in a year on the categories we sell (its wallet)."),
    )
    is_primary = forms.BooleanField(
        label=_("Primary"), required=False, help_text=_("Orders that name no buying centre count for the primary one.")
    )
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["decision_maker"].queryset = Contact.objects.filter(account=account).order_by("name", "id")


def centre_initial(centre: BuyingCentre) -> dict[str, Any]:
    return {
        "code": centre.code,
        "name": centre.name,
        "kind": centre.kind,
        "decision_maker": centre.decision_maker_id,
        "annual_spend": centre.annual_spend,
        "is_primary": centre.is_primary,
        "notes": centre.notes,
    }


class NotApplicableForm(forms.Form):
    offering = forms.ModelChoiceField(queryset=Offering.objects.none())
    reason = forms.CharField(label=_("Reason"), max_length=300)

    def __init__(self, *args: Any, offerings: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["offering"].queryset = offerings


class WhitespaceFilterForm(forms.Form):
    """The tenant-wide page's filters; an invalid value is dropped, never an error page."""

    tier = forms.ChoiceField(
        label=_("Tier"), required=False, choices=[("", _("S and A"))] + [(tier, tier) for tier in WHITESPACE_TIERS]
    )
    offering = forms.ModelChoiceField(label=_("Offering"), required=False, queryset=Offering.objects.none())

    def __init__(self, data: Any, *, offerings: Any) -> None:
        super().__init__(data)
        self.fields["offering"].queryset = offerings
        self.fields["offering"].empty_label = _("All offerings")

    def values(self) -> dict[str, Any]:
        """The valid filters; an invalid one is left out."""
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        return {name: cleaned.get(name) for name in ("tier", "offering") if name not in self.errors}
