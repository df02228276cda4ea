"""Operations at library level: atomic writes, sweeping, the run lock, retries, export skipping, configuration."""

from __future__ import annotations

import datetime as dt
import errno
import pickle
import sqlite3
import subprocess
import sys
import textwrap
from dataclasses import replace

import pytest

from atlas.atomic import is_temporary, sweep_temporaries, write_atomic, write_text_atomic
from atlas.intake.inbox import discover
from atlas.ledger.exports import FINGERPRINT, export_status
from atlas.ledger.store import Ledger
from flows.deployments import schedule_of
from flows.pipeline import dask_task_runner, is_transient

TODAY = dt.date(2026, 11, 26)


def test_failed_write_leaves_the_previous_file_and_no_temporary(tmp_path):
    target = tmp_path / "GSSmap_ECe_0-30.tif"
    target.write_bytes(b"previous product")

    def half_then_crash(tmp):
        tmp.write_bytes(b"half a new")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_atomic(target, half_then_crash)
    assert target.read_bytes() == b"previous product"
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_successful_write_replaces_the_file(tmp_path):
    target = tmp_path / "legend.json"
    target.write_text("old")
    write_text_atomic(target, '{"new": true}')
    assert target.read_text() == '{"new": true}'
    assert [p.name for p in tmp_path.iterdir()] == ["legend.json"]


def test_sweep_removes_what_a_killed_run_left_and_nothing_else(tmp_path):
    keep = [tmp_path / "GSSmap_pH_0-30.tif", tmp_path / "build_manifest.json", tmp_path / ".run.lock"]
    for path in keep:
        path.write_text("x")
    stale_dir = tmp_path / ".mosaic_abc123"
    stale_dir.mkdir()
    (stale_dir / "GSSmap_pH_0-30.tif").write_text("half")
    stale_file = tmp_path / ".GSSmap_pH_0-30.tmp-1a2b3c4d.tif"
    stale_file.write_text("half")
    removed = sweep_temporaries(tmp_path)
    assert sorted(p.name for p in removed) == sorted([stale_dir.name, stale_file.name])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in keep)
    assert not is_temporary(tmp_path / ".run.lock")


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (OSError(errno.EIO, "I/O error"), True),
        (OSError(errno.ESTALE, "stale NFS handle"), True),
        (TimeoutError(), True),
        (sqlite3.OperationalError("database is locked"), True),
        (FileNotFoundError(errno.ENOENT, "missing"), False),
        (PermissionError(errno.EACCES, "denied"), False),
        (ValueError("bad raster"), False),
    ],
)
def test_only_transient_errors_are_retried(exc, transient):
    assert is_transient(exc) is transient


