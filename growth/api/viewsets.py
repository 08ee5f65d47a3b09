"""Viewsets of the growth API (DESIGN section 12): the catalogue of offerings, the mapping of
orders' product lines to offerings, the buying centres of accounts and the opportunities.

The base in kam.api.viewsets narrows the rows to the request's tenant and, for a session
member, to the accounts they read. Opportunities are worked by whoever logs interactions on
the account (growth.opportunities.may_work: writers on the accounts they write, members on
those they read); buying centres by the account's writers; the catalogue and the mapping by
administrators (everyone reads them). Tokens act tenant-wide with their scope. Every write goes
through growth.opportunities or growth.services, whose ValidationErrors answer 400 with field
messages. Detail resources carry an ETag; a change with a stale If-Match is a 412.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Prefetch
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError

from growth import opportunities, services
from growth.api import filters
from growth.api.serializers import (
    BuyingCentreSerializer,
    OfferingSerializer,
    OpportunitySerializer,
    ProductLineMappingSerializer,
)
from growth.models import BuyingCentre, Offering, Opportunity, ProductLineMapping
from kam.api.utils import service_errors
from kam.api.viewsets import ETagMixin, TenantApiViewSetMixin
from kam.models import Role
from kam.permissions import ADMINS, ALL_ROLES, WRITERS

WORK_DENIED = gettext_lazy("You may only work the opportunities of the accounts you own or serve on.")
CENTRE_DENIED = gettext_lazy("You may only change the buying centres of the accounts you own or serve on.")


@extend_schema_view(
    list=extend_schema(
        summary="List opportunities",
        description="Opportunities (商机) by expected close. A session member sees those of the accounts they "
        "read. `stage` may repeat; `open=true` leaves out won and lost.",
    ),
    retrieve=extend_schema(summary="Get an opportunity"),
    create=extend_schema(
        summary="Create an opportunity",
        description="`account`, `title`, `amount` (0 or more), `expected_close` (a date from 2000 to 2100); "
        "optionally `buying_centre` (of that account), `offerings` (active ones), `owner` (a member), `stage` "
        "(default lead), `lost_reason`, `description`. `source` is `manual` (needs and initiatives become "
        "opportunities on their pages).",
    ),
    update=extend_schema(summary="Replace an opportunity's fields"),
    partial_update=extend_schema(
        summary="Change an opportunity or move its stage",
        description="The fields sent. `stage` moves it to any stage: won and lost set `closed_on` to the "
        "tenant's today, an open stage clears it (and `lost_reason`).",
    ),
    destroy=extend_schema(summary="Delete an opportunity"),
)
class OpportunityViewSet(ETagMixin, TenantApiViewSetMixin, viewsets.ModelViewSet):
    """Opportunities (商机) with their stage, probability and weighted amount."""

    queryset = Opportunity.objects.prefetch_related(Prefetch("offerings", queryset=Offering.objects.only("id")))
    serializer_class = OpportunitySerializer
    filterset_class = filters.OpportunityFilter
    ordering_fields = ("expected_close", "amount", "created_at", "updated_at", "id")
    ordering = ("expected_close", "id")
    read_roles = ALL_ROLES
    write_roles = WRITERS | {Role.MEMBER}
    account_path = "account"
    fast_list = False

    def check_account(self, account: Any) -> None:
        if not opportunities.may_work(self.tenant, self.membership, account):
            raise PermissionDenied(WORK_DENIED)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        self.check_account(data["account"])
        with service_errors():
            serializer.instance = opportunities.opportunity_create(self.tenant, actor=self.actor, **data)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        opportunity = serializer.instance
        self.check_account(opportunity.account)
        data = dict(serializer.validated_data)
        if "account" in data and data["account"].pk != opportunity.account_id:
            self.check_account(data["account"])
        with service_errors():
            serializer.instance = opportunities.opportunity_update(
                self.tenant, opportunity=opportunity, actor=self.actor, **data
            )
        if hasattr(serializer.instance, "_prefetched_objects_cache"):
            serializer.instance._prefetched_objects_cache = {}

    def perform_destroy(self, instance: Opportunity) -> None:
        self.check_account(instance.account)
        with service_errors():
            opportunities.opportunity_delete(self.tenant, opportunity=instance, actor=self.actor)


@extend_schema_view(
    list=extend_schema(summary="List the offerings", description="Our catalogue (产品与解决方案目录)."),
    retrieve=extend_schema(summary="Get an offering"),
    create=extend_schema(summary="Add an offering", description="Administrators. The code is unique."),
    update=extend_schema(summary="Replace an offering's fields"),
    partial_update=extend_schema(
        summary="Change an offering",
        description="Administrators. `is_active` false retires it (never deleted: orders and opportunities "
        "name it). A code that orders name cannot change.",
    ),
)
class OfferingViewSet(ETagMixin, TenantApiViewSetMixin, viewsets.ModelViewSet):
    """The catalogue: everyone reads it, administrators write it."""

    queryset = Offering.objects.all()
    serializer_class = OfferingSerializer
    filterset_class = filters.OfferingFilter
    ordering_fields = ("position", "code", "created_at", "id")
    ordering = ("position", "code", "id")
    http_method_names = ["get", "post", "put", "patch", "head", "options"]
    read_roles = ALL_ROLES
    write_roles = ADMINS
    account_path = None

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        with service_errors():
            serializer.instance = services.offering_create(self.tenant, actor=self.actor, **serializer.validated_data)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        with service_errors():
            serializer.instance = services.offering_update(
                self.tenant, offering=serializer.instance, actor=self.actor, **serializer.validated_data
            )


@extend_schema_view(
    list=extend_schema(
        summary="List the product line mappings",
        description="An order that names no offering counts for the offering its `product_line` maps to "
        "(matched ignoring case and surrounding spaces).",
    ),
    retrieve=extend_schema(summary="Get a product line mapping"),
    create=extend_schema(
        summary="Map a product line to an offering",
        description="Administrators. A product line mapped already moves to the offering given.",
    ),
    update=extend_schema(summary="Replace a mapping"),
    partial_update=extend_schema(summary="Change a mapping"),
    destroy=extend_schema(summary="Delete a mapping"),
)
class ProductLineMappingViewSet(ETagMixin, TenantApiViewSetMixin, viewsets.ModelViewSet):
    """Product lines of orders -> offerings."""

    queryset = ProductLineMapping.objects.all()
    serializer_class = ProductLineMappingSerializer
    filterset_class = filters.ProductLineMappingFilter
    ordering_fields = ("product_line_key", "created_at", "id")
    ordering = ("product_line_key", "id")
    read_roles = ALL_ROLES
    write_roles = ADMINS
    account_path = None

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        with service_errors():
            serializer.instance = services.product_line_mapping_set(
                self.tenant, actor=self.actor, **serializer.validated_data
            )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        mapping = serializer.instance
        data = serializer.validated_data
        line = data.get("product_line", mapping.product_line)
        offering = data.get("offering", mapping.offering)
        with service_errors(), transaction.atomic():
            if line.strip().casefold() != mapping.product_line_key:
                if ProductLineMapping.objects.filter(product_line_key=line.strip().casefold()).exists():
                    raise ValidationError({"product_line": [_("This product line is mapped already.")]})
                services.product_line_mapping_delete(self.tenant, mapping=mapping, actor=self.actor)
            serializer.instance = services.product_line_mapping_set(
                self.tenant, product_line=line, offering=offering, actor=self.actor
            )

    def perform_destroy(self, instance: ProductLineMapping) -> None:
        with service_errors():
            services.product_line_mapping_delete(self.tenant, mapping=instance, actor=self.actor)


@extend_schema_view(
    list=extend_schema(
        summary="List buying centres",
        description="Buying centres (采购中心) of accounts: business units, plants or departments with their "
        "decision maker and estimated annual spend on our categories (the wallet).",
    ),
    retrieve=extend_schema(summary="Get a buying centre"),
    create=extend_schema(
        summary="Add a buying centre",
        description="The account's first centre is its primary (orders that name no centre count for it); "
        "making one primary unsets the other.",
    ),
    update=extend_schema(summary="Replace a buying centre's fields"),
    partial_update=extend_schema(summary="Change a buying centre"),
    destroy=extend_schema(summary="Delete a buying centre", description="Its opportunities stay, without a centre."),
)
class BuyingCentreViewSet(ETagMixin, TenantApiViewSetMixin, viewsets.ModelViewSet):
    """Buying centres of accounts: read where the account is read, written by its writers."""

    queryset = BuyingCentre.objects.all()
    serializer_class = BuyingCentreSerializer
    filterset_class = filters.BuyingCentreFilter
    ordering_fields = ("name", "code", "created_at", "id")
    ordering = ("account_id", "-is_primary", "name", "id")
    read_roles = ALL_ROLES
    write_roles = WRITERS
    account_path = "account"
    write_denied_message = CENTRE_DENIED

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        self.check_account_writable(data["account"])
        with service_errors():
            serializer.instance = services.buying_centre_create(self.tenant, actor=self.actor, **data)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        centre = serializer.instance
        self.check_account_writable(centre.account)
        data = dict(serializer.validated_data)
        account = data.pop("account", None)
        if account is not None and account.pk != centre.account_id:
            raise ValidationError({"account": [_("A buying centre stays with its account.")]})
        with service_errors():
            serializer.instance = services.buying_centre_update(self.tenant, centre=centre, actor=self.actor, **data)

    def perform_destroy(self, instance: BuyingCentre) -> None:
        self.check_account_writable(instance.account)
        with service_errors():
            services.buying_centre_delete(self.tenant, centre=instance, actor=self.actor)


def register(router: Any) -> None:
    router.register("opportunities", OpportunityViewSet, basename="api-opportunity")
    router.register("offerings", OfferingViewSet, basename="api-offering")
    router.register("product-line-mappings", ProductLineMappingViewSet, basename="api-product-line-mapping")
    router.register("buying-centres", BuyingCentreViewSet, basename="api-buying-centre")
