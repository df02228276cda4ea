"""Checks on table deliverables: a completed template (XLSX) or its CSV files against the Table Schema.

Intake (``atlas.intake.workbooks``) opens the files safely; here each sheet is matched to a resource of
the schema, its header to the fields, and its cells are checked: first the spreadsheet habits the schema
cannot see (merged cells, formulas, dates typed as text, numbers with units, percent formats, an enum
value in another case), then the schema itself with frictionless (``checks.table_schema``: types,
constraints, enums, primary and foreign keys). Every finding names the sheet, the row as the spreadsheet
numbers it, the column's header, the value, and the rule in plain words.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl.utils.cell import range_boundaries

from atlas.config import Limits, class_key
from atlas.finding import Finding, Location, Severity
from atlas.intake.workbooks import Sheet, TableFile, read_table_file
from atlas.tables.schema import TableField, TableResource, TableSpec
from atlas.tables.template import field_rule, sheet_title
from checks.registry import declare, emit
from checks.table_schema import capped, schema_findings

TABLES = ("tables",)
NUMBER_WITH_UNIT = re.compile(r"^\s*([-+]?\d[\d\s,.]*)\s*([%‰]|[^\d\s.,].*)\s*$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
INSTRUCTION_SHEETS = {"instructions", "lists", "readme"}

for _id, _sev, _desc, _hint in (
    ("table.sheet_missing", Severity.ERROR, "A sheet (or CSV file) of the table is missing.",
     "fill in every sheet of the template; with CSV files, send one per sheet named after it"),
    ("table.sheet_extra", Severity.INFO, "A sheet or file that is not part of the table was ignored.",
     "nothing to do; keep only the template's sheets next time"),
    ("table.wrong_template", Severity.ERROR, "The workbook is the template of another table.",
     "fill in the template of this table (atlas template <ISO3> <deliverable>, or the portal)"),
    ("table.template_outdated", Severity.WARNING, "The workbook was made from an older version of the template.",
     "copy your rows into the current template (from the secretariat or the portal) and send it again"),
    ("table.country_mismatch", Severity.WARNING, "The template names another country than the inbox folder.",
     "check that the file is your country's; the inbox folder decides which country it counts for"),
    ("table.empty_sheet", Severity.ERROR, "A sheet of the table has no rows.",
     "fill in at least one row (the secretariat needs every sheet); if you have nothing to report, write so to "
     "the secretariat"),
    ("table.column_missing", Severity.ERROR, "A column of the schema is not in the sheet (required: an error; "
     "optional: a warning).", "use the template's columns as they are: do not delete or rename them"),
    ("table.column_renamed", Severity.FIXED, "A column header differs from the template's; the column was taken "
     "as the nearest one.", "keep the template's headers as they are"),
    ("table.column_extra", Severity.WARNING, "A column that the schema does not have was ignored.",
     "add no columns; put remarks in the 'Source' column or send them to the secretariat"),
    ("table.column_duplicate", Severity.ERROR, "Two columns of a sheet have the same header.",
     "keep one column per header, as in the template"),
    ("table.merged_cells", Severity.ERROR, "Cells are merged: each row must carry its own values.",
     "unmerge the cells (Home > Merge & Center > Unmerge) and type the value into every row"),
    ("table.formula", Severity.ERROR, "A cell holds a formula instead of a value (a warning when the workbook "
     "kept the formula's result, which was taken).",
     "copy the cells and paste them as values (Paste Special > Values)"),
    ("table.date_as_text", Severity.ERROR, "A date was typed as text that is not an ISO date.",
     "enter dates as dates (the template's date cells accept e.g. 2025-06-30)"),
    ("table.number_with_unit", Severity.ERROR, "A number was written with a unit or sign (\"30 %\", \"1,200 USD\").",
     "type the number alone: the column header says its unit"),
    ("table.percent_format", Severity.FIXED, "A share was entered in a cell formatted as percent (shown 30 %, "
     "stored 0.3); it was taken as 30.", "keep the template's number format for shares (0 to 100)"),
    ("table.enum_case", Severity.FIXED, "A value of a list was written in another case or spacing; the list's "
     "spelling was taken.", "choose values from the drop-down list"),
    ("table.enum", Severity.ERROR, "A value is not one of the list the column allows (another spelling or "
     "language).", "choose the value from the drop-down list; the list is in English"),
    ("table.type", Severity.ERROR, "A value is not of the column's type (a number, a whole number, a date).",
     "enter the value as the column's rule says (see the Instructions sheet)"),
    ("table.constraint", Severity.ERROR, "A value breaks a rule of its column (required, range, length, pattern).",
     "correct the value as the column's rule says (see the Instructions sheet)"),
    ("table.duplicate_key", Severity.ERROR, "Two rows have the same key (a row's identifier must be unique).",
     "give each row its own key, or delete the repeated row"),
    ("table.foreign_key", Severity.ERROR, "A row refers to a key that the referenced sheet does not have.",
     "write the key exactly as in the referenced sheet, or add the missing row there"),
    ("table.invalid", Severity.ERROR, "The table breaks a rule of its schema.", "see the message"),
    ("table.more", Severity.INFO, "More findings of one kind on one sheet were counted, not listed.",
     "fix the ones listed: the others are usually the same mistake"),
):
    declare(_id, _sev, "table", TABLES, _desc, _hint)


@dataclass
class TableRead:
    """A table checked: its findings and, per resource, its rows as typed values (with the spreadsheet row)."""

    findings: list[Finding] = field(default_factory=list)
    rows: dict[str, list[dict]] = field(default_factory=dict)  # resource -> [{"_row": n, field: value, ...}]


@dataclass
class _Column:
    index: int  # position in the sheet
    header: str  # as written
    field: TableField


@dataclass
class _SheetCheck:
    """One sheet bound to its resource: which column is which field, the findings so far, the cells reported."""

    file: str
    sheet: Sheet
    resource: TableResource
    columns: list[_Column] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    reported: set[tuple[int, str]] = field(default_factory=set)  # (row, field) with a finding already
    rows: list[tuple[int, dict]] = field(default_factory=list)

    def loc(self, row: int | None = None, column: str | None = None) -> Location:
        return Location(file=self.file, sheet=self.sheet.name, row=row, column=column)


def read_table(files: list[Path], spec: TableSpec, country: str | None = None,
               limits: Limits | None = None) -> TableRead:
    """Check the files of one table submission against ``spec``; never raises (a crash is a finding)."""
    limits = limits or Limits()
    out = TableRead()
    try:
        tables: list[TableFile] = []
        for path in files:
            table, notes = read_table_file(Path(path), limits)
            out.findings += notes
            if table is not None:
                tables.append(table)
        out.findings += _template_notes(tables, spec, country)
        bound = _bind(tables, spec, out.findings)
        checks = [_check_sheet(file, sheet, spec.resource(name)) for name, (file, sheet) in bound.items()]
        out.findings += [f for c in checks for f in c.findings]
        out.findings += schema_findings([c for c in checks if c.rows], spec)
        for c in checks:
            out.rows[c.resource.name] = [{"_row": n, **values} for n, values in c.rows]
    except Exception as exc:  # noqa: BLE001 - a bug must not stop the run: it becomes a finding
        out.findings.append(emit("internal.check_crashed", f"the table could not be checked to the end: {exc}",
                                 Location(file=", ".join(Path(p).name for p in files)), observed=type(exc).__name__))
    return out


def _template_notes(tables: list[TableFile], spec: TableSpec, country: str | None) -> list[Finding]:
    """The template's own record: the right table, the current version, the country of the inbox folder."""
    out = []
    for t in tables:
        meta, loc = t.meta, Location(file=t.path.name)
        if not meta:
            continue
        if meta.get("deliverable") and meta["deliverable"] != spec.key:
            out.append(emit("table.wrong_template", f"{t.path.name} is the template of {meta['deliverable']!r}, not "
                            f"of {spec.key!r} ({spec.title})", loc, observed=meta["deliverable"], expected=spec.key))
        elif meta.get("template_version") != spec.version:
            out.append(emit("table.template_outdated", f"{t.path.name} was made from template version "
                            f"{meta.get('template_version')}; the current one is {spec.version}", loc,
                            observed=meta.get("template_version"), expected=spec.version))
        if country and meta.get("country") and meta["country"] != country:
            out.append(emit("table.country_mismatch", f"{t.path.name} is the template of {meta['country']} "
                            f"({meta.get('country_name', '')}) but was delivered in the folder of {country}", loc,
                            observed=meta["country"], expected=country))
    return out


