"""Risk pages under /t/<tenant_slug>/risk/ (risk/urls.py includes each module's urlpatterns)."""
