from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from kam import navigation, selectors


def tenant(request: HttpRequest) -> dict[str, Any]:
    """The current tenant, the user's role, their other workspaces, the navigation and the top bar's widgets."""
    current = getattr(request, "tenant", None)
    membership = getattr(request, "membership", None)
    user = getattr(request, "user", None)
    context: dict[str, Any] = {"tenant": current, "membership": membership, "role": getattr(membership, "role", None)}
    if user is not None and user.is_authenticated:
        context["workspaces"] = selectors.memberships_of(user=user)
        if membership is not None:
            context["nav_items"] = navigation.items_for(request, membership)
            context["topbar_widgets"] = navigation.topbar_widgets_for(membership)
    return context
