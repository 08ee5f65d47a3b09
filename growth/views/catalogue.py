"""The offerings settings page (产品与解决方案目录): the catalogue (list, create, edit,
deactivate with a confirmation), its import from CSV/XLSX with a row-by-row error report
(nothing written when any row is bad), and the product line -> offering mappings, with the
product lines of the orders that no mapping covers yet and their order counts.

Administrators change it; directors read it; other roles get 403. Writes go through
growth.services (audited). With htmx a write answers the page's body; without JavaScript it
redirects with a message (or answers the page with the error, 400). Another tenant's ids
are 404.
"""

from __future__ import annotations

import tempfile
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget

from growth import selectors, services
from growth.forms import MappingForm, OfferingForm, OfferingImportForm, offering_initial
from growth.models import Offering, ProductLineMapping
from kam.forms import add_service_errors
from kam.models import Role
from kam.pages import is_partial
from kam.permissions import ADMINS, tenant_view
from kam.tenancy import get_object_for_tenant

CATALOGUE_READERS = frozenset({Role.ADMIN, Role.DIRECTOR})


def _form_error(form: Any) -> str:
    return " ".join(str(message) for errors in form.errors.values() for message in errors)


def _context(
    request: HttpRequest,
    *,
    create_form: OfferingForm | None = None,
    edit_forms: dict[int, OfferingForm] | None = None,
    mapping_form: MappingForm | None = None,
    **extra: Any,
) -> dict[str, Any]:
    tenant = request.tenant
    offerings = list(selectors.offering_list(tenant))
    edit_forms = edit_forms or {}
    for offering in offerings:
        offering.form = edit_forms.get(offering.pk) or OfferingForm(
            initial=offering_initial(offering), auto_id=f"id_offering{offering.pk}_%s"
        )
    choices = selectors.offering_choice_list(tenant)
    unmapped, unmapped_total = selectors.unmapped_product_line_list(tenant)
    return {
        "offerings": offerings,
        "can_edit": request.membership.role in ADMINS,
        "create_form": create_form or OfferingForm(auto_id="id_new_%s"),
        "import_form": OfferingImportForm(),
        "mapping_form": mapping_form or MappingForm(offerings=choices, auto_id="id_mapping_%s"),
        "mappings": selectors.product_line_mapping_list(tenant),
        "unmapped": unmapped,
        "unmapped_total": unmapped_total,
        "offering_choices": choices,
        "import_result": None,
        "notice": "",
        "error": "",
        **extra,
    }


def _answer(request: HttpRequest, *, notice: str = "", error: str = "", anchor: str = "", **extra: Any) -> HttpResponse:
    if not error and not request.htmx:
        messages.success(request, notice)
        response = redirect("growth-offerings", tenant_slug=request.tenant.slug)
        if anchor:
            response["Location"] += f"#{anchor}"
        return response
    context = _context(request, notice=notice, error=error, **extra)
    status = 400 if error else 200
    if not is_partial(request):
        return render(request, "growth/catalogue.html", context, status=status)
    response = render(request, "growth/catalogue.html#catalogue-body", context, status=status)
    return reswap(retarget(response, "#catalogue-body"), "outerHTML")


@tenant_view(roles=CATALOGUE_READERS)
@require_GET
def offerings(request: HttpRequest) -> HttpResponse:
    return render(request, "growth/catalogue.html", _context(request))


