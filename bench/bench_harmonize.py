"""Benchmark: harmonize two neighbouring synthetic national maps against a plain geopandas clip/overlay.

Each map is a grid of square units (default 100,000 per country, the size issue 23's figures are for)
reaching past a wavy reference border; one map spills where the other leaves a narrow gap. Each approach
runs in its own child process (same inputs, same run) so that peak memory (ru_maxrss) is its own. Wall
time and CPU time are printed: on a shared machine the wall ratio follows the load of the moment (printed
beside it), the CPU ratio much less.

    .venv/bin/python bench/bench_harmonize.py [--units 100000]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
TARGET_X = 10.0  # issue 23: harmonization at least 10x faster than the plain overlay


def inputs(units: int):
    """Reference territories AAA | BBB split by a wavy meridian near 5 E, and two misaligned grids."""
    ys = np.linspace(0, 10, 2001)
    border = np.c_[5 + 0.03 * np.sin(ys * 3), ys]
    west = shapely.Polygon(np.r_[[[0, 0]], border, [[0, 10]]])
    east = shapely.Polygon(np.r_[[[10, 0]], border, [[10, 10]]])
    bnd = gpd.GeoDataFrame({"iso3": ["AAA", "BBB"], "name": ["A", "B"]}, geometry=[west, east], crs="EPSG:4326")
    n = int(np.sqrt(units))

    def grid(x0, x1, seed):
        xs, ys_ = np.linspace(x0, x1, n + 1), np.linspace(0, 10, n + 1)
        gx, gy = np.meshgrid(np.arange(n), np.arange(n))
        gx, gy = gx.ravel(), gy.ravel()
        geoms = shapely.box(xs[gx], ys_[gy], xs[gx + 1], ys_[gy + 1])
        rsg = np.random.default_rng(seed).choice(["CM", "LP", "FL", "AC", "GL"], len(geoms))
        return gpd.GeoDataFrame({"unit_id": np.arange(len(geoms)).astype(str), "rsg1": rsg, "share1": 100},
                                geometry=geoms, crs="EPSG:4326")

    return bnd, {"AAA": grid(0, 5.02, 1), "BBB": grid(4.99, 10, 2)}


def run_atlas(units: int, queue) -> None:
    from atlas.borders.vector import harmonize_region
    from atlas.config import load_programme

    bnd, maps = inputs(units)
    programme = load_programme()
    t0, cpu0 = time.perf_counter(), time.process_time()
    res = harmonize_region(maps, bnd, programme)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    kinds = res.changes.groupby("kind")["area_km2"].sum().round(1).to_dict()
    queue.put((wall, cpu, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, kinds))


def run_geopandas(units: int, queue) -> None:
    """The plain approach: gpd.clip per country, overlay for spill, overlap and gaps (no fill, no slivers)."""
    bnd, maps = inputs(units)
    t0, cpu0 = time.perf_counter(), time.process_time()
    ea = "ESRI:54034"
    clipped, spill = {}, {}
    for c, gdf in maps.items():
        terr = bnd[bnd["iso3"] == c]
        clipped[c] = gpd.clip(gdf, terr)
        spill[c] = gpd.overlay(gdf, terr, how="difference")
    a, b = spill["AAA"], clipped["BBB"]
    overlap = gpd.overlay(a, b, how="intersection")
    gaps = {c: gpd.overlay(bnd[bnd["iso3"] == c], clipped[c].dissolve(), how="difference") for c in maps}
    kinds = {"spill": round(sum(s.to_crs(ea).area.sum() for s in spill.values()) / 1e6, 1),
             "overlap(AAA on BBB)": round(overlap.to_crs(ea).area.sum() / 1e6, 1),
             "gaps": round(sum(g.to_crs(ea).area.sum() for g in gaps.values()) / 1e6, 1)}
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    queue.put((wall, cpu, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, kinds))


def measure(target, units: int):
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(units, queue))
    proc.start()
    out = queue.get()
    proc.join()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=100_000, help="map units per country")
    args = parser.parse_args()
    print(f"two national maps of {int(np.sqrt(args.units)) ** 2:,} units each")
    load0 = os.getloadavg()[0]
    atlas_s, atlas_cpu, atlas_mb, atlas_kinds = measure(run_atlas, args.units)
    print(f"atlas.harmonize_region: {atlas_s:8.2f} s wall {atlas_cpu:7.2f} s CPU  peak RSS {atlas_mb:7.0f} MiB  "
          f"changes km2 {atlas_kinds}")
    gp_s, gp_cpu, gp_mb, gp_kinds = measure(run_geopandas, args.units)
    print(f"geopandas clip/overlay: {gp_s:8.2f} s wall {gp_cpu:7.2f} s CPU  peak RSS {gp_mb:7.0f} MiB  "
          f"areas km2 {gp_kinds}")
    print(f"ratio (geopandas / atlas): {gp_s / atlas_s:.1f}x faster (wall), {gp_cpu / atlas_cpu:.1f}x faster (CPU); "
          f"peak memory x{gp_mb / atlas_mb:.2f}; target >= {TARGET_X:.0f}x; "
          f"load average {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end (2 cores)")


if __name__ == "__main__":
    main()
