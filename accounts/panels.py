"""Panels of the account overview tab, as a registry (the pattern of accounts.tabs).

Another app adds a panel to the account overview without accounts importing it (DESIGN
section 1): it registers in its AppConfig.ready, e.g. growth's figures::

    from accounts.panels import OverviewPanel, register
    register(OverviewPanel("growth-figures", _("Wallet and potential"), "growth-account-figures", order=10))

A panel's URL takes ``tenant_slug`` and ``account_id`` and answers an HTML fragment, which the
overview loads with htmx once it is shown (``hx-trigger="load"``), so that a slow panel never
holds up the account page. The panel's view checks that the member may read the account
(accounts.selectors.account_get: 404 otherwise). Only panels whose URL resolves are shown.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise


@dataclass(frozen=True)
class OverviewPanel:
    key: str
    label: str | Promise
    url_name: str
    order: int = 100


@dataclass(frozen=True)
class ResolvedPanel:
    key: str
    label: str | Promise
    url: str


_REGISTRY: dict[str, OverviewPanel] = {}


def register(panel: OverviewPanel) -> None:
    _REGISTRY[panel.key] = panel


def panels_for(tenant_slug: str, account_id: int) -> list[ResolvedPanel]:
    """The registered panels in order, with their URLs for this account; unresolvable ones left out."""
    resolved = []
    for panel in sorted(_REGISTRY.values(), key=lambda entry: (entry.order, entry.key)):
        try:
            url = reverse(panel.url_name, kwargs={"tenant_slug": tenant_slug, "account_id": account_id})
        except NoReverseMatch:
            continue
        resolved.append(ResolvedPanel(panel.key, panel.label, url))
    return resolved
