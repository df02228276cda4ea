"""Opening a table deliverable's files (XLSX workbooks, CSV) safely, before any rule looks at them.

An XLSX file is a zip of XML parts: its directory is vetted like any archive (member count, expanded
size, compression ratio: zip bombs and oversize XML), and a workbook that links to other files
(external links, data connections) or declares XML entities is refused before openpyxl parses it.
A password-protected workbook is an encrypted OLE file, not a zip: it is named as such. CSV files are
read as UTF-8, else as Windows-1252 (Latin-1) with a warning. What is read is plain values per sheet,
with the row numbers the spreadsheet shows, merged ranges, formulas and percent-formatted cells kept
for the rules (``checks.table``) to report.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from atlas.config import Limits
from atlas.finding import Finding, Location
from atlas.intake.findings import finding

log = logging.getLogger(__name__)

WORKBOOK_SUFFIXES = {".xlsx", ".xlsm"}
OTHER_SPREADSHEETS = {".xls", ".ods", ".numbers"}
TABLE_SUFFIXES = WORKBOOK_SUFFIXES | OTHER_SPREADSHEETS | {".csv"}
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# parts of a workbook that pull data from elsewhere: other workbooks, databases, web queries
LINKING_PARTS = ("xl/externallinks/", "xl/connections.xml", "xl/querytables/", "customxml/")
XML_HEAD_BYTES = 4096  # a DOCTYPE (entity declarations: "billion laughs") sits before the root element
TEMPLATE_SHEET = "_template"  # atlas.tables.template.TEMPLATE_SHEET (intake reads it, never imports the writer)


@dataclass
class Sheet:
    """One sheet (or one CSV file) as read: header, the non-blank rows with their spreadsheet row numbers."""

    name: str
    header: list = field(default_factory=list)
    rows: list[tuple[int, list]] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)  # merged ranges below the header, e.g. "B4:B6"
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, column index) -> formula text
    percent: set[tuple[int, int]] = field(default_factory=set)  # cells shown as percent (value 0.3 shows 30 %)
    merged_header: list[str] = field(default_factory=list)  # merged ranges touching the header row


@dataclass
class TableFile:
    """What one table file holds: its sheets, and the template's own record (deliverable, version, country)."""

    path: Path
    sheets: dict[str, Sheet] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)
    encoding: str | None = None  # CSV only


def read_table_file(path: Path, limits: Limits) -> tuple[TableFile | None, list[Finding]]:
    """A workbook or CSV read safely, or None with the findings that refused it. Never raises."""
    path = Path(path)
    loc = Location(file=path.name)
    try:
        if not path.is_file() or path.is_symlink():
            return None, [finding("table.unreadable", f"{path.name} is not a regular file", loc)]
        size = path.stat().st_size
        if size == 0:
            return None, [finding("table.unreadable", f"{path.name} is empty (0 bytes)", loc, observed=0)]
        suffix = path.suffix.lower()
        if suffix == ".csv":
            return read_csv(path, limits)
        with open(path, "rb") as fh:
            head = fh.read(8)
        if head == OLE_MAGIC:
            return None, [_ole(path)]
        if suffix in OTHER_SPREADSHEETS or not head.startswith(b"PK"):
            what = "an OpenDocument or other spreadsheet" if head.startswith(b"PK") else "not a zip"
            return None, [finding("table.format", f"{path.name}: not an Excel workbook (.xlsx); its content is {what}",
                                  loc, observed=suffix, expected=".xlsx or .csv (UTF-8)")]
        refusal = vet_workbook(path, limits)
        if refusal:
            return None, refusal
        return read_workbook(path, limits)
    except Exception as exc:  # noqa: BLE001 - a file we cannot read is a finding, never a traceback
        log.info("table %s unreadable: %s", path, exc)
        return None, [finding("table.unreadable", f"{path.name} cannot be read as a workbook: "
                              f"{type(exc).__name__}: {str(exc)[:200]}", loc, observed=type(exc).__name__)]


