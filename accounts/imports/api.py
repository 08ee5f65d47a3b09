"""Imports over the API: POST a CSV or XLSX file, then poll the job (DESIGN section 8).

The file is checked and imported by a Celery task, exactly as from the import page; the
job says how far it got and, at the end, the counts or the row errors.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.imports import jobs, uploads
from accounts.models import ImportJob, ImportKind
from kam.api.viewsets import TenantViewSetMixin
from kam.models import ApiToken
from kam.permissions import WRITERS


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
    default_detail = _("The file is too large.")


class ImportErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(
        allow_null=True, help_text="The row in the file (the header is row 1); null for the file as a whole."
    )
    column = serializers.CharField(help_text="The column's header as written in the file; empty for a whole row.")
    message = serializers.CharField()
    more = serializers.IntegerField(
        required=False, help_text="Only on a last entry: how many further errors are not listed."
    )


class ImportJobSerializer(serializers.ModelSerializer):
    created = serializers.IntegerField(source="created_count", read_only=True)
    updated = serializers.IntegerField(source="updated_count", read_only=True)
    unchanged = serializers.IntegerField(source="unchanged_count", read_only=True)
    errors = ImportErrorSerializer(many=True, read_only=True)
    progress_percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "kind",
            "status",
            "file_name",
            "total_rows",
            "processed_rows",
            "progress_percent",
            "created",
            "updated",
            "unchanged",
            "errors",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class ImportJobCreateSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="CSV (UTF-8, UTF-8 with BOM or GB18030) or an Excel workbook (.xlsx), at most 50 MB."
    )
    kind = serializers.ChoiceField(choices=ImportKind.choices)
    dry_run = serializers.BooleanField(
        default=False, help_text="Only check the file: the job ends `pending` (valid) or `failed` (row errors)."
    )

    def validate_file(self, upload: Any) -> Any:
        if uploads.over_limit(upload.size):
            raise PayloadTooLarge(uploads.too_large_message(upload.size))
        return upload


@extend_schema_view(
    list=extend_schema(summary="Recent imports", tags=["imports"]),
    retrieve=extend_schema(
        summary="An import's status",
        description="Poll until `status` is `done` (counts) or `failed` (`errors`). Another tenant's id is 404.",
        tags=["imports"],
    ),
)
class ImportJobViewSet(
    TenantViewSetMixin,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """CSV / XLSX imports of accounts, contacts, orders and invoices."""

    queryset = ImportJob.objects.select_related("created_by")
    serializer_class = ImportJobSerializer
    parser_classes = [MultiPartParser, FormParser]
    filterset_fields = ["kind", "status"]
    ordering_fields = ["id", "created_at"]
    read_roles = WRITERS
    write_roles = WRITERS

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Before authentication, which may read the body (the session's CSRF check).
        if request.method == "POST":
            try:
                self.upload_limit = uploads.limit_upload(request._request)
            except uploads.UploadTooLarge as exc:
                raise PayloadTooLarge(exc.message) from None
        super().initial(request, *args, **kwargs)

    @extend_schema(
        summary="Import a file",
        description=(
            "Upload a CSV or XLSX file (multipart: `file`, `kind`). The job is checked and imported by a "
            "background task; poll `GET /api/v1/imports/{id}/`. Nothing is written unless every row is valid. "
            "Columns are documented in docs/import.md and on the import page."
        ),
        request={"multipart/form-data": ImportJobCreateSerializer},
        responses={
            201: ImportJobSerializer,
            400: OpenApiResponse(description="A missing file or an unknown kind."),
            413: OpenApiResponse(
                response=inline_serializer("ImportTooLarge", {"error": serializers.DictField()}),
                description="The file is larger than 50 MB.",
            ),
        },
        tags=["imports"],
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = request.data  # parsed here, through the size-limited upload handler
        limiter = getattr(self, "upload_limit", None)
        if limiter is not None and limiter.too_large:
            raise PayloadTooLarge(uploads.too_large_message(limiter.received))
        payload = ImportJobCreateSerializer(data=data)
        payload.is_valid(raise_exception=True)
        tenant = request._request.tenant
        token = request.auth if isinstance(request.auth, ApiToken) else None
        user = None if token is not None else request.user
        try:
            job = jobs.import_job_create(
                tenant, kind=payload.validated_data["kind"], upload=payload.validated_data["file"], user=user
            )
        except DjangoValidationError as exc:
            raise exceptions.ValidationError(exc.message_dict) from exc
        jobs.import_job_queue(tenant, job, dry_run=payload.validated_data["dry_run"], user=user, token=token)
        return Response(ImportJobSerializer(job).data, status=status.HTTP_201_CREATED)
