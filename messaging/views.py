"""The channel pages under /t/<tenant_slug>/channels/ (administrators only; issue #20).

- ``channels/``: the tenant's channels, where each sends, what it is sent, its last message
  and what waits or failed; an empty state that says what channels are for.
- ``channels/new/``: a channel added (the fields follow its kind). A webhook's generated
  secret is shown in that answer only, as risk's webhooks do.
- ``channels/<id>/``: its routes matrix, switches, language and state (saved from there),
  "send a test message" with the vendor's answer in place, and the delivery log (filtered
  by status, paged, each message and answer shown on demand, "send again" for failed ones).
- ``channels/<id>/edit/``: name, address and the write-only secret; ``.../delete/``.

Thin: writes go through messaging.services (whose ValidationError is shown by field, with
a 400 and nothing saved), reads through messaging.selectors. Another tenant's ids are 404.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from kam.models import Tenant
from kam.pages import go, is_partial
from kam.permissions import ADMINS, tenant_view
from messaging import selectors, services
from messaging.forms import ChannelForm, RoutesForm, add_channel_errors, channel_initial, routes_initial
from messaging.models import Channel, ChannelDelivery, ChannelKind, DeliveryStatus
from risk.models import Severity

DELIVERIES_PAGE_SIZE = 25
# A vendor's answer is shown up to this many characters (the log keeps an excerpt already).
ANSWER_EXCERPT = 1000
# Sent with the answer to "send a test message": the channel page reloads its delivery log on it.
TESTED_EVENT = "channel-tested"
STATUS_FILTERS = (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED, DeliveryStatus.PENDING)
SHOWN_RECIPIENTS = 2


# --- what a channel looks like in a few words -------------------------------------------------------


def _target(channel: Channel) -> str:
    """Where the channel sends: the URL's host (and port), or the first addresses."""
    if channel.kind == ChannelKind.EMAIL:
        recipients = list(channel.recipients or [])
        shown = ", ".join(recipients[:SHOWN_RECIPIENTS])
        more = len(recipients) - SHOWN_RECIPIENTS
        if more > 0:
            shown += " " + ngettext("and %(count)s more", "and %(count)s more", more) % {"count": more}
        return shown
    parts = urlsplit(channel.url or "")
    return parts.netloc or channel.url


def _routes_summary(channel: Channel) -> list[str]:
    """What the channel is sent, as short phrases for the list."""
    routes = channel.alert_routes or {}
    phrases: list[str] = []
    if routes:
        minimums = set(routes.values())
        if len(minimums) == 1:
            minimum = next(iter(minimums))
            phrases.append(
                ngettext(
                    "%(count)s alert kind, %(severity)s and above",
                    "%(count)s alert kinds, %(severity)s and above",
                    len(routes),
                )
                % {"count": len(routes), "severity": str(Severity(minimum).label).lower()}
                if minimum != Severity.CRITICAL
                else ngettext(
                    "%(count)s alert kind, critical only", "%(count)s alert kinds, critical only", len(routes)
                )
                % {"count": len(routes)}
            )
        else:
            phrases.append(
                ngettext("%(count)s alert kind", "%(count)s alert kinds", len(routes)) % {"count": len(routes)}
            )
    else:
        phrases.append(_("No alerts"))
    if channel.sla_breaches:
        phrases.append(_("SLA breaches"))
    if channel.daily_digest and channel.digest_time:
        phrases.append(_("Digest at %(time)s") % {"time": channel.digest_time.strftime("%H:%M")})
    return phrases


def _decorate(channel: Channel) -> Channel:
    channel.target = _target(channel)
    channel.routes_summary = _routes_summary(channel)
    channel.vendor_label = ChannelKind(channel.kind).label
    return channel


def _channel(request: HttpRequest, channel_id: int) -> Channel:
    """The tenant's channel; another tenant's id, or none, is 404."""
    return _decorate(selectors.channel_get(request.tenant, channel_id))


def _channel_url(request: HttpRequest, channel: Channel) -> str:
    return reverse("messaging-channel", kwargs={"tenant_slug": request.tenant.slug, "channel_id": channel.pk})


