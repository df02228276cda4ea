"""Benchmark: `atlas run` with nothing new in the inbox, timed as a whole process (start-up included).

A demo programme is written into a temporary folder and processed once (`atlas run`, with Prefect);
then `atlas run` is started N times on the unchanged inbox. Each of those looks at the inbox and
the ledger, finds nothing new and exits without starting Prefect. Printed: each time, the median,
and as baseline, timed in the same script, `atlas --help` (Python start-up and the CLI's imports only).

    .venv/bin/python bench/bench_noop.py [--runs 7] [--workdir DIR [--processed]]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ATLAS = Path(sys.executable).parent / "atlas"


CPU = []  # CPU seconds (user + system) of each timed process: steadier than wall time on a busy machine


def _timed(args: list[str], env: dict) -> tuple[float, subprocess.CompletedProcess]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([str(ATLAS), *args], capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=None, help="keep the demo programme here")
    parser.add_argument("--processed", action="store_true",
                        help="the workdir already holds a processed demo programme: skip writing and running it")
    args = parser.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench_noop_"))
    work.mkdir(parents=True, exist_ok=True)
    config = work / "programme.toml"
    if not args.processed:
        shutil.copyfile(ROOT / "programme.toml", config)
    env = {**os.environ, "PREFECT_HOME": str(work / ".prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)

    setup = [] if args.processed else [["demo", "--config", str(config), "--replace"], ["run", "--config", str(config)]]
    for step in setup:
        seconds, done = _timed(step, env)
        if done.returncode:
            sys.exit(f"`atlas {' '.join(step)}` failed:\n{done.stderr[-2000:]}")
        print(f"setup: atlas {step[0]} took {seconds:.1f} s")

    help_s = [_timed(["--help"], env)[0] for _ in range(3)]
    help_cpu = statistics.median(CPU[-3:])
    times = []
    CPU.clear()
    for _ in range(args.runs):
        seconds, done = _timed(["run", "--config", str(config)], env)
        if done.returncode or "nothing new" not in done.stdout:
            sys.exit(f"expected a no-op, got exit {done.returncode}:\n{done.stdout[-1500:]}\n{done.stderr[-1500:]}")
        times.append(seconds)
    median, baseline = statistics.median(times), statistics.median(help_s)
    print(f"no-op `atlas run` ({args.runs} processes): " + ", ".join(f"{t:.2f}" for t in times) + " s")
    print(f"median {median:.2f} s (target < 2 s); baseline `atlas --help` median {baseline:.2f} s; "
          f"ratio {median / baseline:.2f}x")
    print(f"CPU time per no-op process: median {statistics.median(CPU):.2f} s (`atlas --help`: {help_cpu:.2f} s); "
          f"load average during the runs: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"last output: {done.stdout.strip().splitlines()[-1]}")


if __name__ == "__main__":
    main()