def test_run_lock_serialises_two_processes(tmp_path):
    """Two processes enter the lock at the same moment: their writes never interleave."""
    journal = tmp_path / "journal.txt"
    script = textwrap.dedent(
        f"""
        import os, sys, time
        from atlas.locking import run_lock
        while not os.path.exists({str(tmp_path / "go")!r}):
            time.sleep(0.005)
        with run_lock({str(tmp_path / "processed")!r}, poll_s=0.02):
            for step in range(5):
                with open({str(journal)!r}, "a") as fh:
                    fh.write(f"{{sys.argv[1]}} {{step}}\\n")
                time.sleep(0.05)
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, name]) for name in ("A", "B")]
    try:
        import time

        time.sleep(1.5)  # both interpreters are up and polling for the start signal
        (tmp_path / "go").write_text("")
        assert [p.wait(timeout=30) for p in procs] == [0, 0]
    finally:
        for p in procs:
            p.kill() if p.poll() is None else None
    names = [line.split()[0] for line in journal.read_text().splitlines()]
    assert len(names) == 10
    assert names in (["A"] * 5 + ["B"] * 5, ["B"] * 5 + ["A"] * 5), names


def _book_chapter(programme, iso3: str, day: str, text: str) -> None:
    folder = programme.raw_dir / iso3 / day
    folder.mkdir(parents=True)
    (folder / f"{iso3}_chapter.pdf").write_bytes(b"%PDF-1.4\n" + text.encode() + b"\n%%EOF\n")


def test_status_exports_are_skipped_while_the_ledger_is_unchanged(programme, tmp_path):
    ledger = Ledger(programme.ledger_path, programme)
    out = tmp_path / "status"
    first = export_status(ledger, programme, out, ["csv", "md"], today=TODAY, skip_unchanged=True)
    stamp = {p.name: p.stat().st_mtime_ns for paths in first.values() for p in paths}
    again = export_status(ledger, programme, out, ["csv", "md"], today=TODAY, skip_unchanged=True)
    assert again == first
    assert {p.name: p.stat().st_mtime_ns for paths in again.values() for p in paths} == stamp
    assert (out / FINGERPRINT).is_file()

    _book_chapter(programme, "KHM", "2026-02-20", "chapter")
    subs, _ = discover(programme.raw_dir, programme.members)
    ledger.record_submission(subs[0])
    changed = export_status(ledger, programme, out, ["csv", "md"], today=TODAY, skip_unchanged=True)
    assert (out / "status.csv").stat().st_mtime_ns != stamp["status.csv"]
    assert "KHM" in (out / "status.csv").read_text() and "received" in (out / "status.csv").read_text()
    assert changed["csv"] == first["csv"]
    # a new day can make a deliverable overdue: the exports are redone
    before = (out / "status.md").stat().st_mtime_ns
    export_status(ledger, programme, out, ["csv", "md"], today=TODAY + dt.timedelta(days=1), skip_unchanged=True)
    assert (out / "status.md").stat().st_mtime_ns != before


def test_a_missing_export_file_is_rewritten(programme, tmp_path):
    ledger = Ledger(programme.ledger_path, programme)
    out = tmp_path / "status"
    export_status(ledger, programme, out, ["csv", "md"], today=TODAY, skip_unchanged=True)
    (out / "status.md").unlink()
    export_status(ledger, programme, out, ["csv", "md"], today=TODAY, skip_unchanged=True)
    assert (out / "status.md").is_file()


def test_ingestion_schedule_comes_from_the_operations_section(programme):
    with_cron = replace(programme, extra={"operations": {"ingest_cron": "0 6 * * 1-5", "ingest_interval_minutes": 5}})
    assert schedule_of(with_cron) == {"cron": "0 6 * * 1-5"}
    every_15 = replace(programme, extra={"operations": {"ingest_interval_minutes": 15}})
    assert schedule_of(every_15) == {"interval": dt.timedelta(minutes=15)}
    assert schedule_of(replace(programme, extra={})) == {"interval": dt.timedelta(minutes=60)}


def test_dask_runner_uses_the_configured_scheduler_or_a_local_cluster(programme):
    remote = dask_task_runner(replace(programme, extra={"operations": {"dask_scheduler": "tcp://scheduler.example.org:8786"}}))
    assert remote.address == "tcp://scheduler.example.org:8786"
    local = dask_task_runner(replace(programme, extra={"operations": {"dask_workers": 3}}))
    assert local.address is None
    assert local.cluster_kwargs["n_workers"] == 3
    assert local.cluster_kwargs["processes"] is True


def test_programme_and_submissions_travel_to_dask_workers(programme):
    """Tasks on Dask workers receive pickled arguments: the values must survive the trip unchanged."""
    _book_chapter(programme, "KHM", "2026-02-20", "chapter")
    subs, _ = discover(programme.raw_dir, programme.members)
    assert pickle.loads(pickle.dumps(programme)) == programme
    assert pickle.loads(pickle.dumps(subs)) == subs


def test_a_run_removes_its_exports_of_formats_no_longer_configured_and_nothing_else(programme, tmp_path, caplog):
    keys = ["book_chapter"]  # one map and the panel
    programme = replace(programme, deliverables={k: programme.deliverables[k] for k in keys})
    ledger = Ledger(programme.ledger_path, programme)
    out = tmp_path / "status"
    first = export_status(ledger, programme, out, ["csv", "png", "html"], today=TODAY, skip_unchanged=True)
    assert {p.name for p in first["png"]} == {"status_map_book_chapter.png", "status_map_panel.png"}
    (out / "notes.png").write_bytes(b"the secretariat's own file")  # not written by an export: never removed
    with caplog.at_level("WARNING", logger="atlas.ledger.exports"):
        second = export_status(ledger, programme, out, ["csv"], today=TODAY, skip_unchanged=True)
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "notes.png", "status.csv", "summary.txt"]
    assert second["csv"] == [out / "status.csv"]
    assert "3 files of formats no longer in [status] formats removed" in caplog.text
    assert "status_map_panel.png" in caplog.text and "status.html" in caplog.text
    # `atlas status export` (no skip_unchanged) writes what it is asked for and removes nothing
    export_status(ledger, programme, out, ["png"], today=TODAY)
    export_status(ledger, programme, out, ["csv"], today=TODAY)
    assert (out / "status_map_panel.png").is_file()


def test_only_the_maps_whose_content_changed_are_redrawn(programme, tmp_path):
    keys = ["salinity_map", "soil_map", "book_chapter"]  # three maps and the panel: enough to tell kept from drawn
    programme = replace(programme, deliverables={k: programme.deliverables[k] for k in keys})
    ledger = Ledger(programme.ledger_path, programme)
    out = tmp_path / "status"
    first = export_status(ledger, programme, out, ["png"], today=TODAY, skip_unchanged=True)
    stamp = {p.name: p.stat().st_mtime_ns for p in first["png"]}
    assert len(stamp) == len(programme.deliverables) + 1  # one map per deliverable and the panel

    _book_chapter(programme, "KHM", "2026-02-20", "chapter")  # only the book chapter column changes
    subs, _ = discover(programme.raw_dir, programme.members)
    ledger.record_submission(subs[0])
    second = export_status(ledger, programme, out, ["png"], today=TODAY, skip_unchanged=True)
    redrawn = {p.name for p in second["png"] if p.stat().st_mtime_ns != stamp[p.name]}
    assert redrawn == {"status_map_book_chapter.png", "status_map_panel.png"}
    assert {p.name for p in second["png"]} == set(stamp)  # the kept maps are still listed as written

    (out / "status_map_soil_map.png").unlink()  # a map gone is drawn again, the others kept
    kept = {p.name: p.stat().st_mtime_ns for p in second["png"] if p.is_file()}
    export_status(ledger, programme, out, ["png"], today=TODAY, skip_unchanged=True)
    assert (out / "status_map_soil_map.png").is_file()
    assert all((out / name).stat().st_mtime_ns == ns for name, ns in kept.items())
    # a new day changes every map's "as of" line: all are redrawn
    export_status(ledger, programme, out, ["png"], today=TODAY + dt.timedelta(days=1), skip_unchanged=True)
    assert all((out / name).stat().st_mtime_ns != ns for name, ns in kept.items())
