"""The classification settings page (需求分类): the categories of needs (names, whom they are
routed to, whether the directors are told, active, position) with their keyword rules, and
the state of the tenant's text model with a button that trains it now.

Administrators change it; directors read it (every write is for administrators, 403 else);
the other roles get 403. Writes go through service.services (audited); a bad value shows its
message beside its form and writes nothing. With htmx a write answers the page's body;
without JavaScript it redirects with a message (or answers the page with the error, 400),
and deleting a keyword asks on a page of its own. Another tenant's ids are 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget

from kam.formats import format_percent
from kam.forms import add_service_errors
from kam.models import Role
from kam.pages import is_partial
from kam.permissions import ADMINS, tenant_view
from kam.tenancy import get_object_for_tenant
from service import services
from service.forms import CategoryForm, KeywordRuleForm, KeywordWeightForm, category_initial
from service.models import Category, CategorySource, ClassifierModel, KeywordRule, Need

SETTINGS_READERS = frozenset({Role.ADMIN, Role.DIRECTOR})
# DESIGN section 11: the model is trained once this many needs have a category a person set or
# confirmed (service.learning has the figure when it is there).
try:
    from service.learning import MIN_SAMPLES as MODEL_MIN_SAMPLES
except ImportError:  # pragma: no cover - the learning module without its constant
    MODEL_MIN_SAMPLES = 50


# --- what the page shows ---------------------------------------------------------------------------


def _model_state(request: HttpRequest) -> dict[str, Any]:
    """The latest text model and its report, read defensively: the report is JSON written by
    service.learning, and an older model's may lack a key."""
    latest = ClassifierModel.objects.defer("payload").order_by("-trained_at", "-id").first()
    labelled = Need.objects.filter(category_source=CategorySource.PERSON, category__isnull=False).count()
    state: dict[str, Any] = {"model": latest, "labelled": labelled, "min_samples": MODEL_MIN_SAMPLES}
    if latest is None:
        return state
    report = latest.report if isinstance(latest.report, dict) else {}
    names = {category.key: category.name for category in Category.objects.all()}
    rows = []
    per_category = report.get("categories")
    if isinstance(per_category, dict):
        for key, figures in per_category.items():
            if not isinstance(figures, dict):
                continue
            terms = figures.get("terms") if isinstance(figures.get("terms"), list) else []
            rows.append(
                {
                    "name": names.get(key, key),
                    "support": figures.get("support"),
                    "model_accuracy": format_percent(figures.get("model_accuracy")),
                    "rules_accuracy": format_percent(figures.get("rules_accuracy")),
                    "model_precision": format_percent(figures.get("model_precision")),
                    "terms": [str(term) for term in terms[:8]],
                }
            )
    left_out = report.get("left_out")
    if isinstance(left_out, dict):
        left_out = [names.get(key, key) for key in left_out]
    elif isinstance(left_out, list):
        left_out = [names.get(str(key), str(key)) for key in left_out]
    else:
        left_out = []
    state.update(
        {
            "cv_accuracy": format_percent(latest.cv_accuracy),
            "rules_accuracy": format_percent(latest.rules_accuracy),
            "coverage": format_percent(report.get("coverage")),
            "combined_accuracy": format_percent(report.get("rules_then_model_accuracy")),
            "folds": report.get("folds"),
            "rows": rows,
            "left_out": left_out,
        }
    )
    return state


def _categories(
    request: HttpRequest, *, category_forms: dict[int, CategoryForm], rule_forms: dict[int, KeywordRuleForm]
) -> list[Category]:
    """Every category with its keywords (two queries), its form and its add-keyword form (the
    posted ones, with their errors, where a write was refused)."""
    rules = KeywordRule.objects.order_by("keyword", "id")
    categories = list(Category.objects.order_by("position", "id").prefetch_related(Prefetch("rules", queryset=rules)))
    for category in categories:
        category.form = category_forms.get(category.pk) or CategoryForm(
            initial=category_initial(category), auto_id=f"id_category{category.pk}_%s"
        )
        category.rule_form = rule_forms.get(category.pk) or KeywordRuleForm(auto_id=f"id_rule{category.pk}_%s")
    return categories


def _context(
    request: HttpRequest,
    *,
    category_forms: dict[int, CategoryForm] | None = None,
    rule_forms: dict[int, KeywordRuleForm] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "categories": _categories(request, category_forms=category_forms or {}, rule_forms=rule_forms or {}),
        "can_edit": request.membership.role in ADMINS,
        "state": _model_state(request),
        "rule_error": None,
        **extra,
    }


def _answer(request: HttpRequest, *, notice: str = "", error: str = "", anchor: str = "", **extra: Any) -> HttpResponse:
    """After a write: with htmx the page's body again; without, a redirect with a message, or
    the page with the error (400)."""
    if not error and not request.htmx:
        messages.success(request, notice)
        response = redirect("service-rules", tenant_slug=request.tenant.slug)
        if anchor:
            response["Location"] += f"#{anchor}"
        return response
    context = _context(request, notice=notice, error=error, **extra)
    status = 400 if error else 200
    if not is_partial(request):
        return render(request, "service/rules.html", context, status=status)
    response = render(request, "service/rules.html#rules-body", context, status=status)
    return reswap(retarget(response, "#rules-body"), "outerHTML")


