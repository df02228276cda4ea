"""One truth: a version replaced in the current release reads superseded everywhere, and `atlas verify` says so.

A small Cambodian salinity map (60 x 60 pixels) sent three times: v1 complete, v2 complete (replaces v1),
v3 with pH only (carries ECe and SAS over from v2). After each release the ledger, the status exports and the
country's history must say what the current release holds of every version.
"""

from __future__ import annotations

import csv
import sqlite3

import openpyxl
from test_one_state import process_inbox, small, write

from atlas import layout, stages
from atlas.ledger.exports import export_status
from atlas.ledger.status_table import render_country_history
from atlas.ledger.store import Ledger
from atlas.ledger.verify import verify_release
from atlas.products import regional


def deliver(programme, day: str, layers=(("ECe", 6.0), ("pH", 7.5)), sas=True):
    folder = programme.raw_dir / "KHM" / day
    for layer, value in layers:
        write(folder, layer, value)
    if sas:
        write(folder, "SAS", 1)


def release_run(programme, ledger) -> None:
    """The regional stage for salinity: resolved state, build into a release, publication recorded in the ledger."""
    from test_one_state import BOUNDARIES

    state = ledger.state()
    outcome = regional.build_regional_salinity(programme, state.current_versions("salinity_map"), BOUNDARIES, "run",
                                               False, layer_versions=state.layer_versions("salinity_map"))
    regional.build_catalogue(programme, [outcome], "run")
    stages.publish_versions(ledger, "salinity_map", outcome, "run", state)


def states(ledger) -> dict[int, str]:
    return {r.version: r.state for r in ledger.versions("KHM", "salinity_map")}


def khm_row(ledger, state=None):
    return next(r for r in ledger.status_rows(state=state) if (r.country, r.deliverable) == ("KHM", "salinity_map"))


def test_a_version_replaced_in_the_current_release_reads_superseded_in_ledger_exports_and_history(programme, tmp_path):
    programme = small(programme)
    deliver(programme, "2026-03-02")
    with Ledger(programme.ledger_path, programme) as ledger:
        process_inbox(programme, ledger)
        release_run(programme, ledger)
        assert states(ledger) == {1: "published"}
        deliver(programme, "2026-05-20", (("ECe", 8.0), ("pH", 7.9)))  # a complete new map
        process_inbox(programme, ledger)
        release_run(programme, ledger)
        assert states(ledger) == {1: "superseded", 2: "published"}
        state = ledger.published_state()  # the state plus what the current release holds
        assert state.version("KHM", "salinity_map", 1).state == "superseded"
        row = khm_row(ledger, state)
        assert row.earlier and "v1 superseded by v2 on " in row.cell(), row.cell()
        out = export_status(ledger, programme, tmp_path / "status", formats=("csv", "xlsx", "md", "html"),
                            state=state)
        history = render_country_history(ledger, "KHM")
    with open(out["csv"][0], encoding="utf-8") as fh:
        line = next(r for r in csv.DictReader(fh) if (r["country"], r["deliverable"]) == ("KHM", "salinity_map"))
    assert line["earlier_versions"].startswith("v1 superseded by v2 on ") and line["published_version"] == "2"
    details = openpyxl.load_workbook(out["xlsx"][0])["Details"]
    cells = [str(c.value) for row in details.iter_rows() for c in row if c.value]
    assert any(c.startswith("v1 superseded by v2 on ") for c in cells)
    for kind in ("md", "html"):
        assert "v1 superseded by v2 on " in out[kind][0].read_text(encoding="utf-8"), kind
    assert "published -> superseded" in history and "superseded by v2 on " in history, history


def test_a_version_whose_layers_the_next_one_carries_reads_partly_published(programme):
    programme = small(programme)
    deliver(programme, "2026-03-02")
    deliver(programme, "2026-05-20", (("ECe", 8.0), ("pH", 7.9)))
    with Ledger(programme.ledger_path, programme) as ledger:
        process_inbox(programme, ledger)
        release_run(programme, ledger)
        deliver(programme, "2026-06-10", (("pH", 8.2),), sas=False)  # pH only: ECe and SAS carried over from v2
        process_inbox(programme, ledger)
        release_run(programme, ledger)
        assert states(ledger) == {1: "harmonized", 2: "partly_published", 3: "published"}  # v1 was never released
        state = ledger.published_state()
        v2 = state.version("KHM", "salinity_map", 2)
        assert v2.in_release == ("ECe_0-30", "SAS_0-30") and v2.by == 3
        cell = khm_row(ledger, state).cell()
        assert "v2 partly published: 2 layers carried over by v3" in cell and "v1" not in cell, cell
        assert verify_release(programme, ledger) == []


