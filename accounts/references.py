"""Codes an order names that another app owns: its offering and its buying centre (DESIGN
section 12). accounts keeps them as plain codes and imports no other domain app, so the app
that owns them registers a checker here (growth, in its AppConfig.ready); the order import,
the API and the services ask it which codes do not exist. With no checker registered, every
code is accepted as written.

A checker is set-based: it gets all the distinct values of a batch at once and answers the
unknown ones, so a file of a million orders is one question per kind, not one per row::

    register(OFFERING, lambda tenant, codes: {...})  # codes: set[str]
    register(BUYING_CENTRE, lambda tenant, pairs: {...})  # pairs: set[(account_id, code)]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from kam.models import Tenant

OFFERING = "offering"
BUYING_CENTRE = "buying_centre"

Checker = Callable[["Tenant", set[Any]], set[Any]]
_checkers: dict[str, Checker] = {}


def register(kind: str, checker: Checker) -> None:
    _checkers[kind] = checker


def unregister(kind: str) -> None:
    _checkers.pop(kind, None)


def is_checked(kind: str) -> bool:
    return kind in _checkers


def unknown(tenant: Tenant, kind: str, values: Iterable[Any]) -> set[Any]:
    """The values of ``kind`` that do not exist in the tenant (none when nobody checks it)."""
    checker = _checkers.get(kind)
    wanted = {value for value in values if value}
    if checker is None or not wanted:
        return set()
    return set(checker(tenant, wanted))


def unknown_offering_message(code: str) -> str:
    return _("No offering with the code “%(code)s” in this workspace.") % {"code": code}


def unknown_centre_message(code: str) -> str:
    return _("The account has no buying centre with the code “%(code)s”.") % {"code": code}


def order_reference_errors(tenant: Tenant, rows: Sequence[Mapping[str, Any]]) -> dict[int, dict[str, list[str]]]:
    """Field errors of orders by their index: an offering code or a buying centre code (of the
    order's account) that does not exist. ``rows`` have ``account`` (an id or an Account),
    ``offering`` and ``buying_centre`` (codes, "" or missing when none)."""

    def account_id(row: Mapping[str, Any]) -> Any:
        account = row.get("account")
        return getattr(account, "pk", account)

    offerings = unknown(tenant, OFFERING, (row.get("offering") or "" for row in rows))
    centres = unknown(
        tenant,
        BUYING_CENTRE,
        ((account_id(row), row["buying_centre"]) for row in rows if row.get("buying_centre") and account_id(row)),
    )
    errors: dict[int, dict[str, list[str]]] = {}
    for index, row in enumerate(rows):
        code = row.get("offering") or ""
        if code and code in offerings:
            errors.setdefault(index, {})["offering"] = [unknown_offering_message(code)]
        centre = row.get("buying_centre") or ""
        if centre and (account_id(row), centre) in centres:
            errors.setdefault(index, {})["buying_centre"] = [unknown_centre_message(centre)]
    return errors
