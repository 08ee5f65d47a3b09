"""Opportunity pages (商机): the pipeline (a board by stage and a table, filters by owner,
tier, offering and close month; a stage moves by drag and drop or by the select on each card,
which works without JavaScript), an opportunity's page, its create and edit forms, the stage
move, the delete with its confirmation, the account's "Opportunities" tab, and making an
opportunity from a customer need or an account plan's initiative in one step.

Who sees which opportunity: the readers of its account (growth.opportunities); who works it
(create, edit, move, delete): growth.opportunities.may_work, the rule of interactions. Another
tenant's opportunity, account, need or initiative is 404; seeing but not working is 403.

The board reads one aggregate query (count and amount per stage; a column's weighted sum is
its amount x the stage's probability) and the first PER_COLUMN cards of each column by
expected close, with a "more" link to the table: its cost does not grow with the pipeline.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.html import format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from accounts import tabs as account_tabs
from accounts.models import Account, Tier
from accounts.selectors import account_get, user_list
from growth import opportunities as opps
from growth.models import CLOSED_STAGES, OPEN_STAGES, STAGE_PROBABILITY, BuyingCentre, Offering, Opportunity, Stage
from kam.forms import DateField, UserChoiceField, add_service_errors
from kam.models import User
from kam.pages import is_partial
from kam.permissions import tenant_view
from kam.tenancy import get_object_for_tenant, tenant_today

PER_COLUMN = 10
PAGE_SIZE = 50
TAB_PAGE_SIZE = 20
TAB_KEY = "opportunities"
FILTER_KEYS = ("owner", "tier", "offering", "month")


# --- forms ---------------------------------------------------------------------------------------


class AccountChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Account) -> str:
        return obj.name


class CentreChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: BuyingCentre) -> str:
        return f"{obj.name} ({obj.code})"


class OfferingChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Offering) -> str:
        return f"{obj.code} · {obj.name}"


class OpportunityForm(forms.Form):
    account = AccountChoiceField(
        label=gettext_lazy("Account"),
        queryset=Account.objects.none(),
        error_messages={
            "required": gettext_lazy("Choose the account."),
            "invalid_choice": gettext_lazy("Choose one of the accounts you may work opportunities for."),
        },
    )
    buying_centre = CentreChoiceField(
        label=gettext_lazy("Buying centre"),
        queryset=BuyingCentre.objects.none(),
        required=False,
        empty_label=gettext_lazy("— the account as a whole —"),
        error_messages={"invalid_choice": gettext_lazy("Choose a buying centre of this account.")},
    )
    title = forms.CharField(label=pgettext_lazy("opportunity", "Title"), max_length=200)
    amount = forms.DecimalField(
        label=gettext_lazy("Amount"),
        max_digits=16,
        decimal_places=2,
        error_messages={"invalid": gettext_lazy("Enter the amount, a number of 0 or more.")},
    )
    expected_close = DateField(
        label=gettext_lazy("Expected close"),
    )
    owner = UserChoiceField(
        label=gettext_lazy("Owner"),
        queryset=User.objects.none(),  # the tenant's people, set in __init__
        required=False,
        empty_label=gettext_lazy("— nobody —"),
    )
    stage = forms.ChoiceField(label=gettext_lazy("Stage"), choices=Stage.choices, initial=Stage.LEAD)
    lost_reason = forms.CharField(
        label=gettext_lazy("Reason lost"),
        max_length=300,
        required=False,
        help_text=gettext_lazy("Kept when the stage is Lost."),
    )
    offerings = OfferingChoiceField(
        label=gettext_lazy("Offerings"),
        queryset=Offering.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": gettext_lazy("Choose offerings of the catalogue.")},
    )
    description = forms.CharField(
        label=gettext_lazy("Description"), required=False, max_length=20_000, widget=forms.Textarea(attrs={"rows": 4})
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(
        self,
        *args: Any,
        tenant: Any,
        accounts: QuerySet[Account],
        opportunity: Opportunity | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = accounts
        # choosing another account loads its buying centres (htmx); without JavaScript a save does
        centres_url = reverse("growth-opportunity-centres", kwargs={"tenant_slug": tenant.slug})
        self.fields["account"].widget.attrs.update(
            {
                "hx-get": centres_url,
                "hx-trigger": "change",
                "hx-target": "#id_buying_centre",
                "hx-swap": "innerHTML",
                "hx-params": "account",
            }
        )
        self.fields["owner"].queryset = user_list(tenant, include=[opportunity.owner_id] if opportunity else [])
        linked = list(opportunity.offerings.values_list("pk", flat=True)) if opportunity else []
        self.fields["offerings"].queryset = Offering.objects.filter(Q(is_active=True) | Q(pk__in=linked)).order_by(
            "position", "code", "id"
        )
        raw = self.data.get("account") if self.is_bound else self.initial.get("account")
        account_id = raw.pk if isinstance(raw, Account) else raw
        if account_id and str(account_id).isascii() and str(account_id).isdigit() and len(str(account_id)) < 19:
            self.fields["buying_centre"].queryset = BuyingCentre.objects.filter(account_id=int(account_id)).order_by(
                "-is_primary", "name", "id"
            )


class MoveForm(forms.Form):
    stage = forms.CharField(max_length=20)
    lost_reason = forms.CharField(max_length=300, required=False)
    version = forms.IntegerField(required=False, min_value=1)


# --- helpers -------------------------------------------------------------------------------------


def _workable_accounts(request: HttpRequest) -> QuerySet[Account]:
    """The accounts the member may work opportunities for, by name."""
    from service.selectors import account_list_for_logging

    return account_list_for_logging(request.tenant, request.membership)


def _may_work(request: HttpRequest, account: Account) -> bool:
    return opps.may_work(request.tenant, request.membership, account)


def _workable(request: HttpRequest, opportunity_id: int) -> Opportunity:
    """Seen (else 404) and the member's to work (else 403)."""
    opportunity = opps.opportunity_get(request.tenant, request.membership, opportunity_id)
    if not _may_work(request, opportunity.account):
        raise PermissionDenied
    return opportunity