def _bind(tables: list[TableFile], spec: TableSpec, findings: list[Finding]) -> dict[str, tuple[str, Sheet]]:
    """Which sheet (or CSV file) holds which resource: by the sheet's name or title, a CSV by its file name."""
    bound: dict[str, tuple[str, Sheet]] = {}
    for t in tables:
        for name, sheet in t.sheets.items():
            resource = _resource_of(name, spec, csv=t.encoding is not None)
            if resource is None or resource.name in bound:
                if class_key(name) not in INSTRUCTION_SHEETS:
                    why = f"already read from {bound[resource.name][1].name}" if resource else "not part of the table"
                    findings.append(emit("table.sheet_extra", f"sheet {name!r} ignored ({why})",
                                         Location(file=t.path.name, sheet=name), observed=name,
                                         expected=[sheet_title(r) for r in spec.resources]))
                continue
            bound[resource.name] = (t.path.name, sheet)
    if tables:
        for r in spec.resources:
            if r.name not in bound:
                findings.append(emit("table.sheet_missing", f"no sheet '{sheet_title(r)}' ({r.description})",
                                     Location(file=", ".join(t.path.name for t in tables), sheet=sheet_title(r)),
                                     expected=sheet_title(r)))
    return bound


def _resource_of(name: str, spec: TableSpec, csv: bool) -> TableResource | None:
    key = class_key(name)
    for r in spec.resources:
        if key in (class_key(r.name), class_key(r.title), class_key(sheet_title(r))):
            return r
    if csv:  # VNM_rd_submission_projects.csv: the resource's name ends the file name
        found = [r for r in spec.resources if key.endswith(class_key(r.name)) or key.endswith(class_key(r.title))]
        if len(found) == 1:
            return found[0]
        if len(spec.resources) == 1:
            return spec.resources[0]
    return None


