"""The one base of the apps' API views and viewsets.

- :class:`TenantViewSetMixin` reads a viewset's queryset (declared on the model's scoped
  manager: the request's tenant) and lists through kam.api.fastlist when it can.
- :class:`TenantApiMixin` is what every API view knows of its request: the tenant, the
  session's membership (None for an API token), who acts, and the account rules a
  session user is held to (a token acts tenant-wide with its scope, which
  kam.api.permissions.TenantAccess checks).
- :class:`TenantApiViewSetMixin` adds to that numeric ids, filters with a stable order, and
  the rows a session member reads, through the ``account_path`` each viewset declares.
- :class:`AccountRecordMixin` writes the records of an account through their services.
- Detail resources of :class:`ETagMixin` carry an ETag, and a change sent with a stale
  If-Match is refused with 412 (optimistic concurrency).

The error responses are documented on every operation by kam.api.schema.KamAutoSchema (the
DEFAULT_SCHEMA_CLASS), and every error answers in the one shape of kam.api.errors. The
docstrings here describe code, not the API: kam.api.schema.lib_doc_excludes keeps them out of
the operations' descriptions.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Model, QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from kam.api import fastlist
from kam.api.filters import StableOrderingFilter
from kam.api.utils import actor_of, service_errors
from kam.models import Membership, Tenant
from kam.permissions import READ_ALL
from kam.tenancy import tenant_today

UNSAFE_METHODS = frozenset({"PUT", "PATCH", "DELETE"})


class TenantViewSetMixin:
    queryset: QuerySet
    # Lists go through kam.api.fastlist when the serializer qualifies (same bytes, a fraction of
    # the CPU); False keeps DRF's path for a viewset whatever its serializer.
    fast_list: bool = True

    def get_queryset(self) -> QuerySet:
        # The class's queryset, on the model's scoped manager, reads the tenant active when it
        # runs: the request's, which its authentication activated.
        return self.queryset.all()

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


# --- the account rules ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountRules:
    """Who reads and writes which account, as the accounts app decides it.

    kam imports no domain app, so the accounts app hands its rules over: AccountsConfig.ready()
    calls :func:`register_account_rules` with accounts.access.readable_accounts,
    accounts.access.can_write and accounts.selectors.account_get (the way teams hands
    accounts.access what "serving on" an account means). The API base asks for them at
    request time, never at import.
    """

    # (tenant, membership) -> the accounts the member reads, a queryset usable as a subquery.
    readable: Callable[[Tenant, Membership], QuerySet]
    # (tenant, membership, account) -> whether the member may change the account and its records.
    can_write: Callable[[Tenant, Membership, Any], bool]
    # (tenant, membership or None, pk) -> the account, 404 unless the member reads it (None: a token).
    get: Callable[[Tenant, Membership | None, Any], Any]


_account_rules: AccountRules | None = None


def register_account_rules(rules: AccountRules) -> None:
    global _account_rules
    _account_rules = rules


def account_rules() -> AccountRules:
    if _account_rules is None:
        raise ImproperlyConfigured("No account rules: the accounts app registers them in AccountsConfig.ready().")
    return _account_rules


# --- the API base -------------------------------------------------------------------------------------


class TenantApiMixin:
    """What every API view knows of its request, and the checks it shares.

    A session user is held to the account rules (members read the accounts they own or
    serve on; managers write those); a token has no membership and acts tenant-wide with its
    scope. ``write_denied_message`` is the 403 message when a session user may not change
    an account (None: DRF's generic one).
    """

    request: Request
    write_denied_message: str | None = None

    @property
    def tenant(self) -> Tenant:
        return self.request._request.tenant

    @property
    def membership(self) -> Membership | None:
        """The session user's membership; None for a token, which acts tenant-wide."""
        return getattr(self.request._request, "membership", None)

    @property
    def actor(self) -> Any:
        """Who the audit log names: the token, or the session's user."""
        return actor_of(self.request)

    @property
    def today(self) -> dt.date:
        return tenant_today(self.tenant)

    def readable_account(self, pk: Any) -> Any:
        """The account ``pk`` of the tenant: 404 for another tenant's, or one a member does not read."""
        return account_rules().get(self.tenant, self.membership, pk)

    def check_account_writable(self, account: Any) -> None:
        """A session user changes only the accounts they write (and those accounts' records)."""
        membership = self.membership
        if membership is not None and not account_rules().can_write(self.tenant, membership, account):
            raise PermissionDenied(self.write_denied_message)

    def require_role(self, roles: frozenset[str], message: str | None = None) -> None:
        """A session user's role must be one of ``roles``; a token passes (TenantAccess has
        required the write scope for a write)."""
        membership = self.membership
        if membership is not None and membership.role not in roles:
            raise PermissionDenied(message)


class TenantApiViewSetMixin(TenantApiMixin, TenantViewSetMixin):
    """The base of every domain viewset: the tenant's rows, numeric ids, django-filter and
    ``?ordering=`` with a stable tie-breaker, and for a session member only the rows of the
    accounts they read.

    Each viewset declares ``account_path``, the lookup from its model to the account a row
    belongs to (``"account"``, ``"team__account"``, ``"id"`` for Account itself), or None
    for rows that are not an account's (tenant-wide, or checked otherwise by the view).
    Undeclared is an error rather than rows shown to everyone.
    """

    lookup_value_regex = "[0-9]+"
    filter_backends: tuple[type, ...] = (DjangoFilterBackend, StableOrderingFilter)
    account_path: str | None

    def get_queryset(self) -> QuerySet:
        return self.readable_rows(super().get_queryset())

    def readable_rows(self, rows: QuerySet) -> QuerySet:
        try:
            path = self.account_path
        except AttributeError:
            raise ImproperlyConfigured(f"{type(self).__name__} declares no account_path.") from None
        membership = self.membership
        # Roles that read every account skip the subquery: it would hold all the tenant's accounts.
        if path is None or membership is None or membership.role in READ_ALL:
            return rows
        return rows.filter(**{f"{path}__in": account_rules().readable(self.tenant, membership).values("pk")})


@dataclass(frozen=True)
class RecordServices:
    """The services that write one kind of account record; ``name`` is the keyword the
    update and delete services take the record by (order=, invoice=, plan=, …)."""

    name: str
    create: Callable[..., Any]
    update: Callable[..., Any]
    delete: Callable[..., None]


class AccountRecordMixin(TenantApiViewSetMixin):
    """Records that belong to an account (a required ``account`` field): a session user reads
    them where they read the account, and writes them where they write the account, the one
    a record moves to included. Every write goes through ``record_services``, whose
    ValidationErrors answer 400."""

    account_path = "account"
    record_services: RecordServices

    def check_account(self, account: Any) -> None:
        self.check_account_writable(account)

    def check_record(self, record: Any) -> None:
        self.check_account(record.account)

    def create_data(self, data: dict[str, Any]) -> dict[str, Any]:
        return data

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        self.check_account(data["account"])
        with service_errors():
            serializer.instance = self.record_services.create(self.tenant, actor=self.actor, **self.create_data(data))

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        record = serializer.instance
        self.check_record(record)
        data = dict(serializer.validated_data)
        if "account" in data and data["account"].pk != record.account_id:
            self.check_account(data["account"])
        with service_errors():
            serializer.instance = self.record_services.update(
                self.tenant, actor=self.actor, **{self.record_services.name: record}, **data
            )

    def perform_destroy(self, instance: Any) -> None:
        self.check_record(instance)
        with service_errors():
            self.record_services.delete(self.tenant, actor=self.actor, **{self.record_services.name: instance})


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
