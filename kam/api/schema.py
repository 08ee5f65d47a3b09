"""OpenAPI pieces shared by every app: the authentication schemes, and the one error
shape, documented on every operation by ``KamAutoSchema`` (DEFAULT_SCHEMA_CLASS) with every
status the platform itself can answer (input, credentials, sizes, rate, outage)."""

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


def lib_doc_excludes() -> list[type]:
    """The classes whose docstrings never become an operation's description (the
    GET_LIB_DOC_EXCLUDES setting): DRF's, as drf-spectacular has it, and the API base of
    kam.api.viewsets, whose docstrings describe code to its developers, not the API to
    integrators. drf-spectacular reads a view's docstring up its MRO and stops at the first
    of these. Imported here, not at the top: the setting is read while DRF loads."""
    from drf_spectacular.plumbing import get_lib_doc_excludes

    from kam.api import viewsets

    return [
        *get_lib_doc_excludes(),
        viewsets.TenantViewSetMixin,
        viewsets.TenantApiMixin,
        viewsets.TenantApiViewSetMixin,
        viewsets.AccountRecordMixin,
        viewsets.ETagMixin,
        viewsets.TenantModelViewSet,
    ]


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


def error_example(status: str, title: str, *, code: str, message: str, fields: dict | None = None) -> OpenApiExample:
    """An example answer of one error status, in the one error shape."""
    value = {"error": {"code": code, "message": message, "fields": fields or {}}}
    return OpenApiExample(title, value=value, response_only=True, status_codes=[status])


def error_response(description: str, *examples: OpenApiExample) -> OpenApiResponse:
    return OpenApiResponse(KamErrorSerializer, description=description, examples=list(examples))


ERROR_RESPONSES: dict[str, OpenApiResponse] = {
    "400": error_response(
        "Invalid input or filter: field messages in `error.fields`.",
        error_example(
            "400",
            "Invalid fields",
            code="invalid",
            message="The request has invalid fields.",
            fields={"amount": ["Ensure this value is greater than or equal to 0.01."]},
        ),
    ),
    "401": error_response(
        "No credentials, or a token that is unknown, revoked or expired.",
        error_example("401", "Invalid token", code="authentication_failed", message="Invalid token."),
    ),
    "403": error_response(
        "A read-only token writing, or a role that may not do this.",
        error_example(
            "403",
            "Read-only token",
            code="permission_denied",
            message="This token is read-only; writing needs a token with the write scope.",
        ),
    ),
    "404": error_response(
        "No such object in this tenant (another tenant's id is answered the same way); for a list, "
        "a cursor that no page link gave.",
        error_example("404", "Not found", code="not_found", message="Not found."),
    ),
    "406": error_response(
        "An Accept header that allows no format the API answers in (application/json).",
        error_example(
            "406", "Not acceptable", code="not_acceptable", message="Could not satisfy the request Accept header."
        ),
    ),
    "413": error_response(
        "The body is larger than the limit (5 MB; 64 MB for an import upload), judged by its "
        "Content-Length before it is read.",
        error_example(
            "413", "Too large", code="too_large", message="The request body is 6.0 MB; the limit here is 5.0 MB."
        ),
    ),
    "414": error_response(
        "The query string is longer than 8,192 characters.",
        error_example(
            "414",
            "Query string too long",
            code="uri_too_long",
            message="The query string is 9,000 characters long; at most 8,192 are accepted.",
        ),
    ),
    "415": error_response(
        "A body in a content type the operation does not take (JSON, and where documented form or multipart).",
        error_example(
            "415",
            "Unsupported media type",
            code="unsupported_media_type",
            message='Unsupported media type "text/plain" in request.',
        ),
    ),
    "429": error_response(
        "Too many requests for this token (API_RATE_LIMIT, 1,200 a minute by default): wait the "
        "seconds the Retry-After header gives.",
        error_example(
            "429", "Throttled", code="throttled", message="Request was throttled. Expected available in 12 seconds."
        ),
    ),
    "503": error_response(
        "The database is unreachable for the moment: try again after the seconds in Retry-After.",
        error_example(
            "503",
            "Database unavailable",
            code="service_unavailable",
            message="The database is not reachable at the moment. Try again in 15 seconds.",
        ),
    ),
}
# Bodies are taken by POST, PUT and PATCH; any request can be refused for its query string
# (400: NUL or invalid UTF-8, kam/security.py; 414), its credentials, its Accept header, its
# rate or an outage.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
ANY_OPERATION = ("400", "401", "403", "406", "414", "429", "503")


class KamAutoSchema(AutoSchema):
    """Documents the error responses an operation can give, next to its success response."""

    def _error_codes(self) -> list[str]:
        codes = list(ANY_OPERATION)
        if "{" in self.path or self._is_list_view():
            codes.append("404")  # no such object; for a list, an invalid cursor
        if self.method in BODY_METHODS:
            codes += ["413", "415"]
        return sorted(codes)

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            if code not in responses:
                responses[code] = self._get_response_for_code(ERROR_RESPONSES[code], code, direction=direction)
        return responses
