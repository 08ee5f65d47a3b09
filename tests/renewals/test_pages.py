"""Renewal pages: the renewals page (by stage, by month, filters) in both languages, a renewal's
panel (moves, lost with its reason, the sign form prefilled, owner/due/note), the account's tab,
the home card; who sees and who changes (a member of another account 404, an executive reads
and is refused writes, another tenant's renewal 404 and never listed)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import Contract
from kam.tenancy import tenant_context
from renewals.models import Renewal
from tests.conftest import login
from tests.factories import AccountFactory, ContractFactory

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name, tenant, **kwargs):
    return reverse(name, kwargs={"tenant_slug": tenant.slug, **kwargs})


def _read(tenant, renewal):
    with tenant_context(tenant):
        return Renewal.objects.select_related("next_contract").get(pk=renewal.pk)


# --- the renewals page ----------------------------------------------------------------------------------


def test_the_page_by_stage_and_month_in_english(tenant, manager, make_renewal, today):
    make_renewal("prepare", ends_in=40, value=Decimal("300000"))
    make_renewal("negotiating", ends_in=50, value=Decimal("200000"))
    make_renewal("lost", ends_in=70, value=Decimal("999000"))
    overdue = make_renewal("proposed", ends_in=-5, value=Decimal("100000"))
    html = login(manager).get(url("renewals", tenant), **EN).content.decode()
    assert "<h1>Renewals</h1>" in html
    # open: 300,000 + 200,000 + 100,000 = 600,000 at stake (the lost one is not at stake)
    assert "3 open renewals: ¥600,000.00 at stake." in html
    assert "Overdue" in html and f'id="renewal-{overdue.pk}" class="is-overdue"' in html
    assert "Negotiating" in html and "Preparing" in html
    # the month table lists the next 12 months, from this one
    assert today.strftime("%Y-%m") in html and 'data-chart="renewals-months-option"' in html
    # each row links to the account's contracts tab
    assert "?tab=contracts" in html


def test_the_page_in_chinese(tenant, manager, make_renewal):
    make_renewal("prepare")
    make_renewal("lost")
    html = login(manager).get(url("renewals", tenant), **ZH).content.decode()
    assert "<h1>续约</h1>" in html
    for word in ("准备中", "已流失", "已签约", "谈判中"):
        assert word in html


def test_filters_stage_owner_overdue_tier(tenant, manager, director, make_renewal, account):
    ready = make_renewal("prepare")
    late = make_renewal("proposed", ends_in=-3)
    theirs = make_renewal("prepare")
    with tenant_context(tenant):
        Renewal.objects.filter(pk=theirs.pk).update(owner=director)
    client = login(manager)

    def listed(**query):
        html = client.get(url("renewals", tenant), query, **EN, **HTMX).content.decode()
        return {pk for pk in (ready.pk, late.pk, theirs.pk) if f'id="renewal-{pk}"' in html}

    assert listed() == {ready.pk, late.pk, theirs.pk}
    assert listed(stage="proposed") == {late.pk}
    assert listed(overdue="1") == {late.pk}
    assert listed(owner="me") == {ready.pk, late.pk}
    assert listed(owner=str(director.pk)) == {theirs.pk}
    assert listed(tier="A") == {ready.pk, late.pk, theirs.pk}
    assert listed(tier="C") == set()
    # nonsense is ignored, never an error
    assert listed(stage="won", owner="x", tier="Z") == {ready.pk, late.pk, theirs.pk}


def test_the_page_reads_a_fixed_number_of_queries(tenant, manager, make_renewal, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_renewal()
    client = login(manager)
    with CaptureQueriesContext(connection) as few:
        client.get(url("renewals", tenant), **EN)
    for _ in range(6):
        make_renewal()
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url("renewals", tenant), **EN).status_code == 200


def test_empty_state(tenant, manager):
    html = login(manager).get(url("renewals", tenant), **EN).content.decode()
    assert "No renewals here." in html and "No open renewal ends in the next 12 months." in html


# --- a renewal's panel -------------------------------------------------------------------------------------


def test_the_panel_offers_the_moves_and_the_sign_form_prefilled(tenant, manager, make_renewal):
    renewal = make_renewal("proposed", ends_in=30)
    contract = renewal.contract
    html = login(manager).get(url("renewal", tenant, renewal_id=renewal.pk), **EN).content.decode()
    assert "Move to Negotiating" in html and "Mark as lost" in html and "hx-confirm" in html
    start = contract.end_on + dt.timedelta(days=1)
    end = start + (contract.end_on - contract.start_on)
    assert f'name="start_on" value="{start.isoformat()}"' in html
    assert f'name="end_on" value="{end.isoformat()}"' in html
    assert 'name="value" value="1000000.00"' in html and 'value="年度框架采购协议"' in html
    zh = login(manager).get(url("renewal", tenant, renewal_id=renewal.pk), **ZH).content.decode()
    assert "签约" in zh and "续约" in zh


def test_moving_and_losing_with_a_reason(tenant, manager, make_renewal):
    renewal = make_renewal("prepare")
    client = login(manager)
    move = url("renewal-move", tenant, renewal_id=renewal.pk)
    response = client.post(move, {"stage": "proposed"}, **EN)
    assert response.status_code == 302 and _read(tenant, renewal).stage == "proposed"
    refused = client.post(move, {"stage": "lost", "reason": ""}, **EN, **HTMX)
    assert refused.status_code == 400
    assert "Say why the renewal was lost." in refused.content.decode()
    assert _read(tenant, renewal).stage == "proposed"
    done = client.post(move, {"stage": "lost", "reason": "预算取消"}, **EN, **HTMX)
    assert done.status_code == 200 and done["HX-Redirect"]
    assert (_read(tenant, renewal).stage, _read(tenant, renewal).lost_reason) == ("lost", "预算取消")


def test_signing_on_the_page_creates_the_next_contract(tenant, manager, make_renewal):
    renewal = make_renewal("negotiating")
    client = login(manager)
    sign = url("renewal-sign", tenant, renewal_id=renewal.pk)
    bad = client.post(
        sign, {"title": "续签", "start_on": "2030-02-01", "end_on": "2030-01-01", "value": "5"}, **EN, **HTMX
    )
    assert bad.status_code == 400 and "The new contract must end after it starts." in bad.content.decode()
    with tenant_context(tenant):
        assert not Contract.objects.filter(renewal_of=renewal.contract).exists()
    response = client.post(
        sign, {"title": "续签协议", "start_on": "2030-01-01", "end_on": "2030-12-31", "value": "1250000"}, **EN
    )
    assert response.status_code == 302
    signed = _read(tenant, renewal)
    assert signed.stage == "signed" and signed.next_contract.title == "续签协议"
    assert (signed.next_contract.start_on, signed.next_contract.value) == (dt.date(2030, 1, 1), Decimal("1250000"))


def test_owner_due_date_and_note(tenant, manager, director, make_renewal, outsider):
    renewal = make_renewal()
    client = login(manager)
    edit = url("renewal-edit", tenant, renewal_id=renewal.pk)
    response = client.post(edit, {"owner": director.pk, "due_on": "2026-12-24", "note": "提前沟通"}, **EN)
    assert response.status_code == 302
    saved = _read(tenant, renewal)
    assert (saved.owner_id, saved.due_on, saved.note) == (director.pk, dt.date(2026, 12, 24), "提前沟通")
    refused = client.post(edit, {"owner": outsider.pk, "due_on": "2026-12-24"}, **EN, **HTMX)
    assert refused.status_code == 400 and _read(tenant, renewal).owner_id == director.pk


def test_who_sees_and_who_changes(tenant, manager, member, executive, director, make_renewal):
    renewal = make_renewal("prepare")
    # another account, owned by the director: the member serves on neither
    other_account = AccountFactory(tenant=tenant, owner=director)
    contract = ContractFactory(tenant=tenant, account=other_account)
    with tenant_context(tenant):
        Renewal.objects.filter(pk=renewal.pk).update(account=other_account, contract=contract)
    detail = url("renewal", tenant, renewal_id=renewal.pk)
    move = url("renewal-move", tenant, renewal_id=renewal.pk)
    assert login(member).get(detail).status_code == 404
    assert f'id="renewal-{renewal.pk}"' not in login(member).get(url("renewals", tenant)).content.decode()
    # an executive reads, and is refused every write
    assert login(executive).get(detail, **EN).status_code == 200
    assert "Move to" not in login(executive).get(detail, **EN).content.decode()
    assert login(executive).post(move, {"stage": "proposed"}).status_code == 403
    assert login(executive).post(url("renewal-sign", tenant, renewal_id=renewal.pk)).status_code == 403
    # the manager does not write the director's account: reads, not changes
    assert login(manager).get(detail).status_code == 200
    assert login(manager).post(move, {"stage": "proposed"}).status_code == 403
    assert _read(tenant, renewal).stage == "prepare"
    assert login(director).post(move, {"stage": "proposed"}).status_code == 302


def test_a_member_sees_the_renewals_of_their_accounts(tenant, member, make_renewal, account):
    renewal = make_renewal()
    with tenant_context(tenant):
        type(account).objects.filter(pk=account.pk).update(owner=member)
    client = login(member)
    assert client.get(url("renewal", tenant, renewal_id=renewal.pk)).status_code == 200
    assert "Renewals" in client.get(url("renewals", tenant), **EN).content.decode()
    # members read: no moves
    assert client.post(url("renewal-move", tenant, renewal_id=renewal.pk), {"stage": "proposed"}).status_code == 403


def test_another_tenants_renewal_is_404_and_never_listed(tenant, other_tenant, manager, outsider, make_renewal):
    renewal = make_renewal()
    # the outsider, in their own workspace, asks for our renewal's id
    client = login(outsider)
    for name in ("renewal", "renewal-sign"):
        assert client.get(url(name, other_tenant, renewal_id=renewal.pk)).status_code == 404
    assert (
        client.post(url("renewal-move", other_tenant, renewal_id=renewal.pk), {"stage": "proposed"}).status_code == 404
    )
    assert f'id="renewal-{renewal.pk}"' not in client.get(url("renewals", other_tenant)).content.decode()
    # and our workspace is not theirs
    assert client.get(url("renewals", tenant)).status_code == 404
    assert _read(tenant, renewal).stage == "prepare"


# --- the account's tab and the home card ----------------------------------------------------------------------


def test_the_account_tab(tenant, manager, make_renewal, account, other_tenant, outsider):
    renewal = make_renewal("lost")
    tab = url("renewals-account-tab", tenant, account_id=account.pk)
    html = login(manager).get(tab, **EN, **HTMX).content.decode()
    assert f'id="account-renewal-{renewal.pk}"' in html and "客户转向竞争对手" in html and "Lost" in html
    assert login(manager).get(tab).status_code == 302  # a plain visit goes to the account page
    assert login(outsider).get(url("renewals-account-tab", other_tenant, account_id=account.pk)).status_code == 404


def test_the_home_card_lists_my_open_renewals_by_due_date(tenant, manager, make_renewal):
    later = make_renewal("prepare", ends_in=80, value=Decimal("200000"))
    overdue = make_renewal("proposed", ends_in=-2, value=Decimal("300000"))
    make_renewal("signed", ends_in=20)
    client = login(manager)
    html = client.get(url("renewals-mine", tenant), **EN, **HTMX).content.decode()
    # open and mine: 2 renewals, 200,000 + 300,000 = 500,000 at stake, 1 overdue
    assert "2 open renewals, ¥500,000.00 at stake" in html and "1 overdue" in html
    assert html.index(f"my-renewal-{overdue.pk}") < html.index(f"my-renewal-{later.pk}")
    assert f'id="my-renewal-{overdue.pk}" class="is-overdue"' in html
    home = client.get(reverse("tenant-home", kwargs={"tenant_slug": tenant.slug}), **EN).content.decode()
    assert "My renewals" in home and url("renewals-mine", tenant) in home
    zh = client.get(url("renewals-mine", tenant), **ZH, **HTMX).content.decode()
    assert '<caption class="visually-hidden">我的续约</caption>' in zh
    assert '进行中的续约 2 项，涉及 ¥50.00万 · <span class="badge badge--overdue">1 张逾期</span>' in zh


def test_the_home_card_empty(tenant, director):
    html = login(director).get(url("renewals-mine", tenant), **EN, **HTMX).content.decode()
    assert "No open renewals of yours." in html


def test_the_navigation_names_the_page(tenant, member):
    html = login(member).get(reverse("tenant-home", kwargs={"tenant_slug": tenant.slug}), **ZH).content.decode()
    assert url("renewals", tenant) in html and "续约" in html
