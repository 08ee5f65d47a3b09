"""Reading an import file: an Excel workbook (.xlsx) by its zip signature, else text in UTF-8
(with or without BOM) or GB18030 — what Excel in China saves — decided by decoding the whole
file strictly, so a wrong guess is impossible. Records come out as (row number, cells)."""

from __future__ import annotations

import codecs
import csv
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.imports.errors import ImportFileError

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 (.xls)

NOT_TEXT_MESSAGE = gettext_lazy(
    "The file is not UTF-8 or GB18030 text. Save it from Excel as “CSV UTF-8” or as an Excel workbook (.xlsx)."
)


@dataclass(frozen=True)
class SourceFile:
    path: Path
    format: str  # "csv" or "xlsx"
    encoding: str  # "utf-8", "utf-8-sig", "gb18030" or "xlsx"
    estimated_rows: int  # data rows, for progress before the file is read


def inspect_file(path: str | Path, file_name: str = "") -> SourceFile:
    """Decide how to read the file, or raise ImportFileError with a message for the user."""
    path = Path(path)
    with open(path, "rb") as handle:
        head = handle.read(8)
    if not head:
        raise ImportFileError(_("The file is empty."))
    if head.startswith(ZIP_MAGIC):
        return SourceFile(path, "xlsx", "xlsx", _xlsx_row_estimate(path))
    if head.startswith(OLE_MAGIC):
        raise ImportFileError(
            _("Excel 97–2003 workbooks (.xls) are not supported. Save the file as an Excel workbook (.xlsx) or as CSV.")
        )
    if file_name.lower().endswith(".xlsx"):
        raise ImportFileError(_xlsx_damaged())
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ImportFileError(str(NOT_TEXT_MESSAGE))
    candidates = ["utf-8-sig"] if head.startswith(codecs.BOM_UTF8) else ["utf-8", "gb18030"]
    for encoding in candidates:
        lines = _decode_whole_file(path, encoding)
        if lines is not None:
            return SourceFile(path, "csv", encoding, max(lines - 1, 0))
    raise ImportFileError(str(NOT_TEXT_MESSAGE))


def _decode_whole_file(path: Path, encoding: str) -> int | None:
    """The number of line breaks when the whole file decodes strictly, else None."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    lines = 0
    last = b""
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            if b"\x00" in chunk:
                raise ImportFileError(
                    _(
                        "The file is not a text file (it contains binary data). "
                        "Upload a CSV file or an Excel workbook (.xlsx)."
                    )
                )
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                return None
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return None
    return lines + (1 if last not in (b"\n", b"") else 0)


def _xlsx_damaged() -> str:
    return _(
        "The file is not a valid Excel workbook (.xlsx); it may be damaged. "
        "Save it again from Excel or upload it as CSV."
    )


def _open_workbook(path: Path) -> Any:
    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions it skips
        try:
            return openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException, XML errors...
            raise ImportFileError(_xlsx_damaged()) from exc


def _xlsx_row_estimate(path: Path) -> int:
    workbook = _open_workbook(path)
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        return max((sheet.max_row or 1) - 1, 0) if sheet is not None else 0
    except Exception as exc:
        raise ImportFileError(_xlsx_damaged()) from exc
    finally:
        workbook.close()


def iter_records(source: SourceFile) -> Iterator[tuple[int, list[Any]]]:
    """(row number, cells) for every record of the file, the header included; rows count from 1."""
    if source.format == "xlsx":
        yield from _xlsx_records(source.path)
    else:
        yield from _csv_records(source.path, source.encoding)


def _csv_records(path: Path, encoding: str) -> Iterator[tuple[int, list[Any]]]:
    with open(path, encoding=encoding, newline="") as handle:
        first_line = handle.readline()
        handle.seek(0)
        delimiter = ","
        if "," not in first_line:
            delimiter = next((d for d in ("\t", ";") if d in first_line), ",")
        reader = csv.reader(handle, delimiter=delimiter)
        number = 0
        try:
            for number, cells in enumerate(reader, start=1):  # noqa: B007 - read after the loop on error
                yield number, cells
        except csv.Error as exc:
            raise ImportFileError(
                _("Row %(row)s could not be read as CSV: %(error)s") % {"row": number + 1, "error": exc},
                row=number + 1,
            ) from exc


def _xlsx_records(path: Path) -> Iterator[tuple[int, list[Any]]]:
    workbook = _open_workbook(path)
    try:
        if not workbook.worksheets:
            raise ImportFileError(_("The file is empty."))
        sheet = workbook.worksheets[0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield number, list(cells)
    except ImportFileError:
        raise
    except Exception as exc:
        raise ImportFileError(_xlsx_damaged()) from exc
    finally:
        workbook.close()
