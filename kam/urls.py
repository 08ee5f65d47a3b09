from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from kam import views
from kam.forms import LoginForm

tenant_patterns = [
    path("", views.tenant_home, name="tenant-home"),
    path("settings/members/", views.members, name="settings-members"),
    path("settings/members/<int:membership_id>/", views.member_update, name="settings-member-update"),
    path("settings/tokens/", views.tokens, name="settings-tokens"),
    path("settings/tokens/<int:token_id>/revoke/", views.token_revoke, name="settings-token-revoke"),
    path("settings/audit/", views.audit_log, name="settings-audit"),
    path("settings/schedule/", views.schedule, name="settings-schedule"),
    path("accounts/", include("accounts.urls")),
    path("imports/", include("accounts.imports.urls")),
    path("scoring/", include("scoring.urls")),
    path("teams/", include("teams.urls")),
    path("risk/", include("risk.urls")),
    path("service/", include("service.urls")),
    path("growth/", include("growth.urls")),
    path("portfolio/", include("portfolio.urls")),
    path("renewals/", include("renewals.urls")),
    path("channels/", include("messaging.urls")),
    path("dashboards/", include("dashboards.urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path(
        "login/",
        auth_views.LoginView.as_view(authentication_form=LoginForm, redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/change/", views.password_change, name="password_change"),
    path(
        "password/set/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(success_url="/login/?password_set=1"),
        name="password_reset_confirm",
    ),
    path("workspaces/", views.workspaces, name="workspaces"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("t/<slug:tenant_slug>/", include(tenant_patterns)),
    path("api/v1/", include("kam.api.urls")),
    path("api/v1/", include("accounts.api_urls")),
    path("api/v1/", include("accounts.imports.api_urls")),
    path("api/v1/", include("scoring.api_urls")),
    path("api/v1/", include("teams.api_urls")),
    path("api/v1/", include("risk.api_urls")),
    path("api/v1/", include("service.api_urls")),
    path("api/v1/", include("growth.api_urls")),
    path("api/v1/", include("portfolio.api_urls")),
    path("api/v1/", include("renewals.api_urls")),
    path("api/v1/", include("messaging.api_urls")),
    # Chat bots' callbacks: signed by their vendor, no session (service/hooks.py).
    path("hooks/service/", include("service.hook_urls")),
    path("admin/", admin.site.urls),
]

handler404 = "kam.views.page_not_found"
handler403 = "kam.views.permission_denied"
handler500 = "kam.views.server_error"
