"""Backup and restore of one tenant: manage.py export_tenant / import_tenant (kam/backup.py).

The round trip runs on a tenant with one of everything (tests/reliability/tenant_data.py:
accounts in a group, contacts, orders, invoices, scores, teams, plans, risk runs, alerts,
webhooks, the audit log) plus a group whose parent was made after its child, and checks
every table row for row: the restored tenant is the exported one.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client

from accounts.models import Account, Contact
from kam.backup import NOT_CARRIED, read_manifest, tenant_models, unsupported_references
from kam.models import ApiToken, Membership, Role, Tenant, User
from kam.rls import tenant_owned_models, tenant_tables
from kam.tenancy import tenant_context
from tests.factories import AccountFactory, ContactFactory, OrderFactory
from tests.reliability.tenant_data import World, build_world

PASSWORD = "restore-me-2026"


@pytest.fixture
def world(db: None) -> World:
    world = build_world("backup-src", "备份")
    tenant = world.tenant
    # A group whose parent has the larger id, and a contact whose boss was added after them:
    # a restore in id order would meet the child before its parent.
    child = AccountFactory(tenant=tenant, name="备份 孙公司")
    parent = AccountFactory(tenant=tenant, name="备份 控股公司")
    with tenant_context(tenant):
        Account.objects.filter(pk=child.pk).update(parent=parent)
        junior = ContactFactory(tenant=tenant, account=parent, name="备份 员工")
        boss = ContactFactory(tenant=tenant, account=parent, name="备份 经理")
        Contact.objects.filter(pk=junior.pk).update(reports_to=boss)
    for day in range(1, 6):
        OrderFactory(tenant=tenant, account=parent, external_ref=f"备份-GROUP-{day}")
    admin = world.people[Role.ADMIN]
    admin.set_password(PASSWORD)
    admin.save()
    return world


@pytest.fixture
def other_world(db: None) -> World:
    return build_world("backup-other", "别家")


def fingerprints(tenant: Tenant) -> dict[str, tuple[int, str]]:
    """Per carried table: (rows, MD5 of every row's JSON in id order), read under the tenant's RLS."""
    result = {}
    with tenant_context(tenant), connection.cursor() as cursor:
        for table in sorted(model._meta.db_table for model in tenant_models()):
            cursor.execute(
                f"SELECT count(*), md5(coalesce(string_agg(row_to_json(t)::text, '' ORDER BY t.id), ''))"
                f' FROM "{table}" t WHERE t.tenant_id = %s',
                [tenant.pk],
            )
            result[table] = cursor.fetchone()
    return result


def delete_tenant(tenant: Tenant) -> None:
    """All of the tenant's rows, then the tenant (memberships and tokens with it)."""
    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for table in tenant_tables():
            cursor.execute(f'DELETE FROM "{table}" WHERE tenant_id = %s', [tenant.pk])
    tenant.delete()


def check_foreign_keys() -> None:
    """Django's foreign keys are checked at commit; a test never commits, so check them now."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def export(tenant: Tenant, tmp_path: Path) -> Path:
    path = tmp_path / f"{tenant.slug}.tar.gz"
    call_command("export_tenant", tenant.slug, output=str(path))
    return path


def test_round_trip_restores_every_row_of_every_table(world, other_world, tmp_path, capsys):
    # given: the tenant as it is, and its archive
    tenant, slug, tenant_id = world.tenant, world.tenant.slug, world.tenant.pk
    before = fingerprints(tenant)
    other_before = fingerprints(other_world.tenant)
    path = export(tenant, tmp_path)
    # when: the tenant is deleted and restored from the archive
    delete_tenant(tenant)
    assert not Tenant.objects.filter(slug=slug).exists()
    call_command("import_tenant", str(path))
    check_foreign_keys()
    # then: every table holds the same rows (same ids, same values), the other tenant is untouched
    restored = Tenant.objects.get(slug=slug)
    assert restored.pk == tenant_id  # its id was free again
    assert fingerprints(restored) == before
    assert fingerprints(other_world.tenant) == other_before
    assert sum(rows for rows, _digest in before.values()) > 60  # a real tenant, not an empty one
    with tenant_context(restored):
        assert Account.objects.get(name="备份 孙公司").parent.name == "备份 控股公司"
        assert Contact.objects.get(name="备份 员工").reports_to.name == "备份 经理"
    assert "tenant backup-src restored" in capsys.readouterr().out


def test_the_archive_holds_only_this_tenants_rows_and_says_what_it_holds(world, other_world, tmp_path):
    path = export(world.tenant, tmp_path)
    manifest = read_manifest(path)
    # the manifest counts each table's rows, and each file has the SHA-256 it claims
    counts = manifest.counts()
    with tenant_context(world.tenant):
        assert counts["accounts_account"] == Account.objects.count() == 4
    assert counts["kam_membership"] == len(Role.values)
    assert counts["kam_tenant"] == 1
    assert {tuple(m) for m in manifest.migrations} >= {("accounts", "0003_account_version")}
    with tarfile.open(path) as archive:
        for name, info in manifest.files.items():
            data = archive.extractfile(name).read()
            assert hashlib.sha256(data).hexdigest() == info["sha256"]
            rows = [json.loads(line) for line in data.decode().splitlines()]
            assert len(rows) == info["rows"]
            if name.startswith("tables/"):
                assert {row["tenant_id"] for row in rows} <= {world.tenant.pk}
        people = [json.loads(line) for line in archive.extractfile("platform/kam_user.jsonl").read().splitlines()]
    # the users are this tenant's people (with their password hashes), nobody of the other tenant
    assert sorted(p["email"] for p in people) == sorted(u.email for u in world.people.values())
    assert all(p["password"] for p in people)
    with tarfile.open(path) as archive:  # the other tenant's marker appears nowhere
        assert all("别家".encode() not in archive.extractfile(name).read() for name in manifest.files)


def test_into_a_database_without_its_users_they_are_created_and_log_in(world, tmp_path):
    # given: the archive, then the tenant and its people gone (as in a fresh database)
    tenant = world.tenant
    emails = {role: user.email for role, user in world.people.items()}
    with tenant_context(tenant):
        owners_before = sorted(Account.objects.values_list("name", "owner__email"))
    path = export(tenant, tmp_path)
    token = world.token
    delete_tenant(tenant)
    User.objects.filter(email__in=emails.values()).delete()
    # when
    call_command("import_tenant", str(path))
    check_foreign_keys()
    # then: the people exist again, with their roles and passwords, and without platform rights
    restored = Tenant.objects.get(slug="backup-src")
    roles = dict(Membership.objects.filter(tenant=restored).values_list("user__email", "role"))
    assert roles == {email: role for role, email in emails.items()}
    assert User.objects.get(email=emails[Role.ADMIN]).check_password(PASSWORD)
    assert not User.objects.filter(email__in=emails.values()).exclude(is_staff=False, is_superuser=False).exists()
    with tenant_context(restored):
        assert sorted(Account.objects.values_list("name", "owner__email")) == owners_before
    # and the integrators' token still works
    response = Client().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert ApiToken.objects.filter(tenant=restored).count() == 1


def test_a_restore_into_a_database_that_uses_its_ids_writes_nothing(world, tmp_path):
    # given: the archive, and the tenant still there under another slug (its ids are taken)
    path = export(world.tenant, tmp_path)
    Tenant.objects.filter(pk=world.tenant.pk).update(slug="backup-renamed")
    tenants_before = Tenant.objects.count()
    users_before = User.objects.count()
    # when
    with pytest.raises(CommandError, match="already uses ids of the archive's rows.*Nothing was written"):
        call_command("import_tenant", str(path))
    # then
    assert Tenant.objects.count() == tenants_before
    assert User.objects.count() == users_before
    assert not Tenant.objects.filter(slug="backup-src").exists()


def test_ids_another_tenant_uses_are_refused_though_the_primary_key_is_per_tenant(world, tmp_path):
    # given: the archive of a tenant without API tokens (whose unique hashes would collide
    # first), and the tenant still there under another slug: its rows' ids are taken, in
    # another tenant now, which the key (tenant_id, id) alone would not refuse
    ApiToken.objects.filter(tenant=world.tenant).delete()
    path = export(world.tenant, tmp_path)
    Tenant.objects.filter(pk=world.tenant.pk).update(slug="backup-renamed")
    tenants_before = Tenant.objects.count()
    # when
    with pytest.raises(CommandError, match="already uses ids of the archive's rows.*Nothing was written"):
        call_command("import_tenant", str(path))
    # then
    assert Tenant.objects.count() == tenants_before


def test_an_existing_slug_a_damaged_archive_and_another_schema_are_refused(world, tmp_path):
    path = export(world.tenant, tmp_path)
    # the tenant exists
    with pytest.raises(CommandError, match="a tenant with slug 'backup-src' exists already"):
        call_command("import_tenant", str(path))
    delete_tenant(world.tenant)
    # a file that does not match its checksum
    damaged = _rewritten(path, tmp_path / "damaged.tar.gz", "tables/accounts_order.jsonl", lambda data: data[:-40])
    with pytest.raises(CommandError, match="accounts_order.jsonl is damaged"):
        call_command("import_tenant", str(damaged))
    # an archive made by another version of the schema
    other = _rewritten(
        path,
        tmp_path / "other.tar.gz",
        "manifest.json",
        lambda data: data.replace(b'"0003_account_version"', b'"0004_from_the_future"'),
    )
    with pytest.raises(CommandError, match="database schema differs.*accounts.0004_from_the_future"):
        call_command("import_tenant", str(other))
    # not an archive at all
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a tar file")
    with pytest.raises(CommandError, match="is not a readable KAM tenant backup"):
        call_command("import_tenant", str(junk))
    assert not Tenant.objects.filter(slug="backup-src").exists()
    # and the intact archive still restores
    call_command("import_tenant", str(path))
    assert Tenant.objects.filter(slug="backup-src").exists()


def test_export_of_an_unknown_tenant_is_refused(db, tmp_path):
    with pytest.raises(CommandError, match="no tenant with slug 'nobody'"):
        call_command("export_tenant", "nobody", output=str(tmp_path / "x.tar.gz"))
    assert not (tmp_path / "x.tar.gz").exists()


def test_every_tenant_owned_table_is_in_the_archive(world, tmp_path):
    """A model added later is carried without anyone remembering to add it; only the derived
    caches bound to the database's transaction ids are left out, and nothing refers to them."""
    manifest = read_manifest(export(world.tenant, tmp_path))
    carried = {info["table"] for info in manifest.files.values()}
    every = {model._meta.db_table: model._meta.label for model in tenant_owned_models()}
    assert {label for table, label in every.items() if table not in carried} <= NOT_CARRIED
    assert carried >= {"kam_tenant", "kam_user", "kam_membership", "kam_apitoken"}
    assert unsupported_references() == []


def _rewritten(source: Path, target: Path, member: str, change) -> Path:
    with tarfile.open(source) as old, tarfile.open(target, "w:gz") as new:
        for info in old.getmembers():
            data = old.extractfile(info).read()
            if info.name == member:
                data = change(data)
                info.size = len(data)
            new.addfile(info, io.BytesIO(data))
    return target
