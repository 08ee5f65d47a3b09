"""Demo ratings and score runs, after the accounts app loaded its customers: one run at the end
of each of the last four quarters, then today's, so tier history and migration have a past."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from accounts.models import Account
from kam.models import Tenant
from kam.tenancy import tenant_context, tenant_today
from scoring import selectors, services
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


def quarter_ends(today: dt.date, count: int) -> list[dt.date]:
    """The last days of the ``count`` quarters before today's, oldest first."""
    ends = []
    day = today
    for _ in range(count):
        day = dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1) - dt.timedelta(days=1)
        ends.append(day)
    return ends[::-1]
