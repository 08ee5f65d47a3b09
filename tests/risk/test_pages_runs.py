"""The risk runs page: the history, the start form (the API's RUNNERS), queueing on commit
(Celery runs eagerly in tests), the live progress of a run's row, a failed run's error,
roles and tenant isolation."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from kam import runs
from kam.models import Role
from kam.tenancy import tenant_context
from risk import services
from risk.models import ConcentrationSnapshot, HealthAssessment, RiskRun, RunKind
from tests.factories import AccountFactory, OrderFactory
from tests.risk.conftest import D, run

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def client_in(user, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def url(name: str, slug: str = "acme", **kwargs) -> str:
    return reverse(name, kwargs={"tenant_slug": slug, **kwargs})


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def runs_of(tenant) -> list[RiskRun]:
    with tenant_context(tenant):
        return list(RiskRun.objects.order_by("id"))


@pytest.fixture
def accounts(tenant, policy):
    """Two accounts with orders: a snapshot has revenue, an assessment two accounts."""
    for name, amount in (("甲 重工", "300"), ("乙 电子", "100")):
        account = AccountFactory(tenant=tenant, name=name)
        OrderFactory(tenant=tenant, account=account, order_date=dt.date(2026, 3, 1), amount=Decimal(amount))


# --- roles and tenants ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "can_run"),
    [(Role.ADMIN, True), (Role.DIRECTOR, True), (Role.MANAGER, False), (Role.EXECUTIVE, False)],
)
def test_the_page_is_for_roles_that_read_every_account_and_the_form_for_runners(
    accounts, tenant, role_users, role, can_run
):
    run(tenant)
    response = client_in(role_users[role]).get(url("risk-runs"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Concentration and health" in html
    assert ('id="run-start"' in html) is can_run


def test_a_team_member_may_not_see_the_runs(tenant, member):
    assert client_in(member).get(url("risk-runs")).status_code == 403


@pytest.mark.parametrize("role", [Role.MANAGER, Role.EXECUTIVE, Role.MEMBER])
def test_only_administrators_and_directors_start_a_run(accounts, tenant, role_users, role):
    response = client_in(role_users[role]).post(url("risk-run-start"), {"kind": "full"})
    assert response.status_code == 403
    assert runs_of(tenant) == []


def test_an_outsider_gets_404(tenant, outsider):
    first = run(tenant, kind=RunKind.CONCENTRATION)
    client = client_in(outsider)
    assert client.get(url("risk-runs")).status_code == 404
    assert client.get(url("risk-run-row", run_id=first.pk), **HTMX).status_code == 404
    assert client.post(url("risk-run-start"), {"kind": "full"}).status_code == 404
    assert len(runs_of(tenant)) == 1


def test_another_tenants_runs_are_404_and_never_listed(tenant, admin, other_tenant):
    services.risk_policy_seed_default(other_tenant)
    foreign = run(other_tenant, as_of=dt.date(2026, 1, 9), kind=RunKind.CONCENTRATION)
    own = run(tenant, as_of=D, kind=RunKind.CONCENTRATION)
    client = client_in(admin)
    assert client.get(url("risk-run-row", run_id=foreign.pk), **HTMX).status_code == 404
    html = client.get(url("risk-runs")).content.decode()
    assert f'id="run-{own.pk}"' in html
    assert f'id="run-{foreign.pk}"' not in html and "2026-01-09" not in html


# --- starting a run ----------------------------------------------------------------------------------


def test_run_now_queues_a_run_that_completes_after_the_commit(
    accounts, tenant, admin, django_capture_on_commit_callbacks
):
    client = client_in(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("risk-run-start"), {"kind": "full", "as_of": "2026-06-30"})
    # then it was queued, executed once the transaction committed, and is listed as done
    assert (response.status_code, response["Location"]) == (302, url("risk-runs"))
    response = client.get(response["Location"])
    assert "The risk run was queued. Its row shows the progress." in response.content.decode()
    (started,) = runs_of(tenant)
    assert (started.kind, started.trigger, started.as_of, started.status) == ("full", "manual", D, "done")
    assert started.created_by_id == admin.pk
    with tenant_context(tenant):
        assert ConcentrationSnapshot.objects.filter(as_of=D).count() == 1
        assert HealthAssessment.objects.filter(as_of=D).count() == 2
    row = text(re.search(rf'<tr id="run-{started.pk}".*?</tr>', response.content.decode(), re.S).group(0))
    # full run: both accounts assessed
    assert "Concentration and health Manual 2026-06-30 Done 2 " in row
    assert row.endswith(admin.display_name)


def test_a_concentration_run_leaves_the_health_alone(accounts, tenant, director, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client_in(director).post(url("risk-run-start"), {"kind": "concentration", "as_of": "2026-06-30"})
    (started,) = runs_of(tenant)
    assert (started.kind, started.status) == ("concentration", "done")
    with tenant_context(tenant):
        assert HealthAssessment.objects.count() == 0
    html = client_in(director).get(url("risk-runs")).content.decode()
    row = text(re.search(rf'<tr id="run-{started.pk}".*?</tr>', html, re.S).group(0))
    assert "Concentration Manual 2026-06-30 Done — " in row  # no account assessed: a dash, not 0


def test_as_of_defaults_to_today(accounts, tenant, admin, django_capture_on_commit_callbacks):
    from kam.tenancy import tenant_today

    html = client_in(admin).get(url("risk-runs")).content.decode()
    assert f'value="{tenant_today(tenant).isoformat()}"' in html
    with django_capture_on_commit_callbacks(execute=False):
        client_in(admin).post(url("risk-run-start"), {"kind": "health", "as_of": ""})
    (started,) = runs_of(tenant)
    assert (started.kind, started.as_of) == ("health", tenant_today(tenant))


def test_the_row_polls_while_queued_and_stops_when_done(accounts, tenant, director, django_capture_on_commit_callbacks):
    client = client_in(director)
    # when started with htmx, before the commit hands it to a worker
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(url("risk-run-start"), {"kind": "full", "as_of": "2026-06-30"}, **HTMX)
    assert response.status_code == 201
    (queued,) = runs_of(tenant)
    row_url = url("risk-run-row", run_id=queued.pk)
    html = response.content.decode()
    assert html.strip().startswith(f'<tr id="run-{queued.pk}" class="run-row run-row--queued"')
    assert f'hx-get="{row_url}" hx-trigger="every 1s"' in html
    assert "Waiting for a worker" in text(html)
    # while running: the progress bar with its percentage
    with tenant_context(tenant):
        RiskRun.objects.filter(pk=queued.pk).update(status="running", progress=45)
    running = client.get(row_url, **HTMX).content.decode()
    assert 'hx-trigger="every 1s"' in running
    assert 'value="45"' in running and "45% done" in text(running)
    with tenant_context(tenant):
        RiskRun.objects.filter(pk=queued.pk).update(status="queued", progress=0)
    # then the worker runs it, and the row stops asking
    for callback in callbacks:
        callback()
    done = client.get(row_url, **HTMX).content.decode()
    assert 'class="run-row run-row--done"' in done
    assert "hx-trigger" not in done and "<progress" not in done


def test_a_plain_visit_to_a_row_goes_to_the_page(tenant, admin):
    first = run(tenant, kind=RunKind.CONCENTRATION)
    response = client_in(admin).get(url("risk-run-row", run_id=first.pk))
    assert (response.status_code, response["Location"]) == (302, url("risk-runs"))


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"kind": "everything", "as_of": "2026-06-30"}, "kind", "Select a valid choice."),
        (
            {"kind": "full", "as_of": "30.06.2026x"},
            "as_of",
            "Enter the date as YYYY-MM-DD, e.g. 2026-12-07 (2026/12/07 and 2026年12月7日 are taken too).",
        ),
        ({"kind": "full", "as_of": "2999-01-01"}, "as_of", "Choose today or a day in the past"),
    ],
)
def test_bad_input_is_refused_beside_its_field_and_nothing_runs(accounts, tenant, admin, data, field, message):
    client = client_in(admin)
    page = client.post(url("risk-run-start"), data)
    assert page.status_code == 400
    assert message in page.content.decode()
    assert f'id="id_{field}_error"' in page.content.decode()
    fragment = client.post(url("risk-run-start"), data, **HTMX)
    assert fragment.status_code == 400
    assert fragment["HX-Retarget"] == "#run-start" and fragment["HX-Reswap"] == "outerHTML"
    assert fragment.content.decode().lstrip().startswith('<section class="card" id="run-start"')
    assert runs_of(tenant) == []


def test_a_failed_run_shows_its_error_readably(tenant, director):
    failed = services.risk_run_create(tenant, kind=RunKind.HEALTH, as_of=D)
    runs.mark_failed(tenant, run=failed, error="OperationalError: server closed the connection unexpectedly")
    html = client_in(director).get(url("risk-runs")).content.decode()
    row = re.search(rf'<tr id="run-{failed.pk}".*?</tr>', html, re.S).group(0)
    assert "The run stopped with an error." in text(row)
    assert "<summary>Error details</summary>" in row
    assert "OperationalError: server closed the connection unexpectedly" in row
    assert "hx-trigger" not in row


def test_the_list_queries_do_not_grow_with_the_runs(tenant, admin, director, django_assert_max_num_queries):
    client = client_in(admin)
    for day in range(3):
        services.risk_run_create(tenant, kind=RunKind.HEALTH, as_of=D - dt.timedelta(days=day), actor=director)
    client.get(url("risk-runs"))
    with django_assert_max_num_queries(12) as few:
        client.get(url("risk-runs"))
    for day in range(3, 20):
        services.risk_run_create(tenant, kind=RunKind.HEALTH, as_of=D - dt.timedelta(days=day), actor=admin)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url("risk-runs"))
    assert response.content.decode().count('class="run-row run-row--queued"') == 20


def test_the_page_in_chinese(tenant, admin):
    run(tenant, kind=RunKind.CONCENTRATION)
    page = text(client_in(admin, "zh-hans").get(url("risk-runs")).content.decode())
    assert "风险评估任务" in page
    assert "客户集中度 定时" not in page  # the manual run is labelled manual
    assert "客户集中度 手动" in page
