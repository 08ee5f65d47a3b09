"""The size limit of an upload, for the page and the API alike: a body whose Content-Length
is already too long is refused unread; otherwise an upload handler first in the chain drops
the file as soon as it passes the limit, so a body whose Content-Length lied (or was chunked)
is never stored whole.

The import's limit is the default; another upload (a contract's document, accounts/documents.py)
passes its own ``limit``. A limit is read when the request comes, so tests may patch it."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import HttpRequest
from django.utils.translation import gettext as _

from kam.security import content_length

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
# The multipart envelope around the file (boundaries, the other fields): a request longer
# than the limit plus this cannot carry a file within the limit.
FORM_OVERHEAD = 64 * 1024


def over_limit(size: int | None, limit: int | None = None) -> bool:
    return size is not None and size > (MAX_UPLOAD_BYTES if limit is None else limit)


def too_large_message(size: int) -> str:
    return _("The file is %(size)s MB; the limit is %(limit)s MB. Split it into smaller files.") % {
        "size": f"{size / 1024 / 1024:.1f}",
        "limit": MAX_UPLOAD_BYTES // (1024 * 1024),
    }


class UploadTooLarge(Exception):
    """The request declares a body too long to carry a file within the limit (``size``: its length)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.message = too_large_message(size)
        super().__init__(self.message)


class SizeLimitedUploadHandler(FileUploadHandler):
    """Drops an uploaded file as soon as it passes the limit (``too_large`` says so)."""

    def __init__(self, request: HttpRequest | None = None, limit: int | None = None) -> None:
        super().__init__(request)
        self.limit = limit
        self.received = 0
        self.too_large = False

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if over_limit(self.received, self.limit):
            self.too_large = True
            raise SkipFile
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def limit_upload(request: HttpRequest, limit: int | None = None) -> SizeLimitedUploadHandler:
    """Before the body is read: raise UploadTooLarge for a Content-Length over the limit (the
    import's unless ``limit`` is given), else put the size-limited handler first in the
    request's chain and return it."""
    length = content_length(request)
    if length > (MAX_UPLOAD_BYTES if limit is None else limit) + FORM_OVERHEAD:
        raise UploadTooLarge(length)
    handler = SizeLimitedUploadHandler(request, limit)
    request.upload_handlers.insert(0, handler)
    return handler