def _int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() and 0 < len(value) < 19 else None


def _filters(request: HttpRequest, params: QueryDict) -> tuple[opps.PipelineFilters, dict[str, str]]:
    """The pipeline's filters from the query; unknown values are ignored, never an error."""
    raw = {key: params.get(key, "").strip() for key in FILTER_KEYS}
    owner = request.user.pk if raw["owner"] == "me" else _int(raw["owner"])
    tier = raw["tier"] if raw["tier"] in Tier.values else ""
    month = opps.parse_month(raw["month"]) if raw["month"] else None
    filters = opps.PipelineFilters(owner=owner, tier=tier, offering=_int(raw["offering"]), close_month=month)
    shown = {
        "owner": raw["owner"] if owner else "",
        "tier": tier,
        "offering": str(filters.offering or ""),
        "month": month.strftime("%Y-%m") if month else "",
    }
    return filters, shown


def _query(shown: dict[str, str], **extra: Any) -> str:
    return urlencode({key: value for key, value in {**shown, **extra}.items() if value})


def _pipeline_url(request: HttpRequest) -> str:
    return reverse("growth-pipeline", kwargs={"tenant_slug": request.tenant.slug})


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
        return target
    return fallback


def _stage_choices() -> list[tuple[str, str]]:
    return [(value, f"{label} · {STAGE_PROBABILITY[value]}%") for value, label in Stage.choices]


def _filter_context(request: HttpRequest, shown: dict[str, str]) -> dict[str, Any]:
    return {
        "shown": shown,
        "owners": list(user_list(request.tenant)),
        "tiers": Tier.choices,
        "offering_choices": list(Offering.objects.filter(is_active=True).order_by("position", "code", "id")),
        "query": _query(shown),
    }


