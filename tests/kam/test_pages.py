"""Platform pages: login, workspaces, navigation by role, settings, errors."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from kam.models import ApiToken, AuditLog, Membership, Role, hash_token
from kam.tenancy import tenant_context
from tests.conftest import login, make_token
from tests.factories import TenantFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def tenant_urls(tenant, membership_id=1, token_id=1):
    slug = tenant.slug
    return {
        "home": reverse("tenant-home", kwargs={"tenant_slug": slug}),
        "members": reverse("settings-members", kwargs={"tenant_slug": slug}),
        "tokens": reverse("settings-tokens", kwargs={"tenant_slug": slug}),
        "audit": reverse("settings-audit", kwargs={"tenant_slug": slug}),
    }


# --- login ------------------------------------------------------------------------------------


def test_login_with_email_and_password(admin):
    client = Client()
    response = client.post("/login/", {"username": "ALICE@acme.test", "password": PASSWORD})
    assert response.status_code == 302
    # one workspace: straight into it
    assert client.get(response["Location"]).url == "/t/acme/"


def test_login_with_a_wrong_password_says_so_in_both_languages(admin):
    en = Client(HTTP_ACCEPT_LANGUAGE="en").post("/login/", {"username": "alice@acme.test", "password": "wrong"})
    zh = Client(HTTP_ACCEPT_LANGUAGE="zh-hans").post("/login/", {"username": "alice@acme.test", "password": "wrong"})
    assert en.status_code == 200
    assert "The e-mail address or the password is incorrect." in en.content.decode()
    assert "电子邮箱或密码不正确" in zh.content.decode()


def test_login_rejects_garbage_without_a_500(db):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    for data in ({}, {"username": "not-an-email", "password": "x"}, {"username": "a" * 5000, "password": "\x00"}):
        response = client.post("/login/", data)
        assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_login_is_throttled_after_five_failures(admin):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    codes = [client.post("/login/", {"username": "alice@acme.test", "password": "nope"}).status_code for _ in range(5)]
    locked = client.post("/login/", {"username": "alice@acme.test", "password": PASSWORD})
    assert codes == [200, 200, 200, 200, 429]
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


def test_logout_needs_post(admin):
    client = login(admin)
    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 302
    assert client.get("/t/acme/").status_code == 302  # back to the login page


def test_password_change(admin):
    client = login(admin)
    bad = client.post("/password/change/", {"old_password": "wrong", "new_password1": "x", "new_password2": "y"})
    assert bad.status_code == 200
    admin.refresh_from_db()
    assert admin.check_password(PASSWORD)
    good = client.post(
        "/password/change/",
        {"old_password": PASSWORD, "new_password1": "Zhe-shi-xin-mima-2026", "new_password2": "Zhe-shi-xin-mima-2026"},
    )
    assert good.status_code == 302
    admin.refresh_from_db()
    assert admin.check_password("Zhe-shi-xin-mima-2026")


def test_anonymous_is_sent_to_login(tenant):
    response = Client().get("/t/acme/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/t/acme/")


# --- workspaces and the outsider ------------------------------------------------------------------


def test_outsider_gets_404_on_every_tenant_page(tenant, outsider):
    client = login(outsider)
    for name, url in tenant_urls(tenant).items():
        assert client.get(url).status_code == 404, name


def test_unknown_workspace_and_inactive_membership_are_404(tenant, member):
    client = login(member)
    assert client.get("/t/nope/").status_code == 404
    Membership.objects.filter(user=member).update(is_active=False)
    assert client.get("/t/acme/").status_code == 404


def test_deactivated_tenant_is_404(tenant, admin):
    tenant.is_active = False
    tenant.save()
    assert login(admin).get("/t/acme/").status_code == 404


def test_switcher_lists_both_workspaces(tenant, other_tenant, director):
    Membership.objects.create(tenant=other_tenant, user=director, role=Role.EXECUTIVE)
    client = login(director)
    assert client.get("/").url == "/workspaces/"
    page = client.get("/workspaces/").content.decode()
    assert "/t/acme/" in page and "/t/globex/" in page
    html = client.get("/t/globex/").content.decode()
    assert "Acme 精工" in html  # the other workspace is offered in the switcher
    assert client.get("/").url == "/t/globex/"  # home remembers the last one


@pytest.mark.parametrize(
    ("role", "sees_settings"),
    [("admin", True), ("director", False), ("manager", False), ("member", False), ("executive", False)],
)
def test_navigation_by_role(role_users, role, sees_settings):
    html = login(role_users[role]).get("/t/acme/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert ('href="/t/acme/settings/members/"' in html) is sees_settings
    assert ('href="/t/acme/settings/tokens/"' in html) is sees_settings


def test_home_speaks_both_languages(admin):
    client = login(admin)
    client.post("/i18n/setlang/", {"language": "en", "next": "/t/acme/"})
    assert "Members" in client.get("/t/acme/").content.decode()
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/t/acme/"})
    assert "成员" in client.get("/t/acme/").content.decode()


@pytest.mark.parametrize("role", ["director", "manager", "member", "executive"])
def test_settings_pages_are_for_admins_only(role_users, role):
    client = login(role_users[role])
    for name in ("members", "tokens", "audit"):
        assert client.get(tenant_urls(role_users[role].memberships.first().tenant)[name]).status_code == 403, name


# --- members ---------------------------------------------------------------------------------------


def test_admin_adds_a_new_member_who_gets_an_invitation(tenant, admin, django_capture_on_commit_callbacks):
    client = login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/t/acme/settings/members/", {"email": "New.Person@acme.test", "role": "manager"})
    assert response.status_code == 302
    membership = Membership.objects.get(tenant=tenant, user__email="new.person@acme.test")
    assert membership.role == Role.MANAGER
    assert not membership.user.has_usable_password()
    assert len(mail.outbox) == 1
    assert "/password/set/" in mail.outbox[0].body
    with tenant_context(tenant):
        entry = AuditLog.objects.get(object_type="kam.membership", object_id=str(membership.pk))
    assert (entry.action, entry.actor_user, entry.changes["role"]) == ("create", admin, [None, "manager"])


def test_invitation_link_sets_the_password(tenant, admin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        login(admin).post("/t/acme/settings/members/", {"email": "newbie@acme.test", "role": "member"})
    link = next(line for line in mail.outbox[0].body.split() if "/password/set/" in line)
    path = link[link.index("/password/set/") :]
    client = Client()
    form_page = client.get(path, follow=True)
    assert form_page.status_code == 200
    client.post(form_page.redirect_chain[-1][0], {"new_password1": "Xin-mima-2026!", "new_password2": "Xin-mima-2026!"})
    fresh = Client()
    assert fresh.post("/login/", {"username": "newbie@acme.test", "password": "Xin-mima-2026!"}).status_code == 302
    assert "_auth_user_id" in fresh.session


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"email": "not-an-email", "role": "member"}, "Enter a valid email address."),
        ({"email": "x@acme.test", "role": "king"}, "Select a valid choice."),
        ({"email": "alice@acme.test", "role": "member"}, "alice@acme.test is already a member of this workspace."),
    ],
)
def test_add_member_validation(tenant, admin, data, error):
    before = Membership.objects.count()
    response = login(admin).post("/t/acme/settings/members/", data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert error in response.content.decode()
    assert Membership.objects.count() == before


def test_change_role_in_place_with_htmx(tenant, admin, member):
    membership = Membership.objects.get(user=member)
    response = login(admin).post(
        f"/t/acme/settings/members/{membership.pk}/", {"role": "manager"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert "<tr" in response.content.decode() and "<html" not in response.content.decode()
    membership.refresh_from_db()
    assert membership.role == Role.MANAGER


def test_the_last_admin_cannot_be_demoted_or_deactivated(tenant, admin):
    membership = Membership.objects.get(user=admin)
    client = login(admin)
    for data in ({"role": "member"}, {"active": "0"}):
        response = client.post(
            f"/t/acme/settings/members/{membership.pk}/", data, HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="en"
        )
        assert response.status_code == 400
        assert "at least one active administrator" in response.content.decode()
    membership.refresh_from_db()
    assert (membership.role, membership.is_active) == (Role.ADMIN, True)


def test_deactivate_and_reactivate(tenant, admin, member):
    membership = Membership.objects.get(user=member)
    client = login(admin)
    client.post(f"/t/acme/settings/members/{membership.pk}/", {"active": "0"})
    membership.refresh_from_db()
    assert membership.is_active is False
    assert login(member).get("/t/acme/").status_code == 404
    client.post(f"/t/acme/settings/members/{membership.pk}/", {"active": "1"})
    membership.refresh_from_db()
    assert membership.is_active is True


def test_members_of_another_tenant_cannot_be_touched(tenant, admin, outsider, other_tenant):
    foreign = Membership.objects.get(user=outsider)
    response = login(admin).post(f"/t/acme/settings/members/{foreign.pk}/", {"role": "member"})
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.role == Role.ADMIN
    html = login(admin).get("/t/acme/settings/members/").content.decode()
    assert "charlie@globex.test" not in html


# --- API tokens ------------------------------------------------------------------------------------


def test_create_token_shows_it_once(tenant, admin):
    client = login(admin)
    response = client.post("/t/acme/settings/tokens/", {"name": "ERP 同步", "scope": "write", "expires_in": "90"})
    assert response.status_code == 200
    token = ApiToken.objects.get(tenant=tenant, name="ERP 同步")
    html = response.content.decode()
    raw = html[html.index("kam_") :].split('"')[0].split("<")[0]
    assert hash_token(raw) == token.token_hash
    assert raw not in client.get("/t/acme/settings/tokens/").content.decode()
    assert response["Cache-Control"].startswith("max-age=0")


def test_create_token_validation(tenant, admin):
    response = login(admin).post("/t/acme/settings/tokens/", {"name": "  ", "scope": "root"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()
    assert not ApiToken.objects.exists()


def test_revoke_token(tenant, admin):
    token, raw = make_token(tenant, "read")
    response = login(admin).post(f"/t/acme/settings/tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert Client().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_tokens_of_another_tenant_are_404_and_unlisted(tenant, admin, other_tenant):
    foreign, _raw = make_token(other_tenant, "write", name="globex-secret")
    client = login(admin)
    assert client.post(f"/t/acme/settings/tokens/{foreign.pk}/revoke/").status_code == 404
    foreign.refresh_from_db()
    assert foreign.revoked_at is None
    assert "globex-secret" not in client.get("/t/acme/settings/tokens/").content.decode()


# --- audit log ---------------------------------------------------------------------------------------


def test_audit_page_lists_this_tenants_changes_only(tenant, admin, other_tenant):
    make_token(tenant, "read", name="ours")
    make_token(other_tenant, "read", name="theirs")
    client = login(admin)
    html = client.get("/t/acme/settings/audit/").content.decode()
    assert "ours" in html and "theirs" not in html
    filtered = client.get("/t/acme/settings/audit/?object_type=kam.apitoken&action=create", HTTP_HX_REQUEST="true")
    assert filtered.status_code == 200
    assert "<html" not in filtered.content.decode() and "ours" in filtered.content.decode()


def test_audit_filter_garbage_is_ignored_not_a_500(tenant, admin):
    response = login(admin).get("/t/acme/settings/audit/?object_type=zz&action=zzz&page=-3")
    assert response.status_code == 200
    # A NUL byte is refused before any view (kam.security): a clear 400, not a 500.
    assert login(admin).get("/t/acme/settings/audit/?object_type=%00").status_code == 400


# --- errors and health ---------------------------------------------------------------------------------


def test_404_page_in_both_languages(admin):
    client = login(admin)
    assert "Page not found" in client.get("/nope/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "页面不存在" in client.get("/nope/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()


def test_healthz_reports_database_and_redis(db):
    response = Client().get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["database"], body["redis"]) == ("ok", "ok", "ok")
    assert "worker" in body


def test_a_user_with_no_workspace_sees_the_empty_state(db):
    html = (
        login(UserFactory(email="lonely@example.test")).get("/workspaces/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    )
    assert "not a member of any workspace" in html


def test_admin_changes_are_audited(tenant, admin):
    from django.contrib.auth import get_user_model

    get_user_model().objects.filter(pk=admin.pk).update(is_staff=True, is_superuser=True)
    token, _raw = make_token(tenant, "read", name="before")
    client = login(admin)
    response = client.post(
        f"/admin/kam/apitoken/{token.pk}/change/",
        {
            "tenant": tenant.pk,
            "name": "after",
            "scope": "read",
            "expires_at_0": "",
            "expires_at_1": "",
            "revoked_at_0": "",
            "revoked_at_1": "",
        },
    )
    assert response.status_code == 302
    with tenant_context(tenant):
        entry = AuditLog.objects.filter(object_type="kam.apitoken", action="update").get()
    assert entry.changes == {"name": ["before", "after"]}
    assert entry.actor_user == admin


def test_even_a_superuser_needs_a_membership(tenant, admin):
    from django.contrib.auth import get_user_model

    get_user_model().objects.filter(pk=admin.pk).update(is_staff=True, is_superuser=True)
    TenantFactory(slug="third")
    assert login(admin).get("/t/third/").status_code == 404


def test_home_loads_the_panels_apps_register(tenant, manager):
    # teams registers "my actions" as a home panel: the home page asks htmx to load it
    html = login(manager).get("/t/acme/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'hx-get="/t/acme/teams/my-actions/"' in html
    assert 'hx-select="#my-actions-body"' in html
