"""Risk pages: the risk center (预警: the alerts with filters, counts by kind and severity,
paging, in-place and bulk actions) and the alert page.

Reads come from risk.selectors: ``alert_list`` and ``alert_get`` give a team member the
alerts of the accounts they read and none of the tenant-wide ones. Writes go through risk.services
under the API's rules (risk/api.py, AlertViewSet): the writing roles only; a manager
changes the alerts of the accounts they write; tenant-wide alerts are for administrators
and directors. Another tenant's alert, or one the member may not read, is 404.

With htmx an action answers the part of the page that changed (the list with its counts,
or the alert); without JavaScript it redirects with a message, and the confirmations are
pages of their own.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.dateparse import parse_datetime
from django.utils.translation import get_language, gettext_lazy, ngettext, pgettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import reswap, retarget

from accounts import access
from accounts.selectors import user_list
from kam.formats import format_percent
from kam.forms import DateField
from kam.models import Tenant, User
from kam.pages import is_partial
from kam.permissions import WRITERS, tenant_view
from kam.tenancy import tenant_today
from risk import presenters, selectors, services
from risk.contingency import open_action_ids as contingency_open_action_ids
from risk.forms import posted_id
from risk.models import SEVERITY_RANK, AlertKind, AlertStatus, RiskAlert, Severity
from risk.notifications import alert_summary, need_link, renewal_stage_label

PAGE_SIZE = 50
# At most this many alerts in one bulk action (risk.services.alerts_bulk reads no more).
BULK_LIMIT = 500
SEVERITIES_TOP_DOWN = sorted(Severity, key=lambda severity: -SEVERITY_RANK[severity])
# Severity.WARNING's label is also the red health band's (预警), so the pages name the
# severities in a context of their own.
SEVERITY_LABELS = {
    Severity.CRITICAL: pgettext_lazy("alert severity", "Critical"),
    Severity.WARNING: pgettext_lazy("alert severity", "Warning"),
    Severity.INFO: pgettext_lazy("alert severity", "Info"),
}
# The status filter; "unresolved" (open or acknowledged) is the default view.
STATUS_FILTERS = [
    ("unresolved", gettext_lazy("Open and acknowledged")),
    (AlertStatus.OPEN.value, AlertStatus.OPEN.label),
    (AlertStatus.ACKNOWLEDGED.value, AlertStatus.ACKNOWLEDGED.label),
    (AlertStatus.RESOLVED.value, AlertStatus.RESOLVED.label),
    ("all", gettext_lazy("All")),
]
# The status filter as selectors.alert_list reads it ("open" there means not resolved);
# "open" alone (not acknowledged) is narrowed after.
SELECTOR_STATUS = {"unresolved": "open", "open": "", "acknowledged": "acknowledged", "resolved": "resolved", "all": ""}
LIST_KEYS = ("status", "kind", "severity", "assignee", "q", "snoozed", "page")
BULK_ACTIONS = ("acknowledge", "resolve", "snooze")


# --- forms ---------------------------------------------------------------------------------------


class AlertFilterForm(forms.Form):
    """The risk center's filters; an invalid value falls back to its default, never an error page."""

    q = forms.CharField(
        label=gettext_lazy("Account"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": gettext_lazy("Account name"), "autocomplete": "off"}
        ),
    )
    status = forms.ChoiceField(label=gettext_lazy("Status"), required=False, choices=STATUS_FILTERS)
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"), required=False, choices=[("", gettext_lazy("All kinds")), *AlertKind.choices]
    )
    severity = forms.ChoiceField(
        label=gettext_lazy("Severity"),
        required=False,
        choices=[("", gettext_lazy("All severities")), *[(s.value, SEVERITY_LABELS[s]) for s in SEVERITIES_TOP_DOWN]],
    )
    assignee = forms.ChoiceField(label=gettext_lazy("Assignee"), required=False)
    snoozed = forms.BooleanField(label=gettext_lazy("Show snoozed alerts"), required=False)

    def __init__(self, data: QueryDict, *, members: list[User]) -> None:
        super().__init__(data)
        self.fields["assignee"].choices = [
            ("", _("Anyone")),
            ("mine", _("Assigned to me")),
            ("unassigned", _("Unassigned")),
            *[(str(user.pk), user.display_name) for user in members],
        ]

    def filters(self) -> dict[str, Any]:
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "q": (data.get("q") or "").strip(),
            "status": data.get("status") or "unresolved",
            "kind": data.get("kind") or "",
            "severity": data.get("severity") or "",
            "assignee": data.get("assignee") or "",
            "snoozed": bool(data.get("snoozed")),
        }

    def active(self) -> bool:
        """Whether the filters narrow the default view (open and acknowledged, snoozed hidden)."""
        filters = self.filters()
        return any(filters[key] for key in ("q", "kind", "severity", "assignee")) or filters["status"] != "unresolved"


class ResolveForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("Note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": gettext_lazy("What was done (optional)")}),
    )
    # Contingency plans that act: also close (cancelled) the open actions this alert's plans created.
    close_actions = forms.BooleanField(required=False)


class SnoozeForm(forms.Form):
    snoozed_until = DateField(
        label=gettext_lazy("Snooze until"),
        required=False,
    )


# --- reading -------------------------------------------------------------------------------------


def _changeable_ids(request: HttpRequest, alerts: list[RiskAlert]) -> set[int]:
    """The alerts the member may change, by the API's rules (one query for a manager)."""
    role = request.membership.role
    if role not in WRITERS:
        return set()
    if role in access.WRITE_ALL:
        return {alert.pk for alert in alerts}
    account_ids = {alert.account_id for alert in alerts if alert.account_id}
    writable = set(
        access.writable_accounts(request.tenant, request.membership)
        .filter(pk__in=account_ids)
        .values_list("pk", flat=True)
    )
    return {alert.pk for alert in alerts if alert.account_id in writable}


def _changeable_alert(request: HttpRequest, alert_id: int) -> RiskAlert:
    """Readable (else 404) and the member's to change (else 403)."""
    alert = selectors.alert_get(request.tenant, request.membership, alert_id)
    if alert.pk not in _changeable_ids(request, [alert]):
        raise PermissionDenied
    return alert


def _filtered_alerts(request: HttpRequest, filters: dict[str, Any]) -> QuerySet[RiskAlert]:
    """The filtered alerts, the most severe first, then the newest."""
    assignee = filters["assignee"]
    alerts = selectors.alert_list(
        request.tenant,
        request.membership,
        kind=filters["kind"],
        severity=filters["severity"],
        status=SELECTOR_STATUS[filters["status"]],
        assignee=request.user.pk if assignee == "mine" else (int(assignee) if assignee.isdigit() else None),
        include_snoozed=filters["snoozed"],
    )
    if filters["status"] == AlertStatus.OPEN:
        alerts = alerts.filter(status=AlertStatus.OPEN)
    if assignee == "unassigned":
        alerts = alerts.filter(assignee__isnull=True)
    if filters["q"]:
        alerts = alerts.filter(account__name__icontains=filters["q"])
    rank = Case(
        *[When(severity=severity, then=Value(value)) for severity, value in SEVERITY_RANK.items()],
        default=Value(-1),
        output_field=IntegerField(),
    )
    return alerts.annotate(severity_rank=rank).order_by("-severity_rank", "-opened_at", "-id")


def _list_params(raw: str) -> QueryDict:
    """The list's query string (sent back by the actions) with only its own keys and no empty values."""
    params = QueryDict(mutable=True)
    for key, values in QueryDict(raw[:2000]).lists():
        kept = [value for value in values if value]
        if key in LIST_KEYS and kept:
            params.setlist(key, kept[:1])
    return params


def _decorate(request: HttpRequest, alerts: list[RiskAlert], errors: dict[int, dict[str, str]] | None = None) -> None:
    """What the rows show besides the model: the summary sentence, snoozing, whether the
    member may act, and the error of an action that was refused (beside its form)."""
    today = tenant_today(request.tenant)
    changeable = _changeable_ids(request, alerts)
    for alert in alerts:
        alert.action_error = (errors or {}).get(alert.pk)
        alert.summary = alert_summary(alert.kind, alert.details)
        alert.severity_label = SEVERITY_LABELS.get(alert.severity, alert.severity)
        alert.is_snoozed = bool(alert.is_open and alert.snoozed_until and alert.snoozed_until > today)
        alert.can_change = alert.pk in changeable
        alert.fix_link = presenters.alert_fix_link(request.tenant.slug, alert)


