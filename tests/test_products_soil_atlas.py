"""The regional WRB products written and read back."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

from atlas.borders.adjacency import adjacency
from atlas.borders.edges import border_mismatches
from atlas.borders.vector import harmonize_region
from atlas.products.soil_atlas import write_soil_atlas


def test_write_soil_atlas(tmp_path, programme):
    bnd = gpd.GeoDataFrame({"iso3": ["AAA", "BBB"], "name": ["A", "B"]},
                           geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)], crs="EPSG:4326")
    a = gpd.GeoDataFrame({"unit_id": ["a1", "a2"], "rsg1": ["CM", "Calcaric Cambisols"], "share1": 100},
                         geometry=[shapely.box(0, 0, 0.5, 1), shapely.box(0.5, 0, 1.02, 1)], crs="EPSG:4326")
    b = gpd.GeoDataFrame({"unit_id": ["b1"], "rsg1": ["LP"], "share1": 100},
                         geometry=[shapely.box(1, 0, 2, 1)], crs="EPSG:4326")
    res = harmonize_region({"AAA": a, "BBB": b}, bnd, programme)
    seg, summary = border_mismatches(res.region, bnd, adjacency(bnd), programme)
    paths = write_soil_atlas(res, {"AAA": 3, "BBB": 1}, tmp_path / "atlas", seg, summary)
    layers = {name for name, _ in pyogrio.list_layers(paths["gpkg"])}
    assert {"map_units", "dissolved_by_rsg", "border_mismatches", "harmonization_log"} <= layers
    units = gpd.read_file(paths["gpkg"], layer="map_units")
    assert dict(zip(units["unit_id"], units["submission_version"], strict=True)) == {"a1": 3, "a2": 3, "b1": 1}
    assert units.loc[units["unit_id"] == "a2", "harmonization_notes"].iloc[0].startswith("overlap_resolved")
    dissolved = gpd.read_file(paths["gpkg"], layer="dissolved_by_rsg").set_index("rsg")
    assert sorted(dissolved.index) == ["CM", "LP"]  # the name and the code of Cambisols are one group
    assert dissolved.loc["CM", "area_km2"] == pytest.approx(units.loc[units["country"] == "AAA", "area_km2"].sum())
    parquet = gpd.read_parquet(paths["parquet"])
    assert len(parquet) == 3 and parquet.crs.to_epsg() == 4326
    csv = pd.read_csv(paths["border_mismatches"])
    assert csv[["rsg_a", "rsg_b"]].values.tolist() == [["CM", "LP"]]
    assert pd.read_csv(paths["border_summary"])["match_share"].iloc[0] == pytest.approx(0.0)
    assert set(pd.read_csv(paths["harmonization_log"])["kind"]) == {"overlap_resolved"}
