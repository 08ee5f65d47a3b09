"""Service pages, under /t/<tenant_slug>/service/ (kam/urls.py)."""

from __future__ import annotations

from django.urls import path

from service.views import inbox, need, rules

urlpatterns = [
    path("needs/", inbox.needs, name="service-needs"),
    path("needs/new/", inbox.need_create, name="service-need-create"),
    path("needs/bulk/", inbox.needs_bulk, name="service-needs-bulk"),
    path("needs/mine/", inbox.my_needs, name="service-my-needs"),
    path("needs/<int:need_id>/", need.need_detail, name="service-need"),
    path("accounts/<int:account_id>/needs/", inbox.account_tab, name="service-account-tab"),
    path("settings/classification/", rules.rules, name="service-rules"),
]
