"""The demo's table deliveries: clean ones pass, the planted errors are each caught, the fixed ones pass."""

from __future__ import annotations

from atlas.demo.tables import RD_ITEM, THREAT_ITEM, write_table_delivery
from atlas.finding import verdict
from atlas.tables import load_table_spec
from checks.table import read_table

SEED = 20261126


def _check(programme, tmp_path, item, flavour, iso3="VNM"):
    folder = tmp_path / f"{item}_{flavour or 'clean'}"
    folder.mkdir()
    files, planted = write_table_delivery(programme, folder, iso3, item, flavour, SEED)
    spec = load_table_spec(programme, planted["table"])
    return read_table(files, spec, iso3).findings, planted


def test_clean_deliveries_are_accepted(programme, tmp_path):
    for item in (THREAT_ITEM, RD_ITEM):
        findings, _ = _check(programme, tmp_path, item, "")
        assert findings == [], [(f.check_id, f.message) for f in findings]


def test_planted_errors_are_caught(programme, tmp_path):
    findings, planted = _check(programme, tmp_path, THREAT_ITEM, "errors")
    assert verdict(findings) == "rejected" and len(planted["planted"]) == 4
    assert {f.check_id for f in findings} == {"table.number_with_unit", "table.enum", "table.date_as_text",
                                              "table.duplicate_key"}
    findings, planted = _check(programme, tmp_path, RD_ITEM, "errors")
    assert {f.check_id for f in findings} == {"table.foreign_key", "table.duplicate_key", "table.enum_case",
                                              "table.merged_cells", "table.formula"}


def test_old_template_and_latin1_csv_are_warnings(programme, tmp_path):
    findings, _ = _check(programme, tmp_path, RD_ITEM, "old", "NPL")
    assert [f.check_id for f in findings] == ["table.template_outdated"]
    findings, planted = _check(programme, tmp_path, THREAT_ITEM, "csv_latin1", "KHM")
    assert [f.check_id for f in findings] == ["table.encoding"] and planted["format"] == "csv windows-1252"


def test_same_seed_same_bytes(programme, tmp_path):
    a = write_table_delivery(programme, _mk(tmp_path / "a"), "VNM", RD_ITEM, "errors", SEED)[0][0]
    b = write_table_delivery(programme, _mk(tmp_path / "b"), "VNM", RD_ITEM, "errors", SEED)[0][0]
    assert a.read_bytes() == b.read_bytes()  # a re-written demo is not a new version in the inbox


def _mk(folder):
    folder.mkdir()
    return folder
