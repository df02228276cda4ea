"""Completed tables against their schema: the twelve cases of issue 25, each with what the focal point reads."""

from __future__ import annotations

import csv
import datetime as dt

import pytest
from table_helpers import (
    GOOD_RD,
    GOOD_THREATS,
    cache_formula_result,
    edit,
    rd_spec,
    rewrite_parts,
    threats_spec,
    workbook,
)

from atlas.finding import Severity, verdict
from atlas.tables.template import TEMPLATE_SHEET
from checks.table import read_table


def _ids(findings):
    return [f.check_id for f in findings]


def _one(findings, check_id):
    found = [f for f in findings if f.check_id == check_id]
    assert len(found) == 1, [(f.check_id, f.message) for f in findings]
    return found[0]


def test_good_tables_are_accepted_with_their_rows(programme, tmp_path):
    path = workbook(programme, "rd_submission", GOOD_RD, tmp_path)
    read = read_table([path], rd_spec(programme), "VNM")
    assert read.findings == []
    assert [r["institution_id"] for r in read.rows["institutions"]] == ["I-01", "I-02"]
    assert read.rows["projects"][0]["start_date"] == dt.date(2022, 1, 1)
    assert read.rows["projects"][0]["_row"] == 2  # the spreadsheet's own row number


def test_old_template_version_is_a_warning(programme, tmp_path):
    path = workbook(programme, "soil_threats", {"threats": GOOD_THREATS}, tmp_path)

    def old(wb):
        for row in wb[TEMPLATE_SHEET].iter_rows(max_col=2):
            if row[0].value == "template_version":
                row[1].value = "2025.1"
    edit(path, old)
    found = read_table([path], threats_spec(programme), "VNM").findings
    f = _one(found, "table.template_outdated")
    assert f.severity == Severity.WARNING and f.observed == "2025.1" and f.expected == "2026.1"
    assert verdict(found) == "accepted_with_warnings"


def test_renamed_missing_and_extra_columns(programme, tmp_path):
    path = workbook(programme, "soil_threats", {"threats": GOOD_THREATS}, tmp_path)

    def columns(wb):
        ws = wb["Soil threats"]
        ws.protection.sheet = False
        ws["B1"] = "Severty"  # a typo: taken as Severity
        ws["D1"] = "Remarks"  # Trend renamed beyond recognition: Trend is missing, Remarks is extra
    edit(path, columns)
    found = read_table([path], threats_spec(programme), "VNM").findings
    renamed = _one(found, "table.column_renamed")
    assert renamed.severity == Severity.FIXED and renamed.location.column == "Severty"
    assert renamed.expected == "Severity"
    missing = _one(found, "table.column_missing")
    assert missing.severity == Severity.ERROR and "Trend" in missing.message
    extra = _one(found, "table.column_extra")
    assert extra.severity == Severity.WARNING and extra.location.column == "Remarks"


def test_missing_optional_column_is_a_warning(programme, tmp_path):
    path = workbook(programme, "soil_threats", {"threats": GOOD_THREATS}, tmp_path)
    edit(path, lambda wb: wb["Soil threats"].delete_cols(6))  # Date of assessment (optional)
    f = _one(read_table([path], threats_spec(programme), "VNM").findings, "table.column_missing")
    assert f.severity == Severity.WARNING


def test_merged_cells_name_rows_and_column(programme, tmp_path):
    path = workbook(programme, "soil_threats", {"threats": GOOD_THREATS}, tmp_path)
    edit(path, lambda wb: wb["Soil threats"].merge_cells("D2:D3"))
    found = read_table([path], threats_spec(programme), "VNM").findings
    f = _one(found, "table.merged_cells")
    assert f.severity == Severity.ERROR
    assert (f.location.sheet, f.location.row, f.location.column) == ("Soil threats", 2, "Trend")
    assert "rows 2-3" in f.message
    assert _ids(found) == ["table.merged_cells"]  # the merged value is not reported again as empty


def test_formula_without_result_is_an_error_with_result_a_warning(programme, tmp_path):
    path = workbook(programme, "soil_threats", {"threats": GOOD_THREATS}, tmp_path)
    edit(path, lambda wb: wb["Soil threats"].__setitem__("C2", "=10*3"))
    f = _one(read_table([path], threats_spec(programme), "VNM").findings, "table.formula")
    assert f.severity == Severity.ERROR and f.observed == "=10*3" and f.location.row == 2
    rewrite_parts(path, lambda name, data: cache_formula_result(name, data, "30"))
    read = read_table([path], threats_spec(programme), "VNM")
    f = _one(read.findings, "table.formula")
    assert f.severity == Severity.WARNING and "30" in f.message
    assert read.rows["threats"][0]["area_affected_pct"] == 30


def test_date_typed_as_text(programme, tmp_path):
    rows = [dict(GOOD_THREATS[0], assessment_date="30/06/2021"), dict(GOOD_THREATS[1], assessment_date="2019-03-01")]
    path = workbook(programme, "soil_threats", {"threats": rows}, tmp_path)
    found = read_table([path], threats_spec(programme), "VNM").findings
    f = _one(found, "table.date_as_text")  # the ISO text date of row 3 is a date
    assert (f.location.row, f.location.column, f.observed) == (2, "Date of assessment", "30/06/2021")
    assert "table.type" not in _ids(found)  # said once, in plain words


def test_number_with_unit(programme, tmp_path):
    path = workbook(programme, "soil_threats", {"threats": [dict(GOOD_THREATS[0], area_affected_pct="30 %")]},
                    tmp_path)
    found = read_table([path], threats_spec(programme), "VNM").findings
    f = _one(found, "table.number_with_unit")
    assert f.observed == "30 %" and f.expected == "30" and f.location.column == "Share of area affected (%)"
    assert "write 30 alone" in f.message


