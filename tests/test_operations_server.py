"""Operations against a real Prefect server on loopback: served deployments, a run killed mid-mosaic, two runs at once.

Every process is a subprocess (the server, `atlas serve`, `atlas run`), stopped in a finally block;
every wait is bounded.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import rasterio
from inbox_helpers import change_salinity, status_tables_only

from atlas import layout
from atlas.config import DEFAULT_CONFIG, load_programme
from atlas.ledger.store import Ledger
from atlas.products.regional import BUILD_MANIFEST

WINDOW = (102.0, 10.0, 108.0, 15.0)
COUNTRIES = ["KHM", "THA"]
# no scheduled ingestion may start during a test: the cron fires once a year
OPERATIONS = '[operations]\ningest_cron = "0 0 1 1 *"\nretries = 1\nretry_delay_seconds = 0.1\n\n'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory, prefect_database):
    """`prefect server start` on a free loopback port with its own PREFECT_HOME; yields the client environment."""
    home = tmp_path_factory.mktemp("prefect_server")
    prefect_database(home)  # a new database, migrated once for the session
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_UI_ENABLED="false")
    log = open(home / "server.log", "w")  # noqa: SIM115 - closed in the finally block
    proc = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    api = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{api}/health", timeout=2) as r:  # noqa: S310 - loopback only
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Prefect server did not start: {(home / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        client_home = tmp_path_factory.mktemp("prefect_client")
        client_env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "ATLAS_"))}
        client_env.update(PREFECT_API_URL=api, PREFECT_HOME=str(client_home),
                          PREFECT_SERVER_ANALYTICS_ENABLED="false",
                          PREFECT_RUNNER_POLL_FREQUENCY="1")  # `atlas serve` asks for runs every second, not 10
        yield client_env
    finally:
        _stop(proc)
        log.close()


def _programme_toml(root: Path, demo_inbox) -> Path:
    """The default programme with its data under root, the small test window, and a quiet schedule."""
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^bounds = .*$", f"bounds = {list(WINDOW)}", text)
    text = re.sub(r"(?ms)^\[operations\]\n.*?(?=^\S*\[|^# )", "", text)
    text = status_tables_only(text.replace("[members]", OPERATIONS + "[members]", 1))
    path = root / "programme.toml"
    path.write_text(text, encoding="utf-8")
    programme = load_programme(path)
    assert programme.extra["operations"]["ingest_cron"] == "0 0 1 1 *"
    demo_inbox(programme, COUNTRIES, WINDOW)
    return path


def _run(config: Path, env: dict, timeout: float = 150) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "atlas.cli", "run", "-c", str(config)], env=env,
                          capture_output=True, text=True, timeout=timeout)


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")}


def test_served_deployment_runs_when_triggered_through_the_api(server, tmp_path, demo_inbox):
    config = _programme_toml(tmp_path, demo_inbox)  # the inbox of the other tests: one demo generated for all
    env = dict(server)
    serve = subprocess.Popen([sys.executable, "-m", "atlas.cli", "serve", "-c", str(config)], env=env,
                             stdout=open(tmp_path / "serve.log", "w"), stderr=subprocess.STDOUT)  # noqa: SIM115
    trigger = """
import asyncio, json, sys, time
from prefect import get_client
from prefect.deployments import run_deployment

async def wait_for(name):
    async with get_client() as client:
        for _ in range(240):
            try:
                return await client.read_deployment_by_name(name)
            except Exception:
                await asyncio.sleep(0.25)
    sys.exit("deployment never appeared")

run = asyncio.run(wait_for("atlas-run/on-demand"))
ingest = asyncio.run(wait_for("atlas-ingest/scheduled-ingest"))
flow_run = run_deployment("atlas-run/on-demand", parameters={"country": "KHM", "deliverable": "book_chapter"},
                          timeout=120, poll_interval=1)
print(json.dumps({"state": flow_run.state.type.value, "parameters": sorted(run.parameter_openapi_schema["properties"]),
                  "schedules": [str(s.schedule) for s in ingest.schedules]}))
