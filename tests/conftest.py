"""Shared fixtures. Tests run as the application role against a test database that
was created and migrated by the owner role, so row-level security really applies
(DESIGN section 2): as the owner, every RLS test would pass for the wrong reason."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from kam.db import owner_connection
from kam.models import ApiToken, Membership, Role, Tenant, User
from kam.tenancy import tenant_context
from tests import factories
from tests.sqlaudit import audit


def pytest_configure(config: pytest.Config) -> None:
    # Every statement of the session is checked for its tenant filter (tests/sqlaudit.py).
    config.pluginmanager.register(audit, "kam-sqlaudit")


def grant_truncate() -> None:
    """Transactional tests end with a flush (TRUNCATE) as the app role; only the test
    database allows it. On the owner's connection; again after a test made tables anew."""
    role = settings.DATABASE_APP_ROLE
    if role != settings.DATABASE_OWNER["USER"]:
        with connection.cursor() as cursor:
            cursor.execute(f'GRANT TRUNCATE ON ALL TABLES IN SCHEMA public TO "{role}"')


@pytest.fixture(scope="session")
def django_db_setup(
    request: pytest.FixtureRequest, django_test_environment: None, django_db_blocker: Any, django_db_keepdb: bool
) -> Iterator[None]:
    from django.test.utils import setup_databases, teardown_databases

    verbosity = request.config.option.verbose
    # --reuse-db keeps an existing test database (the Citus run's: tests/citus/settings.py).
    with django_db_blocker.unblock(), owner_connection():
        db_cfg = setup_databases(verbosity=verbosity, interactive=False, aliases=["default"], keepdb=django_db_keepdb)
        grant_truncate()
        # From here on the default connection is the app role on the test database.
    yield
    with django_db_blocker.unblock(), owner_connection():
        teardown_databases(db_cfg, verbosity=verbosity, keepdb=django_db_keepdb)


@pytest.fixture(autouse=True)
def _clean_redis_state() -> None:
    """Throttle counters and cached health live in Redis; start every test without them."""
    from django.core.cache import cache

    # Only this run's keys: flushing the database would also drop queued Celery messages.
    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(f"{settings.CACHES['default']['KEY_PREFIX']}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _english_outside_requests() -> Iterator[None]:
    """Messages made outside a request (services, commands) in English; the default
    language is zh-hans, and requests still choose theirs (Accept-Language, cookie)."""
    from django.utils import translation

    with translation.override("en"):
        yield


# --- tenants and people (healthchecks style: one of each role, and an outsider) ------------


@pytest.fixture
def tenant(db: None) -> Tenant:
    return factories.TenantFactory(slug="acme", name="Acme 精工")


@pytest.fixture
def other_tenant(db: None) -> Tenant:
    return factories.TenantFactory(slug="globex", name="Globex 咨询")


def _member(tenant: Tenant, role: str, email: str) -> User:
    user = factories.UserFactory(email=email)
    Membership.objects.create(tenant=tenant, user=user, role=role)
    return user


@pytest.fixture
def admin(tenant: Tenant) -> User:
    return _member(tenant, Role.ADMIN, "alice@acme.test")


@pytest.fixture
def director(tenant: Tenant) -> User:
    return _member(tenant, Role.DIRECTOR, "dora@acme.test")


@pytest.fixture
def manager(tenant: Tenant) -> User:
    return _member(tenant, Role.MANAGER, "mark@acme.test")


@pytest.fixture
def member(tenant: Tenant) -> User:
    return _member(tenant, Role.MEMBER, "bob@acme.test")


@pytest.fixture
def executive(tenant: Tenant) -> User:
    return _member(tenant, Role.EXECUTIVE, "eve@acme.test")


@pytest.fixture
def outsider(other_tenant: Tenant) -> User:
    """An administrator — of the other tenant."""
    return _member(other_tenant, Role.ADMIN, "charlie@globex.test")


@pytest.fixture
def role_users(admin: User, director: User, manager: User, member: User, executive: User) -> dict[str, User]:
    return {
        Role.ADMIN: admin,
        Role.DIRECTOR: director,
        Role.MANAGER: manager,
        Role.MEMBER: member,
        Role.EXECUTIVE: executive,
    }


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def client_for() -> Any:
    return login


# --- API --------------------------------------------------------------------------------------


def make_token(tenant: Tenant, scope: str = "write", **kwargs: Any) -> tuple[ApiToken, str]:
    from kam import services

    return services.api_token_create(tenant=tenant, name=kwargs.pop("name", f"{scope} token"), scope=scope, **kwargs)


@pytest.fixture
def write_token(tenant: Tenant) -> str:
    return make_token(tenant, "write")[1]


@pytest.fixture
def read_token(tenant: Tenant) -> str:
    return make_token(tenant, "read")[1]


@pytest.fixture
def outsider_token(other_tenant: Tenant) -> str:
    return make_token(other_tenant, "write")[1]


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.fixture
def in_tenant() -> Any:
    """``with in_tenant(t):`` — read or write tenant rows directly in a test."""
    return tenant_context
