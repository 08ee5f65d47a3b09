"""The need page (客户需求): what the customer asked, its SLA clock, why it has its category,
its thread, and the actions on it: reply or note, status, assignee, priority, category, and
the triage of an unknown sender (its account and contact).

Who sees and works a need is service.selectors' rule, the same as the inbox's and the API's:
the roles that read every account see every need (the triage queue included), a member the
needs of the accounts they read and those given to them; administrators and directors work
every need, a manager those of the accounts they write, the triage queue and those given to
them, a member those of the accounts they read and those given to them. Anyone else gets 404
(another tenant's need, or an account they may not read) or, seeing but not working, 403 on
an action.

Writes go through service.services, which decide what is allowed (the statuses' TRANSITIONS,
the 1..5 rating, members of the workspace); their message is shown beside the action and
nothing is written. With htmx an action answers the page's body with a notice or the error;
without JavaScript it redirects with a message, or answers the page with the error (400),
and closing a need asks on a page of its own.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import reswap, retarget

from accounts.models import Account, Contact
from accounts.selectors import user_list
from kam.formats import format_percent
from kam.models import User
from kam.pages import is_partial
from kam.permissions import WRITERS, tenant_view
from service import selectors, services
from service.forms import (
    NeedAccountForm,
    NeedAssignForm,
    NeedCategoryForm,
    NeedPriorityForm,
    NeedReplyForm,
    NeedStatusForm,
)
from service.models import (
    TRANSITIONS,
    Category,
    CategorySource,
    EntryKind,
    Need,
    NeedEntry,
    NeedStatus,
    Priority,
)

# What the button for a move says (to in_progress from resolved it is "Reopen").
MOVE_LABELS = {
    NeedStatus.TRIAGED: gettext_lazy("Mark as triaged"),
    NeedStatus.IN_PROGRESS: gettext_lazy("Start work"),
    NeedStatus.WAITING_CUSTOMER: gettext_lazy("Wait for the customer"),
    NeedStatus.RESOLVED: gettext_lazy("Resolve"),
    NeedStatus.CLOSED: gettext_lazy("Close"),
}


# --- who may read and act --------------------------------------------------------------------------


def _need_for(request: HttpRequest, need_id: int) -> Need:
    """The need, when the member may see it; else 404."""
    return selectors.need_get(request.tenant, request.membership, need_id)


def _may_act(request: HttpRequest, need: Need) -> bool:
    return need.pk in selectors.need_id_set_workable(request.tenant, request.membership, [need])


def _actionable_need(request: HttpRequest, need_id: int) -> Need:
    """Seen (else 404) and the member's to work (else 403)."""
    need = _need_for(request, need_id)
    if not _may_act(request, need):
        raise PermissionDenied
    return need


def _triage_accounts(request: HttpRequest) -> QuerySet[Account]:
    """The accounts a need from an unknown sender may be given to: those the member may log a
    need for (writers the accounts they write, members those they read)."""
    return selectors.account_list_for_logging(request.tenant, request.membership)


# --- what the page shows ---------------------------------------------------------------------------


def _clock(label: str, due: Any, done: Any, now: Any) -> dict[str, Any]:
    """One SLA deadline: met, missed (done late), overdue (not done, past due) or running."""
    if due is None:
        state = "none"
    elif done is not None:
        state = "met" if done <= due else "missed"
    else:
        state = "overdue" if now > due else "running"
    return {"label": label, "due": due, "done": done, "state": state}


def _sla(need: Need) -> list[dict[str, Any]]:
    now = timezone.now()
    resolved = need.resolved_at if need.status in (NeedStatus.RESOLVED, NeedStatus.CLOSED) else None
    return [
        _clock(_("First response"), need.first_response_due_at, need.first_response_at, now),
        _clock(_("Resolution"), need.resolution_due_at, resolved, now),
    ]


