from __future__ import annotations

from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    """The one pagination of the API: stable under inserts, cheap deep into a list."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = "-id"
