"""Write the regional WRB map: every map unit with canonical WRB columns, country, version and notes;
a layer dissolved by group; the QGIS style stored with it."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from atlas.atomic import write_atomic, write_text_atomic
from atlas.borders.vector import HarmonizeResult, area_km2, union_of_units
from atlas.cells import safe_frame
from atlas.layout import GPKG_OPTIONS
from atlas.products.wrb_style import qml, store_layer_styles
from checks.wrb_columns import CANONICAL_COLUMNS

log = logging.getLogger(__name__)

GPKG = "regional_wrb.gpkg"
STYLE_FILE = "regional_wrb.qml"  # beside the GeoPackage: QGIS also finds it by name


REGIONAL_COLUMNS = ["country", "source_feature", *CANONICAL_COLUMNS[:-3], "provisional", "submission_version",
                    "area_km2", "harmonization_notes", *CANONICAL_COLUMNS[-3:]]
# labels, never numbers: one country's ids may be "BGD-0001", another's 17; kept as text so every release of the
# regional layer has the same column types (issue 21, case c)
TEXT_COLUMNS = ("unit_id", "wrb_version")


def _as_text(value):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 17.0 read from a file with empty ids is the id 17
    return str(value)


def _kinds(values: pd.Series) -> set[type]:
    """The Python types of a column's values, missing ones (None, NaN) aside."""
    return {type(v) for v in values if v is not None and not (isinstance(v, float) and np.isnan(v))}


def normalise_types(units: pd.DataFrame) -> pd.DataFrame:
    """One type per column across countries: the label columns as text, and any column whose values mix
    types (text in one map, numbers in another) as text, so GeoPackage and Parquet hold the same values."""
    units = units.copy()
    for col in units.columns:
        values = units[col]
        if isinstance(values.dtype, gpd.array.GeometryDtype):
            continue
        if col in TEXT_COLUMNS or (values.dtype == object and len(_kinds(values)) > 1):
            units[col] = pd.Series([_as_text(v) for v in values], index=units.index, dtype=object)
    return units


def dissolve_by_rsg(region: gpd.GeoDataFrame, equal_area_crs: str = "ESRI:54034") -> gpd.GeoDataFrame:
    """One (multi)polygon per dominant group (WRB code or non-soil unit), provisional units apart."""
    frame = region.assign(rsg1_code=region["rsg1_code"].fillna("unclassified"),
                          provisional=region["rsg1_status"].eq("provisional"))
    keys = ["rsg1_code", "provisional"]
    out = pd.DataFrame(frame.drop(columns=frame.geometry.name)).groupby(keys, as_index=False).agg(
        {"country": lambda s: ",".join(sorted(set(s))), "rsg1_name": "first"})
    # the units of a group are part of one map's coverage: unioned as a coverage where they meet edge to edge
    geoms, members = frame.geometry.values.to_numpy(), frame.groupby(keys).indices
    out = gpd.GeoDataFrame(out, geometry=[union_of_units(geoms[members[key]])
                                          for key in zip(out["rsg1_code"], out["provisional"], strict=True)],
                           crs=region.crs)
    out = out.rename(columns={"country": "countries"})
    out["area_km2"] = area_km2(out.geometry.values.to_numpy(), equal_area_crs=equal_area_crs)
    return out[["rsg1_code", "rsg1_name", "provisional", "countries", "area_km2", "geometry"]]


def regional_units(result: HarmonizeResult, versions: dict[str, int], equal_area_crs: str) -> gpd.GeoDataFrame:
    """The map units of the regional layer: canonical columns, country, version, area and short notes."""
    units = result.region.copy()
    for col in REGIONAL_COLUMNS:
        if col not in units.columns:
            units[col] = None
    units["provisional"] = units["rsg1_status"].eq("provisional")
    units["submission_version"] = units["country"].map(versions).astype("Int64")
    units["area_km2"] = area_km2(units.geometry.values.to_numpy(), equal_area_crs=equal_area_crs)
    return gpd.GeoDataFrame(normalise_types(pd.DataFrame(units[REGIONAL_COLUMNS])), geometry=units.geometry.values,
                            crs="EPSG:4326")


def write_soil_atlas(
    result: HarmonizeResult,
    versions: dict[str, int],
    out_dir: Path,
    mismatches: gpd.GeoDataFrame | None = None,
    summary: pd.DataFrame | None = None,
    equal_area_crs: str = "ESRI:54034",
    borders_dir: Path | None = None,
) -> dict[str, Path]:
    """regional_wrb.gpkg (+ .parquet, + .qml style) and the harmonization log; border tables in ``borders_dir``.

    Every unit carries its country, submission version and canonical WRB columns. The border tables
    (mismatch segments and per-pair summary) are written once, to ``borders_dir`` (default: ``out_dir``),
    where the two countries of each border find them; the segments are also a layer of the GeoPackage.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    units = regional_units(result, versions, equal_area_crs)
    dissolved = dissolve_by_rsg(units, equal_area_crs)
    style = qml(sorted(set(units.loc[units["provisional"], "rsg1_code"].dropna())))
    if mismatches is not None:
        mismatches = normalise_types(mismatches)
    gpkg = out_dir / GPKG
    paths = {"gpkg": gpkg, "parquet": out_dir / "regional_wrb.parquet", "style": out_dir / STYLE_FILE,
             "harmonization_log": out_dir / "harmonization_log.csv"}
    log_table = normalise_types(result.changes)
    log_geo = gpd.GeoDataFrame(log_table, geometry=gpd.points_from_xy(log_table["lon"], log_table["lat"]),
                               crs="EPSG:4326")

    def write_gpkg(tmp: Path) -> None:
        # layers are written as a set into a fresh file, never appended to a stale one
        units.to_file(tmp, layer="map_units", driver="GPKG", **GPKG_OPTIONS)
        dissolved.to_file(tmp, layer="dissolved_by_rsg", driver="GPKG")
        if len(log_geo):
            log_geo.to_file(tmp, layer="harmonization_log", driver="GPKG")
        if mismatches is not None and len(mismatches):
            mismatches.to_file(tmp, layer="border_mismatches", driver="GPKG")
        store_layer_styles(tmp, {"map_units": style, "dissolved_by_rsg": style})

    # every file is finished under a temporary name and moved in: a killed run leaves the previous atlas whole
    write_atomic(gpkg, write_gpkg)
    write_atomic(paths["parquet"], units.to_parquet)
    write_text_atomic(paths["style"], style)
    # country text (unit ids, group names) never runs as a formula in a spreadsheet
    write_atomic(paths["harmonization_log"], lambda p: safe_frame(log_table).to_csv(p, index=False))
    borders = Path(borders_dir) if borders_dir is not None else out_dir
    borders.mkdir(parents=True, exist_ok=True)
    if mismatches is not None:
        paths["border_mismatches"] = borders / "border_mismatches.csv"
        table = pd.DataFrame(mismatches.drop(columns=mismatches.geometry.name))
        write_atomic(paths["border_mismatches"], lambda p: safe_frame(table).to_csv(p, index=False))
    if summary is not None:
        paths["border_summary"] = borders / "border_summary.csv"
        write_atomic(paths["border_summary"], lambda p: safe_frame(summary).to_csv(p, index=False))
    log.info("regional WRB map: %d units written to %s", len(units), out_dir)
    return paths