def test_verify_fails_when_the_ledger_says_published_what_the_release_does_not_hold(programme):
    programme = small(programme)
    deliver(programme, "2026-03-02")
    deliver(programme, "2026-05-20", (("ECe", 8.0), ("pH", 7.9)))
    with Ledger(programme.ledger_path, programme) as ledger:
        process_inbox(programme, ledger)
        release_run(programme, ledger)
        assert verify_release(programme, ledger) == []
    db = sqlite3.connect(programme.ledger_path)
    with db:  # the ledger says v1 is still published (the high-water mark of before)
        db.execute("UPDATE submissions SET state = 'published' WHERE country = 'KHM' AND version = 1")
    with Ledger(programme.ledger_path, programme) as ledger:
        problems = verify_release(programme, ledger)
    assert len(problems) == 1 and "KHM salinity_map v1 is published" in problems[0] \
        and "holds v2" in problems[0] and "superseded" in problems[0], problems
    from atlas.pending import pending_work  # `atlas run` sees the work: the next run puts the ledger right

    assert "ledger states to bring in line with the current release" in pending_work(programme).reasons
    with db:  # and the reverse: the release is built from v2, the ledger says it is only harmonized
        db.execute("UPDATE submissions SET state = 'superseded' WHERE country = 'KHM' AND version = 1")
        db.execute("UPDATE submissions SET state = 'harmonized' WHERE country = 'KHM' AND version = 2")
    db.close()
    with Ledger(programme.ledger_path, programme) as ledger:
        problems = verify_release(programme, ledger)
    assert len(problems) == 1 and "is built from it (KHM salinity_map v2)" in problems[0] \
        and "harmonized, not published" in problems[0], problems


def test_every_record_of_a_resubmission_agrees_with_the_one_state_and_verify(programme, tmp_path, monkeypatch):
    """Issue 21, gap 3: mosaic inputs, STAC sources, ledger states, status cells and the report's "what changed"
    all say what the run's one resolved state (after publishing) says; the exports never resolve it again."""
    import json

    import pystac

    import atlas.ledger.resolve

    programme = small(programme)
    deliver(programme, "2026-03-02")
    with Ledger(programme.ledger_path, programme) as ledger:
        process_inbox(programme, ledger)
        release_run(programme, ledger)
        deliver(programme, "2026-05-20", (("ECe", 8.0), ("pH", 7.9)))  # replaces v1 ...
        process_inbox(programme, ledger)
        release_run(programme, ledger)
        deliver(programme, "2026-06-10", (("pH", 8.2),), sas=False)  # ... and v3 sends pH only
        process_inbox(programme, ledger)
        release_run(programme, ledger)
        state = ledger.published_state()
        release = layout.current_release(programme.processed_dir)
        manifest = json.loads((layout.salinity_in(release) / "build_manifest.json").read_text())
        # mosaic inputs: the state's layer sources
        assert manifest["layers"] == {"KHM": state.layer_versions("salinity_map")["KHM"]} \
            == {"KHM": {"ECe_0-30": 2, "SAS_0-30": 2, "pH_0-30": 3}}
        # STAC sources: per item, the version whose pixels are in it
        catalog = pystac.Catalog.from_file(str(layout.stac_in(release) / "catalog.json"))
        sources = {i.id: {(s["country"], s["version"]) for s in i.properties["atlas:sources"]}
                   for i in catalog.get_items()}
        assert sources["GSSmap_ECe_0-30"] == {("KHM", 2)} and sources["GSSmap_pH_0-30"] == {("KHM", 3)}
        # ledger states = the state's publication states
        assert {(c, d, v): s for (c, d, v), s in ledger.version_states().items()} == {
            ("KHM", "salinity_map", 1): "superseded", ("KHM", "salinity_map", 2): "partly_published",
            ("KHM", "salinity_map", 3): "published"} == state.publication_states()
        # status cells and exports from that one value: resolving again would fail here
        monkeypatch.setattr(atlas.ledger.resolve, "resolve_db", _no_second_resolution)
        row = khm_row(ledger, state)
        out = export_status(ledger, programme, tmp_path / "status", formats=("csv", "md"), state=state)
        assert (row.best_version, row.shown_state, row.layers_in_use, row.layers_carried) == (3, "published", 3, 2)
        assert "v1 superseded by v2 on" in row.cell() and "v2 partly published: 2 layers carried over by v3" in \
            row.cell()
        assert row.cell() in out["md"][0].read_text(encoding="utf-8")
        monkeypatch.undo()
        assert verify_release(programme, ledger) == []
    # the report of v3: what changed since v2, with the layers the state says it carries over
    report = json.loads((layout.national_dir(programme.processed_dir, "KHM", "salinity_map", 3) / "report.json")
                        .read_text())
    assert report["changes"]["since_version"] == 2
    carried = {f"{r['layer']}_{r['depth']}": r["taken_from"] for r in report["meta"]["layers"]
               if r["kind"] == "carried"}
    in_state = {k: f"carried over from version {s.version}"
                for k, s in state.version("KHM", "salinity_map", 3).layers.items() if s.how == "carried"}
    assert carried == in_state == {"ECe_0-30": "carried over from version 2", "SAS_0-30": "carried over from version 2"}


def _no_second_resolution(*args, **kwargs):
    raise AssertionError("the state was resolved a second time: the run's one state must be passed on")
