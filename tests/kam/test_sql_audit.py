"""The suite's SQL audit (tests/sqlaudit.py): every statement on a tenant table names its
tenant, so that Citus sends it to one worker (docs/design.md, section 2)."""

from __future__ import annotations

import pytest
from django.db import connection, models
from django.test.utils import CaptureQueriesContext

from accounts.models import Account, Contact, Order
from kam.tenancy import tenant_context
from tests.factories import AccountFactory, ContactFactory, OrderFactory
from tests.sqlaudit import allowed_reason, audit, tenant_tables, unfiltered_tables

TABLES = frozenset({"accounts_account", "accounts_contact", "accounts_order"})


@pytest.mark.parametrize(
    "sql",
    [
        # the ORM: the scoped manager, a co-located join, a subquery with its own filter
        'SELECT "accounts_account"."id" FROM "accounts_account" WHERE ("accounts_account"."tenant_id" = (%s) AND '
        '"accounts_account"."id" = %s)',
        'SELECT * FROM "accounts_contact" INNER JOIN "accounts_account" ON ("accounts_contact"."account_id" = '
        '"accounts_account"."id" AND ("accounts_account"."tenant_id" = ("accounts_contact"."tenant_id"))) '
        'WHERE "accounts_contact"."tenant_id" = (%s)',
        'SELECT * FROM "accounts_account" LEFT OUTER JOIN "accounts_account" T3 ON ("accounts_account"."parent_id" = '
        'T3."id" AND (T3."tenant_id" = ("accounts_account"."tenant_id"))) WHERE "accounts_account"."tenant_id" = (%s)',
        'SELECT * FROM "accounts_account" WHERE ("accounts_account"."tenant_id" = (%s) AND EXISTS(SELECT 1 AS "a" '
        'FROM "accounts_order" U0 WHERE (U0."tenant_id" = (%s) AND U0."account_id" = ("accounts_account"."id"))))',
        # save() and the collector
        'UPDATE "accounts_account" SET "name" = %s WHERE ("accounts_account"."tenant_id" = %s AND '
        '"accounts_account"."id" = %s)',
        'DELETE FROM "accounts_contact" WHERE ("accounts_contact"."tenant_id" = %s AND "accounts_contact"."id" IN '
        "(%s, %s))",
        # an INSERT carries its tenant among the values
        'INSERT INTO "accounts_order" ("tenant_id", "account_id", "amount") VALUES (%s, %s, %s) RETURNING "id"',
        # raw SQL: CTEs each with their tenant, unqualified in a one-table scope, literals ignored
        "WITH o AS (SELECT account_id, SUM(amount) AS total FROM accounts_order WHERE tenant_id = %(tenant)s "
        "GROUP BY account_id) SELECT a.name, o.total FROM o JOIN accounts_account a ON a.id = o.account_id "
        "AND a.tenant_id = %(tenant)s WHERE a.status <> 'lost FROM accounts_contact'",
        "INSERT INTO accounts_order (tenant_id, account_id, amount) SELECT %s, a.id, 1 FROM accounts_account a "
        "WHERE a.tenant_id = %s",
        "UPDATE accounts_account a SET tier = s.tier FROM (VALUES (1, 'A')) s(id, tier) "
        "WHERE a.tenant_id = %s AND a.id = s.id",
        "SELECT r.* FROM stage s, LATERAL json_populate_record(NULL::accounts_account, s.line::json) r",
        "SELECT 1 FROM accounts_order o JOIN accounts_account a ON a.tenant_id = o.tenant_id AND a.id = o.account_id"
        " WHERE o.tenant_id = 5",
    ],
)
def test_a_statement_that_names_its_tenant_passes(sql):
    assert unfiltered_tables(sql, TABLES) == []