def _board_context(request: HttpRequest, filters: opps.PipelineFilters, shown: dict[str, str]) -> dict[str, Any]:
    board = opps.pipeline_board(request.tenant, request.membership, filters, per_column=PER_COLUMN)
    cards = [card for column in board.columns for card in column.cards]
    workable = _workable_account_ids(request, {card.account_id for card in cards})
    # each card's links from one reverse() apiece (a reverse per card costs more than the SQL)
    slug = request.tenant.slug
    page_url = reverse("growth-opportunity", kwargs={"tenant_slug": slug, "opportunity_id": 0})[:-2]
    move_url = reverse("growth-opportunity-move", kwargs={"tenant_slug": slug, "opportunity_id": 0})
    # each card's stage <select> options, rendered once per stage rather than once per card
    choices = [(value, str(label)) for value, label in Stage.choices]
    options = {
        stage: format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            ((value, mark_safe(" selected") if value == stage else "", label) for value, label in choices),
        )
        for stage, _label in choices
    }
    for card in cards:
        card.may_work = card.account_id in workable
        card.url = f"{page_url}{card.pk}/"
        card.move_url = move_url.replace("/0/", f"/{card.pk}/")
        card.stage_options = options[card.stage]
    return {"board": board, "view": "board"}


def _workable_account_ids(request: HttpRequest, account_ids: set[int]) -> set[int]:
    """Of these accounts, those the member works opportunities for (one query)."""
    if not account_ids:
        return set()
    if request.membership.role not in opps.WORKERS:
        return set()
    return set(_workable_accounts(request).filter(pk__in=account_ids).values_list("pk", flat=True))


# --- the pipeline --------------------------------------------------------------------------------


@tenant_view()
@require_GET
@vary_on_headers("HX-Request")
def pipeline(request: HttpRequest) -> HttpResponse:
    filters, shown = _filters(request, request.GET)
    view = "table" if request.GET.get("view") == "table" else "board"
    context: dict[str, Any] = {
        **_filter_context(request, shown),
        "view": view,
        "can_create": request.membership.role in ("admin", "director", "manager", "member"),
        "pipeline_url": _pipeline_url(request),
    }
    if view == "board":
        context.update(_board_context(request, filters, shown))
    else:
        stage = request.GET.get("stage", "")
        filters.stage = stage if stage in Stage.values else ""
        rows = opps.opportunity_list_filtered(request.tenant, request.membership, filters)
        totals = opps.pipeline_totals(
            request.tenant,
            opps.opportunity_list_filtered(
                request.tenant, request.membership, opps.PipelineFilters(**{**filters.__dict__, "stage": ""})
            ),
        )
        count = (
            sum(number for number, _amount in totals.values())
            if not filters.stage
            else totals.get(filters.stage, (0, Decimal("0")))[0]
        )
        # the page's ids from the opportunities alone, then their rows with the joins
        paginator = Paginator(rows.order_by("expected_close", "id").values_list("id", flat=True), PAGE_SIZE)
        paginator.count = count  # from the aggregate: no second COUNT(*) of the pipeline
        page = paginator.get_page(request.GET.get("page"))
        rows_list = opps.page_rows(request.tenant, list(page.object_list))
        context.update(
            {
                "page": page,
                "rows": rows_list,
                "stage": filters.stage,
                "stages": Stage.choices,
                "page_query": _query(shown, view="table", stage=filters.stage),
                "stage_totals": [
                    {
                        "stage": value,
                        "label": label,
                        "count": totals.get(value, (0, 0))[0],
                        "amount": totals.get(value, (0, Decimal("0")))[1],
                        "weighted": opps.weighted_of(totals.get(value, (0, Decimal("0")))[1], value),
                    }
                    for value, label in Stage.choices
                ],
            }
        )
    template = "growth/pipeline.html#pipeline-body" if is_partial(request) else "growth/pipeline.html"
    return render(request, template, context)


