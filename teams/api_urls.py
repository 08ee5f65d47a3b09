"""The teams API under /api/v1/ (kam/urls.py includes this module)."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from teams.api.viewsets import (
    CounterpartViewSet,
    InitiativeViewSet,
    PlanActionViewSet,
    PlanViewSet,
    StaffingRuleViewSet,
    TeamMemberViewSet,
    TeamViewSet,
)

router = SimpleRouter()
router.register("teams", TeamViewSet, basename="team")
router.register("team-members", TeamMemberViewSet, basename="team-member")
router.register("counterparts", CounterpartViewSet, basename="counterpart")
router.register("plans", PlanViewSet, basename="plan")
router.register("plan-initiatives", InitiativeViewSet, basename="plan-initiative")
router.register("plan-actions", PlanActionViewSet, basename="plan-action")
router.register("staffing-rules", StaffingRuleViewSet, basename="staffing-rule")

urlpatterns = router.urls
