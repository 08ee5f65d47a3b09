"""factory_boy factories. Tenant-owned rows are created inside their tenant's context,
as RLS requires (WITH CHECK refuses a row of another tenant)."""

from __future__ import annotations

from typing import Any

import factory

from accounts.models import Account, AccountStatus
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
