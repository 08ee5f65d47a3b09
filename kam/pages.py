"""Helpers every app's HTMX pages share: is this a partial request, where to go after a write."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django_htmx.http import HttpResponseClientRedirect


def is_partial(request: HttpRequest) -> bool:
    """An htmx request that swaps part of the page (a history restore wants the whole page)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def go(request: HttpRequest, url: str) -> HttpResponse:
    """After a write: HX-Redirect for htmx (a full page load, so the messages show), else a 302."""
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
