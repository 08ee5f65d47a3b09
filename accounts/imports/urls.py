"""Import pages, under /t/<tenant_slug>/imports/ (kam/urls.py)."""

from __future__ import annotations

from django.urls import path

from accounts.imports import views

urlpatterns = [
    path("", views.import_list, name="imports-list"),
    path("<int:job_id>/", views.import_detail, name="imports-detail"),
    path("<int:job_id>/confirm/", views.import_confirm, name="imports-confirm"),
    path("<int:job_id>/discard/", views.import_discard, name="imports-discard"),
]
