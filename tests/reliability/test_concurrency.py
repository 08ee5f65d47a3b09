"""Concurrency: what two people or two jobs doing the same thing at once get.

- Two score runs, or two imports of one kind, of one tenant run one after the other (the
  advisory locks of scoring.services and accounts.imports.run), with real threads and
  connections.
- Two people editing one account or one scorecard: the second save is refused with a
  clear message (a version check), never silently lost; saving again, knowingly, keeps it.
- The API: ETag on detail resources, If-Match on PUT/PATCH/DELETE, 412 when stale.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction
from django.test import Client

from accounts import services as account_services
from accounts.imports.run import ImportBusy, ImportOutcome, import_file
from accounts.models import Account, Order
from kam.models import RunStatus, Tenant
from kam.tenancy import tenant_context
from scoring import services as scoring_services
from scoring.models import AccountScore, Scorecard
from tests.conftest import bearer, login
from tests.factories import AccountFactory, ContactFactory, OrderFactory
from tests.scoring.test_pages import FormValues

AS_OF = dt.date(2026, 6, 30)


def in_thread(target: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """Run ``target`` in a thread with its own database connection; its result or error lands in the dict."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = target()
        except Exception as exc:  # reported to the test
            outcome["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def advisory_waiters() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        return cursor.fetchone()[0]


def wait_until(condition: Callable[[], bool], seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def holding_a_transaction(work: Callable[[], Any], holding: threading.Event, release: threading.Event) -> Any:
    """Do ``work`` in a transaction that stays open (with its locks) until ``release``."""
    with transaction.atomic():
        result = work()
        holding.set()
        release.wait(30)
    return result


# --- two runs, two imports ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_score_runs_of_one_tenant_run_one_after_the_other(tenant):
    # given: accounts with orders, and two runs of the same day queued
    from scoring.services import scorecard_seed_default

    scorecard_seed_default(tenant)
    for number in range(6):
        account = AccountFactory(tenant=tenant, name=f"并发客户 {number}")
        OrderFactory(tenant=tenant, account=account, order_date=AS_OF, amount=Decimal(1000 * (number + 1)))
    first = scoring_services.score_run_create(tenant, as_of=AS_OF)
    second = scoring_services.score_run_create(tenant, as_of=AS_OF)
    holding, release = threading.Event(), threading.Event()
    # when: the first run holds its transaction open and the second starts
    thread_a, outcome_a = in_thread(
        lambda: holding_a_transaction(lambda: scoring_services.score_run_execute(tenant, run=first), holding, release)
    )
    assert holding.wait(30)
    thread_b, outcome_b = in_thread(lambda: scoring_services.score_run_execute(tenant, run=second))
    try:
        # then: the second waits for the first's lock and has written nothing
        assert wait_until(lambda: advisory_waiters() == 1)
        time.sleep(0.3)
        assert thread_b.is_alive()
    finally:
        release.set()
        thread_a.join(30)
        thread_b.join(60)
    assert "error" not in outcome_a and "error" not in outcome_b
    # and once the first committed, the second ran: both done, with the same result
    with tenant_context(tenant):
        runs = {run.pk: run for run in scoring_services.ScoreRun.objects.all()}
        scores = {
            run_id: sorted(AccountScore.objects.filter(run_id=run_id).values_list("account_id", "total", "tier"))
            for run_id in (first.pk, second.pk)
        }
    assert runs[first.pk].status == runs[second.pk].status == RunStatus.DONE
    assert runs[first.pk].finished_at <= runs[second.pk].started_at  # the second began when the first was over
    assert len(scores[first.pk]) == 6
    assert scores[first.pk] == scores[second.pk]


def orders_file(tmp_path: Path, name: str, refs: list[str]) -> Path:
    path = tmp_path / name
    lines = ["客户,下单日期,金额,外部编号"] + [
        f"导入并发客户,2026-06-{10 + i},{100 * (i + 1)}.00,{ref}" for i, ref in enumerate(refs)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.django_db(transaction=True)
def test_two_imports_of_orders_into_one_tenant_run_one_after_the_other(tenant, tmp_path):
    # given: two files that share two orders (same external references, same values)
    AccountFactory(tenant=tenant, name="导入并发客户")
    file_a = orders_file(tmp_path, "a.csv", ["PO-1", "PO-2", "PO-3"])
    file_b = orders_file(tmp_path, "b.csv", ["PO-9", "PO-2", "PO-3"])
    holding, release = threading.Event(), threading.Event()

    def import_a() -> ImportOutcome:
        return import_file(tenant, kind="orders", path=file_a)

    thread_a, outcome_a = in_thread(lambda: holding_a_transaction(import_a, holding, release))
    assert holding.wait(30)
    # when: a second import of orders starts while the first is open
    busy = None
    try:
        import_file(tenant, kind="orders", path=file_b, wait_for_lock=False)
    except ImportBusy as exc:
        busy = exc
    thread_b, outcome_b = in_thread(lambda: import_file(tenant, kind="orders", path=file_b))
    try:
        # then: one that may not wait is told the tenant is busy; one that may, waits
        assert busy is not None
        assert wait_until(lambda: advisory_waiters() == 1)
        assert thread_b.is_alive()
    finally:
        release.set()
        thread_a.join(30)
        thread_b.join(60)
    a, b = outcome_a["result"], outcome_b["result"]
    assert (a.created, a.updated, a.unchanged, a.error_count) == (3, 0, 0, 0)
    # the second saw the first's committed orders: no duplicate key error, no duplicate rows
    assert (b.created, b.updated, b.unchanged, b.error_count) == (1, 0, 2, 0)
    with tenant_context(tenant):
        assert sorted(Order.objects.values_list("external_ref", flat=True)) == ["PO-1", "PO-2", "PO-3", "PO-9"]


# --- two people, one account -------------------------------------------------------------------------


@pytest.fixture
def account(tenant: Tenant, manager) -> Account:
    return AccountFactory(tenant=tenant, name="共享客户", owner=manager, region="华东")


@pytest.mark.django_db(transaction=True)
def test_two_saves_over_the_same_version_at_once_one_wins_the_other_is_refused(tenant, account, manager, director):
    start = threading.Barrier(2)

    def save(name: str, actor) -> Account:
        with tenant_context(tenant):
            mine = Account.objects.get(pk=account.pk)
        start.wait(10)
        return account_services.account_update(tenant, account=mine, actor=actor, expected_version=1, name=name)

    threads = [in_thread(lambda: save("经理的名字", manager)), in_thread(lambda: save("总监的名字", director))]
    for thread, _outcome in threads:
        thread.join(30)
    outcomes = [outcome for _thread, outcome in threads]
    winners = [o["result"].name for o in outcomes if "result" in o]
    errors = [o["error"] for o in outcomes if "error" in o]
    assert len(winners) == 1 and len(errors) == 1
    assert isinstance(errors[0], ValidationError)
    assert errors[0].code == account_services.STALE_ACCOUNT_CODE
    with tenant_context(tenant):
        stored = Account.objects.get(pk=account.pk)
    assert (stored.name, stored.version) == (winners[0], 2)


def test_a_save_over_a_newer_version_changes_nothing(tenant, account, director):
    account_services.account_update(tenant, account=account, actor=director, region="华南")  # version 2
    with pytest.raises(ValidationError) as refused:
        account_services.account_update(tenant, account=account, expected_version=1, name="旧表单里的名字")
    assert refused.value.messages == [
        "Someone else saved this account while you were editing it, so your changes were not saved. "
        "Open the account in another tab to see their changes; to keep yours instead, save again."
    ]
    with tenant_context(tenant):
        stored = Account.objects.get(pk=account.pk)
    assert (stored.name, stored.region, stored.version) == ("共享客户", "华南", 2)


def account_form(client: Client, account: Account) -> dict[str, str]:
    parser = FormValues("novalidate")
    parser.feed(client.get(f"/t/acme/accounts/{account.pk}/edit/").content.decode())
    return {name: value for name, value in parser.values.items() if value is not None}


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "Someone else saved this account while you were editing it, so your changes were not saved."),
        ("zh-hans", "您编辑期间，其他人已保存了这个客户，因此您的修改没有保存。"),
    ],
)
def test_the_second_person_to_save_the_account_form_is_told_and_loses_nothing(
    tenant, account, manager, director, language, message
):
    # given: the manager and the director open the edit form of the same account
    manager_client, director_client = login(manager), login(director)
    mine, theirs = account_form(manager_client, account), account_form(director_client, account)
    assert mine["version"] == theirs["version"] == "1"
    # when: the director saves first, then the manager
    theirs["region"] = "华北"
    assert director_client.post(f"/t/acme/accounts/{account.pk}/edit/", theirs).status_code == 302
    mine["notes"] = "经理的备注"
    response = manager_client.post(f"/t/acme/accounts/{account.pk}/edit/", mine, HTTP_ACCEPT_LANGUAGE=language)
    # then: the manager is told, the director's change stays, and the manager's input is kept
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert "经理的备注</textarea>" in html
    assert 'name="version" value="2"' in html
    with tenant_context(tenant):
        stored = Account.objects.get(pk=account.pk)
    assert (stored.region, stored.notes, stored.version) == ("华北", "", 2)
    # and saving again, now knowingly, keeps the manager's version
    mine["version"] = "2"
    assert manager_client.post(f"/t/acme/accounts/{account.pk}/edit/", mine).status_code == 302
    with tenant_context(tenant):
        stored = Account.objects.get(pk=account.pk)
    assert (stored.region, stored.notes, stored.version) == ("华东", "经理的备注", 3)


