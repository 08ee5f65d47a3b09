"""Backup and restore of one tenant: ``manage.py export_tenant`` / ``import_tenant``.

The archive is a ``.tar.gz`` with

- ``manifest.json``: format, the tenant's slug and name, when, the row count and SHA-256 of
  every file, and the schema's migration state (the applied migrations);
- ``platform/<table>.jsonl``: the tenant row, its memberships, its API tokens (their hashes)
  and the users they and the tenant's rows name (e-mail, name, password hash, so that
  people log in after a restore with the passwords they had);
- ``tables/<table>.jsonl``: every tenant-owned table (every ``TenantOwnedModel``), the
  tenant's rows, one JSON object per line as PostgreSQL's ``row_to_json`` writes it;
  except derived caches that hold the source database's transaction ids
  (``NOT_CARRIED``): the next full score run rebuilds them.

Everything is read in one REPEATABLE READ transaction (a consistent snapshot, taken as the
application role under the tenant's row-level security) and streamed with ``COPY``.

A restore writes everything in one transaction, or nothing. The tenant's own rows keep
their ids (ids are also inside JSON values: a concentration snapshot's groups, an alert's
details, the audit log), so they must be free in the target database: an empty database,
or the one the tenant was exported from once the tenant is deleted there. A collision is
refused with a message and nothing written. Platform rows are matched or renumbered:
a user whose e-mail exists already is that user (the stored password stays); new users
get new ids and never platform staff or superuser rights; the tenant and its API tokens
keep their ids when free. Sequences are moved past the restored ids.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from kam.db import analyze_written
from kam.models import ApiToken, Membership, Tenant, TenantOwnedModel, User
from kam.rls import tenant_owned_models
from kam.tenancy import tenant_context

FORMAT = "kam-tenant-backup"
FORMAT_VERSION = 1
# COPY in CSV mode with a quote and a delimiter that JSON text never holds (row_to_json
# escapes every control character): each line is exactly one JSON document, unescaped.
_COPY_OPTIONS = "(FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')"
PLATFORM_MODELS: tuple[type[models.Model], ...] = (Tenant, User, Membership, ApiToken)


class BackupError(Exception):
    """The archive cannot be made or restored; the message says why (nothing was written)."""


@dataclass
class Manifest:
    tenant_slug: str
    tenant_name: str
    exported_at: str
    migrations: list[list[str]]
    files: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "tenant": {"slug": self.tenant_slug, "name": self.tenant_name},
            "exported_at": self.exported_at,
            "migrations": self.migrations,
            "files": self.files,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        if data.get("format") != FORMAT or data.get("version") != FORMAT_VERSION:
            raise BackupError(f"not a KAM tenant backup of format version {FORMAT_VERSION}")
        return cls(
            tenant_slug=data["tenant"]["slug"],
            tenant_name=data["tenant"]["name"],
            exported_at=data["exported_at"],
            migrations=data["migrations"],
            files=data["files"],
        )

    def counts(self) -> dict[str, int]:
        return {info["table"]: info["rows"] for info in self.files.values()}


# --- what a tenant's data is -------------------------------------------------------------------


# Derived caches, not data: bound to the source database's transaction ids (which a
# restored row would compare with this database's), and rebuilt by the next full score run.
# And the jobs' stages (kam.models.TenantStageModel), which never hold a committed row.
NOT_CARRIED = frozenset(
    {
        "scoring.ScoreBasis",
        "scoring.ScoreChange",
        "scoring.ScoreStage",
        "risk.HealthStage",
        "risk.AlertStage",
        "accounts.OrderStage",
        "accounts.InvoiceStage",
    }
)


def tenant_models() -> list[type[models.Model]]:
    """Every tenant-owned model whose rows an archive carries."""
    carried = [model for model in tenant_owned_models() if model._meta.label not in NOT_CARRIED]
    return sorted(carried, key=lambda model: model._meta.db_table)


def _fk_columns(model: type[models.Model], target: type[models.Model]) -> list[str]:
    return [
        f.column for f in model._meta.concrete_fields if f.is_relation and f.related_model is target and f.many_to_one
    ]


def unsupported_references() -> list[str]:
    """Foreign keys from a tenant's rows to models a backup does not carry (must be empty)."""
    carried = set(tenant_models()) | set(PLATFORM_MODELS)
    return [
        f"{model._meta.label}.{f.name} -> {f.related_model._meta.label}"
        for model in [*tenant_models(), Membership, ApiToken]
        for f in model._meta.concrete_fields
        if f.is_relation and f.related_model not in carried
    ]


