"""Account pages: list, account page and its tabs, forms, archive and delete, quick logging."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from accounts import tabs as account_tabs
from accounts.models import Account, AccountStatus, Contact, Event, HealthBand, Interaction, Tier
from accounts.tabs import AccountTab, register, tabs_for
from accounts.validators import credit_code_check_character
from kam.formats import format_money, format_percent
from kam.tenancy import tenant_context, tenant_today
from tests.factories import (
    AccountFactory,
    ContactFactory,
    ContractFactory,
    EventFactory,
    InteractionFactory,
    InvoiceFactory,
    OrderFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

TABS = ("overview", "contacts", "orders", "invoices", "timeline", "contracts", "group")


def credit_code(first17: str) -> str:
    return first17 + credit_code_check_character(first17)


VALID_CODE = credit_code("91110000600037341")


def client_in(user, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def htmx(**extra: str) -> dict[str, str]:
    return {"HTTP_HX_REQUEST": "true", **extra}


def listed_names(response) -> list[str]:
    """The account names in the list's rows, in order."""
    return re.findall(r'class="account-link" href="[^"]+">([^<]+)</a>', response.content.decode())


def page_urls(slug: str, account_id: int) -> dict[str, str]:
    """Every account page that answers GET."""
    kwargs = {"tenant_slug": slug, "account_id": account_id}
    urls = {
        "list": reverse("accounts-list", kwargs={"tenant_slug": slug}),
        "create": reverse("accounts-create", kwargs={"tenant_slug": slug}),
        "export": reverse("accounts-export", kwargs={"tenant_slug": slug}) + "?format=csv",
        "detail": reverse("accounts-detail", kwargs=kwargs),
        "edit": reverse("accounts-edit", kwargs=kwargs),
        "archive": reverse("accounts-archive", kwargs=kwargs),
        "delete": reverse("accounts-delete", kwargs=kwargs),
        "group": reverse("accounts-group", kwargs=kwargs),
        "interaction": reverse("accounts-interaction-create", kwargs=kwargs),
        "event": reverse("accounts-event-create", kwargs=kwargs),
        "contact-create": reverse("accounts-contact-create", kwargs=kwargs),
    }
    for key in TABS:
        urls[f"tab-{key}"] = reverse(f"accounts-tab-{key}", kwargs=kwargs)
    return urls


def account_only_urls(slug: str, account_id: int) -> dict[str, str]:
    return {k: v for k, v in page_urls(slug, account_id).items() if k not in ("list", "create", "export")}


WRITE_URLS = ("edit", "archive", "delete", "interaction", "event", "contact-create")


# --- another tenant: 404, never listed ------------------------------------------------------------


def test_outsider_gets_404_on_every_account_page_of_the_tenant(tenant, account, outsider):
    # given a user of another workspace, and a contact at acme's account
    contact = ContactFactory(tenant=tenant, account=account)
    client = client_in(outsider)
    urls = {
        **page_urls("acme", account.pk),
        "contact-edit": f"/t/acme/accounts/{account.pk}/contacts/{contact.pk}/edit/",
    }
    # when they open acme's pages, with a real acme account id
    for name, url in urls.items():
        # then every one is 404, to GET and to POST
        assert client.get(url, **htmx()).status_code == 404, name
        assert client.get(url).status_code == 404, name
    for name in WRITE_URLS:
        assert client.post(page_urls("acme", account.pk)[name], {"name": "x"}).status_code == 404, name
    with tenant_context(account.tenant):
        account.refresh_from_db()
    assert (account.name, account.status) == ("中车华北集团", AccountStatus.ACTIVE)


@pytest.mark.parametrize("role", ["admin", "director", "manager"])
def test_another_tenants_account_id_is_404_on_every_page(role_users, role, foreign_account):
    # given a writer of acme, and an account of globex with a contact
    foreign_contact = ContactFactory(tenant=foreign_account.tenant, account=foreign_account)
    client = client_in(role_users[role])
    contact_edit = f"/t/acme/accounts/{foreign_account.pk}/contacts/{foreign_contact.pk}/edit/"
    assert client.get(contact_edit).status_code == 404
    assert client.post(contact_edit, {"name": "x"}).status_code == 404
    # when they put globex's account id into acme's pages
    for name, url in account_only_urls("acme", foreign_account.pk).items():
        # then it is 404 (never 403: a foreign id does not exist here)
        assert client.get(url).status_code == 404, name
        assert client.get(url, **htmx()).status_code == 404, name
    for name in WRITE_URLS:
        assert client.post(page_urls("acme", foreign_account.pk)[name], {"name": "x"}).status_code == 404, name
    # and the foreign account is untouched
    with tenant_context(foreign_account.tenant):
        foreign_account.refresh_from_db()
    assert (foreign_account.name, foreign_account.status) == ("Globex 客户", AccountStatus.ACTIVE)


def test_read_pages_answer_404_for_a_foreign_id_whatever_the_role(role_users, foreign_account):
    # given acme's member and executive, who may not write
    for role in ("member", "executive"):
        client = client_in(role_users[role])
        # when they read pages with globex's account id, then 404
        for name in ("detail", "group", *(f"tab-{key}" for key in TABS)):
            assert client.get(page_urls("acme", foreign_account.pk)[name]).status_code == 404, (role, name)


def test_outsiders_own_workspace_cannot_reach_acme_accounts(account, outsider, other_tenant):
    # given the outsider in their own workspace, asking for acme's account id
    client = client_in(outsider)
    # when / then
    for name, url in account_only_urls("globex", account.pk).items():
        assert client.get(url).status_code == 404, name


def test_foreign_rows_never_appear_in_the_list(admin, account, foreign_account):
    # given one account in each tenant
    client = client_in(admin)
    # when acme's admin lists, searches and filters
    plain = client.get("/t/acme/accounts/")
    searched = client.get("/t/acme/accounts/?q=Globex")
    # then only acme's account shows, and the search finds nothing
    assert listed_names(plain) == ["中车华北集团"]
    assert "Globex" not in plain.content.decode()
    assert listed_names(searched) == []
    assert "No accounts match these filters." in searched.content.decode()


# --- roles ------------------------------------------------------------------------------------------


