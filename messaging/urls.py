"""The channel pages under /t/<tenant_slug>/channels/ (kam/urls.py); see messaging/views.py."""

from __future__ import annotations

from django.urls import URLPattern, path

from messaging import views

urlpatterns: list[URLPattern] = [
    path("", views.channels_page, name="messaging-channels"),
    path("new/", views.channel_new, name="messaging-channel-new"),
    path("<int:channel_id>/", views.channel_page, name="messaging-channel"),
    path("<int:channel_id>/edit/", views.channel_edit, name="messaging-channel-edit"),
    path("<int:channel_id>/delete/", views.channel_delete, name="messaging-channel-delete"),
    path("<int:channel_id>/test/", views.channel_test, name="messaging-channel-test"),
    path(
        "<int:channel_id>/deliveries/<int:delivery_id>/send-again/",
        views.delivery_send_again,
        name="messaging-delivery-send-again",
    ),
]
