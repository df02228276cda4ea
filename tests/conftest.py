"""Shared fixtures: tiny real files written on the fly, the real data set, the demo; how xdist shares out the tests."""

from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from atlas.config import load_programme

REAL_DATA = Path(os.environ.get("ATLAS_REAL_DATA", Path(__file__).resolve().parents[2] / "shared" / "data" / "real"))


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The shared real data set (../shared/data/real); skips with a reason where absent."""
    if not (REAL_DATA / "SOURCES.md").is_file():
        pytest.skip(f"real data set not found at {REAL_DATA} (set ATLAS_REAL_DATA to its folder)")
    return REAL_DATA


@pytest.fixture
def programme(tmp_path):
    """The default programme with its data folders under tmp_path."""
    return load_programme().with_root(tmp_path)


@pytest.fixture(scope="session")
def demo_inbox(tmp_path_factory):
    """``demo_inbox(programme, countries, window)``: what ``generate_demo`` writes, copied from one generation.

    The demo is deterministic (test_demo.py checks it), so tests that only need its files take a copy of the one
    generated for the same countries, window and programme settings; xdist workers share the copies, each
    generated once, under a lock. Returns the demo's manifest. (Tests of the generator call generate_demo.)
    """
    from atlas.demo.programme import MANIFEST_NAME, DemoManifest, generate_demo

    cache = _shared_dir(tmp_path_factory, "demo_cache")

    def copy(programme, countries: list[str], window: tuple[float, float, float, float]) -> DemoManifest:
        data = programme.root / "data"
        if (programme.raw_dir, programme.reference_boundaries) != (data / "raw", data / "reference/boundaries.gpkg"):
            return generate_demo(programme, countries=countries, window=window)  # data folders elsewhere: no copy
        assert not programme.raw_dir.exists(), "demo_inbox writes a new inbox only"
        # everything of the programme generate_demo reads, but its root
        settings = (list(countries), [float(v) for v in window], programme.members, programme.deliverables,
                    programme.salinity, programme.equal_area_crs)
        key = hashlib.sha256(repr(settings).encode()).hexdigest()[:16]
        _build_once(cache / key, lambda building: generate_demo(programme.with_root(building), countries=countries,
                                                                window=window))
        shutil.copytree(cache / key / "data", data, dirs_exist_ok=True)  # copy2: the generated files' times kept
        return DemoManifest.from_json((programme.reference_boundaries.parent / MANIFEST_NAME).read_text("utf-8"))

    return copy


def _shared_dir(tmp_path_factory, name: str) -> Path:
    """A folder under the session's base temporary folder, the same for every xdist worker of the session."""
    base = tmp_path_factory.getbasetemp()
    folder = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / name
    folder.mkdir(exist_ok=True)
    return folder


def _build_once(target: Path, build) -> Path:
    """``build(folder)`` into ``target`` unless another worker built it already; workers wait for each other."""
    with open(target.with_name(target.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker building the same: wait for it
        if not target.is_dir():
            building = target.with_name(target.name + ".building")
            shutil.rmtree(building, ignore_errors=True)
            build(building)
            building.rename(target)
    return target


@pytest.fixture(scope="session")
def prefect_database(tmp_path_factory):
    """``prefect_database(home)``: copies a new, migrated Prefect database into a Prefect home, as `atlas demo`
    prepares one for the first `atlas run` (atlas/prefect_server.py).

    Prefect's ~120 migrations cost about 12 s of CPU for every new database; the tests' servers (the harness, the
    operations server, the portal's run) each start from a copy of one database made once for the session.
    """
    from atlas.prefect_server import CREATE_DATABASE, DATABASE_NAME

    def build(folder: Path) -> None:
        folder.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        subprocess.run([sys.executable, "-c", CREATE_DATABASE], env={**env, "PREFECT_HOME": str(folder)},
                       check=True, capture_output=True, timeout=300)

    template = _build_once(_shared_dir(tmp_path_factory, "prefect_database") / "home", build)

    def copy(home: Path) -> Path:
        home.mkdir(parents=True, exist_ok=True)
        assert not (home / DATABASE_NAME).exists(), "prefect_database copies into a new Prefect home only"
        for path in template.glob(DATABASE_NAME + "*"):  # the database and any journal of it
            shutil.copy2(path, home / path.name)
        return home / DATABASE_NAME

    return copy


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory, prefect_database):
    """A throwaway Prefect server and database for the flows the tests run in process.

    The server is the one `atlas run` starts (atlas/prefect_server.py), on a copy of the session's database;
    this process's Prefect settings point at it for the session, its environment is left as it was.
    """
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from atlas import prefect_server

    os.environ.setdefault("PREFECT_HOME", str(tmp_path_factory.mktemp("prefect_client")))  # the flows' own files
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    home = tmp_path_factory.mktemp("prefect_server")
    prefect_database(home)
    environ = dict(os.environ)
    os.environ["PREFECT_HOME"] = str(home)  # the server's database
    try:
        server = prefect_server.start(home)
    finally:
        os.environ.clear()
        os.environ.update(environ)  # start() points this process's environment at the server: not the tests'
    server.wait_ready(timeout=120)
    with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
        yield
    # the server stops when this process exits (start() registered that), after Prefect's own exit handlers sent
    # the flows' last logs to it, as at the end of `atlas run`


# `make test` runs the tests on two workers (pytest-xdist, --dist loadscope): a module's tests go to one worker, so a
# run the module shares (a module-scoped fixture) is made once; the modules using prefect_harness share one worker,
# so the Prefect test harness (a server and its database) starts once. The long runs start first, and the short
# tests fill in around them. The demo's own tests go before the harness: while they run on one worker, the other
# makes the session's Prefect database and the operations demo, which the harness modules would otherwise wait for.
LONG_RUNS_FIRST = (
    "test_operations_server.py",  # a Prefect server; a run killed, two at once, a served deployment
    "test_demo.py",  # demo programmes generated
    "prefect_harness",  # the modules running flows in process: four flow runs, one, deployment runs...
    "test_portal_runs.py",  # a real `atlas run` started from the portal
)


def _module(nodeid: str) -> str:
    return nodeid.split("::", 1)[0].rsplit("/", 1)[-1]


@functools.cache
def _work_unit(module: str) -> str:
    """The module's xdist work unit: "prefect_harness" for the modules using it, else the module itself."""
    path = Path(__file__).with_name(module)
    return "prefect_harness" if path.is_file() and "prefect_harness" in path.read_text(encoding="utf-8") else module


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """On an xdist worker, the long runs first (every worker sorts alike); without xdist the order is unchanged."""
    if hasattr(config, "workerinput"):
        rank = {unit: i for i, unit in enumerate(LONG_RUNS_FIRST)}
        items.sort(key=lambda item: rank.get(_work_unit(_module(item.nodeid)), len(rank)))  # stable within a rank


@pytest.hookimpl(optionalhook=True)  # an xdist hook: without xdist (-p no:xdist) it is never called
def pytest_xdist_make_scheduler(config, log):
    """--dist loadscope with a work unit per module, the modules using prefect_harness making one unit together."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ByModule(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _work_unit(_module(nodeid))

    return ByModule(config, log)
