"""Risk pages: settings — the risk policy (warning lines and alert thresholds) and webhooks.

- ``settings/policy/``: every role that reads everything sees the policy; administrators
  and directors change it (risk.services.risk_policy_update, audited). Shares are entered
  and shown in percent and kept as fractions. The new lines apply from the next risk run.
- ``settings/webhooks/`` (administrators): the endpoints with their last delivery, a form
  to add one (its signing secret is shown in that answer only), and per endpoint a page
  with its settings, the secret's rotation (shown once again), "send test" and the
  delivery log, filtered by status and paged.

Thin: writes go through risk.services, reads through risk.selectors. "Send test" waits for
the receiver at most the service's timeout (RISK_WEBHOOK_TIMEOUT) and answers its outcome,
a failure included, in place; it never fails the page. Another tenant's ids are 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from kam.forms import add_service_errors
from kam.models import Tenant
from kam.pages import go, is_partial
from kam.permissions import ADMINS, READ_ALL, SCORECARD_EDITORS, tenant_view
from risk import selectors, services, webhooks
from risk.forms import RiskPolicyForm, WebhookEndpointForm, endpoint_initial
from risk.models import DeliveryStatus, RiskPolicy, WebhookDelivery, WebhookEndpoint, WebhookEvent

DELIVERIES_PAGE_SIZE = 25
# Sent by the answer to "send test": the endpoint page reloads its delivery log on it.
TESTED_EVENT = "webhook-tested"


# --- helpers ---------------------------------------------------------------------------------------


def _problem(delivery: WebhookDelivery) -> str:
    """Why a delivery did not get through, in words an administrator can act on ("" when it did)."""
    if delivery.status == DeliveryStatus.DELIVERED or not (delivery.error or delivery.response_code):
        return ""
    if delivery.response_code is not None:
        return _("The receiver answered HTTP %(code)s; only a 2xx answer counts as delivered.") % {
            "code": delivery.response_code
        }
    error = delivery.error
    kind = error.split(":", 1)[0]
    if kind in ("TimeoutError", "timeout"):
        return _("The receiver did not answer within %(seconds)s seconds.") % {
            "seconds": f"{webhooks.timeout_seconds():g}"
        }
    if kind == "ConnectionRefusedError":
        return _("The connection was refused: nothing listens at that address and port.")
    if kind == "gaierror":
        return _("The host name could not be resolved.")
    if kind.startswith("SSL"):
        return _("The secure connection (TLS) could not be established; check the receiver's certificate.")
    return error


def _with_problem(deliveries: Any) -> list[WebhookDelivery]:
    rows = list(deliveries)
    for delivery in rows:
        delivery.problem = _problem(delivery)
    return rows


def _event_labels(endpoint: WebhookEndpoint) -> list[tuple[str, str]]:
    labels = dict(WebhookEvent.choices)
    return [(event, str(labels.get(event, event))) for event in endpoint.events or []]


def _endpoint(request: HttpRequest, endpoint_id: int) -> WebhookEndpoint:
    """The tenant's endpoint; another tenant's id, or none, is 404."""
    endpoint = selectors.webhook_get(request.tenant, endpoint_id)
    endpoint.event_labels = _event_labels(endpoint)
    return endpoint


def _endpoint_url(request: HttpRequest, endpoint: WebhookEndpoint) -> str:
    return reverse("risk-webhook", kwargs={"tenant_slug": request.tenant.slug, "endpoint_id": endpoint.pk})


def _new_secret(endpoint: WebhookEndpoint, *, created: bool) -> dict[str, Any]:
    # Rendered in this one answer only; the page never shows the secret again.
    return {"endpoint": endpoint, "secret": endpoint.secret, "created": created}


# --- risk policy -----------------------------------------------------------------------------------


@tenant_view(roles=READ_ALL)
@require_http_methods(["GET", "POST"])
def risk_policy_page(request: HttpRequest) -> HttpResponse:
    """Everyone who reads everything sees the lines; administrators and directors change them."""
    can_edit = request.membership.role in SCORECARD_EDITORS
    if request.method == "POST" and not can_edit:
        raise PermissionDenied
    # Read without seeding on a GET: a tenant made before risk shows the defaults until saved.
    policy = selectors.policy_get(request.tenant) or RiskPolicy(tenant=request.tenant)
    form = RiskPolicyForm(request.POST if request.method == "POST" else None, policy=policy)
    if request.method == "POST" and form.is_valid():
        changes = {name: value for name, value in form.policy_values().items() if getattr(policy, name) != value}
        if not changes:
            messages.info(request, _("Nothing was changed."))
            return redirect("risk-policy", tenant_slug=request.tenant.slug)
        try:
            services.risk_policy_update(request.tenant, actor=request.user, **changes)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The risk policy was saved. The new lines apply from the next risk run."))
            return redirect("risk-policy", tenant_slug=request.tenant.slug)
    context = {
        "form": form,
        "groups": form.groups(),
        "policy": policy,
        "can_edit": can_edit,
        "runs_url": reverse("risk-runs", kwargs={"tenant_slug": request.tenant.slug}),
    }
    return render(request, "risk/settings_policy.html", context, status=400 if form.errors else 200)


# --- webhooks: list and create ---------------------------------------------------------------------


def _endpoints(tenant: Tenant) -> list[WebhookEndpoint]:
    """The endpoints with their event labels and last delivery (two queries in all)."""
    endpoints = list(selectors.webhook_list(tenant))
    last = selectors.delivery_latest_per_endpoint(tenant, endpoints)
    for endpoint in endpoints:
        endpoint.event_labels = _event_labels(endpoint)
        endpoint.last_delivery = last.get(endpoint.pk)
        if endpoint.last_delivery is not None:
            endpoint.last_delivery.problem = _problem(endpoint.last_delivery)
    return endpoints


@tenant_view(roles=ADMINS)
@require_http_methods(["GET", "POST"])
@never_cache
def webhooks_page(request: HttpRequest) -> HttpResponse:
    form = WebhookEndpointForm(request.POST if request.method == "POST" else None)
    new_secret = None
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = services.webhook_endpoint_create(request.tenant, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            new_secret = _new_secret(endpoint, created=True)
            form = WebhookEndpointForm()
    context = {
        "form": form,
        "endpoints": _endpoints(request.tenant),
        "new_secret": new_secret,
        "timeout": f"{webhooks.timeout_seconds():g}",
    }
    return render(request, "risk/settings_webhooks.html", context, status=400 if form.errors else 200)


# --- webhooks: one endpoint ------------------------------------------------------------------------


# The delivery log's filters, in the order people look for them.
STATUS_FILTERS = (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED, DeliveryStatus.PENDING)


def _status_filters(tenant: Tenant, endpoint: WebhookEndpoint) -> dict[str, Any]:
    """{"all": count, "statuses": [(value, label, count)]} for the filter links."""
    counts = selectors.delivery_counts(tenant, endpoint)
    return {
        "all": counts["all"],
        "statuses": [(status.value, status.label, counts[status.value]) for status in STATUS_FILTERS],
    }


def _endpoint_page(
    request: HttpRequest, endpoint: WebhookEndpoint, *, new_secret: dict[str, Any] | None = None
) -> HttpResponse:
    status = request.GET.get("status", "")
    status = status if status in DeliveryStatus.values else ""
    page = Paginator(selectors.delivery_list(request.tenant, endpoint, status=status), DELIVERIES_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    page.object_list = _with_problem(page.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "endpoint": endpoint,
        "page": page,
        "status": status,
        "filters": _status_filters(request.tenant, endpoint),
        "query": query.urlencode(),
        "new_secret": new_secret,
        "timeout": f"{webhooks.timeout_seconds():g}",
    }
    partial = request.method == "GET" and is_partial(request)
    return render(request, "risk/webhook.html#delivery-log" if partial else "risk/webhook.html", context)


@tenant_view(roles=ADMINS)
@require_GET
@vary_on_headers("HX-Request")
def webhook_page(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    return _endpoint_page(request, _endpoint(request, endpoint_id))


@tenant_view(roles=ADMINS)
@require_http_methods(["GET", "POST"])
def webhook_edit(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    form = WebhookEndpointForm(request.POST if request.method == "POST" else None, initial=endpoint_initial(endpoint))
    if request.method == "POST" and form.is_valid():
        try:
            services.webhook_endpoint_update(request.tenant, endpoint=endpoint, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The webhook was saved."))
            return redirect(_endpoint_url(request, endpoint))
    context = {"form": form, "endpoint": endpoint}
    return render(request, "risk/webhook_form.html", context, status=400 if form.errors else 200)


@tenant_view(roles=ADMINS)
@require_http_methods(["GET", "POST"])
@never_cache
def webhook_rotate(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    """A new signing secret, shown in this answer only; the old one stops signing at once."""
    endpoint = _endpoint(request, endpoint_id)
    if request.method == "GET":
        return render(request, "risk/webhook_confirm.html", {"endpoint": endpoint, "action": "rotate"})
    endpoint = services.webhook_endpoint_rotate_secret(request.tenant, endpoint=endpoint, actor=request.user)
    new_secret = _new_secret(endpoint, created=False)
    if request.htmx:
        # The panel, and the secret's hint on the page replaced out of band.
        return render(request, "risk/_webhook_secret.html", {"new_secret": new_secret, "oob_hint": True})
    return _endpoint_page(request, endpoint, new_secret=new_secret)


@tenant_view(roles=ADMINS)
@require_http_methods(["GET", "POST"])
def webhook_delete(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    if request.method == "GET":
        return render(request, "risk/webhook_confirm.html", {"endpoint": endpoint, "action": "delete"})
    url = endpoint.url
    services.webhook_endpoint_delete(request.tenant, endpoint=endpoint, actor=request.user)
    messages.success(request, _("The webhook to %(url)s was deleted with its delivery log.") % {"url": url})
    target = reverse("risk-webhooks", kwargs={"tenant_slug": request.tenant.slug})
    return go(request, target)


@tenant_view(roles=ADMINS)
@require_POST
def webhook_test(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    """POST a webhook.test event now and show what the receiver did with it. The service never
    raises for the receiver's sake: a refusal, an error answer or a timeout is a failed delivery."""
    endpoint = _endpoint(request, endpoint_id)
    delivery = services.webhook_send_test(request.tenant, endpoint=endpoint)
    delivery.problem = _problem(delivery)
    if request.htmx:
        context = {"delivery": delivery, "endpoint": endpoint, "tested": True}
        return trigger_client_event(render(request, "risk/_webhook_status.html", context), TESTED_EVENT)
    if delivery.status == DeliveryStatus.DELIVERED:
        messages.success(
            request,
            _("The test event was delivered: HTTP %(code)s in %(ms)s ms.")
            % {"code": delivery.response_code, "ms": delivery.duration_ms},
        )
    else:
        messages.error(request, _("The test event was not delivered. %(problem)s") % {"problem": delivery.problem})
    return redirect(_endpoint_url(request, endpoint))


urlpatterns: list[URLPattern] = [
    path("settings/policy/", risk_policy_page, name="risk-policy"),
    path("settings/webhooks/", webhooks_page, name="risk-webhooks"),
    path("settings/webhooks/<int:endpoint_id>/", webhook_page, name="risk-webhook"),
    path("settings/webhooks/<int:endpoint_id>/edit/", webhook_edit, name="risk-webhook-edit"),
    path("settings/webhooks/<int:endpoint_id>/rotate-secret/", webhook_rotate, name="risk-webhook-rotate"),
    path("settings/webhooks/<int:endpoint_id>/delete/", webhook_delete, name="risk-webhook-delete"),
    path("settings/webhooks/<int:endpoint_id>/test/", webhook_test, name="risk-webhook-test"),
]