def _counts(request: HttpRequest) -> dict[str, Any]:
    """The open (not resolved) alerts the member reads, by severity and by kind, for the page's head."""
    by_kind = selectors.alert_counts_open(request.tenant, request.membership)
    severities = [
        {
            "value": severity.value,
            "label": SEVERITY_LABELS[severity],
            "count": sum(c.get(severity, 0) for c in by_kind.values()),
        }
        for severity in SEVERITIES_TOP_DOWN
    ]
    kinds = [
        {
            "value": kind.value,
            "label": kind.label,
            "count": sum(by_kind[kind].values()),
            "critical": by_kind[kind].get(Severity.CRITICAL, 0),
        }
        for kind in AlertKind
        if kind in by_kind
    ]
    return {"severities": severities, "kinds": kinds, "total": sum(item["count"] for item in severities)}


def _action_context(request: HttpRequest) -> dict[str, Any]:
    """What the action forms need: the people an alert may be assigned to, the first day it may be snoozed to."""
    today = tenant_today(request.tenant)
    return {
        "members": list(user_list(request.tenant)),
        "tomorrow": today + dt.timedelta(days=1),
        "may_write": request.membership.role in WRITERS,
    }


def _center_context(
    request: HttpRequest, params: QueryDict, *, row_errors: dict[int, dict[str, str]] | None = None, **extra: Any
) -> dict[str, Any]:
    actions = _action_context(request)
    form = AlertFilterForm(params, members=actions["members"])
    filters = form.filters()
    page: Page = Paginator(_filtered_alerts(request, filters), PAGE_SIZE).get_page(params.get("page"))
    rows = list(page.object_list)
    _decorate(request, rows, row_errors)
    query = params.copy()
    query.pop("page", None)
    return {
        "form": form,
        "filters": filters,
        "filtered": form.active(),
        "page": page,
        "rows": rows,
        "counts": _counts(request),
        "query": query.urlencode(),
        "list_query": params.urlencode(),
        "can_bulk": any(alert.can_change for alert in rows),
        "origin": "center",
        **actions,
        **extra,
    }


def _center_url(request: HttpRequest, params: QueryDict | None = None) -> str:
    url = reverse("risk-center", kwargs={"tenant_slug": request.tenant.slug})
    return f"{url}?{params.urlencode()}" if params else url


@tenant_view()
@require_GET
@vary_on_headers("HX-Request")
def risk_center(request: HttpRequest) -> HttpResponse:
    context = _center_context(request, _list_params(request.GET.urlencode()))
    template = "risk/alerts.html#alerts-body" if is_partial(request) else "risk/alerts.html"
    return render(request, template, context)


# --- the alert page ------------------------------------------------------------------------------


def _detail_lists(alert: RiskAlert, tenant: Tenant) -> dict[str, Any]:
    """The lists in an alert's details that the summary sentence only counts, per kind."""
    details = alert.details or {}
    if alert.kind in (AlertKind.CONCENTRATION_TOP5, AlertKind.CONCENTRATION_HHI):
        return {
            "groups": [
                {**group, "percent": format_percent(group.get("share"))} for group in details.get("groups") or []
            ]
        }
    if alert.kind == AlertKind.PAYMENT_OVERDUE:
        return {"invoice_numbers": details.get("numbers") or [], "oldest_due_on": details.get("oldest_due_on")}
    if alert.kind == AlertKind.KEY_CONTACT_LEFT:
        return {"contacts": details.get("contacts") or []}
    if alert.kind == AlertKind.SLA_BREACH and isinstance(details.get("need"), int):
        return {"need": _need_details(details, tenant)}
    if alert.kind == AlertKind.IP_UNPROTECTED:
        from accounts.models import IpOwnership

        return {
            "unprotected_contracts": [
                {
                    **contract,
                    "ip_label": IpOwnership(contract["ip_ownership"]).label
                    if contract.get("ip_ownership") in IpOwnership.values
                    else contract.get("ip_ownership"),
                    "value": _decimal(contract.get("value")),
                }
                for contract in details.get("contracts") or []
            ]
        }
    if alert.kind == AlertKind.RENEWAL_OVERDUE and isinstance(details.get("renewal"), int):
        return {
            "renewal": {
                **details,
                "stage_label": renewal_stage_label(details.get("stage")),
                "value": _decimal(details.get("value")),
            }
        }
    if alert.kind == AlertKind.REVIEW_NEEDED:
        from accounts.models import EventKind

        events = [
            {**event, "label": EventKind(event["kind"]).label if event.get("kind") in EventKind.values else ""}
            for event in details.get("events") or []
        ]
        return {"events": events}
    return {}


