"""HTMX pages of scoring: the tier page, score runs, the scorecard editor with its what-if
preview, and the score tab of the account page.

Thin: reads come from scoring.selectors, what they look like on a page from
scoring.presenters, writes go through scoring.services (which validate, audit and hold the
tenant); runs and rescoring are queued to Celery once the request's transaction commits.
The runs page is kam's (kam.runs.RunsPage). Every page works without JavaScript; htmx only
swaps the part that changed.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from accounts import access
from accounts import tabs as account_tabs
from accounts.models import Account
from accounts.selectors import account_get
from kam import formats
from kam.forms import add_service_errors
from kam.pages import go, is_partial
from kam.permissions import OVERRIDE_APPROVERS, READ_ALL, RUNNERS, SCORECARD_EDITORS, WRITERS, tenant_view
from kam.runs import RunsPage
from scoring import presenters, selectors, services, tasks
from scoring.engine import TIER_ORDER
from scoring.forms import (
    CriterionFormSet,
    DecisionForm,
    OverrideForm,
    OverrideRequestForm,
    RatingForm,
    RunStartForm,
    ScorecardForm,
    criterion_initial,
    scorecard_initial,
)
from scoring.models import (
    Criterion,
    CriterionKind,
    OverrideRequestStatus,
    Scorecard,
    ScorecardStatus,
    TierOverrideRequest,
)

TIER_PAGE_SIZE = 50
# The preview lists at most this many moved accounts (the counts cover all of them).
PREVIEW_ROWS = 200
TAB_TEMPLATE = "scoring/account_tab.html"
# The decision form on the score tab: ids apart from the rating form's comment.
TAB_DECISION_ID = "id_decision_%s"


# --- helpers ------------------------------------------------------------------------------------


def _slug(request: HttpRequest) -> str:
    return request.tenant.slug


def _url(request: HttpRequest, name: str, **kwargs: Any) -> str:
    return reverse(name, kwargs={"tenant_slug": _slug(request), **kwargs})


# --- tier page ----------------------------------------------------------------------------------


@tenant_view()
@require_GET
@vary_on_headers("HX-Request")
def tiers(request: HttpRequest) -> HttpResponse:
    """The accounts of the latest full run by tier, with their movement since the run before, and the
    Pareto line."""
    tenant, membership = request.tenant, request.membership
    run = selectors.run_get_latest_full(tenant)
    context: dict[str, Any] = {"run": run, "can_run": membership.role in RUNNERS}
    if run is None:
        return render(request, "scoring/tiers.html", context)

    reads_all = membership.role in READ_ALL
    if reads_all:
        summary = selectors.tier_summary_get(tenant)
        figures = {row["tier"]: row for row in summary["tiers"]}
        context["pareto"] = summary["pareto"]
    else:  # a member: figures over the accounts they work on, no tenant-wide shares
        figures = {
            tier: {**row, "share": None} for tier, row in selectors.tier_counts_get(tenant, membership, run).items()
        }

    only = request.GET.get("tier")
    if only in TIER_ORDER:
        page = Paginator(selectors.score_list_of_tier(tenant, membership, run, only), TIER_PAGE_SIZE).get_page(
            request.GET.get("page")
        )
        shown = {only: list(page.object_list)}
        context.update(page=page, query=f"tier={only}", only=only)
    else:
        shown = selectors.score_list_of_tier_leaders(tenant, membership, run)
    # Movement since the previous full run (the snapshot's previous_tier is the hysteresis input:
    # the latest tier of an earlier day, so two runs on one day would show everyone as new).
    before = selectors.tier_get_of_accounts(
        tenant,
        selectors.run_get_previous_full(tenant, run),
        [score.account_id for scores in shown.values() for score in scores],
    )
    context.update(
        reads_all=reads_all,
        cards=presenters.tier_cards(figures),
        sections=presenters.tier_sections(shown, figures, before, only=only),
    )
    template = "scoring/tiers.html#tier-list" if is_partial(request) else "scoring/tiers.html"
    return render(request, template, context)


# --- score runs ---------------------------------------------------------------------------------


RUNS_PAGE = RunsPage(
    template="scoring/runs.html",
    list_url="scoring-runs",
    row_url="scoring-run-row",
    start_url="scoring-run-start",
    title=gettext_lazy("Score runs"),
    empty=gettext_lazy("No score runs yet."),
    queued_message=gettext_lazy("The score run was queued. Its row shows the progress."),
    runners=RUNNERS,
    runs=lambda request: selectors.run_list(request.tenant, request.membership),
    form=lambda request, data: RunStartForm(data),
    start=lambda request, data: services.score_run_create(request.tenant, as_of=data["as_of"], actor=request.user),
    queue=tasks.queue_run,
)


@tenant_view()
@require_GET
@vary_on_headers("HX-Request")
def runs(request: HttpRequest) -> HttpResponse:
    return RUNS_PAGE.list_view(request)


@tenant_view()
@require_GET
@vary_on_headers("HX-Request")
def run_row(request: HttpRequest, run_id: int) -> HttpResponse:
    return RUNS_PAGE.row_view(request, run_id)


@tenant_view(roles=RUNNERS)
@require_POST
def run_start(request: HttpRequest) -> HttpResponse:
    """Queue a full run (optionally as of another day); a worker executes it after the commit."""
    return RUNS_PAGE.start_view(request)


# --- scorecard ----------------------------------------------------------------------------------


def _editor_source(request: HttpRequest, versions: list[Scorecard]) -> Scorecard | None:
    """The version the editor starts from: the chosen one (or the draft just saved), else the
    active one, else the newest."""
    if request.method == "POST":
        chosen = request.POST.get("source")
    else:
        chosen = request.GET.get("from") or request.GET.get("draft")
    if chosen:
        return selectors.scorecard_get(request.tenant, chosen)
    return next((v for v in versions if v.status == ScorecardStatus.ACTIVE), versions[0] if versions else None)


def _weights(formset: Any) -> dict[str, Any]:
    total = _weight_total(formset)
    return {"weight_total_text": formats.plain_number(total), "weight_ok": total == services.WEIGHT_TOTAL}


def _weight_total(formset: Any) -> Decimal:
    """The weights as the page shows them before any JavaScript runs: removed rows left out."""
    total = Decimal("0")
    for form in formset.forms:
        if form.is_bound:
            if "DELETE" in form.fields and form["DELETE"].value():
                continue
            value = form["weight"].value()
        else:
            value = form.initial.get("weight")
        try:
            total += Decimal(str(value)) if value not in (None, "") else Decimal("0")
        except InvalidOperation:
            continue
    return total


def _blank_editor(
    source: Scorecard | None, initial: list[dict[str, Any]], versions: list[Scorecard]
) -> tuple[Any, ScorecardForm]:
    formset = CriterionFormSet(initial=initial, prefix="criteria")
    form_initial = scorecard_initial(source) if source else {"hysteresis": "2"}
    form_initial["latest_version"] = _latest_version(versions)
    return formset, ScorecardForm(initial=form_initial)


def _latest_version(versions: list[Scorecard]) -> int:
    return max((v.version for v in versions), default=0)


def _scorecard_page(
    request: HttpRequest,
    versions: list[Scorecard],
    source: Scorecard | None,
    formset: Any,
    form: ScorecardForm,
    *,
    spec_errors: dict[str, list[str]] | None = None,
    **extra: Any,
) -> HttpResponse:
    """The versions, the active one, the preview panel and the editor (with the errors of a refused save)."""
    tenant = request.tenant
    spec_errors = spec_errors or {}
    active = next((v for v in versions if v.status == ScorecardStatus.ACTIVE), None)
    has_errors = bool(spec_errors or any(formset.errors) or formset.non_form_errors() or form.errors)
    context: dict[str, Any] = {
        "versions": versions,
        "active": active,
        "active_criteria": [
            {"criterion": criterion, "normalization": presenters.normalization_text(criterion)}
            for criterion in (selectors.criterion_list(tenant, active) if active else [])
        ],
        "active_rules": selectors.tier_rule_list(tenant, active) if active else [],
        "source": source,
        "formset": formset,
        "form": form,
        **_weights(formset),
        "criteria_errors": spec_errors.get("criteria", []),
        "tier_errors": spec_errors.get("tiers", []),
        "other_errors": [m for key, errors in spec_errors.items() if key not in ("criteria", "tiers") for m in errors],
        "has_errors": has_errors,
    }
    draft_id = request.GET.get("draft")
    if draft_id:  # just saved: the preview panel loads itself
        context["preview_of"] = next((v for v in versions if str(v.pk) == draft_id), None)
    context.update(extra)
    return render(request, "scoring/scorecard.html", context, status=400 if has_errors else 200)


@tenant_view(roles=SCORECARD_EDITORS)
@require_http_methods(["GET", "POST"])
def scorecard(request: HttpRequest) -> HttpResponse:
    """The versions, and an editor that makes a new draft from the active (or a chosen) version."""
    tenant = request.tenant
    versions = list(selectors.scorecard_list(tenant))
    source = _editor_source(request, versions)
    initial = [criterion_initial(c) for c in selectors.criterion_list(tenant, source)] if source else []
    if request.method == "GET":
        return _scorecard_page(request, versions, source, *_blank_editor(source, initial, versions))
    formset = CriterionFormSet(request.POST, initial=initial, prefix="criteria")
    form = ScorecardForm(request.POST)
    spec_errors: dict[str, list[str]] = {}
    if formset.is_valid() and form.is_valid():
        spec: services.ScorecardSpec = {
            "criteria": [
                row.spec() for row in formset.forms if row.cleaned_data and not row.cleaned_data.get("DELETE")
            ],
            "tiers": form.tiers_spec(),
            "hysteresis": form.cleaned_data["hysteresis"],
            "note": form.cleaned_data["note"],
        }
        try:
            draft = services.scorecard_create_draft(
                tenant, spec=spec, actor=request.user, expected_latest_version=form.cleaned_data["latest_version"]
            )
        except ValidationError as exc:
            spec_errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
            if getattr(exc, "code", None) == services.STALE_SCORECARD_CODE:
                versions = list(selectors.scorecard_list(tenant))  # with the version just saved
                form.refused_as_stale(_latest_version(versions))
        else:
            messages.success(
                request,
                _("Draft version %(version)s was saved. Check who would move below, then activate it.")
                % {"version": draft.version},
            )
            return go(request, f"{_url(request, 'scoring-scorecard')}?draft={draft.pk}")
    return _scorecard_page(request, versions, source, formset, form, spec_errors=spec_errors)


@tenant_view(roles=SCORECARD_EDITORS)
@require_POST
def scorecard_preview(request: HttpRequest, scorecard_id: int) -> HttpResponse:
    """What-if: who would move up or down under this version; nothing is written."""
    version = selectors.scorecard_get(request.tenant, scorecard_id)
    form = RunStartForm(request.POST)
    as_of = form.cleaned_data["as_of"] if form.is_valid() else None
    preview = services.scorecard_preview_moves(request.tenant, scorecard=version, as_of=as_of)
    extra = {"preview_of": version, "preview": preview, "moves": preview["accounts"][:PREVIEW_ROWS]}
    if request.htmx:
        return render(request, "scoring/scorecard.html#preview", extra)
    # Without JavaScript: the whole page, with the preview in its panel and the editor on this version.
    versions = list(selectors.scorecard_list(request.tenant))
    initial = [criterion_initial(c) for c in selectors.criterion_list(request.tenant, version)]
    return _scorecard_page(request, versions, version, *_blank_editor(version, initial, versions), **extra)


@tenant_view(roles=SCORECARD_EDITORS)
@require_POST
def scorecard_activate(request: HttpRequest, scorecard_id: int) -> HttpResponse:
    version = selectors.scorecard_get(request.tenant, scorecard_id)
    try:
        services.scorecard_activate(request.tenant, scorecard=version, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("Version %(version)s is now active: the next score run uses it. Run now to re-tier the accounts.")
            % {"version": version.version},
        )
    return go(request, _url(request, "scoring-scorecard"))


# --- the account page's score tab ---------------------------------------------------------------


def _rating_criteria(request: HttpRequest) -> list[Criterion]:
    active = selectors.scorecard_get_active(request.tenant)
    if active is None:
        return []
    return [c for c in selectors.criterion_list(request.tenant, active) if c.kind == CriterionKind.RATING]


def _tab_context(
    request: HttpRequest,
    account: Account,
    *,
    rating_form: RatingForm | None = None,
    override_form: OverrideForm | None = None,
    request_form: OverrideRequestForm | None = None,
    decision_form: DecisionForm | None = None,
    notice: str = "",
) -> dict[str, Any]:
    tenant, membership = request.tenant, request.membership
    can_write = membership.role in WRITERS and access.can_write(tenant, membership, account)
    can_rate = can_write
    can_override = membership.role in OVERRIDE_APPROVERS
    can_request = can_write and membership.role in services.OVERRIDE_REQUESTERS
    rating_criteria = _rating_criteria(request) if can_rate else []
    ratings = selectors.rating_list_latest(tenant, account) if rating_criteria else {}
    current_override = selectors.override_get_active(tenant, account)
    pending = selectors.override_request_pending_of_account(tenant, account) if can_request or can_override else None
    context: dict[str, Any] = {
        "account": account,
        "notice": notice,
        "can_rate": can_rate and bool(rating_criteria),
        "can_override": can_override,
        "can_request": can_request,
        "rating_form": rating_form or RatingForm(criteria=rating_criteria),
        "override_form": override_form or OverrideForm(),
        "request_form": request_form or OverrideRequestForm(),
        "decision_form": decision_form or DecisionForm(auto_id=TAB_DECISION_ID),
        "pending_request": pending,
        "may_withdraw": pending is not None and pending.requested_by_id == request.user.pk,
        "current_override": current_override,
        "current_request": selectors.override_request_of_override(tenant, current_override),
        "rated": [{"criterion": c, "rating": ratings.get(c.key)} for c in rating_criteria],
        "tab_url": _url(request, "scoring-account-tab", account_id=account.pk),
    }
    score = selectors.score_get_latest(tenant, account)
    context["score"] = score
    if score is None:
        return context
    version = score.run.scorecard
    criteria = {c.key: c for c in selectors.criterion_list(tenant, version)}
    rules = selectors.tier_rule_list(tenant, version)
    rows = presenters.breakdown_rows(score.breakdown, criteria)
    history = list(selectors.score_list_of_account(tenant, account)[: presenters.HISTORY_POINTS])[::-1]
    applied = selectors.override_get_applied(tenant, score)
    context.update(
        version=version,
        rows=rows,
        unrated=presenters.unrated_criteria(rows),
        adjustments_text=formats.signed(score.adjustments),
        events=presenters.event_rows(selectors.event_list_active(tenant, account.pk, score.as_of)),
        history=history,
        chart=presenters.history_chart(history, rules),
        rules=rules,
        why=presenters.why_texts(score, rules, version.hysteresis, applied.reason if applied else ""),
        applied_override=applied,
        weighted_sum=sum((row.weighted for row in rows), Decimal("0")),
    )
    return context


def _account(request: HttpRequest, account_id: int) -> Account:
    """The account if the user may read it; another tenant's id, or not theirs: 404."""
    return account_get(request.tenant, request.membership, account_id)


