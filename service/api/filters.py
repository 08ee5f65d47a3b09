"""Filters of the service API list (django-filter). A bad value is a 400 with the field's
message, never a 500; "_after" and "_before" bounds include the instant."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils import timezone
from django_filters import rest_framework as filters

from accounts.models import Tier
from kam.api.filters import IdFilter, InstantFilter
from service.models import OPEN_STATUSES, Channel, Need, NeedStatus, Priority
from service.selectors import NEXT_DUE


class NeedFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(
        choices=NeedStatus.choices, distinct=False, help_text="One or more: ?status=new&status=triaged."
    )
    category = filters.CharFilter(field_name="category__key", help_text="The category's key.")
    account = IdFilter(field_name="account_id", help_text="Id of the account.")
    assignee = IdFilter(field_name="assignee_id", help_text="Id of the assigned person.")
    priority = filters.ChoiceFilter(choices=Priority.choices)
    channel = filters.ChoiceFilter(choices=Channel.choices)
    tier = filters.ChoiceFilter(field_name="account__tier", choices=Tier.choices, help_text="The account's tier.")
    overdue = filters.BooleanFilter(
        method="filter_overdue",
        help_text="true: open and past its next deadline: the first response while there is none, else the resolution.",
    )
    received_after = InstantFilter(
        field_name="received_at", lookup_expr="gte", help_text="Received at or after this instant (ISO 8601)."
    )
    received_before = InstantFilter(
        field_name="received_at", lookup_expr="lte", help_text="Received at or before this instant (ISO 8601)."
    )
    q = filters.CharFilter(method="filter_q", help_text="Part of the subject.")

    class Meta:
        model = Need
        fields = ("status", "category", "account", "assignee", "priority", "channel", "tier")

    def filter_overdue(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        overdue = Q(status__in=OPEN_STATUSES, next_due_at__lt=timezone.now())
        queryset = queryset.alias(next_due_at=NEXT_DUE)
        return queryset.filter(overdue) if value else queryset.exclude(overdue)

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(subject__icontains=value)