@tenant_view(roles=ADMINS)
@require_POST
def offering_create(request: HttpRequest) -> HttpResponse:
    form = OfferingForm(request.POST, auto_id="id_new_%s")
    if form.is_valid():
        try:
            offering = services.offering_create(request.tenant, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _answer(
                request,
                notice=_("The offering “%(name)s” was added.") % {"name": offering.name},
                anchor=f"offering-{offering.pk}",
            )
    return _answer(
        request, error=_("The offering was not added: %(problem)s") % {"problem": _form_error(form)}, create_form=form
    )


@tenant_view(roles=ADMINS)
@require_POST
def offering_edit(request: HttpRequest, offering_id: int) -> HttpResponse:
    offering = get_object_for_tenant(Offering, request.tenant, offering_id)
    form = OfferingForm(request.POST, auto_id=f"id_offering{offering.pk}_%s")
    if form.is_valid():
        changes = {name: value for name, value in form.cleaned_data.items() if getattr(offering, name) != value}
        if not changes:
            return _answer(request, notice=_("Nothing was changed."), anchor=f"offering-{offering.pk}")
        try:
            services.offering_update(request.tenant, offering=offering, actor=request.user, **changes)
        except ValidationError as exc:
            offering.refresh_from_db()
            add_service_errors(form, exc)
        else:
            return _answer(
                request,
                notice=_("The offering “%(name)s” was saved.") % {"name": offering.name},
                anchor=f"offering-{offering.pk}",
            )
    return _answer(
        request,
        error=_("The offering was not saved: %(problem)s") % {"problem": _form_error(form)},
        edit_forms={offering.pk: form},
    )


@tenant_view(roles=ADMINS)
@require_http_methods(["GET", "POST"])
def offering_deactivate(request: HttpRequest, offering_id: int) -> HttpResponse:
    """GET is the confirmation for browsers without JavaScript (htmx asks with hx-confirm)."""
    offering = get_object_for_tenant(Offering, request.tenant, offering_id)
    if request.method == "GET":
        return render(request, "growth/catalogue_confirm.html", {"offering": offering, "action": "deactivate"})
    services.offering_deactivate(request.tenant, offering=offering, actor=request.user)
    return _answer(
        request,
        notice=_("The offering “%(name)s” is deactivated: it leaves the whitespace and new opportunities.")
        % {"name": offering.name},
        anchor=f"offering-{offering.pk}",
    )


@tenant_view(roles=ADMINS)
@require_POST
def offering_activate(request: HttpRequest, offering_id: int) -> HttpResponse:
    offering = get_object_for_tenant(Offering, request.tenant, offering_id)
    services.offering_activate(request.tenant, offering=offering, actor=request.user)
    return _answer(
        request,
        notice=_("The offering “%(name)s” is active again.") % {"name": offering.name},
        anchor=f"offering-{offering.pk}",
    )


@tenant_view(roles=ADMINS)
@require_POST
def offerings_import(request: HttpRequest) -> HttpResponse:
    form = OfferingImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _answer(request, error=_("Nothing was imported: %(problem)s") % {"problem": _form_error(form)})
    upload = form.cleaned_data["file"]
    with tempfile.NamedTemporaryFile(suffix=".upload") as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
        handle.flush()
        result = services.offerings_import(request.tenant, path=handle.name, file_name=upload.name, actor=request.user)
    if result.file_error:
        return _answer(request, error=_("Nothing was imported: %(problem)s") % {"problem": result.file_error})
    if result.errors:
        return _answer(
            request,
            error=_("Nothing was imported: %(count)s problems in the file; correct them and import it again.")
            % {"count": result.error_total},
            import_result=result,
            anchor="import",
        )
    return _answer(
        request,
        notice=_("Imported: %(created)s offerings added, %(updated)s changed, %(unchanged)s unchanged.")
        % {"created": result.created, "updated": result.updated, "unchanged": result.unchanged},
        anchor="catalogue",
    )


# --- product line mappings --------------------------------------------------------------------------


@tenant_view(roles=ADMINS)
@require_POST
def mapping_set(request: HttpRequest) -> HttpResponse:
    form = MappingForm(request.POST, offerings=selectors.offering_choice_list(request.tenant), auto_id="id_mapping_%s")
    if form.is_valid():
        try:
            mapping = services.product_line_mapping_set(
                request.tenant,
                product_line=form.cleaned_data["product_line"],
                offering=form.cleaned_data["offering"],
                actor=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _answer(
                request,
                notice=_("Orders of the product line “%(line)s” now count for %(offering)s.")
                % {"line": mapping.product_line, "offering": mapping.offering.name},
                anchor="mappings",
            )
    return _answer(
        request,
        error=_("The mapping was not saved: %(problem)s") % {"problem": _form_error(form)},
        mapping_form=form,
        anchor="mappings",
    )


@tenant_view(roles=ADMINS)
@require_http_methods(["GET", "POST"])
def mapping_delete(request: HttpRequest, mapping_id: int) -> HttpResponse:
    mapping = get_object_for_tenant(ProductLineMapping.objects.select_related("offering"), request.tenant, mapping_id)
    if request.method == "GET":
        return render(request, "growth/catalogue_confirm.html", {"mapping": mapping, "action": "unmap"})
    line = mapping.product_line
    services.product_line_mapping_delete(request.tenant, mapping=mapping, actor=request.user)
    return _answer(
        request,
        notice=_("The product line “%(line)s” is no longer mapped.") % {"line": line},
        anchor="mappings",
    )


urlpatterns = [
    path("offerings/", offerings, name="growth-offerings"),
    path("offerings/new/", offering_create, name="growth-offering-create"),
    path("offerings/import/", offerings_import, name="growth-offerings-import"),
    path("offerings/<int:offering_id>/edit/", offering_edit, name="growth-offering-edit"),
    path("offerings/<int:offering_id>/deactivate/", offering_deactivate, name="growth-offering-deactivate"),
    path("offerings/<int:offering_id>/activate/", offering_activate, name="growth-offering-activate"),
    path("offerings/mappings/", mapping_set, name="growth-mapping-set"),
    path("offerings/mappings/<int:mapping_id>/delete/", mapping_delete, name="growth-mapping-delete"),
]
