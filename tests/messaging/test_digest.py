"""The daily digest: at each channel's time in its tenant's time zone, exactly once a day,
telling the last 24 hours' critical alerts and SLA breaches, the S/A tier moves and the
renewals due within the week."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from django.apps import apps

from kam import services as kam_services
from kam.models import Role, RunStatus
from kam.tenancy import tenant_context
from messaging import delivery, digest, services
from messaging.models import Channel, ChannelItem, ChannelKind, ItemTopic
from renewals.models import Renewal, RenewalStage
from risk.models import RiskAlert
from scoring.models import AccountScore, ScoreRun
from scoring.services import scorecard_seed_default
from tests.factories import AccountFactory, ContractFactory
from tests.messaging.conftest import make_alerts, robot

pytestmark = pytest.mark.django_db

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def at(tenant, hour: int, minute: int, day: dt.date = dt.date(2026, 12, 7)) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), zoneinfo.ZoneInfo(tenant.time_zone))


def digests(tenant):
    with tenant_context(tenant):
        return list(ChannelItem.objects.filter(topic=ItemTopic.DIGEST).values_list("channel_id", flat=True))


def test_the_digest_is_queued_once_at_the_channels_time_in_the_tenants_time_zone(tenant, other_tenant, sink):
    other_tenant.time_zone = "Europe/Berlin"
    other_tenant.save()
    mine = robot(tenant, sink, ChannelKind.WECOM_ROBOT)
    late = robot(tenant, sink, ChannelKind.DINGTALK_ROBOT, digest_time=dt.time(9, 0))
    services.channel_create(
        tenant, name="No digest", kind=ChannelKind.WECOM_ROBOT, url=sink.wecom_url("wx-key"), daily_digest=False
    )
    theirs = services.channel_create(
        other_tenant, name="Berlin", kind=ChannelKind.WECOM_ROBOT, url=sink.wecom_url("wx-key")
    )
    with tenant_context(tenant):
        assert digest.digests_due(tenant, now=at(tenant, 8, 29)) == []
        assert digest.digests_due(tenant, now=at(tenant, 8, 30)) == [mine.pk]
        assert digest.digests_due(tenant, now=at(tenant, 8, 35)) == []  # once a day
        assert digest.digests_due(tenant, now=at(tenant, 9, 0)) == [late.pk]
        assert digest.digests_due(tenant, now=at(tenant, 23, 59)) == []
    # 08:30 in Shanghai is 01:30 in Berlin: not yet there.
    with tenant_context(other_tenant):
        assert digest.digests_due(other_tenant, now=at(tenant, 8, 30)) == []
        assert digest.digests_due(other_tenant, now=at(other_tenant, 8, 30)) == [theirs.pk]
    assert sorted(digests(tenant)) == sorted([mine.pk, late.pk])
    assert digests(other_tenant) == [theirs.pk]
    # The next day, again once.
    with tenant_context(tenant):
        assert digest.digests_due(tenant, now=at(tenant, 8, 31, dt.date(2026, 12, 8))) == [mine.pk]


def test_the_digest_tells_the_days_critical_alerts_breaches_tier_moves_and_renewals(tenant, manager, sink):
    now = dt.datetime(2026, 12, 7, 0, 30, tzinfo=dt.UTC)  # 08:30 in Shanghai
    today = now.astimezone(SHANGHAI).date()
    fresh = make_alerts(tenant, 1, severity="critical")
    old = make_alerts(tenant, 1, severity="critical")
    warning = make_alerts(tenant, 1, severity="warning")
    breach = make_alerts(tenant, 1, kind="sla_breach", severity="warning")
    with tenant_context(tenant):
        RiskAlert.objects.filter(pk__in=fresh + warning + breach).update(opened_at=now - dt.timedelta(hours=2))
        RiskAlert.objects.filter(pk__in=old).update(opened_at=now - dt.timedelta(hours=30))
        scorecard = scorecard_seed_default(tenant)
        run = ScoreRun.objects.create(
            tenant=tenant,
            as_of=today,
            trigger="schedule",
            scorecard=scorecard,
            status=RunStatus.DONE,
            finished_at=now - dt.timedelta(hours=3),
        )
        up = AccountFactory(tenant=tenant, name="升级客户")
        low = AccountFactory(tenant=tenant, name="低层客户")
        for account, before, after in ((up, "B", "A"), (low, "C", "B")):
            AccountScore.objects.create(
                tenant=tenant,
                run=run,
                account=account,
                as_of=today,
                revenue_12m=Decimal("0"),
                base=Decimal("0"),
                adjustments=Decimal("0"),
                total=Decimal("50"),
                computed_tier=after,
                tier=after,
                previous_tier=before,
            )
        soon = ContractFactory(tenant=tenant, title="年度框架协议", value=Decimal("525777.72"))
        later = ContractFactory(tenant=tenant, title="远期协议")
        Renewal.objects.create(
            tenant=tenant,
            account=soon.account,
            contract=soon,
            owner=manager,
            due_on=today + dt.timedelta(days=6),
            opened_on=today,
        )
        Renewal.objects.create(
            tenant=tenant, account=later.account, contract=later, due_on=today + dt.timedelta(days=7), opened_on=today
        )
        Renewal.objects.create(
            tenant=tenant,
            account=soon.account,
            contract=ContractFactory(tenant=tenant, account=soon.account),
            due_on=today + dt.timedelta(days=2),
            opened_on=today,
            stage=RenewalStage.LOST,
            lost_reason="x",
        )
        facts = digest.digest_facts(tenant, now=now)
    assert [a["alert_id"] for a in facts["critical_alerts"]] == fresh and facts["critical_total"] == 1
    assert [a["alert_id"] for a in facts["sla_breaches"]] == breach
    assert facts["tier_moves"] == [{"account": "升级客户", "from": "B", "to": "A"}]
    assert [r["contract"] for r in facts["renewals"]] == ["年度框架协议"] and facts["renewal_total"] == 1
    channel = robot(tenant, sink, ChannelKind.WECOM_ROBOT, language="zh-hans")
    with tenant_context(tenant):
        ChannelItem.objects.create(tenant=tenant, channel=channel, topic=ItemTopic.DIGEST, data=facts)
    assert delivery.flush(tenant, channel.pk).sent == 1
    content = sink.accepted("wecom")[0].json["markdown"]["content"]
    assert "升级客户：B → A" in content and "低层客户" not in content
    assert "¥52.58万" in content  # the renewal's value as the pages write it
    assert f"/risk/alerts/{fresh[0]}/" in content and f"/risk/alerts/{old[0]}/" not in content


def test_the_sweep_queues_the_digest_and_flushes(tenant, sink, monkeypatch):
    channel = robot(tenant, sink, ChannelKind.WECOM_ROBOT, digest_time=dt.time(0, 0))
    with tenant_context(tenant):
        outcome = delivery.sweep(tenant)
    assert outcome["digests"] == 1
    assert digests(tenant) == [channel.pk]
    with tenant_context(tenant):
        assert delivery.sweep(tenant)["digests"] == 0


def test_the_demo_queues_todays_digest_once_and_the_sweep_does_not_send_a_second(tenant):
    # given: the demo's people, and the demo loaded (one channel of each kind, a digest queued)
    people = {}
    for role in (Role.ADMIN, Role.DIRECTOR, Role.MANAGER):
        user = kam_services.user_get_or_create(email=f"{role}@demo.example.com", password="x" * 12, full_name=role)
        kam_services.membership_create(tenant=tenant, user=user, role=role)
        people[role] = user
    apps.get_app_config("messaging").load_demo(tenant, people)
    with tenant_context(tenant):
        kinds = set(Channel.objects.values_list("kind", flat=True))
        wanted = sorted(Channel.objects.filter(daily_digest=True).values_list("pk", flat=True))
    assert kinds == set(ChannelKind.values)
    assert sorted(digests(tenant)) == wanted
    # when: the sweep comes later the same day, after the digest time
    with tenant_context(tenant):
        due = digest.digests_due(tenant, now=digest.local_now(tenant).replace(hour=23, minute=0))
    # then: no second digest today
    assert due == []
    assert sorted(digests(tenant)) == wanted
