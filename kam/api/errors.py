"""One error shape for the whole API: {"error": {"code", "message", "fields"}}."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def _messages(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {key: _messages(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_messages(item) for item in detail]
    return str(detail)


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def not_found(message: str) -> Response:
    """A 404 that says why (a resource not made yet: "Not assessed yet."). A raised 404 would
    answer the generic "Not found." of every unknown id."""
    return Response(error_body("not_found", message), status=status.HTTP_404_NOT_FOUND)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        fields = _messages(detail)
        response.data = error_body("invalid", _("The request has invalid fields."), fields)
    else:
        code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        message = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        response.data = error_body(code if isinstance(code, str) else "error", str(message))
    if response.status_code == status.HTTP_404_NOT_FOUND:
        response.data = error_body("not_found", _("Not found."))
    return response
