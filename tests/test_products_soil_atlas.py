"""The regional WRB products written and read back."""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from gpkg_conformance import gdal_validate, gdal_validator, gpkg_violations

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
    dissolved = gpd.read_file(paths["gpkg"], layer="dissolved_by_rsg").set_index("rsg1_code")
    assert sorted(dissolved.index) == ["CM", "LP"]  # the name and the code of Cambisols are one group
    assert dissolved.loc["CM", "area_km2"] == pytest.approx(units.loc[units["country"] == "AAA", "area_km2"].sum())
    parquet = gpd.read_parquet(paths["parquet"])
    assert len(parquet) == 3 and parquet.crs.to_epsg() == 4326
    csv = pd.read_csv(paths["border_mismatches"])
    assert csv[["rsg_a", "rsg_b"]].values.tolist() == [["CM", "LP"]]
    assert pd.read_csv(paths["border_summary"])["match_share"].iloc[0] == pytest.approx(0.0)
    assert set(pd.read_csv(paths["harmonization_log"])["kind"]) == {"overlap_resolved"}


def _one_country(programme, rsg1, **columns):
    bnd = gpd.GeoDataFrame({"iso3": ["AAA"], "name": ["A"]}, geometry=[shapely.box(0, 0, 1, 1)], crs="EPSG:4326")
    n = len(rsg1)
    cells = [shapely.box(k / n, 0, (k + 1) / n, 1) for k in range(n)]
    gdf = gpd.GeoDataFrame({"unit_id": [f"u{k}" for k in range(n)], "rsg1": rsg1, "share1": 100, **columns},
                           geometry=cells, crs="EPSG:4326")
    return harmonize_region({"AAA": gdf}, bnd, programme)


def test_regional_map_has_canonical_columns_one_each(tmp_path, programme):
    res = _one_country(programme, ["AC", "Haplic Acrisol", "calcaric cambisols", "WAT"],
                       wrb_versio=["2015", "2015", "2022", "2022"], qualifiere=["Ferric", "", "", ""])
    paths = write_soil_atlas(res, {"AAA": 1}, tmp_path)
    units = gpd.read_file(paths["gpkg"], layer="map_units")
    assert units["rsg1_code"].tolist() == ["AC", "AC", "CM", "WR"]
    assert units["rsg1_name"].tolist() == ["Acrisols", "Acrisols", "Cambisols", "Water bodies"]
    assert units["rsg1_status"].tolist() == ["wrb", "wrb", "wrb", "non_soil"]
    assert units["delivered_rsg1"].tolist() == ["AC", "Haplic Acrisol", "calcaric cambisols", "WAT"]
    assert units["wrb_version"].tolist() == ["2015", "2015", "2022", "2022"]
    assert units["qualifiers"].iloc[0] == "Ferric"
    assert not {"wrb_versio", "qualifiere", "rsg1"} & set(units.columns)
    assert {"rsg2_code", "rsg2_name", "rsg3_code", "rsg3_name"} <= set(units.columns)
    assert set(gpd.read_parquet(paths["parquet"]).columns) == set(units.columns) | {"geometry"} - {"fid"}


def test_style_is_stored_in_the_geopackage_and_beside_it(tmp_path, programme):
    paths = write_soil_atlas(_one_country(programme, ["AC", "LP"]), {"AAA": 1}, tmp_path)
    with sqlite3.connect(paths["gpkg"]) as db:
        rows = db.execute("SELECT f_table_name, styleQML, useAsDefault FROM layer_styles").fetchall()
    assert {r[0] for r in rows} == {"map_units", "dissolved_by_rsg"}
    for text in [rows[0][1], paths["style"].read_text(encoding="utf-8")]:
        root = ET.fromstring(text.split("\n", 1)[1])  # after the DOCTYPE line
        renderer = root.find("renderer-v2")
        assert renderer.get("type") == "categorizedSymbol" and renderer.get("attr") == "rsg1_code"
        values = [c.get("value") for c in renderer.iter("category")]
        assert len(values) >= 32 and set(values) >= {"AC", "AL", "VR", "RT", "TC", "WR"}
        assert len(list(renderer.iter("symbol"))) == len(values)
    assert "layer_styles" in {name for name, _ in pyogrio.list_layers(paths["gpkg"])}


