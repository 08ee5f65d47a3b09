"""The one base for tenant API viewsets: the queryset is narrowed to the request's
tenant once, here; creates are stamped with it. Detail resources carry an ETag, and a
change sent with a stale If-Match is refused with 412 (optimistic concurrency)."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Model, QuerySet
from django.db.models.sql.where import NothingNode
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from kam.api import fastlist

UNSAFE_METHODS = frozenset({"PUT", "PATCH", "DELETE"})


def request_time_queryset(queryset: QuerySet) -> QuerySet:
    """The class-level ``queryset`` re-read at request time.

    ``Model.objects`` narrows to the current tenant when the queryset is made, and a
    class attribute is made at import, when no tenant is set: it is then empty for
    good. Declare ``queryset = Model.unscoped...``; for one declared on ``objects``
    anyway, the emptiness that came from import time is dropped here, so the request's
    tenant filter below decides (and the database's RLS still applies).
    """
    query = queryset.query.chain()
    query.where.children = [child for child in query.where.children if not isinstance(child, NothingNode)]
    fresh = queryset.model.unscoped.all()
    fresh.query = query
    fresh._prefetch_related_lookups = queryset._prefetch_related_lookups
    return fresh


class TenantViewSetMixin:
    queryset: QuerySet
    # Lists go through kam.api.fastlist when the serializer qualifies (same bytes, a fraction of
    # the CPU); False keeps DRF's path for a viewset whatever its serializer.
    fast_list: bool = True

    def get_queryset(self) -> QuerySet:
        return request_time_queryset(self.queryset).filter(tenant=self.request.tenant)  # type: ignore[attr-defined]

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # DRF's ListModelMixin.list, read with .values() when kam.api.fastlist can answer exactly
        # what DRF would. No docstring: the schema takes an action's docstring as its description.
        if self.fast_list:
            response = fastlist.list_response(self)
            if response is not None:
                return response
        return super().list(request, *args, **kwargs)  # type: ignore[misc]

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()  # type: ignore[misc]
        context["tenant"] = self.request.tenant  # type: ignore[attr-defined]
        return context


# --- ETag and If-Match --------------------------------------------------------------------------


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_code = "precondition_failed"
    default_detail = _(
        "This object was changed after you read it (its ETag no longer matches If-Match). "
        "Read it again, then repeat your change."
    )


def etag_of(representation: Any) -> str:
    """A strong ETag: a digest of the object's JSON representation as the API sends it."""
    body = json.dumps(representation, cls=DjangoJSONEncoder, sort_keys=True, ensure_ascii=False)
    return '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'


def _listed_tags(header: str) -> set[str]:
    return {tag.strip() for tag in header.split(",") if tag.strip()}


class ETagMixin:
    """GET of one object answers its ETag (and 304 for a matching If-None-Match). PUT,
    PATCH and DELETE sent with If-Match are refused with 412 in the one error shape when
    the object changed since: the row is locked for the rest of the request, so the
    comparison and the write see the same version. Without If-Match a change goes through,
    as before. The ETag covers the whole representation, computed values included: a
    score run that re-tiers an account changes its ETag too.
    """

    _locked_object: Model | None = None

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().retrieve(request, *args, **kwargs)  # type: ignore[misc]
        tag = etag_of(response.data)
        if tag in _listed_tags(request.headers.get("If-None-Match", "")):
            response = Response(status=status.HTTP_304_NOT_MODIFIED)
        response["ETag"] = tag
        return response

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self.check_if_match(request)
        response = super().update(request, *args, **kwargs)  # type: ignore[misc]
        if response.status_code == status.HTTP_200_OK and self._reads_as_it_writes():
            response["ETag"] = etag_of(response.data)  # what a GET would now answer
        return response

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self.check_if_match(request)
        return super().destroy(request, *args, **kwargs)  # type: ignore[misc]

    def etag_for(self, instance: Model) -> str:
        """The ETag a GET of ``instance`` answers (its retrieve representation, whatever
        serializer this action writes with)."""
        with self._as_retrieve():
            return etag_of(self.get_serializer(instance).data)  # type: ignore[attr-defined]

    def _reads_as_it_writes(self) -> bool:
        """Whether this action's answer is the representation a GET gives (same serializer)."""
        writes_with = self.get_serializer_class()  # type: ignore[attr-defined]
        with self._as_retrieve():
            return self.get_serializer_class() is writes_with  # type: ignore[attr-defined]

    @contextlib.contextmanager
    def _as_retrieve(self) -> Iterator[None]:
        action = getattr(self, "action", None)
        self.action = "retrieve"
        try:
            yield
        finally:
            self.action = action

    def check_if_match(self, request: Request) -> None:
        """Compare If-Match with the object as it is now, under a row lock."""
        instance = self.get_object()
        header = request.headers.get("If-Match")
        if header is None or "*" in _listed_tags(header):
            return
        if self.etag_for(instance) not in _listed_tags(header):
            raise PreconditionFailed

    def get_object(self) -> Model:
        """For a change, the object locked (SELECT ... FOR UPDATE) and read again under the
        lock, once per request: a concurrent change waits, and is then seen."""
        if self.request.method not in UNSAFE_METHODS:  # type: ignore[attr-defined]
            return super().get_object()  # type: ignore[misc]
        if self._locked_object is None:
            instance = super().get_object()  # type: ignore[misc]
            type(instance)._base_manager.select_for_update().filter(pk=instance.pk).exists()
            instance.refresh_from_db()
            self._locked_object = instance
        return self._locked_object


def document_conditional_requests(result: dict[str, Any], generator: Any, **_kwargs: Any) -> dict[str, Any]:
    """drf-spectacular post-processing hook: the ETag, If-None-Match and If-Match of the
    viewsets that use :class:`ETagMixin`, and their 304 and 412 answers."""
    paths = result.get("paths", {})
    error_schema = {"$ref": "#/components/schemas/KamError"}
    for path, _regex, method, view in generator._get_paths_and_endpoints():
        operation = paths.get(path, {}).get(method.lower())
        if operation is None or not isinstance(view, ETagMixin) or "{" not in path:
            continue
        if method == "GET":
            operation.setdefault("parameters", []).append(
                _header("If-None-Match", "An ETag read before: 304 when unchanged.")
            )
            ok = operation.get("responses", {}).get("200")
            if ok is not None:
                ok.setdefault("headers", {})["ETag"] = {
                    "schema": {"type": "string"},
                    "description": "The object's version; send it back in If-Match to change it safely.",
                }
            operation["responses"]["304"] = {"description": "Not modified: the ETag in If-None-Match is current."}
        elif method in UNSAFE_METHODS:
            operation.setdefault("parameters", []).append(
                _header(
                    "If-Match", "The ETag from your GET: the change is refused with 412 if the object changed since."
                )
            )
            operation["responses"]["412"] = {
                "description": "The object changed since the ETag in If-Match was read: read it again.",
                "content": {
                    "application/json": {
                        "schema": error_schema,
                        "example": {
                            "error": {
                                "code": "precondition_failed",
                                "message": str(PreconditionFailed.default_detail),
                                "fields": {},
                            }
                        },
                    }
                },
            }
    return result


def _header(name: str, description: str) -> dict[str, Any]:
    return {"in": "header", "name": name, "required": False, "schema": {"type": "string"}, "description": description}


class TenantModelViewSet(ETagMixin, TenantViewSetMixin, viewsets.ModelViewSet):
    pass


class TenantReadOnlyViewSet(ETagMixin, TenantViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass
