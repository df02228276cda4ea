"""Benchmark: the regional Soil Atlas build of one real national map against Natural Earth 1:50m borders.

The map is Indonesia's FAO/UNESCO Digital Soil Map of the World extract (1,166 units, real data in
../shared/data/real/soil_vector/idn_dsmw_fao74, see SOURCES.md), its FAO-74 dominant soils turned into WRB
reference soil groups by their first letter, and written as the national copy the pipeline keeps
(``national/IDN/soil_map/v001/soil_map.gpkg``). The reference layer is Natural Earth 1:50m admin 0, every
country (so Malaysia, Timor-Leste and Papua New Guinea border it, as in a claim-based reference layer).

It times ``atlas.products.regional.build_regional_soil`` (harmonization at the borders, border mismatches,
the GeoPackage/Parquet/QML, area tables), and, in the same run as the load-independent baseline, a plain
geopandas ``clip`` of the map to its country written to a GeoPackage. Each runs in its own child process.

    .venv/bin/python bench/bench_soil_atlas.py [--real DIR] [--profile]
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_REAL = ROOT.parent / "shared" / "data" / "real"
MAP = "soil_vector/idn_dsmw_fao74/DSMW.shp"
BORDERS = "boundaries/natural_earth_v4.0.0/ne_50m_admin_0_countries.json"
TARGET_S = 10.0
# FAO-74 major soil groupings (first letter of the dominant soil) -> WRB reference soil groups (nearest)
FAO74 = {"A": "AC", "B": "CM", "C": "CH", "D": "PZ", "E": "LP", "F": "FR", "G": "GL", "H": "PH", "I": "LP",
         "J": "FL", "K": "KS", "L": "LV", "M": "PH", "N": "NT", "O": "HS", "P": "PZ", "Q": "AR", "R": "RG",
         "S": "SN", "T": "AN", "U": "UM", "V": "VR", "W": "PL", "X": "CL", "Y": "GY", "Z": "SC"}


def national_copy(real: Path, programme=None):
    """The real map as the pipeline keeps its national copy: the delivered fields (unit id, WRB rsg1 code, share
    100, FAO-74 dominant soil beside) turned into the canonical columns by ``canonical_copy``, as the pipeline does.

    Water ("WR") and no-data ("ND") units are the non-soil units of those codes.
    """
    import geopandas as gpd

    from checks.wrb_columns import canonical_copy

    raw = gpd.read_file(real / MAP).set_crs("EPSG:4326", allow_override=True)
    domsoi = raw["DOMSOI"].astype(str)
    codes = domsoi.where(domsoi.isin(["WR", "ND"]), domsoi.str[0].map(FAO74))
    delivered = gpd.GeoDataFrame({
        "unit_id": raw["SNUM"].astype(str) + "-" + raw.index.astype(str), "rsg1": codes, "share1": 100.0,
        "wrb_version": "2022", "fao74": domsoi,
    }, geometry=raw.geometry.values, crs="EPSG:4326")
    return canonical_copy(delivered, programme)


def setup(real: Path, root: Path):
    """A programme rooted in ``root`` with the national copy in place and Natural Earth 1:50m as its reference."""
    import geopandas as gpd

    from atlas import layout
    from atlas.borders.boundaries import load_boundaries
    from atlas.config import DEFAULT_CONFIG, load_programme
    from atlas.layout import SOIL_MAP_FILE

    programme = load_programme(DEFAULT_CONFIG).with_root(root)
    programme = dataclasses.replace(programme, region_bounds=(90.0, -12.0, 145.0, 8.0))
    ne = gpd.read_file(real / BORDERS)
    programme.reference_boundaries.parent.mkdir(parents=True, exist_ok=True)
    ne.to_file(programme.reference_boundaries, layer="countries")
    boundaries, _ = load_boundaries(programme)
    folder = layout.national_dir(programme.processed_dir, "IDN", "soil_map", 1)
    folder.mkdir(parents=True)
    units = national_copy(real, programme)
    units.to_file(folder / SOIL_MAP_FILE, layer="map_units")
    return programme, boundaries, len(units)


def warm_imports() -> None:
    """Import what the build imports lazily, as a pipeline run has by then: the build is timed, not Python's
    first import of rasterio, pystac or openpyxl (about 1 s of CPU in a fresh process)."""
    import openpyxl  # noqa: F401
    import pystac  # noqa: F401

    import atlas.borders.adjacency  # noqa: F401
    import atlas.borders.edges  # noqa: F401
    import atlas.borders.vector  # noqa: F401
    import atlas.products.area_stats  # noqa: F401
    import atlas.products.catalog  # noqa: F401
    import atlas.products.release_checks  # noqa: F401
    import atlas.products.soil_atlas  # noqa: F401


def run_atlas(real: str, profile: bool, queue) -> None:
    from atlas.products.regional import build_regional_soil

    with tempfile.TemporaryDirectory(prefix="bench_soil_atlas_") as tmp:
        programme, boundaries, n = setup(Path(real), Path(tmp))
        warm_imports()
        profiler = None
        if profile:
            from pyinstrument import Profiler

            profiler = Profiler()
            profiler.start()
        t0, cpu0 = time.perf_counter(), time.process_time()
        outcome = build_regional_soil(programme, {"IDN": 1}, boundaries, "bench", force=True)
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        if profiler is not None:
            profiler.stop()
            print(profiler.output_text(unicode=False, color=False, show_all=False), file=sys.stderr)
        errors = [f.message for f in outcome.findings if f.check_id == "pipeline.internal_error"]
        queue.put((wall, cpu, n, len(outcome.paths), errors))


def run_clip(real: str, queue) -> None:
    """The baseline: geopandas clip of the same map to its Natural Earth country, written to a GeoPackage."""
    import geopandas as gpd

    units = national_copy(Path(real))
    ne = gpd.read_file(Path(real) / BORDERS)
    country = ne[ne["ADM0_A3"] == "IDN"]
    with tempfile.TemporaryDirectory(prefix="bench_clip_") as tmp:
        t0, cpu0 = time.perf_counter(), time.process_time()
        gpd.clip(units, country).to_file(Path(tmp) / "clip.gpkg", layer="map_units")
        queue.put((time.perf_counter() - t0, time.process_time() - cpu0))


def child(target, *args):
    queue = mp.Queue()
    proc = mp.Process(target=target, args=(*args, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=Path, default=DEFAULT_REAL, help="the shared real-data folder")
    parser.add_argument("--profile", action="store_true", help="print a pyinstrument profile of the build")
    args = parser.parse_args()
    if not (args.real / MAP).is_file():
        print(f"real data not found at {args.real}: give --real DIR (../shared/data/real)")
        return
    load0 = os.getloadavg()[0]
    clip_s, clip_cpu = child(run_clip, str(args.real))
    atlas_s, atlas_cpu, units, files, errors = child(run_atlas, str(args.real), args.profile)
    if errors:
        print("build failed:", "; ".join(errors))
        raise SystemExit(1)
    print(f"regional Soil Atlas build, {units:,} real units (IDN, DSMW) against Natural Earth 1:50m: "
          f"{atlas_s:.1f} s wall, {atlas_cpu:.1f} s CPU ({files} files)")
    print(f"against the target of {TARGET_S:.0f} s: {atlas_s / TARGET_S:.2f}x wall, {atlas_cpu / TARGET_S:.2f}x CPU "
          "(<= 1 meets it)")
    print(f"baseline, geopandas clip of the same map to its country + GeoPackage: {clip_s:.2f} s wall, "
          f"{clip_cpu:.2f} s CPU")
    print(f"ratio build / clip: {atlas_s / clip_s:.1f}x wall, {atlas_cpu / clip_cpu:.1f}x CPU "
          f"(load average {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end, 2 cores; "
          "a shared machine slows both alike)")


if __name__ == "__main__":
    main()
