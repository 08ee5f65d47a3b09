from __future__ import annotations

import pytest

from kam.models import Membership
from tests.factories import AccountFactory


@pytest.fixture
def account(tenant, manager):
    """An account of the tenant, owned by the manager."""
    return AccountFactory(tenant=tenant, name="中车华北集团", owner=manager)


@pytest.fixture
def foreign_account(other_tenant):
    """An account of the other tenant: every lookup of it from `tenant` must be 404."""
    return AccountFactory(tenant=other_tenant, name="Globex 客户")


@pytest.fixture
def membership_of():
    def get(user, tenant):
        return Membership.objects.get(user=user, tenant=tenant)

    return get