def _reason(need: Need, entries: list[NeedEntry]) -> dict[str, Any]:
    """Why the need has its category (or has none), from ``classification``; read defensively,
    since rows written by older code may lack a key."""
    reason = need.classification if isinstance(need.classification, dict) else {}
    if need.category_id is None:
        unsure = reason.get("model_unsure") if isinstance(reason.get("model_unsure"), dict) else None
        return {"kind": "waits", "probability": format_percent(unsure.get("probability")) if unsure else ""}
    if need.category_source == CategorySource.PERSON:
        changes = [entry for entry in entries if entry.kind == EntryKind.CATEGORY]
        person = changes[-1].author if changes else need.created_by
        return {"kind": "person", "person": person, "at": changes[-1].created_at if changes else need.created_at}
    if need.category_source == CategorySource.RULE:
        rule = reason.get("rule") if isinstance(reason.get("rule"), dict) else {}
        keywords = [str(keyword) for keyword in rule.get("keywords") or []]
        return {"kind": "rule", "keywords": keywords, "points": rule.get("points")}
    if need.category_source == CategorySource.MODEL:
        model = reason.get("model") if isinstance(reason.get("model"), dict) else {}
        terms = [str(term[0] if isinstance(term, list | tuple) else term) for term in model.get("terms") or []]
        probability = model.get("probability", need.confidence)
        return {"kind": "model", "terms": terms, "probability": format_percent(probability)}
    return {"kind": "unknown"}


def _thread(need: Need, entries: list[NeedEntry]) -> list[dict[str, Any]]:
    """The entries in time order, each with who wrote it and, for a change, from -> to in words."""
    user_ids = {
        value
        for entry in entries
        if entry.kind == EntryKind.ASSIGNMENT
        for value in (entry.change.get("from"), entry.change.get("to"))
        if isinstance(value, int)
    }
    people = {user.pk: user.display_name for user in User.objects.filter(pk__in=user_ids)} if user_ids else {}
    categories = {category.key: category.name for category in Category.objects.all()}
    statuses = dict(NeedStatus.choices)
    customer = need.contact.name if need.contact_id else (need.sender or _("The customer"))
    rows = []
    for entry in entries:
        change = entry.change if isinstance(entry.change, dict) else {}
        before, after = change.get("from"), change.get("to")
        if entry.kind == EntryKind.STATUS:
            names = (statuses.get(before, before), statuses.get(after, after))
        elif entry.kind == EntryKind.ASSIGNMENT:
            names = (people.get(before, _("nobody")), people.get(after, _("nobody")))
        elif entry.kind == EntryKind.CATEGORY:
            names = (categories.get(before, before or _("none")), categories.get(after, after))
        else:
            names = None
        if entry.kind == EntryKind.MESSAGE:
            by = customer
        elif entry.author_id:
            by = entry.author.display_name
        else:
            by = _("KAM")
        rows.append({"entry": entry, "by": by, "change": names})
    return rows


def _moves(need: Need) -> list[dict[str, str]]:
    moves = []
    for status in TRANSITIONS.get(need.status, ()):
        if need.account_id is None and status in (NeedStatus.TRIAGED, NeedStatus.IN_PROGRESS):
            continue  # need_set_status refuses them until the account is set (triage)
        label = _("Reopen") if need.status == NeedStatus.RESOLVED and status == NeedStatus.IN_PROGRESS else None
        moves.append({"status": status, "label": label or MOVE_LABELS[status]})
    return moves


