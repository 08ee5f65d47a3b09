"""Import pages, under /t/<tenant_slug>/imports/ (kam/urls.py)."""

from __future__ import annotations

from django.urls import path

from accounts import import_views

urlpatterns = [
    path("", import_views.import_list, name="imports-list"),
    path("<int:job_id>/", import_views.import_detail, name="imports-detail"),
    path("<int:job_id>/confirm/", import_views.import_confirm, name="imports-confirm"),
    path("<int:job_id>/discard/", import_views.import_discard, name="imports-discard"),
]
