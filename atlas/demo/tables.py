"""The demo's table deliveries: the dominant soil threats and the R&D data submission table.

Rows are drawn from the seed and the country, so the same seed gives the same tables. A delivery is the
country's template filled in (``atlas.tables.fill``) or, for one country, CSV files in Windows-1252; the
``errors`` flavour plants the spreadsheet habits the checks must catch (numbers with units, an enum in
French, a repeated key, a broken foreign key, a date typed as text, merged cells, a formula), ``old``
marks the workbook as made from the previous template version.
"""

from __future__ import annotations

import csv
import datetime as dt
import warnings
from pathlib import Path

import numpy as np

from atlas.config import Programme
from atlas.tables import load_table_spec
from atlas.tables.fill import filled_template, stable_zip
from atlas.tables.template import TEMPLATE_SHEET, sheet_title

THREAT_ITEM = "threats"
RD_ITEM = "rd"
THREATS_KEY, RD_KEY = "soil_threats", "rd_submission"
SEVERITIES = ("very low", "low", "moderate", "high", "very high")
TRENDS = ("improving", "stable", "worsening", "worsening", "unknown")
SOURCES = ("National soil survey {year}", "Land degradation assessment (LADA) {year}",
           "Expert judgement, national soil partnership workshop {year}", "State of the environment report {year}")
INSTITUTION_KINDS = (("{country} Soil Resources Institute", "government research institute"),
                     ("National University of {country}, Faculty of Agriculture", "university"),
                     ("Department of Agricultural Land Management", "government agency"),
                     ("{country} Centre for Soil and Fertilizer Research", "government research institute"))
WRITTEN_ON = dt.date(2026, 1, 15)  # the templates' date: the same seed gives the same bytes
PROJECT_TITLES = ("Mapping salt-affected soils in the coastal plains", "Soil organic carbon monitoring network",
                  "Erosion control on sloping farmland", "Nutrient balance of rice systems",
                  "Acid sulphate soils of the delta", "Digital soil mapping capacity building")


def _rng(seed: int, iso3: str, what: str) -> np.random.Generator:
    return np.random.default_rng([seed, *iso3.encode(), *what.encode()])


def threat_rows(seed: int, iso3: str, enum: tuple[str, ...]) -> list[dict]:
    """Five to eight of the ten soil threats, each with severity, share of area, trend, source and date."""
    rng = _rng(seed, iso3, THREATS_KEY)
    chosen = sorted(rng.choice(len(enum), size=int(rng.integers(5, 9)), replace=False))
    rows = []
    for i in chosen:
        year = int(rng.integers(2015, 2026))
        rows.append({"threat": enum[i], "severity": SEVERITIES[int(rng.integers(0, 5))],
                     "area_affected_pct": float(round(rng.uniform(1, 60), 1)),
                     "trend": TRENDS[int(rng.integers(0, 5))],
                     "source": SOURCES[int(rng.integers(0, len(SOURCES)))].format(year=year),
                     "assessment_date": dt.date(year, int(rng.integers(1, 13)), 1)})
    return rows


def rd_rows(seed: int, iso3: str, country: str, threats: tuple[str, ...]) -> dict[str, list[dict]]:
    """Two to four institutions, three to five projects led by them, three research priorities."""
    rng = _rng(seed, iso3, RD_KEY)
    institutions = []
    for k, (name, kind) in enumerate(INSTITUTION_KINDS[: int(rng.integers(2, 5))], start=1):
        institutions.append({"institution_id": f"{iso3}-I{k:02d}", "name": name.format(country=country),
                             "type": kind, "researchers": int(rng.integers(4, 80))})
    projects = []
    for k in range(1, int(rng.integers(3, 6)) + 1):
        start = dt.date(int(rng.integers(2018, 2026)), int(rng.integers(1, 13)), 1)
        projects.append({"project_id": f"{iso3}-P{k:02d}",
                         "institution_id": institutions[int(rng.integers(0, len(institutions)))]["institution_id"],
                         "title": PROJECT_TITLES[int(rng.integers(0, len(PROJECT_TITLES)))],
                         "soil_threat": threats[int(rng.integers(0, len(threats)))], "start_date": start,
                         "budget_usd": float(int(rng.integers(5, 200)) * 10_000),
                         "status": "completed" if start.year < 2021 else "ongoing"})
    priorities = [{"rank": 1, "priority": "Soil information system and digital soil maps"},
                  {"rank": 2, "priority": "- reduce soil erosion on sloping land",  # a pasted bullet: starts with '-'
                   "soil_threat": "Soil erosion"},
                  {"rank": 3, "priority": "Salinity management in coastal agriculture",
                   "soil_threat": "Soil salinization and sodification"}]
    return {"institutions": institutions, "projects": projects, "priorities": priorities}


