"""Write the regional WRB map: every map unit with country, version and notes; a layer dissolved by group."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import pandas as pd

from atlas.edges import dominant_rsg_codes
from atlas.harmonize_vector import HarmonizeResult, area_km2

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
    gpkg.unlink(missing_ok=True)  # layers are rewritten as a set, never appended to a stale file
    paths = {"gpkg": gpkg, "parquet": out_dir / "regional_wrb.parquet",
             "harmonization_log": out_dir / "harmonization_log.csv"}
    units.to_file(gpkg, layer="map_units", driver="GPKG")
    dissolve_by_rsg(units, equal_area_crs).to_file(gpkg, layer="dissolved_by_rsg", driver="GPKG")
    units.to_parquet(paths["parquet"])
    log_table = result.changes.copy()
    log_table.to_csv(paths["harmonization_log"], index=False)
    log_geo = gpd.GeoDataFrame(log_table, geometry=gpd.points_from_xy(log_table["lon"], log_table["lat"]),
                               crs="EPSG:4326")
    if len(log_geo):
        log_geo.to_file(gpkg, layer="harmonization_log", driver="GPKG")
    if mismatches is not None:
        if len(mismatches):
            mismatches.to_file(gpkg, layer="border_mismatches", driver="GPKG")
        paths["border_mismatches"] = out_dir / "border_mismatches.csv"
        pd.DataFrame(mismatches.drop(columns=mismatches.geometry.name)).to_csv(paths["border_mismatches"],
                                                                              index=False)
    if summary is not None:
        paths["border_summary"] = out_dir / "border_summary.csv"
        summary.to_csv(paths["border_summary"], index=False)
    log.info("regional WRB map: %d units written to %s", len(units), out_dir)
    return paths
