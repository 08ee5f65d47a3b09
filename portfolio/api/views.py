"""The portfolio API (DESIGN section 13), read-only: people's portfolios and indexes, one
person's with accounts and trend, the account teams with their members' shares. Managers and
members see their own portfolio only (another person's id: 404); a token acts tenant-wide."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kam.api.viewsets import TenantApiMixin
from portfolio import selectors
from portfolio.api.serializers import (
    PortfolioPersonDetailSerializer,
    PortfolioPersonSerializer,
    PortfolioTeamSerializer,
)

INDEX_DESCRIPTION = (
    "A person's share of an account = their team allocation / the sum of the allocations on the account's team "
    "(the owner counts 100 when not on the team). revenue = sum of share x revenue_12m; health and growth = "
    "share-weighted means over the accounts with a value, all read from the latest score snapshot and health "
    "assessment on or before `as_of`. index = (w_r x 100 x percent_rank(revenue) + w_h x health + w_g x "
    "linear(growth, -0.2, 0.5)) / 100, rounded half up to two decimals; a term without data drops out and the "
    "others' weights are renormalised. Managers and members see their own portfolio only."
)
AS_OF = OpenApiParameter(
    "as_of", dt.date, OpenApiParameter.QUERY, description="The day (default: the tenant's today), 2000 to 2100."
)


class AsOfQuery(serializers.Serializer):
    as_of = serializers.DateField(required=False)

    def validate_as_of(self, value: dt.date) -> dt.date:
        if not 2000 <= value.year <= 2100:
            raise serializers.ValidationError("Enter a date from 2000 to 2100.")
        return value


class PortfolioApiMixin(TenantApiMixin):
    def as_of(self, request: Request) -> dt.date:
        query = AsOfQuery(data=request.query_params)
        if not query.is_valid():
            raise ValidationError(query.errors)
        return query.validated_data.get("as_of") or self.today

    def own(self) -> int | None:
        return None if selectors.sees_all(self.membership) else self.request.user.pk


class PeopleView(PortfolioApiMixin, APIView):
    @extend_schema(
        summary="The people's portfolios",
        description=INDEX_DESCRIPTION,
        parameters=[AS_OF],
        responses=PortfolioPersonSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        people = selectors.people(self.tenant, self.as_of(request), user_id=self.own())
        return Response(PortfolioPersonSerializer(people, many=True).data)


class PersonView(PortfolioApiMixin, APIView):
    @extend_schema(
        summary="One person's portfolio",
        description=INDEX_DESCRIPTION + " With the accounts held and the last four quarter ends. 404 for a person "
        "who is not a member of the tenant, has no portfolio on the day, or (for a manager) someone else.",
        parameters=[AS_OF, OpenApiParameter("user_id", int, OpenApiParameter.PATH, description="The person's id.")],
        responses=PortfolioPersonDetailSerializer,
    )
    def get(self, request: Request, user_id: int) -> Response:
        own = self.own()
        if own is not None and own != user_id:
            raise NotFound
        if selectors.member_user(self.tenant, user_id) is None:
            raise NotFound
        day = self.as_of(request)
        person = selectors.person(self.tenant, user_id, day)
        if person is None:
            raise NotFound
        detail = SimpleNamespace(
            **vars(person),
            held=selectors.person_accounts(self.tenant, user_id, day),
            trend=selectors.trend(self.tenant, day, user_id=user_id),
        )
        return Response(PortfolioPersonDetailSerializer(detail).data)


class TeamsView(PortfolioApiMixin, APIView):
    @extend_schema(
        summary="The account teams' portfolios",
        description="Each account team with its account's snapshot values and its members' allocations and "
        "shares (the owner with 100 when not on the team). Managers and members: the teams they hold a share of.",
        parameters=[AS_OF],
        responses=PortfolioTeamSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        teams = selectors.teams(self.tenant, self.as_of(request), user_id=self.own())
        return Response(PortfolioTeamSerializer(teams, many=True).data)
