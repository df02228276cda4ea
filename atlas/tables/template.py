"""The XLSX template of a table deliverable for one country, written from its Table Schema.

Learnt from ``tableschema-to-template`` (enum lists on a sheet of their own, one validation per column
below the header) and extended to what focal points need: an instructions sheet with the country filled
in, one sheet per resource, a locked header row, drop-downs, input messages, number and date formats,
and a hidden sheet naming the deliverable, the template version and the country, so that validation
can tell an old template from the current one. Written with xlsxwriter (data validations, protection).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

from atlas.atomic import write_atomic
from atlas.cells import safe_cell
from atlas.tables.schema import TableField, TableResource, TableSpec

TEMPLATE_SHEET = "_template"  # very hidden: deliverable, template_version, country (read back by validation)
LISTS_SHEET = "Lists"  # hidden: one column per enum, the drop-downs' sources
INSTRUCTIONS_SHEET = "Instructions"
DATA_ROWS = 2000  # rows below the header that carry the drop-downs and formats
NUMBER_FORMATS = {"number": "0.0##", "integer": "0", "date": "yyyy-mm-dd", "string": "@", "boolean": "General"}
TYPE_WORDS = {"number": "a number", "integer": "a whole number", "date": "a date (YYYY-MM-DD)",
              "string": "text", "boolean": "TRUE or FALSE"}


def sheet_title(resource: TableResource) -> str:
    """The sheet a resource is entered on: its title, within Excel's 31 characters and allowed signs."""
    title = "".join("_" if ch in "[]:*?/\\" else ch for ch in resource.title)
    return title[:31]


def template_name(iso3: str, spec: TableSpec) -> str:
    """The file name of a country's template; the inbox recognises the table by the deliverable key in it."""
    return f"{iso3}_{spec.key}.xlsx"


def field_rule(f: TableField) -> str:
    """A field's rule in plain words (the instructions sheet, the input messages, the findings)."""
    parts = [TYPE_WORDS.get(f.type, f.type)]
    if f.enum:
        parts = ["one of the list"]
    if f.minimum is not None and f.maximum is not None:
        parts.append(f"from {f.minimum:g} to {f.maximum:g}")
    elif f.minimum is not None:
        parts.append(f"{f.minimum:g} or more")
    elif f.maximum is not None:
        parts.append(f"{f.maximum:g} or less")
    if f.max_length:
        parts.append(f"at most {f.max_length} characters")
    parts.append("required" if f.required else "optional")
    return ", ".join(parts)


def write_template(spec: TableSpec, iso3: str, country_name: str, out_path: Path,
                   deadline: dt.date | None = None, today: dt.date | None = None) -> Path:
    """Write the country's template to ``out_path`` (atomically) and return it."""
    out_path = Path(out_path)
    write_atomic(out_path, lambda tmp: _write(spec, iso3, country_name, tmp, deadline, today or dt.date.today()))
    return out_path


def _write(spec: TableSpec, iso3: str, country_name: str, path: Path, deadline, today: dt.date) -> None:
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False})
    wb.set_properties({"title": f"{spec.title}: {country_name}", "subject": spec.key,
                       "created": dt.datetime(today.year, today.month, today.day)})
    fmt = _formats(wb)
    instructions = wb.add_worksheet(INSTRUCTIONS_SHEET)
    lists = wb.add_worksheet(LISTS_SHEET)
    list_refs = _write_lists(lists, spec, fmt)
    for resource in spec.resources:
        _data_sheet(wb, resource, list_refs, fmt, country_name, spec)
    _instructions(instructions, spec, iso3, country_name, deadline, fmt)
    meta = wb.add_worksheet(TEMPLATE_SHEET)
    for row, (k, v) in enumerate({"deliverable": spec.key, "template_version": spec.version, "country": iso3,
                                   "country_name": country_name, "written": today.isoformat()}.items()):
        meta.write_string(row, 0, k)
        meta.write_string(row, 1, str(v))
    meta.very_hidden()
    lists.hide()
    instructions.activate()
    wb.close()


def _formats(wb) -> dict:
    base = {"font_name": "Calibri", "font_size": 10, "valign": "top"}
    fmt = {
        "title": wb.add_format({**base, "bold": True, "font_size": 14}),
        "bold": wb.add_format({**base, "bold": True}),
        "text": wb.add_format({**base, "text_wrap": True}),
        "country": wb.add_format({**base, "bold": True, "font_size": 12, "bg_color": "#FFF2CC", "border": 1}),
        "th": wb.add_format({**base, "bold": True, "bg_color": "#D9E1F2", "border": 1, "text_wrap": True}),
        "td": wb.add_format({**base, "border": 1, "text_wrap": True}),
        "header": wb.add_format({**base, "bold": True, "bg_color": "#1F4E78", "font_color": "#FFFFFF",
                                 "text_wrap": True, "border": 1, "locked": True}),
        "header_required": wb.add_format({**base, "bold": True, "bg_color": "#1F4E78", "font_color": "#FFD966",
                                          "text_wrap": True, "border": 1, "locked": True}),
    }
    for kind, num in NUMBER_FORMATS.items():
        fmt[f"cell_{kind}"] = wb.add_format({**base, "num_format": num, "locked": False})
    return fmt


def _write_lists(ws, spec: TableSpec, fmt) -> dict[str, str]:
    """Every enum in a column of the hidden Lists sheet; the drop-downs refer to these ranges."""
    refs: dict[str, str] = {}
    col = 0
    for resource in spec.resources:
        for f in resource.fields:
            if not f.enum:
                continue
            ws.write_string(0, col, f"{resource.name}.{f.name}", fmt["bold"])
            for i, value in enumerate(f.enum, start=1):
                ws.write_string(i, col, value)
            letter = xl_col_to_name(col)
            refs[f"{resource.name}.{f.name}"] = f"='{LISTS_SHEET}'!${letter}$2:${letter}${len(f.enum) + 1}"
            col += 1
    return refs


def _validation(f: TableField, list_ref: str | None) -> dict:
    """The data validation of one column: a drop-down for an enum, a range for numbers and dates."""
    message = (f.description or f.title)[:200]
    common = {"input_title": f.title[:32], "input_message": f"{message}\n({field_rule(f)})"[:255],
              "error_title": "Value not allowed", "ignore_blank": True}
    if list_ref:
        return {**common, "validate": "list", "source": list_ref,
                "error_message": f"Choose a value from the drop-down list ({field_rule(f)})."[:255]}
    if f.type in ("number", "integer"):
        low = f.minimum if f.minimum is not None else -1e307
        high = f.maximum if f.maximum is not None else 1e307
        return {**common, "validate": "decimal" if f.type == "number" else "integer", "criteria": "between",
                "minimum": low, "maximum": high,
                "error_message": f"Enter {field_rule(f)}, without units or % sign."[:255]}
    if f.type == "date":
        return {**common, "validate": "date", "criteria": "between", "minimum": dt.date(1900, 1, 1),
                "maximum": dt.date(2100, 12, 31), "error_message": "Enter a date, e.g. 2025-06-30."}
    if f.max_length:
        return {**common, "validate": "length", "criteria": "<=", "value": f.max_length,
                "error_message": f"At most {f.max_length} characters."}
    return {**common, "validate": "any"}


