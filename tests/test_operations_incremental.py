"""Incremental, idempotent runs with failure isolation and retries, on a small demo programme (in process)."""

from __future__ import annotations

import errno
import json
from dataclasses import replace

import numpy as np
import pytest
import rasterio
from inbox_helpers import change_salinity, without_status_maps

from atlas import layout, stages
from atlas.config import load_programme
from atlas.ledger.store import Ledger
from atlas.products.regional import BUILD_MANIFEST

WINDOW = (102.0, 10.0, 108.0, 15.0)
COUNTRIES = ["KHM", "THA"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, demo_inbox, request):
    """Four runs: one with a failing and a flaky country, a repair run, a no-op run, a run after a change."""
    root = tmp_path_factory.mktemp("incremental")
    base = load_programme().with_root(root)
    programme = without_status_maps(replace(
        base, region_bounds=WINDOW, extra={**base.extra, "operations": {"retries": 2, "retry_delay_seconds": 0.1}}
    ))
    demo_inbox(programme, COUNTRIES, WINDOW)
    request.getfixturevalue("prefect_harness")  # after the demo, which the other worker may be waiting for
    from flows.pipeline import run_pipeline

    original = stages.process_submission
    calls: dict[str, int] = {}

    def flaky(sub, *args, **kwargs):
        calls[sub.key] = calls.get(sub.key, 0) + 1
        if sub.country == "THA" and sub.deliverable == "salinity_map":
            raise RuntimeError("simulated defect while processing THA")
        if sub.key == "KHM/soil_map/v1" and calls[sub.key] == 1:
            raise OSError(errno.EIO, "simulated flaky network share")
        return original(sub, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(stages, "process_submission", flaky)
        first = run_pipeline(programme=programme)
    repair = run_pipeline(programme=programme)
    status = layout.status_dir(programme.processed_dir) / "status.csv"
    soil_manifest = layout.regional_soil_dir(programme.processed_dir) / BUILD_MANIFEST
    before = {"status": status.stat().st_mtime_ns, "soil": soil_manifest.stat().st_mtime_ns}
    noop = run_pipeline(programme=programme)
    after_noop = {"status": status.stat().st_mtime_ns, "soil": soil_manifest.stat().st_mtime_ns}
    from atlas.pending import pending_work  # what `atlas run` asks before starting Prefect

    pending = {"noop": pending_work(programme)}
    change_salinity(programme, "KHM", "2026-10-01", 0.25)
    pending["changed"] = pending_work(programme)
    changed = run_pipeline(programme=programme)
    after_change = {"soil": soil_manifest.stat().st_mtime_ns}
    return {
        "programme": programme, "first": first, "repair": repair, "noop": noop, "changed": changed, "calls": calls,
        "before": before, "after_noop": after_noop, "after_change": after_change, "pending": pending,
    }


def test_a_failed_country_does_not_stop_the_others_and_is_named(runs):
    first = runs["first"]
    assert first["failed_countries"] == ["THA"]
    assert any(f.startswith("THA/salinity_map") and "simulated defect" in f for f in first["failures"])
    processed = {p.split(":")[0] for p in first["processed"]}
    assert "KHM/salinity_map/v1" in processed and "THA/soil_map/v1" in processed
    assert not any(p.startswith("THA/salinity_map") for p in processed)
    assert "GSSmap" in first["rebuilt"]


def test_the_runs_write_the_status_formats_the_programme_names(runs):
    folder = layout.status_dir(runs["programme"].processed_dir)
    written = {p.suffix for p in folder.iterdir() if p.name.startswith("status")}
    assert written == {".csv", ".md"}  # [status] formats = ["csv", "md"]: no maps, no workbook, no page
    assert runs["pending"]["noop"].reasons == []  # and `atlas run` knows the exports are up to date


def test_transient_errors_are_retried(runs):
    assert runs["calls"]["KHM/soil_map/v1"] == 2  # failed once with EIO, the country task was retried
    assert "KHM" not in runs["first"]["failed_countries"]
    # v1 carries legacy codes (rejected until correlated), v2 its crosswalk.csv: both were processed
    assert "KHM/soil_map/v1: rejected" in runs["first"]["processed"]
    assert any(p.startswith("KHM/soil_map/v2: accepted") for p in runs["first"]["processed"])


def test_the_next_run_finishes_the_failed_country_only(runs):
    repair, programme = runs["repair"], runs["programme"]
    assert [p.split(":")[0] for p in repair["processed"]] == ["THA/salinity_map/v1"]
    assert repair["failed_countries"] == []
    assert repair["rebuilt"] == ["GSSmap"]  # THA joins the salinity mosaic; the soil atlas is untouched
    ledger = Ledger(programme.ledger_path, programme)
    assert ledger.current("THA", "salinity_map").state == "published"


def test_rerun_with_unchanged_inbox_does_nothing(runs):
    noop = runs["noop"]
    assert noop["processed"] == [] and noop["rebuilt"] == [] and noop["failed_countries"] == []
    assert runs["after_noop"] == runs["before"]  # not even the status exports were rewritten
    # how fast a no-op run is belongs to bench/bench_noop.py, not to a timed test (it failed under load)


def test_the_cli_no_op_check_agrees_with_the_flow(runs):
    """`atlas run` skips Prefect exactly when the flow would do nothing, and names what is new otherwise."""
    assert runs["pending"]["noop"].nothing_new and runs["pending"]["noop"].versions > 0
    assert runs["noop"]["processed"] == []
    assert runs["pending"]["changed"].reasons == ["new: KHM/salinity_map delivery 2026-10-01"]


def test_a_changed_submission_reprocesses_that_country_and_only_its_product(runs):
    changed, programme = runs["changed"], runs["programme"]
    assert [p.split(":")[0] for p in changed["processed"]] == ["KHM/salinity_map/v2"]
    assert changed["rebuilt"] == ["GSSmap"]
    assert runs["after_change"]["soil"] == runs["after_noop"]["soil"]
    out = layout.regional_salinity_dir(programme.processed_dir)
    manifest = json.loads((out / BUILD_MANIFEST).read_text())
    assert manifest["versions"]["KHM"] == 2
    ledger = Ledger(programme.ledger_path, programme)
    assert [r.state for r in ledger.versions("KHM", "salinity_map")][-1] == "published"
    # the mosaic holds the new values: KHM's pixels moved by the change
    national = layout.national_dir(programme.processed_dir, "KHM", "salinity_map", 2)
    with rasterio.open(national / "KHM_GSSmap_ECe_0-30.tif") as new, rasterio.open(
        layout.national_dir(programme.processed_dir, "KHM", "salinity_map", 1) / "KHM_GSSmap_ECe_0-30.tif"
    ) as old:
        a, b = new.read(1), old.read(1)
        valid = (a != new.nodata) & (b != old.nodata)
        assert valid.sum() > 1000
        np.testing.assert_allclose(a[valid] - b[valid], 0.25, atol=1e-4)
