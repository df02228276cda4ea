"""Benchmark: the regional mosaic stage against GDAL (gdalbuildvrt + gdal_translate -of COG) on the same inputs.

Builds a synthetic region of national ECe rasters (default 4 x 3 = 12 countries, 6 megapixels each,
72 megapixels in all) with wavy reference borders, then times, each in its own process:
  ours:  atlas.products.mosaic.build_mosaics (country raster, mosaic, provenance, country index, COGs)
  gdal:  gdalbuildvrt, then gdal_translate -of COG -co COMPRESS=DEFLATE -co NUM_THREADS=2
and prints wall times, peak memories (max RSS of the child process) and their ratios; then the
peak memory of ours again on a region of four times the area (8 x 6 countries).

    .venv/bin/python bench/bench_mosaic.py [--scale 1.0] [--skip-4x] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RES = 1.0 / 120.0
CELL_W, CELL_H = 2400, 2500  # pixels per country cell: 6 megapixels
MARGIN = 24  # national rasters reach this many pixels past their cell (spill over the border)
WAVE_PX = 12  # amplitude of the wavy borders, in pixels


def _edge(p0, p1, amp: float, k: int, n: int = 64) -> list[tuple[float, float]]:
    """A wavy polyline from p0 to p1 that meets both end points exactly (shared by both neighbours)."""
    t = np.linspace(0.0, 1.0, n)
    x = p0[0] + (p1[0] - p0[0]) * t
    y = p0[1] + (p1[1] - p0[1]) * t
    wave = amp * np.sin(k * math.pi * t)
    if p0[0] == p1[0]:
        x = x + wave
    else:
        y = y + wave
    return list(zip(x, y, strict=True))


def synthetic_boundaries(nx: int, ny: int, west: float, north: float):
    """nx x ny countries tiling a box, with wavy shared borders (straight outer edges)."""
    import geopandas as gpd
    from shapely.geometry import Polygon

    xs = [west + i * CELL_W * RES for i in range(nx + 1)]
    ys = [north - j * CELL_H * RES for j in range(ny + 1)]
    amp = WAVE_PX * RES

    def v_edge(i, j):  # from (xs[i], ys[j]) down to (xs[i], ys[j+1])
        inner = 0 < i < nx
        return _edge((xs[i], ys[j]), (xs[i], ys[j + 1]), amp if inner else 0.0, 3 + (i + j) % 3)

    def h_edge(i, j):  # from (xs[i], ys[j]) right to (xs[i+1], ys[j])
        inner = 0 < j < ny
        return _edge((xs[i], ys[j]), (xs[i + 1], ys[j]), amp if inner else 0.0, 2 + (i * j) % 3)

    codes, geoms = [], []
    for j in range(ny):
        for i in range(nx):
            ring = h_edge(i, j) + v_edge(i + 1, j) + h_edge(i, j + 1)[::-1] + v_edge(i, j)[::-1]
            codes.append(f"C{j:01d}{i:01d}" if nx <= 10 and ny <= 10 else f"{j:02d}{i:02d}")
            geoms.append(Polygon(ring).buffer(0))
    return gpd.GeoDataFrame({"iso3": codes, "name": codes}, geometry=geoms, crs="EPSG:4326")


def write_national(path: Path, west: float, north: float, width: int, height: int, seed: int) -> None:
    """A smooth ECe field with noise, written block by block (Float32, -9999, tiled, DEFLATE)."""
    import rasterio
    from affine import Affine

    rng = np.random.default_rng(seed)
    profile = {"driver": "GTiff", "dtype": "float32", "nodata": -9999.0, "count": 1, "width": width,
               "height": height, "crs": "EPSG:4326", "transform": Affine(RES, 0, west, 0, -RES, north),
               "tiled": True, "blockxsize": 512, "blockysize": 512, "compress": "deflate"}
    cols = np.arange(width)
    with rasterio.open(path, "w", **profile) as dst:
        for row in range(0, height, 512):
            rows = np.arange(row, min(row + 512, height))[:, None]
            field = 4 + 3 * np.sin(cols / 157.0 + seed) * np.cos(rows / 211.0)
            noise = rng.normal(0, 0.3, field.shape)
            data = np.round(np.clip(field + noise, 0, None), 2).astype("float32")
            data[(rows % 397 < 5) & (cols % 251 < 9)] = -9999.0  # a few nodata patches
            dst.write(data, 1, window=rasterio.windows.Window(0, row, width, len(rows)))


def build_region(work: Path, nx: int, ny: int) -> dict:
    """Synthetic national rasters + boundaries; returns a job description for the workers."""
    work.mkdir(parents=True, exist_ok=True)
    west, north = 80.0, 45.0
    gdf = synthetic_boundaries(nx, ny, west, north)
    gdf.to_file(work / "boundaries.gpkg", driver="GPKG")
    inputs = {}
    for n, code in enumerate(gdf["iso3"]):
        j, i = divmod(n, nx)
        w = west + (i * CELL_W - MARGIN) * RES
        nth = north - (j * CELL_H - MARGIN) * RES
        path = work / f"{code}_GSSmap_ECe_0-30.tif"
        write_national(path, w, nth, CELL_W + 2 * MARGIN, CELL_H + 2 * MARGIN, seed=n)
        inputs[code] = str(path)
    east = west + nx * CELL_W * RES
    south = north - ny * CELL_H * RES
    return {"inputs": inputs, "bounds": [west, south, east, north], "boundaries": str(work / "boundaries.gpkg"),
            "out": str(work / "ours"), "megapixels": nx * ny * (CELL_W + 2 * MARGIN) * (CELL_H + 2 * MARGIN) / 1e6}


def worker(job_path: str) -> None:
    """Child process: run build_mosaics on one job (only ECe 0-30, like the GDAL baseline)."""
    import geopandas as gpd

    from atlas.config import load_programme
    from atlas.products.mosaic import build_mosaics

    job = json.loads(Path(job_path).read_text())
    programme = load_programme()
    sal = dataclasses.replace(programme.salinity, layers=("ECe",), depths=("0-30",))
    programme = dataclasses.replace(programme, salinity=sal, region_bounds=tuple(job["bounds"]))
    boundaries = gpd.read_file(job["boundaries"])
    inputs = {c: {("ECe", "0-30"): Path(p)} for c, p in job["inputs"].items()}
    build_mosaics(inputs, {c: 1 for c in inputs}, programme, Path(job["out"]), boundaries,
                  float_deflate_level=job.get("level", 1))


def run_measured(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of a child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed with {proc.returncode}")
    return wall, usage.ru_maxrss / 1024.0


def ours(job: dict, work: Path, level: int = 1) -> tuple[float, float]:
    job_path = work / "job.json"
    job_path.write_text(json.dumps({**job, "level": level}))
    shutil.rmtree(job["out"], ignore_errors=True)
    return run_measured([sys.executable, __file__, "--worker", str(job_path)])


def gdal(job: dict, work: Path) -> tuple[float, float]:
    if shutil.which("gdalbuildvrt") is None:
        subprocess.run("apt-get update && apt-get install -y gdal-bin", shell=True, check=True)
    west, south, east, north = job["bounds"]
    vrt, cog = work / "gdal.vrt", work / "gdal_cog.tif"
    t1, m1 = run_measured(["gdalbuildvrt", "-q", "-te", str(west), str(south), str(east), str(north),
                           "-tr", str(RES), str(RES), str(vrt), *job["inputs"].values()])
    t2, m2 = run_measured(["gdal_translate", "-q", "-of", "COG", "-co", "COMPRESS=DEFLATE", "-co", "NUM_THREADS=2",
                           str(vrt), str(cog)])
    return t1 + t2, max(m1, m2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--skip-4x", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the synthetic data")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench_mosaic_"))
    try:
        t0 = time.perf_counter()
        job = build_region(work / "x1", 4, 3)
        print(f"synthetic region: 12 national rasters, {job['megapixels']:.1f} megapixels "
              f"(built in {time.perf_counter() - t0:.1f} s)")
        g_wall, g_mem = gdal(job, work / "x1")
        o_wall, o_mem = ours(job, work / "x1")
        o_size = (Path(job["out"]) / "GSSmap_ECe_0-30.tif").stat().st_size / 2**20
        o6_wall, o6_mem = ours(job, work / "x1", level=6)
        o6_size = (Path(job["out"]) / "GSSmap_ECe_0-30.tif").stat().st_size / 2**20
        g_size = (work / "x1" / "gdal_cog.tif").stat().st_size / 2**20
        print(f"gdal (gdalbuildvrt + gdal_translate COG): wall {g_wall:7.2f} s  peak {g_mem:7.1f} MiB  "
              f"ECe COG {g_size:.0f} MiB")
        print(f"ours (build_mosaics, DEFLATE level 1):    wall {o_wall:7.2f} s  peak {o_mem:7.1f} MiB  "
              f"ECe COG {o_size:.0f} MiB")
        print(f"ours (build_mosaics, DEFLATE level 6):    wall {o6_wall:7.2f} s  peak {o6_mem:7.1f} MiB  "
              f"ECe COG {o6_size:.0f} MiB")
        print(f"ratio ours/gdal (level 1): wall {o_wall / g_wall:.2f}  peak memory {o_mem / g_mem:.2f}")
        print(f"ratio ours/gdal (level 6): wall {o6_wall / g_wall:.2f}  peak memory {o6_mem / g_mem:.2f}")
        met = o_wall <= g_wall and o_mem < 300
        print(f"target (level 1): wall ratio <= 1.00 and peak < 300 MiB -> {'met' if met else 'NOT met'}")
        if not args.skip_4x:
            shutil.rmtree(work / "x1", ignore_errors=True)
            t0 = time.perf_counter()
            job4 = build_region(work / "x4", 8, 6)
            print(f"4x area: 48 national rasters, {job4['megapixels']:.1f} megapixels "
                  f"(built in {time.perf_counter() - t0:.1f} s)")
            o4_wall, o4_mem = ours(job4, work / "x4")
            print(f"ours at 4x area: wall {o4_wall:7.2f} s  peak {o4_mem:7.1f} MiB  "
                  f"(peak ratio 4x/1x {o4_mem / o_mem:.2f}, wall ratio {o4_wall / o_wall:.2f})")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
