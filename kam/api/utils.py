"""Helpers every API view uses: who acts, yes/no query parameters, and service errors as 400s."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from kam.models import ApiToken


def query_flag(request: Request, name: str) -> bool:
    """A yes/no query parameter (``?wait=true``): 1, true or yes, in any case, is yes."""
    return request.query_params.get(name, "").lower() in ("1", "true", "yes")


def actor_of(request: Request) -> Any:
    """Who the audit log names: the API token, or the session's user."""
    return request.auth if isinstance(request.auth, ApiToken) else request.user


@contextmanager
def service_errors() -> Iterator[None]:
    """A service's django ValidationError as a DRF one, so it answers 400 with field messages
    (model-wide messages under ``non_field_errors``, as DRF names them)."""
    try:
        yield
    except DjangoValidationError as exc:
        if hasattr(exc, "error_dict"):
            detail: Any = {
                ("non_field_errors" if field == NON_FIELD_ERRORS else field): messages
                for field, messages in exc.message_dict.items()
            }
        else:
            detail = {"non_field_errors": exc.messages}
        raise ValidationError(detail) from exc
