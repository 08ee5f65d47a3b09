"""Demo ratings and score runs, after the accounts app loaded its customers: one run at the end
of each of the last four quarters, then today's, so tier history and migration have a past."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from accounts.models import Account, AccountStatus
from kam.models import Tenant
from kam.tenancy import tenant_context, tenant_today
from scoring import selectors, services
from scoring.engine import TIER_ORDER
from scoring.models import Criterion, CriterionKind, Rating, RunTrigger


def load(tenant: Tenant, people: dict[str, Any]) -> None:
    rng = random.Random(f"kam-demo-ratings-{tenant.slug}")
    with tenant_context(tenant):
        keys = list(
            Criterion.objects.filter(
                scorecard=selectors.scorecard_get_active(tenant), kind=CriterionKind.RATING
            ).values_list("key", flat=True)
        )
        ratings = []
        for index, account in enumerate(Account.objects.order_by("id")):
            if index % 6 == 5:
                continue  # a few accounts not rated yet: their score is marked incomplete
            for key in keys:
                ratings.append(
                    Rating(
                        tenant=tenant,
                        account=account,
                        criterion=key,
                        value=rng.choice([2, 3, 3, 4, 4, 5]),
                        comment="",
                        rated_by=people["director"],
                    )
                )
        Rating.objects.bulk_create(ratings)
    today = tenant_today(tenant)
    for as_of in quarter_ends(today, 4):
        services.score_run_execute(
            tenant, run=services.score_run_create(tenant, trigger=RunTrigger.SCHEDULE, as_of=as_of)
        )
    run = services.score_run_create(tenant, trigger=RunTrigger.MANUAL)
    services.score_run_execute(tenant, run=run)
    load_override_request(tenant, people)


# The demo's tier request (等级调整申请): one tier up, waiting for a director; no randomness, and
# nothing changes a tier or a score until someone approves it.
REQUEST_REASON = "客户明年新建两条产线，已签署战略合作框架协议，建议上调一级以配置专属服务团队。"
REQUEST_DAYS = 180


def load_override_request(tenant: Tenant, people: dict[str, Any]) -> None:
    """One pending tier request per demo tenant, by the manager, on the first account they own
    that is below S."""
    manager = people.get("manager")
    if manager is None:
        return
    with tenant_context(tenant):
        account = (
            Account.objects.filter(owner=manager, status=AccountStatus.ACTIVE, tier__in=TIER_ORDER[1:])
            .order_by("id")
            .first()
        )
        if account is None:
            return
        up = TIER_ORDER[TIER_ORDER.index(account.tier) - 1]
        services.override_request_create(
            tenant,
            account=account,
            tier=up,
            reason=REQUEST_REASON,
            expires_on=tenant_today(tenant) + dt.timedelta(days=REQUEST_DAYS),
            actor=manager,
        )


def quarter_ends(today: dt.date, count: int) -> list[dt.date]:
    """The last days of the ``count`` quarters before today's, oldest first."""
    ends = []
    day = today
    for _ in range(count):
        day = dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1) - dt.timedelta(days=1)
        ends.append(day)
    return ends[::-1]
