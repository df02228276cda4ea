"""A table through the stages: rejected, fixed in a resubmission whose report lists the rows changed, merged
into the regional table, published in the ledger and shown in the status table with its deadline."""

from __future__ import annotations

import json

import jsonschema
import pandas as pd
from table_helpers import GOOD_THREATS, workbook

from atlas import layout, stages
from atlas.ledger.status_table import render_status_table
from atlas.ledger.store import Ledger
from atlas.products import regional, release
from atlas.products.release_checks import check_release, holdings
from atlas.reports.report import SCHEMA_PATH


def _deliver(programme, day, rows, iso3="VNM"):
    folder = programme.raw_dir / iso3 / day
    folder.mkdir(parents=True)
    workbook(programme, "soil_threats", {"threats": rows}, folder, iso3)


def _run(programme, ledger):
    subs, _ = stages.discover_submissions(programme)
    outcomes = [stages.process_submission(sub, record.id, programme, None, ledger)
                for sub, record in stages.register(ledger, subs, run_id="test") if record.is_new]
    release_tables(programme, ledger)
    return {(o.submission.country, o.submission.version): o for o in outcomes}


def release_tables(programme, ledger) -> list:
    """As the flow does: the tables built into a new release, checked, made current, published from it."""
    state = ledger.state()
    if not stages.tables_outdated(programme, state):
        return []
    staging = release.begin(programme.processed_dir, "test")
    tables = stages.regional_tables(programme, state, staging, "test")
    regional.build_catalogue(programme, tables, "test", staging)
    release.commit(programme.processed_dir, staging, "test", 3, check_release(staging), {})
    current = layout.current_release(programme.processed_dir)
    stages.record_publication(ledger, state.published(holdings(current)), "test")
    return [t for t in tables if not t.up_to_date]


def test_a_table_rejected_then_fixed_then_published(programme):
    with Ledger(programme.ledger_path, programme) as ledger:
        _deliver(programme, "2026-02-10", [dict(GOOD_THREATS[0], area_affected_pct="30 %"), GOOD_THREATS[1]])
        _deliver(programme, "2026-02-12", GOOD_THREATS, iso3="KHM")
        first = _run(programme, ledger)
        assert first[("VNM", 1)].verdict == "rejected" and first[("KHM", 1)].verdict == "accepted"
        rejected = json.loads((layout.national_dir(programme.processed_dir, "VNM", "soil_threats", 1)
                               / "report.json").read_text())
        jsonschema.validate(rejected, json.loads(SCHEMA_PATH.read_text()))  # sheet, row and column included
        assert rejected["findings"][0]["location"] == {"file": "VNM_soil_threats.xlsx", "sheet": "Soil threats",
                                                        "row": 2, "column": "Share of area affected (%)"}
        _deliver(programme, "2026-03-01", GOOD_THREATS)
        second = _run(programme, ledger)
        assert second[("VNM", 2)].verdict == "accepted"
        report = json.loads((layout.national_dir(programme.processed_dir, "VNM", "soil_threats", 2)
                             / "report.json").read_text())
        changes = report["meta"]["row_changes"]["sheets"][0]
        assert changes["counts"] == {"added": 1, "removed": 0, "changed": 1}
        assert changes["changed"][0]["changes"] == [
            {"column": "Share of area affected (%)", "before": "30 %", "after": "30"}]
        html = (layout.national_dir(programme.processed_dir, "VNM", "soil_threats", 2) / "report.html").read_text()
        assert "Rows changed since version 1" in html and "Soil compaction" in html
        rows = {(r.country, r.deliverable): r for r in ledger.status_rows()}
        assert rows[("VNM", "soil_threats")].state == "published"
        assert rows[("VNM", "soil_threats")].published_version == 2
        assert rows[("BTN", "soil_threats")].versions == 0
        table = render_status_table(ledger.status_rows(), programme=programme)
        assert "soil_threats (due 2026-02-28)" in table and "rd_submission (due 2026-05-31)" in table
        assert "soil_threats: 2 of 19 countries submitted, 2 accepted, 2 published" in table
        # nothing new: the tables are current, nothing is rewritten
        assert not stages.tables_outdated(programme, ledger)
        name = layout.current_release_name(programme.processed_dir)
        assert release_tables(programme, ledger) == [] and layout.current_release_name(programme.processed_dir) == name
    tables = layout.tables_dir(programme.processed_dir)  # in the release: regional/releases/<name>/tables
    merged = pd.read_csv(tables / "soil_threats" / "soil_threats_threats.csv")
    assert sorted(set(zip(merged["country"], merged["version"], strict=True))) == [("KHM", 1), ("VNM", 2)]
    assert (tables / "meeting_summary.html").is_file()
    assert not (programme.processed_dir / "regional" / "tables").exists()  # the old place, outside any release
