"""Every SQL statement the test suite sends names its tenant (docs/design.md, section 2).

On a Citus cluster a statement on a tenant table runs on one worker only when it names its
tenant: ``tenant_id = <id>`` for each tenant table it reads or writes, or a join on
``tenant_id`` to a table that does (co-located). One that does not fans out to every shard,
or is refused. This pytest plugin (registered by tests/conftest.py) wraps every database
connection the suite opens, in any thread, records each statement that touches a tenant table
without that filter, with the test that sent it, and fails the session at its end with the
list (each statement once).

The check is a pragmatic parse of the SQL text, not a SQL parser: string literals and comments
are dropped, parentheses that hold a SELECT are scopes of their own (subqueries, CTEs), and
every bare mention of a tenant table name (from the app registry: the subclasses of
``kam.models.TenantOwnedModel``) is a reference, with its alias if one follows. A reference
passes when, in its scope or a subquery of it:

- its alias (or the table's name) is compared with a value: ``"t"."tenant_id" = %s``,
  ``t.tenant_id = 5``; or
- it is joined on ``tenant_id`` to a reference that passes (``a.tenant_id = b.tenant_id``); or
- its scope compares an unqualified ``tenant_id`` with a value (one table per scope has the
  column, or the SQL would be ambiguous); or
- it is the target of an INSERT (the row carries its tenant_id among the values).

``tenant_id IN (...)`` and ``= ANY(...)`` are several tenants: they pass only in a statement
of :data:`ALLOWED`, the documented cross-tenant work.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pytest
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created

# Statements that may touch tenant tables without one tenant's filter, each with why.
#
# No cross-tenant job is on the list, as none reads or writes tenant tables across tenants:
# beat's fan-out (kam.tasks.fan_out) reads the tenants (kam_tenant, a platform table) and
# queues one task per tenant, which runs inside it; the platform's cleanups, the recovery
# sweep and the backup read platform tables or one tenant at a time. A job that must span
# tenants (tenant_id IN (...)) gets its pattern here, with the reason.
ALLOWED: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE | re.DOTALL), reason)
    for pattern, reason in (
        # Row-level security set-up after every migrate (kam/rls.py), as the owner role.
        (r"^\s*ALTER TABLE \S+ (ENABLE|FORCE) ROW LEVEL SECURITY", "RLS set-up"),
        (r"^\s*(DROP|CREATE) POLICY ", "RLS set-up"),
        # pytest-django's flush after each transactional test (the test database only).
        (r"^\s*TRUNCATE ", "the test suite's flush"),
        # Migrations (the test database's, and the tests that migrate): schema changes,
        # Django's deferred constraint checks before them, and the data migrations' DO blocks,
        # which set each tenant themselves.
        # (CREATE TABLE ... AS SELECT is a query like any other: it is checked.)
        (
            r"^\s*(?!CREATE\s+(TEMP\s+|TEMPORARY\s+|UNLOGGED\s+)?TABLE\b[^(]*\bAS\b)(CREATE|ALTER|DROP|COMMENT ON|GRANT|REVOKE)\s",
            "schema change",
        ),
        (r"^\s*SET CONSTRAINTS ", "migration"),
        (r"^\s*DO \$\$", "migration"),
    )
)


# --- the check ----------------------------------------------------------------------------------

_STRING = re.compile(r"[EeBbXxUu]?'(?:[^']|'')*'")
_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)
_SUBQUERY = re.compile(r"\s*\(*\s*(SELECT|WITH)\b", re.IGNORECASE)
_TOKEN = re.compile(r'"([^"]+)"|([A-Za-z_][\w$]*)|(\S)')
# A value (Django puts an expression's in parentheses: "tenant_id" = (%s)).
_VALUE = r"\(?\s*(?:%s|%\(\w+\)s|\$\d+|\d+|'')\s*\)?"
_COLUMN = r'"?([A-Za-z_][\w$]*)"?\s*\.\s*"?tenant_id"?'
# a.tenant_id = %s / 5 / '' (literals are blanked), or a.tenant_id = b.tenant_id
_QUALIFIED = re.compile(rf"{_COLUMN}\s*=\s*(?:{_VALUE}|\(?\s*{_COLUMN})", re.IGNORECASE)
# WHERE / AND / ON / ( tenant_id = %s, the column unqualified: a condition, not the
# assignment of an UPDATE's SET
_UNQUALIFIED = re.compile(rf'(?:\bWHERE|\bAND|\bON|\()\s*"?tenant_id"?\s*=\s*{_VALUE}', re.IGNORECASE)
_NOT_ALIASES = frozenset(
    [
        "all",
        "and",
        "any",
        "as",
        "asc",
        "between",
        "by",
        "cascade",
        "cross",
        "desc",
        "do",
        "else",
        "end",
        "except",
        "fetch",
        "for",
        "from",
        "full",
        "group",
        "having",
        "in",
        "inner",
        "intersect",
        "is",
        "join",
        "lateral",
        "left",
        "like",
        "limit",
        "natural",
        "not",
        "null",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "outer",
        "restart",
        "returning",
        "right",
        "select",
        "set",
        "tablesample",
        "then",
        "union",
        "using",
        "values",
        "when",
        "where",
        "window",
        "with",
    ]
)


@dataclass
class _Scope:
    text: str = ""
    parent: _Scope | None = None
    children: list[_Scope] = field(default_factory=list)

    def descendants(self) -> Iterator[_Scope]:
        yield self
        for child in self.children:
            yield from child.descendants()


@dataclass(frozen=True)
class _Reference:
    table: str
    alias: str
    insert_target: bool


def _scopes(sql: str) -> _Scope:
    """The statement as a tree of scopes: the top level, and each parenthesised SELECT."""
    pairs: dict[int, int] = {}
    stack: list[int] = []
    for index, char in enumerate(sql):
        if char == "(":
            stack.append(index)
        elif char == ")" and stack:
            pairs[stack.pop()] = index

    def fill(scope: _Scope, start: int, end: int) -> str:
        parts: list[str] = []
        position = start
        while position < end:
            opening = sql.find("(", position, end)
            if opening < 0:
                parts.append(sql[position:end])
                break
            parts.append(sql[position:opening])
            closing = pairs.get(opening, end)
            if _SUBQUERY.match(sql, opening + 1, closing):
                child = _Scope(parent=scope)
                scope.children.append(child)
                child.text = fill(child, opening + 1, closing)
                parts.append("(…)")
            else:
                parts.append("(" + fill(scope, opening + 1, closing) + ")")
            position = closing + 1
        return "".join(parts)

    root = _Scope()
    root.text = fill(root, 0, len(sql))
    return root


def _references(text: str, tenant_tables: frozenset[str]) -> list[_Reference]:
    tokens = [(m.group(1) or m.group(2) or m.group(3), m.group(1) is not None) for m in _TOKEN.finditer(text)]
    found = []
    for index, (token, _quoted) in enumerate(tokens):
        if token not in tenant_tables:
            continue
        before = tokens[index - 1][0] if index else ""
        after = tokens[index + 1] if index + 1 < len(tokens) else ("", False)
        if before in (".", ":") or after[0] == ".":
            continue  # a qualified column ("t"."id") or a row type (NULL::"t"), not a table
        alias = token
        if after[0].lower() == "as" and index + 2 < len(tokens):
            after = tokens[index + 2]
        if (after[1] or re.fullmatch(r"[A-Za-z_][\w$]*", after[0])) and after[0].lower() not in _NOT_ALIASES:
            alias = after[0]
        found.append(_Reference(token, alias, before.lower() == "into"))
    return found


def unfiltered_tables(sql: str, tenant_tables: frozenset[str]) -> list[str]:
    """The tenant tables ``sql`` reads or writes without naming one tenant (empty: it passes)."""
    text = _COMMENT.sub(" ", _STRING.sub("''", sql))
    root = _scopes(text)
    references: dict[int, list[_Reference]] = {}
    for scope in root.descendants():
        references[id(scope)] = _references(scope.text, tenant_tables)

    def defined(scope: _Scope | None, alias: str) -> tuple[_Scope, _Reference] | None:
        while scope is not None:
            for reference in references[id(scope)]:
                if reference.alias == alias:
                    return scope, reference
            scope = scope.parent
        return None

    def passes(scope: _Scope, reference: _Reference, seen: frozenset[tuple[int, str]]) -> bool:
        if reference.insert_target or _UNQUALIFIED.search(scope.text):
            return True
        for inner in scope.descendants():
            for match in _QUALIFIED.finditer(inner.text):
                left, right = match.group(1), match.group(2)
                if reference.alias not in (left, right):
                    continue
                other = right if left == reference.alias else left
                if right is None:
                    return True  # compared with a value
                if other == reference.alias or (id(scope), other) in seen:
                    continue
                found = defined(inner, other)
                if found is not None and passes(found[0], found[1], seen | {(id(scope), reference.alias)}):
                    return True
        return False

    return [
        reference.table
        for scope in root.descendants()
        for reference in references[id(scope)]
        if not passes(scope, reference, frozenset())
    ]


def allowed_reason(sql: str) -> str | None:
    for pattern, reason in ALLOWED:
        if pattern.search(sql):
            return reason
    return None


# --- the recorder -------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def tenant_tables() -> frozenset[str]:
    from kam.rls import tenant_tables as registered

    return frozenset(registered())


@lru_cache(maxsize=100_000)
def _offence(sql: str) -> tuple[str, ...]:
    """The unfiltered tenant tables of a statement outside :data:`ALLOWED` (cached: the suite
    sends the same statements many times)."""
    if allowed_reason(sql) is not None:
        return ()
    return tuple(unfiltered_tables(sql, tenant_tables()))


def _normalised(sql: str) -> str:
    """One line, and IN lists of any length alike, so that a statement is listed once."""
    return re.sub(r"\((?:%s, )+%s\)", "(%s, …)", " ".join(sql.split()))


@dataclass
class Offence:
    sql: str
    tables: tuple[str, ...]
    tests: list[str] = field(default_factory=list)


class SqlAudit:
    """The execute wrapper on every connection, and the session's findings."""

    def __init__(self) -> None:
        self.current_test = "(outside a test)"
        self.offences: dict[str, Offence] = {}
        self._lock = threading.Lock()
        # While a test shows what the database does with an unfiltered statement, its
        # statements go to the list it gave instead (see :meth:`expecting`).
        self._expected: list[list[Offence]] = []

    def __call__(self, execute: Callable[..., Any], sql: Any, params: Any, many: bool, context: Any) -> Any:
        if isinstance(sql, str):
            tables = _offence(sql)
            if tables:
                self.record(sql, tables)
        return execute(sql, params, many, context)

    def record(self, sql: str, tables: tuple[str, ...]) -> None:
        with self._lock:
            if self._expected:
                self._expected[-1].append(Offence(sql, tables, [self.current_test]))
                return
            key = _normalised(sql)
            offence = self.offences.setdefault(key, Offence(key, tables))
            if self.current_test not in offence.tests:
                offence.tests.append(self.current_test)

    @contextmanager
    def expecting(self) -> Iterator[list[Offence]]:
        """Collect this block's unfiltered statements in the list yielded instead of failing the
        session: for a test that sends one on purpose (row-level security must still hold)."""
        found: list[Offence] = []
        with self._lock:
            self._expected.append(found)
        try:
            yield found
        finally:
            with self._lock:
                self._expected.remove(found)

    def install(self, connection: BaseDatabaseWrapper) -> None:
        if self not in connection.execute_wrappers:
            connection.execute_wrappers.append(self)

    # pytest hooks (the instance is registered as a plugin)

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        from django.db import connections

        connection_created.connect(self._on_connection_created, weak=False)
        for connection in connections.all(initialized_only=True):
            self.install(connection)

    def _on_connection_created(self, sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
        self.install(connection)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Any:
        self.current_test = item.nodeid
        try:
            return (yield)
        finally:
            self.current_test = "(outside a test)"

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.offences and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.offences:
            return
        terminalreporter.section("SQL without its tenant", red=True)
        terminalreporter.line(
            f"{len(self.offences)} statement(s) touch a tenant table without `tenant_id = <id>` "
            "(tests/sqlaudit.py says what passes):"
        )
        for offence in self.offences.values():
            shown = ", ".join(offence.tests[:3]) + (
                f" and {len(offence.tests) - 3} more" if len(offence.tests) > 3 else ""
            )
            terminalreporter.line("")
            terminalreporter.line(f"tables: {', '.join(sorted(set(offence.tables)))}; sent by {shown}")
            terminalreporter.line(f"  {offence.sql}")


# The one recorder of the session, registered as a plugin by tests/conftest.py.
audit = SqlAudit()
