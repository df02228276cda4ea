"""Benchmark: aggregating a national 30 m raster onto the 30 arc-second grid, against gdalwarp -r average.

Writes a synthetic national ECe raster at 1 arc-second (about 30 m; default 25,000 x 25,000 pixels, Float32,
tiled 512, uncompressed, with nodata holes) into bench/out/ (not committed), then times, each in its own process
on the same file:
  ours:  atlas.borders.raster.harmonize_file (mean of the valid pixels of each cell; the harmonizer's real path)
  gdal:  gdalwarp -r average -tr 1/120 1/120 -tap (Float32, nodata -9999, tiled DEFLATE output like ours)
and prints wall times (best of --repeat runs each, alternated), peak memories (max RSS of the child process)
and their ratios; then both again on an input of twice the pixels (50,000 x 25,000) to show whether memory
stays flat.

    .venv/bin/python bench/bench_aggregate.py [--size 25000] [--skip-2x] [--keep] [--repeat 2]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ARCSEC = 1.0 / 3600.0
RES = 1.0 / 120.0
WEST, NORTH = 100.0, 20.0


def write_input(path: Path, width: int, height: int) -> None:
    """A smooth ECe field with noise and nodata holes, written strip by strip (bounded memory)."""
    import rasterio
    from affine import Affine

    profile = {"driver": "GTiff", "dtype": "float32", "nodata": -9999.0, "count": 1, "width": width,
               "height": height, "crs": "EPSG:4326", "transform": Affine(ARCSEC, 0, WEST, 0, -ARCSEC, NORTH),
               "tiled": True, "blockxsize": 512, "blockysize": 512, "BIGTIFF": "YES"}
    rng = np.random.default_rng(7)
    cols = np.arange(width, dtype="float32")
    with rasterio.open(path, "w", **profile) as dst:
        for row in range(0, height, 512):
            h = min(512, height - row)
            rows = np.arange(row, row + h, dtype="float32")[:, None]
            data = 4 + 3 * np.sin(cols / 900.0)[None, :] * np.cos(rows / 1300.0) + rng.random((h, width), "float32")
            holes = (np.sin(cols / 2000.0)[None, :] + np.sin(rows / 1700.0)) > 1.6  # nodata patches
            data[holes] = -9999.0
            dst.write(data.astype("float32"), 1, window=((row, row + h), (0, width)))


def run_measured(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of a child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd[0]} failed with {os.waitstatus_to_exitcode(status)}")
    return wall, usage.ru_maxrss / 1024.0


def worker(src: Path, out_dir: Path) -> None:
    """Our side, in its own process: the harmonizer's aggregation of one ECe layer."""
    from atlas.borders.raster import harmonize_file
    from atlas.config import load_programme

    programme = load_programme()
    limits = {**programme.extra.get("limits", {}), "max_raster_pixels": 10**10, "max_raster_bytes": 10**11}
    programme = dataclasses.replace(programme, extra={**programme.extra, "limits": limits})
    out, findings = harmonize_file(src, "ECe", programme, out_dir)
    if out is None or not any(f.check_id == "harmonize.aggregated" for f in findings):
        raise SystemExit(f"not aggregated: {[f.message for f in findings]}")


def gdal(src: Path, out: Path) -> tuple[float, float]:
    if shutil.which("gdalwarp") is None:
        raise SystemExit("gdalwarp not found: install gdal-bin (apt-get install gdal-bin)")
    out.unlink(missing_ok=True)
    res = repr(RES)
    return run_measured(["gdalwarp", "-q", "-r", "average", "-tr", res, res, "-tap", "-ot", "Float32",
                         "-dstnodata", "-9999", "-co", "TILED=YES", "-co", "COMPRESS=DEFLATE", str(src), str(out)])


