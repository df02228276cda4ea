"""A template filled in with rows, as a focal point would send it (the demo and the tests use it)."""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

from atlas.tables.schema import TableSpec
from atlas.tables.template import sheet_title, write_template


def filled_template(spec: TableSpec, iso3: str, country_name: str, rows: dict[str, list[dict]], out_path: Path,
                    today: dt.date | None = None) -> Path:
    """The country's template with ``rows`` (resource -> [{field name: value}]) entered under each header."""
    import openpyxl

    out_path = Path(out_path)
    write_template(spec, iso3, country_name, out_path, today=today)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = openpyxl.load_workbook(out_path)
    for resource in spec.resources:
        ws = wb[sheet_title(resource)]
        for r, row in enumerate(rows.get(resource.name, []), start=2):
            for c, f in enumerate(resource.fields, start=1):
                if row.get(f.name) is not None:
                    ws.cell(row=r, column=c, value=row[f.name])
    wb.save(out_path)
    return out_path
