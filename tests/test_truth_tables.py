"""The regional tables are part of the release: built into it, hard-linked into the next one when unchanged,
listed in its STAC catalogue and manifests, published in the ledger from it, and checked by `atlas verify`."""

from __future__ import annotations

import os

import pystac
from table_helpers import GOOD_RD, GOOD_THREATS, workbook
from test_stages_tables import release_tables

from atlas import layout, stages
from atlas.ledger.store import Ledger
from atlas.ledger.verify import verify_release
from atlas.products.release_checks import manifests


def _deliver(programme, iso3, day, key, rows):
    folder = programme.raw_dir / iso3 / day
    folder.mkdir(parents=True, exist_ok=True)
    workbook(programme, key, rows, folder, iso3)


def _process(programme, ledger):
    subs, _ = stages.discover_submissions(programme)
    for sub, record in stages.register(ledger, subs, run_id="test"):
        if record.is_new:
            stages.process_submission(sub, record.id, programme, None, ledger)
    return release_tables(programme, ledger)


def _items(processed):
    catalog = pystac.Catalog.from_file(str(layout.stac_dir(processed) / "catalog.json"))
    return {item.id: item for item in catalog.get_items()}


def test_the_regional_tables_are_in_the_release_catalogued_hard_linked_and_verified(programme):
    processed = programme.processed_dir
    _deliver(programme, "KHM", "2026-02-12", "soil_threats", {"threats": GOOD_THREATS})
    _deliver(programme, "NPL", "2026-03-15", "rd_submission", GOOD_RD)
    with Ledger(programme.ledger_path, programme) as ledger:
        _process(programme, ledger)
        first = layout.current_release(processed)
        tables = layout.tables_in(first)
        assert (tables / "soil_threats" / "soil_threats_threats.parquet").is_file()
        assert (tables / "rd_submission" / "rd_submission.xlsx").is_file()
        assert (tables / "meeting_summary.html").is_file()
        assert {"tables/soil_threats", "tables/rd_submission"} <= set(manifests(first))
        item = _items(processed)["soil_threats"]
        assert {(s["country"], s["version"]) for s in item.properties["atlas:sources"]} == {("KHM", 1)}
        assert item.assets["soil_threats_threats_parquet"].extra_fields["atlas:checksum_sha256"]
        assert verify_release(programme, ledger) == []
        # KHM sends a corrected threats table: a new release; the unchanged R&D table is hard-linked into it
        _deliver(programme, "KHM", "2026-04-01", "soil_threats", {"threats": GOOD_THREATS[:2]})
        assert [t.product for t in _process(programme, ledger)] == ["Regional policy brief"]
        second = layout.current_release(processed)
        assert second != first and layout.tables_in(first).is_dir()  # the earlier release stays whole
        rd = "rd_submission/rd_submission_institutions.parquet"
        assert os.stat(layout.tables_in(second) / rd).st_ino == os.stat(layout.tables_in(first) / rd).st_ino
        item = _items(processed)["soil_threats"]
        assert {(s["country"], s["version"]) for s in item.properties["atlas:sources"]} == {("KHM", 2)}
        assert {r.version: r.state for r in ledger.versions("KHM", "soil_threats")} == {1: "superseded",
                                                                                          2: "published"}
        assert verify_release(programme, ledger) == []
        # a table file changed after publication: verify names it
        target = layout.tables_in(second) / "soil_threats" / "soil_threats_threats.parquet"
        target.unlink()
        target.write_bytes(b"PAR1 not the published table")
        problems = verify_release(programme, ledger)
    assert any("tables/soil_threats/soil_threats_threats.parquet: checksum" in p for p in problems), problems
