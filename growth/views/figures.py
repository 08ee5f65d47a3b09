"""The account overview's growth panel (accounts.panels): wallet, share of wallet and potential
as denormalised on the account (growth.metrics.account_figures_refresh), and the purchase
forecast per offering (growth.metrics.account_forecast). An htmx fragment; a plain visit goes
to the account page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from accounts import tabs as account_tabs
from accounts.selectors import account_get
from growth import metrics
from kam.permissions import tenant_view
from kam.tenancy import tenant_today


@tenant_view()
@require_GET
@vary_on_headers("HX-Request")
def account_figures(request: HttpRequest, account_id: int) -> HttpResponse:
    account = account_get(request.tenant, request.membership, account_id)  # 404: another tenant's, or not readable
    if not request.htmx:
        return redirect(
            reverse("accounts-detail", kwargs={"tenant_slug": request.tenant.slug, "account_id": account.pk})
        )
    today = tenant_today(request.tenant)
    forecasts = metrics.account_forecast(request.tenant, account, as_of=today)
    context = {
        "account": account,
        "forecasts": forecasts,
        "today": today,
        "whitespace_url": account_tabs.page_url(request.tenant.slug, account.pk, "whitespace"),
    }
    return render(request, "growth/_figures.html", context)


urlpatterns = [
    path("accounts/<int:account_id>/figures/", account_figures, name="growth-account-figures"),
]
