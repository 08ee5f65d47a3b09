"""Risk pages: in-app notifications (the bell in the top bar, and the list of them all).

A notification belongs to one user in one tenant: every read goes through
``selectors.notification_list(tenant, user)``, so nobody reaches another person's or
another workspace's (404). The bell is a top bar widget (kam/navigation.py, registered in
risk/apps.py) that base.html loads with htmx; answers that change the unread count send
the ``kam-refresh-risk-bell`` event so the bell follows.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import reswap, retarget, trigger_client_event

from kam.pages import is_partial
from kam.permissions import tenant_view
from kam.tenancy import get_object_for_tenant
from risk import selectors, services
from risk.forms import posted_id
from risk.models import Notification
from risk.notifications import alert_summary, notification_title

PAGE_SIZE = 50
# Notifications the bell's menu lists; the page lists them all.
BELL_SIZE = 8
# The body event that makes base.html reload the bell's slot.
BELL_REFRESH_EVENT = "kam-refresh-risk-bell"


def _page_url(request: HttpRequest, *, unread_only: bool = False) -> str:
    url = reverse("risk-notifications", kwargs={"tenant_slug": request.tenant.slug})
    return f"{url}?unread=1" if unread_only else url


def _in_reader_language(notifications: list[Notification]) -> list[Notification]:
    """Each notification's title and text as the reader's language says them: those about an
    alert are said again from the alert (they were written in the language of the run that
    made them); the others as stored."""
    for notification in notifications:
        alert = notification.alert
        if alert is None:
            notification.display_title, notification.display_body = notification.title, notification.body
            continue
        notification.display_title = notification_title(notification.kind.removeprefix("alert."), alert)
        notification.display_body = alert_summary(alert.kind, alert.details)
    return notifications


def _notifications(request: HttpRequest) -> Any:
    return selectors.notification_list(request.tenant, request.user).select_related("alert__account")


# --- the bell ------------------------------------------------------------------------------------


def _bell_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    return {
        "unread": selectors.notification_count_unread(request.tenant, request.user),
        "latest": _in_reader_language(list(_notifications(request)[:BELL_SIZE])),
        **extra,
    }


@tenant_view()
@require_GET
@never_cache
def bell(request: HttpRequest) -> HttpResponse:
    """The bell's slot in the top bar: the unread count and the latest notifications."""
    if not request.htmx:
        return redirect(_page_url(request))
    return render(request, "risk/_bell.html", _bell_context(request))


# --- the page ------------------------------------------------------------------------------------


def _page_context(request: HttpRequest, *, unread_only: bool, page_number: Any = None, **extra: Any) -> dict[str, Any]:
    notifications = _notifications(request)
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    page = Paginator(notifications, PAGE_SIZE).get_page(page_number)
    page.object_list = _in_reader_language(list(page.object_list))
    return {
        "page": page,
        "unread_only": unread_only,
        "unread": selectors.notification_count_unread(request.tenant, request.user),
        "query": "unread=1" if unread_only else "",
        **extra,
    }


@tenant_view()
@require_GET
@vary_on_headers("HX-Request")
def notifications_page(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("unread") == "1"
    context = _page_context(request, unread_only=unread_only, page_number=request.GET.get("page"))
    template = "risk/notifications.html#notifications-body" if is_partial(request) else "risk/notifications.html"
    return render(request, template, context)


# --- marking read --------------------------------------------------------------------------------


def _posted_ids(request: HttpRequest) -> list[int] | None:
    """The ids to mark read, or None for all; anything that is not an id is dropped (so marks nothing)."""
    raw = request.POST.getlist("ids")
    if not raw:
        return None
    return [pk for pk in map(posted_id, raw) if pk is not None]


@tenant_view()
@require_POST
def mark_read(request: HttpRequest) -> HttpResponse:
    """Mark the user's notifications read: the posted ``ids`` (only theirs count), or all.
    Answers the bell (open, from its menu) or the page's list, which also refreshes the bell."""
    marked = services.notifications_mark_read(request.tenant, user=request.user, ids=_posted_ids(request))
    notice = (
        ngettext("%(count)s notification marked read.", "%(count)s notifications marked read.", marked)
        % {"count": marked}
        if marked
        else _("Nothing was unread.")
    )
    unread_only = request.POST.get("unread") == "1"
    if not request.htmx:
        messages.success(request, notice)
        return redirect(_page_url(request, unread_only=unread_only))
    if request.POST.get("from") == "bell":
        return render(request, "risk/_bell.html", _bell_context(request, open=True))
    context = _page_context(request, unread_only=unread_only, page_number=request.POST.get("page"), notice=notice)
    response = render(request, "risk/notifications.html#notifications-body", context)
    response = reswap(retarget(response, "#notifications-body"), "outerHTML")
    return trigger_client_event(response, BELL_REFRESH_EVENT)


@tenant_view()
@require_GET
def notification_open(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Follow a notification's link, marking it read on the way. Only the user's own (else 404);
    a link that is not a path of this site leads to the notifications page instead."""
    notification = get_object_for_tenant(
        selectors.notification_list(request.tenant, request.user), request.tenant, notification_id
    )
    if notification.read_at is None:
        services.notifications_mark_read(request.tenant, user=request.user, ids=[notification.pk])
    link = notification.link
    if link.startswith("/") and url_has_allowed_host_and_scheme(link, allowed_hosts={request.get_host()}):
        return redirect(link)
    return redirect(_page_url(request))


urlpatterns: list[URLPattern] = [
    path("notifications/", notifications_page, name="risk-notifications"),
    path("notifications/bell/", bell, name="risk-bell"),
    path("notifications/mark-read/", mark_read, name="risk-notifications-mark-read"),
    path("notifications/<int:notification_id>/open/", notification_open, name="risk-notification-open"),
]