# --- two people, one scorecard --------------------------------------------------------------------------


def scorecard_form(client: Client) -> dict[str, str]:
    parser = FormValues("data-scorecard-editor")
    parser.feed(client.get("/t/acme/scoring/scorecard/").content.decode())
    return parser.values


def test_the_second_draft_made_from_an_old_scorecard_is_refused_then_saved_knowingly(tenant, admin, director):
    scoring_services.scorecard_seed_default(tenant)
    admin_client, director_client = login(admin), login(director)
    mine, theirs = scorecard_form(admin_client), scorecard_form(director_client)
    assert mine["latest_version"] == theirs["latest_version"] == "1"
    # the director saves a draft (version 2) first
    theirs["note"] = "总监的草稿"
    assert director_client.post("/t/acme/scoring/scorecard/", theirs).status_code == 302
    # the admin's draft, made from version 1 without the director's, is refused
    mine["note"] = "管理员的草稿"
    response = admin_client.post("/t/acme/scoring/scorecard/", mine, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    html = response.content.decode()
    assert "Version 2 was saved by someone else while you were editing, so your draft was not saved." in html
    assert 'name="latest_version" value="2"' in html
    with tenant_context(tenant):
        assert sorted(Scorecard.objects.values_list("version", "note")) == [(1, "Default"), (2, "总监的草稿")]
    # saving again (the form now knows version 2) makes version 3
    mine["latest_version"] = "2"
    assert admin_client.post("/t/acme/scoring/scorecard/", mine).status_code == 302
    with tenant_context(tenant):
        assert Scorecard.objects.get(version=3).note == "管理员的草稿"


# --- the API: ETag and If-Match --------------------------------------------------------------------------


def api(token: str, method: str, path: str, body: dict | None = None, **headers: str) -> Any:
    kwargs: dict[str, Any] = {**bearer(token), **headers}
    if body is not None:
        kwargs.update(data=json.dumps(body), content_type="application/json")
    return getattr(Client(), method)(f"/api/v1{path}", **kwargs)


def test_get_answers_an_etag_and_a_patch_with_it_succeeds_with_a_new_one(write_token, account):
    read = api(write_token, "get", f"/accounts/{account.pk}/")
    etag = read["ETag"]
    assert etag.startswith('"') and len(etag) == 34
    # unchanged: the same ETag, and If-None-Match answers 304
    assert api(write_token, "get", f"/accounts/{account.pk}/")["ETag"] == etag
    assert api(write_token, "get", f"/accounts/{account.pk}/", HTTP_IF_NONE_MATCH=etag).status_code == 304
    changed = api(write_token, "patch", f"/accounts/{account.pk}/", {"region": "西南"}, HTTP_IF_MATCH=etag)
    assert changed.status_code == 200
    assert changed.json()["region"] == "西南"
    assert changed["ETag"] not in ("", etag)
    assert api(write_token, "get", f"/accounts/{account.pk}/")["ETag"] == changed["ETag"]


def test_a_patch_with_a_stale_etag_is_refused_with_412_and_changes_nothing(tenant, write_token, account, director):
    stale = api(write_token, "get", f"/accounts/{account.pk}/")["ETag"]
    account_services.account_update(tenant, account=account, actor=director, region="华南")  # someone else
    response = api(
        write_token,
        "patch",
        f"/accounts/{account.pk}/",
        {"name": "集成商的名字"},
        HTTP_IF_MATCH=stale,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 412
    assert response.json() == {
        "error": {
            "code": "precondition_failed",
            "message": "This object was changed after you read it (its ETag no longer matches If-Match). "
            "Read it again, then repeat your change.",
            "fields": {},
        }
    }
    with tenant_context(tenant):
        assert Account.objects.get(pk=account.pk).name == "共享客户"
    # the same for PUT and DELETE; a wildcard or no If-Match at all goes through
    assert api(write_token, "delete", f"/accounts/{account.pk}/", HTTP_IF_MATCH=stale).status_code == 412
    assert (
        api(write_token, "patch", f"/accounts/{account.pk}/", {"industry": "汽车"}, HTTP_IF_MATCH="*").status_code
        == 200
    )
    assert api(write_token, "patch", f"/accounts/{account.pk}/", {"industry": "轨道交通"}).status_code == 200


def test_the_message_of_412_follows_the_language(write_token, account):
    response = api(
        write_token,
        "patch",
        f"/accounts/{account.pk}/",
        {"region": "x"},
        HTTP_IF_MATCH='"stale"',
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 412
    assert (
        response.json()["error"]["message"]
        == "该对象在您读取之后已被修改（其 ETag 与 If-Match 不再一致）。请重新读取后再提交修改。"
    )


def test_every_detail_resource_has_an_etag_contacts_too(tenant, write_token, account):
    contact = ContactFactory(tenant=tenant, account=account, name="张三")
    etag = api(write_token, "get", f"/contacts/{contact.pk}/")["ETag"]
    assert (
        api(write_token, "patch", f"/contacts/{contact.pk}/", {"title": "总经理"}, HTTP_IF_MATCH=etag).status_code
        == 200
    )
    assert (
        api(write_token, "patch", f"/contacts/{contact.pk}/", {"title": "董事长"}, HTTP_IF_MATCH=etag).status_code
        == 412
    )


def test_another_tenants_object_is_404_whatever_if_match_says(write_token, outsider_token, account):
    etag = api(write_token, "get", f"/accounts/{account.pk}/")["ETag"]
    assert api(outsider_token, "get", f"/accounts/{account.pk}/").status_code == 404
    response = api(outsider_token, "patch", f"/accounts/{account.pk}/", {"name": "x"}, HTTP_IF_MATCH=etag)
    assert response.status_code == 404
    assert "ETag" not in response


def test_a_read_token_may_not_write_even_with_the_right_etag(read_token, account):
    etag = api(read_token, "get", f"/accounts/{account.pk}/")["ETag"]
    assert api(read_token, "patch", f"/accounts/{account.pk}/", {"name": "x"}, HTTP_IF_MATCH=etag).status_code == 403


def test_the_openapi_schema_documents_etag_if_match_and_412(write_token):
    schema = json.loads(Client().get("/api/v1/schema/?format=json", **bearer(write_token)).content)
    operations = schema["paths"]["/api/v1/accounts/{id}/"]
    for method in ("patch", "put", "delete"):
        assert "412" in operations[method]["responses"]
        assert {p["name"] for p in operations[method]["parameters"] if p["in"] == "header"} >= {"If-Match"}
    assert operations["patch"]["responses"]["412"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/KamError"
    }
    assert "ETag" in operations["get"]["responses"]["200"]["headers"]
    assert "304" in operations["get"]["responses"]
    assert "KamError" in schema["components"]["schemas"]
