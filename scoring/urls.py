"""Scoring pages, under /t/<tenant_slug>/scoring/ (kam/urls.py)."""

from __future__ import annotations

from django.urls import path

from scoring import views

urlpatterns = [
    path("", views.tiers, name="scoring-tiers"),
    path("runs/", views.runs, name="scoring-runs"),
    path("runs/start/", views.run_start, name="scoring-run-start"),
    path("runs/<int:run_id>/row/", views.run_row, name="scoring-run-row"),
    path("scorecard/", views.scorecard, name="scoring-scorecard"),
    path("scorecard/<int:scorecard_id>/preview/", views.scorecard_preview, name="scoring-scorecard-preview"),
    path("scorecard/<int:scorecard_id>/activate/", views.scorecard_activate, name="scoring-scorecard-activate"),
    # The account page's score tab (accounts/tabs.py) and its forms.
    path("accounts/<int:account_id>/", views.account_tab, name="scoring-account-tab"),
    path("accounts/<int:account_id>/rate/", views.account_rate, name="scoring-rate"),
    path("accounts/<int:account_id>/override/", views.account_override, name="scoring-override"),
    path("accounts/<int:account_id>/override/lift/", views.account_override_lift, name="scoring-override-lift"),
    path(
        "accounts/<int:account_id>/override/request/", views.account_override_request, name="scoring-override-request"
    ),
    # Tier requests (等级调整申请): the directors' page and the decisions.
    path("requests/", views.override_requests, name="scoring-override-requests"),
    path("requests/<int:request_id>/approve/", views.override_request_approve, name="scoring-override-approve"),
    path("requests/<int:request_id>/reject/", views.override_request_reject, name="scoring-override-reject"),
    path("requests/<int:request_id>/withdraw/", views.override_request_withdraw, name="scoring-override-withdraw"),
]
