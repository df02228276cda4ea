"""The regional tables: accepted versions merged with country and version, neutralised, counted for the meeting;
and what changed between two versions of a country's table."""

from __future__ import annotations

import datetime as dt
import json
import warnings

import openpyxl
import pandas as pd
from table_helpers import GOOD_RD, GOOD_THREATS, rd_spec, threats_spec

from atlas import layout
from atlas.products.regional_tables import (
    build_regional_table,
    meeting_counts,
    write_table_copy,
)
from atlas.reports.table_changes import row_changes
from atlas.reports.table_summary import write_table_summary


def _copy(programme, spec, iso3, version, rows, received="2026-02-01"):
    out = layout.national_dir(programme.processed_dir, iso3, spec.key, version)
    out.mkdir(parents=True, exist_ok=True)
    numbered = {k: [{"_row": i, **r} for i, r in enumerate(v, start=2)] for k, v in rows.items()}
    write_table_copy(numbered, spec, out)
    (out / "report.json").write_text(json.dumps({"meta": {"received": received}}))


def test_merge_with_country_and_version_on_every_row(programme):
    spec = threats_spec(programme)
    evil = dict(GOOD_THREATS[2], source='=HYPERLINK("http://evil.example","click")')
    _copy(programme, spec, "VNM", 2, {"threats": GOOD_THREATS[:2]})
    _copy(programme, spec, "KHM", 1, {"threats": [evil]}, received="2026-02-20")
    _copy(programme, spec, "THA", 1, {"threats": GOOD_THREATS})  # not accepted: left out
    table = build_regional_table(programme, spec, {"VNM": 2, "KHM": 1}, release=programme.processed_dir / "r")
    names = sorted(p.name for p in table.paths)
    assert names == ["soil_threats.xlsx", "soil_threats_threats.csv", "soil_threats_threats.parquet"]
    csv = pd.read_csv(table.paths[0], dtype=str, keep_default_na=False)
    assert list(csv.columns[:4]) == ["country", "country_name", "version", "received"]
    assert list(csv["country"]) == ["KHM", "VNM", "VNM"]  # by country name: Cambodia, Viet Nam
    assert list(csv["version"]) == ["1", "2", "2"] and csv["received"][0] == "2026-02-20"
    assert csv["source"][0].startswith("'=HYPERLINK")  # text, never a live formula
    parquet = pd.read_parquet(table.paths[1])
    assert parquet["source"][0].startswith("=HYPERLINK")  # the data itself is kept as sent
    assert parquet["area_affected_pct"].dtype.kind == "f"
    assert parquet["assessment_date"][1] == dt.date(2021, 6, 30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ws = openpyxl.load_workbook(table.paths[2])["Soil threats"]
    assert ws["A1"].value == "ISO3" and ws["E1"].value == "Soil threat"
    assert ws.print_title_rows == "$1:$1" and ws.page_setup.orientation == "landscape"
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToHeight == 0  # one page wide
    assert ws.freeze_panes == "A2"
    cells = [c.value for c in ws["I"]]
    assert cells[1].startswith("'=HYPERLINK") and all(c.data_type != "f" for row in ws.iter_rows() for c in row)


def test_meeting_counts_and_summary_page(programme, tmp_path):
    threats, rd = threats_spec(programme), rd_spec(programme)
    _copy(programme, threats, "VNM", 1, {"threats": GOOD_THREATS})
    _copy(programme, threats, "KHM", 1, {"threats": [dict(GOOD_THREATS[0], severity="very high")]})
    _copy(programme, rd, "NPL", 1, GOOD_RD)
    t = build_regional_table(programme, threats, {"VNM": 1, "KHM": 1}, release=tmp_path / "r")
    r = build_regional_table(programme, rd, {"NPL": 1}, release=tmp_path / "r")
    counts = meeting_counts(threats, t.frames)
    cross = counts["sheets"][0]["cross"]
    assert cross["unit"] == "countries" and cross["columns"] == ["very low", "low", "moderate", "high", "very high"]
    erosion = next(row for row in cross["rows"] if row[0] == "Soil erosion")
    assert erosion[1:] == [0, 0, 0, 1, 1, 2]  # Viet Nam high, Cambodia very high; total 2
    assert counts["countries"] == ["Cambodia", "Viet Nam"]
    rd_counts = meeting_counts(rd, r.frames)
    assert [(s["title"], s["per_country"]) for s in rd_counts["sheets"]] == [
        ("Institutions", [["Nepal", 2]]), ("Projects", [["Nepal", 2]]), ("Research priorities", [["Nepal", 2]])]
    html, md = write_table_summary(programme, [counts, rd_counts], tmp_path)
    text = html.read_text()
    assert "Soil erosion" in text and "Institutions per country" in text and "Accepted from 2 of 19" in text
    assert "| Soil erosion | 0 | 0 | 0 | 1 | 1 | 2 |" in md.read_text()


def test_row_changes_added_changed_removed(programme):
    spec = threats_spec(programme)
    _copy(programme, spec, "VNM", 1, {"threats": GOOD_THREATS})
    changed = [dict(GOOD_THREATS[0], severity="very high"), GOOD_THREATS[1],
               dict(GOOD_THREATS[0], threat="Soil acidification")]
    _copy(programme, spec, "VNM", 2, {"threats": changed})
    diff = row_changes(programme.processed_dir, spec, "VNM", 2)
    sheet = diff["sheets"][0]
    assert diff["since_version"] == 1 and sheet["counts"] == {"added": 1, "removed": 1, "changed": 1}
    assert sheet["added"][0]["key"] == "Soil acidification" and sheet["removed"][0]["key"] == "Soil compaction"
    assert sheet["changed"][0]["changes"] == [{"column": "Severity", "before": "high", "after": "very high"}]
    assert row_changes(programme.processed_dir, spec, "VNM", 1) is None  # a first version: nothing to compare
