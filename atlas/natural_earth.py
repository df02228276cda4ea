"""Natural Earth 1:110m countries, as shipped with pyogrio: the world outline behind the demo's boundaries and
the status maps' members missing from the reference layer. Shared: it imports nothing of ours."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import pyogrio

log = logging.getLogger(__name__)

NATURAL_EARTH = Path(pyogrio.__file__).parent / "tests" / "fixtures" / "naturalearth_lowres" / "naturalearth_lowres.shp"
SOURCE = "Natural Earth 1:110m admin-0 countries (naturalearth_lowres, shipped with pyogrio test fixtures)"
LICENCE = "public domain (Natural Earth terms of use)"


def natural_earth() -> gpd.GeoDataFrame:
    """The Natural Earth lowres countries with iso3 and name (rows with -99 codes dropped)."""
    gdf = gpd.read_file(NATURAL_EARTH, engine="pyogrio")
    gdf = gdf.rename(columns={"iso_a3": "iso3"})[["iso3", "name", "geometry"]]
    return gdf[gdf["iso3"].str.fullmatch(r"[A-Z]{3}")].reset_index(drop=True)


def natural_earth_world() -> gpd.GeoDataFrame | None:
    """The same layer, or None (with a warning) where pyogrio's copy is missing."""
    if not NATURAL_EARTH.is_file():
        log.warning("Natural Earth not found at %s: members missing from the reference are shown as dots",
                    NATURAL_EARTH)
        return None
    return natural_earth()
