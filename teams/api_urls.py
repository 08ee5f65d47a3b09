"""Teams API routes under /api/v1/ (DESIGN section 8)."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from teams import api

router = SimpleRouter()
router.register("teams", api.TeamViewSet, basename="team")
router.register("team-members", api.TeamMemberViewSet, basename="team-member")
router.register("counterparts", api.CounterpartViewSet, basename="counterpart")
router.register("plans", api.PlanViewSet, basename="plan")
router.register("plan-initiatives", api.InitiativeViewSet, basename="plan-initiative")
router.register("plan-actions", api.PlanActionViewSet, basename="plan-action")
router.register("staffing-rules", api.StaffingRuleViewSet, basename="staffing-rule")

urlpatterns = router.urls