@tenant_view()
@require_POST
def opportunity_move(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    """Move to a stage: the board's drag and drop and its select (answering the board again, or
    redirecting back without JavaScript), and the opportunity page's form."""
    opportunity = _workable(request, opportunity_id)
    form = MoveForm(request.POST)
    error = ""
    stage = ""
    if not form.is_valid():
        error = _("Choose a stage.")
    else:
        stage = form.cleaned_data["stage"].strip()
        try:
            opps.opportunity_move(
                request.tenant,
                opportunity=opportunity,
                stage=stage,
                lost_reason=form.cleaned_data["lost_reason"] if stage == Stage.LOST else opps.UNSET,
                expected_version=form.cleaned_data["version"],
                actor=request.user,
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
    notice = (
        ""
        if error
        else _("“%(title)s” is now at %(stage)s.")
        % {
            "title": opportunity.title,
            "stage": Stage(stage).label,
        }
    )
    if request.htmx and request.POST.get("from") == "board":
        filters, shown = _filters(request, QueryDict(request.POST.get("query", "")))
        context = {
            **_filter_context(request, shown),
            **_board_context(request, filters, shown),
            "notice": notice,
            "error": error,
            "pipeline_url": _pipeline_url(request),
        }
        return render(request, "growth/pipeline_board.html", context, status=400 if error else 200)
    fallback = reverse(
        "growth-opportunity", kwargs={"tenant_slug": request.tenant.slug, "opportunity_id": opportunity.pk}
    )
    if error:
        messages.error(request, _("Nothing was changed.") + " " + error)
    else:
        messages.success(request, notice)
    return redirect(_safe_next(request, fallback))


# --- one opportunity -----------------------------------------------------------------------------


@tenant_view()
@require_GET
def opportunity_detail(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    opportunity = opps.opportunity_get(request.tenant, request.membership, opportunity_id)
    opps.attach_offerings(request.tenant, [opportunity])
    context = {
        "opportunity": opportunity,
        "may_work": _may_work(request, opportunity.account),
        "stage_choices": _stage_choices(),
        "pipeline_url": _pipeline_url(request),
        "is_closed": opportunity.stage in CLOSED_STAGES,
    }
    return render(request, "growth/opportunity.html", context)


def _initial_from_query(request: HttpRequest, accounts: QuerySet[Account]) -> dict[str, Any]:
    """?account=&buying_centre=&offering= prefill the form (ids the member may not use are ignored)."""
    initial: dict[str, Any] = {
        "owner": request.user.pk,
        "stage": Stage.LEAD,
        "expected_close": tenant_today(request.tenant) + dt.timedelta(days=opps.DEFAULT_CLOSE_DAYS),
    }
    account = accounts.filter(pk=_int(request.GET.get("account"))).first() if _int(request.GET.get("account")) else None
    if account is not None:
        initial["account"] = account.pk
        centre_id = _int(request.GET.get("buying_centre"))
        if centre_id and BuyingCentre.objects.filter(pk=centre_id, account=account).exists():
            initial["buying_centre"] = centre_id
    offering_id = _int(request.GET.get("offering"))
    if offering_id and Offering.objects.filter(pk=offering_id, is_active=True).exists():
        initial["offerings"] = [offering_id]
    return initial


@tenant_view()
@require_http_methods(["GET", "POST"])
def opportunity_create(request: HttpRequest) -> HttpResponse:
    accounts = _workable_accounts(request)
    if request.method == "POST":
        form = OpportunityForm(request.POST, tenant=request.tenant, accounts=accounts)
        if form.is_valid():
            data = dict(form.cleaned_data)
            data.pop("version", None)
            try:
                opportunity = opps.opportunity_create(request.tenant, actor=request.user, **data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("The opportunity “%(title)s” was created.") % {"title": opportunity.title})
                return redirect("growth-opportunity", tenant_slug=request.tenant.slug, opportunity_id=opportunity.pk)
        status = 400
    else:
        form = OpportunityForm(initial=_initial_from_query(request, accounts), tenant=request.tenant, accounts=accounts)
        status = 200
    context = {
        "form": form,
        "opportunity": None,
        "has_accounts": accounts.exists(),
        "pipeline_url": _pipeline_url(request),
    }
    return render(request, "growth/opportunity_form.html", context, status=status)


@tenant_view()
@require_http_methods(["GET", "POST"])
def opportunity_edit(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    opportunity = _workable(request, opportunity_id)
    accounts = _workable_accounts(request)
    if request.method == "POST":
        form = OpportunityForm(request.POST, tenant=request.tenant, accounts=accounts, opportunity=opportunity)
        if form.is_valid():
            data = dict(form.cleaned_data)
            version = data.pop("version", None)
            try:
                opps.opportunity_update(
                    request.tenant, opportunity=opportunity, actor=request.user, expected_version=version, **data
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("The opportunity was saved."))
                return redirect("growth-opportunity", tenant_slug=request.tenant.slug, opportunity_id=opportunity.pk)
        status = 400
    else:
        initial = {
            "account": opportunity.account_id,
            "buying_centre": opportunity.buying_centre_id,
            "title": opportunity.title,
            "amount": opportunity.amount,
            "expected_close": opportunity.expected_close,
            "owner": opportunity.owner_id,
            "stage": opportunity.stage,
            "lost_reason": opportunity.lost_reason,
            "offerings": list(opportunity.offerings.values_list("pk", flat=True)),
            "description": opportunity.description,
            "version": opportunity.version,
        }
        form = OpportunityForm(initial=initial, tenant=request.tenant, accounts=accounts, opportunity=opportunity)
        status = 200
    context = {"form": form, "opportunity": opportunity, "has_accounts": True, "pipeline_url": _pipeline_url(request)}
    return render(request, "growth/opportunity_form.html", context, status=status)


@tenant_view()
@require_http_methods(["GET", "POST"])
def opportunity_delete(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    """GET asks (a page of its own); POST deletes."""
    opportunity = _workable(request, opportunity_id)
    if request.method == "GET":
        return render(
            request,
            "growth/opportunity_confirm.html",
            {"opportunity": opportunity, "pipeline_url": _pipeline_url(request)},
        )
    title = opportunity.title
    account_id = opportunity.account_id
    try:
        opps.opportunity_delete(request.tenant, opportunity=opportunity, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("growth-opportunity", tenant_slug=request.tenant.slug, opportunity_id=opportunity_id)
    messages.success(request, _("The opportunity “%(title)s” was deleted.") % {"title": title})
    return redirect(_safe_next(request, account_tabs.page_url(request.tenant.slug, account_id, TAB_KEY)))


@tenant_view()
@require_GET
def opportunity_centre_options(request: HttpRequest) -> HttpResponse:
    """The buying centres of the account chosen in the form, as options (htmx swaps them in)."""
    account_id = _int(request.GET.get("account"))
    account = _workable_accounts(request).filter(pk=account_id).first() if account_id else None
    centres = (
        BuyingCentre.objects.filter(account=account).order_by("-is_primary", "name", "id")
        if account is not None
        else BuyingCentre.objects.none()
    )
    return render(request, "growth/opportunity_centre_options.html", {"centres": centres})


# --- the account's tab ---------------------------------------------------------------------------


@tenant_view()
@require_GET
def account_opportunities(request: HttpRequest, account_id: int) -> HttpResponse:
    account = account_get(request.tenant, request.membership, account_id)
    slug = request.tenant.slug
    if not account_tabs.is_tab_request(request):
        return redirect(account_tabs.page_url(slug, account.pk, TAB_KEY, page=request.GET.get("page", "")))
    rows = opps.opportunity_list_for_account(request.tenant, account)
    totals = opps.pipeline_totals(request.tenant, Opportunity.objects.filter(account=account))
    open_count = sum(totals.get(stage, (0, 0))[0] for stage in OPEN_STAGES)
    open_amount = sum((totals.get(stage, (0, Decimal("0")))[1] for stage in OPEN_STAGES), Decimal("0"))
    weighted = sum(
        (opps.weighted_of(totals.get(stage, (0, Decimal("0")))[1], stage) for stage in OPEN_STAGES), Decimal("0")
    )
    paginator = Paginator(rows.values_list("id", flat=True), TAB_PAGE_SIZE)
    paginator.count = sum(number for number, _amount in totals.values())
    page = paginator.get_page(request.GET.get("page"))
    page_rows = opps.page_rows(request.tenant, list(page.object_list))
    context = {
        "account": account,
        "page": page,
        "rows": page_rows,
        "open_count": open_count,
        "open_amount": open_amount,
        "weighted": weighted,
        "won_count": totals.get(Stage.WON, (0, 0))[0],
        "won_amount": totals.get(Stage.WON, (0, Decimal("0")))[1],
        "can_create": _may_work(request, account),
        "tab_key": TAB_KEY,
        "tab_url": reverse("growth-account-opportunities", kwargs={"tenant_slug": slug, "account_id": account.pk}),
        "page_url": reverse("accounts-detail", kwargs={"tenant_slug": slug, "account_id": account.pk}),
        "pipeline_url": _pipeline_url(request),
    }
    return render(request, "growth/opportunities_tab.html", context)


# --- from a need, from an initiative -------------------------------------------------------------


def _made(request: HttpRequest, opportunity: Opportunity, created: bool) -> HttpResponse:
    if created:
        messages.success(request, _("The opportunity “%(title)s” was made.") % {"title": opportunity.title})
    else:
        messages.info(request, _("This was made an opportunity already: here it is."))
    return redirect("growth-opportunity", tenant_slug=request.tenant.slug, opportunity_id=opportunity.pk)


@tenant_view()
@require_POST
def opportunity_from_need(request: HttpRequest, need_id: int) -> HttpResponse:
    from service.selectors import need_get

    need = need_get(request.tenant, request.membership, need_id)
    back = reverse("service-need", kwargs={"tenant_slug": request.tenant.slug, "need_id": need.pk})
    found = opps.opportunity_by_need(request.tenant, need.pk)
    if (
        found is not None
        and opps.opportunity_list_visible(request.tenant, request.membership).filter(pk=found.pk).exists()
    ):
        return _made(request, found, False)
    if need.account_id is None:
        messages.error(
            request, _("This need has no account yet: set its account (triage) before making it an opportunity.")
        )
        return redirect(back)
    if not _may_work(request, need.account):
        raise PermissionDenied
    try:
        opportunity, created = opps.opportunity_from_need(request.tenant, need=need, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(back)
    return _made(request, opportunity, created)


@tenant_view()
@require_POST
def opportunity_from_initiative(request: HttpRequest, initiative_id: int) -> HttpResponse:
    from teams.models import Initiative

    initiative = get_object_for_tenant(Initiative.objects.select_related("plan"), request.tenant, initiative_id)
    account = account_get(request.tenant, request.membership, initiative.plan.account_id)  # 404 unless read
    found = opps.opportunity_by_initiative(request.tenant, initiative.pk)
    if found is not None:
        return _made(request, found, False)
    if not _may_work(request, account):
        raise PermissionDenied
    try:
        opportunity, created = opps.opportunity_from_initiative(
            request.tenant, initiative=initiative, actor=request.user
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(account_tabs.page_url(request.tenant.slug, account.pk, TAB_KEY))
    return _made(request, opportunity, created)


urlpatterns = [
    path("pipeline/", pipeline, name="growth-pipeline"),
    path("opportunities/new/", opportunity_create, name="growth-opportunity-create"),
    path("opportunities/centres/", opportunity_centre_options, name="growth-opportunity-centres"),
    path("opportunities/<int:opportunity_id>/", opportunity_detail, name="growth-opportunity"),
    path("opportunities/<int:opportunity_id>/edit/", opportunity_edit, name="growth-opportunity-edit"),
    path("opportunities/<int:opportunity_id>/stage/", opportunity_move, name="growth-opportunity-move"),
    path("opportunities/<int:opportunity_id>/delete/", opportunity_delete, name="growth-opportunity-delete"),
    path("accounts/<int:account_id>/opportunities/", account_opportunities, name="growth-account-opportunities"),
    path("needs/<int:need_id>/opportunity/", opportunity_from_need, name="growth-opportunity-from-need"),
    path(
        "initiatives/<int:initiative_id>/opportunity/",
        opportunity_from_initiative,
        name="growth-opportunity-from-initiative",
    ),
]