def test_member_cannot_create_edit_archive_or_delete_but_logs_interactions_on_own_account(tenant, member):
    # given an account the member owns
    own = AccountFactory(tenant=tenant, name="李静的客户", owner=member)
    client = client_in(member)
    urls = page_urls("acme", own.pk)
    # when they try to write the account, then 403
    for name in ("create", "edit", "archive", "delete", "event", "contact-create"):
        assert client.get(urls[name]).status_code == 403, name
        assert client.post(urls[name], {"name": "改名"}).status_code == 403, name
    # and the detail page offers only the interaction
    html = client.get(urls["detail"]).content.decode()
    assert "Log interaction" in html
    assert ">Edit<" not in html and "Record event" not in html and ">Archive<" not in html
    # when they log an interaction
    response = client.post(
        urls["interaction"], {"kind": "call", "occurred_at": "2026-03-02T09:30", "summary": "电话确认交期"}
    )
    # then it is saved, by them
    assert response.status_code == 302
    with tenant_context(tenant):
        interaction = Interaction.objects.get(account=own)
        own.refresh_from_db()
    assert (interaction.kind, interaction.summary, interaction.user) == ("call", "电话确认交期", member)
    assert own.name == "李静的客户"


def test_member_cannot_see_accounts_they_do_not_work_on(account, member):
    # given an account owned by the manager
    client = client_in(member)
    # when the member opens it or logs an interaction on it, then 404
    assert client.get(page_urls("acme", account.pk)["detail"]).status_code == 404
    assert client.post(page_urls("acme", account.pk)["interaction"], {"kind": "call"}).status_code == 404
    assert listed_names(client.get("/t/acme/accounts/")) == []


def test_manager_edits_own_account_but_not_anothers(tenant, account, manager, director):
    # given one account owned by the manager and one owned by the director
    other = AccountFactory(tenant=tenant, name="远航船舶重工", owner=director)
    client = client_in(manager)
    # when the manager edits both
    own_response = client.post(
        page_urls("acme", account.pk)["edit"], {"name": "中车华北集团（新）", "status": "active", "owner": manager.pk}
    )
    other_response = client.post(page_urls("acme", other.pk)["edit"], {"name": "改名", "status": "active"})
    # then their own is saved, the other is 403 and unchanged
    assert own_response.status_code == 302
    assert other_response.status_code == 403
    assert client.get(page_urls("acme", other.pk)["edit"]).status_code == 403
    with tenant_context(tenant):
        assert Account.objects.get(pk=account.pk).name == "中车华北集团（新）"
        assert Account.objects.get(pk=other.pk).name == "远航船舶重工"
    # and the other's page shows no write actions
    html = client.get(page_urls("acme", other.pk)["detail"]).content.decode()
    assert ">Edit<" not in html and "Log interaction" not in html


@pytest.mark.parametrize("role", ["admin", "director"])
def test_director_and_admin_edit_any_account(role_users, role, account, tenant):
    # given an account owned by the manager
    client = client_in(role_users[role])
    # when a director or admin edits it
    response = client.post(
        page_urls("acme", account.pk)["edit"], {"name": "中车华北集团", "status": "dormant", "industry": "轨道交通"}
    )
    # then it is saved
    assert response.status_code == 302
    with tenant_context(tenant):
        account.refresh_from_db()
    assert (account.status, account.industry, account.owner) == ("dormant", "轨道交通", None)


def test_executive_reads_everything_and_writes_nothing(account, executive):
    # given an executive
    client = client_in(executive)
    urls = page_urls("acme", account.pk)
    # when they read, then the pages open without write actions
    list_html = client.get(urls["list"]).content.decode()
    detail_html = client.get(urls["detail"]).content.decode()
    assert "中车华北集团" in list_html and "New account" not in list_html
    assert "中车华北集团" in detail_html
    for text in (">Edit<", "Log interaction", "Record event", ">Archive<", ">Delete<"):
        assert text not in detail_html
    # when they write, then 403
    for name in ("create", "edit", "archive", "delete", "interaction", "event", "contact-create"):
        assert client.post(urls[name], {"name": "x"}).status_code == 403, name


# --- list: filters, search, sort, paging, empty states, queries ---------------------------------------


@pytest.fixture
def listed(tenant, manager, director):
    """Five accounts with different values for every filter."""
    make = AccountFactory
    return {
        "s": make(
            tenant=tenant, name="Alpha 集团", industry="轨道交通", region="北京", tier=Tier.S, score=Decimal("91.50"),
            health_band=HealthBand.GREEN, health_score=Decimal("88"), owner=manager, credit_code=VALID_CODE,
        ),
        "a": make(
            tenant=tenant, name="Bravo 船舶", industry="船舶制造", region="上海", tier=Tier.A, score=Decimal("75.00"),
            health_band=HealthBand.YELLOW, health_score=Decimal("60"), owner=director,
        ),
        "b": make(
            tenant=tenant, name="Charlie 新能源", legal_name="查理新能源科技有限公司", industry="新能源", region="江苏",
            tier=Tier.B, score=Decimal("55.00"), health_band=HealthBand.RED, health_score=Decimal("30"),
            status=AccountStatus.DORMANT,
        ),
        "c": make(tenant=tenant, name="Delta 汽车", industry="汽车", region="浙江", tier=Tier.C, score=Decimal("20.00")),
        "prospect": make(tenant=tenant, name="Echo 医药", status=AccountStatus.PROSPECT),
    }  # fmt: skip


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["Alpha 集团", "Bravo 船舶", "Charlie 新能源", "Delta 汽车", "Echo 医药"]),
        ("status=dormant", ["Charlie 新能源"]),
        ("status=prospect", ["Echo 医药"]),
        ("tier=A", ["Bravo 船舶"]),
        ("industry=船舶制造", ["Bravo 船舶"]),
        ("region=江苏", ["Charlie 新能源"]),
        ("health_band=red", ["Charlie 新能源"]),
        ("q=bravo", ["Bravo 船舶"]),
        ("q=查理新能源", ["Charlie 新能源"]),
        (f"q={VALID_CODE}", ["Alpha 集团"]),
        ("status=active&tier=S&region=北京", ["Alpha 集团"]),
        ("status=bogus&tier=Z", ["Alpha 集团", "Bravo 船舶", "Charlie 新能源", "Delta 汽车", "Echo 医药"]),
    ],
)
def test_list_filters_and_search(listed, admin, query, expected):
    # when the list is filtered
    response = client_in(admin).get(f"/t/acme/accounts/?{query}")
    # then exactly the matching accounts show, in name order
    assert response.status_code == 200
    assert listed_names(response) == expected


