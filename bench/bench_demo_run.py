"""Benchmark: `make demo`'s pipeline run -- `atlas demo`, then `atlas run` timed as a fresh process.

Each variant runs in a scratch folder of its own (its programme.toml copied, a new Prefect home, as from a fresh
clone). Printed for `atlas run`: wall time and CPU time (user + system of the process and its children, the
Prefect temporary server included: steadier than wall time on a shared machine), the ratio to the 60 s target
and, with ``--baseline REF``, to that commit's code (exported with `git archive`, run with this venv) measured in
the same script. The two runs' outputs are then compared: the processed tree's file list, every report's
findings, and the pixels of every GeoTIFF (release names and run ids set aside).

    .venv/bin/python bench/bench_demo_run.py [--baseline main] [--rounds 1] [--keep DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 60.0
VOLATILE = re.compile(r"\d{8}T\d{6}Z|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def export_commit(ref: str, into: Path) -> Path:
    """The tree of commit ``ref`` (atlas/, checks/, flows/, programme.toml) unpacked into ``into``."""
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", ref], capture_output=True,
                             check=True).stdout
    tar_path = into / "tree.tar"
    tar_path.write_bytes(archive)
    with tarfile.open(tar_path) as tar:
        tar.extractall(into, filter="data")
    tar_path.unlink()
    return into


def _atlas(code: Path, work: Path, *args: str) -> tuple[float, float, subprocess.CompletedProcess]:
    """``python -m atlas.cli ARGS`` with ``code`` first on the path: (wall s, CPU s of it and its children, result)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}  # as from a fresh shell
    env["PYTHONPATH"] = str(code)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "atlas.cli", *args], cwd=work, env=env, capture_output=True,
                          text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    if done.returncode:
        raise SystemExit(f"atlas {' '.join(args)} failed in {work}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return wall, cpu, done


def demo_run(code: Path, work: Path) -> tuple[float, float, float]:
    """`atlas demo` then `atlas run` in ``work`` with the code in ``code``: (demo wall s, run wall s, run CPU s).

    `atlas demo` also prepares Prefect's database (beside writing the demo, since issue 23): its time is
    printed too, so the whole of `make demo` is seen, not only the run."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    shutil.copyfile(code / "programme.toml", work / "programme.toml")
    demo_wall, _, _ = _atlas(code, work, "demo", "-c", "programme.toml")
    wall, cpu, _ = _atlas(code, work, "run", "-c", "programme.toml")
    return demo_wall, wall, cpu


def outputs(work: Path) -> dict:
    """What a run produced, comparable between runs: file list, findings per report, pixels per GeoTIFF."""
    import numpy as np
    import rasterio

    processed = work / "data" / "processed"
    files = sorted(VOLATILE.sub("<id>", str(p.relative_to(processed))) for p in processed.rglob("*")
                   if p.is_file() and p.name != ".run.lock")
    findings, pixels = {}, {}
    for report in sorted(processed.rglob("report.json")):
        if "national" in report.parts:
            data = json.loads(report.read_text())
            key = VOLATILE.sub("<id>", str(report.relative_to(processed)))
            findings[key] = VOLATILE.sub("<id>", json.dumps([data.get("verdict"), data.get("findings")],
                                                            sort_keys=True, default=str))
    for tif in sorted(processed.rglob("*.tif")):
        with rasterio.open(tif) as ds:
            digest = hashlib.sha256(np.ascontiguousarray(ds.read()).tobytes()).hexdigest()
        pixels[VOLATILE.sub("<id>", str(tif.relative_to(processed)))] = digest
    return {"files": files, "findings": findings, "pixels": pixels}


def differences(a: dict, b: dict) -> list[str]:
    out = []
    for part in ("files", "findings", "pixels"):
        left, right = a[part], b[part]
        if part == "files":
            left, right = set(left), set(right)
            out += [f"file only in baseline: {f}" for f in sorted(left - right)]
            out += [f"file only in this code: {f}" for f in sorted(right - left)]
        else:
            out += [f"{part} differ: {k}" for k in sorted(set(left) | set(right)) if left.get(k) != right.get(k)]
    return out


def _load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", help="a git commit to compare with (e.g. main), run in the same script")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each variant, alternating (medians shown)")
    parser.add_argument("--keep", type=Path, help="folder for the scratch copies (kept)")
    args = parser.parse_args()
    scratch = args.keep or Path(tempfile.mkdtemp(prefix="bench_demo_run_"))
    scratch.mkdir(parents=True, exist_ok=True)
    variants = {"this code": ROOT}
    if args.baseline:
        variants = {f"baseline {args.baseline}": export_commit(args.baseline, scratch / "baseline_code"), **variants}
    times: dict[str, list[tuple[float, float, float]]] = {name: [] for name in variants}
    print(f"start: {_load()} ({os.cpu_count()} cores)")
    for round_no in range(args.rounds):
        for i, (name, code) in enumerate(variants.items()):
            demo_wall, wall, cpu = demo_run(code, scratch / f"run{i}")
            times[name].append((wall, cpu, demo_wall))
            print(f"round {round_no + 1}: {name:<20} `atlas run` {wall:6.1f} s wall, {cpu:6.1f} s CPU; `atlas demo` "
                  f"{demo_wall:5.1f} s wall; both {demo_wall + wall:6.1f} s  ({_load()})")

    def median(values):
        return sorted(values)[len(values) // 2]

    ours_wall, ours_cpu, ours_demo = (median([t[k] for t in times["this code"]]) for k in (0, 1, 2))
    print(f"this code: `atlas run` {ours_wall:.1f} s wall, {ours_cpu:.1f} s CPU; "
          f"ratio to the {TARGET_S:.0f} s target: wall {ours_wall / TARGET_S:.2f}x, CPU {ours_cpu / TARGET_S:.2f}x; "
          f"`atlas demo` {ours_demo:.1f} s, the two {ours_demo + ours_wall:.1f} s")
    if args.baseline:
        name = f"baseline {args.baseline}"
        base_wall, base_cpu, base_demo = (median([t[k] for t in times[name]]) for k in (0, 1, 2))
        print(f"{name}: `atlas run` {base_wall:.1f} s wall, {base_cpu:.1f} s CPU, `atlas demo` {base_demo:.1f} s; "
              f"this code / baseline: run wall {ours_wall / base_wall:.2f}x, CPU {ours_cpu / base_cpu:.2f}x; "
              f"demo + run {(ours_demo + ours_wall) / (base_demo + base_wall):.2f}x")
        diffs = differences(outputs(scratch / "run0"), outputs(scratch / "run1"))
        print("outputs (processed files, report findings, GeoTIFF pixels): "
              + ("identical" if not diffs else f"{len(diffs)} difference(s)"))
        for line in diffs[:40]:
            print(f"  {line}")
    print(f"end: {_load()}")
    if not args.keep:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
