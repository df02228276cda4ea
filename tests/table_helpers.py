"""Completed table templates for the tests: good rows, and workbooks changed the way people change them."""

from __future__ import annotations

import datetime as dt
import re
import warnings
import zipfile
from pathlib import Path

from atlas.tables import load_table_spec
from atlas.tables.fill import filled_template

GOOD_THREATS = [
    {"threat": "Soil erosion", "severity": "high", "area_affected_pct": 30.0, "trend": "worsening",
     "source": "National soil survey 2021", "assessment_date": dt.date(2021, 6, 30)},
    {"threat": "Soil salinization and sodification", "severity": "moderate", "area_affected_pct": 12.5,
     "trend": "stable", "source": "LADA 2019", "assessment_date": dt.date(2019, 3, 1)},
    {"threat": "Soil compaction", "severity": "low", "area_affected_pct": 4.0, "trend": "unknown",
     "source": "Expert judgement 2024"},
]
GOOD_RD = {
    "institutions": [
        {"institution_id": "I-01", "name": "Soil Resources Institute", "type": "government research institute",
         "researchers": 40},
        {"institution_id": "I-02", "name": "University of Agriculture", "type": "university", "researchers": 12},
    ],
    "projects": [
        {"project_id": "P-01", "institution_id": "I-01", "title": "Salt-affected soils of the delta",
         "soil_threat": "Soil salinization and sodification", "start_date": dt.date(2022, 1, 1),
         "budget_usd": 250000.0, "status": "ongoing"},
        {"project_id": "P-02", "institution_id": "I-02", "title": "Soil carbon monitoring",
         "start_date": dt.date(2019, 5, 1), "end_date": dt.date(2023, 4, 30), "status": "completed"},
    ],
    "priorities": [{"rank": 1, "priority": "Digital soil maps"}, {"rank": 2, "priority": "Erosion control",
                                                                  "soil_threat": "Soil erosion"}],
}


def threats_spec(programme):
    return load_table_spec(programme, "soil_threats")


def rd_spec(programme):
    return load_table_spec(programme, "rd_submission")


def workbook(programme, key: str, rows: dict, folder: Path, iso3: str = "VNM") -> Path:
    """The country's template of table ``key`` with ``rows`` filled in."""
    spec = load_table_spec(programme, key)
    return filled_template(spec, iso3, programme.members[iso3], rows, Path(folder) / f"{iso3}_{key}.xlsx",
                           today=dt.date(2026, 1, 15))


def edit(path: Path, change) -> Path:
    """Open a workbook with openpyxl, apply ``change(wb)``, save it in place."""
    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = openpyxl.load_workbook(path)
    change(wb)
    wb.save(path)
    return path


def rewrite_parts(path: Path, change, extra: dict[str, bytes] | None = None) -> Path:
    """Rewrite the zip parts of a workbook: ``change(name, data) -> data``, plus ``extra`` parts added."""
    with zipfile.ZipFile(path) as zf:
        parts = [(i.filename, zf.read(i.filename)) for i in zf.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts:
            zf.writestr(name, change(name, data))
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return path


def cache_formula_result(name: str, data: bytes, value: str) -> bytes:
    """A formula cell with a saved result, as Excel writes it (openpyxl saves formulas without results)."""
    if not name.startswith("xl/worksheets/sheet"):
        return data
    return re.sub(rb"(<f>[^<]*</f>)<v\s*/?>(</v>)?", rb"\1<v>" + value.encode() + rb"</v>", data)