def _list_url(request: HttpRequest) -> str:
    return reverse("messaging-channels", kwargs={"tenant_slug": request.tenant.slug})


def _answer(delivery: ChannelDelivery) -> ChannelDelivery:
    """The message as sent (pretty JSON, escaped by the template) and the answer's excerpt."""
    delivery.payload_pretty = json.dumps(delivery.payload, indent=2, ensure_ascii=False, sort_keys=False)
    body = delivery.response_body or ""
    delivery.answer_excerpt = body if len(body) <= ANSWER_EXCERPT else f"{body[:ANSWER_EXCERPT]}…"
    return delivery


def _new_secret(channel: Channel) -> dict[str, Any]:
    # Rendered in this one answer only; the pages never show the secret again.
    return {"channel": channel, "secret": channel.secret}


# --- the list ---------------------------------------------------------------------------------------


@tenant_view(roles=ADMINS)
@require_http_methods(["GET"])
def channels_page(request: HttpRequest) -> HttpResponse:
    channels = [_decorate(channel) for channel in selectors.channel_list(request.tenant)]
    return render(request, "messaging/channels.html", {"channels": channels})


@tenant_view(roles=ADMINS)
@require_http_methods(["GET", "POST"])
@never_cache
def channel_new(request: HttpRequest) -> HttpResponse:
    """Add a channel; a webhook's generated secret is shown in the answer, once."""
    form = ChannelForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        values = form.channel_values()
        try:
            channel = services.channel_create(request.tenant, actor=request.user, **values)
        except ValidationError as exc:
            add_channel_errors(form, exc)
        else:
            if channel.kind == ChannelKind.WEBHOOK and not values.get("secret"):
                return _channel_page(request, _decorate(channel), new_secret=_new_secret(channel))
            messages.success(
                request,
                _("The channel “%(name)s” was added. Send a test message to check that it arrives.")
                % {"name": channel.name},
            )
            return redirect(_channel_url(request, channel))
    context = {"form": form, "channel": None}
    return render(request, "messaging/channel_form.html", context, status=400 if form.errors else 200)


# --- one channel ------------------------------------------------------------------------------------


def _status_filters(tenant: Tenant, channel: Channel) -> dict[str, Any]:
    """{"all": count, "statuses": [(value, label, count)]} for the log's filter links."""
    rows = selectors.delivery_list(tenant, channel=channel).order_by().values("status").annotate(n=Count("id"))
    counts = {row["status"]: row["n"] for row in rows}
    return {
        "all": sum(counts.values()),
        "statuses": [(status.value, status.label, counts.get(status.value, 0)) for status in STATUS_FILTERS],
    }


