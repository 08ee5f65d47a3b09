"""The portfolio API under /api/v1/portfolio/ (kam/urls.py includes this module)."""

from __future__ import annotations

from django.urls import path

from portfolio.api.views import PeopleView, PersonView, TeamsView

urlpatterns = [
    path("portfolio/people/", PeopleView.as_view(), name="api-portfolio-people"),
    path("portfolio/people/<int:user_id>/", PersonView.as_view(), name="api-portfolio-person"),
    path("portfolio/teams/", TeamsView.as_view(), name="api-portfolio-teams"),
]
