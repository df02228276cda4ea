"""A template filled in with rows, as a focal point would send it (the demo and the tests use it)."""

from __future__ import annotations

import datetime as dt
import re
import warnings
import zipfile
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
    stable_zip(out_path, today or dt.date.today())
    return out_path


def stable_zip(path: Path, when: dt.date) -> Path:
    """The same workbook content gives the same bytes: openpyxl stamps the save time into the zip entries and
    the document properties, so a re-written demo delivery would look like a new version to the inbox."""
    stamp = f"{when.isoformat()}T00:00:00Z".encode()
    with zipfile.ZipFile(path) as zf:
        parts = [(i.filename, zf.read(i.filename)) for i in zf.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts:
            if name == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:modified|created)[^>]*>)[^<]*(</dcterms:)", rb"\g<1>" + stamp + rb"\2",
                              data)
            info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return path
