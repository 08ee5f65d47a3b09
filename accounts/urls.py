"""Account pages, under /t/<tenant_slug>/accounts/ (kam/urls.py)."""

from __future__ import annotations

from django.urls import path

from accounts import contract_views, record_views, views

urlpatterns = [
    path("", views.account_list, name="accounts-list"),
    path("export/", views.account_export, name="accounts-export"),
    path("new/", views.account_create, name="accounts-create"),
    path("<int:account_id>/", views.account_detail, name="accounts-detail"),
    path("<int:account_id>/edit/", views.account_edit, name="accounts-edit"),
    path("<int:account_id>/archive/", views.account_archive, name="accounts-archive"),
    path("<int:account_id>/delete/", views.account_delete, name="accounts-delete"),
    path("<int:account_id>/group/", views.account_group_page, name="accounts-group"),
    path("<int:account_id>/badges/", views.account_badges, name="accounts-badges"),
    path("<int:account_id>/interactions/new/", views.interaction_create, name="accounts-interaction-create"),
    path("<int:account_id>/events/new/", views.event_create, name="accounts-event-create"),
    path("<int:account_id>/contacts/new/", views.contact_create, name="accounts-contact-create"),
    path("<int:account_id>/contacts/<int:contact_id>/edit/", views.contact_edit, name="accounts-contact-edit"),
    # Orders, invoices and payments entered on the account's tabs (record_views.py).
    path("<int:account_id>/orders/new/", record_views.order_create, name="accounts-order-create"),
    path("<int:account_id>/invoices/new/", record_views.invoice_create, name="accounts-invoice-create"),
    path(
        "<int:account_id>/invoices/<int:invoice_id>/payments/new/",
        record_views.payment_create,
        name="accounts-payment-create",
    ),
    path(
        "<int:account_id>/invoices/<int:invoice_id>/payments/<int:payment_id>/delete/",
        record_views.payment_delete,
        name="accounts-payment-delete",
    ),
    # Contracts with their clause register and document (contract_views.py).
    path("<int:account_id>/contracts/new/", contract_views.contract_create, name="accounts-contract-create"),
    path(
        "<int:account_id>/contracts/<int:contract_id>/edit/",
        contract_views.contract_edit,
        name="accounts-contract-edit",
    ),
    path(
        "<int:account_id>/contracts/<int:contract_id>/document/",
        contract_views.contract_document,
        name="accounts-contract-document",
    ),
    path(
        "<int:account_id>/contracts/<int:contract_id>/document/remove/",
        contract_views.contract_document_remove,
        name="accounts-contract-document-remove",
    ),
    # Tabs of the account page (accounts/tabs.py): fragments loaded by htmx.
    path("<int:account_id>/overview/", views.tab_overview, name="accounts-tab-overview"),
    path("<int:account_id>/contacts/", views.tab_contacts, name="accounts-tab-contacts"),
    path("<int:account_id>/orders/", views.tab_orders, name="accounts-tab-orders"),
    path("<int:account_id>/invoices/", views.tab_invoices, name="accounts-tab-invoices"),
    path("<int:account_id>/timeline/", views.tab_timeline, name="accounts-tab-timeline"),
    path("<int:account_id>/contracts/", contract_views.tab_contracts, name="accounts-tab-contracts"),
    path("<int:account_id>/group/tab/", views.tab_group, name="accounts-tab-group"),
]
