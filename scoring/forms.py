"""Forms of the scoring pages. They check the input's shape and turn it into the arguments
of scoring.services; the services validate the rest (weights add up to 100, thresholds
fall, a criterion's normalisation fits its kind) and their messages are shown on the page."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms import formset_factory
from django.utils.translation import gettext_lazy as _

from accounts.models import Tier
from kam.formats import plain_number
from kam.forms import DateField
from scoring.engine import TIER_ORDER
from scoring.models import Criterion, CriterionKind, Metric, Normalization, Scorecard

if TYPE_CHECKING:
    from scoring.services import CriterionSpec, TierSpec

NUMBER = {"step": "any", "inputmode": "decimal"}


def _json_number(value: Decimal) -> int | float:
    """Parameters are stored as JSON: whole numbers as int, others as float (as the defaults are)."""
    return int(value) if value == value.to_integral_value() else float(value)


# --- runs -----------------------------------------------------------------------------------------


class RunStartForm(forms.Form):
    as_of = DateField(
        label=_("As of"),
        required=False,
        help_text=_("Leave empty for today. Orders, invoices and events after this day are ignored."),
    )


# --- account score tab ----------------------------------------------------------------------------


class RatingForm(forms.Form):
    criterion = forms.ChoiceField(label=_("Criterion"))
    value = forms.TypedChoiceField(
        label=_("Rating"),
        coerce=int,
        choices=[(value, f"{value}/5") for value in range(1, 6)],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, criteria: list[Criterion], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["criterion"].choices = [(criterion.key, criterion.label) for criterion in criteria]


class OverrideForm(forms.Form):
    tier = forms.ChoiceField(label=_("Tier"), choices=[("", "—"), *Tier.choices])
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Why the tier is set by hand; shown with the tier."),
    )
    expires_on = DateField(
        label=_("Expires on"),
        required=False,
        help_text=_("Leave empty to keep it until it is lifted."),
    )


class OverrideRequestForm(OverrideForm):
    """等级调整申请: what a manager asks the directors for."""

    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Why the account should have this tier; the directors read it before they decide."),
    )


class DecisionForm(forms.Form):
    """A director's comment on a tier request (required to reject)."""

    comment = forms.CharField(
        label=_("Comment"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


# --- scorecard editor -----------------------------------------------------------------------------


def bands_text(bands: Any) -> str:
    """[[0, 0], [1, 40]] -> "0:0, 1:40"."""
    if not bands:
        return ""
    return ", ".join(
        f"{plain_number(threshold, grouping=False)}:{plain_number(points, grouping=False)}"
        for threshold, points in bands
    )


def parse_bands(text: str) -> list[list[int | float]]:
    """ "0:0, 1:40, 3:70" -> [[0, 0], [1, 40], [3, 70]], sorted by threshold."""
    bands = []
    for part in text.replace("，", ",").replace("：", ":").split(","):
        part = part.strip()
        if not part:
            continue
        threshold, separator, points = part.partition(":")
        try:
            if not separator:
                raise ArithmeticError
            bands.append([Decimal(threshold.strip()), Decimal(points.strip())])
        except ArithmeticError as exc:
            raise ValidationError(
                _("Write bands as threshold:points pairs, e.g. 0:0, 1:40, 3:70, 5:100."), code="bands"
            ) from exc
    bands.sort(key=lambda band: band[0])
    return [[_json_number(threshold), _json_number(points)] for threshold, points in bands]


class CriterionForm(forms.Form):
    """One criterion of the new version: its labels, kind, normalisation with parameters, weight."""

    key = forms.SlugField(label=_("Key"), max_length=40, widget=forms.HiddenInput)
    label_zh = forms.CharField(label=_("Label (Chinese)"), max_length=60)
    label_en = forms.CharField(label=_("Label (English)"), max_length=60)
    kind = forms.ChoiceField(label=_("Kind"), choices=CriterionKind.choices, initial=CriterionKind.RATING)
    metric = forms.ChoiceField(label=_("Metric"), choices=[("", "—"), *Metric.choices], required=False)
    normalization = forms.ChoiceField(
        label=_("Normalisation"), choices=Normalization.choices, initial=Normalization.RATING
    )
    lo = forms.DecimalField(label=_("Low"), required=False, widget=forms.NumberInput(attrs=NUMBER))
    hi = forms.DecimalField(label=_("High"), required=False, widget=forms.NumberInput(attrs=NUMBER))
    bands = forms.CharField(
        label=_("Bands"),
        required=False,
        max_length=400,
        widget=forms.TextInput(attrs={"placeholder": "0:0, 1:40, 3:70, 5:100"}),
    )
    missing_value = forms.DecimalField(
        label=_("Points when not rated"),
        min_value=0,
        max_value=100,
        max_digits=6,
        decimal_places=2,
        initial=Decimal("0"),
        required=False,
        widget=forms.NumberInput(attrs=NUMBER),
    )
    weight = forms.DecimalField(
        label=_("Weight"),
        min_value=0,
        max_digits=6,
        decimal_places=2,
        widget=forms.NumberInput(attrs={**NUMBER, "data-weight": ""}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.is_new = not self.initial.get("key")
        if self.is_new:
            self.fields["key"].widget = forms.TextInput(attrs={"placeholder": _("e.g. market_access")})
            self.fields["key"].help_text = _("Letters, digits and underscores; cannot be changed later.")

    def clean_bands(self) -> list[list[int | float]]:
        return parse_bands(self.cleaned_data.get("bands") or "")

    def spec(self) -> CriterionSpec:
        """The criterion as scoring.services.scorecard_create_draft takes it."""
        data = self.cleaned_data
        normalization = data["normalization"]
        params: dict[str, Any] = {}
        if normalization == Normalization.LINEAR:
            params = {name: _json_number(data[name]) for name in ("lo", "hi") if data.get(name) is not None}
        elif normalization == Normalization.BANDS and data.get("bands"):
            params = {"bands": data["bands"]}
        missing = data.get("missing_value")
        return {
            "key": data["key"],
            "label_zh": data["label_zh"],
            "label_en": data["label_en"],
            "kind": data["kind"],
            "metric": (data.get("metric") or "") if data["kind"] == CriterionKind.METRIC else "",
            "normalization": normalization,
            "params": params,
            "weight": data["weight"],
            "missing_value": Decimal("0") if missing is None else missing,
        }


CriterionFormSet = formset_factory(CriterionForm, extra=1, can_delete=True)


def criterion_initial(criterion: Criterion) -> dict[str, Any]:
    params = criterion.params or {}
    return {
        "key": criterion.key,
        "label_zh": criterion.label_zh,
        "label_en": criterion.label_en,
        "kind": criterion.kind,
        "metric": criterion.metric,
        "normalization": criterion.normalization,
        "lo": params.get("lo"),
        "hi": params.get("hi"),
        "bands": bands_text(params.get("bands")),
        "missing_value": plain_number(criterion.missing_value, grouping=False),
        "weight": plain_number(criterion.weight, grouping=False),
    }


class ScorecardForm(forms.Form):
    """The tiers (threshold and revenue gate of S, A, B, C), the hysteresis and a note."""

    hysteresis = forms.DecimalField(
        label=_("Hysteresis (points)"),
        min_value=0,
        max_value=100,
        max_digits=5,
        decimal_places=2,
        widget=forms.NumberInput(attrs=NUMBER),
        help_text=_("An account keeps its higher tier while its total stays within this many points of it."),
    )
    note = forms.CharField(
        label=_("Note"),
        max_length=200,
        required=False,
        help_text=_("What changes in this version, e.g. more weight on growth."),
    )
    # The newest version number when the editor was shown: a save after someone else saved
    # a version is refused (scoring.services.scorecard_create_draft).
    latest_version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for tier in TIER_ORDER:
            self.fields[f"threshold_{tier}"] = forms.DecimalField(
                label=_("Minimum score"),
                min_value=0,
                max_value=100,
                max_digits=5,
                decimal_places=2,
                widget=forms.NumberInput(attrs=NUMBER),
            )
            self.fields[f"gate_{tier}"] = forms.DecimalField(
                label=_("Minimum revenue, last 12 months"),
                min_value=0,
                max_digits=16,
                decimal_places=2,
                required=False,
                widget=forms.NumberInput(attrs={**NUMBER, "placeholder": _("no gate")}),
            )

    def refused_as_stale(self, latest_version: int) -> None:
        """Keep the input and carry the version now newest: saving again (knowingly) goes through."""
        data = self.data.copy()
        data[self.add_prefix("latest_version")] = str(latest_version)
        self.data = data

    def tier_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "tier": tier,
                "label": Tier(tier).label,
                "threshold": self[f"threshold_{tier}"],
                "gate": self[f"gate_{tier}"],
            }
            for tier in TIER_ORDER
        ]

    def tiers_spec(self) -> list[TierSpec]:
        return [
            {
                "tier": tier,
                "threshold": self.cleaned_data[f"threshold_{tier}"],
                "min_revenue_12m": self.cleaned_data.get(f"gate_{tier}"),
            }
            for tier in TIER_ORDER
        ]


def scorecard_initial(scorecard: Scorecard) -> dict[str, Any]:
    initial: dict[str, Any] = {"hysteresis": plain_number(scorecard.hysteresis, grouping=False), "note": ""}
    for rule in scorecard.tiers.all():
        initial[f"threshold_{rule.tier}"] = plain_number(rule.threshold, grouping=False)
        initial[f"gate_{rule.tier}"] = (
            "" if rule.min_revenue_12m is None else plain_number(rule.min_revenue_12m, grouping=False)
        )
    return initial