def _migrations() -> list[list[str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
        return [list(row) for row in cursor.fetchall()]


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


# --- export ------------------------------------------------------------------------------------


def export_tenant(tenant: Tenant, output: Path) -> Manifest:
    """Write ``tenant``'s archive to ``output`` (a .tar.gz) and return its manifest."""
    manifest = Manifest(
        tenant_slug=tenant.slug,
        tenant_name=tenant.name,
        exported_at=timezone.now().isoformat(),
        migrations=_migrations(),
    )
    outermost = not connection.in_atomic_block
    with tempfile.TemporaryDirectory(prefix="kam-export-") as workdir, transaction.atomic():
        if outermost:  # inside a caller's transaction (a test), that transaction is the snapshot
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        parts = Path(workdir)
        with tenant_context(tenant):
            for model in tenant_models():
                table = model._meta.db_table
                _dump(
                    manifest,
                    parts,
                    f"tables/{table}.jsonl",
                    table,
                    f"SELECT * FROM {_quote(table)} WHERE tenant_id = %s",
                    [tenant.pk],
                )
            user_ids = _referenced_users(tenant)
        _dump(
            manifest,
            parts,
            "platform/kam_tenant.jsonl",
            "kam_tenant",
            "SELECT * FROM kam_tenant WHERE id = %s",
            [tenant.pk],
        )
        for model in (Membership, ApiToken):
            table = model._meta.db_table
            _dump(
                manifest,
                parts,
                f"platform/{table}.jsonl",
                table,
                f"SELECT * FROM {_quote(table)} WHERE tenant_id = %s",
                [tenant.pk],
            )
        _dump(
            manifest,
            parts,
            "platform/kam_user.jsonl",
            "kam_user",
            "SELECT * FROM kam_user WHERE id = ANY(%s)",
            [sorted(user_ids)],
        )
        _write_archive(output, parts, manifest)
    return manifest


def _referenced_users(tenant: Tenant) -> set[int]:
    """Every user a row of the tenant names, members included (their memberships are carried)."""
    ids = set(Membership.objects.filter(tenant=tenant).values_list("user_id", flat=True))
    ids |= {pk for pk in ApiToken.objects.filter(tenant=tenant).values_list("created_by_id", flat=True) if pk}
    with connection.cursor() as cursor:
        for model in tenant_models():
            for column in _fk_columns(model, User):
                cursor.execute(
                    f"SELECT DISTINCT {_quote(column)} FROM {_quote(model._meta.db_table)}"
                    f" WHERE tenant_id = %s AND {_quote(column)} IS NOT NULL",
                    [tenant.pk],
                )
                ids |= {row[0] for row in cursor.fetchall()}
    return ids


def _dump(manifest: Manifest, parts: Path, name: str, table: str, select: str, params: list[Any]) -> None:
    """COPY one query's rows, as JSON lines ordered by id, into ``parts/name``."""
    path = parts / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with connection.cursor() as cursor:
        query = cursor.mogrify(f"SELECT row_to_json(t)::text FROM ({select}) t ORDER BY t.id", params).decode()
        with open(path, "wb") as out:
            cursor.cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH {_COPY_OPTIONS}", out)
    digest, rows = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        for line in handle:
            digest.update(line)
            rows += 1
    manifest.files[name] = {"table": table, "rows": rows, "sha256": digest.hexdigest()}


def _write_archive(output: Path, parts: Path, manifest: Manifest) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    with tarfile.open(partial, "w:gz") as archive:
        body = json.dumps(manifest.as_json(), indent=2, ensure_ascii=False).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size, info.mtime = len(body), int(dt.datetime.now(tz=dt.UTC).timestamp())
        archive.addfile(info, io.BytesIO(body))
        for name in manifest.files:
            archive.add(parts / name, arcname=name)
    partial.replace(output)  # never a half-written archive under the final name


# --- import ------------------------------------------------------------------------------------


def read_manifest(path: Path) -> Manifest:
    try:
        with tarfile.open(path, "r:gz") as archive:
            member = archive.extractfile("manifest.json")
            if member is None:
                raise KeyError("manifest.json")
            return Manifest.from_json(json.load(member))
    except (OSError, tarfile.TarError, KeyError, ValueError) as exc:
        raise BackupError(f"{path} is not a readable KAM tenant backup ({exc})") from exc


@dataclass
class Restored:
    tenant: Tenant
    counts: dict[str, int]
    users_created: int
    users_matched: int


def import_tenant(path: Path) -> Restored:
    """Restore the archive at ``path`` into this database: all of it in one transaction, or
    nothing (a BackupError says why)."""
    manifest = read_manifest(path)
    differing = sorted({tuple(m) for m in manifest.migrations} ^ {tuple(m) for m in _migrations()})
    if differing:
        example = ", ".join(".".join(m) for m in differing[:3])
        raise BackupError(
            f"the archive's database schema differs from this database's ({len(differing)} migrations, e.g. "
            f"{example}); run the same version of KAM, migrated, on both sides"
        )
    if Tenant.objects.filter(slug=manifest.tenant_slug).exists():
        raise BackupError(f"a tenant with slug {manifest.tenant_slug!r} exists already in this database")
    try:
        with tarfile.open(path, "r:gz") as archive, transaction.atomic():
            restorer = _Restorer(archive, manifest)
            return restorer.run()
    except IntegrityError as exc:
        raise _ids_taken(str(exc).splitlines()[0]) from exc


def _ids_taken(detail: str) -> BackupError:
    return BackupError(
        "this database already uses ids of the archive's rows (another tenant's data, or the same tenant under "
        "another slug); restore into an empty database, or into the one the tenant was exported from after "
        f"deleting it there. Nothing was written. ({detail})"
    )


class _Restorer:
    """One restore: stages every file in a TEMP table, then inserts set-based."""

    def __init__(self, archive: tarfile.TarFile, manifest: Manifest) -> None:
        self.archive = archive
        self.manifest = manifest
        self.stages: dict[str, str] = {}
        self.tenant_id = 0

    def run(self) -> Restored:
        self._stage_all()
        self.tenant_id = self._restore_tenant()
        created, matched = self._restore_users()
        self._map_ids(ApiToken, "_kam_token_map")
        self._insert(Membership, omit_id=True)
        self._insert(ApiToken, id_map="_kam_token_map")
        tenant = Tenant.objects.get(pk=self.tenant_id)
        self._refuse_taken_ids()
        with tenant_context(tenant):
            for model in tenant_models():
                self._insert(model)
            for model in tenant_models():
                self._link_self_references(model)
            counts = self._check_counts()
            for model in [Tenant, ApiToken, *tenant_models()]:
                self._advance_sequence(model)  # past the restored rows' ids
            analyze_written(counts)
        self._drop_staging()
        return Restored(tenant=tenant, counts=counts, users_created=created, users_matched=matched)

    # -- staging

    def _drop_staging(self) -> None:
        """The TEMP tables go at commit anyway; dropped now for a caller that goes on in the transaction."""
        with connection.cursor() as cursor:
            for table in [*self.stages.values(), "_kam_user_map", "_kam_token_map", "_kam_archive_ids", "_kam_links"]:
                cursor.execute(f"DROP TABLE IF EXISTS {table}")

    def _stage_all(self) -> None:
        for number, (name, info) in enumerate(sorted(self.manifest.files.items())):
            stage = f"_kam_stage_{number}"
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE TEMP TABLE {stage} (line text NOT NULL) ON COMMIT DROP")
                member = self.archive.extractfile(name)
                if member is None:
                    raise BackupError(f"the archive lacks {name}")
                checked = _Checked(member)
                cursor.cursor.copy_expert(f"COPY {stage} (line) FROM STDIN WITH {_COPY_OPTIONS}", checked)
            if checked.digest.hexdigest() != info["sha256"]:
                raise BackupError(f"{name} is damaged (its checksum does not match the manifest)")
            self.stages[info["table"]] = stage

    def _rows(self, table: str) -> str:
        """The staged rows of ``table`` as a relation of its own row type."""
        # LATERAL: ``(json_populate_record(...)).*`` would parse each line once per column.
        return (
            f"(SELECT r.* FROM {self.stages[table]} s,"
            f" LATERAL json_populate_record(NULL::{_quote(table)}, s.line::json) r)"
        )

    # -- platform rows

    def _restore_tenant(self) -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT r.id, EXISTS (SELECT 1 FROM kam_tenant t WHERE t.id = r.id) FROM {self._rows('kam_tenant')} r"
            )
            old_id, taken = cursor.fetchone()
            if taken:
                cursor.execute("SELECT nextval(pg_get_serial_sequence('kam_tenant', 'id'))")
                new_id = cursor.fetchone()[0]
            else:
                new_id = old_id
        self._insert(Tenant, values={"id": str(int(new_id))})
        return int(new_id)

    def _restore_users(self) -> tuple[int, int]:
        """Users by e-mail: the existing one, else a new user (new id, no staff rights)."""
        rows = self._rows("kam_user")
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMP TABLE _kam_user_map ON COMMIT DROP AS"
                f" SELECT r.id AS old, u.id AS new, r.email FROM {rows} r LEFT JOIN kam_user u ON lower(u.email) = lower(r.email)"
            )
            cursor.execute("ALTER TABLE _kam_user_map ADD PRIMARY KEY (old)")
            cursor.execute(
                "SELECT count(*) FILTER (WHERE new IS NULL), count(*) FILTER (WHERE new IS NOT NULL) FROM _kam_user_map"
            )
            created, matched = cursor.fetchone()
            columns = [c for c in self._columns("kam_user") if c != "id"]
            values = {c: f"r.{_quote(c)}" for c in columns} | {"is_staff": "false", "is_superuser": "false"}
            cursor.execute(
                f"INSERT INTO kam_user ({', '.join(map(_quote, columns))})"
                f" SELECT {', '.join(values[c] for c in columns)} FROM {rows} r"
                f" JOIN _kam_user_map m ON m.old = r.id WHERE m.new IS NULL"
            )
            cursor.execute(
                "UPDATE _kam_user_map m SET new = u.id FROM kam_user u WHERE m.new IS NULL AND u.email = m.email"
            )
            cursor.execute("ANALYZE _kam_user_map")  # looked up once per row of every table that names a user
        return created, matched

    def _map_ids(self, model: type[models.Model], map_table: str) -> None:
        """old id -> the same id when free in this database, else a new one from the sequence."""
        table = model._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMP TABLE {map_table} ON COMMIT DROP AS"
                f" SELECT r.id AS old, CASE WHEN EXISTS (SELECT 1 FROM {_quote(table)} x WHERE x.id = r.id)"
                f" THEN nextval(pg_get_serial_sequence('{table}', 'id')) ELSE r.id END AS new"
                f" FROM {self._rows(table)} r"
            )
            cursor.execute(f"ALTER TABLE {map_table} ADD PRIMARY KEY (old)")
            cursor.execute(f"ANALYZE {map_table}")

    def _refuse_taken_ids(self) -> None:
        """The rows' ids must be free in every tenant: ids are unique per table, but a tenant
        table's primary key is (tenant_id, id), which refuses an id taken only within one
        tenant, and row-level security shows one tenant at a time: so each other tenant is
        asked in turn, one statement for all tables (its rows against the archive's ids)."""
        ids = "_kam_archive_ids"
        tables = [model._meta.db_table for model in tenant_models()]
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TEMP TABLE {ids} (tbl text NOT NULL, id bigint NOT NULL) ON COMMIT DROP")
            for table in tables:
                cursor.execute(
                    f"INSERT INTO {ids} SELECT %s, (s.line::json ->> 'id')::bigint FROM {self.stages[table]} s",
                    [table],
                )
            cursor.execute(f"ALTER TABLE {ids} ADD PRIMARY KEY (tbl, id)")
            cursor.execute(f"ANALYZE {ids}")
        probe = " UNION ALL ".join(
            f"(SELECT i.tbl, i.id FROM {_quote(table)} x JOIN {ids} i ON i.tbl = %s AND i.id = x.id"
            " WHERE x.tenant_id = %s LIMIT 1)"
            for table in tables
        )
        for other in Tenant.objects.exclude(pk=self.tenant_id).order_by("pk"):
            with tenant_context(other), connection.cursor() as cursor:
                cursor.execute(probe, [value for table in tables for value in (table, other.pk)])
                taken = cursor.fetchone()
            if taken:
                raise _ids_taken(f"{taken[0]} id {taken[1]}")

    # -- rows

    def _columns(self, table: str) -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute(
                # a generated column is computed again from the row, never written
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name = %s AND is_generated = 'NEVER'"
                " ORDER BY ordinal_position",
                [table],
            )
            return [row[0] for row in cursor.fetchall()]

    def _insert(
        self,
        model: type[models.Model],
        *,
        values: dict[str, str] | None = None,
        omit_id: bool = False,
        id_map: str | None = None,
    ) -> None:
        """INSERT ... SELECT the staged rows, with ids, the tenant and references rewritten."""
        table = model._meta.db_table
        if table not in self.stages:
            raise BackupError(f"the archive has no {table}")
        expressions = {column: f"r.{_quote(column)}" for column in self._columns(table)}
        if omit_id:
            expressions.pop("id")
        if id_map:
            expressions["id"] = f"(SELECT new FROM {id_map} WHERE old = r.id)"
        if "tenant_id" in expressions:
            expressions["tenant_id"] = str(self.tenant_id)
        for column in _fk_columns(model, User):
            expressions[column] = f"(SELECT new FROM _kam_user_map WHERE old = r.{_quote(column)})"
        for column in _fk_columns(model, ApiToken):
            expressions[column] = f"(SELECT new FROM _kam_token_map WHERE old = r.{_quote(column)})"
        for column in _fk_columns(model, model):
            expressions[column] = "NULL"  # set once every row is in (a trigger checks account parents)
        expressions.update(values or {})
        columns = list(expressions)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {_quote(table)} ({', '.join(map(_quote, columns))})"
                f" SELECT {', '.join(expressions[c] for c in columns)} FROM {self._rows(table)} r"
            )

    def _link_self_references(self, model: type[models.Model]) -> None:
        """Parents and bosses, once every row exists (a small table of the links, then one UPDATE)."""
        table = model._meta.db_table
        for column in _fk_columns(model, model):
            with connection.cursor() as cursor:
                cursor.execute("DROP TABLE IF EXISTS _kam_links")
                cursor.execute(
                    f"CREATE TEMP TABLE _kam_links ON COMMIT DROP AS SELECT r.id, r.{_quote(column)} AS target"
                    f" FROM {self._rows(table)} r WHERE r.{_quote(column)} IS NOT NULL"
                )
                cursor.execute("ANALYZE _kam_links")  # else the planner guesses its size: a nested loop
                cursor.execute(
                    f"UPDATE {_quote(table)} x SET {_quote(column)} = l.target FROM _kam_links l"
                    f" WHERE x.id = l.id AND x.tenant_id = %s",
                    [self.tenant_id],
                )

    def _check_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        with connection.cursor() as cursor:
            for model in tenant_models():
                table = model._meta.db_table
                cursor.execute(f"SELECT count(*) FROM {_quote(table)} WHERE tenant_id = %s", [self.tenant_id])
                counts[table] = cursor.fetchone()[0]
        expected = {table: rows for table, rows in self.manifest.counts().items() if table in counts}
        if counts != expected:
            wrong = sorted(t for t in counts if counts[t] != expected.get(t))
            raise BackupError(f"restored row counts differ from the archive's in {', '.join(wrong)}")
        return counts

    def _advance_sequence(self, model: type[models.Model]) -> None:
        """Past the restored ids, never back: the next row made here gets a new id."""
        table = _quote(model._meta.db_table)
        # A tenant table's restored rows are the tenant's (every statement on one names it).
        mine = " WHERE tenant_id = %s" if issubclass(model, TenantOwnedModel) else ""
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [model._meta.db_table])
            sequence = cursor.fetchone()[0]
            cursor.execute(f"SELECT max(id) FROM {table}{mine}", [self.tenant_id] if mine else None)
            top = cursor.fetchone()[0]
            if sequence and top:
                cursor.execute(f"SELECT last_value, is_called FROM {sequence}")
                last_value, is_called = cursor.fetchone()
                if last_value < top or not is_called:
                    cursor.execute("SELECT setval(%s, %s)", [sequence, max(top, last_value)])


class _Checked(io.RawIOBase):
    """A file that hashes what is read through it (COPY reads the archive member once)."""

    def __init__(self, source: IO[bytes]) -> None:
        self.source = source
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self.source.read(size)
        self.digest.update(chunk)
        return chunk

    def readinto(self, buffer: Any) -> int:
        chunk = self.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def archive_members(path: Path) -> Iterator[str]:
    with tarfile.open(path, "r:gz") as archive:
        yield from archive.getnames()