"""
    try:
        done = subprocess.run([sys.executable, "-c", trigger], env=env, capture_output=True, text=True, timeout=150)
        assert done.returncode == 0, done.stderr[-3000:]
        result = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        _stop(serve, signal.SIGINT)
    assert result["state"] == "COMPLETED", (tmp_path / "serve.log").read_text()[-3000:]
    assert result["parameters"] == ["country", "deliverable", "force"]
    assert any("0 0 1 1 *" in s for s in result["schedules"])
    # the served run used the served programme: KHM's chapter is in that programme's ledger, nothing else was done
    programme = load_programme(config)
    ledger = Ledger(programme.ledger_path, programme)
    assert ledger.current("KHM", "book_chapter").state == "accepted"
    assert ledger.current("KHM", "salinity_map") is None


def test_a_run_killed_in_the_mosaic_loses_nothing(server, tmp_path, demo_inbox):
    config = _programme_toml(tmp_path, demo_inbox)
    programme = load_programme(config)
    first = _run(config, server)
    assert first.returncode == 0, first.stderr[-3000:]
    out = layout.regional_salinity_dir(programme.processed_dir)  # the current release's (issue 21)
    building = layout.releases_dir(programme.processed_dir)  # a new release is built beside it
    published = _digests(out)
    assert "GSSmap_ECe_0-30.tif" in published

    change_salinity(programme, "KHM", "2026-10-01", 0.25)
    victim = subprocess.Popen([sys.executable, "-m", "atlas.cli", "run", "-c", str(config)], env=server,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not list(building.glob(".building-*/salinity/.mosaic_*")):
            assert victim.poll() is None, "the run ended before its mosaic was caught"
            assert time.monotonic() < deadline, "the mosaic never started"
            time.sleep(0.01)
        time.sleep(0.3)  # well inside the block loop: temporary rasters are being written
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
    finally:
        _stop(victim, signal.SIGKILL)
    assert victim.returncode == -signal.SIGKILL
    assert list(building.glob(".building-*/salinity/.mosaic_*")), "killed outside the mosaic"
    # the previously published products are intact, byte for byte, and the ledger still points at them
    assert _digests(out) == published
    ledger = Ledger(programme.ledger_path, programme)
    khm = {r.version: r.state for r in ledger.versions("KHM", "salinity_map")}
    assert khm[1] == "published" and khm[2] != "published"
    assert json.loads((out / BUILD_MANIFEST).read_text())["versions"]["KHM"] == 1
    ledger.close()

    again = _run(config, server)
    assert again.returncode == 0, again.stderr[-3000:]
    assert not [p for p in building.iterdir() if p.name.startswith(".")], "the killed run's release remains"
    assert _digests(out) == published  # the earlier release stays readable as it was
    out = layout.regional_salinity_dir(programme.processed_dir)
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "temporaries of the killed run remain"
    assert json.loads((out / BUILD_MANIFEST).read_text())["versions"]["KHM"] == 2
    ledger = Ledger(programme.ledger_path, programme)
    # v2 replaced v1 in the current release: v1 reads superseded (docs/LEDGER.md, "Publication states")
    assert [r.state for r in ledger.versions("KHM", "salinity_map")] == ["superseded", "published"]
    for record in ledger.versions("KHM") + ledger.versions("THA"):
        assert record.report_path is None or Path(record.report_path).is_file(), record
    # the new products are complete: every COG opens and reads, including its smallest overview
    for name in json.loads((out / BUILD_MANIFEST).read_text())["files"]:
        path = out / name
        assert path.is_file(), name
        if path.suffix == ".tif":
            with rasterio.open(path) as src:
                assert src.read(1, out_shape=(max(1, src.height // 8), max(1, src.width // 8))).size > 0
    assert _digests(out)["GSSmap_ECe_0-30.tif"] != published["GSSmap_ECe_0-30.tif"]


def test_two_runs_started_together_neither_corrupt_nor_interleave(server, tmp_path, demo_inbox):
    config = _programme_toml(tmp_path, demo_inbox)
    script = (
        "import json, sys; from flows.pipeline import run_pipeline; "
        "s = run_pipeline(config_path=sys.argv[1]); print('SUMMARY ' + json.dumps(s))"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(config)], env=server, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        outputs = [p.communicate(timeout=200) for p in procs]
    finally:
        for p in procs:
            _stop(p, signal.SIGKILL)
    assert [p.returncode for p in procs] == [0, 0], [e[-2000:] for _, e in outputs]
    summaries = [json.loads(o.split("SUMMARY ", 1)[1]) for o, _ in outputs]
    processed = [{p.split(":")[0] for p in s["processed"]} for s in summaries]
    # one run did the work, the other waited for the lock and found nothing left to do
    assert sorted(len(p) for p in processed)[0] == 0 and sorted(len(p) for p in processed)[1] >= 6, processed
    programme = load_programme(config)
    ledger = Ledger(programme.ledger_path, programme)
    rows = ledger._db.execute("SELECT country, deliverable, version, checksum FROM submissions").fetchall()
    assert len(rows) == len({(r[0], r[1], r[3]) for r in rows}) == len({(r[0], r[1], r[2]) for r in rows})
    received = ledger._db.execute("SELECT COUNT(*) FROM events WHERE to_state = 'received'").fetchone()[0]
    assert received == len(rows)  # every version arrived once
    assert ledger._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    for folder in (layout.regional_salinity_dir(programme.processed_dir),
                   layout.regional_soil_dir(programme.processed_dir)):
        manifest = json.loads((folder / BUILD_MANIFEST).read_text())
        assert manifest["run_id"] in {s["run_id"] for s in summaries}
        assert all((folder / name).is_file() for name in manifest["files"])
        assert not [p for p in folder.iterdir() if p.name.startswith(".")]


