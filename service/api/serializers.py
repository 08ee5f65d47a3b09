"""Serializers of the service API. They check the shape of the input; the rules (statuses,
routing, the SLA, who may be assigned) live in service.services, which every write goes through.

Related ids are looked up in the request tenant's rows only: another tenant's account, contact
or person is "Invalid pk" like an id that does not exist. A category is named by its key.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.models import Account, Contact
from kam.api.fields import InstantField, TenantMemberField, tenant_field
from service.models import Category, CategorySource, Channel, Need, NeedEntry, NeedStatus, Priority, RouteTo
from service.services import MAX_BODY

NEED_FIELDS = (
    "id",
    "account",
    "contact",
    "channel",
    "sender",
    "subject",
    "body",
    "received_at",
    "external_ref",
    "category",
    "category_source",
    "confidence",
    "classification",
    "priority",
    "status",
    "function",
    "assignee",
    "first_response_due_at",
    "resolution_due_at",
    "first_response_at",
    "resolved_at",
    "closed_at",
    "satisfaction",
    "problems",
    "overdue",
    "created_at",
    "updated_at",
)
# What a POST may give; the rest is the service's (classification, routing, SLA, status).
CREATE_FIELDS = (
    "account",
    "contact",
    "channel",
    "sender",
    "subject",
    "body",
    "received_at",
    "priority",
    "category",
    "external_ref",
)
# A clock a little fast at the sender's end is no error; a day ahead is.
FUTURE_TOLERANCE = dt.timedelta(minutes=10)


def category_field(**kwargs: Any) -> serializers.SlugRelatedField:
    """A category of the request tenant by its key (``technical_support``); inactive ones are
    kept for the needs they have, and refused for new ones."""
    return serializers.SlugRelatedField(slug_field="key", queryset=Category.objects.filter(is_active=True), **kwargs)


def is_overdue(need: Need, now: dt.datetime) -> bool:
    """Open and past its next deadline: the first response while there is none, else the
    resolution (service.selectors.NEXT_DUE, which the list's filter reads)."""
    due = need.first_response_due_at if need.first_response_at is None else need.resolution_due_at
    return need.is_open and due is not None and due < now


class NeedSerializer(serializers.ModelSerializer):
    account = tenant_field(
        Account,
        required=False,
        allow_null=True,
        help_text="Id of the account; null while the sender is not known (the need waits in the triage queue).",
    )
    contact = tenant_field(
        Contact,
        required=False,
        allow_null=True,
        help_text="Id of the contact who raised it (of the account; it gives the account when that is omitted).",
    )
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.API)
    subject = serializers.CharField(
        max_length=300, default="", allow_blank=True, help_text="Default: the first line of the body."
    )
    body = serializers.CharField(max_length=MAX_BODY, default="", allow_blank=True, trim_whitespace=False)
    received_at = InstantField(required=False, help_text="Default: now. The SLA deadlines count from it.")
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.NORMAL)
    category = category_field(
        required=False,
        allow_null=True,
        help_text="The category's key. Given, it is the person's (category_source person); "
        "omitted, the keyword rules or the text model classify the need.",
    )
    external_ref = serializers.CharField(
        max_length=200,
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="Your system's id of the need, unique in the tenant: sending it again answers the need "
        "already made (200) and changes nothing.",
    )
    assignee = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="Id of the person working the need; null while nobody is."
    )
    # Empty until the need is classified and routed.
    category_source = serializers.ChoiceField(choices=CategorySource.choices, read_only=True, allow_blank=True)
    function = serializers.ChoiceField(choices=RouteTo.choices, read_only=True, allow_blank=True)
    classification = serializers.JSONField(
        read_only=True,
        help_text='Why the category: {"rule": {...keywords}}, {"model": {"terms", "probability"}}, or what a '
        'person set ({"person": ...}).',
    )
    confidence = serializers.DecimalField(
        max_digits=5, decimal_places=4, coerce_to_string=False, read_only=True, allow_null=True
    )
    problems = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="What went wrong on the way in."
    )
    overdue = serializers.SerializerMethodField(
        help_text="Open and past its next deadline: the first response while there is none, else the resolution."
    )

    class Meta:
        model = Need
        fields = NEED_FIELDS
        read_only_fields = tuple(field for field in NEED_FIELDS if field not in CREATE_FIELDS)

    def get_overdue(self, obj: Need) -> bool:
        if "now" not in self.context:
            self.context["now"] = timezone.now()  # once per page: every row is judged at the same instant
        return is_overdue(obj, self.context["now"])

    def validate_received_at(self, value: dt.datetime) -> dt.datetime:
        if value > timezone.now() + FUTURE_TOLERANCE:
            raise serializers.ValidationError(_("A need cannot be received in the future."))
        return value


class NeedUpdateSerializer(serializers.Serializer):
    """What a PATCH changes; any other field of the need is set when it is received."""

    account = tenant_field(
        Account, required=False, help_text="Triage: the account the need came from (routes and times it anew)."
    )
    contact = tenant_field(Contact, required=False, allow_null=True, help_text="A contact of the account.")
    category = category_field(
        required=False, help_text="The category's key, set or corrected by a person (the text model learns from it)."
    )
    priority = serializers.ChoiceField(choices=Priority.choices, required=False, help_text="Moves the SLA deadlines.")
    assignee = TenantMemberField(required=False, allow_null=True, help_text="An active member of the tenant, or null.")
    status = serializers.ChoiceField(
        choices=NeedStatus.choices,
        required=False,
        help_text="new -> triaged -> in_progress <-> waiting_customer -> resolved -> closed; a resolved need "
        "reopens to in_progress.",
    )
    satisfaction = serializers.IntegerField(
        min_value=1,
        max_value=5,
        required=False,
        help_text="The customer's rating 1..5, with status resolved or on a need resolved already.",
    )


class ReplySerializer(serializers.Serializer):
    body = serializers.CharField(max_length=MAX_BODY)
    internal = serializers.BooleanField(
        default=False, help_text="true: an internal note, not sent to the customer (no first response)."
    )


class NeedEntrySerializer(serializers.ModelSerializer):
    change = serializers.JSONField(read_only=True, help_text='For changes: {"from": ..., "to": ...}.')

    class Meta:
        model = NeedEntry
        fields = ("id", "kind", "author", "body", "change", "created_at")
        read_only_fields = fields