def test_list_filters_by_owner_and_offers_only_active_members(listed, admin, manager, tenant):
    # given a user of another tenant who owns nothing here
    UserFactory(email="stranger@elsewhere.test")
    client = client_in(admin)
    # when filtered by the manager
    response = client.get(f"/t/acme/accounts/?owner={manager.pk}")
    # then only the manager's account shows, and the owner choices are this tenant's members
    assert listed_names(response) == ["Alpha 集团"]
    html = response.content.decode()
    owner_select = html[html.index('name="owner"') : html.index("</select>", html.index('name="owner"'))]
    assert manager.display_name in owner_select
    assert "stranger@elsewhere.test" not in owner_select


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["Alpha 集团", "Bravo 船舶", "Charlie 新能源", "Delta 汽车", "Echo 医药"]),
        ("-name", ["Echo 医药", "Delta 汽车", "Charlie 新能源", "Bravo 船舶", "Alpha 集团"]),
        ("-score", ["Alpha 集团", "Bravo 船舶", "Charlie 新能源", "Delta 汽车"]),
        ("score", ["Delta 汽车", "Charlie 新能源", "Bravo 船舶", "Alpha 集团"]),
        ("health", ["Charlie 新能源", "Bravo 船舶", "Alpha 集团"]),
        ("-health", ["Alpha 集团", "Bravo 船舶", "Charlie 新能源"]),
    ],
)
def test_list_sorts_by_column(listed, admin, sort, expected):
    # when sorted by a column
    names = listed_names(client_in(admin).get(f"/t/acme/accounts/?sort={sort}"))
    # then the accounts with a value come in that order (where those without one go is the selector's choice)
    assert [name for name in names if name in expected] == expected
    assert len(names) == 5


def test_sort_headers_keep_the_filters_and_flip_direction(listed, admin):
    # when sorted by name with a filter
    html = client_in(admin).get("/t/acme/accounts/?status=active&sort=name").content.decode()
    # then the name header sorts the other way, keeping the filter, and says it is sorted
    assert 'href="?status=active&amp;sort=-name"' in html
    assert 'href="?status=active&amp;sort=-score"' in html  # score sorts highest first on the first click
    assert 'aria-sort="ascending"' in html


def test_paging_keeps_the_filters(tenant, admin):
    # given 30 accounts in one industry and 3 in another
    for number in range(30):
        AccountFactory(tenant=tenant, name=f"轨交客户 {number:02d}", industry="轨道交通")
    for number in range(3):
        AccountFactory(tenant=tenant, name=f"其他客户 {number}", industry="汽车")
    client = client_in(admin)
    # when the first page of the filtered list is shown
    first = client.get("/t/acme/accounts/?industry=轨道交通&sort=-name")
    html = first.content.decode()
    # then it holds 25 rows and its next link keeps filter and sort
    assert len(listed_names(first)) == 25
    assert listed_names(first)[0] == "轨交客户 29"
    next_link = "?industry=%E8%BD%A8%E9%81%93%E4%BA%A4%E9%80%9A&amp;sort=-name&amp;page=2"
    assert f'href="{next_link}"' in html
    assert 'hx-target="#account-rows"' in html
    assert "Page 1 of 2" in html
    assert "30 accounts" in html
    # and the second page holds the remaining 5
    second = client.get("/t/acme/accounts/?industry=轨道交通&sort=-name&page=2")
    assert listed_names(second) == [f"轨交客户 {n:02d}" for n in (4, 3, 2, 1, 0)]


def test_htmx_gets_only_the_rows(listed, admin):
    client = client_in(admin)
    # when htmx asks for the list
    partial = client.get("/t/acme/accounts/?tier=S", **htmx())
    restore = client.get("/t/acme/accounts/?tier=S", **htmx(HTTP_HX_HISTORY_RESTORE_REQUEST="true"))
    # then it gets the rows alone (with the sort kept in the form), and a history restore the page
    body = partial.content.decode()
    assert body.lstrip().startswith('<div id="account-rows">')
    assert "<html" not in body and "<form" not in body
    assert 'name="sort" id="id_sort" value="name" hx-swap-oob="true"' in body
    assert listed_names(partial) == ["Alpha 集团"]
    assert "<html" in restore.content.decode()
    assert "HX-Request" in partial["Vary"]


def test_filter_form_works_with_and_without_htmx(listed, admin):
    html = client_in(admin).get("/t/acme/accounts/").content.decode()
    form = html[html.index('<form method="get"') : html.index(">", html.index('<form method="get"'))]
    assert 'action="/t/acme/accounts/"' in form
    assert 'hx-get="/t/acme/accounts/"' in form
    assert 'hx-target="#account-rows"' in form and 'hx-push-url="true"' in form


def test_list_row_shows_every_column(listed, admin, manager, tenant):
    # given a subsidiary of Alpha
    AccountFactory(tenant=tenant, name="Alpha 唐山基地", parent=listed["s"], owner=manager)
    html = client_in(admin).get("/t/acme/accounts/?q=Alpha").content.decode()
    row = html[html.index(">Alpha 集团</a>") : html.index("</tr>", html.index(">Alpha 集团</a>"))]
    assert '<span class="badge badge--tier badge--tier-s">S · Strategic</span>' in row
    assert "91.50" in row
    assert '<span class="badge badge--health badge--health-green">Healthy</span>' in row
    assert "Active" in row and "轨道交通" in row and "北京" in row and manager.display_name in row
    assert "Group: Alpha 集团" in html  # the subsidiary's row names its parent


def test_empty_states(tenant, manager, member):
    # given a workspace without accounts
    manager_html = client_in(manager).get("/t/acme/accounts/").content.decode()
    member_html = client_in(member).get("/t/acme/accounts/").content.decode()
    # then writers are invited to create one, others told what will appear
    assert "No accounts yet." in manager_html
    assert 'href="/t/acme/accounts/new/"' in manager_html
    assert "Create the first customer account, or import your customer list from a spreadsheet." in manager_html
    assert "No accounts yet." in member_html
    assert 'href="/t/acme/accounts/new/"' not in member_html
    assert "will appear here once an account manager assigns them to you" in member_html
    # given one account, when nothing matches
    AccountFactory(tenant=tenant, name="唯一客户")
    none = client_in(manager).get("/t/acme/accounts/?q=不存在").content.decode()
    assert "No accounts match these filters." in none
    assert '<a href="/t/acme/accounts/">Reset the filters</a>' in none
    assert "No accounts yet." not in none


def test_list_in_chinese(listed, admin):
    html = client_in(admin, "zh-hans").get("/t/acme/accounts/").content.decode()
    assert '<html lang="zh-hans">' in html
    assert "Alpha 集团" in html


def test_list_query_count_does_not_grow_with_the_page(tenant, admin, manager, django_assert_max_num_queries):
    # given 5 accounts with owner and parent
    parent = AccountFactory(tenant=tenant, name="母公司", owner=manager)
    for number in range(4):
        AccountFactory(tenant=tenant, name=f"子公司 {number}", parent=parent, owner=manager, tier=Tier.B)
    client = client_in(admin)
    client.get("/t/acme/accounts/")  # warm the session
    with CaptureQueriesContext(connection) as five:
        assert len(listed_names(client.get("/t/acme/accounts/"))) == 5
    # when there are 40
    for number in range(35):
        AccountFactory(tenant=tenant, name=f"更多 {number:02d}", parent=parent, owner=admin, tier=Tier.C)
    # then a full page of 25 takes no more queries than 5 rows did
    with django_assert_max_num_queries(len(five.captured_queries)):
        assert len(listed_names(client.get("/t/acme/accounts/"))) == 25


