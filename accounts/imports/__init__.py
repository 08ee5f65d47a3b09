"""CSV and XLSX import of accounts, contacts, orders and invoices (DESIGN sections 3 and 9).

One engine for the import page, the API (both through a Celery task for large files) and
``manage.py import_csv``:

1. open the file: an Excel workbook (.xlsx) by its zip signature, else text in UTF-8 (with
   or without BOM) or GB18030 — what Excel in China saves — decided by decoding the whole
   file strictly, so a wrong guess is impossible;
2. map the header: Chinese or English column names, case, spaces and underscores ignored;
3. check every row, collecting errors by row number as the user sees it in the file (the
   header is row 1) and by column (the header as written);
4. only when the whole file is valid, write it, in one transaction (a savepoint when the
   caller has one open), under the tenant's row-level security.

Empty cells never overwrite: on an update, a blank cell (or a missing optional column)
leaves the stored value as it is; on a create, it leaves the field blank or at its default.

The modules, in the order an import goes through them:

- ``errors``: ImportFileError (the file as a whole), CellError (one cell), ErrorLog (the row
  errors kept and counted) and ``error_total`` of a stored list.
- ``uploads``: the 50 MB limit of an upload, refused unread by its Content-Length or dropped
  while streaming, for the page and the API alike.
- ``files``: reading a file: the format and encoding sniffed, the records as (row, cells).
- ``cells``: one cell parsed and checked: text, dates, amounts, choices, credit codes, e-mail.
- ``columns``: the columns of each kind, the header of a file mapped onto them, the
  reference table of the page.
- ``base``: what every importer shares: the tenant's accounts by code and name, the accounts
  a manager may write, one cell read with its error recorded, the account a row names.
- ``graph``: accounts (parents) and contacts (reports_to), checked as a graph in memory,
  cycles included, then written with one bulk create and update.
- ``staged``: orders and invoices, streamed through COPY into a TEMP staging table and
  upserted with one INSERT ... ON CONFLICT; no Python object per row.
- ``progress``: how far an import got, written to its job through a connection of its own.
- ``run``: ``import_file``, one file start to end: the tenant's lock for the kind, read and
  check, write in one transaction or nothing, audit; the outcome.
- ``jobs``: the ImportJob's life (upload saved, checked, claimed, imported, discarded), its
  preview, and the entry points of the page, the API, the Celery task and the command.
- ``views``, ``urls``: the import pages; ``api``, ``api_urls``: the import endpoints.
"""
