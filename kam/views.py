"""Platform pages: home and workspaces, settings (members, API tokens, audit log),
health, and the error pages. Thin: the work is in kam.services and kam.selectors."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from kam import audit, health, selectors, services
from kam.forms import AuditFilterForm, MemberInviteForm, MemberUpdateForm, TokenCreateForm, add_service_errors
from kam.models import ApiToken, Membership
from kam.pages import go
from kam.permissions import ADMINS, tenant_view
from kam.tenancy import get_object_for_tenant


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The workspace the user last opened, their only one, or the choice of several."""
    memberships = list(selectors.memberships_of(user=request.user))
    last = request.session.get("tenant_id")
    chosen = next((m for m in memberships if m.tenant_id == last), None)
    if chosen is None and len(memberships) == 1:
        chosen = memberships[0]
    if chosen is not None:
        return redirect("tenant-home", tenant_slug=chosen.tenant.slug)
    return redirect("workspaces")


@login_required
def workspaces(request: HttpRequest) -> HttpResponse:
    return render(request, "kam/workspaces.html", {"memberships": selectors.memberships_of(user=request.user)})


@tenant_view()
def tenant_home(request: HttpRequest) -> HttpResponse:
    """The workspace home: the page an app registered for the member's role (kam.homes),
    rendered here so the URL stays /t/<slug>/; else the panels the apps registered."""
    from kam.homes import home_view_for
    from kam.navigation import panels_for

    home = home_view_for(request.membership)
    if home is not None:
        view, args, kwargs = home
        return view(request, *args, **kwargs)
    return render(request, "kam/tenant_home.html", {"panels": panels_for(request.membership)})