def _form_error(form: Any) -> str:
    return " ".join(str(message) for errors in form.errors.values() for message in errors)


@tenant_view(roles=SETTINGS_READERS)
@require_GET
def rules(request: HttpRequest) -> HttpResponse:
    return render(request, "service/rules.html", _context(request))


# --- categories ------------------------------------------------------------------------------------


@tenant_view(roles=ADMINS)
@require_POST
def category_edit(request: HttpRequest, category_id: int) -> HttpResponse:
    category = get_object_for_tenant(Category, request.tenant, category_id)
    form = CategoryForm(request.POST, auto_id=f"id_category{category.pk}_%s")
    if form.is_valid():
        changes = {name: value for name, value in form.cleaned_data.items() if getattr(category, name) != value}
        if not changes:
            return _answer(request, notice=_("Nothing was changed."), anchor=f"category-{category.pk}")
        try:
            services.category_update(request.tenant, category=category, actor=request.user, **changes)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _answer(
                request,
                notice=_("The category “%(name)s” was saved.") % {"name": category.name},
                anchor=f"category-{category.pk}",
            )
    return _answer(
        request,
        error=_("The category was not saved: %(problem)s") % {"problem": _form_error(form)},
        category_forms={category.pk: form},
    )


# --- keyword rules ---------------------------------------------------------------------------------


@tenant_view(roles=ADMINS)
@require_POST
def rule_create(request: HttpRequest, category_id: int) -> HttpResponse:
    category = get_object_for_tenant(Category, request.tenant, category_id)
    form = KeywordRuleForm(request.POST, auto_id=f"id_rule{category.pk}_%s")
    if form.is_valid():
        try:
            rule = services.keyword_rule_create(
                request.tenant, category=category, actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _answer(
                request,
                notice=_("The keyword “%(keyword)s” was added to %(category)s.")
                % {"keyword": rule.keyword, "category": category.name},
                anchor=f"category-{category.pk}",
            )
    return _answer(
        request,
        error=_("The keyword was not added: %(problem)s") % {"problem": _form_error(form)},
        rule_forms={category.pk: form},
    )


@tenant_view(roles=ADMINS)
@require_POST
def rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    """A keyword's weight (``weight``), or (de)activating it (``active`` = 1 or 0)."""
    rule = get_object_for_tenant(KeywordRule.objects.select_related("category"), request.tenant, rule_id)
    anchor = f"category-{rule.category_id}"
    if "active" in request.POST:
        active = request.POST.get("active") == "1"
        services.keyword_rule_update(request.tenant, rule=rule, is_active=active, actor=request.user)
        notice = (
            _("The keyword “%(keyword)s” is active again.")
            if active
            else _("The keyword “%(keyword)s” is deactivated: it no longer classifies needs.")
        )
        return _answer(request, notice=notice % {"keyword": rule.keyword}, anchor=anchor)
    form = KeywordWeightForm(request.POST)
    if not form.is_valid():
        error = _("The weight of “%(keyword)s” was not changed: %(problem)s") % {
            "keyword": rule.keyword,
            "problem": _form_error(form),
        }
        return _answer(request, error=error, rule_error={"rule": rule.pk, "message": _form_error(form)})
    services.keyword_rule_update(request.tenant, rule=rule, weight=form.cleaned_data["weight"], actor=request.user)
    return _answer(
        request,
        notice=_("The weight of “%(keyword)s” is now %(weight)s.")
        % {"keyword": rule.keyword, "weight": form.cleaned_data["weight"]},
        anchor=anchor,
    )


@tenant_view(roles=ADMINS)
@require_http_methods(["GET", "POST"])
def rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    """GET is the confirmation for browsers without JavaScript (htmx asks with hx-confirm)."""
    rule = get_object_for_tenant(KeywordRule.objects.select_related("category"), request.tenant, rule_id)
    if request.method == "GET":
        return render(request, "service/rules_confirm.html", {"rule": rule})
    keyword, anchor = rule.keyword, f"category-{rule.category_id}"
    services.keyword_rule_delete(request.tenant, rule=rule, actor=request.user)
    return _answer(request, notice=_("The keyword “%(keyword)s” was deleted.") % {"keyword": keyword}, anchor=anchor)


# --- the text model --------------------------------------------------------------------------------


@tenant_view(roles=ADMINS)
@require_POST
def train_now(request: HttpRequest) -> HttpResponse:
    services.classifier_training_queue(request.tenant, actor=request.user)
    return _answer(
        request,
        notice=_(
            "Training was queued. It takes a few minutes; reload this page to see the new model. "
            "Below %(count)s needs categorised by people, no model is trained."
        )
        % {"count": MODEL_MIN_SAMPLES},
        anchor="text-model",
    )