def _check_sheet(file: str, sheet: Sheet, resource: TableResource) -> _SheetCheck:
    c = _SheetCheck(file, sheet, resource)
    _bind_columns(c)
    if not sheet.rows:
        c.findings.append(emit("table.empty_sheet", f"sheet {sheet.name!r} has no rows under its header",
                               c.loc(), expected="at least one row"))
    for rng in sheet.merged_header + sheet.merged:
        min_col, min_row, max_col, max_row = range_boundaries(rng)
        headers = [str(h) for h in sheet.header[min_col - 1:max_col] if h is not None]
        rows = f"row {min_row}" if min_row == max_row else f"rows {min_row}-{max_row}"
        c.findings.append(emit("table.merged_cells", f"cells {rng} ({rows} of {', '.join(headers) or 'the sheet'}) "
                               "are merged into one", c.loc(min_row, ", ".join(headers) or None), observed=rng,
                               expected="one value per cell"))
    merged_values = _merged_fill(sheet)
    by_index = {col.index: col for col in c.columns}
    for number, values in sheet.rows:
        row: dict = {f.name: None for f in resource.fields}
        for col in c.columns:
            value = values[col.index] if col.index < len(values) else None
            value = merged_values.get((number, col.index), value)
            row[col.field.name] = _clean(c, number, col, value)
        c.rows.append((number, row))
    for (number, index), formula in sorted(sheet.formulas.items()):
        col = by_index.get(index)
        if col is None:
            continue
        value = next((v[index] for n, v in sheet.rows if n == number and index < len(v)), None)
        cached = value is not None
        c.findings.append(emit("table.formula", f"the cell holds the formula {formula!r}" + (
            f"; its last result {value!r} was taken" if cached else " and no result: the cell counts as empty"),
            c.loc(number, col.header), observed=formula, expected="a value",
            severity=Severity.WARNING if cached else None))
        c.reported.add((number, col.field.name))
    c.findings = capped(c.findings)
    return c


def _merged_fill(sheet: Sheet) -> dict[tuple[int, int], object]:
    """The merged cells' value (their top-left cell's) for every cell of the range, so one error says it all."""
    values = {n: v for n, v in sheet.rows}
    out = {}
    for rng in sheet.merged:
        min_col, min_row, max_col, max_row = range_boundaries(rng)
        top = values.get(min_row, [])
        value = top[min_col - 1] if min_col - 1 < len(top) else None
        for r in range(min_row, max_row + 1):
            for col in range(min_col - 1, max_col):
                out[(r, col)] = value
    return out


