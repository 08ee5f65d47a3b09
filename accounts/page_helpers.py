"""Small reads the account pages need that accounts.selectors does not offer (yet).

Kept apart so the selectors module stays the shared one; each function takes the
tenant first, like the selectors, and could move there unchanged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet

from accounts.access import readable_accounts
from accounts.models import Account, Contact, Contract, Invoice, Order
from accounts.selectors import account_contracts
from kam.models import Membership, Tenant, User

# Contracts ending this soon are highlighted (renewal comes up).
RENEWAL_WINDOW_DAYS = 90


def tenant_member_users(tenant: Tenant, *, include: Iterable[int | None] = ()) -> QuerySet[User]:
    """Users with an active membership in the tenant (owner choices), by name; ``include``
    keeps given users (e.g. an account's current owner who has since left)."""
    extra = [pk for pk in include if pk]
    active = Membership.objects.filter(tenant=tenant, is_active=True, user__is_active=True).values("user_id")
    condition = Q(pk__in=active)
    if extra:
        condition |= Q(pk__in=extra)
    return User.objects.filter(condition).order_by("full_name", "email")


def account_is_deletable(tenant: Tenant, account: Account) -> bool:
    """No orders, invoices or subsidiaries: the rules of services.account_delete, for showing
    the Delete button (the service still decides). One query."""
    return not (
        Account.objects.for_tenant(tenant)
        .filter(pk=account.pk)
        .filter(
            Exists(Order.objects.for_tenant(tenant).filter(account=OuterRef("pk")))
            | Exists(Invoice.objects.for_tenant(tenant).filter(account=OuterRef("pk")))
            | Exists(Account.objects.for_tenant(tenant).filter(parent=OuterRef("pk")))
        )
        .exists()
    )


def parent_choices(tenant: Tenant, account: Account | None) -> QuerySet[Account]:
    """The tenant's accounts that may be chosen as parent (the account itself left out;
    deeper cycles are refused by the service)."""
    accounts = Account.objects.for_tenant(tenant).order_by("name", "id")
    return accounts.exclude(pk=account.pk) if account is not None and account.pk else accounts


def reports_to_choices(tenant: Tenant, account: Account, contact: Contact | None) -> QuerySet[Contact]:
    contacts = Contact.objects.for_tenant(tenant).filter(account=account).order_by("name", "id")
    return contacts.exclude(pk=contact.pk) if contact is not None and contact.pk else contacts


def contracts_with_renewal_flag(tenant: Tenant, account: Account, *, today: dt.date) -> QuerySet[Contract]:
    """The account's contracts, each with ``ends_soon``: ending within the renewal window."""
    window_end = today + dt.timedelta(days=RENEWAL_WINDOW_DAYS)
    return account_contracts(tenant, account).annotate(
        ends_soon=ExpressionWrapper(Q(end_on__gte=today, end_on__lte=window_end), output_field=BooleanField())
    )


def readable_account_ids(tenant: Tenant, membership: Membership, ids: Iterable[int]) -> set[int]:
    """Which of these accounts the member may open (group trees show the whole group)."""
    return set(readable_accounts(tenant, membership).filter(pk__in=list(ids)).values_list("pk", flat=True))
