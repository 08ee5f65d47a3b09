from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from scoring import api

router = SimpleRouter()
router.register("scorecards", api.ScorecardViewSet, basename="scorecard")
router.register("score-runs", api.ScoreRunViewSet, basename="score-run")
router.register("tier-override-requests", api.TierOverrideRequestViewSet, basename="tier-override-request")

urlpatterns = [
    path("accounts/<int:account_id>/score/", api.AccountScoreView.as_view(), name="api-account-score"),
    path(
        "accounts/<int:account_id>/score-history/",
        api.AccountScoreHistoryView.as_view(),
        name="api-account-score-history",
    ),
    path("accounts/<int:account_id>/ratings/", api.AccountRatingsView.as_view(), name="api-account-ratings"),
    path("tiers/summary/", api.TierSummaryView.as_view(), name="api-tier-summary"),
    *router.urls,
]
