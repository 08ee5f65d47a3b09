"""The bots' callback URLs, outside the signed-in pages: /hooks/service/... (service/hooks.py)."""

from __future__ import annotations

from django.urls import path

from service import hooks

urlpatterns = [
    path("<slug:slug>/<slug:kind>/<int:bot_id>/", hooks.bot_callback, name="service-bot-callback"),
]