def _ole(path: Path) -> Finding:
    """An OLE compound file: an encrypted (password-protected) workbook, or an old binary .xls."""
    with open(path, "rb") as fh:
        body = fh.read(1 << 20)
    if "EncryptedPackage".encode("utf-16-le") in body or b"EncryptedPackage" in body:
        return finding("table.encrypted", f"{path.name} is protected with a password (encrypted); it cannot be "
                       "read", Location(file=path.name), observed="encrypted workbook")
    return finding("table.format", f"{path.name}: an old Excel 97-2003 workbook (.xls) or another OLE file, "
                   "not .xlsx", Location(file=path.name), observed="OLE (.xls)", expected=".xlsx or .csv (UTF-8)")


def vet_workbook(path: Path, limits: Limits) -> list[Finding]:
    """Refusals from the zip directory and the XML heads alone, before a parser expands anything."""
    loc = Location(file=path.name)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            total = sum(i.file_size for i in infos)
            if len(infos) > limits.max_archive_members:
                return [finding("table.too_large", f"{path.name}: {len(infos):,} parts in the workbook, more than "
                                f"{limits.max_archive_members:,}", loc, observed=len(infos),
                                expected=limits.max_archive_members)]
            if total > limits.max_workbook_bytes:
                return [finding("table.too_large", f"{path.name}: expands to {total / 2**20:,.0f} MiB of XML, more "
                                f"than {limits.max_workbook_bytes / 2**20:,.0f} MiB", loc, observed=total,
                                expected=limits.max_workbook_bytes)]
            for i in infos:
                ratio = i.file_size / max(i.compress_size, 1)
                if i.file_size > (1 << 20) and ratio > limits.max_compression_ratio:
                    return [finding("table.too_large", f"{path.name}: part {i.filename!r} expands {ratio:,.0f}-fold "
                                    f"(limit {limits.max_compression_ratio:g}): a zip bomb or padded XML", loc,
                                    observed=round(ratio, 1), expected=limits.max_compression_ratio)]
            linking = sorted({i.filename for i in infos if i.filename.lower().startswith(LINKING_PARTS)})
            if linking:
                return [finding("table.links_refused", f"{path.name} links to other workbooks or data sources "
                                f"({', '.join(linking[:3])}); not opened", loc, observed=linking[:10])]
            if "xl/workbook.xml" not in {i.filename for i in infos}:
                return [finding("table.format", f"{path.name}: a zip, but not an Excel workbook (no xl/workbook.xml)",
                                loc, expected=".xlsx or .csv (UTF-8)")]
            for i in infos:
                if i.filename.lower().endswith((".xml", ".rels", ".vml")):
                    with zf.open(i) as part:
                        head = part.read(XML_HEAD_BYTES).upper()
                    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                        return [finding("table.links_refused", f"{path.name}: part {i.filename!r} declares XML "
                                        "entities (a DOCTYPE), which can expand without bound or read other files; "
                                        "not opened", loc, observed=i.filename)]
    except zipfile.BadZipFile as exc:
        return [finding("table.unreadable", f"{path.name}: a damaged workbook ({exc})", loc)]
    return []


