"""The daily digest (每日简报): at each channel's digest time (08:30 by default) in the
tenant's time zone, once a day.

It tells the last 24 hours' new critical alerts and SLA breaches, the tier moves of S and
A accounts, and the renewals due within the week (today and the six days after). The facts
are read once per tenant and queued on every channel that wants the digest, each of which
says them in its own language.

``digests_due`` is called by the channel sweep (every five minutes): a channel whose time
has come today takes its digest in the same statement that marks the day
(``last_digest_on``), so that two sweeps at once queue it once.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django.db.models import F, Q
from django.utils import timezone

from kam.models import RunStatus, Tenant
from messaging.models import Channel, ChannelItem, ItemTopic
from messaging.routing import alert_facts, flush_on_commit, page_link
from renewals.models import OPEN_STAGES, Renewal
from risk.models import SERVICE_KINDS, RiskAlert, Severity
from scoring.models import AccountScore, ScoreRun

STAFFED = ("S", "A")
# The facts kept per section; the message shows the first few and counts the rest.
KEEP = 20


def local_now(tenant: Tenant, now: dt.datetime | None = None) -> dt.datetime:
    return (now or timezone.now()).astimezone(zoneinfo.ZoneInfo(tenant.time_zone))


def digest_facts(tenant: Tenant, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """What the digest tells, as of ``now``: a handful of queries, each on the tenant's rows."""
    now = now or timezone.now()
    since = now - dt.timedelta(hours=24)
    today = local_now(tenant, now).date()
    recent = RiskAlert.objects.filter(tenant=tenant, opened_at__gt=since, opened_at__lte=now)
    critical = recent.filter(severity=Severity.CRITICAL).exclude(kind__in=SERVICE_KINDS).order_by("-opened_at", "-id")
    breaches = recent.filter(kind__in=SERVICE_KINDS).order_by("-opened_at", "-id")
    critical_ids = list(critical.values_list("pk", flat=True)[:KEEP])
    breach_ids = list(breaches.values_list("pk", flat=True)[:KEEP])
    runs = ScoreRun.objects.filter(tenant=tenant, status=RunStatus.DONE, finished_at__gt=since, finished_at__lte=now)
    moves_qs = (
        AccountScore.objects.filter(tenant=tenant, run__in=runs.values("pk"))
        .exclude(previous_tier="")
        .exclude(tier=F("previous_tier"))
        .filter(Q(tier__in=STAFFED) | Q(previous_tier__in=STAFFED))
        .order_by("account_id", "-run_id")
        .distinct("account_id")
        .values("account_id", "account__name", "previous_tier", "tier")
    )
    moves = [{"account": m["account__name"], "from": m["previous_tier"], "to": m["tier"]} for m in moves_qs]
    renewals_qs = (
        Renewal.objects.filter(
            tenant=tenant, stage__in=OPEN_STAGES, due_on__gte=today, due_on__lte=today + dt.timedelta(days=6)
        )
        .select_related("account", "contract", "owner")
        .order_by("due_on", "id")
    )
    renewals = [
        {
            "account": r.account.name,
            "contract": r.contract.title,
            "due_on": r.due_on.isoformat(),
            "value": str(r.contract.value),
            "owner": r.owner.display_name if r.owner_id else "",
        }
        for r in renewals_qs[:KEEP]
    ]
    by_id = {f["alert_id"]: f for f in alert_facts(tenant, critical_ids + breach_ids, event="opened")}
    return {
        "date": today.isoformat(),
        "critical_alerts": [by_id[i] for i in critical_ids if i in by_id],
        "critical_total": critical.count(),
        "sla_breaches": [by_id[i] for i in breach_ids if i in by_id],
        "sla_total": breaches.count(),
        "tier_moves": sorted(moves, key=lambda m: m["account"])[:KEEP],
        "tier_total": len(moves),
        "renewals": renewals,
        "renewal_total": renewals_qs.count(),
        "risk_center": page_link("risk-center", tenant),
        "renewals_page": page_link("renewals", tenant),
    }


def digests_due(tenant: Tenant, *, now: dt.datetime | None = None) -> list[int]:
    """Queue today's digest on each channel whose digest time has come and that has not had
    it today. Returns the channels'ids."""
    now = now or timezone.now()
    local = local_now(tenant, now)
    today = local.date()
    candidates = [
        channel.pk
        for channel in Channel.objects.filter(tenant=tenant, is_active=True, daily_digest=True)
        .filter(Q(last_digest_on__isnull=True) | Q(last_digest_on__lt=today))
        .only("pk", "digest_time")
        if channel.digest_time <= local.time().replace(tzinfo=None)
    ]
    if not candidates:
        return []
    # The day is marked and the item queued in one transaction; a second sweep finds the day marked.
    claimed = list(
        Channel.objects.filter(tenant=tenant, pk__in=candidates)
        .filter(Q(last_digest_on__isnull=True) | Q(last_digest_on__lt=today))
        .select_for_update()
        .values_list("pk", flat=True)
    )
    if not claimed:
        return []
    Channel.objects.filter(tenant=tenant, pk__in=claimed).update(last_digest_on=today)
    facts = digest_facts(tenant, now=now)
    ChannelItem.objects.bulk_create(
        [ChannelItem(tenant=tenant, channel_id=pk, topic=ItemTopic.DIGEST, data=facts) for pk in claimed]
    )
    flush_on_commit(tenant, claimed)
    return claimed
