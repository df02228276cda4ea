"""Benchmark: re-running the pipeline with an unchanged inbox, and the Dask task runner against the plain one.

On the full demo programme (written into a temporary folder), in this one process, with one
Prefect temporary server started by the first flow call and reused by the others:
  cold:       the first run (everything processed; includes the Prefect server start)
  rerun:      the same inbox again: flow call wall time, and the flow body's own time (summary elapsed_s)
  plain:      --force (every submission and both regional products redone), default thread-pool runner
  dask:       --force with prefect-dask's DaskTaskRunner on a local cluster (cluster start included)
then, in a fresh process, `atlas run` with the unchanged inbox (Python imports + Prefect start-up + flow).
Ratios are against the named baseline `plain`.

    .venv/bin/python bench/bench_rerun.py [--workdir DIR] [--skip-dask]
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _timed(fn, *args, **kwargs) -> tuple[float, dict]:
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=None, help="keep the demo programme here")
    parser.add_argument("--skip-dask", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench_rerun_"))
    work.mkdir(parents=True, exist_ok=True)
    config = work / "programme.toml"
    shutil.copyfile(ROOT / "programme.toml", config)
    os.environ.setdefault("PREFECT_HOME", str(work / ".prefect"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

    from atlas.config import load_programme
    from atlas.demo.programme import generate_demo
    from flows.pipeline import pipeline_flow

    programme = load_programme(config)
    generate_demo(programme)
    plain, dask = pipeline_flow(programme), pipeline_flow(programme, dask=True)

    cold_s, cold = _timed(plain, config_path=str(config))
    rerun_s, rerun = _timed(plain, config_path=str(config))
    assert rerun["processed"] == [] and rerun["rebuilt"] == [], rerun
    print(f"work folder: {work}")
    print(f"cold run          {cold_s:7.2f} s  ({len(cold['processed'])} submission versions, "
          f"rebuilt {cold['rebuilt']}; includes the Prefect temporary server start)")
    print(f"re-run unchanged  {rerun_s:7.2f} s  flow call; flow body {rerun['elapsed_s']:.2f} s "
          f"(processed {len(rerun['processed'])}, rebuilt {rerun['rebuilt'] or 'nothing'})")

    plain_s, plain_run = _timed(plain, config_path=str(config), force=True)
    print(f"plain --force     {plain_s:7.2f} s  flow body {plain_run['elapsed_s']:.2f} s   (baseline)")
    if not args.skip_dask:
        dask_s, dask_run = _timed(dask, config_path=str(config), force=True)
        assert sorted(dask_run["processed"]) == sorted(plain_run["processed"]), "Dask and plain runs differ"
        print(f"dask  --force     {dask_s:7.2f} s  flow body {dask_run['elapsed_s']:.2f} s   "
              f"= {dask_s / plain_s:.2f} x plain (local cluster, {os.cpu_count()} cores)")

    env = {**os.environ, "PREFECT_LOGGING_LEVEL": "WARNING"}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "atlas.cli", "run", "-c", str(config)], env=env,
                          capture_output=True, text=True, timeout=300)
    fresh_s = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    print(f"fresh `atlas run` {fresh_s:7.2f} s  unchanged inbox in a new process "
          "(imports + Prefect temporary server + flow)")
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