def _channel_page(
    request: HttpRequest,
    channel: Channel,
    *,
    routes_form: RoutesForm | None = None,
    new_secret: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HttpResponse:
    tenant = request.tenant
    status = request.GET.get("status", "")
    status = status if status in DeliveryStatus.values else ""
    page = Paginator(selectors.delivery_list(tenant, channel=channel, status=status), DELIVERIES_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    page.object_list = [_answer(delivery) for delivery in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "channel": channel,
        "routes_form": routes_form or RoutesForm(initial=routes_initial(channel)),
        "page": page,
        "status": status,
        "filters": _status_filters(tenant, channel),
        "query": query.urlencode(),
        "waiting": selectors.waiting_count(tenant, channel),
        "new_secret": new_secret,
    }
    partial = request.method == "GET" and is_partial(request)
    template = "messaging/channel.html#delivery-log" if partial else "messaging/channel.html"
    return render(request, template, context, status=status_code)


@tenant_view(roles=ADMINS)
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def channel_page(request: HttpRequest, channel_id: int) -> HttpResponse:
    """The channel's settings and log; a POST saves the routes, switches, language and state."""
    channel = _channel(request, channel_id)
    if request.method == "GET":
        return _channel_page(request, channel)
    form = RoutesForm(request.POST, initial=routes_initial(channel))
    if form.is_valid():
        try:
            services.channel_update(request.tenant, channel=channel, actor=request.user, **form.channel_values())
        except ValidationError as exc:
            add_channel_errors(form, exc)
        else:
            messages.success(request, _("The channel's routes were saved."))
            return redirect(_channel_url(request, channel))
    # Nothing was saved: show the channel as it is, with the posted form and its errors.
    channel = _channel(request, channel_id)
    return _channel_page(request, channel, routes_form=form, status_code=400)


@tenant_view(roles=ADMINS)
@require_http_methods(["GET", "POST"])
@never_cache
def channel_edit(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = _channel(request, channel_id)
    form = ChannelForm(
        request.POST if request.method == "POST" else None, initial=channel_initial(channel), channel=channel
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.channel_update(request.tenant, channel=channel, actor=request.user, **form.channel_values())
        except ValidationError as exc:
            add_channel_errors(form, exc)
            # The service changed nothing; the page shows the channel as it is stored.
            channel = _channel(request, channel_id)
            form.channel = channel
        else:
            messages.success(request, _("The channel “%(name)s” was saved.") % {"name": channel.name})
            return redirect(_channel_url(request, channel))
    context = {"form": form, "channel": channel}
    return render(request, "messaging/channel_form.html", context, status=400 if form.errors else 200)


@tenant_view(roles=ADMINS)
@require_http_methods(["GET", "POST"])
def channel_delete(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = _channel(request, channel_id)
    if request.method == "GET":
        return render(request, "messaging/channel_confirm.html", {"channel": channel, "action": "delete"})
    name = channel.name
    services.channel_delete(request.tenant, channel=channel, actor=request.user)
    messages.success(request, _("The channel “%(name)s” was deleted with its delivery log.") % {"name": name})
    return go(request, _list_url(request))


@tenant_view(roles=ADMINS)
@require_POST
def channel_test(request: HttpRequest, channel_id: int) -> HttpResponse:
    """Send a test message now and show the vendor's answer (a refusal, an error or a timeout
    is a failed delivery, never an error of the page); or how long the rate limit holds it."""
    channel = _channel(request, channel_id)
    outcome = services.channel_test(request.tenant, channel=channel, actor=request.user)
    delivery = _answer(outcome.delivery) if outcome.delivery is not None else None
    wait = max(1, round(outcome.wait + 0.4)) if outcome.wait else 0
    if request.htmx:
        context = {"delivery": delivery, "wait": wait, "channel": channel}
        response = render(request, "messaging/_test_result.html", context)
        return trigger_client_event(response, TESTED_EVENT) if delivery is not None else response
    if delivery is None:
        messages.warning(request, _rate_limited(wait))
    elif delivery.status == DeliveryStatus.DELIVERED:
        messages.success(
            request,
            _("The test message was delivered in %(ms)s ms.") % {"ms": delivery.duration_ms or 0},
        )
    else:
        messages.error(request, _("The test message was not delivered: %(error)s") % {"error": delivery.error or "?"})
    return redirect(_channel_url(request, channel))


def _rate_limited(wait: int) -> str:
    return ngettext(
        "The robot's rate limit is reached; nothing was sent. Try again in %(seconds)s second.",
        "The robot's rate limit is reached; nothing was sent. Try again in %(seconds)s seconds.",
        wait,
    ) % {"seconds": wait}


@tenant_view(roles=ADMINS)
@require_http_methods(["GET", "POST"])
def delivery_send_again(request: HttpRequest, channel_id: int, delivery_id: int) -> HttpResponse:
    """Queue a failed message again (its attempts start again); GET asks first."""
    channel = _channel(request, channel_id)
    delivery = selectors.delivery_get(request.tenant, delivery_id, channel=channel)
    if request.method == "GET":
        context = {"channel": channel, "delivery": delivery, "action": "send_again"}
        return render(request, "messaging/channel_confirm.html", context)
    if services.delivery_send_again(request.tenant, record=delivery):
        messages.success(request, _("“%(title)s” is queued to be sent again.") % {"title": delivery.title})
    else:
        messages.info(request, _("Only a failed message can be sent again; this one is not failed."))
    return go(request, _channel_url(request, channel))
