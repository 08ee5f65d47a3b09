"""Data rules of customer accounts, in the database and in the services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from accounts import services
from accounts.models import Account, AccountStatus, Event, Order
from accounts.validators import credit_code_check_character, is_valid_credit_code
from kam.models import AuditLog
from kam.tenancy import tenant_context
from tests.factories import AccountFactory, ContactFactory, OrderFactory

pytestmark = pytest.mark.django_db

VALID_CODE = "91110000600037341" + credit_code_check_character("91110000600037341")


def raw(sql: str, params: list | None = None) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


# --- unified social credit code ----------------------------------------------------------------


def test_known_credit_codes():
    # Published codes of real companies (check characters as printed on their licences).
    assert is_valid_credit_code("91110000100017643K")  # 中国石油天然气股份有限公司
    assert is_valid_credit_code("914403001922038216")  # 华为技术有限公司
    assert not is_valid_credit_code("91110000100017643J")
    assert not is_valid_credit_code("9111000010001764")  # too short
    assert not is_valid_credit_code("91110000I00017643K")  # I is not in the alphabet


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("123", "A unified social credit code has 18 characters."),
        ("91110000100017643O", "A unified social credit code uses digits and capital letters except I, O, S, V and Z."),
        (
            "91110000100017643J",
            "The check character of this unified social credit code is wrong; please check the code.",
        ),
    ],
)
def test_service_refuses_bad_credit_codes_with_clear_messages(tenant, code, message):
    with pytest.raises(ValidationError) as error:
        services.account_create(tenant, name="坏代码", credit_code=code)
    assert error.value.message_dict["credit_code"] == [message]
    with tenant_context(tenant):
        assert not Account.objects.exists()


def test_database_refuses_a_bad_check_character(tenant):
    with tenant_context(tenant), pytest.raises(IntegrityError, match="account_credit_code_valid"):
        raw(
            "INSERT INTO accounts_account (tenant_id, name, legal_name, credit_code, industry, region, status, notes,"
            " tier, health_band, created_at, updated_at)"
            " VALUES (%s, 'x', '', '91110000100017643J', '', '', 'active', '', '', '', now(), now())",
            [tenant.pk],
        )


def test_credit_code_unique_per_tenant_only(tenant, other_tenant):
    services.account_create(tenant, name="甲", credit_code=VALID_CODE)
    services.account_create(other_tenant, name="乙", credit_code=VALID_CODE)  # another tenant: fine
    with pytest.raises(ValidationError) as error:
        services.account_create(tenant, name="丙", credit_code=VALID_CODE)
    assert "Another account already has this unified social credit code." in str(error.value)


# --- group hierarchy ----------------------------------------------------------------------------


def test_parent_cycle_is_refused_by_the_service(tenant):
    group = services.account_create(tenant, name="集团")
    child = services.account_create(tenant, name="子公司", parent=group)
    grandchild = services.account_create(tenant, name="孙公司", parent=child)
    with pytest.raises(ValidationError) as error:
        services.account_update(tenant, account=group, parent=grandchild)
    assert error.value.message_dict["parent"] == ["This parent would make a cycle in the group hierarchy."]
    with tenant_context(tenant):
        group.refresh_from_db()
    assert group.parent_id is None


def test_parent_cycle_is_refused_by_the_database(tenant):
    a = AccountFactory(tenant=tenant)
    b = AccountFactory(tenant=tenant, parent=a)
    with tenant_context(tenant), pytest.raises(IntegrityError, match="cycle"):
        raw("UPDATE accounts_account SET parent_id = %s WHERE tenant_id = %s AND id = %s", [b.pk, tenant.pk, a.pk])


def test_parent_of_another_tenant_is_refused(tenant, other_tenant):
    foreign = AccountFactory(tenant=other_tenant)
    with pytest.raises(ValidationError):
        services.account_create(tenant, name="x", parent=foreign)
    mine = AccountFactory(tenant=tenant)
    with tenant_context(tenant), pytest.raises(IntegrityError, match="not an account of this tenant"):
        raw(
            "UPDATE accounts_account SET parent_id = %s WHERE tenant_id = %s AND id = %s",
            [foreign.pk, tenant.pk, mine.pk],
        )


# --- orders, invoices, events -------------------------------------------------------------------


def test_database_refuses_non_positive_amounts_and_due_before_issue(tenant):
    account = AccountFactory(tenant=tenant)
    with tenant_context(tenant):
        with pytest.raises(IntegrityError, match="order_amount_positive"):
            raw(
                "INSERT INTO accounts_order (tenant_id, account_id, order_date, amount, product_line, external_ref,"
                " created_at) VALUES (%s, %s, '2026-01-01', 0, '', '', now())",
                [tenant.pk, account.pk],
            )
        with pytest.raises(IntegrityError, match="invoice_due_after_issue"):
            raw(
                "INSERT INTO accounts_invoice (tenant_id, account_id, number, issued_on, due_on, amount, created_at,"
                " updated_at) VALUES (%s, %s, 'X1', '2026-02-01', '2026-01-01', 10, now(), now())",
                [tenant.pk, account.pk],
            )


def test_service_messages_for_amount_and_due_date(tenant):
    account = AccountFactory(tenant=tenant)
    with pytest.raises(ValidationError) as error:
        services.order_create(tenant, account=account, order_date=dt.date(2026, 1, 1), amount=Decimal("-5"))
    assert "Ensure this value is greater than or equal to 0.01." in error.value.message_dict["amount"]
    with pytest.raises(ValidationError) as error:
        services.invoice_create(
            tenant,
            account=account,
            number="INV-1",
            issued_on=dt.date(2026, 2, 1),
            due_on=dt.date(2026, 1, 1),
            amount=Decimal("10"),
        )
    assert error.value.messages == ["The due date cannot be before the issue date."]


def test_external_ref_unique_per_tenant_when_given(tenant, other_tenant):
    a = AccountFactory(tenant=tenant)
    b = AccountFactory(tenant=other_tenant)
    OrderFactory(tenant=tenant, account=a, external_ref="ERP-1")
    OrderFactory(tenant=other_tenant, account=b, external_ref="ERP-1")
    OrderFactory(tenant=tenant, account=a, external_ref="")
    OrderFactory(tenant=tenant, account=a, external_ref="")  # blanks never clash
    with pytest.raises(ValidationError) as error:
        services.order_create(
            tenant, account=a, order_date=dt.date(2026, 1, 1), amount=Decimal("1"), external_ref="ERP-1"
        )
    assert error.value.messages == ["An order with this external reference exists already."]


def test_bulk_create_is_idempotent_by_external_ref(tenant, admin):
    account = AccountFactory(tenant=tenant)
    rows = [
        {
            "account": account,
            "order_date": dt.date(2026, 1, day),
            "amount": Decimal("100.00"),
            "external_ref": f"R{day}",
        }
        for day in range(1, 6)
    ] + [{"account": account, "order_date": dt.date(2026, 1, 9), "amount": Decimal("7.00"), "external_ref": ""}]
    first = services.orders_bulk_create(tenant, rows=rows[:5], actor=admin)
    again = services.orders_bulk_create(tenant, rows=rows, actor=admin)
    assert first == {"created": 5, "already_existed": 0}
    assert again == {"created": 1, "already_existed": 5}
    with tenant_context(tenant):
        assert Order.objects.count() == 6
        entry = AuditLog.objects.filter(object_type="accounts.order").first()
        assert entry.changes == {"created": [None, 1], "already_existed": [None, 5]}


def test_bulk_create_refuses_duplicates_inside_a_batch(tenant):
    account = AccountFactory(tenant=tenant)
    row = {"account": account, "order_date": dt.date(2026, 1, 1), "amount": Decimal("1"), "external_ref": "DUP"}
    with pytest.raises(ValidationError, match="DUP"):
        services.orders_bulk_create(tenant, rows=[row, dict(row)])
    with tenant_context(tenant):
        assert not Order.objects.exists()


def test_event_defaults_per_kind(tenant):
    account = AccountFactory(tenant=tenant)
    cases = {
        "major_investment": (Decimal("10"), dt.date(2026, 8, 28)),  # 2026-03-01 + 180 days
        "expansion": (Decimal("5"), dt.date(2026, 8, 28)),
        "budget_cut": (Decimal("-5"), dt.date(2026, 8, 28)),
        "competitor_win": (Decimal("-10"), dt.date(2026, 8, 28)),
        "leadership_change": (Decimal("0"), dt.date(2026, 8, 28)),
        "merger": (Decimal("0"), dt.date(2026, 8, 28)),
    }
    for kind, (points, expires) in cases.items():
        event = services.event_create(tenant, account=account, kind=kind, occurred_on=dt.date(2026, 3, 1))
        assert (event.impact_points, event.expires_on) == (points, expires), kind


def test_event_given_values_win_over_defaults(tenant):
    account = AccountFactory(tenant=tenant)
    event = services.event_create(
        tenant,
        account=account,
        kind="major_investment",
        occurred_on=dt.date(2026, 3, 1),
        impact_points=Decimal("4"),
        expires_on=dt.date(2026, 4, 1),
    )
    assert (event.impact_points, event.expires_on) == (Decimal("4"), dt.date(2026, 4, 1))


def test_event_hooks_run_after_commit(tenant, django_capture_on_commit_callbacks):
    account = AccountFactory(tenant=tenant)
    seen = []
    services.event_recorded_hooks.append(lambda t, e: seen.append((t.pk, e.kind)))
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.event_create(tenant, account=account, kind="expansion", occurred_on=dt.date(2026, 3, 1))
            assert seen == []
    finally:
        services.event_recorded_hooks.pop()
    assert seen == [(tenant.pk, "expansion")]


def test_unknown_event_kind(tenant):
    account = AccountFactory(tenant=tenant)
    with pytest.raises(ValidationError):
        services.event_create(tenant, account=account, kind="alien_invasion", occurred_on=dt.date(2026, 3, 1))
    with tenant_context(tenant):
        assert not Event.objects.exists()


# --- archive, delete, contacts ------------------------------------------------------------------


def test_account_with_orders_is_archived_never_deleted(tenant, admin):
    account = AccountFactory(tenant=tenant, name="有订单")
    OrderFactory(tenant=tenant, account=account)
    with pytest.raises(ValidationError) as error:
        services.account_delete(tenant, account=account, actor=admin)
    assert error.value.messages == [
        "有订单 has orders or invoices; archive it (status lost) instead of deleting its history."
    ]
    services.account_archive(tenant, account=account, actor=admin)
    with tenant_context(tenant):
        account.refresh_from_db()
        entry = AuditLog.objects.filter(object_type="accounts.account", action="update").get()
    assert account.status == AccountStatus.LOST
    assert entry.changes == {"status": ["active", "lost"]}


def test_account_without_history_can_be_deleted(tenant, admin):
    account = AccountFactory(tenant=tenant)
    services.account_delete(tenant, account=account, actor=admin)
    with tenant_context(tenant):
        assert not Account.objects.exists()
        assert AuditLog.objects.filter(action="delete", object_type="accounts.account").count() == 1


def test_contact_reports_to_must_be_same_account_and_loop_free(tenant):
    a = AccountFactory(tenant=tenant)
    b = AccountFactory(tenant=tenant)
    boss = ContactFactory(tenant=tenant, account=a)
    stranger = ContactFactory(tenant=tenant, account=b)
    with pytest.raises(ValidationError) as error:
        services.contact_create(tenant, account=a, name="新人", reports_to=stranger)
    assert error.value.message_dict["reports_to"] == ["A contact reports to someone at the same account."]
    worker = services.contact_create(tenant, account=a, name="员工", reports_to=boss)
    with pytest.raises(ValidationError) as error:
        services.contact_update(tenant, contact=boss, reports_to=worker)
    assert error.value.message_dict["reports_to"] == ["This would make a loop in the org chart."]


def test_denormalised_values_only_through_the_named_fields(tenant):
    account = AccountFactory(tenant=tenant)
    services.accounts_set_current_values(tenant, values=[(account.pk, {"tier": "A", "score": Decimal("71.25")})])
    with tenant_context(tenant):
        account.refresh_from_db()
    assert (account.tier, account.score) == ("A", Decimal("71.25"))
    with pytest.raises(ValueError, match="name"):
        services.accounts_set_current_values(tenant, values=[(account.pk, {"name": "hijack"})])
