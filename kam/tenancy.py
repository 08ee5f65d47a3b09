"""The tenant context: which tenant the current request or task acts for.

Two layers, both set together by :func:`activate` / :func:`tenant_context`, the one place
a tenant is entered (the page middleware, the API's authentication, Celery's tenant tasks,
services, commands and tests all come through here):
- app level: a context variable, which every tenant-owned queryset compiles into its SQL as
  ``tenant_id = <id>`` (:class:`kam.models.TenantManager`);
- database level: ``SET LOCAL app.tenant_id = '<id>'``, local to the current transaction,
  which the row-level security policy on every tenant table reads.

With no tenant set, tenant-owned querysets are empty and the database returns no
rows (fail closed). docs/design.md, section 2.

Reads take the tenant explicitly and check that it is the active one
(:func:`tenant_selector`); writes enter it (:func:`tenant_service`).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.http import Http404
from django.utils import timezone

if TYPE_CHECKING:
    from kam.models import Tenant

RLS_SETTING = "app.tenant_id"

_current_tenant: ContextVar[Tenant | None] = ContextVar("kam_current_tenant", default=None)
# Who acts: a User, an ApiToken, or None for the system (tasks, commands). Read by the audit log.
_current_actor: ContextVar[Any] = ContextVar("kam_current_actor", default=None)


def get_current_tenant() -> Tenant | None:
    return _current_tenant.get()


def get_current_actor() -> Any:
    return _current_actor.get()


def set_tenant_sql(tenant_id: int | None) -> str:
    """The statement that sets the tenant for the rest of a transaction (any connection's).

    SET LOCAL rather than set_config(..., true): Citus passes SET LOCAL on to its workers
    (citus.propagate_set_commands = 'local'), never set_config(). SET takes no bind
    parameters, so the id goes into the text, as an integer; '' clears it."""
    value = "" if tenant_id is None else str(int(tenant_id))
    return f"SET LOCAL {RLS_SETTING} = '{value}'"


def _set_database_tenant(tenant_id: int | None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(set_tenant_sql(tenant_id))


def activate(tenant: Tenant, *, actor: Any = None) -> tuple[Token, Token]:
    """Set the tenant for the rest of the current transaction.

    Must run inside a transaction: outside one, the setting would vanish with the
    statement's implicit transaction and the caller would silently see nothing.
    Returns tokens for :func:`deactivate`.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("activate() needs an open transaction; use tenant_context() outside one")
    _set_database_tenant(tenant.pk)
    return _current_tenant.set(tenant), _current_actor.set(actor)


def deactivate(tokens: tuple[Token, Token] | None = None) -> None:
    """Forget the app-level tenant (the database setting ends with the transaction)."""
    if tokens is None:
        _current_tenant.set(None)
        _current_actor.set(None)
    else:
        _current_tenant.reset(tokens[0])
        _current_actor.reset(tokens[1])


@contextmanager
def tenant_context(tenant: Tenant, *, actor: Any = None) -> Iterator[Tenant]:
    """Run a block in one transaction (or savepoint) with ``tenant`` active.

    Nesting another tenant's context inside restores the outer tenant on exit.
    """
    previous = _current_tenant.get()
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        tokens = activate(tenant, actor=actor if actor is not None else _current_actor.get())
        try:
            yield tenant
        finally:
            deactivate(tokens)
        # Only on success: after an error the transaction is aborted, and rolling the
        # savepoint back restores the outer setting by itself. Releasing a savepoint
        # keeps the setting, so an enclosing transaction must get its own value back.
        # (An outermost transaction ends here and takes its local setting with it.)
        if not outermost and (previous is None or previous.pk != tenant.pk):
            _set_database_tenant(previous.pk if previous is not None else None)


_F = TypeVar("_F", bound=Callable[..., Any])


def tenant_service(fn: _F) -> _F:
    """Decorate a service whose first argument is the tenant: it runs in one
    transaction inside that tenant's context (entered here unless already active).

    A service called for one tenant inside another tenant's context is a bug that
    could mix tenants' data, so it raises instead of switching silently.
    """

    @wraps(fn)
    def wrapper(tenant: Tenant, *args: Any, **kwargs: Any) -> Any:
        current = _current_tenant.get()
        if current is not None and current.pk != tenant.pk:
            raise RuntimeError(f"{fn.__qualname__} called for tenant {tenant.pk} inside tenant {current.pk}'s context")
        if current is not None and connection.in_atomic_block:
            with transaction.atomic():
                return fn(tenant, *args, **kwargs)
        with tenant_context(tenant):
            return fn(tenant, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def require_active(tenant: Tenant, reader: str) -> None:
    """Raise unless ``tenant`` is the active tenant: tenant querysets read the active tenant's
    rows, so a read for another tenant (or for one outside any tenant) is a bug, not an empty
    answer."""
    current = _current_tenant.get()
    if current is None or current.pk != tenant.pk:
        active = "no tenant" if current is None else f"tenant {current.pk}"
        raise RuntimeError(f"{reader} reads tenant {tenant.pk} with {active} active")


def tenant_selector(fn: _F) -> _F:
    """Decorate a selector whose first argument is the tenant: it reads that tenant's rows
    through the scoped managers, so it must be the active one (checked, never entered: the
    querysets a selector returns are read later, inside the caller's tenant)."""

    @wraps(fn)
    def wrapper(tenant: Tenant, *args: Any, **kwargs: Any) -> Any:
        require_active(tenant, fn.__qualname__)
        return fn(tenant, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


_M = TypeVar("_M", bound=models.Model)


def get_object_for_tenant(model_or_queryset: type[_M] | models.QuerySet[_M], tenant: Tenant, pk: Any) -> _M:
    """The one way to look up a tenant's object by id: another tenant's id, or garbage, is 404.

    A tenant-owned model's rows are the active tenant's already (``tenant`` must be it);
    a platform model with a tenant (memberships, API tokens) is filtered here."""
    from kam.models import TenantOwnedModel

    queryset = (
        model_or_queryset
        if isinstance(model_or_queryset, models.QuerySet)
        else model_or_queryset._default_manager.all()
    )
    if issubclass(queryset.model, TenantOwnedModel):
        require_active(tenant, "get_object_for_tenant")
    else:
        queryset = queryset.filter(tenant=tenant)
    try:
        return queryset.get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError, OverflowError, ValidationError) as exc:
        raise Http404(f"No {queryset.model._meta.verbose_name} with that id") from exc


def tenant_today(tenant: Tenant) -> dt.date:
    """Today in the tenant's time zone: the default as-of date of every figure."""
    return timezone.now().astimezone(zoneinfo.ZoneInfo(tenant.time_zone)).date()