# --- account page ------------------------------------------------------------------------------------


def test_detail_header(tenant, manager):
    # given a subsidiary with every header field
    parent = AccountFactory(tenant=tenant, name="中车华北集团")
    account = AccountFactory(
        tenant=tenant, name="中车唐山", legal_name="中车唐山机车车辆有限公司", credit_code=VALID_CODE,
        parent=parent, owner=manager, tier=Tier.A, health_band=HealthBand.YELLOW, status=AccountStatus.ACTIVE,
        score=Decimal("72.40"), industry="轨道交通", region="河北",
    )  # fmt: skip
    # when the manager opens it
    html = client_in(manager).get(f"/t/acme/accounts/{account.pk}/").content.decode()
    # then
    assert "<h1>中车唐山</h1>" in html
    assert "中车唐山机车车辆有限公司" in html
    assert f"<code>{VALID_CODE}</code>" in html
    assert '<span class="badge badge--tier badge--tier-a">A · Key</span>' in html
    assert '<span class="badge badge--health badge--health-yellow">Watch</span>' in html
    assert "Score 72.40" in html
    assert manager.display_name in html
    assert f'<a href="/t/acme/accounts/{parent.pk}/">中车华北集团</a>' in html
    for text in ("Log interaction", "Record event", ">Edit<", ">Archive<", ">Delete<"):
        assert text in html
    assert "hx-confirm=" in html


def test_detail_offers_delete_only_without_history(tenant, manager, account):
    # given an account with an order
    OrderFactory(tenant=tenant, account=account)
    html = client_in(manager).get(f"/t/acme/accounts/{account.pk}/").content.decode()
    # then it can be archived, not deleted
    assert ">Archive<" in html
    assert ">Delete<" not in html


def test_detail_lists_the_registered_tabs_and_renders_the_selected_one(tenant, manager, account):
    # given a contact
    ContactFactory(tenant=tenant, account=account, name="王工")
    client = client_in(manager)
    # when the page is opened on the contacts tab
    html = client.get(f"/t/acme/accounts/{account.pk}/?tab=contacts").content.decode()
    # then every tab is offered, loaded by htmx and kept in the URL, and contacts is rendered in place
    for key in TABS:
        assert f'hx-get="/t/acme/accounts/{account.pk}/{"group/tab" if key == "group" else key}/"' in html
        assert f'hx-push-url="/t/acme/accounts/{account.pk}/?tab={key}"' in html
    assert 'id="tab-contacts" class="tab" data-account-tab' in html
    selected = html[html.index('id="tab-contacts"') : html.index("</a>", html.index('id="tab-contacts"'))]
    assert 'aria-selected="true"' in selected
    assert "Contacts and org chart" in html and "王工" in html
    # and without a tab (or an unknown one) the overview is shown
    assert "Revenue, last 12 months" in client.get(f"/t/acme/accounts/{account.pk}/?tab=nope").content.decode()


def test_a_tab_registered_by_another_app_appears_when_its_url_resolves(account, manager, monkeypatch):
    # given a tab whose URL does not exist (its app does not serve it yet), and one whose URL does
    monkeypatch.setattr(account_tabs, "_REGISTRY", dict(account_tabs._REGISTRY))
    register(AccountTab("risk-test", "Risk", "no-such-url-name", order=5))
    register(AccountTab("group-again", "Group again", "accounts-tab-group", order=99))
    # then it is left out
    assert "risk-test" not in [tab.key for tab in tabs_for("acme", account.pk)]
    assert tabs_for("acme", account.pk)[-1].url == f"/t/acme/accounts/{account.pk}/group/tab/"
    html = client_in(manager).get(f"/t/acme/accounts/{account.pk}/?tab=group-again").content.decode()
    assert 'id="tab-group-again"' in html and "risk-test" not in html
    # and this app's own tabs come in their order (other apps may add theirs in between)
    assert [tab.key for tab in tabs_for("acme", account.pk) if tab.key in TABS] == list(TABS)


def test_tab_urls_answer_fragments_to_htmx_and_redirect_plain_visits(account, manager):
    client = client_in(manager)
    for key in TABS:
        url = page_urls("acme", account.pk)[f"tab-{key}"]
        fragment = client.get(url, **htmx())
        plain = client.get(url + "?page=2")
        assert fragment.status_code == 200, key
        assert "<html" not in fragment.content.decode(), key
        assert "HX-Request" in fragment["Vary"]
        assert plain.status_code == 302
        assert plain["Location"] == f"/t/acme/accounts/{account.pk}/?tab={key}&page=2"


def test_overview_figures(tenant, manager, account):
    # given orders in the last 12 months and the 12 before, and another account's revenue
    today = tenant_today(tenant)
    for days, amount in ((10, "600000"), (100, "400000"), (190, "200000"), (400, "800000")):
        OrderFactory(tenant=tenant, account=account, order_date=today - dt.timedelta(days=days), amount=Decimal(amount))
    OrderFactory(tenant=tenant, order_date=today - dt.timedelta(days=20), amount=Decimal("800000"))
    InvoiceFactory(
        tenant=tenant, account=account, issued_on=today - dt.timedelta(days=60), due_on=today - dt.timedelta(days=30)
    )
    account.notes = "每季度业务回顾。"
    account.cooperation_since = today - dt.timedelta(days=3653)
    with tenant_context(tenant):
        account.save()
    # when the overview is shown in English
    html = client_in(manager).get(f"/t/acme/accounts/{account.pk}/overview/", **htmx()).content.decode()
    # then: revenue 12m = 600k + 400k + 200k = 1.2M; previous 12m = 800k; growth = 1.2/0.8 - 1 = +50.0%
    assert "¥1,200,000.00" in html
    assert "Previous 12 months: ¥800,000.00" in html
    assert "+50.0%" in html
    # share = 1.2M / (1.2M + 0.8M) = 60.0%
    assert "60.0%" in html and "of ¥2,000,000.00 in the last 12 months" in html
    # 3653 days / 365.25 = 10.0 years
    assert ">10.0<" in html
    # last order 10 days ago; distinct order days are 400, 190, 100, 10 days ago -> gaps 210, 90, 90 -> median 90
    assert (today - dt.timedelta(days=10)).isoformat() in html
    assert "Orders every 90 days (median)" in html
    assert (today + dt.timedelta(days=80)).isoformat() in html
    assert '<span class="badge badge--overdue">1 overdue</span>' in html
    assert "每季度业务回顾。" in html


