"""Demo ratings and a first score run, after the accounts app loaded its customers."""

from __future__ import annotations

import random
from typing import Any

from accounts.models import Account
from kam.models import Tenant
from kam.tenancy import tenant_context
from scoring import services
from scoring.models import Criterion, CriterionKind, Rating, RunTrigger


def load(tenant: Tenant, people: dict[str, Any]) -> None:
    rng = random.Random(f"kam-demo-ratings-{tenant.slug}")
    with tenant_context(tenant):
        keys = list(
            Criterion.objects.filter(
                scorecard=services.active_scorecard(tenant), kind=CriterionKind.RATING
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
    run = services.score_run_create(tenant, trigger=RunTrigger.MANUAL)
    services.score_run_execute(tenant, run=run)