def read_workbook(path: Path, limits: Limits) -> tuple[TableFile | None, list[Finding]]:
    """Every visible sheet's values (the cached results of formulas), merged ranges, formulas, percent cells."""
    import openpyxl

    with warnings.catch_warnings():  # "Data Validation extension is not supported": harmless here
        warnings.simplefilter("ignore")
        formulas_wb = openpyxl.load_workbook(path, data_only=False, keep_links=False, keep_vba=False)
        values_wb = openpyxl.load_workbook(path, data_only=True, keep_links=False, keep_vba=False)
    table = TableFile(path)
    findings: list[Finding] = []
    for ws in formulas_wb.worksheets:
        if ws.title == TEMPLATE_SHEET:
            table.meta = {str(r[0]): str(r[1]) for r in ws.iter_rows(values_only=True, max_col=2) if r[0]}
            continue
        if ws.sheet_state != "visible":
            continue
        if ws.max_row > limits.max_table_rows + 1:
            findings.append(finding("table.too_large", f"{path.name}: sheet {ws.title!r} has {ws.max_row:,} rows, "
                                    f"more than {limits.max_table_rows:,}", Location(file=path.name, sheet=ws.title),
                                    observed=ws.max_row, expected=limits.max_table_rows))
            continue
        table.sheets[ws.title] = _sheet(ws, values_wb[ws.title])
    return table, findings


def _sheet(ws, values_ws) -> Sheet:
    sheet = Sheet(ws.title)
    for rng in ws.merged_cells.ranges:
        (sheet.merged_header if rng.min_row == 1 else sheet.merged).append(rng.coord)
    width = ws.max_column
    grid = list(values_ws.iter_rows(min_row=1, max_row=ws.max_row, max_col=width, values_only=True))
    if not grid:
        return sheet
    header = list(grid[0])
    while header and _blank(header[-1]):
        header.pop()
    sheet.header = header
    for row in ws.iter_rows(min_row=2, max_row=ws.max_row, max_col=width):
        for cell in row:
            if cell.data_type == "f" or (isinstance(cell.value, str) and cell.value.startswith("=")) \
                    or type(cell.value).__name__ in ("ArrayFormula", "DataTableFormula"):
                sheet.formulas[(cell.row, cell.column - 1)] = str(getattr(cell.value, "text", cell.value))
            if cell.value is not None and "%" in str(cell.number_format):
                sheet.percent.add((cell.row, cell.column - 1))
    for number, values in enumerate(grid[1:], start=2):
        values = [_plain(v) for v in values]
        if all(_blank(v) for v in values):
            continue
        sheet.rows.append((number, values))
    return sheet


def _plain(value):
    """A cell value as a table value: datetimes at midnight become dates, blank text becomes empty."""
    if isinstance(value, dt.datetime):
        return value.date() if value.time() == dt.time(0) else value
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def read_csv(path: Path, limits: Limits) -> tuple[TableFile | None, list[Finding]]:
    """A CSV file as one sheet: UTF-8 (with or without BOM), else Windows-1252/Latin-1 with a warning."""
    loc = Location(file=path.name)
    if path.stat().st_size > limits.max_workbook_bytes:
        return None, [finding("table.too_large", f"{path.name}: {path.stat().st_size / 2**20:,.0f} MiB, more than "
                              f"{limits.max_workbook_bytes / 2**20:,.0f} MiB", loc)]
    data = path.read_bytes()
    findings: list[Finding] = []
    try:
        text, encoding = data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as exc:
        try:
            text, encoding = data.decode("cp1252"), "windows-1252"
        except UnicodeDecodeError:
            text, encoding = data.decode("latin-1"), "latin-1"
        findings.append(finding("table.encoding", f"{path.name} is not UTF-8 (byte {data[exc.start]:#04x} at "
                                f"position {exc.start}); read as {encoding}: check that names with accents read "
                                "right in this report", loc, observed=encoding, expected="utf-8"))
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count) if first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    sheet = Sheet(path.stem)
    for number, values in enumerate(reader, start=1):
        if number == 1:
            sheet.header = list(values)
            continue
        if number > limits.max_table_rows + 1:
            findings.append(finding("table.too_large", f"{path.name}: more than {limits.max_table_rows:,} rows", loc,
                                    expected=limits.max_table_rows))
            return None, findings
        cells = [None if not v.strip() else v for v in values]
        if any(c is not None for c in cells):
            sheet.rows.append((number, cells))
    return TableFile(path, {sheet.name: sheet}, encoding=encoding), findings
