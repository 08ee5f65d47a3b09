"""Filters of the risk API lists (django-filter). A bad value is a 400 with the field's
message, never a 500."""

from __future__ import annotations

from django.db.models import QuerySet
from django_filters import rest_framework as filters

from kam.api.filters import IdFilter
from risk.models import AlertKind, AlertStatus, ContingencyKind, ContingencyPlan, Notification, RiskAlert, Severity


class AlertFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=AlertKind.choices)
    severity = filters.ChoiceFilter(choices=Severity.choices)
    status = filters.ChoiceFilter(choices=AlertStatus.choices)
    open = filters.BooleanFilter(method="filter_open", help_text="true: open or acknowledged; false: resolved.")
    account = IdFilter(field_name="account_id", help_text="Id of the account the alert is about.")
    assignee = IdFilter(field_name="assignee_id", help_text="Id of the assigned user.")

    class Meta:
        model = RiskAlert
        fields = ("kind", "severity", "status", "account", "assignee")

    def filter_open(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        resolved = {"status": AlertStatus.RESOLVED}
        return queryset.exclude(**resolved) if value else queryset.filter(**resolved)


class ContingencyPlanFilter(filters.FilterSet):
    account = IdFilter(field_name="account_id")
    kind = filters.ChoiceFilter(choices=ContingencyKind.choices)
    review_before = filters.DateFilter(field_name="review_on", lookup_expr="lte")

    class Meta:
        model = ContingencyPlan
        fields = ("account", "kind")


class NotificationFilter(filters.FilterSet):
    unread = filters.BooleanFilter(
        field_name="read_at", lookup_expr="isnull", help_text="true: only unread; false: only read."
    )

    class Meta:
        model = Notification
        fields = ("unread",)