@pytest.mark.parametrize(
    ("sql", "unfiltered"),
    [
        ('SELECT * FROM "accounts_account" WHERE "accounts_account"."id" = %s', ["accounts_account"]),
        ("SELECT count(*) FROM accounts_account", ["accounts_account"]),
        # the joined table neither filtered nor joined on the tenant
        (
            'SELECT * FROM "accounts_contact" INNER JOIN "accounts_account" ON ("accounts_contact"."account_id" = '
            '"accounts_account"."id") WHERE "accounts_contact"."tenant_id" = (%s)',
            ["accounts_account"],
        ),
        # joined on the tenant, but to a table that names none
        (
            "SELECT 1 FROM accounts_order o JOIN accounts_account a ON a.tenant_id = o.tenant_id",
            ["accounts_order", "accounts_account"],
        ),
        # a subquery without its own filter
        (
            "SELECT * FROM accounts_account a WHERE a.tenant_id = %s AND a.id IN (SELECT account_id FROM accounts_order)",
            ["accounts_order"],
        ),
        # one CTE of two
        (
            "WITH x AS (SELECT id FROM accounts_account WHERE tenant_id = %s), y AS (SELECT id FROM accounts_contact) "
            "SELECT * FROM x, y",
            ["accounts_contact"],
        ),
        # several tenants
        ('DELETE FROM "accounts_order" WHERE "accounts_order"."tenant_id" IN (%s, %s)', ["accounts_order"]),
        ('UPDATE "accounts_account" SET "tier" = %s WHERE "accounts_account"."id" IN (%s)', ["accounts_account"]),
        # an assignment is no filter
        ("UPDATE accounts_account SET tenant_id = %s", ["accounts_account"]),
    ],
)
def test_a_statement_without_its_tenant_is_flagged(sql, unfiltered):
    assert unfiltered_tables(sql, TABLES) == unfiltered


def test_the_allow_list_holds_only_schema_changes_and_the_flush():
    assert allowed_reason('TRUNCATE "accounts_account", "accounts_order" RESTART IDENTITY') is not None
    assert allowed_reason('ALTER TABLE "accounts_account" FORCE ROW LEVEL SECURITY') is not None
    assert allowed_reason('CREATE INDEX "x" ON "accounts_account" ("tenant_id", "name")') is not None
    # a table made from a query is a query: checked
    assert allowed_reason("CREATE TEMP TABLE r ON COMMIT DROP AS SELECT id FROM accounts_account") is None
    assert allowed_reason("SELECT count(*) FROM accounts_account") is None


def test_the_tenant_tables_come_from_the_app_registry():
    assert {"accounts_account", "accounts_order", "kam_auditlog", "scoring_accountscore"} <= tenant_tables()
    assert not {"kam_tenant", "kam_user", "kam_membership", "kam_apitoken"} & tenant_tables()


@pytest.mark.django_db
def test_an_unfiltered_statement_is_recorded_with_its_test(tenant):
    AccountFactory(tenant=tenant)
    with tenant_context(tenant), audit.expecting() as found:
        # a queryset not made by the scoped manager, and raw SQL
        assert models.QuerySet(Account).filter(name__startswith="客户").count() == 1
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM accounts_order")
    assert [offence.tables for offence in found] == [("accounts_account",), ("accounts_order",)]
    assert 'FROM "accounts_account" WHERE' in found[0].sql
    assert found[0].tests == [
        "tests/kam/test_sql_audit.py::test_an_unfiltered_statement_is_recorded_with_its_test",
    ]


@pytest.mark.django_db
def test_the_orm_names_the_tenant_in_every_statement(tenant, other_tenant):
    account = AccountFactory(tenant=tenant)
    child = AccountFactory(tenant=tenant, parent=account)
    contact = ContactFactory(tenant=tenant, account=account)
    OrderFactory(tenant=tenant, account=child)
    AccountFactory(tenant=other_tenant)
    with tenant_context(tenant), audit.expecting() as found, CaptureQueriesContext(connection) as queries:
        contact = Contact.objects.get(pk=contact.pk)
        assert contact.account.pk == account.pk  # the base manager
        assert [c.pk for c in account.contacts.all()] == [contact.pk]  # a related manager
        assert Account.objects.select_related("parent").get(pk=child.pk).parent == account
        assert list(Account.objects.prefetch_related("contacts").filter(pk=account.pk))[0].contacts.all()
        assert Account.objects.filter(orders__amount__gt=0).count() == 1  # a join in a filter
        assert Account.objects.exclude(contacts__name="nobody").count() == 2  # a subquery of an exclude
        contact.name = "新名字"
        contact.save()  # UPDATE ... WHERE tenant_id AND id
        contact.refresh_from_db()
        child.refresh_from_db()
        Order.objects.filter(account=child).delete()
        child.delete()
        account.delete()  # cascades to the contact
        assert not Contact.objects.exists()
    assert found == [], [offence.sql for offence in found]
    assert any(q["sql"].startswith('UPDATE "accounts_contact"') and '"tenant_id" = ' in q["sql"] for q in queries)


@pytest.mark.django_db
def test_no_tenant_no_statement(tenant):
    AccountFactory(tenant=tenant)
    with CaptureQueriesContext(connection) as queries:
        assert list(Account.objects.all()) == []
        assert Account._base_manager.count() == 0
    assert queries.captured_queries == []  # fail closed, without asking the database
