"""Reads of growth's catalogue side: offerings, product line mappings and the product lines
not mapped yet, the buying centres of an account. Every function takes the tenant first
and reads it (it must be the active tenant). The whitespace is in growth.whitespace."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from accounts.models import Account
from growth.models import BuyingCentre, NotApplicable, Offering, ProductLineMapping
from kam.models import Tenant
from kam.tenancy import get_object_for_tenant, tenant_selector

UNMAPPED_LIMIT = 200


@tenant_selector
def offering_list(tenant: Tenant, *, active_only: bool = False) -> QuerySet[Offering]:
    """The catalogue in its order (position, code), with how many product lines map to each."""
    mapped = (
        ProductLineMapping.objects.filter(offering=OuterRef("pk"))
        .order_by()
        .values("offering")
        .annotate(n=Count("id"))
        .values("n")
    )
    offerings = Offering.objects.annotate(mapping_count=Coalesce(Subquery(mapped), 0)).order_by(
        "position", "code", "id"
    )
    return offerings.filter(is_active=True) if active_only else offerings


@tenant_selector
def offering_choice_list(tenant: Tenant, *, include: Offering | None = None) -> QuerySet[Offering]:
    """The active offerings (and ``include``, e.g. an inactive one an object names already)."""
    offerings = Offering.objects.filter(is_active=True)
    if include is not None and include.pk:
        offerings = Offering.objects.filter(is_active=True) | Offering.objects.filter(pk=include.pk)
    return offerings.order_by("position", "code", "id")


@tenant_selector
def offering_get(tenant: Tenant, pk: Any) -> Offering:
    return get_object_for_tenant(Offering, tenant, pk)


@tenant_selector
def offering_get_by_code(tenant: Tenant, code: str) -> Offering | None:
    return Offering.objects.filter(code=code).first()


@tenant_selector
def product_line_mapping_list(tenant: Tenant) -> QuerySet[ProductLineMapping]:
    return ProductLineMapping.objects.select_related("offering").order_by("product_line_key", "id")


@dataclass(frozen=True)
class UnmappedLine:
    product_line: str  # as the orders write it most often
    key: str  # lower(btrim(...)): what a mapping matches
    order_count: int


@tenant_selector
def unmapped_product_line_list(tenant: Tenant, *, limit: int = UNMAPPED_LIMIT) -> tuple[list[UnmappedLine], int]:
    """The distinct product lines of the tenant's orders that name no offering and that no
    mapping covers, the most ordered first, with their order counts (matched as the mapping
    matches: trimmed, case folded); and how many such lines there are in all."""
    sql = """
        WITH line AS (
            SELECT lower(btrim(o.product_line)) AS key, count(*) AS orders,
                   mode() WITHIN GROUP (ORDER BY btrim(o.product_line)) AS written
            FROM accounts_order o
            WHERE o.tenant_id = %(tenant)s AND o.offering = '' AND btrim(o.product_line) <> ''
              AND NOT EXISTS (
                  SELECT 1 FROM growth_productlinemapping m
                  WHERE m.tenant_id = %(tenant)s AND m.product_line_key = lower(btrim(o.product_line))
              )
            GROUP BY lower(btrim(o.product_line))
        )
        SELECT written, key, orders, count(*) OVER () FROM line ORDER BY orders DESC, key LIMIT %(limit)s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"tenant": tenant.pk, "limit": limit})
        rows = cursor.fetchall()
    total = rows[0][3] if rows else 0
    return [UnmappedLine(written, key, count) for written, key, count, _total in rows], total


@tenant_selector
def buying_centre_list(tenant: Tenant, account: Account) -> QuerySet[BuyingCentre]:
    """The account's buying centres, the primary first, then by name."""
    return (
        BuyingCentre.objects.filter(account=account)
        .select_related("decision_maker")
        .order_by("-is_primary", "name", "id")
    )


@tenant_selector
def buying_centre_get(tenant: Tenant, account: Account, pk: Any) -> BuyingCentre:
    """A buying centre of this account, or 404 (another tenant's, another account's)."""
    return get_object_for_tenant(
        BuyingCentre.objects.filter(account=account).select_related("account", "decision_maker"), tenant, pk
    )


@tenant_selector
def not_applicable_get(tenant: Tenant, centre: BuyingCentre, offering: Offering) -> NotApplicable | None:
    return NotApplicable.objects.filter(buying_centre=centre, offering=offering).first()


# --- the codes orders name (accounts.references) ----------------------------------------------------


@tenant_selector
def unknown_offering_codes(tenant: Tenant, codes: set[str]) -> set[str]:
    """Which of these offering codes the tenant's catalogue does not have (inactive ones exist)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT code FROM growth_offering WHERE tenant_id = %s AND code = ANY(%s)", [tenant.pk, sorted(codes)]
        )
        return set(codes) - {code for (code,) in cursor.fetchall()}


@tenant_selector
def unknown_buying_centre_codes(tenant: Tenant, pairs: set[tuple[int, str]]) -> set[tuple[int, str]]:
    """Which of these (account id, buying centre code) the accounts do not have."""
    ordered = sorted(pairs)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.account_id, c.code FROM growth_buyingcentre c"
            " JOIN unnest(%s::bigint[], %s::text[]) AS wanted(account_id, code)"
            " ON wanted.account_id = c.account_id AND wanted.code = c.code"
            " WHERE c.tenant_id = %s",
            [[int(account) for account, _code in ordered], [code for _account, code in ordered], tenant.pk],
        )
        return set(ordered) - {(account, code) for account, code in cursor.fetchall()}


def register_order_references() -> None:
    """growth.registrations: the order import, API and services check the codes here."""
    from accounts import references

    references.register(references.OFFERING, unknown_offering_codes)
    references.register(references.BUYING_CENTRE, unknown_buying_centre_codes)
