"""Filters of the growth API lists (django-filter). A bad value is a 400 with the field's
message, never a 500; "_after" and "_before" bounds include the day."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet
from django_filters import rest_framework as filters

from growth.models import BuyingCentre, Offering, Opportunity, OpportunityOffering, ProductLineMapping, Source, Stage
from kam.api.filters import IdFilter


class OpportunityFilter(filters.FilterSet):
    account = IdFilter(field_name="account_id", help_text="Id of the account.")
    buying_centre = IdFilter(field_name="buying_centre_id", help_text="Id of the buying centre.")
    stage = filters.MultipleChoiceFilter(
        choices=Stage.choices, distinct=False, help_text="One or more: ?stage=lead&stage=qualified."
    )
    open = filters.BooleanFilter(method="filter_open", help_text="true: an open stage (not won or lost).")
    owner = IdFilter(field_name="owner_id", help_text="Id of the owner.")
    offering = IdFilter(method="filter_offering", help_text="Id of an offering the opportunity names.")
    source = filters.ChoiceFilter(choices=Source.choices)
    expected_close_after = filters.DateFilter(
        field_name="expected_close", lookup_expr="gte", help_text="Expected to close on or after this day."
    )
    expected_close_before = filters.DateFilter(
        field_name="expected_close", lookup_expr="lte", help_text="Expected to close on or before this day."
    )

    class Meta:
        model = Opportunity
        fields = ("account", "buying_centre", "stage", "owner", "source")

    def filter_offering(self, queryset: QuerySet, name: str, value: int | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(
            Exists(OpportunityOffering.objects.filter(opportunity=OuterRef("pk"), offering_id=value))
        )

    def filter_open(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        from growth.models import OPEN_STAGES

        return queryset.filter(stage__in=OPEN_STAGES) if value else queryset.exclude(stage__in=OPEN_STAGES)


class BuyingCentreFilter(filters.FilterSet):
    account = IdFilter(field_name="account_id", help_text="Id of the account.")

    class Meta:
        model = BuyingCentre
        fields = ("account", "kind", "is_primary")


class OfferingFilter(filters.FilterSet):
    is_active = filters.BooleanFilter()
    category = filters.CharFilter()
    code = filters.CharFilter()

    class Meta:
        model = Offering
        fields = ("is_active", "category", "code")


class ProductLineMappingFilter(filters.FilterSet):
    offering = IdFilter(field_name="offering_id", help_text="Id of the offering.")

    class Meta:
        model = ProductLineMapping
        fields = ("offering",)
