"""Which page a role gets as its workspace home, as a registry (the pattern of kam.navigation).

An app registers a page by URL name for some roles in its AppConfig.ready (the dashboards
register the executive dashboard for directors and executives, the account manager home
for managers and members), so kam never imports a domain app. ``tenant_home`` renders the
registered page in place, at /t/<slug>/, so the URL stays the workspace's and "Home" stays
the active navigation entry; a role without a registered home keeps the panel home.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.urls import NoReverseMatch, Resolver404, resolve, reverse

from kam.models import Membership


@dataclass(frozen=True)
class Home:
    url_name: str
    roles: frozenset[str]


_HOMES: list[Home] = []


def register_home(url_name: str, roles: Iterable[str]) -> None:
    """The page at ``url_name`` (a tenant page: it takes ``tenant_slug``) becomes the home of
    ``roles``. A later registration for a role wins over an earlier one."""
    home = Home(url_name, frozenset(roles))
    if home not in _HOMES:
        _HOMES.append(home)


def unregister_home(url_name: str) -> None:
    """Forget every registration of ``url_name`` (tests)."""
    _HOMES[:] = [home for home in _HOMES if home.url_name != url_name]


def home_view_for(membership: Membership) -> tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]] | None:
    """The view, args and kwargs of the member's registered home, or None (the panel home).

    A registration whose URL does not resolve is skipped, like a navigation entry.
    """
    for home in reversed(_HOMES):
        if membership.role not in home.roles:
            continue
        try:
            match = resolve(reverse(home.url_name, kwargs={"tenant_slug": membership.tenant.slug}))
        except (NoReverseMatch, Resolver404):
            continue
        return match.func, match.args, match.kwargs
    return None
