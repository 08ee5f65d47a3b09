"""No alert, notification, e-mail or webhook payload ever carries another tenant's data:
two tenants with the same shape of data run their jobs side by side, each with a
webhook receiver, and every row and message is checked for the other's names and ids."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core import mail
from django.db import connection

from accounts.models import Account
from kam.models import Membership, Role
from kam.tenancy import tenant_context
from risk import services
from risk.models import HealthAssessment, Notification, RiskAlert, WebhookDelivery, WebhookEvent
from tests.factories import AccountFactory, InvoiceFactory, OrderFactory, UserFactory
from tests.risk.conftest import run
from tests.risk.test_webhooks import Receiver
from tests.sqlaudit import audit

pytestmark = pytest.mark.django_db


def populate(tenant, prefix: str) -> dict:
    """A group, a big customer, an overdue payer; owners and an admin who is a member here only."""
    owner = UserFactory(email=f"owner@{prefix}.test")
    Membership.objects.create(tenant=tenant, user=owner, role=Role.MANAGER)
    admin = UserFactory(email=f"admin@{prefix}.test")
    Membership.objects.create(tenant=tenant, user=admin, role=Role.ADMIN)
    root = AccountFactory(tenant=tenant, name=f"{prefix}集团", owner=owner)
    child = AccountFactory(tenant=tenant, name=f"{prefix}子公司", parent=root, owner=owner)
    payer = AccountFactory(tenant=tenant, name=f"{prefix}拖欠客户", owner=owner)
    for account, amount in ((root, "500"), (child, "300"), (payer, "200")):
        OrderFactory(tenant=tenant, account=account, order_date=dt.date(2026, 3, 1), amount=amount)
    InvoiceFactory(
        tenant=tenant, account=payer, number=f"{prefix}-FP-1", issued_on=dt.date(2026, 4, 1), due_on=dt.date(2026, 5, 1)
    )
    services.risk_policy_seed_default(tenant)
    return {
        "names": [f"{prefix}集团", f"{prefix}子公司", f"{prefix}拖欠客户", f"{prefix}-FP-1"],
        "emails": [owner.email, admin.email],
    }


def test_nothing_of_one_tenant_reaches_the_other(tenant, other_tenant, settings, django_capture_on_commit_callbacks):
    settings.RISK_WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    ours = populate(tenant, "甲")
    theirs = populate(other_tenant, "乙")
    events = list(WebhookEvent.values)
    with Receiver() as our_receiver, Receiver() as their_receiver:
        services.webhook_endpoint_create(tenant, url=our_receiver.url, events=events)
        services.webhook_endpoint_create(other_tenant, url=their_receiver.url, events=events)
        # when both run their jobs, one after the other, with everything sent
        with django_capture_on_commit_callbacks(execute=True):
            run(tenant)
            run(other_tenant)
        with tenant_context(tenant):
            account_ids = set(Account.objects.values_list("pk", flat=True))
        with tenant_context(other_tenant):
            their_ids = set(Account.objects.values_list("pk", flat=True))
        for t, mine, other, receiver, my_ids, other_ids in (
            (tenant, ours, theirs, our_receiver, account_ids, their_ids),
            (other_tenant, theirs, ours, their_receiver, their_ids, account_ids),
        ):
            with tenant_context(t):
                alerts = list(RiskAlert.objects.all())
                notes = list(Notification.objects.select_related("user"))
                payloads = [d.payload for d in WebhookDelivery.objects.all()]
                # the database agrees: inside this tenant's context no other tenant's row is visible
                # (unfiltered on purpose, tests/sqlaudit.py)
                with audit.expecting(), connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT DISTINCT tenant_id FROM risk_riskalert UNION SELECT DISTINCT tenant_id FROM risk_notification"
                        " UNION SELECT DISTINCT tenant_id FROM risk_webhookdelivery UNION SELECT DISTINCT tenant_id FROM risk_healthassessment"
                    )
                    assert [row[0] for row in cursor.fetchall()] == [t.pk]
                assert {h.account_id for h in HealthAssessment.objects.all()} <= my_ids
            # then: alerts
            assert alerts and {a.account_id for a in alerts if a.account_id} <= my_ids
            rows = json.dumps([a.details for a in alerts], ensure_ascii=False)
            assert all(name not in rows for name in other["names"])
            assert all(f'"root": {pk},' not in rows and f'"id": {pk},' not in rows for pk in other_ids)
            # notifications only to this tenant's people, about this tenant's accounts
            assert notes and {n.user.email for n in notes} <= set(mine["emails"])
            assert all(name not in n.title + n.body for n in notes for name in other["names"])
            # webhook payloads, as stored and as received
            assert payloads
            received = [r["body"].decode() for r in receiver.requests]
            assert len(received) == len(payloads)
            for text in [json.dumps(p, ensure_ascii=False) for p in payloads] + received:
                assert all(name not in text for name in other["names"]), text
                assert f'"tenant":"{t.slug}"' in text.replace(" ", "")
            for body in received:
                alert = json.loads(body)["data"].get("alert")
                if alert and alert["account"]:
                    assert alert["account"]["id"] in my_ids
        # e-mails: each to one tenant's person, naming that tenant's accounts only
        assert mail.outbox
        for message in mail.outbox:
            (address,) = message.to
            mine, other = (ours, theirs) if address in ours["emails"] else (theirs, ours)
            assert address in mine["emails"]
            assert all(name not in message.body + message.subject for name in other["names"])


def test_a_service_refuses_another_tenants_alert(tenant, other_tenant):
    services.risk_policy_seed_default(other_tenant)
    account = AccountFactory(tenant=other_tenant)
    InvoiceFactory(tenant=other_tenant, account=account, issued_on=dt.date(2026, 4, 1), due_on=dt.date(2026, 5, 1))
    run(other_tenant)
    with tenant_context(other_tenant):
        foreign = RiskAlert.objects.select_related("run").filter(kind="payment_overdue").get()
    with pytest.raises(Exception, match="No such alert"):
        services.alert_resolve(tenant, alert=foreign)
    with pytest.raises(RuntimeError, match="inside tenant"), tenant_context(tenant):
        services.risk_run_execute(other_tenant, run=foreign.run)
