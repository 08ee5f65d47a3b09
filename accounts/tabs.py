"""The tabs of the account page, as a registry (the pattern of kam.navigation).

The account page is a frame: accounts registers its own tabs below, and scoring,
teams and risk register theirs ("score", "team", "risk") in their AppConfig.ready,
so accounts never imports them (DESIGN section 1)::

    from accounts.tabs import AccountTab, register
    register(AccountTab("score", _("Score"), "scoring-account-tab", order=15))

A tab's URL takes ``tenant_slug`` and ``account_id`` and answers the tab's content as
an HTML fragment: to htmx when the tab is clicked, and to the account page itself,
which embeds the selected tab when the page is opened with ``?tab=<key>``. A tab
view tells the two apart from a plain visit with :func:`is_tab_request`; a plain
visit should be sent to :func:`page_url` instead (the fragment has no layout).
Only tabs whose URL resolves are shown, so a tab can be registered before its app
serves it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

# Set on the request while the account page renders a tab inside itself.
EMBED_ATTRIBUTE = "account_tab_embedded"


@dataclass(frozen=True)
class AccountTab:
    key: str
    label: str | Promise
    url_name: str
    order: int = 100


@dataclass(frozen=True)
class ResolvedTab:
    key: str
    label: str | Promise
    url: str  # the fragment
    page_url: str  # the account page with this tab selected


_REGISTRY: dict[str, AccountTab] = {}


def register(tab: AccountTab) -> None:
    _REGISTRY[tab.key] = tab


def tabs_for(tenant_slug: str, account_id: int) -> list[ResolvedTab]:
    """The registered tabs in order, with their URLs for this account; unresolvable ones left out."""
    resolved = []
    for tab in sorted(_REGISTRY.values(), key=lambda entry: (entry.order, entry.key)):
        try:
            url = reverse(tab.url_name, kwargs={"tenant_slug": tenant_slug, "account_id": account_id})
        except NoReverseMatch:
            continue
        resolved.append(ResolvedTab(tab.key, tab.label, url, page_url(tenant_slug, account_id, tab.key)))
    return resolved


def page_url(tenant_slug: str, account_id: int, key: str, **params: str) -> str:
    """The account page with the tab ``key`` selected (and extra query parameters, e.g. page)."""
    base = reverse("accounts-detail", kwargs={"tenant_slug": tenant_slug, "account_id": account_id})
    return f"{base}?{urlencode({'tab': key, **{k: v for k, v in params.items() if v}})}"


def is_tab_request(request: HttpRequest) -> bool:
    """True when the fragment is wanted: an htmx request, or the account page embedding the tab."""
    return bool(getattr(request, "htmx", False)) or getattr(request, EMBED_ATTRIBUTE, False)


# --- the tabs of this app -------------------------------------------------------------------------

register(AccountTab("overview", _("Overview"), "accounts-tab-overview", order=10))
register(AccountTab("contacts", _("Contacts"), "accounts-tab-contacts", order=20))
register(AccountTab("orders", _("Orders"), "accounts-tab-orders", order=30))
register(AccountTab("invoices", _("Invoices"), "accounts-tab-invoices", order=40))
register(AccountTab("timeline", _("Timeline"), "accounts-tab-timeline", order=50))
register(AccountTab("contracts", _("Contracts"), "accounts-tab-contracts", order=60))
register(AccountTab("group", _("Group"), "accounts-tab-group", order=70))
