"""The submission ledger: states, transitions, versions, history, overdue, concurrency."""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import sqlite3
from pathlib import Path

import pytest

from atlas.errors import AtlasError
from atlas.finding import Finding, Location, Severity, counts
from atlas.intake.inbox import Submission, checksum_files
from atlas.ledger.schema import STATES, TRANSITIONS
from atlas.ledger.store import InvalidTransition, Ledger, LedgerError, UnknownRecord


def make_submission(root: Path, country: str, deliverable: str, delivery: str, content: bytes,
                    name: str = "file.tif", version: int = 1) -> Submission:
    """A real delivery folder with one file, as atlas.intake.inbox.discover would describe it."""
    folder = root / "raw" / country / delivery
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content)
    return Submission(country, deliverable, delivery, version, folder, (path,),
                      dt.date.fromisoformat(delivery[:10]), checksum_files([path], folder.parent))


@pytest.fixture
def ledger(programme):
    with Ledger(programme.ledger_path, programme) as led:
        yield led


def row_of(ledger, country, deliverable, today=None):
    return next(r for r in ledger.status_rows(today) if (r.country, r.deliverable) == (country, deliverable))


def test_schema_is_wal_and_registers_every_member_and_deliverable(ledger, programme):
    rows = ledger.status_rows()
    assert len(rows) == len(programme.members) * len(programme.deliverables)
    assert {r.state for r in rows} == {"not_received"}
    assert {(r.country, r.deliverable) for r in rows} == {
        (c, d) for c in programme.members for d in programme.deliverables}
    with sqlite3.connect(programme.ledger_path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_full_path_to_published_and_history(ledger, tmp_path):
    sub = make_submission(tmp_path, "KHM", "salinity_map", "2026-03-02", b"one")
    rec = ledger.record_submission(sub, run_id="run-1")
    assert (rec.is_new, rec.version, rec.state) == (True, 1, "received")
    assert rec.files[0].path == "file.tif" and rec.files[0].size == 3 and len(rec.files[0].sha256) == 64
    assert row_of(ledger, "KHM", "salinity_map").state == "received"
    findings = [Finding("raster.nodata", Severity.WARNING, "nodata -3.4e38 normalised", Location(file="a.tif"),
                        hint="declare -9999")]
    ledger.record_validation(rec.id, "accepted_with_warnings", counts(findings), tmp_path / "report.json", findings)
    assert row_of(ledger, "KHM", "salinity_map").state == "accepted_with_warnings"
    ledger.mark(rec.id, "harmonized", run_id="run-1")
    ledger.mark(rec.id, "published", run_id="run-1", product="GSSmap")
    row = row_of(ledger, "KHM", "salinity_map")
    assert (row.state, row.version, row.published_version, row.warnings) == ("published", 1, 1, 1)
    assert row.received == dt.date(2026, 3, 2)
    steps = [(e["from_state"], e["to_state"]) for e in ledger.history("KHM")]
    assert steps == [("not_received", "received"), ("received", "accepted_with_warnings"),
                     ("accepted_with_warnings", "harmonized"), ("harmonized", "published")]
    assert ledger.history("khm")[-1]["product"] == "GSSmap"
    assert ledger.published_versions() == {("KHM", "salinity_map"): 1}
    assert ledger.product_versions("GSSmap") == {("KHM", "salinity_map"): 1}
    found = ledger.last_findings("KHM")
    assert [f["check_id"] for f in found] == ["raster.nodata"] and found[0]["version"] == 1


@pytest.mark.parametrize("verdict", ["rejected", "accepted_with_warnings", "accepted"])
def test_every_verdict_from_received(ledger, tmp_path, verdict):
    rec = ledger.record_submission(make_submission(tmp_path, "NPL", "soil_map", "2026-04-01", b"x", "m.gpkg"))
    ledger.record_validation(rec.id, verdict, {"error": int(verdict == "rejected")}, None)
    assert ledger.get(rec.id).state == verdict
    assert row_of(ledger, "NPL", "soil_map").state == verdict


@pytest.mark.parametrize("start", ["received", "rejected"])
@pytest.mark.parametrize("target", ["harmonized", "published"])
def test_stages_before_acceptance_raise(ledger, tmp_path, start, target):
    rec = ledger.record_submission(make_submission(tmp_path, "BTN", "salinity_map", "2026-04-01", b"x"))
    if start == "rejected":
        ledger.record_validation(rec.id, "rejected", {"error": 2}, None)
    with pytest.raises(InvalidTransition) as info:
        ledger.mark(rec.id, target)
    assert isinstance(info.value, AtlasError)
    assert ledger.get(rec.id).state == start  # the failed transaction changed nothing


def test_published_straight_from_accepted_is_allowed_but_verdicts_via_mark_and_unknown_states_raise(ledger, tmp_path):
    rec = ledger.record_submission(make_submission(tmp_path, "BTN", "salinity_map", "2026-04-01", b"x"))
    with pytest.raises(InvalidTransition):
        ledger.mark(rec.id, "accepted")
    with pytest.raises(InvalidTransition):
        ledger.record_validation(rec.id, "harmonized", {}, None)
    ledger.record_validation(rec.id, "accepted", {}, None)
    with pytest.raises(InvalidTransition):
        ledger.mark(rec.id, "shipped")
    with pytest.raises(InvalidTransition):
        ledger.mark(rec.id, "not_received")
    with pytest.raises(UnknownRecord):
        ledger.mark(9999, "harmonized")


def test_transition_table_is_closed_and_never_returns_to_not_received():
    for state, targets in TRANSITIONS.items():
        assert state in STATES and targets <= set(STATES)
        assert "not_received" not in targets


def test_marking_a_passed_stage_keeps_state_and_records_the_product(ledger, tmp_path):
    rec = ledger.record_submission(make_submission(tmp_path, "THA", "soil_map", "2026-05-01", b"m", "m.gpkg"))
    ledger.record_validation(rec.id, "accepted", {}, None)
    ledger.mark(rec.id, "harmonized")
    ledger.mark(rec.id, "published", product="Soil Atlas of Asia")
    n_events = len(ledger.history("THA"))
    ledger.mark(rec.id, "harmonized", run_id="run-2")  # a later run harmonizes again
    ledger.mark(rec.id, "published", run_id="run-2", product="Soil Atlas of Asia")  # same product: no new event
    assert ledger.get(rec.id).state == "published"
    assert len(ledger.history("THA")) == n_events
    ledger.mark(rec.id, "published", product="Country profile atlas")
    assert ledger.history("THA")[-1]["product"] == "Country profile atlas"


def test_revalidation_rules(ledger, tmp_path):
    rec = ledger.record_submission(make_submission(tmp_path, "IND", "salinity_map", "2026-05-01", b"m"))
    ledger.record_validation(rec.id, "accepted", {}, None)
    ledger.mark(rec.id, "harmonized")
    n = len(ledger.history("IND"))
    ledger.record_validation(rec.id, "accepted", {}, None)  # same verdict again: idempotent
    assert ledger.get(rec.id).state == "harmonized" and len(ledger.history("IND")) == n
    ledger.record_validation(rec.id, "rejected", {"error": 1}, None)  # stricter checks now reject it
    assert ledger.get(rec.id).state == "rejected"
    assert ledger.history("IND")[-1]["note"].startswith("re-validated")


def test_resubmission_adds_version_and_keeps_the_old_one(ledger, tmp_path):
    first = ledger.record_submission(make_submission(tmp_path, "PAK", "salinity_map", "2026-03-01", b"v1"))
    ledger.record_validation(first.id, "accepted", {}, None)
    again = ledger.record_submission(make_submission(tmp_path, "PAK", "salinity_map", "2026-03-01", b"v1"))
    assert (again.id, again.version, again.is_new) == (first.id, 1, False)
    # the inbox proposes version 7; the ledger is authoritative and numbers it 2
    second = ledger.record_submission(
        make_submission(tmp_path, "PAK", "salinity_map", "2026-04-10", b"v2", version=7))
    assert (second.version, second.is_new) == (2, True)
    ledger.record_validation(second.id, "rejected", {"error": 3}, None,
                             [{"check_id": "grid.misaligned", "severity": "error", "message": "off grid"}])
    row = row_of(ledger, "PAK", "salinity_map")
    assert (row.state, row.version, row.last_accepted_version, row.versions, row.errors) == ("rejected", 2, 1, 2, 3)
    assert row.received == dt.date(2026, 4, 10)
    assert row.cell().startswith("accepted v1 2026-03-01") and row.cell().endswith("v2 rejected")
    versions = ledger.versions("PAK", "salinity_map")
    assert [(v.version, v.state) for v in versions] == [(1, "accepted"), (2, "rejected")]
    assert [f["check_id"] for f in ledger.last_findings("PAK", "salinity_map")] == ["grid.misaligned"]
    assert [e["version"] for e in ledger.history("PAK")] == [1, 1, 2, 2]


def test_ledger_survives_reopening(programme, tmp_path):
    with Ledger(programme.ledger_path, programme) as led:
        rec = led.record_submission(make_submission(tmp_path, "MNG", "book_chapter", "2026-01-05", b"%PDF", "c.pdf"))
    with Ledger(programme.ledger_path, programme) as led:
        assert led.get(rec.id).version == 1
        assert row_of(led, "MNG", "book_chapter").state == "received"


def test_unknown_country_or_deliverable_raises(ledger, tmp_path):
    with pytest.raises(LedgerError):
        ledger.record_submission(make_submission(tmp_path, "FRA", "soil_map", "2026-01-05", b"x"))
    with pytest.raises(LedgerError):
        ledger.record_submission(make_submission(tmp_path, "KHM", "poster", "2026-01-05", b"x"))


@pytest.mark.parametrize(
    ("today", "state", "overdue"),
    [
        ("2026-02-28", None, False),  # on the deadline day: not yet overdue
        ("2026-03-01", None, True),  # nothing arrived, deadline passed
        ("2026-03-01", "received", True),  # arrived but not yet validated
        ("2026-03-01", "rejected", True),
        ("2026-03-01", "accepted_with_warnings", False),
        ("2026-03-01", "accepted", False),
        ("2026-01-01", "rejected", False),  # before the deadline
    ],
)
def test_overdue(ledger, tmp_path, today, state, overdue):
    # programme.toml: book_chapter due 2026-02-28
    assert ledger.programme.deliverables["book_chapter"].deadline == dt.date(2026, 2, 28)
    if state:
        rec = ledger.record_submission(make_submission(tmp_path, "LKA", "book_chapter", "2026-01-10", b"x", "c.pdf"))
        if state != "received":
            ledger.record_validation(rec.id, state, {}, None)
    row = row_of(ledger, "LKA", "book_chapter", dt.date.fromisoformat(today))
    assert row.overdue is overdue
    assert ("overdue" in row.cell()) is overdue


def _writer(path: str, config_root: str, worker: int, n: int, queue, barrier) -> None:
    from atlas.config import load_programme

    programme = load_programme().with_root(Path(config_root))
    root = Path(config_root) / f"worker{worker}"
    led = Ledger(Path(path), programme)  # both create the schema at once too
    barrier.wait(timeout=60)  # start writing together
    made = []
    for i in range(n):
        sub = make_submission(root, "VNM", "salinity_map", f"2026-05-{i % 28 + 1:02d}_{worker}_{i}",
                              f"{worker}-{i}".encode())
        made.append(led.record_submission(sub).version)
    led.close()
    queue.put((worker, made))


def test_two_processes_writing_at_once_lose_nothing(programme, tmp_path):
    n = 100
    ctx = mp.get_context("spawn")
    queue, barrier = ctx.Queue(), ctx.Barrier(2)
    procs = [ctx.Process(target=_writer, args=(str(programme.ledger_path), str(tmp_path), w, n, queue, barrier))
             for w in (1, 2)]
    for p in procs:
        p.start()
    results = dict(queue.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    with Ledger(programme.ledger_path, programme) as led:
        versions = [v.version for v in led.versions("VNM", "salinity_map")]
        assert versions == list(range(1, 2 * n + 1))  # none lost, unique, consecutive
        assert sorted(results[1] + results[2]) == versions
        assert len(led.history("VNM")) == 2 * n
        # the row shows the current version: the latest delivery date, of those the last recorded
        current = max(led.versions("VNM", "salinity_map"), key=lambda r: (r.received, r.version))
        assert current.received.isoformat() == "2026-05-28"
        assert row_of(led, "VNM", "salinity_map").version == current.version


def test_accepted_versions_skip_a_rejected_resubmission_and_mark_version(ledger, tmp_path):
    v1 = ledger.record_submission(make_submission(tmp_path, "BGD", "salinity_map", "2026-03-01", b"1"))
    ledger.record_validation(v1.id, "accepted", {}, None)
    v2 = ledger.record_submission(make_submission(tmp_path, "BGD", "salinity_map", "2026-04-01", b"2"))
    ledger.record_validation(v2.id, "rejected", {"error": 1}, None)
    other = ledger.record_submission(make_submission(tmp_path, "CHN", "salinity_map", "2026-03-01", b"c"))
    assert ledger.accepted_versions("salinity_map") == {"BGD": 1}
    ledger.record_validation(other.id, "accepted_with_warnings", {"warning": 1}, None)
    assert ledger.accepted_versions("salinity_map") == {"BGD": 1, "CHN": 1}
    ledger.mark_version("BGD", "salinity_map", 1, "published", run_id="r", product="GSSmap")
    assert ledger.get(v1.id).state == "published" and ledger.get(v2.id).state == "rejected"
    row = row_of(ledger, "BGD", "salinity_map")
    assert (row.state, row.version, row.published_version) == ("rejected", 2, 1)
    with pytest.raises(UnknownRecord):
        ledger.mark_version("BGD", "salinity_map", 5, "published")
    with pytest.raises(InvalidTransition):
        ledger.mark_version("BGD", "salinity_map", 2, "published")


def test_one_ledger_shared_by_threads(ledger, tmp_path):
    """Prefect may run tasks in worker threads with the flow's Ledger object."""
    from concurrent.futures import ThreadPoolExecutor

    subs = [make_submission(tmp_path / f"t{i}", "JPN", "soil_map", f"2026-06-{i + 1:02d}", bytes([i]), "m.gpkg")
            for i in range(20)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        records = list(pool.map(ledger.record_submission, subs))
    assert sorted(r.version for r in records) == list(range(1, 21))
