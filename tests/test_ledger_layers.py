"""Partial salinity deliveries in the ledger: layers carried over, recorded per layer, shown in the status."""

from __future__ import annotations

import dataclasses
import json
import sqlite3

from atlas.ledger.store import Ledger
from tests.test_ledger_store import make_submission, row_of

FULL = [f"{layer}_{depth}" for depth in ("0-30", "30-100")
        for layer in ("ECe", "pH", "ESP", "SAS", "ECe_unc", "pH_unc", "ESP_unc", "SAS_unc")]


def accept(ledger, tmp_path, delivery: str, content: bytes, layers: list[str], country="KHM"):
    sub = make_submission(tmp_path, country, "salinity_map", delivery, content)
    rec = ledger.record_submission(sub)
    ledger.record_validation(rec.id, "accepted", {}, None, [])
    return rec, ledger.record_layers(rec.id, layers)


def test_partial_delivery_carries_the_other_layers_over_from_the_last_accepted_version(programme, tmp_path):
    with Ledger(programme.ledger_path, programme) as ledger:
        _, first = accept(ledger, tmp_path, "2026-03-02", b"one", ["ECe_0-30", "pH_0-30", "SAS_0-30", "ESP_0-30"])
        assert first == {"ECe_0-30": 1, "pH_0-30": 1, "SAS_0-30": 1, "ESP_0-30": 1}
        row = row_of(ledger, "KHM", "salinity_map")
        assert "accepted v1 2026-03-02 · 4 of 16 layers ·" in row.cell()
        # the second delivery sends one corrected layer and one more
        _, second = accept(ledger, tmp_path, "2026-04-02", b"two", ["pH_0-30", "ECe_unc_0-30"])
        assert second == {"ECe_0-30": 1, "pH_0-30": 2, "SAS_0-30": 1, "ESP_0-30": 1, "ECe_unc_0-30": 2}
        assert ledger.layer_versions() == {"KHM": second}
        row = row_of(ledger, "KHM", "salinity_map")
        assert "accepted v2 2026-04-02 · 5 of 16 layers (3 carried over)" in row.cell()
        assert any("carried over from v1" in (e["note"] or "") for e in ledger.history("KHM"))


def test_complete_delivery_and_carry_over_switched_off(programme, tmp_path):
    sal = dataclasses.replace(programme.salinity, carry_over_layers=False)
    prog = dataclasses.replace(programme, salinity=sal)
    with Ledger(prog.ledger_path, prog) as ledger:
        _, first = accept(ledger, tmp_path, "2026-03-02", b"one", FULL)
        assert "all 16 layers" in row_of(ledger, "KHM", "salinity_map").cell()
        _, second = accept(ledger, tmp_path, "2026-04-02", b"two", ["ECe_0-30", "pH_0-30", "SAS_0-30"])
        assert second == {"ECe_0-30": 2, "pH_0-30": 2, "SAS_0-30": 2}


def test_rejected_versions_are_not_a_source_of_layers(programme, tmp_path):
    with Ledger(programme.ledger_path, programme) as ledger:
        accept(ledger, tmp_path, "2026-03-02", b"one", ["ECe_0-30", "ESP_0-30"])
        bad = ledger.record_submission(make_submission(tmp_path, "KHM", "salinity_map", "2026-03-10", b"bad"))
        ledger.record_validation(bad.id, "rejected", {"error": 1}, None, [])
        _, third = accept(ledger, tmp_path, "2026-04-02", b"three", ["pH_0-30"])
        assert third == {"ECe_0-30": 1, "ESP_0-30": 1, "pH_0-30": 3}


def test_covered_share_shown_in_the_status(programme, tmp_path):
    with Ledger(programme.ledger_path, programme) as ledger:
        rec = ledger.record_submission(make_submission(tmp_path, "KHM", "salinity_map", "2026-03-02", b"one"))
        low = {"check_id": "raster.coverage_low", "severity": "error", "message": "...",
               "observed": {"valid_km2": 181.0, "share": 0.001}}
        ledger.record_validation(rec.id, "rejected", {"error": 1}, None, [low])
        row = row_of(ledger, "KHM", "salinity_map")
        assert row.coverage == 0.001 and "0.1% covered" in row.cell()


def test_schema_1_ledger_is_migrated_with_layers_from_its_stored_file_names(programme, tmp_path):
    with Ledger(programme.ledger_path, programme) as ledger:
        for delivery, content, names in (("2026-03-02", b"one", ["KHM_GSSmap_ECe_0-30.tif", "KHM_GSSmap_pH_0-30.tif"]),
                                         ("2026-04-02", b"two", ["KHM_GSSmap_pH_0-30.tif"])):
            rec = ledger.record_submission(make_submission(tmp_path, "KHM", "salinity_map", delivery, content,
                                                           name=names[0]))
            ledger.record_validation(rec.id, "accepted", {}, None, [])
            files = [{"path": name, "size": 1, "sha256": "0" * 64} for name in names]
            ledger._db.execute("UPDATE submissions SET files = ? WHERE id = ?", (json.dumps(files), rec.id))
    # make it a ledger as schema 1 wrote it: no layer records, version 1
    with sqlite3.connect(programme.ledger_path) as db:
        db.execute("DROP TABLE layer_sources")
        db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    with Ledger(programme.ledger_path, programme) as ledger:
        assert ledger.layer_versions() == {"KHM": {"ECe_0-30": 1, "pH_0-30": 2}}
        version = ledger._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
        assert version == "2"
