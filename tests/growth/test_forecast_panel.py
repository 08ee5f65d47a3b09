"""The account overview's growth panel (accounts.panels registry, growth-account-figures):
wallet, share of wallet, potential and the forecast per offering; another tenant's account 404."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Account
from accounts.panels import panels_for
from growth import metrics
from growth.models import BuyingCentre, Offering
from kam.models import Tenant, User
from kam.tenancy import tenant_context, tenant_today
from tests import factories

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def client_in(user: User, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


@pytest.fixture
def account(tenant: Tenant, manager: User) -> Account:
    """Wallet 800,000; orders of BRG on three days (gaps 30 and 40: median 35) of 100, 200, 600
    (median 200); revenue 900 in the last 12 months: share 900 / 800,000 = 0.001125 -> 0.0011
    (0.1%); potential 800,000 - 900 = 799,100.00."""
    account = factories.AccountFactory(tenant=tenant, name="华东精密机械", owner=manager)
    today = tenant_today(tenant)
    with tenant_context(tenant):
        Offering.objects.create(tenant=tenant, code="BRG", name_zh="精密轴承", name_en="Precision bearings")
        BuyingCentre.objects.create(
            tenant=tenant, account=account, code="HQ", name="总部", annual_spend=Decimal("800000.00"), is_primary=True
        )
    for days_ago, amount in ((70, "100.00"), (40, "200.00"), (0, "600.00")):
        factories.OrderFactory(
            tenant=tenant,
            account=account,
            order_date=today - dt.timedelta(days=days_ago),
            amount=Decimal(amount),
            offering="BRG",
        )
    metrics.account_figures_refresh(tenant)
    return account


def figures_url(account: Account, slug: str = "acme") -> str:
    return reverse("growth-account-figures", kwargs={"tenant_slug": slug, "account_id": account.pk})


def test_the_panel_is_registered_and_on_the_overview(account: Account, manager: User) -> None:
    keys = [panel.key for panel in panels_for("acme", account.pk)]
    assert "growth-figures" in keys
    overview = reverse("accounts-tab-overview", kwargs={"tenant_slug": "acme", "account_id": account.pk})
    html = client_in(manager).get(overview, **HTMX).content.decode()
    assert f'hx-get="{figures_url(account)}"' in html
    assert 'hx-trigger="load"' in html


def test_the_panel_shows_the_figures_and_the_forecast(account: Account, manager: User, tenant: Tenant) -> None:
    response = client_in(manager).get(figures_url(account), **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "¥800,000.00" in html  # wallet
    assert "0.1%" in html  # share of wallet 0.0011
    assert "¥799,100.00" in html  # potential
    # BRG: last order today, next = today + 35 days; median of 100, 200, 600 = 200.00
    next_date = tenant_today(tenant) + dt.timedelta(days=35)
    row = html[html.index("<code>BRG</code>") : html.index("</tr>", html.index("<code>BRG</code>"))]
    assert "Precision bearings" in row
    assert next_date.isoformat() in row
    assert "¥200.00" in row
    assert ">35<" in row


def test_the_panel_in_chinese(account: Account, manager: User) -> None:
    response = client_in(manager, "zh-hans").get(figures_url(account), **HTMX)
    assert response.status_code == 200
    assert "精密轴承" in response.content.decode()


def test_a_plain_visit_goes_to_the_account_page(account: Account, manager: User) -> None:
    response = client_in(manager).get(figures_url(account))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts-detail", kwargs={"tenant_slug": "acme", "account_id": account.pk})


def test_another_tenants_account_is_404(account: Account, outsider: User, other_tenant: Tenant) -> None:
    # the outsider, in its own workspace, asks for this tenant's account id
    response = client_in(outsider).get(figures_url(account, slug="globex"), **HTMX)
    assert response.status_code == 404
    # and this tenant's workspace is not theirs
    assert client_in(outsider).get(figures_url(account), **HTMX).status_code == 404


def test_empty_forecast(tenant: Tenant, manager: User) -> None:
    bare = factories.AccountFactory(tenant=tenant, name="新客户", owner=manager)
    html = client_in(manager).get(figures_url(bare), **HTMX).content.decode()
    assert "No orders of an offering yet" in html
    assert "Not computed yet" in html