def _decimal(value: Any) -> Decimal | None:
    """An amount of an alert's details (text, as the engine writes it), for |money."""
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _need_details(details: dict[str, Any], tenant: Tenant) -> dict[str, Any]:
    """An SLA breach's need as its alert recorded it, for the page (the link to the need's page)."""
    from service.models import Priority

    chinese = (get_language() or "").startswith("zh")
    priority = details.get("priority")
    return {
        "id": details["need"],
        "link": need_link(tenant, details["need"]),
        "subject": details.get("subject") or "",
        "category": details.get("category_zh" if chinese else "category_en") or "",
        "priority": Priority(priority).label if priority in Priority.values else priority,
        "breach": details.get("breach"),
        "due_at": parse_datetime(details["due"]) if isinstance(details.get("due"), str) else None,
        "hours_late": details.get("hours_late") or 0,
        "assignee_name": details.get("assignee_name") or "",
    }


def _timeline(alert: RiskAlert) -> list[dict[str, Any]]:
    """Opened, acknowledged, resolved: when and by whom (a run when nobody)."""
    entries = [{"key": "opened", "label": _("Opened"), "at": alert.opened_at, "by": None}]
    if alert.acknowledged_at:
        entries.append(
            {
                "key": "acknowledged",
                "label": _("Acknowledged"),
                "at": alert.acknowledged_at,
                "by": alert.acknowledged_by,
            }
        )
    if alert.resolved_at:
        entries.append(
            {
                "key": "resolved",
                "label": alert.get_resolution_display() or _("Resolved"),
                "at": alert.resolved_at,
                "by": alert.resolved_by,
                "note": alert.resolution_note,
            }
        )
    return entries


def _alert_context(
    request: HttpRequest, alert: RiskAlert, *, action_error: dict[str, str] | None = None, **extra: Any
) -> dict[str, Any]:
    _decorate(request, [alert], {alert.pk: action_error} if action_error else None)
    return {
        "alert": alert,
        "details": alert.details or {},
        "timeline": _timeline(alert),
        "origin": "alert",
        "list_query": "",
        **_detail_lists(alert, request.tenant),
        **_action_context(request),
        **_contingency_context(request, alert),
        **extra,
    }


def _contingency_context(request: HttpRequest, alert: RiskAlert) -> dict[str, Any]:
    """The contingency plans this alert triggered and the actions they made (risk/contingency.py)."""
    from risk import contingency

    activations = contingency.activations(request.tenant, alert=alert)
    for row in activations:
        row.plan_link = contingency.plan_link(request.tenant, row.plan_id)
    alert.open_action_count = sum(row.open_count for row in activations)
    return {"activations": activations}


