"""Portfolio pages and API: who sees what (managers their own, 404 otherwise and across tenants),
the export's content, the weights page's validation and audit, both languages."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from kam.audit import AuditLog
from kam.tenancy import tenant_context
from portfolio.models import PortfolioWeights
from tests.conftest import bearer, login
from tests.portfolio.conftest import D

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def url(name, tenant, **kwargs):
    return reverse(name, kwargs={"tenant_slug": tenant.slug, **kwargs})


def test_director_sees_everyone_sorted(world, director):
    client = login(director)
    response = client.get(url("portfolio-people", world.tenant), {"as_of": D.isoformat()}, **EN)
    assert response.status_code == 200
    body = response.content.decode()
    assert "68.57" in body and "64.33" in body and "36.00" in body
    assert body.index(world.p1.display_name) < body.index("Pat Two") < body.index("Pat Three")
    response = client.get(url("portfolio-people", world.tenant), {"as_of": D.isoformat(), "sort": "health"}, **EN)
    body = response.content.decode()
    assert body.index("Pat Three") < body.index("Pat Two") < body.index(world.p1.display_name)
    zh = client.get(url("portfolio-people", world.tenant), {"as_of": D.isoformat()}, **ZH).content.decode()
    assert "激励指数" in zh


@pytest.mark.parametrize("role", ["admin", "executive"])
def test_others_who_see_all(world, role_users, role):
    client = login(role_users[role])
    response = client.get(url("portfolio-person", world.tenant, user_id=world.p2.pk), {"as_of": D.isoformat()}, **EN)
    assert response.status_code == 200
    assert "Gamma" in response.content.decode()


def test_manager_sees_only_own(world):
    client = login(world.p1)
    response = client.get(url("portfolio-people", world.tenant), **EN)
    assert response.status_code == 302
    assert response["Location"].endswith(f"/portfolio/people/{world.p1.pk}/")
    own = client.get(url("portfolio-person", world.tenant, user_id=world.p1.pk), {"as_of": D.isoformat()}, **EN)
    assert own.status_code == 200 and "68.57" in own.content.decode()
    assert "The last four quarter ends" in own.content.decode()
    other = client.get(url("portfolio-person", world.tenant, user_id=world.p2.pk), **EN)
    assert other.status_code == 404
    export = client.get(url("portfolio-export", world.tenant), {"as_of": D.isoformat()})
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert len(rows) == 2 and rows[1][0] == world.p1.display_name
    teams = client.get(url("portfolio-teams", world.tenant), {"as_of": D.isoformat()}, **EN).content.decode()
    assert "Alpha" in teams and "Beta" not in teams


def test_other_tenant_person_is_404(world, outsider, director):
    assert login(outsider).get(url("portfolio-people", world.tenant)).status_code == 404
    stranger_page = login(director).get(url("portfolio-person", world.tenant, user_id=outsider.pk))
    assert stranger_page.status_code == 404


def test_csv_and_xlsx_export(world, director):
    client = login(director)
    response = client.get(url("portfolio-export", world.tenant), {"as_of": D.isoformat(), "format": "csv"}, **EN)
    assert response["Content-Disposition"] == 'attachment; filename="portfolio-2026-06-30.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Person", "Incentive index", "Revenue, last 12 months (share)"]
    assert [row[1] for row in rows[1:]] == ["68.57", "64.33", "36.00"]
    assert rows[2][2] == "550000.00" and rows[2][7:11] == ["1", "1", "0", "1"]
    response = client.get(url("portfolio-export", world.tenant), {"as_of": D.isoformat(), "format": "xlsx"}, **EN)
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "Person"
    assert [float(row[1]) for row in values[1:]] == [68.57, 64.33, 36.0]


def test_weights_page(world, admin, director):
    page = url("portfolio-weights", world.tenant)
    assert login(director).get(page).status_code == 403
    client = login(admin)
    assert client.get(page, **ZH).status_code == 200
    response = client.post(page, {"revenue": 50, "health": 40, "growth": 20}, **EN)
    assert response.status_code == 200
    assert "The weights must sum to 100 (now 110)." in response.content.decode()
    response = client.post(page, {"revenue": "abc", "health": 40, "growth": 20}, **EN)
    assert response.status_code == 200
    with tenant_context(world.tenant):
        assert not PortfolioWeights.objects.exists()
    response = client.post(page, {"revenue": 20, "health": 60, "growth": 20}, **EN)
    assert response.status_code == 302
    with tenant_context(world.tenant):
        assert PortfolioWeights.objects.get().as_dict() == {"revenue": 20, "health": 60, "growth": 20}
        assert AuditLog.objects.filter(object_type="portfolio.portfolioweights").count() == 1
    body = login(director).get(url("portfolio-people", world.tenant), {"as_of": D.isoformat()}, **EN)
    assert "68.90" in body.content.decode()


def test_bad_as_of_is_no_500(world, director):
    client = login(director)
    for value in ("0001-01-01", "9999-12-31", "nonsense", "2026-02-30"):
        assert client.get(url("portfolio-people", world.tenant), {"as_of": value}, **EN).status_code == 200


# --- API -------------------------------------------------------------------------------------------


def test_api_people_and_person(world, director):
    client = login(director)
    response = client.get("/api/v1/portfolio/people/", {"as_of": D.isoformat()})
    assert response.status_code == 200
    data = {row["user_id"]: row for row in response.json()}
    assert data[world.p2.pk]["index"] == "64.33"
    assert data[world.p2.pk]["tier_mix"] == {"S": 1, "A": 1, "B": 0, "C": 1}
    detail = client.get(f"/api/v1/portfolio/people/{world.p2.pk}/", {"as_of": D.isoformat()}).json()
    assert {row["account_id"]: row["share"] for row in detail["held"]}[world.a3.pk] == "1.0000"
    assert len(detail["trend"]) == 4
    teams = client.get("/api/v1/portfolio/teams/", {"as_of": D.isoformat()}).json()
    assert {row["account_id"] for row in teams} == {world.a1.pk, world.a2.pk}
    assert client.get("/api/v1/portfolio/people/", {"as_of": "0001-01-01"}).status_code == 400


def test_api_manager_own_only_and_isolation(world, outsider_token, read_token, outsider):
    client = login(world.p1)
    rows = client.get("/api/v1/portfolio/people/", {"as_of": D.isoformat()}).json()
    assert [row["user_id"] for row in rows] == [world.p1.pk]
    assert client.get(f"/api/v1/portfolio/people/{world.p2.pk}/").status_code == 404
    assert client.get(f"/api/v1/portfolio/people/{world.p1.pk}/", {"as_of": D.isoformat()}).status_code == 200
    from django.test import Client

    other = Client().get("/api/v1/portfolio/people/", **bearer(outsider_token))
    assert other.status_code == 200 and other.json() == []
    assert Client().get(f"/api/v1/portfolio/people/{world.p1.pk}/", **bearer(outsider_token)).status_code == 404
    mine = Client().get("/api/v1/portfolio/people/", {"as_of": D.isoformat()}, **bearer(read_token)).json()
    assert len(mine) == 3