def test_overview_money_in_chinese_uses_wan(tenant, manager, account):
    today = tenant_today(tenant)
    OrderFactory(tenant=tenant, account=account, order_date=today - dt.timedelta(days=5), amount=Decimal("12345678"))
    html = client_in(manager, "zh-hans").get(f"/t/acme/accounts/{account.pk}/overview/", **htmx()).content.decode()
    assert "¥1,234.57万" in html


@pytest.mark.parametrize(
    ("amount", "language", "expected"),
    [
        ("12345678", "zh-hans", "¥1,234.57万"),
        ("12345678", "en", "¥12,345,678.00"),
        ("9999.5", "zh-hans", "¥9,999.50"),
        ("10000", "zh-hans", "¥1.00万"),
        ("250000000", "zh-hans", "¥2.50亿"),
        ("-50000", "zh-hans", "-¥5.00万"),
        ("0", "en", "¥0.00"),
        (None, "en", "—"),
    ],
)
def test_money_format(amount, language, expected):
    with translation.override(language):
        assert format_money(amount) == expected


def test_percent_format():
    assert format_percent(0.1234) == "12.3%"
    assert format_percent(0.5, signed=True) == "+50.0%"
    assert format_percent(-0.25, signed=True) == "-25.0%"
    assert format_percent(0.0, signed=True) == "0.0%"
    assert format_percent(None) == "—"


def test_contacts_org_chart(tenant, manager, account):
    # given a boss with two reports, one of whom left
    boss = ContactFactory(
        tenant=tenant, account=account, name="张总", title="总经理", level="executive", buying_role="decision_maker",
        attitude="champion",
    )  # fmt: skip
    ContactFactory(tenant=tenant, account=account, name="李工", reports_to=boss, buying_role="technical_buyer")
    ContactFactory(tenant=tenant, account=account, name="赵经理", reports_to=boss, left_on=dt.date(2025, 12, 31))
    # when the tab is shown
    html = client_in(manager).get(f"/t/acme/accounts/{account.pk}/contacts/", **htmx()).content.decode()
    # then the reports are nested under the boss, with badges; who left is struck through with the date
    boss_item = html[html.index("张总") :]
    assert boss_item.index("<ul>") < boss_item.index("李工")
    assert "Executive level" in html and "Decision maker" in html and "Champion" in html
    assert "Technical buyer" in html
    assert '<s class="person-name">赵经理</s>' in html
    assert "Left on 2025-12-31" in html
    assert "Add contact" in html


def test_add_and_edit_a_contact(tenant, manager, account):
    # given a contact at this account and one at another
    boss = ContactFactory(tenant=tenant, account=account, name="张总")
    stranger = ContactFactory(tenant=tenant, name="别家的人")
    client = client_in(manager)
    url = f"/t/acme/accounts/{account.pk}/contacts/new/"
    # the form offers only this account's contacts as manager
    form_html = client.get(url, **htmx()).content.decode()
    assert "张总" in form_html and "别家的人" not in form_html
    # when someone reports to a contact of another account, then it is refused
    bad = client.post(url, {"name": "王工", "level": "operational", "buying_role": "user", "attitude": "neutral", "reports_to": stranger.pk}, **htmx())  # fmt: skip
    assert bad.status_code == 400
    assert "Select a valid choice." in bad.content.decode()
    # when added properly with htmx
    good = client.post(url, {"name": "王工", "level": "managerial", "buying_role": "influencer", "attitude": "supporter", "reports_to": boss.pk}, **htmx())  # fmt: skip
    # then the contacts tab is re-rendered in the panel with a notice
    assert good.status_code == 200
    assert good["HX-Retarget"] == "#tab-panel"
    assert "王工 was added." in good.content.decode()
    with tenant_context(tenant):
        added = Contact.objects.get(name="王工")
    assert (added.account_id, added.reports_to_id, added.level) == (account.pk, boss.pk, "managerial")
    # when edited without htmx, then back to the contacts tab
    edited = client.post(
        f"/t/acme/accounts/{account.pk}/contacts/{added.pk}/edit/",
        {"name": "王工", "level": "managerial", "buying_role": "influencer", "attitude": "champion", "left_on": "2026-01-31"},
    )  # fmt: skip
    assert edited.status_code == 302 and edited["Location"] == f"/t/acme/accounts/{account.pk}/?tab=contacts"
    with tenant_context(tenant):
        added.refresh_from_db()
    assert (added.attitude, added.left_on, added.reports_to_id) == ("champion", dt.date(2026, 1, 31), None)
    # and another account's contact id is 404 here
    assert client.get(f"/t/acme/accounts/{account.pk}/contacts/{stranger.pk}/edit/").status_code == 404


def test_orders_tab_is_paged_newest_first(tenant, manager, account):
    # given 25 orders on consecutive days
    for day in range(25):
        OrderFactory(tenant=tenant, account=account, order_date=dt.date(2026, 1, 1) + dt.timedelta(days=day), product_line=f"线 {day:02d}")  # fmt: skip
    client = client_in(manager)
    first = client.get(f"/t/acme/accounts/{account.pk}/orders/", **htmx()).content.decode()
    second = client.get(f"/t/acme/accounts/{account.pk}/orders/?page=2", **htmx()).content.decode()
    # then page 1 starts with the newest and holds 20; page 2 the oldest 5
    assert first.index("2026-01-25") < first.index("2026-01-24")
    assert first.count("<tr>") == 21  # header + 20
    assert "2026-01-05" not in first and "2026-01-05" in second and "2026-01-01" in second
    assert "25 orders" in first
    assert f'hx-get="/t/acme/accounts/{account.pk}/orders/?page=2"' in first
    assert f'href="/t/acme/accounts/{account.pk}/?tab=orders&amp;page=2"' in first
    # and the account page opened on page 2 renders it in place
    full = client.get(f"/t/acme/accounts/{account.pk}/?tab=orders&page=2").content.decode()
    assert "2026-01-01" in full and "2026-01-25" not in full