def _data_sheet(wb, resource: TableResource, list_refs: dict[str, str], fmt, country_name: str,
                spec: TableSpec) -> None:
    ws = wb.add_worksheet(sheet_title(resource))
    for col, f in enumerate(resource.fields):
        width = max(14, min(45, len(f.title) + 4, (f.max_length or 0) // 4 + 14))
        ws.set_column(col, col, width, fmt[f"cell_{f.type}"] if f"cell_{f.type}" in fmt else fmt["cell_string"])
        ws.write_string(0, col, f.title, fmt["header_required" if f.required else "header"])
        ws.data_validation(1, col, DATA_ROWS, col, _validation(f, list_refs.get(f"{resource.name}.{f.name}")))
    ws.set_row(0, 45)
    ws.freeze_panes(1, 0)
    # the header row is locked; the data rows below it are open (their column formats are unlocked)
    ws.protect("", {"insert_rows": True, "delete_rows": True, "sort": True, "autofilter": True,
                    "format_columns": True, "select_locked_cells": True, "select_unlocked_cells": True})
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0)
    ws.set_header(f"&L{_header_text(country_name)}&C{_header_text(spec.title)}&R{_header_text(resource.title)}")
    ws.set_footer("&CPage &P of &N")


def _header_text(text: str) -> str:
    return str(text).replace("&", "&&")[:80]


def _instructions(ws, spec: TableSpec, iso3: str, country_name: str, deadline, fmt) -> None:
    ws.set_column(0, 0, 26)
    ws.set_column(1, 1, 34)
    ws.set_column(2, 2, 62)
    ws.set_column(3, 3, 34)
    ws.write_string(0, 0, spec.title, fmt["title"])
    ws.write_string(2, 0, "Country", fmt["bold"])
    ws.write_string(2, 1, safe_cell(f"{country_name} ({iso3})"), fmt["country"])
    ws.write_string(3, 0, "Deadline", fmt["bold"])
    ws.write_string(3, 1, deadline.isoformat() if deadline else "see the programme's calendar")
    ws.write_string(4, 0, "Template version", fmt["bold"])
    ws.write_string(4, 1, spec.version)
    row = 6
    for line in [spec.description,
                 "How to fill in: enter one row per item on each sheet, starting in row 2, under the coloured "
                 "header (headers in yellow are required). Choose from the drop-down lists where there is one. "
                 "Enter numbers without units or % sign and dates as dates (e.g. 2025-06-30). Do not rename, "
                 "move or merge columns or cells, and do not type formulas: enter values.",
                 f"How to send: keep the file name ({template_name(iso3, spec)}) and send the file as it is "
                 "(XLSX, no password). A CSV per sheet in UTF-8 is also accepted, named "
                 f"{iso3}_{spec.key}_<sheet>.csv."]:
        ws.merge_range(row, 0, row, 3, line, fmt["text"])
        ws.set_row(row, 14 * _lines(line, 150))
        row += 1
    for resource in spec.resources:
        row += 1
        ws.write_string(row, 0, f"Sheet '{sheet_title(resource)}'", fmt["bold"])
        ws.merge_range(row, 1, row, 3, resource.description, fmt["text"])
        ws.set_row(row, 14 * _lines(resource.description, 125))
        row += 1
        for col, head in enumerate(("Column", "Rule", "Meaning", "Allowed values")):
            ws.write_string(row, col, head, fmt["th"])
        for f in resource.fields:
            row += 1
            allowed = "; ".join(f.enum)
            ws.write_string(row, 0, f.title, fmt["td"])
            ws.write_string(row, 1, field_rule(f), fmt["td"])
            ws.write_string(row, 2, f.description, fmt["td"])
            ws.write_string(row, 3, allowed, fmt["td"])
            ws.set_row(row, 14 * max(_lines(f.title, 26), _lines(field_rule(f), 34), _lines(f.description, 62),
                                     _lines(allowed, 34)))
        if resource.primary_key:
            row += 1
            keys = ", ".join(resource.field(k).title for k in resource.primary_key)
            ws.merge_range(row, 0, row, 3, f"Each row has its own {keys}: no two rows may share it.", fmt["text"])
        for fk in resource.foreign_keys:
            row += 1
            ref = fk["reference"]
            ws.merge_range(row, 0, row, 3, f"{', '.join(resource.field(k).title for k in fk['fields'])} must be one "
                           f"written in the sheet '{_title_of(spec, ref['resource'])}'.", fmt["text"])
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.set_landscape()
    ws.protect("", {"select_locked_cells": True, "select_unlocked_cells": True})


def _lines(text: str, width_chars: int) -> int:
    """Lines a wrapped cell needs at the instructions' font (about one character per unit of column width)."""
    words, lines, used = str(text or "").split(), 1, 0
    for word in words:
        if used and used + 1 + len(word) > width_chars:
            lines, used = lines + 1, len(word)
        else:
            used += len(word) + (1 if used else 0)
    return lines


def _title_of(spec: TableSpec, resource: str) -> str:
    found = spec.resource(resource)
    return sheet_title(found) if found else resource