def _bind_columns(c: _SheetCheck) -> None:
    """Header cells to fields: exactly (name or title), else the nearest header, else an extra column."""
    fields = list(c.resource.fields)
    taken: dict[str, _Column] = {}
    unmatched: list[tuple[int, str]] = []
    for index, header in enumerate(c.sheet.header):
        if header is None or not str(header).strip():
            continue
        f = next((f for f in fields if f.header_matches(header)), None)
        if f is None:
            unmatched.append((index, str(header)))
        elif f.name in taken:
            c.findings.append(emit("table.column_duplicate", f"columns {taken[f.name].header!r} and {header!r} "
                                   f"both are '{f.title}'; the first was read", c.loc(1, str(header)),
                                   observed=str(header)))
        else:
            taken[f.name] = _Column(index, str(header), f)
    for index, header in unmatched:
        left = {class_key(x): f for f in fields if f.name not in taken for x in (f.name, f.title)}
        near = difflib.get_close_matches(class_key(header), list(left), n=1, cutoff=0.75)
        if near:
            f = left[near[0]]
            taken[f.name] = _Column(index, header, f)
            c.findings.append(emit("table.column_renamed", f"column {header!r} taken as '{f.title}'",
                                   c.loc(1, header), observed=header, expected=f.title))
        else:
            c.findings.append(emit("table.column_extra", f"column {header!r} is not a column of the sheet "
                                   f"'{sheet_title(c.resource)}'; ignored", c.loc(1, header), observed=header,
                                   expected=[f.title for f in fields]))
    for f in fields:
        if f.name not in taken:
            c.findings.append(emit("table.column_missing", f"no column '{f.title}' ({field_rule(f)})",
                                   c.loc(1, f.title), expected=f.title,
                                   severity=None if f.required else Severity.WARNING))
    c.columns = sorted(taken.values(), key=lambda col: col.index)


def _clean(c: _SheetCheck, number: int, col: _Column, value):
    """A cell's value for the schema: spreadsheet habits reported (and the unambiguous ones repaired)."""
    f = col.field
    where = c.loc(number, col.header)
    if value is None:
        return None
    if f.type in ("number", "integer") and isinstance(value, str):
        m = NUMBER_WITH_UNIT.match(value)
        if m:
            c.findings.append(emit("table.number_with_unit", f"{value!r} is a number with a unit or sign; "
                                   f"'{f.title}' takes {field_rule(f)}: write {m.group(1).strip()} alone",
                                   where, observed=value, expected=f"{m.group(1).strip()}"))
            c.reported.add((number, f.name))
        return value
    if f.type == "number" and isinstance(value, int | float) and (number, col.index) in c.sheet.percent \
            and "%" in f.title:
        fixed = round(value * 100, 10)
        c.findings.append(emit("table.percent_format", f"{value!r} is formatted as percent ({fixed:g} %); taken as "
                               f"{fixed:g}", where, observed=value, expected=fixed))
        return fixed
    if f.type == "date" and isinstance(value, str) and not ISO_DATE.match(value.strip()):
        c.findings.append(emit("table.date_as_text", f"{value!r} is text, not a date; '{f.title}' takes "
                               f"{field_rule(f)}", where, observed=value, expected="a date, e.g. 2025-06-30"))
        c.reported.add((number, f.name))
        return value
    if f.type == "date" and isinstance(value, dt.datetime):
        return value.date()
    if f.enum and isinstance(value, str) and value not in f.enum:
        same = [e for e in f.enum if class_key(e) == class_key(value)]
        if same:
            c.findings.append(emit("table.enum_case", f"{value!r} taken as {same[0]!r}", where, observed=value,
                                   expected=same[0]))
            return same[0]
        near = difflib.get_close_matches(value.lower(), [e.lower() for e in f.enum], n=1, cutoff=0.6)
        nearest = next((e for e in f.enum if near and e.lower() == near[0]), None)
        c.findings.append(emit("table.enum", f"{value!r} is not one of the list of '{f.title}'"
                               + (f" (did you mean {nearest!r}?)" if nearest else "") + f": {'; '.join(f.enum)}",
                               where, observed=value, expected=list(f.enum)))
        c.reported.add((number, f.name))
    return value