def test_invoices_tab_marks_overdue(tenant, manager, account):
    today = tenant_today(tenant)
    InvoiceFactory(tenant=tenant, account=account, number="INV-LATE", issued_on=today - dt.timedelta(days=60), due_on=today - dt.timedelta(days=1))  # fmt: skip
    InvoiceFactory(tenant=tenant, account=account, number="INV-PAID", issued_on=today - dt.timedelta(days=60), due_on=today - dt.timedelta(days=30), paid_on=today - dt.timedelta(days=31), paid_amount=Decimal("50000"))  # fmt: skip
    InvoiceFactory(tenant=tenant, account=account, number="INV-OPEN", issued_on=today, due_on=today + dt.timedelta(days=30))  # fmt: skip
    html = client_in(manager).get(f"/t/acme/accounts/{account.pk}/invoices/", **htmx()).content.decode()

    def row(number: str) -> str:
        return html[html.index(number) : html.index("</tr>", html.index(number))]

    assert '<span class="badge badge--overdue">Overdue</span>' in row("INV-LATE")
    assert "Paid" in row("INV-PAID") and "Overdue" not in row("INV-PAID")
    assert "Open" in row("INV-OPEN") and "Overdue" not in row("INV-OPEN")


def test_contracts_tab_highlights_those_ending_within_90_days(tenant, manager, account):
    today = tenant_today(tenant)
    ContractFactory(tenant=tenant, account=account, title="即将到期", start_on=today - dt.timedelta(days=300), end_on=today + dt.timedelta(days=60))  # fmt: skip
    ContractFactory(tenant=tenant, account=account, title="长期协议", start_on=today - dt.timedelta(days=30), end_on=today + dt.timedelta(days=400), ip_ownership="ours")  # fmt: skip
    html = client_in(manager).get(f"/t/acme/accounts/{account.pk}/contracts/", **htmx()).content.decode()
    soon = html[html.rindex("<tr", 0, html.index("即将到期")) : html.index("</tr>", html.index("即将到期"))]
    later = html[html.rindex("<tr", 0, html.index("长期协议")) : html.index("</tr>", html.index("长期协议"))]
    assert 'class="is-ending"' in soon and "Ends in 60 days" in soon
    assert "is-ending" not in later
    assert (today + dt.timedelta(days=60)).isoformat() in soon


def test_timeline_loads_more_with_a_cursor(tenant, manager, account):
    # given 25 interactions, one per day
    for day in range(25):
        InteractionFactory(
            tenant=tenant, account=account, user=manager, summary=f"第 {day:02d} 次拜访",
            occurred_at=dt.datetime(2026, 2, 1, 10, 0, tzinfo=dt.UTC) + dt.timedelta(days=day),
        )  # fmt: skip
    client = client_in(manager)
    url = f"/t/acme/accounts/{account.pk}/timeline/"
    # when the tab opens
    first = client.get(url, **htmx()).content.decode()
    # then the 20 newest show, with a "load more" that appends the rest
    assert "第 24 次拜访" in first and "第 05 次拜访" in first and "第 04 次拜访" not in first
    assert f"by {manager.display_name}" in first
    match = re.search(r'hx-get="([^"]+more=1)" hx-target="closest li" hx-swap="outerHTML"', first)
    assert match is not None
    more = client.get(match.group(1).replace("&amp;", "&"), **htmx()).content.decode()
    assert more.lstrip().startswith('<li class="timeline-entry')
    assert [f"第 {n:02d} 次拜访" in more for n in (4, 3, 2, 1, 0)] == [True] * 5
    assert "第 05 次拜访" not in more and "Load more" not in more


def test_timeline_shows_events_orders_and_changes(tenant, manager, account):
    EventFactory(tenant=tenant, account=account, note="新建二期工厂")
    OrderFactory(tenant=tenant, account=account, product_line="精密轴承", amount=Decimal("88000"))
    client = client_in(manager)
    client.post(f"/t/acme/accounts/{account.pk}/edit/", {"name": account.name, "status": "dormant"})
    html = client.get(f"/t/acme/accounts/{account.pk}/timeline/", **htmx()).content.decode()
    assert "Major investment project" in html and "Impact 10 points" in html and "新建二期工厂" in html
    assert "精密轴承" in html and "¥88,000.00" in html
    assert "Updated" in html and "<code>status</code>" in html


def test_group_tab_and_page_roll_revenue_up(tenant, manager):
    # given a group of three with orders in the last 12 months
    today = tenant_today(tenant)
    root = AccountFactory(tenant=tenant, name="集团总部")
    child = AccountFactory(tenant=tenant, name="唐山基地", parent=root, owner=manager)
    grandchild = AccountFactory(tenant=tenant, name="唐山车间", parent=child)
    for account, amount in ((root, "100000"), (child, "200000"), (grandchild, "300000")):
        OrderFactory(tenant=tenant, account=account, order_date=today - dt.timedelta(days=30), amount=Decimal(amount))
    client = client_in(manager)
    # when the group is shown from the middle account
    tab = client.get(f"/t/acme/accounts/{child.pk}/group/tab/", **htmx()).content.decode()
    page = client.get(f"/t/acme/accounts/{child.pk}/group/").content.decode()
    # then own revenue and rolled up: root 100k own, 600k with subsidiaries; child 200k own, 500k rolled up
    for html in (tab, page):
        assert "¥100,000.00" in html and "¥600,000.00" in html
        assert "¥200,000.00" in html and "¥500,000.00" in html
        assert "¥300,000.00" in html
        assert f'href="/t/acme/accounts/{root.pk}/"' in html
        assert "3 companies in this customer group." in html
    assert "Customer group 集团总部" in page


# --- create and edit -----------------------------------------------------------------------------


def test_create_an_account(tenant, manager):
    client = client_in(manager)
    # when a manager fills in the form
    response = client.post(
        "/t/acme/accounts/new/",
        {
            "name": "蓝天新能源", "legal_name": "蓝天新能源科技有限公司", "credit_code": VALID_CODE.lower(),
            "industry": "新能源", "region": "江苏", "owner": manager.pk, "status": "prospect",
            "cooperation_since": "2021-04-01", "notes": "光伏组件",
        },
    )  # fmt: skip
    # then it is saved (the code upper-cased) and the page says so
    with tenant_context(tenant):
        account = Account.objects.get(name="蓝天新能源")
    assert response.status_code == 302 and response["Location"] == f"/t/acme/accounts/{account.pk}/"
    assert (account.credit_code, account.owner, account.status, account.cooperation_since) == (
        VALID_CODE, manager, "prospect", dt.date(2021, 4, 1),
    )  # fmt: skip
    assert "The account 蓝天新能源 was created." in client.get(response["Location"]).content.decode()