def _context(request: HttpRequest, need: Need, **extra: Any) -> dict[str, Any]:
    entries = list(NeedEntry.objects.filter(need=need).select_related("author").order_by("created_at", "id"))
    may_act = _may_act(request, need)
    context: dict[str, Any] = {
        "need": need,
        "sla": _sla(need),
        "reason": _reason(need, entries),
        "thread": _thread(need, entries),
        "may_act": may_act,
        "may_write": request.membership.role in WRITERS,
        "problems": [str(problem) for problem in need.problems or []] if isinstance(need.problems, list) else [],
        "is_open": need.is_open,
        "action_error": None,
        "reply_body": "",
    }
    if may_act:
        categories = list(Category.objects.filter(is_active=True).order_by("position", "id"))
        context.update(
            {
                "moves": _moves(need),
                "members": list(user_list(request.tenant, include=[need.assignee_id])),
                "categories": categories,
                "priorities": Priority.choices,
                "satisfactions": range(1, 6),
            }
        )
        if need.account_id is None:
            context["triage_accounts"] = list(_triage_accounts(request).only("id", "name"))
    context.update(extra)
    return context


@tenant_view()
@require_GET
@vary_on_headers("HX-Request")
def need_detail(request: HttpRequest, need_id: int) -> HttpResponse:
    need = _need_for(request, need_id)
    template = "service/need.html#need-body" if is_partial(request) else "service/need.html"
    return render(request, template, _context(request, need))


# --- actions ---------------------------------------------------------------------------------------


def _answer(
    request: HttpRequest, need: Need, *, notice: str = "", action: str = "", error: str = "", **extra: Any
) -> HttpResponse:
    """After an action: with htmx the page's body again with the notice or the error beside the
    action; without, a redirect with a message, or the page with the error (400)."""
    if not error and not request.htmx:
        messages.success(request, notice)
        return redirect("service-need", tenant_slug=request.tenant.slug, need_id=need.pk)
    fresh = _need_for(request, need.pk)
    action_error = {"action": action, "message": error} if error else None
    context = _context(request, fresh, notice=notice, error=error, action_error=action_error, **extra)
    status = 400 if error else 200
    if not is_partial(request):
        return render(request, "service/need.html", context, status=status)
    response = render(request, "service/need.html#need-body", context, status=status)
    return reswap(retarget(response, "#need-body"), "outerHTML")


def _form_error(form: Any) -> str:
    return " ".join(str(message) for errors in form.errors.values() for message in errors)


def _messages_of(exc: ValidationError) -> str:
    return " ".join(exc.messages)


@tenant_view()
@require_POST
def need_reply(request: HttpRequest, need_id: int) -> HttpResponse:
    need = _actionable_need(request, need_id)
    form = NeedReplyForm(request.POST)
    typed = request.POST.get("body", "")[:100_000]
    if not form.is_valid():
        return _answer(request, need, action="reply", error=_form_error(form), reply_body=typed)
    internal = form.cleaned_data["kind"] == "note"
    try:
        services.need_reply(
            request.tenant, need=need, body=form.cleaned_data["body"], internal=internal, actor=request.user
        )
    except ValidationError as exc:
        return _answer(request, need, action="reply", error=_messages_of(exc), reply_body=typed)
    return _answer(request, need, notice=_("The note was added.") if internal else _("The reply was sent."))


@tenant_view()
@require_POST
def need_status(request: HttpRequest, need_id: int) -> HttpResponse:
    """Move the need (TRANSITIONS); resolving may carry the customer's rating. Closing is
    confirmed: htmx asks with hx-confirm, a browser without JavaScript gets a page first."""
    need = _actionable_need(request, need_id)
    form = NeedStatusForm(request.POST)
    if not form.is_valid():
        return _answer(request, need, action="status", error=_form_error(form))
    status = form.cleaned_data["status"].strip()
    closing = status == NeedStatus.CLOSED and status in TRANSITIONS.get(need.status, ())
    if closing and not request.htmx and request.POST.get("confirmed") != "1":
        return render(request, "service/need_confirm.html", {"need": need, "note": form.cleaned_data["note"]})
    try:
        services.need_set_status(
            request.tenant,
            need=need,
            status=status,
            satisfaction=form.cleaned_data["satisfaction"],
            note=form.cleaned_data["note"],
            actor=request.user,
        )
    except ValidationError as exc:
        return _answer(request, need, action="status", error=_messages_of(exc))
    label = NeedStatus(status).label
    return _answer(request, need, notice=_("The need is now “%(status)s”.") % {"status": label})


