from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kam.models import ApiToken
from kam.permissions import WRITERS


class MeView(APIView):
    """The tenant the credential acts in, and what it may do."""

    @extend_schema(
        operation_id="me",
        responses=inline_serializer(
            "Me",
            {
                "tenant": inline_serializer(
                    "MeTenant",
                    {
                        "id": serializers.IntegerField(),
                        "slug": serializers.CharField(),
                        "name": serializers.CharField(),
                    },
                ),
                "scope": serializers.ChoiceField(choices=["read", "write"]),
                "token": serializers.CharField(allow_null=True, help_text="The token's name, for a token."),
                "user": serializers.EmailField(allow_null=True, help_text="The user's e-mail, for a session."),
                "role": serializers.CharField(allow_null=True, help_text="The user's role, for a session."),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        tenant = request._request.tenant
        body = {"tenant": {"id": tenant.pk, "slug": tenant.slug, "name": tenant.name}}
        if isinstance(request.auth, ApiToken):
            body.update(scope=request.auth.scope, token=request.auth.name, user=None, role=None)
        else:
            role = request._request.membership.role
            body.update(scope="write" if role in WRITERS else "read", token=None, user=request.user.email, role=role)
        return Response(body)