def _tab_saved(request: HttpRequest, account: Account) -> HttpResponse:
    """After a rating or an override: the tab again with a notice (htmx), or the account page."""
    notice = _("Saved; the score updates in a few seconds.")
    if request.htmx:
        return render(request, TAB_TEMPLATE, _tab_context(request, account, notice=notice))
    messages.success(request, notice)
    return redirect(account_tabs.page_url(_slug(request), account.pk, "score"))


def _tab_invalid(request: HttpRequest, account: Account, form: Any, **forms: Any) -> HttpResponse:
    if request.htmx:
        return render(request, TAB_TEMPLATE, _tab_context(request, account, **forms), status=400)
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)
    return redirect(account_tabs.page_url(_slug(request), account.pk, "score"))


@tenant_view()
@require_GET
@vary_on_headers("HX-Request")
def account_tab(request: HttpRequest, account_id: int) -> HttpResponse:
    account = _account(request, account_id)
    if not account_tabs.is_tab_request(request):
        return redirect(account_tabs.page_url(_slug(request), account.pk, "score"))
    return render(request, TAB_TEMPLATE, _tab_context(request, account))


@tenant_view()
@require_POST
def account_rate(request: HttpRequest, account_id: int) -> HttpResponse:
    account = _account(request, account_id)
    if request.membership.role not in WRITERS or not access.can_write(request.tenant, request.membership, account):
        raise PermissionDenied
    form = RatingForm(request.POST, criteria=_rating_criteria(request))
    if form.is_valid():
        try:
            services.rating_add(
                request.tenant,
                account=account,
                criterion=form.cleaned_data["criterion"],
                value=form.cleaned_data["value"],
                comment=form.cleaned_data["comment"],
                actor=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _tab_saved(request, account)
    return _tab_invalid(request, account, form, rating_form=form)


@tenant_view()
@require_POST
def account_override(request: HttpRequest, account_id: int) -> HttpResponse:
    account = _account(request, account_id)
    if request.membership.role not in OVERRIDE_APPROVERS:
        raise PermissionDenied
    form = OverrideForm(request.POST)
    if form.is_valid():
        try:
            services.tier_override_set(
                request.tenant,
                account=account,
                tier=form.cleaned_data["tier"],
                reason=form.cleaned_data["reason"],
                expires_on=form.cleaned_data["expires_on"],
                actor=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _tab_saved(request, account)
    return _tab_invalid(request, account, form, override_form=form)


@tenant_view(roles=services.OVERRIDE_REQUESTERS)
@require_POST
def account_override_request(request: HttpRequest, account_id: int) -> HttpResponse:
    """A manager asks the directors for a tier by hand (等级调整申请)."""
    account = _account(request, account_id)
    if not access.can_write(request.tenant, request.membership, account):
        raise PermissionDenied(_("You do not serve this account, so you cannot ask for its tier to change."))
    form = OverrideRequestForm(request.POST)
    if form.is_valid():
        try:
            services.override_request_create(
                request.tenant,
                account=account,
                tier=form.cleaned_data["tier"],
                reason=form.cleaned_data["reason"],
                expires_on=form.cleaned_data["expires_on"],
                actor=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _tab_done(request, account, _("Your request was sent to the directors."))
    return _tab_invalid(request, account, form, request_form=form)


def _tab_done(request: HttpRequest, account: Account, notice: str) -> HttpResponse:
    """After a tier request was made, withdrawn or decided on the tab: the tab with a notice."""
    if request.htmx:
        return render(request, TAB_TEMPLATE, _tab_context(request, account, notice=notice))
    messages.success(request, notice)
    return redirect(account_tabs.page_url(_slug(request), account.pk, "score"))


def _override_request(request: HttpRequest, request_id: int) -> TierOverrideRequest:
    """The tier request by id; another tenant's id is 404."""
    return selectors.override_request_get(request.tenant, request_id)


@tenant_view(roles=services.OVERRIDE_REQUESTERS)
@require_POST
def override_request_withdraw(request: HttpRequest, request_id: int) -> HttpResponse:
    tier_request = _override_request(request, request_id)
    account = _account(request, tier_request.account_id)
    try:
        services.override_request_withdraw(request.tenant, request=tier_request, actor=request.user)
    except ValidationError as exc:
        return _tab_done(request, account, " ".join(exc.messages))
    return _tab_done(request, account, _("Your tier request was withdrawn."))


# --- tier requests: the directors' page and their decisions ----------------------------------------

REQUESTS_TEMPLATE = "scoring/override_requests.html"
DECIDED_PAGE_SIZE = 50


def _decision_forms(pending: list[TierOverrideRequest], invalid: dict[int, DecisionForm]) -> list[dict[str, Any]]:
    return [{"request": item, "form": invalid.get(item.pk) or DecisionForm(prefix=f"r{item.pk}")} for item in pending]


def _requests_page(request: HttpRequest, *, invalid: dict[int, DecisionForm] | None = None) -> HttpResponse:
    tenant = request.tenant
    show = "decided" if request.GET.get("show") == "decided" else "pending"
    pending = list(selectors.override_request_list(tenant, status=OverrideRequestStatus.PENDING))
    context: dict[str, Any] = {
        "show": show,
        "pending_count": len(pending),
        "rows": _decision_forms(pending, invalid or {}),
    }
    if show == "decided":
        context["page"] = Paginator(
            selectors.override_request_list(tenant, status="decided"), DECIDED_PAGE_SIZE
        ).get_page(request.GET.get("page"))
    template = f"{REQUESTS_TEMPLATE}#decided-rows" if show == "decided" and is_partial(request) else REQUESTS_TEMPLATE
    return render(request, template, context, status=400 if invalid else 200)


@tenant_view(roles=OVERRIDE_APPROVERS)
@require_GET
@vary_on_headers("HX-Request")
def override_requests(request: HttpRequest) -> HttpResponse:
    """等级调整申请: the pending tier requests with approve and reject, and those decided."""
    return _requests_page(request)


def _decide(request: HttpRequest, request_id: int, decision: str) -> HttpResponse:
    tier_request = _override_request(request, request_id)
    from_tab = request.POST.get("from") == "tab"
    form = (
        DecisionForm(request.POST, auto_id=TAB_DECISION_ID)
        if from_tab
        else DecisionForm(request.POST, prefix=f"r{tier_request.pk}")
    )
    if form.is_valid():
        decide = services.override_request_approve if decision == "approve" else services.override_request_reject
        try:
            decide(request.tenant, request=tier_request, comment=form.cleaned_data["comment"], actor=request.user)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            account = tier_request.account
            if decision == "approve":
                notice = _("Approved: %(account)s has tier %(tier)s; the score updates in a few seconds.") % {
                    "account": account.name,
                    "tier": tier_request.tier,
                }
            else:
                notice = _("Rejected the request for %(account)s.") % {"account": account.name}
            if from_tab:
                return _tab_done(request, _account(request, account.pk), notice)
            messages.success(request, notice)
            return go(request, _url(request, "scoring-override-requests"))
    if from_tab:
        return _tab_invalid(request, _account(request, tier_request.account_id), form, decision_form=form)
    return _requests_page(request, invalid={tier_request.pk: form})


@tenant_view(roles=OVERRIDE_APPROVERS)
@require_POST
def override_request_approve(request: HttpRequest, request_id: int) -> HttpResponse:
    return _decide(request, request_id, "approve")


@tenant_view(roles=OVERRIDE_APPROVERS)
@require_POST
def override_request_reject(request: HttpRequest, request_id: int) -> HttpResponse:
    return _decide(request, request_id, "reject")


@tenant_view()
@require_POST
def account_override_lift(request: HttpRequest, account_id: int) -> HttpResponse:
    account = _account(request, account_id)
    if request.membership.role not in OVERRIDE_APPROVERS:
        raise PermissionDenied
    services.tier_override_lift(request.tenant, account=account, actor=request.user)
    return _tab_saved(request, account)
