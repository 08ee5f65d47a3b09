"""What every importer shares: the tenant's accounts by credit code and by name, the accounts
the importing member may write, one cell parsed with its error recorded, the account a row
names. The importers themselves are in graph.py (accounts, contacts) and staged.py (orders,
invoices)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils.translation import gettext as _

from accounts.access import WRITE_ALL, writable_accounts
from accounts.imports.cells import normalize_code, parse_text
from accounts.imports.columns import HeaderMap
from accounts.imports.errors import CellError, ErrorLog
from accounts.models import Account
from kam.models import Membership, Tenant

AMBIGUOUS = -1  # a name that several records carry


class AccountIndex:
    """The tenant's accounts by credit code and by name, loaded once per import."""

    def __init__(self, tenant: Tenant) -> None:
        self.by_code: dict[str, int] = {}
        self.by_name: dict[str, int] = {}
        self.parent_of: dict[int, int | None] = {}
        self.name_of: dict[int, str] = {}
        self.code_of: dict[int, str] = {}
        rows = Account.objects.values_list("id", "name", "credit_code", "parent_id")
        for pk, name, code, parent_id in rows.iterator(chunk_size=5000):
            if code:
                self.by_code[code] = pk
            self.by_name[name] = AMBIGUOUS if name in self.by_name else pk
            self.parent_of[pk] = parent_id
            self.name_of[pk] = name
            self.code_of[pk] = code

    def find(self, text: str) -> int | None:
        """An account id, AMBIGUOUS, or None: a credit code first, then the exact name."""
        if len(text) >= 18:
            pk = self.by_code.get(normalize_code(text))
            if pk is not None:
                return pk
        return self.by_name.get(text)


def _writable_ids(tenant: Tenant, membership: Membership | None) -> set[int] | None:
    """None when every account may be written (admin, director, API token, command)."""
    if membership is None or membership.role in WRITE_ALL:
        return None
    return set(writable_accounts(tenant, membership).values_list("id", flat=True))


INVALID = object()  # what Importer.cell returns for a value it recorded an error for


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


class Importer:
    kind: str = ""
    model: type[models.Model]

    def __init__(
        self,
        tenant: Tenant,
        *,
        header: HeaderMap,
        errors: ErrorLog,
        membership: Membership | None,
    ) -> None:
        self.tenant = tenant
        self.header = header
        self.errors = errors
        self.membership = membership
        self.writable = _writable_ids(tenant, membership)
        self.accounts = AccountIndex(tenant)
        # Account cells already resolved (and writable): the fast path of orders looks here first.
        self.known_accounts: dict[str, int] = {}

    # One cell: its raw value, parsed; an error is recorded and INVALID returned.
    def cell(
        self, row: int, cells: Sequence[Any], name: str, parse: Callable[..., Any], *args: Any, required: bool = False
    ) -> Any:
        index = self.header.positions.get(name)
        raw = cells[index] if index is not None and index < len(cells) else None
        try:
            value = parse(raw, *args)
        except CellError as exc:
            self.errors.add(row, self.header.written[name], exc.message)
            return INVALID
        if required and (value is None or value == ""):
            self.errors.add(row, self.header.written[name], _("This value is required."))
            return INVALID
        return value

    def has(self, name: str) -> bool:
        return name in self.header.positions

    def error(self, row: int, name: str, message: str) -> None:
        self.errors.add(row, self.header.written.get(name, ""), message)

    def account_of(self, row: int, cells: Sequence[Any]) -> int | None:
        """The account a contact, order or invoice row names, or None after recording why not."""
        text = self.cell(row, cells, "account", parse_text, 200, required=True)
        if text is INVALID:
            return None
        pk = self.accounts.find(text)
        if pk is None:
            self.error(
                row,
                "account",
                _("No account “%(value)s” in this workspace (looked up by unified social credit code and by name).")
                % {"value": text},
            )
            return None
        if pk == AMBIGUOUS:
            self.error(
                row,
                "account",
                _("Several accounts are called “%(value)s”; use the unified social credit code instead.")
                % {"value": text},
            )
            return None
        if self.writable is not None and pk not in self.writable:
            self.error(row, "account", _("You may not write this account."))
            return None
        self.known_accounts[text] = pk
        return pk

    def add_row(self, row: int, cells: Sequence[Any]) -> None:
        raise NotImplementedError

    def check(self) -> None:
        """Checks across rows, once every row was read (may use the database, never writes to it)."""

    def write(self) -> Counts:
        raise NotImplementedError

    def close(self) -> None:
        pass