@tenant_view()
@require_POST
def need_assign(request: HttpRequest, need_id: int) -> HttpResponse:
    need = _actionable_need(request, need_id)
    form = NeedAssignForm(request.POST, members=user_list(request.tenant))
    if not form.is_valid():
        return _answer(request, need, action="assign", error=_form_error(form))
    assignee = form.cleaned_data["assignee"]
    try:
        services.need_assign(request.tenant, need=need, assignee=assignee, actor=request.user)
    except ValidationError as exc:
        return _answer(request, need, action="assign", error=_messages_of(exc))
    if assignee is None:
        return _answer(request, need, notice=_("The need is unassigned."))
    return _answer(request, need, notice=_("The need is assigned to %(name)s.") % {"name": assignee.display_name})


@tenant_view()
@require_POST
def need_priority(request: HttpRequest, need_id: int) -> HttpResponse:
    need = _actionable_need(request, need_id)
    form = NeedPriorityForm(request.POST)
    if not form.is_valid():
        return _answer(request, need, action="priority", error=_form_error(form))
    priority = form.cleaned_data["priority"]
    if priority == need.priority:
        return _answer(request, need, notice=_("Nothing was changed."))
    try:
        services.need_set_priority(request.tenant, need=need, priority=priority, actor=request.user)
    except ValidationError as exc:
        return _answer(request, need, action="priority", error=_messages_of(exc))
    return _answer(
        request,
        need,
        notice=_("The priority is now “%(priority)s”; the SLA deadlines moved with it.")
        % {"priority": Priority(priority).label},
    )


@tenant_view()
@require_POST
def need_category(request: HttpRequest, need_id: int) -> HttpResponse:
    """Set, correct or confirm the category: a person's category is what the text model learns from."""
    need = _actionable_need(request, need_id)
    form = NeedCategoryForm(request.POST)
    if not form.is_valid():
        return _answer(request, need, action="category", error=_form_error(form))
    category = form.cleaned_data["category"]
    same = category.pk == need.category_id
    try:
        services.need_set_category(request.tenant, need=need, category=category, actor=request.user, reroute=not same)
    except ValidationError as exc:
        return _answer(request, need, action="category", error=_messages_of(exc))
    if same:
        return _answer(request, need, notice=_("The category “%(name)s” is confirmed.") % {"name": category.name})
    return _answer(request, need, notice=_("The category is now “%(name)s”.") % {"name": category.name})


@tenant_view()
@require_POST
def need_account(request: HttpRequest, need_id: int) -> HttpResponse:
    """Triage of an unknown sender: the account (and contact) it came from; routes and times it."""
    need = _actionable_need(request, need_id)
    form = NeedAccountForm(request.POST, accounts=_triage_accounts(request))
    if not form.is_valid():
        return _answer(request, need, action="account", error=_form_error(form))
    account = form.cleaned_data["account"]
    try:
        services.need_set_account(
            request.tenant, need=need, account=account, contact=form.cleaned_data["contact"], actor=request.user
        )
    except ValidationError as exc:
        return _answer(request, need, action="account", error=_messages_of(exc))
    return _answer(request, need, notice=_("The need now belongs to %(name)s.") % {"name": account.name})


@tenant_view()
@require_GET
def need_contact_options(request: HttpRequest, need_id: int) -> HttpResponse:
    """The contacts of the account chosen in the triage form (htmx swaps the contact list)."""
    need = _actionable_need(request, need_id)
    raw = request.GET.get("account", "")
    account = None
    if raw.isascii() and raw.isdigit() and len(raw) < 19:
        account = _triage_accounts(request).filter(pk=int(raw)).first()
    contacts = Contact.objects.filter(account=account).order_by("name", "id") if account else Contact.objects.none()
    return render(request, "service/need_contact_options.html", {"need": need, "contacts": contacts})