def test_create_with_htmx_redirects_by_header(tenant, admin):
    response = client_in(admin).post("/t/acme/accounts/new/", {"name": "恒通汽车", "status": "active"}, **htmx())
    with tenant_context(tenant):
        account = Account.objects.get(name="恒通汽车")
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/t/acme/accounts/{account.pk}/"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"name": "坏代码", "status": "active", "credit_code": VALID_CODE[:17] + ("0" if VALID_CODE[17] != "0" else "1")},
            "credit_code",
            "The check character of this unified social credit code is wrong; please check the code.",
        ),
        ({"name": "短代码", "status": "active", "credit_code": "9111"}, "credit_code", "A unified social credit code has 18 characters."),
        ({"name": "", "status": "active", "legal_name": "无名有限公司"}, "name", "This field is required."),
        ({"name": "   ", "status": "active"}, "name", "This field is required."),
        ({"name": "坏状态", "status": "sleeping"}, "status", "Select a valid choice. sleeping is not one of the available choices."),
    ],
)  # fmt: skip
def test_create_validation(tenant, manager, data, field, message):
    # when the form is sent with a mistake
    response = client_in(manager).post("/t/acme/accounts/new/", data)
    html = response.content.decode()
    # then 400, the message beside its field, the input kept, nothing saved
    assert response.status_code == 400
    error = f'<div class="field-error" id="id_{field}_error">{message}</div>'
    assert error in html
    if data.get("legal_name"):
        assert 'value="无名有限公司"' in html
    with tenant_context(tenant):
        assert not Account.objects.exists()


def test_create_refuses_a_duplicate_credit_code(tenant, manager):
    AccountFactory(tenant=tenant, name="已有客户", credit_code=VALID_CODE)
    response = client_in(manager).post(
        "/t/acme/accounts/new/", {"name": "重复", "status": "active", "credit_code": VALID_CODE}
    )
    assert response.status_code == 400
    assert "Another account already has this unified social credit code." in response.content.decode()
    with tenant_context(tenant):
        assert Account.objects.count() == 1


def test_edit_refuses_a_parent_cycle(tenant, admin):
    # given a parent and its child
    parent = AccountFactory(tenant=tenant, name="集团")
    child = AccountFactory(tenant=tenant, name="子公司", parent=parent)
    # when the parent is made the child's subsidiary
    response = client_in(admin).post(
        f"/t/acme/accounts/{parent.pk}/edit/", {"name": "集团改名", "status": "active", "parent": child.pk}
    )
    # then 400 with the message at the parent field, nothing saved
    assert response.status_code == 400
    html = response.content.decode()
    assert (
        '<div class="field-error" id="id_parent_error">This parent would make a cycle in the group hierarchy.</div>'
        in html
    )
    assert 'value="集团改名"' in html
    with tenant_context(tenant):
        parent.refresh_from_db()
    assert (parent.name, parent.parent_id) == ("集团", None)


def test_edit_form_offers_other_accounts_as_parent_and_members_as_owner(
    tenant, admin, manager, account, foreign_account
):
    AccountFactory(tenant=tenant, name="另一家客户")
    html = client_in(admin).get(f"/t/acme/accounts/{account.pk}/edit/").content.decode()
    parent_select = html[html.index('name="parent"') : html.index("</select>", html.index('name="parent"'))]
    owner_select = html[html.index('name="owner"') : html.index("</select>", html.index('name="owner"'))]
    assert "另一家客户" in parent_select
    assert "中车华北集团" not in parent_select  # not itself
    assert "Globex" not in parent_select
    assert f'<option value="{manager.pk}" selected>{manager.display_name}</option>' in owner_select
    assert "charlie@globex.test" not in owner_select
    assert 'value="中车华北集团"' in html  # the current values are filled in


def test_edit_with_a_foreign_parent_id_is_refused(tenant, admin, account, foreign_account):
    response = client_in(admin).post(
        f"/t/acme/accounts/{account.pk}/edit/", {"name": "x", "status": "active", "parent": foreign_account.pk}
    )
    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()
    with tenant_context(tenant):
        account.refresh_from_db()
    assert (account.name, account.parent_id) == ("中车华北集团", None)


def test_forms_in_chinese(tenant, admin, account):
    html = client_in(admin, "zh-hans").get(f"/t/acme/accounts/{account.pk}/edit/").content.decode()
    assert "统一社会信用代码" in html  # the model's label, translated


# --- archive and delete ------------------------------------------------------------------------------


def test_archive_marks_the_account_lost(tenant, manager, account):
    client = client_in(manager)
    # the page without JavaScript asks first
    confirm = client.get(f"/t/acme/accounts/{account.pk}/archive/").content.decode()
    assert "Archive 中车华北集团?" in confirm and 'method="post"' in confirm
    # when archived with htmx
    response = client.post(f"/t/acme/accounts/{account.pk}/archive/", **htmx())
    # then its status is lost and the account page says so
    assert response["HX-Redirect"] == f"/t/acme/accounts/{account.pk}/"
    with tenant_context(tenant):
        account.refresh_from_db()
    assert account.status == AccountStatus.LOST
    html = client.get(f"/t/acme/accounts/{account.pk}/").content.decode()
    assert "中车华北集团 was archived: its status is now lost, its history is kept." in html
    assert ">Archive<" not in html


def test_delete_an_account_without_history(tenant, manager, account):
    client = client_in(manager)
    confirm = client.get(f"/t/acme/accounts/{account.pk}/delete/").content.decode()
    assert "Delete for good" in confirm
    response = client.post(f"/t/acme/accounts/{account.pk}/delete/")
    assert response.status_code == 302 and response["Location"] == "/t/acme/accounts/"
    with tenant_context(tenant):
        assert not Account.objects.filter(pk=account.pk).exists()
    assert "The account 中车华北集团 was deleted." in client.get("/t/acme/accounts/").content.decode()


@pytest.mark.parametrize("history", ["order", "invoice", "child"])
def test_delete_refuses_an_account_with_history(tenant, manager, account, history):
    # given an account with an order, an invoice or a subsidiary
    if history == "order":
        OrderFactory(tenant=tenant, account=account)
        message = "中车华北集团 has orders or invoices; archive it (status lost) instead of deleting its history."
    elif history == "invoice":
        InvoiceFactory(tenant=tenant, account=account)
        message = "中车华北集团 has orders or invoices; archive it (status lost) instead of deleting its history."
    else:
        AccountFactory(tenant=tenant, parent=account)
        message = "中车华北集团 has subsidiaries; move or archive them first."
    client = client_in(manager)
    # when deleted, with and without htmx
    plain = client.post(f"/t/acme/accounts/{account.pk}/delete/")
    hx = client.post(f"/t/acme/accounts/{account.pk}/delete/", **htmx())
    # then 400 with the reason, and nothing deleted
    assert plain.status_code == 400 and message in plain.content.decode()
    assert "Archive instead" in plain.content.decode()
    assert hx.status_code == 400 and message in hx.content.decode() and "<html" not in hx.content.decode()
    with tenant_context(tenant):
        assert Account.objects.filter(pk=account.pk).exists()


