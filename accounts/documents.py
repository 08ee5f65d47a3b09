"""A contract's document (DESIGN section 14): PDF, Word (DOCX), Excel (XLSX) or a PNG/JPEG image,
at most MAX_DOCUMENT_BYTES.

The type is judged by the content, never by the name: a PDF starts with ``%PDF-``, a PNG and a
JPEG with their signatures, a DOCX or XLSX is a ZIP archive whose entries include
``[Content_Types].xml`` and ``word/`` or ``xl/`` (only the archive's directory is read, nothing is
unpacked). The name's extension must then agree with the type found, so an executable renamed
.pdf, or a PNG named .docx, is refused with a message that says so.

The file is stored under MEDIA_ROOT/contracts/<tenant>/ (accounts.models.contract_document_path)
and reaches a browser only through the views that check the reader (accounts/contract_views.py,
the API's contracts/{id}/document/), as an attachment with the type found here.
"""

from __future__ import annotations

import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import PurePath
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.core.files import File
from django.utils.translation import gettext as _

from accounts.imports import uploads

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
# How much of the file the signatures are read from.
HEAD_BYTES = 8


@dataclass(frozen=True)
class DocumentType:
    key: str
    content_type: str
    extensions: tuple[str, ...]  # the first is the one a stored file gets

    @property
    def label(self) -> str:
        return {
            "pdf": _("a PDF document"),
            "docx": _("a Word document (DOCX)"),
            "xlsx": _("an Excel workbook (XLSX)"),
            "png": _("a PNG image"),
            "jpeg": _("a JPEG image"),
        }[self.key]


PDF = DocumentType("pdf", "application/pdf", (".pdf",))
DOCX = DocumentType("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", (".docx",))
XLSX = DocumentType("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",))
PNG = DocumentType("png", "image/png", (".png",))
JPEG = DocumentType("jpeg", "image/jpeg", (".jpg", ".jpeg"))
TYPES = (PDF, DOCX, XLSX, PNG, JPEG)
# For a file input's accept attribute (a hint to the browser; the content decides).
ACCEPT = ",".join(extension for kind in TYPES for extension in kind.extensions)

# Programs: named as such in the refusal, whatever the name says.
PROGRAM_SIGNATURES = (b"MZ", b"\x7fELF", b"\xfe\xed\xfa", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"#!")


@dataclass(frozen=True)
class CheckedDocument:
    """A document that passed the checks, ready for the contract's fields."""

    file: File
    name: str  # the original name, cleaned, for the download
    size: int
    type: DocumentType

    def fields(self) -> dict[str, Any]:
        return {
            "document": self.file,
            "document_name": self.name,
            "document_size": self.size,
            "document_type": self.type.content_type,
        }


def limit_mb() -> str:
    return f"{MAX_DOCUMENT_BYTES / 1024 / 1024:g}"


def too_large_message(size: int | None = None) -> str:
    """``size`` None: the file was dropped while it arrived, its whole size unknown."""
    if size is None:
        return _("The document is larger than the limit of %(limit)s MB.") % {"limit": limit_mb()}
    return _("The document is %(size)s MB; the limit is %(limit)s MB.") % {
        "size": f"{size / 1024 / 1024:.1f}",
        "limit": limit_mb(),
    }


def over_limit(size: int | None) -> bool:
    return uploads.over_limit(size, MAX_DOCUMENT_BYTES)


def limit_upload(request: Any) -> uploads.SizeLimitedUploadHandler:
    """Before the body is read: UploadTooLarge for a Content-Length beyond the document limit,
    else the size-limited handler in front (accounts.imports.uploads)."""
    return uploads.limit_upload(request, MAX_DOCUMENT_BYTES)


def _zip_type(stream: IO[bytes]) -> DocumentType | None:
    try:
        with zipfile.ZipFile(stream) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    if any(name.startswith("word/") for name in names):
        return DOCX
    if any(name.startswith("xl/") for name in names):
        return XLSX
    return None


def detect_type(stream: IO[bytes]) -> DocumentType | None:
    """The document type of the content, or None. The stream is left at its start."""
    stream.seek(0)
    head = stream.read(HEAD_BYTES)
    stream.seek(0)
    try:
        if head.startswith(b"%PDF-"):
            return PDF
        if head.startswith(b"\x89PNG\r\n\x1a\n"):
            return PNG
        if head.startswith(b"\xff\xd8\xff"):
            return JPEG
        if head.startswith(b"PK\x03\x04"):
            return _zip_type(stream)
        return None
    finally:
        stream.seek(0)


def clean_name(name: str) -> str:
    """The original file name as the download will carry it: its last path part, without
    control characters, at most 200 characters (keeping the extension)."""
    base = PurePath(str(name).replace("\\", "/")).name
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip().strip(".")
    if len(base) > 200:
        suffix = PurePath(base).suffix[:20]
        base = base[: 200 - len(suffix)] + suffix
    return base


def check_document(upload: Any) -> CheckedDocument:
    """The upload checked: size, content type, and the name's extension against the content.
    Raises a ValidationError on ``document`` with the reason."""

    def refuse(message: str) -> ValidationError:
        return ValidationError({"document": message})

    size = getattr(upload, "size", None) or 0
    if over_limit(size):
        raise refuse(too_large_message(size))
    if size == 0:
        raise refuse(_("The file is empty."))
    name = clean_name(getattr(upload, "name", "") or "")
    extension = PurePath(name).suffix.lower()
    found = detect_type(upload)
    if found is None:
        upload.seek(0)
        head = upload.read(HEAD_BYTES)
        upload.seek(0)
        if head.startswith(PROGRAM_SIGNATURES):
            raise refuse(
                _(
                    "This file is a program, not a document: it is refused whatever its name says. "
                    "Upload a PDF, Word (DOCX), Excel (XLSX), PNG or JPEG file."
                )
            )
        if head.startswith(b"PK\x03\x04"):
            raise refuse(
                _(
                    "This ZIP archive is not a Word (DOCX) or Excel (XLSX) document. "
                    "Upload a PDF, DOCX, XLSX, PNG or JPEG file."
                )
            )
        raise refuse(
            _(
                "The content of this file is not a PDF, Word (DOCX), Excel (XLSX), PNG or JPEG document "
                "(the content is checked, not the name)."
            )
        )
    if extension not in found.extensions:
        raise refuse(
            _(
                "The file's name ends in “%(extension)s” but its content is %(kind)s: "
                "name it %(expected)s or choose the right file."
            )
            % {
                "extension": extension or _("no extension"),
                "kind": found.label,
                "expected": " / ".join(found.extensions),
            }
        )
    if not name or name.lower() == extension:
        name = f"document{found.extensions[0]}"
    # Stored under a random name with the type's own extension (contract_document_path).
    stored = File(upload, name=f"document{found.extensions[0]}")
    return CheckedDocument(file=stored, name=name, size=size, type=found)
