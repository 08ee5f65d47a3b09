"""Accounts and contacts: rows that refer to each other inside the file (an account's parent,
a contact's reports_to), so they are kept in memory and checked as a graph, cycles included,
before one bulk create and update writes them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.imports.base import AMBIGUOUS, INVALID, Counts, Importer
from accounts.imports.cells import normalize_code, parse_choice, parse_credit_code, parse_date, parse_email, parse_text
from accounts.models import (
    Account,
    AccountStatus,
    Attitude,
    BuyingRole,
    Contact,
    ContactLevel,
    ImportKind,
)
from kam.models import Membership, Role


@dataclass
class GraphRow:
    row: int
    values: dict[str, Any]  # the fields given (empty cells left out)
    key: str = ""  # credit code or name (accounts); name (contacts)
    account_id: int | None = None  # contacts
    target: int | None = None  # the existing record it updates
    ref_text: str = ""  # parent (accounts) or reports_to (contacts) as written
    ref_node: int | None = None  # resolved: an existing id, or -(index + 1) for a row of this file


class GraphImporter(Importer):
    """The rows of the file as a graph: each row is a node (its target's id, or a negative
    number while it has none), each reference an edge to another node."""

    model: type[Account | Contact]
    ref_field: str = ""  # the foreign key to a record of the same model: "parent", "reports_to"
    # True when a database trigger refuses a cycle on every UPDATE: the references that change
    # are then cleared first and set after, so that no intermediate state looks like a cycle.
    ref_checked_by_trigger = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.items: list[GraphRow] = []

    def add_item(self, row: int, values: dict[str, Any], ref: Any, *, account_id: int | None = None) -> GraphRow:
        """A row of the file with the values it gives (blank and invalid cells left out)."""
        item = GraphRow(
            row=row,
            values={key: value for key, value in values.items() if value not in (None, "", INVALID)},
            account_id=account_id,
            ref_text="" if ref is INVALID else ref,
        )
        self.items.append(item)
        return item

    def node(self, index: int) -> int:
        item = self.items[index]
        return item.target if item.target is not None else -(index + 1)

    def refer(self, index: int, node: int, own_message: str) -> None:
        """Row ``index`` refers to ``node``; to itself is an error."""
        item = self.items[index]
        if node == self.node(index):
            self.error(item.row, self.ref_field, own_message)
            item.ref_node = None
        else:
            item.ref_node = node

    def find_cycles(self, up_of: dict[int, int | None], names: dict[int, str], message: str) -> None:
        """A row error for every file row whose chain of references (stored ones, as the file
        changes them) comes back to it. ``message`` takes the path as ``%(path)s``."""
        up_of, names = dict(up_of), dict(names)
        for index, item in enumerate(self.items):
            node = self.node(index)
            names[node] = item.values.get("name") or names.get(node, "?")
            if item.ref_node is not None:
                up_of[node] = item.ref_node
            elif node < 0:
                up_of[node] = None
        for index, item in enumerate(self.items):
            if item.ref_node is None:
                continue
            start = self.node(index)
            path = [start]
            current = up_of.get(start)
            while current is not None and current not in path[1:] and len(path) <= len(up_of) + 1:
                path.append(current)
                if current == start:
                    shown = " → ".join(names.get(node, "?") for node in path)
                    self.error(item.row, self.ref_field, message % {"path": shown})
                    break
                current = up_of.get(current)

    def new_record(self, item: GraphRow) -> Account | Contact:
        """The unsaved record a row without a target creates."""
        raise NotImplementedError

    def write_graph(self) -> tuple[Counts, list[Any]]:
        """Create the new rows, update the changed fields of the others, then set the references
        once every record has an id. Returns the counts and the existing records it changed."""
        model = self.model
        now = timezone.now()
        existing = model.objects.in_bulk([item.target for item in self.items if item.target is not None])
        to_create: list[tuple[int, Any]] = []
        changed: dict[int, Any] = {}
        fields: set[str] = set()
        for index, item in enumerate(self.items):
            if item.target is None:
                to_create.append((index, self.new_record(item)))
                continue
            record = existing[item.target]
            for name, value in item.values.items():
                if getattr(record, name) != value:
                    setattr(record, name, value)
                    fields.add(name)
                    changed[index] = record
        model.objects.bulk_create([record for _index, record in to_create], batch_size=1000)
        created = dict(to_create)
        if fields:
            for record in changed.values():
                record.updated_at = now
            model.objects.bulk_update(list(changed.values()), [*sorted(fields), "updated_at"], batch_size=500)

        ref_id = f"{self.ref_field}_id"
        moving: list[tuple[int, Any, int]] = []
        for index, item in enumerate(self.items):
            if item.ref_node is None:
                continue
            record = created.get(index) or existing[item.target]
            target_id = item.ref_node if item.ref_node > 0 else created[-item.ref_node - 1].pk
            if getattr(record, ref_id) != target_id:
                moving.append((index, record, target_id))
        if self.ref_checked_by_trigger:
            clearing = [record for _index, record, _target in moving if getattr(record, ref_id) is not None]
            for record in clearing:
                setattr(record, ref_id, None)
            model.objects.bulk_update(clearing, [self.ref_field], batch_size=500)
        for index, record, target_id in moving:
            setattr(record, ref_id, target_id)
            record.updated_at = now
            if index not in created:
                changed[index] = record
        model.objects.bulk_update(
            [record for _index, record, _target in moving], [self.ref_field, "updated_at"], batch_size=500
        )
        counts = Counts(created=len(created), updated=len(changed))
        counts.unchanged = len(self.items) - counts.created - counts.updated
        return counts, list(changed.values())


class AccountImporter(GraphImporter):
    kind = ImportKind.ACCOUNTS
    model = Account
    ref_field = "parent"
    ref_checked_by_trigger = True  # accounts_account_parent_check (migration 0002_rules)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        members = Membership.objects.filter(tenant=self.tenant, is_active=True, user__is_active=True)
        self.members = {email.lower(): pk for email, pk in members.values_list("user__email", "user_id")}
        # A manager's new accounts are theirs unless the file names an owner.
        membership = self.membership
        self.default_owner = membership.user_id if membership is not None and membership.role == Role.MANAGER else None

    def add_row(self, row: int, cells: Sequence[Any]) -> None:
        values: dict[str, Any] = {}
        name = self.cell(row, cells, "name", parse_text, 200, required=True)
        values["name"] = name
        for field_name, limit in (("legal_name", 200), ("industry", 100), ("region", 100), ("notes", None)):
            if self.has(field_name):
                values[field_name] = self.cell(row, cells, field_name, parse_text, limit)
        if self.has("credit_code"):
            values["credit_code"] = self.cell(row, cells, "credit_code", parse_credit_code)
        if self.has("status"):
            values["status"] = self.cell(row, cells, "status", parse_choice, AccountStatus)
        if self.has("cooperation_since"):
            values["cooperation_since"] = self.cell(row, cells, "cooperation_since", parse_date)
        if self.has("owner"):
            email = self.cell(row, cells, "owner", parse_text, 254)
            if email not in (INVALID, ""):
                owner_id = self.members.get(email.lower())
                if owner_id is None:
                    self.error(
                        row,
                        "owner",
                        _("No active member of this workspace has the e-mail address “%(value)s”.") % {"value": email},
                    )
                values["owner_id"] = owner_id
        parent = self.cell(row, cells, "parent", parse_text, 200) if self.has("parent") else ""
        item = self.add_item(row, values, parent)
        item.key = item.values.get("credit_code") or item.values.get("name", "")

    def check(self) -> None:
        self._find_duplicates_and_targets()
        self._resolve_parents()
        self.find_cycles(
            self.accounts.parent_of,
            self.accounts.name_of,
            _("This parent would make a cycle in the group hierarchy: %(path)s."),
        )

    def _find_duplicates_and_targets(self) -> None:
        seen_code: dict[str, int] = {}
        seen_name: dict[str, int] = {}
        seen_target: dict[int, int] = {}
        for item in self.items:
            if "name" not in item.values:
                continue
            code, name = item.values.get("credit_code", ""), item.values["name"]
            if code:
                if code in seen_code:
                    self.error(
                        item.row,
                        "credit_code",
                        _("The unified social credit code %(value)s appears already in row %(row)s.")
                        % {"value": code, "row": seen_code[code]},
                    )
                    continue
                seen_code[code] = item.row
                target = self.accounts.by_code.get(code)
                if target is None:
                    # A known account without a code yet gets it: matched by its exact name.
                    by_name = self.accounts.by_name.get(name)
                    if by_name not in (None, AMBIGUOUS) and not self.accounts.code_of[by_name]:
                        target = by_name
            else:
                if name in seen_name:
                    self.error(
                        item.row,
                        "name",
                        _("The account “%(value)s” appears already in row %(row)s.")
                        % {"value": name, "row": seen_name[name]},
                    )
                    continue
                seen_name[name] = item.row
                target = self.accounts.by_name.get(name)
                if target == AMBIGUOUS:
                    self.error(
                        item.row,
                        "name",
                        _("Several accounts are called “%(value)s”; add the unified social credit code to choose one.")
                        % {"value": name},
                    )
                    continue
            if target is not None:
                if target in seen_target:
                    self.error(
                        item.row,
                        "name",
                        _("This row and row %(row)s would both update the account “%(value)s”.")
                        % {"row": seen_target[target], "value": self.accounts.name_of[target]},
                    )
                    continue
                seen_target[target] = item.row
                if self.writable is not None and target not in self.writable:
                    self.error(item.row, "name", _("You may not write this account."))
                    continue
            item.target = target

    def _resolve_parents(self) -> None:
        in_file_code: dict[str, int] = {}
        in_file_name: dict[str, int] = {}
        for index, item in enumerate(self.items):
            if "credit_code" in item.values:
                in_file_code[item.values["credit_code"]] = index
            if "name" in item.values:
                name = item.values["name"]
                in_file_name[name] = AMBIGUOUS if name in in_file_name else index
        for index, item in enumerate(self.items):
            text = item.ref_text
            if not text:
                continue
            found = in_file_code.get(normalize_code(text)) if len(text) >= 18 else None
            if found is None:
                found = in_file_name.get(text)
            if found == AMBIGUOUS:
                self.error(
                    item.row,
                    "parent",
                    _("Several rows of this file are called “%(value)s”; use the unified social credit code.")
                    % {"value": text},
                )
                continue
            if found is None:
                found_node = self.accounts.find(text)
                if found_node == AMBIGUOUS:
                    self.error(
                        item.row,
                        "parent",
                        _("Several accounts are called “%(value)s”; use the unified social credit code instead.")
                        % {"value": text},
                    )
                    continue
                if found_node is None:
                    self.error(
                        item.row,
                        "parent",
                        _("No account “%(value)s” in this file or in this workspace.") % {"value": text},
                    )
                    continue
            else:
                found_node = self.node(found)
            self.refer(index, found_node, _("An account cannot be its own parent."))

    def new_record(self, item: GraphRow) -> Account:
        return Account(tenant=self.tenant, **{"owner_id": self.default_owner, **item.values})

    def write(self) -> Counts:
        counts, updated = self.write_graph()
        # An account form opened before the import must notice it (the version check of
        # accounts.services), not write the import's changes back over.
        Account.objects.filter(pk__in=[account.pk for account in updated]).update(version=F("version") + 1)
        return counts


class ContactImporter(GraphImporter):
    kind = ImportKind.CONTACTS
    model = Contact
    ref_field = "reports_to"

    def add_row(self, row: int, cells: Sequence[Any]) -> None:
        account_id = self.account_of(row, cells)
        values: dict[str, Any] = {"name": self.cell(row, cells, "name", parse_text, 100, required=True)}
        for field_name, limit in (("title", 100), ("department", 100), ("phone", 40)):
            if self.has(field_name):
                values[field_name] = self.cell(row, cells, field_name, parse_text, limit)
        for field_name, choices in (("level", ContactLevel), ("buying_role", BuyingRole), ("attitude", Attitude)):
            if self.has(field_name):
                values[field_name] = self.cell(row, cells, field_name, parse_choice, choices)
        if self.has("email"):
            values["email"] = self.cell(row, cells, "email", parse_email)
        if self.has("left_on"):
            values["left_on"] = self.cell(row, cells, "left_on", parse_date)
        boss = self.cell(row, cells, "reports_to", parse_text, 100) if self.has("reports_to") else ""
        item = self.add_item(row, values, boss, account_id=account_id)
        item.key = item.values.get("name", "")

    def check(self) -> None:
        account_ids = {item.account_id for item in self.items if item.account_id is not None}
        existing: dict[tuple[int, str], int] = {}
        boss_of: dict[int, int | None] = {}
        names: dict[int, str] = {}
        rows = Contact.objects.filter(account_id__in=account_ids).values_list(
            "id", "account_id", "name", "reports_to_id"
        )
        for pk, account_id, name, boss_id in rows.iterator(chunk_size=5000):
            key = (account_id, name)
            existing[key] = AMBIGUOUS if key in existing else pk
            boss_of[pk] = boss_id
            names[pk] = name
        in_file: dict[tuple[int, str], int] = {}
        for index, item in enumerate(self.items):
            if item.account_id is None or not item.key:
                continue
            key = (item.account_id, item.key)
            if key in in_file:
                self.error(
                    item.row,
                    "name",
                    _("The contact “%(value)s” at this account appears already in row %(row)s.")
                    % {"value": item.key, "row": self.items[in_file[key]].row},
                )
                continue
            in_file[key] = index
            target = existing.get(key)
            if target == AMBIGUOUS:
                self.error(
                    item.row,
                    "name",
                    _("Several contacts at this account are called “%(value)s”.") % {"value": item.key},
                )
                continue
            item.target = target
        for index, item in enumerate(self.items):
            if not item.ref_text or item.account_id is None:
                continue
            key = (item.account_id, item.ref_text)
            if key in in_file:
                found = self.node(in_file[key])
            elif existing.get(key) not in (None, AMBIGUOUS):
                found = existing[key]
            else:
                message = (
                    _("Several contacts at this account are called “%(value)s”.")
                    if existing.get(key) == AMBIGUOUS
                    else _("No contact “%(value)s” at this account, in this file or in this workspace.")
                )
                self.error(item.row, "reports_to", message % {"value": item.ref_text})
                continue
            self.refer(index, found, _("A contact cannot report to themselves."))
        self.find_cycles(boss_of, names, _("This would make a loop in the org chart: %(path)s."))

    def new_record(self, item: GraphRow) -> Contact:
        return Contact(tenant=self.tenant, account_id=item.account_id, **item.values)

    def write(self) -> Counts:
        return self.write_graph()[0]