# --- log an interaction, record an event ---------------------------------------------------------------


def test_log_an_interaction_in_two_clicks(tenant, manager, account):
    contact = ContactFactory(tenant=tenant, account=account, name="张总")
    other = ContactFactory(tenant=tenant, name="别家的人")
    client = client_in(manager)
    url = f"/t/acme/accounts/{account.pk}/interactions/new/"
    # click 1: the form opens in the panel, with this account's contacts and now as the time
    form = client.get(url, **htmx()).content.decode()
    assert form.lstrip().startswith('<section class="card inline-panel quick-form" id="quick-form"')
    assert "张总" in form and "别家的人" not in form
    assert f'hx-post="{url}"' in form
    # a contact of another account is refused
    bad = client.post(url, {"kind": "visit", "contact": other.pk, "occurred_at": "2026-03-05T14:00", "summary": "x"}, **htmx())  # fmt: skip
    assert bad.status_code == 400 and "Select a valid choice." in bad.content.decode()
    # click 2: submitted
    response = client.post(url, {"kind": "visit", "contact": contact.pk, "occurred_at": "2026-03-05T14:00", "summary": "现场拜访，讨论二期"}, **htmx())  # fmt: skip
    assert response.status_code == 200
    assert "The interaction was logged." in response.content.decode()
    assert json.loads(response["HX-Trigger"]) == {"accounts-timeline-changed": {}}
    with tenant_context(tenant):
        interaction = Interaction.objects.get(account=account)
    assert (interaction.kind, interaction.contact_id, interaction.user, interaction.summary) == (
        "visit", contact.pk, manager, "现场拜访，讨论二期",
    )  # fmt: skip
    assert interaction.occurred_at == dt.datetime(2026, 3, 5, 6, 0, tzinfo=dt.UTC)  # 14:00 in Shanghai
    # and the timeline listens for the change
    timeline = client.get(f"/t/acme/accounts/{account.pk}/timeline/", **htmx()).content.decode()
    assert 'hx-trigger="accounts-timeline-changed from:body"' in timeline
    assert "现场拜访，讨论二期" in timeline


def test_interaction_errors_rerender_the_form(tenant, manager, account):
    response = client_in(manager).post(
        f"/t/acme/accounts/{account.pk}/interactions/new/",
        {"kind": "chat", "occurred_at": "", "summary": "  "},
        **htmx(),
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert '<div class="field-error" id="id_kind_error">Select a valid choice. chat is not one of the available choices.</div>' in html  # fmt: skip
    assert '<div class="field-error" id="id_occurred_at_error">This field is required.</div>' in html
    assert '<div class="field-error" id="id_summary_error">This field is required.</div>' in html
    with tenant_context(tenant):
        assert not Interaction.objects.exists()


def test_record_an_event_with_the_kinds_defaults(tenant, manager, account):
    client = client_in(manager)
    url = f"/t/acme/accounts/{account.pk}/events/new/"
    # click 1: the form shows the default of the chosen kind as placeholders
    form = client.get(url + "?kind=budget_cut&occurred_on=2026-03-01", **htmx()).content.decode()
    assert 'placeholder="-5"' in form
    assert 'placeholder="2026-08-28"' in form  # 2026-03-01 + 180 days
    assert "Left empty, this kind counts -5 points until 2026-08-28." in form
    assert f'hx-get="{url}"' in form  # choosing another kind refreshes them
    # click 2: recorded without impact or expiry
    response = client.post(url, {"kind": "budget_cut", "occurred_on": "2026-03-01", "note": "预算削减两成"}, **htmx())
    assert response.status_code == 200
    assert "The event Budget cut was recorded (-5 points)." in response.content.decode()
    assert json.loads(response["HX-Trigger"]) == {"accounts-timeline-changed": {}}
    with tenant_context(tenant):
        event = Event.objects.get(account=account)
    assert (event.kind, event.impact_points, event.expires_on, event.note, event.created_by) == (
        "budget_cut", Decimal("-5.00"), dt.date(2026, 8, 28), "预算削减两成", manager,
    )  # fmt: skip


def test_record_an_event_without_javascript_goes_to_the_timeline(tenant, manager, account):
    client = client_in(manager)
    page = client.get(f"/t/acme/accounts/{account.pk}/events/new/").content.decode()
    assert "<html" in page and "Record an event for 中车华北集团" in page
    response = client.post(
        f"/t/acme/accounts/{account.pk}/events/new/",
        {"kind": "major_investment", "occurred_on": "2026-03-01", "impact_points": "15", "expires_on": "2026-12-31"},
    )
    assert response.status_code == 302 and response["Location"] == f"/t/acme/accounts/{account.pk}/?tab=timeline"
    with tenant_context(tenant):
        event = Event.objects.get(account=account)
    assert (event.impact_points, event.expires_on) == (Decimal("15.00"), dt.date(2026, 12, 31))


def test_event_errors(tenant, manager, account):
    client = client_in(manager)
    url = f"/t/acme/accounts/{account.pk}/events/new/"
    expired = client.post(url, {"kind": "expansion", "occurred_on": "2026-03-01", "expires_on": "2026-02-01"}, **htmx())
    too_big = client.post(url, {"kind": "expansion", "occurred_on": "2026-03-01", "impact_points": "150"}, **htmx())
    assert expired.status_code == 400 and "An event must expire after the day it occurred." in expired.content.decode()
    assert too_big.status_code == 400
    assert "Ensure this value is less than or equal to 100." in too_big.content.decode()
    with tenant_context(tenant):
        assert not Event.objects.exists()


def test_member_logs_interactions_but_records_no_events(tenant, member):
    own = AccountFactory(tenant=tenant, name="李静的客户", owner=member)
    client = client_in(member)
    assert client.get(f"/t/acme/accounts/{own.pk}/interactions/new/", **htmx()).status_code == 200
    assert client.post(f"/t/acme/accounts/{own.pk}/events/new/", {"kind": "merger", "occurred_on": "2026-03-01"}).status_code == 403  # fmt: skip
    with tenant_context(tenant):
        assert not Event.objects.exists()


# --- both languages --------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_page_renders_in_both_languages(tenant, admin, account, language):
    ContactFactory(tenant=tenant, account=account)
    OrderFactory(tenant=tenant, account=account)
    client = client_in(admin, language)
    for name, url in page_urls("acme", account.pk).items():
        if name == "export":
            continue
        response = client.get(url, **(htmx() if name.startswith("tab-") else {}))
        assert response.status_code == 200, name
    for key in TABS:
        html = client.get(f"/t/acme/accounts/{account.pk}/?tab={key}").content.decode()
        assert f'<html lang="{language}">' in html, key
