"""Platform tasks and the helpers every app's tasks use."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from celery import shared_task
from django.contrib.sessions.models import Session
from django.utils import timezone

from kam import services
from kam.models import Tenant
from kam.tenancy import tenant_context


def tenant_task(*, atomic: bool = True, **task_options: Any) -> Callable[[Callable[..., Any]], Any]:
    """A Celery task that runs inside its tenant: ``fn(tenant, *args, **kwargs)``.

    The task is called with ``tenant_id`` first. With ``atomic`` (the default) the
    tenant context (app level and the RLS setting) is set for the whole task, in one
    transaction. With ``atomic=False`` only the app-level tenant is set and every
    service call runs in its own transaction (tenant_service enters the context), so a
    long job can commit progress that pages see while it works. An unknown or inactive
    tenant id does nothing, so a stale message is harmless.
    """

    def decorator(fn: Callable[..., Any]) -> Any:
        @shared_task(name=task_options.pop("name", f"{fn.__module__.split('.')[0]}.{fn.__name__}"), **task_options)
        @wraps(fn)
        def run(tenant_id: int, *args: Any, **kwargs: Any) -> Any:
            tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
            if tenant is None:
                return None
            if atomic:
                with tenant_context(tenant):
                    return fn(tenant, *args, **kwargs)
            return fn(tenant, *args, **kwargs)

        return run

    return decorator


def fan_out(task_name: str, *args: Any, **kwargs: Any) -> int:
    """Queue ``task_name(tenant_id, *args, **kwargs)`` once for every active tenant."""
    from kam.celery import app

    tenant_ids = list(Tenant.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True))
    for tenant_id in tenant_ids:
        app.signature(task_name, args=[tenant_id, *args], kwargs=kwargs).apply_async()
    return len(tenant_ids)


@shared_task(name="kam.fan_out")
def fan_out_task(task_name: str, *args: Any, **kwargs: Any) -> int:
    return fan_out(task_name, *args, **kwargs)


@tenant_task()
def cleanup_tenant_tokens(tenant: Tenant) -> int:
    return services.api_tokens_cleanup(tenant=tenant)


@shared_task(name="kam.hourly_cleanup")
def hourly_cleanup() -> dict[str, int]:
    """Expired sessions, then each tenant's long-expired or revoked API tokens."""
    expired_sessions, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    tenants = fan_out("kam.cleanup_tenant_tokens")
    return {"sessions": expired_sessions, "tenants": tenants}


def queue_on_commit(task: Any, *args: Any, **kwargs: Any) -> None:
    """Queue a task once the current transaction commits (never for rolled-back work)."""
    from django.db import transaction

    transaction.on_commit(lambda: task.delay(*args, **kwargs))