def test_percent_formatted_share_is_taken_as_percent(programme, tmp_path):
    path = workbook(programme, "soil_threats", {"threats": [dict(GOOD_THREATS[0], area_affected_pct=0.3)]},
                    tmp_path)
    edit(path, lambda wb: setattr(wb["Soil threats"]["C2"], "number_format", "0%"))
    read = read_table([path], threats_spec(programme), "VNM")
    assert _one(read.findings, "table.percent_format").severity == Severity.FIXED
    assert read.rows["threats"][0]["area_affected_pct"] == 30


def test_duplicate_key(programme, tmp_path):
    rows = [GOOD_THREATS[0], GOOD_THREATS[1], dict(GOOD_THREATS[0], severity="low")]
    path = workbook(programme, "soil_threats", {"threats": rows}, tmp_path)
    f = _one(read_table([path], threats_spec(programme), "VNM").findings, "table.duplicate_key")
    assert f.location.row == 4 and f.observed == "Soil erosion" and "first in row 2" in f.message


def test_broken_foreign_key(programme, tmp_path):
    rows = {**GOOD_RD, "projects": [dict(GOOD_RD["projects"][0], institution_id="I-09")]}
    path = workbook(programme, "rd_submission", rows, tmp_path)
    f = _one(read_table([path], rd_spec(programme), "VNM").findings, "table.foreign_key")
    assert (f.location.sheet, f.location.row, f.location.column) == ("Projects", 2, "Institution ID")
    assert f.observed == "I-09" and "not in the sheet 'Institutions'" in f.message


def test_enum_in_another_case_is_repaired_in_another_language_refused(programme, tmp_path):
    rows = [dict(GOOD_THREATS[0], severity="High"), dict(GOOD_THREATS[1], severity="élevé")]
    path = workbook(programme, "soil_threats", {"threats": rows}, tmp_path)
    read = read_table([path], threats_spec(programme), "VNM")
    fixed = _one(read.findings, "table.enum_case")
    assert fixed.severity == Severity.FIXED and fixed.expected == "high"
    assert read.rows["threats"][0]["severity"] == "high"
    refused = _one(read.findings, "table.enum")
    assert refused.location.row == 3 and refused.observed == "élevé" and "very high" in refused.message


def test_latin1_csv_is_read_with_a_warning(programme, tmp_path):
    spec = threats_spec(programme)
    path = tmp_path / "KHM_soil_threats.csv"
    with open(path, "w", encoding="cp1252", newline="") as fh:
        w = csv.writer(fh, delimiter=";")  # Excel's CSV on a French desktop
        w.writerow([f.title for f in spec.resources[0].fields])
        w.writerow(["Soil erosion", "high", "30", "worsening", "Ministère de l'Agriculture 2020", "2020-01-31"])
    read = read_table([path], spec, "KHM")
    f = _one(read.findings, "table.encoding")
    assert f.severity == Severity.WARNING and f.observed == "windows-1252"
    assert read.rows["threats"][0]["source"] == "Ministère de l'Agriculture 2020"
    assert verdict(read.findings) == "accepted_with_warnings"


def test_empty_sheet(programme, tmp_path):
    path = workbook(programme, "rd_submission", {**GOOD_RD, "priorities": []}, tmp_path)
    f = _one(read_table([path], rd_spec(programme), "VNM").findings, "table.empty_sheet")
    assert f.location.sheet == "Research priorities" and f.severity == Severity.ERROR


def test_password_protected_workbook(programme, tmp_path):
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = workbook(programme, "soil_threats", {"threats": GOOD_THREATS}, tmp_path / "plain")
    locked = tmp_path / "VNM_soil_threats.xlsx"
    with open(plain, "rb") as src, open(locked, "wb") as out:
        OOXMLFile(src).encrypt("secret", out)
    found = read_table([locked], threats_spec(programme), "VNM").findings
    f = _one(found, "table.encrypted")
    assert "password" in f.message and "without password" in f.hint


def test_missing_sheet_and_wrong_template(programme, tmp_path):
    path = workbook(programme, "soil_threats", {"threats": GOOD_THREATS}, tmp_path)
    found = read_table([path], rd_spec(programme), "VNM").findings
    assert _one(found, "table.wrong_template").observed == "soil_threats"
    assert _ids(found).count("table.sheet_missing") == 3


def test_csv_per_sheet_checks_keys_across_files(programme, tmp_path):
    spec = rd_spec(programme)
    for resource in spec.resources:
        with open(tmp_path / f"NPL_rd_submission_{resource.name}.csv", "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow([f.name for f in resource.fields])
            for row in GOOD_RD[resource.name]:
                w.writerow(["" if row.get(f.name) is None else row[f.name] for f in resource.fields])
    files = sorted(tmp_path.glob("*.csv"))
    assert read_table(files, spec, "NPL").findings == []
    (tmp_path / "NPL_rd_submission_institutions.csv").write_text("institution_id,name,type\nI-01,X,university\n")
    f = _one(read_table(files, spec, "NPL").findings, "table.foreign_key")
    assert f.observed == "I-02"


@pytest.mark.parametrize("value", ["=HYPERLINK(\"http://x\")", "+1", "@SUM(A1)"])
def test_formula_like_text_in_a_csv_is_kept_as_text(programme, tmp_path, value):
    spec = threats_spec(programme)
    path = tmp_path / "VNM_soil_threats.csv"
    path.write_text("threat,severity,area_affected_pct,trend,source\n"
                    f"Soil erosion,high,3,stable,\"{value.replace(chr(34), chr(34) * 2)}\"\n", encoding="utf-8")
    read = read_table([path], spec, "VNM")
    assert read.rows["threats"][0]["source"] == value  # data, neutralised only where a spreadsheet opens it
