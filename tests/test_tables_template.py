"""The XLSX template of a table: instructions, drop-downs, input messages, formats, locked header, country."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import warnings

import openpyxl
import pytest
from table_helpers import rd_spec, threats_spec

from atlas.tables.template import LISTS_SHEET, TEMPLATE_SHEET, write_template


def _load(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return openpyxl.load_workbook(path)


def _validations(ws) -> dict[str, object]:
    """Data validations by the column letter they cover below the header."""
    out = {}
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            assert rng.min_row == 2, "validations start under the header"
            out[rng.coord.split(":")[0].rstrip("0123456789")] = dv
    return out


@pytest.fixture
def rd_template(programme, tmp_path):
    return write_template(rd_spec(programme), "KHM", "Cambodia", tmp_path / "KHM_rd_submission.xlsx",
                          deadline=dt.date(2026, 5, 31), today=dt.date(2026, 1, 15))


def test_sheets_country_and_template_record(programme, rd_template):
    wb = _load(rd_template)
    assert wb.sheetnames == ["Instructions", LISTS_SHEET, "Institutions", "Projects", "Research priorities",
                             TEMPLATE_SHEET]
    assert wb.active.title == "Instructions"
    assert wb["Instructions"]["B3"].value == "Cambodia (KHM)"
    assert wb["Instructions"]["B4"].value == "2026-05-31"
    assert wb[LISTS_SHEET].sheet_state == "hidden" and wb[TEMPLATE_SHEET].sheet_state == "veryHidden"
    meta = {r[0]: r[1] for r in wb[TEMPLATE_SHEET].iter_rows(values_only=True)}
    assert meta["deliverable"] == "rd_submission" and meta["country"] == "KHM"
    assert meta["template_version"] == rd_spec(programme).version


def test_drop_downs_ranges_and_input_messages(rd_template):
    wb = _load(rd_template)
    projects = wb["Projects"]
    headers = [c.value for c in projects[1]]
    assert headers[:3] == ["Project ID", "Institution ID", "Project title"]
    dv = _validations(projects)
    status = dv["H"]  # Status: a drop-down from the hidden Lists sheet
    assert status.type == "list" and status.formula1.startswith(f"'{LISTS_SHEET}'!$")
    lists = wb[LISTS_SHEET]
    column = status.formula1.split("!$")[1].split("$")[0]
    assert [c.value for c in lists[column][1:4]] == ["planned", "ongoing", "completed"]
    assert status.showErrorMessage and status.showInputMessage and "Status" in status.promptTitle
    budget = dv["G"]
    assert budget.type == "decimal" and float(budget.formula1) == 0
    assert "without units" in budget.error
    start = dv["E"]
    assert start.type == "date" and "YYYY-MM-DD" in start.prompt
    assert dv["A"].type == "textLength" and dv["A"].formula1 == "20"
    rank = _validations(wb["Research priorities"])["A"]
    assert rank.type == "whole" and (rank.formula1, rank.formula2) == ("1", "20")


def test_formats_and_locked_header(rd_template):
    wb = _load(rd_template)
    ws = wb["Projects"]
    assert ws.protection.sheet and ws.protection.insertRows is False  # False: inserting rows is allowed
    assert ws["A1"].protection.locked
    assert ws.freeze_panes == "A2"
    assert ws.column_dimensions["E"].number_format == "yyyy-mm-dd"  # start date
    assert ws.column_dimensions["G"].number_format == "0.0##"  # budget
    assert ws.column_dimensions["A"].number_format == "@"  # IDs stay text
    assert ws.column_dimensions["A"].protection.locked is False  # data cells are open


def test_threats_template_lists_the_ten_soil_threats(programme, tmp_path):
    path = write_template(threats_spec(programme), "VNM", "Viet Nam", tmp_path / "t.xlsx")
    wb = _load(path)
    dv = _validations(wb["Soil threats"])["A"]
    column = dv.formula1.split("!$")[1].split("$")[0]
    threats = [c.value for c in wb[LISTS_SHEET][column][1:] if c.value]
    assert len(threats) == 10 and "Soil salinization and sodification" in threats


@pytest.mark.skipif(shutil.which("libreoffice") is None, reason="LibreOffice not installed "
                    "(apt-get install -y libreoffice-calc)")
def test_libreoffice_opens_the_template_with_its_drop_downs(rd_template, tmp_path):
    out = tmp_path / "lo"
    for target in ("pdf", "xlsx"):
        subprocess.run(["libreoffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/profile",
                        "--convert-to", target, "--outdir", str(out), str(rd_template)],
                       check=True, capture_output=True, timeout=240)
    pdf = out / "KHM_rd_submission.pdf"
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 10_000
    resaved = _load(out / "KHM_rd_submission.xlsx")  # LibreOffice's own save keeps the drop-downs
    status = _validations(resaved["Projects"])["H"]
    assert status.type == "list" and LISTS_SHEET in status.formula1
    assert resaved["Instructions"]["B3"].value == "Cambodia (KHM)"