def test_provisional_units_flagged_in_map_tables_and_legend(tmp_path, programme):
    from dataclasses import replace

    from atlas.products.area_stats import rsg_areas

    programme = replace(programme, soil_legacy="provisional")
    res = _one_country(programme, ["Ao", "AC", "Jd"])
    assert res.region["rsg1_code"].tolist() == ["AC", "AC", "FL"]  # suggested groups, never the legacy codes
    assert res.region["rsg1_status"].tolist() == ["provisional", "wrb", "provisional"]
    paths = write_soil_atlas(res, {"AAA": 1}, tmp_path)
    units = gpd.read_file(paths["gpkg"], layer="map_units")
    assert units["provisional"].tolist() == [True, False, True]
    dissolved = gpd.read_file(paths["gpkg"], layer="dissolved_by_rsg")
    assert sorted(zip(dissolved["rsg1_code"], dissolved["provisional"], strict=True)) == [("AC", False), ("AC", True),
                                                                             ("FL", True)]
    table = rsg_areas(res.region.rename(columns={"country": "iso3"}), programme)
    assert set(table.loc[table["provisional"], "rsg"]) == {"AC", "FL"}
    style = paths["style"].read_text(encoding="utf-8")
    assert 'label="AC Acrisols (hatched: provisional)"' in style and 'label="LP Leptosols"' in style


def test_regional_geopackage_conforms_to_the_ogc_standard(tmp_path, programme):
    """Issue 23: the style table is written through GDAL; gpkg_contents timestamps carry milliseconds."""
    paths = write_soil_atlas(_one_country(programme, ["AC", "LP"]), {"AAA": 1}, tmp_path)
    assert gpkg_violations(paths["gpkg"]) == []
    with sqlite3.connect(paths["gpkg"]) as db:
        assert db.execute("SELECT data_type FROM gpkg_contents WHERE table_name = 'layer_styles'").fetchone() == (
            "attributes",)
        # the checks can fail: a row written by hand as before (no fractional seconds) is caught
        db.execute("UPDATE gpkg_contents SET last_change = '2026-12-03T09:20:37Z' WHERE table_name = 'layer_styles'")
    assert gpkg_violations(paths["gpkg"]) == [
        "Req 15: gpkg_contents.last_change of 'layer_styles' is '2026-12-03T09:20:37Z', not in the format "
        "%Y-%m-%dT%H:%M:%fZ"]


def test_regional_geopackage_is_a_geopackage_1_2_every_gdal_reads(tmp_path, programme):
    """GDAL 3.9+ writes GeoPackage 1.4 by default, whose R-tree triggers GDAL before 3.9 (QGIS 3.22, Debian 12's
    validate_gpkg.py) rejects (requirement 75): the pipeline writes 1.2, with the triggers of 1.2."""
    paths = write_soil_atlas(_one_country(programme, ["AC", "LP"]), {"AAA": 1}, tmp_path)
    with sqlite3.connect(paths["gpkg"]) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (10200,)
        triggers = {n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                             "AND name LIKE 'rtree_map_units_%'")}
    assert "rtree_map_units_geom_update1" in triggers and "rtree_map_units_geom_update6" not in triggers
    assert gpkg_violations(paths["gpkg"]) == []
    # the ported trigger check can fail: a 1.2 file with the 1.4 triggers' names is caught
    with sqlite3.connect(paths["gpkg"]) as db:
        db.execute("DROP TRIGGER rtree_map_units_geom_update1")
    assert gpkg_violations(paths["gpkg"]) == [
        "Req 75: rtree_map_units_geom has update triggers [2, 3, 4], GeoPackage 1.2 expects [1, 2, 3, 4]"]


def test_regional_geopackage_passes_gdals_own_validator(tmp_path, programme):
    validator = gdal_validator()
    if validator is None:
        pytest.skip("GDAL's validate_gpkg.py not found: no python3 on the PATH imports osgeo_utils "
                    "(Debian: apt-get install python3-gdal); the ported checks above still ran")
    paths = write_soil_atlas(_one_country(programme, ["AC", "LP"]), {"AAA": 1}, tmp_path)
    status, said = gdal_validate(paths["gpkg"], validator)
    assert status == 0, said
