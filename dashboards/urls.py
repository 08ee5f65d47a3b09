"""Dashboard pages under /t/<tenant_slug>/dashboards/ (kam/urls.py)."""

from __future__ import annotations

from django.urls import path

from dashboards import views

urlpatterns = [
    path("", views.executive_dashboard, name="dashboards-executive"),
    path("mine/", views.my_dashboard, name="dashboards-mine"),
    path("parts/<slug:key>/", views.part, name="dashboards-part"),
    path("version/", views.version, name="dashboards-version"),
]
