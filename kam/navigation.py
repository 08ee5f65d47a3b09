"""The main navigation, by role. Each app registers its own entries in AppConfig.ready,
so kam never imports a domain app."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise

from kam.models import Membership, Role


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str | Promise
    url_name: str
    roles: frozenset[str] = field(default_factory=lambda: frozenset(Role.values))
    group: str = "main"  # "main" or "settings"
    order: int = 100


_REGISTRY: dict[str, NavItem] = {}


def register(item: NavItem) -> None:
    _REGISTRY[item.key] = item


def items_for(request: HttpRequest, membership: Membership) -> list[dict]:
    items = []
    for item in sorted(_REGISTRY.values(), key=lambda entry: (entry.group, entry.order)):
        if membership.role not in item.roles:
            continue
        try:
            url = reverse(item.url_name, kwargs={"tenant_slug": membership.tenant.slug})
        except NoReverseMatch:
            continue
        items.append({"key": item.key, "label": item.label, "url": url, "group": item.group, "active": False})
    # The active entry is the one whose URL is the longest prefix of the path (the tenant
    # home only on an exact match), so /scoring/runs/ lights "Score runs", not "Tiers".
    home = reverse("tenant-home", kwargs={"tenant_slug": membership.tenant.slug})
    matches = [
        item
        for item in items
        if request.path == item["url"] or (item["url"] != home and request.path.startswith(item["url"]))
    ]
    if matches:
        max(matches, key=lambda item: len(item["url"]))["active"] = True
    return items


@dataclass(frozen=True)
class HomePanel:
    """A panel of the workspace home page, served by an app: the home page loads the
    page at ``url_name`` with htmx and shows its element ``select`` (a CSS selector)."""

    key: str
    label: str | Promise
    url_name: str
    select: str
    roles: frozenset[str] = field(default_factory=lambda: frozenset(Role.values))
    order: int = 100


_PANELS: dict[str, HomePanel] = {}


def register_panel(panel: HomePanel) -> None:
    _PANELS[panel.key] = panel


def panels_for(membership: Membership) -> list[dict]:
    panels = []
    for panel in sorted(_PANELS.values(), key=lambda entry: entry.order):
        if membership.role not in panel.roles:
            continue
        try:
            url = reverse(panel.url_name, kwargs={"tenant_slug": membership.tenant.slug})
        except NoReverseMatch:
            continue
        panels.append({"key": panel.key, "label": panel.label, "url": url, "select": panel.select})
    return panels


@dataclass(frozen=True)
class TopbarWidget:
    """A small widget of the top bar on every workspace page (the notification bell),
    served by an app: base.html loads the page at ``url_name`` into a slot with htmx on
    load and on the body event ``kam-refresh-<key>`` (an ``HX-Trigger`` header of any
    answer can send it), and polls it every ``refresh_seconds`` (0: never). A poll
    replaces the whole widget, or only the parts ``refresh_select`` names (ids, as for
    hx-select-oob), so a menu the user has open stays open. A ``stylesheet`` (a static
    path) is linked in the page head."""

    key: str
    url_name: str
    roles: frozenset[str] = field(default_factory=lambda: frozenset(Role.values))
    refresh_seconds: int = 60
    refresh_select: str = ""
    stylesheet: str = ""
    order: int = 100


_TOPBAR_WIDGETS: dict[str, TopbarWidget] = {}


def register_topbar_widget(widget: TopbarWidget) -> None:
    _TOPBAR_WIDGETS[widget.key] = widget


def topbar_widgets_for(membership: Membership) -> list[dict]:
    """The member's widgets, resolved like the navigation: those whose URL does not resolve are left out."""
    widgets = []
    for widget in sorted(_TOPBAR_WIDGETS.values(), key=lambda entry: entry.order):
        if membership.role not in widget.roles:
            continue
        try:
            url = reverse(widget.url_name, kwargs={"tenant_slug": membership.tenant.slug})
        except NoReverseMatch:
            continue
        widgets.append(
            {
                "key": widget.key,
                "url": url,
                "refresh_seconds": widget.refresh_seconds,
                "refresh_select": widget.refresh_select,
                "stylesheet": widget.stylesheet,
            }
        )
    return widgets
