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
    # the need page's actions
    path("needs/<int:need_id>/reply/", need.need_reply, name="service-need-reply"),
    path("needs/<int:need_id>/status/", need.need_status, name="service-need-status"),
    path("needs/<int:need_id>/assign/", need.need_assign, name="service-need-assign"),
    path("needs/<int:need_id>/priority/", need.need_priority, name="service-need-priority"),
    path("needs/<int:need_id>/category/", need.need_category, name="service-need-category"),
    path("needs/<int:need_id>/account/", need.need_account, name="service-need-account"),
    path("needs/<int:need_id>/contacts/", need.need_contact_options, name="service-need-contacts"),
    # the classification settings' actions
    path("settings/classification/categories/<int:category_id>/", rules.category_edit, name="service-category-edit"),
    path(
        "settings/classification/categories/<int:category_id>/keywords/", rules.rule_create, name="service-rule-create"
    ),
    path("settings/classification/keywords/<int:rule_id>/", rules.rule_edit, name="service-rule-edit"),
    path("settings/classification/keywords/<int:rule_id>/delete/", rules.rule_delete, name="service-rule-delete"),
    path("settings/classification/train/", rules.train_now, name="service-train"),
]
