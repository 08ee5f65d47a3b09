"""Filters of the accounts API lists (django-filter). A bad value is a 400 with the
field's message, never a 500; "_after" and "_before" bounds include the day or instant."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django_filters import rest_framework as filters

from accounts.models import Account, Contact, Contract, Interaction, Invoice, Order, Payment
from accounts.selectors import SHARE_OF_WALLET_BANDS, share_of_wallet_band_q
from kam.api.filters import IdFilter, InstantFilter
from kam.tenancy import tenant_today


class AccountFilter(filters.FilterSet):
    q = filters.CharFilter(method="filter_q", help_text="Part of the name or legal name, or the whole credit code.")
    owner = IdFilter(field_name="owner_id", help_text="Id of the owning user.")
    parent = IdFilter(field_name="parent_id", help_text="Id of the parent account.")
    updated_after = InstantFilter(
        field_name="updated_at", lookup_expr="gte", help_text="Changed at or after this instant (ISO 8601)."
    )
    # growth's denormalised figures (DESIGN section 12); an account not computed yet has none
    potential_min = filters.NumberFilter(
        field_name="potential_12m", lookup_expr="gte", min_value=0, help_text="potential_12m at least this amount."
    )
    share_of_wallet_min = filters.NumberFilter(
        field_name="share_of_wallet", lookup_expr="gte", min_value=0, help_text="share_of_wallet at least (0.25 = 25%)."
    )
    share_of_wallet_max = filters.NumberFilter(
        field_name="share_of_wallet", lookup_expr="lt", min_value=0, help_text="share_of_wallet below (0.5 = 50%)."
    )
    share_of_wallet_band = filters.ChoiceFilter(
        method="filter_share_of_wallet_band",
        choices=[(band, band) for band in SHARE_OF_WALLET_BANDS],
        help_text="under-25, 25-50, 50-75 (from the lower bound, below the upper), 75-up, or none (no wallet).",
    )

    class Meta:
        model = Account
        fields = ("status", "tier", "health_band", "industry", "region")

    def filter_share_of_wallet_band(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(share_of_wallet_band_q(value)) if value else queryset

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(legal_name__icontains=value) | Q(credit_code__iexact=value))


class ContactFilter(filters.FilterSet):
    account = IdFilter(field_name="account_id")
    left = filters.BooleanFilter(method="filter_left", help_text="true: has left the company; false: still there.")

    class Meta:
        model = Contact
        fields = ("account", "level", "buying_role", "attitude")

    def filter_left(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(left_on__isnull=not value)


class OrderFilter(filters.FilterSet):
    account = IdFilter(field_name="account_id")
    order_date_after = filters.DateFilter(field_name="order_date", lookup_expr="gte")
    order_date_before = filters.DateFilter(field_name="order_date", lookup_expr="lte")

    class Meta:
        model = Order
        fields = ("account", "product_line", "external_ref")


class InvoiceFilter(filters.FilterSet):
    account = IdFilter(field_name="account_id")
    overdue = filters.BooleanFilter(
        method="filter_overdue", help_text="true: unpaid and past due (today in the tenant's time zone)."
    )
    due_after = filters.DateFilter(field_name="due_on", lookup_expr="gte")
    due_before = filters.DateFilter(field_name="due_on", lookup_expr="lte")

    class Meta:
        model = Invoice
        fields = ("account",)

    def filter_overdue(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        overdue = Q(paid_on__isnull=True, due_on__lt=tenant_today(self.request.tenant))
        return queryset.filter(overdue) if value else queryset.exclude(overdue)


class PaymentFilter(filters.FilterSet):
    invoice = IdFilter(field_name="invoice_id", help_text="Id of the invoice.")
    account = IdFilter(field_name="invoice__account_id", help_text="Id of the invoice's account.")
    paid_after = filters.DateFilter(field_name="paid_on", lookup_expr="gte", help_text="Paid on or after this day.")
    paid_before = filters.DateFilter(field_name="paid_on", lookup_expr="lte", help_text="Paid on or before this day.")

    class Meta:
        model = Payment
        fields = ("invoice", "account")


class InteractionFilter(filters.FilterSet):
    account = IdFilter(field_name="account_id")
    occurred_after = InstantFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = InstantFilter(field_name="occurred_at", lookup_expr="lte")

    class Meta:
        model = Interaction
        fields = ("account", "kind")


class ContractFilter(filters.FilterSet):
    account = IdFilter(field_name="account_id")
    ending_before = filters.DateFilter(field_name="end_on", lookup_expr="lte", help_text="Ends on or before this day.")

    class Meta:
        model = Contract
        fields = ("account",)