@login_required
@require_http_methods(["GET", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        update_session_auth_hash(request, user)
        messages.success(request, _("Your password has been changed."))
        return redirect("home")
    return render(request, "registration/password_change.html", {"form": form})


# --- Settings: members ---------------------------------------------------------------------------


@tenant_view(roles=ADMINS)
@require_http_methods(["GET", "POST"])
def members(request: HttpRequest) -> HttpResponse:
    form = MemberInviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership = services.membership_invite(
                tenant=request.tenant,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                actor=request.user,
                base_url=request.build_absolute_uri("/"),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(email)s was added as %(role)s.")
                % {"email": membership.user.email, "role": membership.get_role_display()},
            )
            return redirect("settings-members", tenant_slug=request.tenant.slug)
    context = {
        "form": form,
        "members": selectors.tenant_members(request.tenant),
        "roles": Membership._meta.get_field("role").choices,
    }
    return render(request, "kam/settings_members.html", context, status=400 if form.errors else 200)


@tenant_view(roles=ADMINS)
@require_POST
def member_update(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = get_object_for_tenant(Membership.objects.select_related("user"), request.tenant, membership_id)
    form = MemberUpdateForm(request.POST)
    error = None
    if not form.is_valid():
        error = " ".join(form.errors["mobile"]) if "mobile" in form.errors else _("Choose a valid role or status.")
    else:
        try:
            if "mobile" in request.POST:
                membership = _membership_set_mobile(request, membership, form.cleaned_data["mobile"])
            if form.cleaned_data.get("role"):
                membership = services.membership_change_role(
                    tenant=request.tenant, membership=membership, role=form.cleaned_data["role"], actor=request.user
                )
            if form.cleaned_data.get("active") is not None:
                membership = services.membership_set_active(
                    tenant=request.tenant, membership=membership, active=form.cleaned_data["active"], actor=request.user
                )
        except ValidationError as exc:
            error = " ".join(exc.messages)
    membership.refresh_from_db()
    if request.htmx:
        context = {
            "m": membership,
            "row_error": error,
            "row_saved": error is None,
            "roles": Membership._meta.get_field("role").choices,
            # A refused number stays in its field, beside the message, to be corrected.
            "mobile_refused": request.POST.get("mobile", "") if "mobile" in form.errors else None,
        }
        return render(request, "kam/settings_members.html#member-row", context, status=400 if error else 200)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("%(email)s was updated.") % {"email": membership.user.email})
    return redirect("settings-members", tenant_slug=request.tenant.slug)


@transaction.atomic
def _membership_set_mobile(request: HttpRequest, membership: Membership, mobile: str) -> Membership:
    """The member's work mobile number (validated by the form with kam.models.mobile_validator),
    audited like the other changes of a membership. DingTalk robots @mention by it."""
    membership = Membership.objects.select_for_update().get(tenant=request.tenant, pk=membership.pk)
    if membership.mobile == mobile:
        return membership
    before = audit.snapshot(membership)
    membership.mobile = mobile
    membership.save(update_fields=["mobile", "updated_at"])
    audit.record_update(tenant=request.tenant, instance=membership, before=before, actor=request.user)
    return membership


# --- Settings: API tokens -------------------------------------------------------------------------


@tenant_view(roles=ADMINS)
@require_http_methods(["GET", "POST"])
@never_cache
def tokens(request: HttpRequest) -> HttpResponse:
    form = TokenCreateForm(request.POST or None)
    new_token = None
    if request.method == "POST" and form.is_valid():
        try:
            token, raw = services.api_token_create(
                tenant=request.tenant,
                name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"],
                expires_at=form.expires_at(),
                actor=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            # Rendered once, in this response only; never stored, never shown again.
            new_token = {"token": token, "raw": raw}
            form = TokenCreateForm()
    context = {"form": form, "tokens": selectors.tenant_tokens(request.tenant), "new_token": new_token}
    return render(request, "kam/settings_tokens.html", context, status=400 if form.errors else 200)


@tenant_view(roles=ADMINS)
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_for_tenant(ApiToken, request.tenant, token_id)
    services.api_token_revoke(tenant=request.tenant, token=token, actor=request.user)
    messages.success(request, _("The token %(name)s was revoked.") % {"name": token.name})
    url = reverse("settings-tokens", kwargs={"tenant_slug": request.tenant.slug})
    return go(request, url)


# --- Settings: audit log --------------------------------------------------------------------------


@tenant_view(roles=ADMINS)
@require_GET
@vary_on_headers("HX-Request")
def audit_log(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None, object_types=selectors.audit_object_types(request.tenant))
    filters = form.cleaned_data if form.is_valid() else {}
    entries = selectors.audit_entries(
        request.tenant, object_type=filters.get("object_type", ""), action=filters.get("action", "")
    )
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode()}
    partial = request.htmx and not request.htmx.history_restore_request
    template = "kam/settings_audit.html#audit-rows" if partial else "kam/settings_audit.html"
    return render(request, template, context)


# --- Health and errors ----------------------------------------------------------------------------


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    report = health.check()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


def _error_page(request: HttpRequest, template: str, status: int) -> HttpResponse:
    if request.path.startswith("/api/"):
        from kam.api.errors import error_body

        codes = {403: "permission_denied", 404: "not_found", 500: "server_error"}
        messages_ = {403: _("You do not have permission to do this."), 404: _("Not found."), 500: _("Server error.")}
        return JsonResponse(error_body(codes[status], messages_[status]), status=status)
    return HttpResponse(loader.render_to_string(template, {"request_path": request.path}, request), status=status)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_page(request, "404.html", 404)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_page(request, "403.html", 403)


def server_error(request: HttpRequest) -> HttpResponse:
    # No request context: the database may be the thing that failed.
    if request.path.startswith("/api/"):
        return _error_page(request, "500.html", 500)
    return HttpResponse(loader.render_to_string("500.html"), status=500)


# --- Settings: the nightly schedule ---------------------------------------------------------------


@tenant_view(roles=ADMINS)
@require_http_methods(["GET", "POST"])
def schedule(request: HttpRequest) -> HttpResponse:
    """The tenant's nightly times, and when each job runs with the tenant's stagger."""
    from kam import nightly
    from kam.forms import NightlyScheduleForm

    tenant = request.tenant
    initial = {field: getattr(tenant, field) for field in nightly.ANCHORS}
    form = NightlyScheduleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.tenant_schedule_update(tenant=tenant, actor=request.user, **form.cleaned_data)
        messages.success(request, _("The nightly schedule was saved."))
        return go(request, reverse("settings-schedule", kwargs={"tenant_slug": tenant.slug}))
    stagger = nightly.stagger_minutes(tenant.pk)
    jobs = [
        {
            "task": job.task,
            "label": nightly.job_label(job.task),
            "at": (
                dt.datetime.combine(dt.date(2000, 1, 3), initial[job.anchor])
                + dt.timedelta(minutes=job.offset_minutes + stagger)
            ).time(),
        }
        for job in nightly.NIGHTLY_JOBS
    ]
    context = {"form": form, "stagger": stagger, "jobs": jobs, "time_zone": tenant.time_zone}
    return render(request, "kam/settings_schedule.html", context, status=400 if form.errors else 200)