def compare(ours_path: Path, gdal_path: Path) -> tuple[float, float]:
    """(largest absolute difference, share of cells that differ by more than 1e-4) where both have data.

    The two agree except in the cells the raster only partly covers (its last row and column here), where
    gdalwarp weights the partial source pixels and ours takes the mean of the valid pixels in the cell.
    """
    import rasterio

    with rasterio.open(ours_path) as a, rasterio.open(gdal_path) as b:
        if not a.transform.almost_equals(b.transform):
            return float("nan"), float("nan")
        x, y = a.read(1), b.read(1)
    # gdalwarp -tap may round the extent up by one row or column: compare the shared part
    h, w = min(x.shape[0], y.shape[0]), min(x.shape[1], y.shape[1])
    x, y = x[:h, :w], y[:h, :w]
    both = (x != -9999) & (y != -9999)
    if not both.any():
        return float("nan"), float("nan")
    diff = np.abs(x[both] - y[both])
    return float(diff.max()), float((diff > 1e-4).mean())


def run(size: int, factor: int, out: Path, repeat: int = 1) -> dict:
    width, height = size * factor, size
    src = out / f"national_{width}x{height}.tif"
    if not src.is_file():
        # in a child process: Linux keeps a forked child's peak RSS across exec, so a parent that had
        # generated the input itself would inflate the peak memory measured for ours and GDAL's runs
        t0 = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--write", str(src), str(width), str(height)], check=True)
        print(f"wrote {src.name} ({src.stat().st_size / 2**30:.1f} GiB) in {time.perf_counter() - t0:.0f} s")
    ours_dir = out / f"ours_{factor}x"
    shutil.rmtree(ours_dir, ignore_errors=True)
    ours_dir.mkdir()
    ours, theirs = [], []
    for _ in range(repeat):  # alternate the two; the best wall time of each is kept (a shared machine is noisy)
        ours.append(run_measured([sys.executable, __file__, "--worker", str(src), str(ours_dir)]))
        theirs.append(gdal(src, out / f"gdal_{factor}x.tif"))
    o_wall, o_mem = min(w for w, _ in ours), max(m for _, m in ours)
    g_wall, g_mem = min(w for w, _ in theirs), max(m for _, m in theirs)
    diff = compare(ours_dir / src.name, out / f"gdal_{factor}x.tif")
    return {"pixels": width * height, "shape": (width, height), "ours": (o_wall, o_mem), "gdal": (g_wall, g_mem),
            "max_abs_diff": diff}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=25_000, help="rows (and columns) of the 1x input")
    parser.add_argument("--skip-2x", action="store_true", help="skip the run on twice the pixels")
    parser.add_argument("--keep", action="store_true", help="keep the generated inputs in bench/out")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each tool; the best wall time is kept")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--write", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write:
        write_input(Path(args.write[0]), int(args.write[1]), int(args.write[2]))
        return
    if args.worker:
        worker(Path(args.worker[0]), Path(args.worker[1]))
        return
    out = ROOT / "bench" / "out" / "aggregate"
    out.mkdir(parents=True, exist_ok=True)
    results = [run(args.size, 1, out, args.repeat)]
    if not args.skip_2x:
        results.append(run(args.size, 2, out, args.repeat))
    print(f"\n{'input':>22} | {'ours wall':>9} | {'gdal wall':>9} | {'ratio':>5} | {'ours RSS':>9} | "
          f"{'gdal RSS':>9} | max |diff| | cells differing")
    for r in results:
        (ow, om), (gw, gm) = r["ours"], r["gdal"]
        worst, share = r["max_abs_diff"]
        print(f"{r['shape'][0]:>10,} x {r['shape'][1]:<9,} | {ow:8.1f}s | {gw:8.1f}s | {ow / gw:4.2f}x | "
              f"{om:6.0f} MiB | {gm:6.0f} MiB | {worst:.2e}   | {share:.3%}")
    if len(results) == 2:
        print(f"peak memory at 2x the input: ours {results[1]['ours'][1] / results[0]['ours'][1]:.2f}x, "
              f"gdal {results[1]['gdal'][1] / results[0]['gdal'][1]:.2f}x")
    if not args.keep:
        for r in results:
            (out / f"national_{r['shape'][0]}x{r['shape'][1]}.tif").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
