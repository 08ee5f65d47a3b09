from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from rest_framework import pagination
from rest_framework.exceptions import NotFound
from rest_framework.request import Request


class CursorPagination(pagination.CursorPagination):
    """The one pagination of the API: stable under inserts, cheap deep into a list.

    A cursor the client made up is 404 "Invalid cursor" (DRF's answer, documented on every
    list). So is a well-formed cursor whose position does not fit the ordering (a date
    position that is no date), which DRF would let reach the query as a 500.
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = "-id"

    def paginate_queryset(self, queryset: QuerySet, request: Request, view: Any = None) -> list | None:
        try:
            return super().paginate_queryset(queryset, request, view)
        except (ValueError, TypeError, DjangoValidationError) as exc:
            # Raised while the position is turned into a filter value, before any query runs.
            raise NotFound(self.invalid_cursor_message) from exc
