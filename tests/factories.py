"""factory_boy factories. Tenant-owned rows are created inside their tenant's context,
as RLS requires (WITH CHECK refuses a row of another tenant)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import factory

from accounts.models import (
    Account,
    AccountStatus,
    Contact,
    Contract,
    Event,
    EventKind,
    Interaction,
    InteractionKind,
    Invoice,
    Order,
    Payment,
)
from kam.models import IndustryProfile, Tenant, User
from kam.tenancy import tenant_context


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"tenant-{n}")
    name = factory.Sequence(lambda n: f"供应商 {n}")
    industry_profile = IndustryProfile.MANUFACTURING


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    full_name = factory.Faker("name", locale="zh_CN")
    password = factory.django.Password("correct horse battery staple")


class TenantOwnedFactory(factory.django.DjangoModelFactory):
    class Meta:
        abstract = True

    tenant = factory.SubFactory(TenantFactory)

    @classmethod
    def _create(cls, model_class: type, *args: Any, **kwargs: Any) -> Any:
        with tenant_context(kwargs["tenant"]):
            return super()._create(model_class, *args, **kwargs)


class AccountFactory(TenantOwnedFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"客户企业 {n}")
    legal_name = factory.LazyAttribute(lambda o: f"{o.name}有限公司")
    status = AccountStatus.ACTIVE


class ContactFactory(TenantOwnedFactory):
    class Meta:
        model = Contact

    account = factory.SubFactory(AccountFactory, tenant=factory.SelfAttribute("..tenant"))
    name = factory.Faker("name", locale="zh_CN")
    title = "采购经理"


class OrderFactory(TenantOwnedFactory):
    class Meta:
        model = Order

    account = factory.SubFactory(AccountFactory, tenant=factory.SelfAttribute("..tenant"))
    order_date = dt.date(2026, 1, 15)
    amount = Decimal("100000.00")
    product_line = "精密轴承"


class InvoiceFactory(TenantOwnedFactory):
    class Meta:
        model = Invoice

    account = factory.SubFactory(AccountFactory, tenant=factory.SelfAttribute("..tenant"))
    number = factory.Sequence(lambda n: f"INV-{n:06d}")
    issued_on = dt.date(2026, 1, 1)
    due_on = dt.date(2026, 1, 31)
    amount = Decimal("50000.00")


class InteractionFactory(TenantOwnedFactory):
    class Meta:
        model = Interaction

    account = factory.SubFactory(AccountFactory, tenant=factory.SelfAttribute("..tenant"))
    kind = InteractionKind.MEETING
    occurred_at = factory.LazyFunction(lambda: dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC))
    summary = "季度业务回顾"


class EventFactory(TenantOwnedFactory):
    class Meta:
        model = Event

    account = factory.SubFactory(AccountFactory, tenant=factory.SelfAttribute("..tenant"))
    kind = EventKind.MAJOR_INVESTMENT
    occurred_on = dt.date(2026, 3, 1)
    impact_points = Decimal("10")
    expires_on = dt.date(2026, 8, 28)


class ContractFactory(TenantOwnedFactory):
    class Meta:
        model = Contract

    account = factory.SubFactory(AccountFactory, tenant=factory.SelfAttribute("..tenant"))
    title = "年度框架协议"
    start_on = dt.date(2026, 1, 1)
    end_on = dt.date(2026, 12, 31)
    value = Decimal("1000000.00")


class PaymentFactory(TenantOwnedFactory):
    """A payment row as stored; it does not add to its invoice's paid_amount (the service does)."""

    class Meta:
        model = Payment

    invoice = factory.SubFactory(InvoiceFactory, tenant=factory.SelfAttribute("..tenant"))
    paid_on = dt.date(2026, 2, 1)
    amount = Decimal("10000.00")


def scored_account_in_b(tenant: Tenant, owner: User) -> Account:
    """The owner's account alone in its tenant, in tier B a few points below A (no revenue gate
    in its way), scored by a full run: what an event's rescore moves (the event tests, on the
    page, the API and in the browser)."""
    from kam.tenancy import tenant_today
    from scoring import services as scoring

    today = tenant_today(tenant)
    account = AccountFactory(
        tenant=tenant, name="宁波精工集团", owner=owner, cooperation_since=today - dt.timedelta(days=6 * 366)
    )
    OrderFactory(tenant=tenant, account=account, order_date=today - dt.timedelta(days=30), amount=Decimal("20000000"))
    with tenant_context(tenant):
        scoring.scorecard_seed_default(tenant)
        for criterion in ("industry_position", "tech_leadership", "payment_credit"):
            scoring.rating_add(tenant, account=account, criterion=criterion, value=4)
        scoring.score_run_execute(tenant, run=scoring.score_run_create(tenant))
        account.refresh_from_db()
    # One account alone: percentile 0 of 30, growth 100 of 15, 6 years 100 of 10, ratings of 4
    # give 75 of 20, 10 and 15: (0 + 1500 + 1000 + 1500 + 750 + 1125) / 100 = 58.75, tier B.
    assert (account.tier, account.score) == ("B", Decimal("58.75"))
    return account
