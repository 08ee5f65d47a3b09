"""The one tenant path (docs/architecture.md, "A tenant's rows"): SET LOCAL in one place,
one way to read a tenant's rows, and reads that check their tenant is the active one."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from accounts import selectors as account_selectors
from accounts.models import Account
from kam.tenancy import get_object_for_tenant, tenant_context
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def settings_sent(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if "app.tenant_id" in q["sql"]]


def test_the_tenant_is_set_with_set_local_and_cleared_with_an_empty_one(tenant, other_tenant):
    # Citus passes SET LOCAL on to its workers, never set_config()
    with CaptureQueriesContext(connection) as queries, tenant_context(tenant), tenant_context(other_tenant):
        pass
    assert settings_sent(queries) == [
        f"SET LOCAL app.tenant_id = '{tenant.pk}'",
        f"SET LOCAL app.tenant_id = '{other_tenant.pk}'",
        f"SET LOCAL app.tenant_id = '{tenant.pk}'",  # the outer tenant back after the inner block
        "SET LOCAL app.tenant_id = ''",  # and none after the outer one (the test's transaction goes on)
    ]
    with (
        CaptureQueriesContext(connection) as queries,
        tenant_context(tenant),
        tenant_context(other_tenant),
        tenant_context(other_tenant),
    ):
        pass
    # the innermost block, of the same tenant, leaves the setting as it is
    assert [sql.split(" = ")[1] for sql in settings_sent(queries)] == [
        f"'{tenant.pk}'",
        f"'{other_tenant.pk}'",
        f"'{other_tenant.pk}'",
        f"'{tenant.pk}'",
        "''",
    ]


def test_a_queryset_made_outside_a_tenant_reads_the_tenant_it_runs_in(tenant, other_tenant):
    mine = AccountFactory(tenant=tenant)
    theirs = AccountFactory(tenant=other_tenant)
    accounts = Account.objects.all()  # as a viewset's class attribute is made, at import
    assert list(accounts) == []
    with tenant_context(tenant):
        assert list(accounts.all()) == [mine]
    with tenant_context(other_tenant):
        assert list(accounts.all()) == [theirs]


def test_a_selector_reads_only_the_active_tenant(tenant, other_tenant):
    AccountFactory(tenant=tenant)
    with pytest.raises(RuntimeError, match="no tenant active"):
        account_selectors.account_filter_choice_list(tenant)
    with tenant_context(other_tenant), pytest.raises(RuntimeError, match=f"tenant {other_tenant.pk} active"):
        account_selectors.account_filter_choice_list(tenant)
    with tenant_context(tenant):
        assert account_selectors.account_filter_choice_list(tenant) == {"industries": [], "regions": []}


def test_get_object_for_tenant_reads_the_active_tenant_only(tenant, other_tenant):
    theirs = AccountFactory(tenant=other_tenant)
    with tenant_context(tenant), pytest.raises(Http404):
        get_object_for_tenant(Account, tenant, theirs.pk)
    with tenant_context(tenant), pytest.raises(RuntimeError):
        get_object_for_tenant(Account, other_tenant, theirs.pk)
    with tenant_context(other_tenant):
        assert get_object_for_tenant(Account, other_tenant, theirs.pk) == theirs


def test_an_object_addresses_its_own_row_by_its_tenant(tenant):
    account = AccountFactory(tenant=tenant)
    with tenant_context(tenant), CaptureQueriesContext(connection) as queries:
        account.name = "改名"
        account.save(update_fields=["name"])
        account.refresh_from_db()
    update, select = (q["sql"] for q in queries.captured_queries)
    assert f'WHERE ("accounts_account"."tenant_id" = {tenant.pk} AND "accounts_account"."id" = {account.pk})' in update
    assert f'("accounts_account"."tenant_id" = {tenant.pk} AND "accounts_account"."id" = {account.pk})' in select


def test_every_selector_of_a_tenant_checks_it_is_the_active_one():
    unchecked = []
    for path in sorted(ROOT.glob("*/selectors.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
                continue
            parameters = [a.arg for a in node.args.posonlyargs + node.args.args]
            decorators = {d.id for d in node.decorator_list if isinstance(d, ast.Name)}
            reads_tenant_rows = path.parts[-2] != "kam" or node.name.startswith("audit_")
            if parameters[:1] == ["tenant"] and reads_tenant_rows and "tenant_selector" not in decorators:
                unchecked.append(f"{path.relative_to(ROOT)}: {node.name}")
    assert unchecked == []
