"""Who may read and write which accounts (DESIGN section 2).

- admin, director, executive and manager read every account of the tenant;
- admin and director write every account; a manager writes the accounts they own
  or serve on; a member reads the accounts they own or serve on and logs
  interactions there.

"Serve on" is the teams app's knowledge. accounts imports no other domain app, so
teams registers a provider here (AppConfig.ready) that returns the account ids a
user serves on; with no provider, serving means owning.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet

from kam.models import Membership, Role
from kam.permissions import READ_ALL
from kam.tenancy import tenant_selector

if TYPE_CHECKING:
    from accounts.models import Account
    from kam.models import Tenant, User

# fn(tenant, user) -> a queryset of account ids the user serves on (a subquery).
ServedAccountIds = Callable[["Tenant", "User"], QuerySet]
_served_providers: list[ServedAccountIds] = []

WRITE_ALL = frozenset({Role.ADMIN, Role.DIRECTOR})


def register_served_accounts_provider(provider: ServedAccountIds) -> None:
    if provider not in _served_providers:
        _served_providers.append(provider)


def own_or_served(tenant: Tenant, user: User) -> Q:
    condition = Q(owner=user)
    for provider in _served_providers:
        condition |= Q(pk__in=provider(tenant, user))
    return condition


@tenant_selector
def readable_accounts(tenant: Tenant, membership: Membership) -> QuerySet[Account]:
    from accounts.models import Account

    accounts = Account.objects.all()
    if membership.role in READ_ALL:
        return accounts
    return accounts.filter(own_or_served(tenant, membership.user))


@tenant_selector
def readable_account_ids(tenant: Tenant, membership: Membership) -> list[int] | None:
    """The ids of the accounts the member reads, or None when they read every account.

    For a filter on a large table of the accounts' rows (the needs): one small query per
    source, each by its own index. readable_accounts() as a subquery there has the planner
    scan every account of the tenant for the OR of owner and served, on every statement."""
    from accounts.models import Account

    if membership.role in READ_ALL:
        return None
    ids = set(Account.objects.filter(owner_id=membership.user_id).order_by().values_list("pk", flat=True))
    for provider in _served_providers:
        ids.update(row["account_id"] for row in provider(tenant, membership.user))
    return sorted(ids)


@tenant_selector
def writable_accounts(tenant: Tenant, membership: Membership) -> QuerySet[Account]:
    from accounts.models import Account

    accounts = Account.objects.all()
    if membership.role in WRITE_ALL:
        return accounts
    if membership.role == Role.MANAGER:
        return accounts.filter(own_or_served(tenant, membership.user))
    return accounts.none()


def can_write(tenant: Tenant, membership: Membership, account: Account) -> bool:
    return writable_accounts(tenant, membership).filter(pk=account.pk).exists()


def can_log_interaction(tenant: Tenant, membership: Membership, account: Account) -> bool:
    """Writers, and members on the accounts they read (they log their own interactions)."""
    if membership.role == Role.MEMBER:
        return readable_accounts(tenant, membership).filter(pk=account.pk).exists()
    return can_write(tenant, membership, account)


def can_create_accounts(membership: Membership) -> bool:
    return membership.role in WRITE_ALL or membership.role == Role.MANAGER
