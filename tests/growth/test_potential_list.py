"""The accounts list and the accounts API with growth's denormalised figures: the columns
"Potential" and "Share of wallet", the filters by minimum potential and share of wallet band,
the sort by potential; another tenant's accounts never appear."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from accounts.forms import AccountFilterForm
from accounts.models import Account
from accounts.selectors import SHARE_OF_WALLET_BANDS
from kam.models import Tenant, User
from tests.conftest import bearer
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db
API = "/api/v1"


def client_in(user: User, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


@pytest.fixture
def figures(tenant: Tenant, other_tenant: Tenant) -> dict[str, Account]:
    """Accounts with the figures growth would have written (set directly: the list reads columns)."""

    def make(on: Tenant, name: str, potential: str | None, share: str | None) -> Account:
        return AccountFactory(
            tenant=on,
            name=name,
            wallet=Decimal("1000000.00") if share is not None else (Decimal("0") if potential else None),
            potential_12m=Decimal(potential) if potential is not None else None,
            share_of_wallet=Decimal(share) if share is not None else None,
        )

    return {
        "low": make(tenant, "Alpha", "1000.00", "0.9000"),  # 75-up
        "mid": make(tenant, "Bravo", "500000.00", "0.2500"),  # 25-50 (0.25 is the lower bound)
        "high": make(tenant, "Charlie", "2500000.00", "0.1000"),  # under-25
        "nowallet": make(tenant, "Delta", "30000.00", None),  # no wallet
        "unknown": make(tenant, "Echo", None, None),  # not computed yet
        "theirs": make(other_tenant, "Foxtrot", "9999999.00", "0.3000"),
    }


def names(html: str, candidates: list[str]) -> list[str]:
    found = [(html.index(f">{name}</a>"), name) for name in candidates if f">{name}</a>" in html]
    return [name for _position, name in sorted(found)]


ALL = ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["Alpha", "Bravo", "Charlie", "Delta", "Echo"]),
        ("min_potential=30000", ["Bravo", "Charlie", "Delta"]),
        ("min_potential=500000.00", ["Bravo", "Charlie"]),
        ("share_of_wallet=under-25", ["Charlie"]),
        ("share_of_wallet=25-50", ["Bravo"]),
        ("share_of_wallet=50-75", []),
        ("share_of_wallet=75-up", ["Alpha"]),
        ("share_of_wallet=none", ["Delta", "Echo"]),
        ("share_of_wallet=none&min_potential=1", ["Delta"]),
        # invalid values are dropped, as the list's other filters are
        ("min_potential=-5&share_of_wallet=bogus", ["Alpha", "Bravo", "Charlie", "Delta", "Echo"]),
        ("min_potential=abc", ["Alpha", "Bravo", "Charlie", "Delta", "Echo"]),
        # sorted by potential, highest first; not computed last
        ("sort=-potential", ["Charlie", "Bravo", "Delta", "Alpha", "Echo"]),
        ("sort=potential", ["Alpha", "Delta", "Bravo", "Charlie", "Echo"]),
    ],
)
def test_list_filters_and_sorts(figures: dict, admin: User, query: str, expected: list[str]) -> None:
    response = client_in(admin).get(f"/t/acme/accounts/?{query}")
    assert response.status_code == 200
    assert names(response.content.decode(), ALL) == expected


def test_list_shows_the_columns(figures: dict, admin: User) -> None:
    html = client_in(admin).get("/t/acme/accounts/?q=Bravo").content.decode()
    assert ">Potential<" in html and ">Share of wallet<" in html
    row = html[html.index(">Bravo</a>") : html.index("</tr>", html.index(">Bravo</a>"))]
    assert "¥500,000.00" in row
    assert "25.0%" in row
    assert 'name="min_potential"' in html and 'name="share_of_wallet"' in html
    zh = client_in(admin, "zh-hans").get("/t/acme/accounts/?q=Bravo")
    assert zh.status_code == 200


def test_the_forms_bands_are_the_selectors() -> None:
    assert {key for key, _label in AccountFilterForm.SHARE_OF_WALLET_CHOICES} == set(SHARE_OF_WALLET_BANDS)


def test_export_takes_the_filters(figures: dict, admin: User) -> None:
    response = client_in(admin).get("/t/acme/accounts/export/?format=csv&share_of_wallet=25-50")
    assert response.status_code == 200
    body = response.content.decode("utf-8-sig")
    assert "Bravo" in body and "Charlie" not in body and "Foxtrot" not in body


# --- the API -------------------------------------------------------------------------------------------


def api_names(token: str, params: dict[str, Any]) -> list[str]:
    response = Client().get(f"{API}/accounts/", params, HTTP_ACCEPT_LANGUAGE="en", **bearer(token))
    assert response.status_code == 200, response.content
    return [row["name"] for row in response.json()["results"]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"potential_min": "30000"}, ["Bravo", "Charlie", "Delta"]),
        ({"share_of_wallet_min": "0.25"}, ["Alpha", "Bravo"]),
        ({"share_of_wallet_max": "0.25"}, ["Charlie"]),
        ({"share_of_wallet_min": "0.1", "share_of_wallet_max": "0.9"}, ["Bravo", "Charlie"]),
        ({"share_of_wallet_band": "none"}, ["Delta", "Echo"]),
        ({"share_of_wallet_band": "75-up"}, ["Alpha"]),
        ({"share_of_wallet_band": "25-50", "potential_min": "1"}, ["Bravo"]),
    ],
)
def test_api_filters(figures: dict, read_token: str, params: dict, expected: list[str]) -> None:
    assert api_names(read_token, params) == expected


def test_api_shows_the_figures_read_only(figures: dict, read_token: str, write_token: str) -> None:
    bravo = figures["mid"]
    client = Client()
    response = client.get(f"{API}/accounts/{bravo.pk}/", HTTP_ACCEPT_LANGUAGE="en", **bearer(read_token))
    body = response.json()
    assert (body["wallet"], body["share_of_wallet"], body["potential_12m"]) == ("1000000.00", 0.25, "500000.00")
    # another tenant's account: 404
    theirs = client.get(f"{API}/accounts/{figures['theirs'].pk}/", HTTP_ACCEPT_LANGUAGE="en", **bearer(read_token))
    assert theirs.status_code == 404


@pytest.mark.parametrize(
    "params",
    [
        {"potential_min": "abc"},
        {"potential_min": "-1"},
        {"share_of_wallet_band": "bogus"},
        {"share_of_wallet_min": "x"},
    ],
)
def test_api_bad_filters_are_400(figures: dict, read_token: str, params: dict) -> None:
    response = Client().get(f"{API}/accounts/", params, HTTP_ACCEPT_LANGUAGE="en", **bearer(read_token))
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], set(error["fields"])) == ("invalid", set(params))