def write_table_delivery(programme: Programme, folder: Path, iso3: str, item: str, flavour: str,
                         seed: int) -> tuple[list[Path], dict]:
    """One table delivery into ``folder``: (files written, what was planted)."""
    key = THREATS_KEY if item == THREAT_ITEM else RD_KEY
    spec = load_table_spec(programme, key)
    country = programme.members.get(iso3, iso3)
    threats = spec.resources[0].fields[0].enum if key == THREATS_KEY else load_table_spec(
        programme, RD_KEY).resource("projects").field("soil_threat").enum
    rows = ({"threats": threat_rows(seed, iso3, threats)} if key == THREATS_KEY
            else rd_rows(seed, iso3, country, threats))
    planted: list[str] = []
    if flavour == "errors":
        planted = _plant_errors(key, rows)
    if flavour == "csv_latin1":
        return _csv_delivery(spec, folder, iso3, rows), {"table": key, "format": "csv windows-1252"}
    path = filled_template(spec, iso3, country, rows, folder / f"{iso3}_{key}.xlsx", today=WRITTEN_ON)
    if flavour == "errors" and key == RD_KEY:
        planted += _merge_and_formula(path, spec)
    if flavour == "old":
        _mark_version(path, "2025.1")
        planted.append("made from template version 2025.1")
    return [path], {"table": key, "planted": planted}


def _plant_errors(key: str, rows: dict[str, list[dict]]) -> list[str]:
    if key == THREATS_KEY:
        t = rows["threats"]
        t[0]["area_affected_pct"] = f"{t[0]['area_affected_pct']:g} %"
        t[1]["severity"] = "élevé"
        t[2]["assessment_date"] = "15/03/2025"
        t.append(dict(t[3]))  # the same threat twice
        return ["share with a % sign (row 2)", "severity in French (row 3)", "date typed as text (row 4)",
                f"threat repeated (rows 5 and {len(t) + 1})"]
    p = rows["projects"]
    p[0]["institution_id"] = p[0]["institution_id"][:-2] + "99"  # no such institution
    p[1]["project_id"] = p[0]["project_id"]
    p[2]["status"] = "Ongoing"  # another case: repaired, recorded
    return ["project led by an unknown institution (row 2)", "project ID repeated (row 3)",
            "status in another case (row 4)"]


def _merge_and_formula(path: Path, spec) -> list[str]:
    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = openpyxl.load_workbook(path)
    ws = wb[sheet_title(spec.resource("institutions"))]
    ws["C3"] = ws["C2"].value
    ws.merge_cells("C2:C3")
    ws["F2"] = "=SUM(F3:F4)"
    wb.save(path)
    stable_zip(path, WRITTEN_ON)
    return ["type cells merged (Institutions C2:C3)", "researchers as a formula (Institutions F2)"]


def _mark_version(path: Path, version: str) -> None:
    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = openpyxl.load_workbook(path)
    meta = wb[TEMPLATE_SHEET]
    for row in meta.iter_rows(min_row=1, max_col=2):
        if row[0].value == "template_version":
            row[1].value = version
    wb.save(path)
    stable_zip(path, WRITTEN_ON)


def _csv_delivery(spec, folder: Path, iso3: str, rows: dict[str, list[dict]]) -> list[Path]:
    """One CSV per resource in Windows-1252, as Excel's plain 'CSV' saves it on a French or Khmer desktop."""
    files = []
    for resource in spec.resources:
        path = folder / f"{iso3}_{spec.key}{'' if len(spec.resources) == 1 else '_' + resource.name}.csv"
        with open(path, "w", encoding="cp1252", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow([f.title for f in resource.fields])
            for row in rows.get(resource.name, []):
                values = dict(row)
                if "source" in values:
                    values["source"] = f"Ministère de l'Agriculture: {values['source']}"
                writer.writerow(["" if values.get(f.name) is None else
                                 (values[f.name].isoformat() if isinstance(values[f.name], dt.date) else values[f.name])
                                 for f in resource.fields])
        files.append(path)
    return files