@tenant_view()
@require_GET
@vary_on_headers("HX-Request")
def alert_page(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = selectors.alert_get(request.tenant, request.membership, alert_id)
    template = "risk/alert.html#alert-body" if is_partial(request) else "risk/alert.html"
    return render(request, template, _alert_context(request, alert))


# --- actions on one alert ------------------------------------------------------------------------


def _render_part(
    request: HttpRequest, template: str, part: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    """The page, or with htmx its part, swapped for the element of the same id (after a write
    the part answers whichever form asked)."""
    if not is_partial(request):
        return render(request, template, context, status=status)
    response = render(request, f"{template}#{part}", context, status=status)
    return reswap(retarget(response, f"#{part}"), "outerHTML")


def _answer(
    request: HttpRequest, alert: RiskAlert, *, notice: str = "", action: str = "", error: str = ""
) -> HttpResponse:
    """After an action on one alert, from the risk center's row or the alert page: that part
    again with the notice or the error beside the action (htmx), else a redirect with a
    message, or the page with the error (400)."""
    status = 400 if error else 200
    action_error = {"action": action, "message": error} if error else None
    if request.POST.get("from") == "center":
        params = _list_params(request.POST.get("list_query", ""))
        if not error and not request.htmx:
            messages.success(request, notice)
            return redirect(_center_url(request, params))
        errors = {alert.pk: action_error} if error else {}
        context = _center_context(request, params, notice=notice, error=error, row_errors=errors)
        return _render_part(request, "risk/alerts.html", "alerts-body", context, status=status)
    if not error and not request.htmx:
        messages.success(request, notice)
        return redirect("risk-alert", tenant_slug=request.tenant.slug, alert_id=alert.pk)
    fresh = selectors.alert_get(request.tenant, request.membership, alert.pk)
    context = _alert_context(request, fresh, notice=notice, error=error, action_error=action_error)
    return _render_part(request, "risk/alert.html", "alert-body", context, status=status)


def _messages_of(exc: ValidationError) -> str:
    return " ".join(exc.messages)


@tenant_view(roles=WRITERS)
@require_POST
def alert_acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = _changeable_alert(request, alert_id)
    try:
        services.alert_acknowledge(request.tenant, alert=alert, actor=request.user)
    except ValidationError as exc:
        return _answer(request, alert, action="acknowledge", error=_messages_of(exc))
    return _answer(request, alert, notice=_("The alert was acknowledged."))


@tenant_view(roles=WRITERS)
@require_http_methods(["GET", "POST"])
def alert_resolve(request: HttpRequest, alert_id: int) -> HttpResponse:
    """解决 by hand, with an optional note. GET is the confirmation for browsers without
    JavaScript (htmx asks with hx-confirm and posts)."""
    alert = _changeable_alert(request, alert_id)
    if request.method == "GET":
        context = {
            "alert": alert,
            "summary": alert_summary(alert.kind, alert.details),
            "form": ResolveForm(initial={"note": request.GET.get("note", "")[:2000]}),
            "open_action_count": len(contingency_open_action_ids(request.tenant, alert)),
            "origin": "center" if request.GET.get("from") == "center" else "alert",
            "list_query": _list_params(request.GET.get("list_query", "")).urlencode(),
        }
        return render(request, "risk/alert_confirm.html", context)
    form = ResolveForm(request.POST)
    if not form.is_valid():
        return _answer(request, alert, action="resolve", error=" ".join(form.errors["note"]))
    if alert.status == AlertStatus.RESOLVED:
        return _answer(request, alert, action="resolve", error=_("This alert is resolved already."))
    alert = services.alert_resolve(
        request.tenant,
        alert=alert,
        note=form.cleaned_data["note"],
        close_actions=form.cleaned_data["close_actions"],
        actor=request.user,
    )
    closed = getattr(alert, "actions_closed", 0)
    if closed:
        notice = ngettext(
            "The alert was resolved and %(count)s action was closed.",
            "The alert was resolved and %(count)s actions were closed.",
            closed,
        ) % {"count": closed}
        return _answer(request, alert, notice=notice)
    return _answer(request, alert, notice=_("The alert was resolved."))


@tenant_view(roles=WRITERS)
@require_POST
def alert_assign(request: HttpRequest, alert_id: int) -> HttpResponse:
    """Assign to an active member of the workspace (who is notified), or to nobody."""
    alert = _changeable_alert(request, alert_id)
    raw = request.POST.get("assignee", "")
    assignee = None
    if raw:
        user_id = posted_id(raw)
        assignee = user_list(request.tenant).filter(pk=user_id).first() if user_id else None
        if assignee is None:
            return _answer(request, alert, action="assign", error=_("Choose an active member of this workspace."))
    try:
        services.alert_update(request.tenant, alert=alert, assignee=assignee, actor=request.user)
    except ValidationError as exc:
        return _answer(request, alert, action="assign", error=_messages_of(exc))
    if assignee is None:
        return _answer(request, alert, notice=_("The alert is unassigned."))
    return _answer(request, alert, notice=_("The alert is assigned to %(name)s.") % {"name": assignee.display_name})


@tenant_view(roles=WRITERS)
@require_POST
def alert_snooze(request: HttpRequest, alert_id: int) -> HttpResponse:
    """Snooze until a future day (hidden from the default view till then), or wake it up (``clear``)."""
    alert = _changeable_alert(request, alert_id)
    if request.POST.get("clear"):
        day = None
    else:
        try:
            day = _snooze_day(request)
        except ValidationError as exc:
            return _answer(request, alert, action="snooze", error=_messages_of(exc))
    try:
        services.alert_update(request.tenant, alert=alert, snoozed_until=day, actor=request.user)
    except ValidationError as exc:
        return _answer(request, alert, action="snooze", error=_messages_of(exc))
    if day is None:
        return _answer(request, alert, notice=_("The alert is no longer snoozed."))
    return _answer(request, alert, notice=_("The alert is snoozed until %(day)s.") % {"day": f"{day:%Y-%m-%d}"})


def _snooze_day(request: HttpRequest) -> dt.date:
    """The day from the form: a date is required here; the service checks it is in the future."""
    form = SnoozeForm(request.POST)
    if not form.is_valid():
        raise ValidationError(list(form.errors["snoozed_until"]))
    day = form.cleaned_data["snoozed_until"]
    if day is None:
        raise ValidationError(_("Choose the day to snooze until."))
    return day


# --- bulk actions --------------------------------------------------------------------------------


def _bulk_selection(request: HttpRequest) -> list[RiskAlert]:
    """The selected alerts (the ticked ones, or all the page's), all readable by the member
    (else a ValidationError: nothing is changed) and all theirs to change (else 403)."""
    raw = request.POST.getlist("page_ids" if request.POST.get("all_on_page") else "alert_ids")
    if not raw:
        raise ValidationError(_("Select at least one alert."))
    ids = sorted({posted_id(value) or 0 for value in raw})
    if 0 in ids:
        raise ValidationError(_("The selection is not valid. Reload the page and try again."))
    if len(ids) > BULK_LIMIT:
        raise ValidationError(_("Select at most %(count)s alerts at a time.") % {"count": BULK_LIMIT})
    alerts = list(selectors.alert_list(request.tenant, request.membership).filter(pk__in=ids).order_by("id"))
    if len(alerts) != len(ids):
        raise ValidationError(
            _(
                "Some of the selected alerts do not exist in this workspace or are not yours to see; nothing was changed."
            )
        )
    if len(_changeable_ids(request, alerts)) != len(alerts):
        raise PermissionDenied
    return alerts


def _bulk_answer(request: HttpRequest, params: QueryDict, *, notice: str = "", error: str = "") -> HttpResponse:
    if not error and not request.htmx:
        messages.success(request, notice)
        return redirect(_center_url(request, params))
    context = _center_context(request, params, notice=notice, error=error)
    return _render_part(request, "risk/alerts.html", "alerts-body", context, status=400 if error else 200)


def _bulk_notice(action: str, count: int) -> str:
    if action == "acknowledge":
        return ngettext("%(count)s alert was acknowledged.", "%(count)s alerts were acknowledged.", count) % {
            "count": count
        }
    if action == "resolve":
        return ngettext("%(count)s alert was resolved.", "%(count)s alerts were resolved.", count) % {"count": count}
    return ngettext("%(count)s alert was snoozed.", "%(count)s alerts were snoozed.", count) % {"count": count}


@tenant_view(roles=WRITERS)
@require_POST
def alerts_bulk(request: HttpRequest) -> HttpResponse:
    """Acknowledge, resolve or snooze the selected alerts: all of them or, on any problem, none.
    Without JavaScript the first POST answers a confirmation page (htmx asks with hx-confirm)."""
    params = _list_params(request.POST.get("list_query", ""))
    action = request.POST.get("action", "")
    try:
        if action not in BULK_ACTIONS:
            raise ValidationError(_("Choose acknowledge, resolve or snooze."))
        alerts = _bulk_selection(request)
        day = _snooze_day(request) if action == "snooze" else None
    except ValidationError as exc:
        return _bulk_answer(request, params, error=_messages_of(exc))
    if not request.htmx and request.POST.get("confirmed") != "1":
        _decorate(request, alerts)
        context = {"alerts": alerts, "action": action, "day": day, "list_query": params.urlencode()}
        return render(request, "risk/alerts_confirm.html", context)
    try:
        if action == "snooze":
            count = services.alerts_bulk_snooze(request.tenant, alerts=alerts, snoozed_until=day, actor=request.user)
        else:
            ids = [alert.pk for alert in alerts]
            count = services.alerts_bulk(request.tenant, alert_ids=ids, action=action, actor=request.user)
    except ValidationError as exc:
        return _bulk_answer(request, params, error=_messages_of(exc))
    return _bulk_answer(request, params, notice=_bulk_notice(action, count))


urlpatterns: list[URLPattern] = [
    path("", risk_center, name="risk-center"),
    path("alerts/bulk/", alerts_bulk, name="risk-alerts-bulk"),
    path("alerts/<int:alert_id>/", alert_page, name="risk-alert"),
    path("alerts/<int:alert_id>/acknowledge/", alert_acknowledge, name="risk-alert-acknowledge"),
    path("alerts/<int:alert_id>/resolve/", alert_resolve, name="risk-alert-resolve"),
    path("alerts/<int:alert_id>/assign/", alert_assign, name="risk-alert-assign"),
    path("alerts/<int:alert_id>/snooze/", alert_snooze, name="risk-alert-snooze"),
]
