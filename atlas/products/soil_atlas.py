"""Write the regional WRB map: every map unit with country, version and notes; a layer dissolved by group."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import pandas as pd

from atlas.atomic import write_atomic
from atlas.borders.edges import dominant_rsg_codes
from atlas.borders.vector import HarmonizeResult, area_km2

log = logging.getLogger(__name__)

GPKG = "regional_wrb.gpkg"


def dissolve_by_rsg(region: gpd.GeoDataFrame, equal_area_crs: str = "ESRI:54034") -> gpd.GeoDataFrame:
    """One (multi)polygon per dominant Reference Soil Group, with its area and countries."""
    frame = region.assign(rsg=dominant_rsg_codes(region["rsg1"]).fillna("unknown"))
    out = frame.dissolve(by="rsg", aggfunc={"country": lambda s: ",".join(sorted(set(s)))}, as_index=False)
    out = out.rename(columns={"country": "countries"})
    out["area_km2"] = area_km2(out.geometry.values.to_numpy(), equal_area_crs=equal_area_crs)
    return out[["rsg", "countries", "area_km2", "geometry"]]


def write_soil_atlas(
    result: HarmonizeResult,
    versions: dict[str, int],
    out_dir: Path,
    mismatches: gpd.GeoDataFrame | None = None,
    summary: pd.DataFrame | None = None,
    equal_area_crs: str = "ESRI:54034",
) -> dict[str, Path]:
    """regional_wrb.gpkg (+ .parquet) and CSV tables; every unit carries its country and submission version."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    units = result.region.copy()
    units["submission_version"] = units["country"].map(versions).astype("Int64")
    units["area_km2"] = area_km2(units.geometry.values.to_numpy(), equal_area_crs=equal_area_crs)
    gpkg = out_dir / GPKG
    paths = {"gpkg": gpkg, "parquet": out_dir / "regional_wrb.parquet",
             "harmonization_log": out_dir / "harmonization_log.csv"}
    log_table = result.changes.copy()
    log_geo = gpd.GeoDataFrame(log_table, geometry=gpd.points_from_xy(log_table["lon"], log_table["lat"]),
                               crs="EPSG:4326")

    def write_gpkg(tmp: Path) -> None:
        # layers are written as a set into a fresh file, never appended to a stale one
        units.to_file(tmp, layer="map_units", driver="GPKG")
        dissolve_by_rsg(units, equal_area_crs).to_file(tmp, layer="dissolved_by_rsg", driver="GPKG")
        if len(log_geo):
            log_geo.to_file(tmp, layer="harmonization_log", driver="GPKG")
        if mismatches is not None and len(mismatches):
            mismatches.to_file(tmp, layer="border_mismatches", driver="GPKG")

    # every file is finished under a temporary name and moved in: a killed run leaves the previous atlas whole
    write_atomic(gpkg, write_gpkg)
    write_atomic(paths["parquet"], units.to_parquet)
    write_atomic(paths["harmonization_log"], lambda p: log_table.to_csv(p, index=False))
    if mismatches is not None:
        paths["border_mismatches"] = out_dir / "border_mismatches.csv"
        table = pd.DataFrame(mismatches.drop(columns=mismatches.geometry.name))
        write_atomic(paths["border_mismatches"], lambda p: table.to_csv(p, index=False))
    if summary is not None:
        paths["border_summary"] = out_dir / "border_summary.csv"
        write_atomic(paths["border_summary"], lambda p: summary.to_csv(p, index=False))
    log.info("regional WRB map: %d units written to %s", len(units), out_dir)
    return paths
