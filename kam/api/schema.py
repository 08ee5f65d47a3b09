"""OpenAPI pieces shared by every app: the authentication schemes, and the one error
shape, documented on every operation by ``KamAutoSchema`` (DEFAULT_SCHEMA_CLASS)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import serializers


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "kam.api.auth.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A tenant-bound API token (`kam_…`), created by an administrator. The token decides the tenant.",
        }


class TenantSessionScheme(OpenApiAuthenticationExtension):
    target_class = "kam.api.auth.TenantSessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "apiKey", "in": "cookie", "name": "sessionid", "description": "The browser session."}


class KamErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="A stable machine-readable code: invalid, not_found, permission_denied, …")
    message = serializers.CharField(help_text="A sentence for people, in the request's language.")
    fields = serializers.DictField(
        child=serializers.JSONField(),
        help_text="Per-field messages for a 400 (a list of messages, or nested objects for nested input).",
    )


class KamErrorSerializer(serializers.Serializer):
    """The one error shape of the API (kam/api/errors.py)."""

    error = KamErrorDetailSerializer()


def error_response(description: str, *examples: OpenApiExample) -> OpenApiResponse:
    return OpenApiResponse(KamErrorSerializer, description=description, examples=list(examples))


ERROR_RESPONSES: dict[str, OpenApiResponse] = {
    "400": error_response(
        "Invalid input or filter: field messages in `error.fields`.",
        OpenApiExample(
            "Invalid fields",
            value={
                "error": {
                    "code": "invalid",
                    "message": "The request has invalid fields.",
                    "fields": {"amount": ["Ensure this value is greater than or equal to 0.01."]},
                }
            },
            response_only=True,
            status_codes=["400"],
        ),
    ),
    "401": error_response(
        "No credentials, or a token that is unknown, revoked or expired.",
        OpenApiExample(
            "Invalid token",
            value={"error": {"code": "authentication_failed", "message": "Invalid token.", "fields": {}}},
            response_only=True,
            status_codes=["401"],
        ),
    ),
    "403": error_response(
        "A read-only token writing, or a role that may not do this.",
        OpenApiExample(
            "Read-only token",
            value={
                "error": {
                    "code": "permission_denied",
                    "message": "This token is read-only; writing needs a token with the write scope.",
                    "fields": {},
                }
            },
            response_only=True,
            status_codes=["403"],
        ),
    ),
    "404": error_response(
        "No such object in this tenant (another tenant's id is answered the same way).",
        OpenApiExample(
            "Not found",
            value={"error": {"code": "not_found", "message": "Not found.", "fields": {}}},
            response_only=True,
            status_codes=["404"],
        ),
    ),
}


class KamAutoSchema(AutoSchema):
    """Documents the error responses an operation can give, next to its success response."""

    def _error_codes(self) -> list[str]:
        codes = ["401", "403"]
        if self.method != "GET" or self._is_list_view():
            codes.insert(0, "400")  # invalid input, or an invalid filter value
        if "{" in self.path:
            codes.append("404")
        return codes

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            if code not in responses:
                responses[code] = self._get_response_for_code(ERROR_RESPONSES[code], code, direction=direction)
        return responses
