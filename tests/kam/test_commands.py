"""Management commands named in DESIGN section 8, non-interactive."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from kam.models import ApiToken, AuditLog, Membership, Role, Tenant, hash_token
from kam.tenancy import tenant_context

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    with translation.override("en"):
        call_command(*args, stdout=out)
    return out.getvalue()


def test_create_tenant_with_its_admin():
    output = run(
        "create_tenant",
        "--slug",
        "hengtong",
        "--name",
        "恒通",
        "--industry",
        "manufacturing",
        "--admin-email",
        "Boss@Hengtong.test",
        "--admin-password",
        "s3cret-enough-pass",
    )
    tenant = Tenant.objects.get(slug="hengtong")
    assert output.strip() == f"created tenant hengtong (id {tenant.pk})"
    assert (tenant.name, tenant.industry_profile, tenant.currency, tenant.time_zone) == (
        "恒通",
        "manufacturing",
        "CNY",
        "Asia/Shanghai",
    )
    membership = Membership.objects.get(tenant=tenant)
    assert (membership.user.email, membership.role) == ("boss@hengtong.test", Role.ADMIN)
    assert membership.user.check_password("s3cret-enough-pass")
    with tenant_context(tenant):
        assert sorted(AuditLog.objects.values_list("object_type", flat=True)) == ["kam.membership", "kam.tenant"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--slug", "Bad Slug", "--name", "x", "--industry", "software"], "lower-case letters"),
        (["--slug", "ok", "--name", "x", "--industry", "mining"], "invalid choice"),
        (["--slug", "ok", "--name", "x", "--industry", "software", "--admin-password", "p"], "needs --admin-email"),
    ],
)
def test_create_tenant_rejects_bad_input(args, message):
    with pytest.raises(CommandError, match=message):
        run("create_tenant", *args)
    assert not Tenant.objects.exists()


def test_create_tenant_refuses_a_taken_slug(tenant):
    with pytest.raises(CommandError, match="already exists"):
        run("create_tenant", "--slug", "acme", "--name", "again", "--industry", "other")
    assert Tenant.objects.count() == 1


def test_create_api_token_prints_the_token_alone(tenant):
    output = run("create_api_token", "--tenant", "acme", "--name", "ERP", "--scope", "write")
    raw = output.strip()
    assert output == raw + "\n"
    token = ApiToken.objects.get(token_hash=hash_token(raw))
    assert (token.tenant, token.name, token.scope, token.expires_at) == (tenant, "ERP", "write", None)


def test_create_api_token_with_expiry(tenant):
    raw = run(
        "create_api_token", "--tenant", "acme", "--name", "BI", "--scope", "read", "--expires-in-days", "30"
    ).strip()
    token = ApiToken.objects.get(token_hash=hash_token(raw))
    assert 29 <= (token.expires_at - token.created_at).days <= 30


def test_create_api_token_unknown_tenant():
    with pytest.raises(CommandError, match="no tenant with slug 'ghost'"):
        run("create_api_token", "--tenant", "ghost", "--name", "x", "--scope", "read")


def test_seed_demo_loads_two_tenants_once():
    from accounts.models import Account
    from kam.management.commands.seed_demo import DEMO_PASSWORD

    run("seed_demo", "--once")
    assert run("seed_demo", "--once").strip() == "demo data already loaded"
    assert sorted(Tenant.objects.values_list("slug", flat=True)) == ["huadong", "zhice"]
    for tenant in Tenant.objects.all():
        roles = set(Membership.objects.filter(tenant=tenant).values_list("role", flat=True))
        assert roles == set(Role.values)
        with tenant_context(tenant):
            assert Account.objects.count() >= 4
            assert Account.objects.filter(parent__isnull=False).exists()
    director = Membership.objects.filter(user__email="director@huadong.example.com")
    assert sorted(director.values_list("tenant__slug", "role")) == [("huadong", "director"), ("zhice", "executive")]
    assert director.first().user.check_password(DEMO_PASSWORD)
