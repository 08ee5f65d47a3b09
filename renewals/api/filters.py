"""Filters of the renewals API list (django-filter). A bad value is a 400 with the field's
message, never a 500."""

from __future__ import annotations

from django.db.models import QuerySet
from django_filters import rest_framework as filters

from accounts.models import Tier
from kam.api.filters import IdFilter
from kam.tenancy import tenant_today
from renewals.models import OPEN_STAGES, Renewal, RenewalStage
from renewals.selectors import overdue_condition


class RenewalFilter(filters.FilterSet):
    stage = filters.MultipleChoiceFilter(
        choices=RenewalStage.choices, distinct=False, help_text="One or more: ?stage=prepare&stage=proposed."
    )
    open = filters.BooleanFilter(method="filter_open", help_text="true: an open stage (not signed or lost).")
    owner = IdFilter(field_name="owner_id", help_text="Id of the owner.")
    account = IdFilter(field_name="account_id", help_text="Id of the account.")
    contract = IdFilter(field_name="contract_id", help_text="Id of the renewed contract.")
    tier = filters.ChoiceFilter(field_name="account__tier", choices=Tier.choices, help_text="The account's tier.")
    overdue = filters.BooleanFilter(
        method="filter_overdue", help_text="true: open and its contract has ended (the alert renewal_overdue)."
    )
    due_after = filters.DateFilter(field_name="due_on", lookup_expr="gte", help_text="Due on or after this day.")
    due_before = filters.DateFilter(field_name="due_on", lookup_expr="lte", help_text="Due on or before this day.")

    class Meta:
        model = Renewal
        fields = ("stage", "owner", "account", "contract", "tier")

    def filter_open(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(stage__in=OPEN_STAGES) if value else queryset.exclude(stage__in=OPEN_STAGES)

    def filter_overdue(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        condition = overdue_condition(tenant_today(self.request.tenant))
        return queryset.filter(condition) if value else queryset.exclude(condition)
