"""Buying centres: the services' rules (decision maker of the same account, spend >= 0, one
primary per account, codes unique per account) and their pages (writers of the account edit,
readers see, other tenants' and other accounts' centres 404)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import Account
from growth import services
from growth.models import BuyingCentre, NotApplicable
from kam.models import AuditLog, Tenant, User
from kam.tenancy import tenant_context
from tests import factories
from tests.conftest import login

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def url(name: str, tenant: Tenant, **kwargs: Any) -> str:
    return reverse(name, kwargs={"tenant_slug": tenant.slug, **kwargs})


def reload(obj: Any) -> Any:
    with tenant_context(obj.tenant):
        obj.refresh_from_db()
    return obj


def centres_of(account: Account) -> list[tuple[str, bool]]:
    with tenant_context(account.tenant):
        return list(BuyingCentre.objects.filter(account=account).order_by("code").values_list("code", "is_primary"))


@pytest.fixture
def account(tenant: Tenant, manager: User) -> Account:
    return factories.AccountFactory(tenant=tenant, name="华东精密机械", owner=manager, tier="S")


def test_first_centre_is_primary_and_one_primary_per_account(tenant: Tenant, account: Account) -> None:
    hq = services.buying_centre_create(tenant, account=account, code="HQ", name="总部", annual_spend="1000.50")
    assert hq.is_primary and hq.annual_spend == Decimal("1000.50")
    plant = services.buying_centre_create(tenant, account=account, code="PL", name="工厂", is_primary=True)
    assert centres_of(account) == [("HQ", False), ("PL", True)]
    services.buying_centre_update(tenant, centre=reload(hq), is_primary=True)
    assert centres_of(account) == [("HQ", True), ("PL", False)]
    with pytest.raises(ValidationError) as exc:
        services.buying_centre_update(tenant, centre=reload(hq), is_primary=False)
    assert "is_primary" in exc.value.message_dict
    # another account's primary is untouched
    other = factories.AccountFactory(tenant=tenant)
    services.buying_centre_create(tenant, account=other, code="HQ", name="HQ")
    assert centres_of(account) == [("HQ", True), ("PL", False)]
    assert centres_of(other) == [("HQ", True)]
    with tenant_context(tenant):
        assert AuditLog.objects.filter(object_type="growth.buyingcentre", object_id=str(plant.pk)).count() >= 2


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"annual_spend": "-1"}, "annual_spend"),
        ({"annual_spend": "abc"}, "annual_spend"),
        ({"annual_spend": "1.234"}, "annual_spend"),
        ({"annual_spend": "NaN"}, "annual_spend"),
        ({"code": "has space"}, "code"),
        ({"code": ""}, "code"),
        ({"name": "  "}, "name"),
        ({"kind": "galaxy"}, "kind"),
    ],
)
def test_bad_input_writes_nothing(tenant: Tenant, account: Account, changes: dict[str, Any], field: str) -> None:
    data = {"code": "HQ", "name": "总部", **changes}
    with pytest.raises(ValidationError) as exc:
        services.buying_centre_create(tenant, account=account, **data)
    assert field in exc.value.message_dict
    assert centres_of(account) == []


def test_duplicate_code_and_decision_maker_of_the_same_account(
    tenant: Tenant, other_tenant: Tenant, account: Account
) -> None:
    services.buying_centre_create(tenant, account=account, code="HQ", name="总部")
    with pytest.raises(ValidationError) as exc:
        services.buying_centre_create(tenant, account=account, code="HQ", name="again")
    assert "code" in exc.value.message_dict
    elsewhere = factories.ContactFactory(tenant=tenant)
    with pytest.raises(ValidationError) as exc:
        services.buying_centre_create(tenant, account=account, code="PL", name="工厂", decision_maker=elsewhere)
    assert "decision_maker" in exc.value.message_dict
    theirs = factories.ContactFactory(tenant=other_tenant)
    with pytest.raises(ValidationError):
        services.buying_centre_create(tenant, account=account, code="PL", name="工厂", decision_maker=theirs)
    own = factories.ContactFactory(tenant=tenant, account=account)
    centre = services.buying_centre_create(tenant, account=account, code="PL", name="工厂", decision_maker=own)
    assert centre.decision_maker_id == own.pk
    assert centres_of(account) == [("HQ", True), ("PL", False)]


def test_another_tenants_account_is_refused(tenant: Tenant, other_tenant: Tenant) -> None:
    theirs = factories.AccountFactory(tenant=other_tenant)
    with pytest.raises(ValidationError):
        services.buying_centre_create(tenant, account=theirs, code="HQ", name="x")
    assert centres_of(theirs) == []


def test_delete_moves_the_primary_and_drops_marks(tenant: Tenant, account: Account) -> None:
    hq = services.buying_centre_create(tenant, account=account, code="HQ", name="A 总部")
    services.buying_centre_create(tenant, account=account, code="PL", name="B 工厂")
    offering = services.offering_create(tenant, code="PUMP", name_zh="泵", name_en="Pumps")
    services.not_applicable_mark(tenant, buying_centre=hq, offering=offering, reason="no pumps")
    services.buying_centre_delete(tenant, centre=hq)
    assert centres_of(account) == [("PL", True)]
    with tenant_context(tenant):
        assert not NotApplicable.objects.exists()


def test_wallet_is_refreshed(tenant: Tenant, account: Account) -> None:
    services.buying_centre_create(tenant, account=account, code="HQ", name="总部", annual_spend=300)
    services.buying_centre_create(tenant, account=account, code="PL", name="工厂", annual_spend=200)
    assert reload(account).wallet == Decimal("500.00")


# --- pages ---------------------------------------------------------------------------------------


def test_manager_creates_edits_and_deletes_through_pages(tenant: Tenant, account: Account, manager: User) -> None:
    client = login(manager)
    create_url = url("growth-centre-create", tenant, account_id=account.pk)
    assert client.get(create_url, **EN).status_code == 200
    response = client.post(create_url, {"code": "HQ", "name": "总部", "kind": "plant", "annual_spend": "-5"}, **EN)
    assert response.status_code == 400
    assert "greater than or equal to 0" in response.content.decode()
    assert centres_of(account) == []
    response = client.post(create_url, {"code": "HQ", "name": "总部", "kind": "plant", "annual_spend": "5000"})
    assert response.status_code == 302 and "tab=whitespace" in response["Location"]
    with tenant_context(tenant):
        centre = BuyingCentre.objects.get(account=account)
    edit_url = url("growth-centre-edit", tenant, account_id=account.pk, centre_id=centre.pk)
    response = client.post(edit_url, {"code": "HQ", "name": "总部 2", "kind": "plant", "annual_spend": "6000"})
    assert response.status_code == 302
    assert reload(centre).name == "总部 2" and centre.is_primary  # unticked primary stays primary
    delete_url = url("growth-centre-delete", tenant, account_id=account.pk, centre_id=centre.pk)
    confirm = client.get(delete_url, **EN)
    assert confirm.status_code == 200 and "Delete the buying centre" in confirm.content.decode()
    assert centres_of(account) == [("HQ", True)]
    response = client.post(delete_url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Redirect"]
    assert centres_of(account) == []


def test_decision_maker_choices_are_the_accounts_contacts(tenant: Tenant, account: Account, admin: User) -> None:
    own = factories.ContactFactory(tenant=tenant, account=account, name="王经理")
    elsewhere = factories.ContactFactory(tenant=tenant, name="李总")
    client = login(admin)
    page = client.get(url("growth-centre-create", tenant, account_id=account.pk)).content.decode()
    assert own.name in page and elsewhere.name not in page
    response = client.post(
        url("growth-centre-create", tenant, account_id=account.pk),
        {"code": "HQ", "name": "总部", "kind": "plant", "annual_spend": "0", "decision_maker": elsewhere.pk},
    )
    assert response.status_code == 400
    assert centres_of(account) == []


def test_permissions(tenant: Tenant, account: Account, member: User, executive: User, director: User) -> None:
    centre = services.buying_centre_create(tenant, account=account, code="HQ", name="总部")
    edit_url = url("growth-centre-edit", tenant, account_id=account.pk, centre_id=centre.pk)
    data = {"code": "HQ", "name": "hacked", "kind": "plant", "annual_spend": "1"}
    assert login(member).post(edit_url, data).status_code == 403
    assert login(executive).post(edit_url, data).status_code == 403
    assert reload(centre).name == "总部"
    # a manager who neither owns nor serves the account reads it but may not write it
    other_manager = factories.UserFactory(email="other-manager@acme.test")
    from kam.models import Membership, Role

    Membership.objects.create(tenant=tenant, user=other_manager, role=Role.MANAGER)
    assert login(other_manager).post(edit_url, data).status_code == 403
    assert login(director).post(edit_url, data).status_code == 302
    assert reload(centre).name == "hacked"


def test_other_tenant_and_other_account_are_404(
    tenant: Tenant, other_tenant: Tenant, account: Account, admin: User
) -> None:
    theirs_account = factories.AccountFactory(tenant=other_tenant)
    theirs = services.buying_centre_create(other_tenant, account=theirs_account, code="HQ", name="theirs")
    sibling = factories.AccountFactory(tenant=tenant)
    sibling_centre = services.buying_centre_create(tenant, account=sibling, code="HQ", name="sibling")
    client = login(admin)
    data = {"code": "HQ", "name": "hacked", "kind": "plant", "annual_spend": "1"}
    assert client.post(url("growth-centre-create", tenant, account_id=theirs_account.pk), data).status_code == 404
    for centre_id, account_id in (
        (theirs.pk, account.pk),
        (theirs.pk, theirs_account.pk),
        (sibling_centre.pk, account.pk),
    ):
        for name in ("growth-centre-edit", "growth-centre-delete"):
            response = client.post(url(name, tenant, account_id=account_id, centre_id=centre_id), data)
            assert response.status_code == 404
    assert reload(theirs).name == "theirs" and reload(sibling_centre).name == "sibling"
