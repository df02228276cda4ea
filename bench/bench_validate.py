"""Benchmark: validating a 100-megapixel salinity raster against `gdalinfo -stats` on the same file.

Both run as child processes so their wall time, CPU time (user + system) and peak resident memory
(ru_maxrss) are measured the same way, alternately, ``--rounds`` times; prints the medians, the ratios
validate / gdalinfo and the load average (on a shared machine CPU time is the steadier figure). The
validating child also says how much of its time went to Python start-up and imports, and how much to the
checks themselves.

With ``--baseline REF`` the same child also runs with the code of commit REF (exported with `git archive`),
for the figure before a change, in the same rounds.

    .venv/bin/python bench/bench_validate.py [--size 10000] [--rounds 3] [--baseline main] [--keep DIR]
                                             [--install-gdal]
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine

ROOT = Path(__file__).resolve().parents[1]
RES = 1.0 / 120.0
CHILD = """
import sys, time
from atlas.config import load_programme
from checks.raster import raster_findings
import shapely
wall, cpu = time.perf_counter(), time.process_time()
programme = load_programme()
west, south, east, north = map(float, sys.argv[2:6])
findings = raster_findings(sys.argv[1], programme, "IND", shapely.box(west, south, east, north))
print(f"checks {time.perf_counter() - wall} {time.process_time() - cpu}")
print(len(findings), sorted({f.check_id for f in findings}))
"""


def write_test_raster(path: Path, size: int) -> tuple[float, float, float, float]:
    """A size x size Float32 ECe layer on the 30 arc-second grid, tiled and compressed, written block by block."""
    west, north = 70.0, 35.0
    transform = Affine(RES, 0.0, west, 0.0, -RES, north)
    profile = dict(driver="GTiff", width=size, height=size, count=1, dtype="float32", crs="EPSG:4326",
                   transform=transform, nodata=-9999.0, tiled=True, blockxsize=512, blockysize=512, compress="deflate",
                   BIGTIFF="IF_SAFER")
    rng = np.random.default_rng(42)
    with rasterio.open(path, "w", **profile) as ds:
        rows = 512
        for row0 in range(0, size, rows):
            h = min(rows, size - row0)
            block = rng.gamma(2.0, 3.0, (h, size)).astype("float32")
            block[:, : size // 20] = -9999.0  # some nodata, as along a coast
            ds.write(block, 1, window=rasterio.windows.Window(0, row0, size, h))
    return (west, north - size * RES, west + size * RES, north)


def measure(cmd: list[str], code: Path = ROOT) -> tuple[float, float, float, str]:
    """(wall s, CPU s, peak MiB, output): run with a tiny wrapper so the rusage is that of the child alone."""
    wrapper = [sys.executable, "-c",
               "import resource,subprocess,sys,time;t=time.perf_counter();"
               "r=subprocess.run(sys.argv[1:],capture_output=True,text=True);"
               "w=time.perf_counter()-t;u=resource.getrusage(resource.RUSAGE_CHILDREN);"
               "print(f'{w} {u.ru_utime+u.ru_stime} {u.ru_maxrss/1024}');print(r.stdout[-400:]);"
               "sys.exit(r.returncode)"] + cmd
    # run from a folder holding only programme.toml, so that `code` (first on the path) is the code imported
    env = {**os.environ, "PYTHONPATH": str(code)}
    with tempfile.TemporaryDirectory(prefix="bench_validate_cwd_") as cwd:
        shutil.copyfile(code / "programme.toml", Path(cwd) / "programme.toml")
        proc = subprocess.run(wrapper, capture_output=True, text=True, cwd=cwd, env=env)
    if proc.returncode:
        raise SystemExit(f"{cmd[0]} failed: {proc.stderr[-800:]}")
    first, _, rest = proc.stdout.partition("\n")
    wall, cpu, peak = map(float, first.split())
    return wall, cpu, peak, rest


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def _load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def export_commit(ref: str, into: Path) -> Path:
    """The tree of commit ``ref`` unpacked into ``into`` (replaced if there)."""
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", ref], capture_output=True,
                             check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def ensure_gdalinfo(install: bool) -> str | None:
    found = shutil.which("gdalinfo")
    if found or not install:
        return found
    subprocess.run(["apt-get", "update"], check=False, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "gdal-bin"], check=False, capture_output=True)
    return shutil.which("gdalinfo")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10000, help="raster side in pixels (10000 = 100 Mpx)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each, alternating (medians printed)")
    parser.add_argument("--baseline", help="also run the code of this git commit (e.g. main), for a before figure")
    parser.add_argument("--keep", type=Path, help="folder to write the test raster in (kept)")
    parser.add_argument("--install-gdal", action="store_true", help="apt-get install gdal-bin if gdalinfo is missing")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench_validate_"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "IND_GSSmap_ECe_0-30.tif"
    if not path.exists():
        t = time.perf_counter()
        bounds = write_test_raster(path, args.size)
        print(f"wrote {path} ({args.size}x{args.size} = {args.size**2 / 1e6:.0f} Mpx, "
              f"{path.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - t:.1f} s")
    else:
        with rasterio.open(path) as ds:
            bounds = tuple(ds.bounds)
    gdalinfo = ensure_gdalinfo(args.install_gdal)
    if gdalinfo is None:
        print("baseline skipped: gdalinfo not installed (rerun with --install-gdal, or apt-get install gdal-bin)")
    # PAM off so gdalinfo computes statistics from the pixels and writes no .aux.xml beside the file
    baseline = [gdalinfo, "-stats", "--config", "GDAL_PAM_ENABLED", "NO", str(path)] if gdalinfo else None
    ours, theirs, checks, before = [], [], [], []
    child = [sys.executable, "-c", CHILD, str(path), *map(str, bounds)]
    previous = export_commit(args.baseline, folder / "baseline_code") if args.baseline else None
    print(f"start: {_load()} ({os.cpu_count()} cores)")
    for _ in range(args.rounds):  # alternately, so all see the same share of a busy machine
        if previous is not None:
            before.append(measure(child, previous)[:3])
        wall, cpu, peak, out = measure(child)
        ours.append((wall, cpu, peak))
        first, _, v_out = out.partition("\n")
        checks.append(tuple(map(float, first.split()[1:])))
        if baseline:
            theirs.append(measure(baseline)[:3])
    v_wall, v_cpu, v_peak = (_median([r[k] for r in ours]) for k in range(3))
    c_wall, c_cpu = (_median([r[k] for r in checks]) for k in range(2))
    print(f"validate (raster_findings, all checks, one block pass): {v_wall:.2f} s wall, {v_cpu:.2f} s CPU, "
          f"peak RSS {v_peak:.0f} MiB (median of {args.rounds})")
    print(f"  of which the checks themselves (no Python start-up, no imports): {c_wall:.2f} s wall, {c_cpu:.2f} s CPU")
    print(f"  findings: {v_out.strip()}")
    if theirs:
        g_wall, g_cpu, g_peak = (_median([r[k] for r in theirs]) for k in range(3))
        print(f"baseline gdalinfo -stats: {g_wall:.2f} s wall, {g_cpu:.2f} s CPU, peak RSS {g_peak:.0f} MiB")
        print(f"ratio validate / gdalinfo -stats: time {v_wall / g_wall:.2f}x, CPU {v_cpu / g_cpu:.2f}x, "
              f"peak memory {v_peak / g_peak:.2f}x; checks alone: time {c_wall / g_wall:.2f}x, "
              f"CPU {c_cpu / g_cpu:.2f}x")
    if before:
        b_wall, b_cpu, b_peak = (_median([r[k] for r in before]) for k in range(3))
        line = f"code of {args.baseline}: {b_wall:.2f} s wall, {b_cpu:.2f} s CPU, peak RSS {b_peak:.0f} MiB"
        if theirs:
            line += f" = time {b_wall / g_wall:.2f}x, CPU {b_cpu / g_cpu:.2f}x gdalinfo -stats"
        print(f"{line}; this code / {args.baseline}: time {v_wall / b_wall:.2f}x, CPU {v_cpu / b_cpu:.2f}x, "
              f"peak memory {v_peak / b_peak:.2f}x")
    print(f"end: {_load()}")
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
