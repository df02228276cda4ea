"""Review cases of issue 21 ("one answer to what is in the product"), cases b, g, h, k and l.

Each test failed on the code before its fix; each builds its small files in tmp_path.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pytest
import shapely

from atlas.intake.inbox import Submission
from atlas.layout import SOIL_MAP_FILE
from checks.registry import load_all
from checks.vector import soil_map_findings

load_all()
BOUNDARY = shapely.box(104.0, 12.0, 105.0, 13.0)


def _submission(folder, files, country="KHM", deliverable="soil_map") -> Submission:
    return Submission(country, deliverable, "2026-04-10", 1, folder, tuple(files), dt.date(2026, 4, 10), "x")


def _values(column) -> list:
    """A column's values with None for missing (GeoPackage text reads back NaN)."""
    return column.astype(object).where(column.notna(), None).tolist()


def test_case_b_own_rsg1_code_never_skips_canonicalisation(tmp_path, programme):
    """A map with its own rsg1_code: the codes it sends go to delivered_rsg1_code, the canonical ones are computed."""
    from atlas.borders.vector import harmonize_region
    from atlas.stages import harmonize_national

    xs = [104.0, 104.25, 104.5, 104.75, 105.0]
    gdf = gpd.GeoDataFrame({
        "unit_id": ["u1", "u2", "u3", "u4"], "rsg1": ["CM", "Lf", "FL", "Gleysols"], "share1": 100,
        "rsg1_code": ["CM", "Lf", "CM", "VR"],  # a legacy FAO-74 code and two codes contradicting rsg1
        "delivered_rsg1": ["x", "y", "z", "w"],  # a column named like ours: never takes the place of ours
    }, geometry=[shapely.box(xs[k], 12.0, xs[k + 1], 13.0) for k in range(4)], crs="EPSG:4326")
    raw = tmp_path / "raw"
    raw.mkdir()
    path = raw / "KHM_soil.gpkg"
    gdf.to_file(path)

    findings = soil_map_findings(path, programme, "KHM", BOUNDARY)
    own = [f for f in findings if f.check_id == "wrb.own_canonical_columns"]
    assert own and "delivered_rsg1_code" in own[0].message and "differs from rsg1 in 3 feature(s)" in own[0].message

    out = tmp_path / "national"
    out.mkdir()
    outputs, _ = harmonize_national(_submission(raw, [path]), programme, out)
    copy = gpd.read_file(outputs["soil_map"], layer="map_units")
    assert outputs["soil_map"].name == SOIL_MAP_FILE
    assert _values(copy["rsg1_code"]) == ["CM", None, "FL", "GL"]  # "Lf" is legacy: not published until correlated
    assert _values(copy["rsg1_name"]) == ["Cambisols", None, "Fluvisols", "Gleysols"]
    assert _values(copy["rsg1_status"]) == ["wrb", None, "wrb", "wrb"]
    assert copy["delivered_rsg1"].tolist() == ["CM", "Lf", "FL", "Gleysols"]
    assert copy["delivered_rsg1_code"].tolist() == ["CM", "Lf", "CM", "VR"]
    assert copy["delivered_delivered_rsg1"].tolist() == ["x", "y", "z", "w"]

    bnd = gpd.GeoDataFrame({"iso3": ["KHM"], "name": ["Cambodia"]}, geometry=[BOUNDARY], crs="EPSG:4326")
    region = harmonize_region({"KHM": copy}, bnd, programme).region.sort_values("unit_id")
    assert _values(region["rsg1_code"]) == ["CM", None, "FL", "GL"]  # the copy is not canonicalised twice
    assert "Lf" not in set(region["rsg1_code"].dropna()) and "VR" not in set(region["rsg1_code"].dropna())


def _territories(**shapes) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"iso3": list(shapes), "name": list(shapes)}, geometry=list(shapes.values()),
                            crs="EPSG:4326")


def _units(boxes, groups, prefix="U") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"unit_id": [f"{prefix}{k}" for k in range(len(boxes))], "rsg1": groups, "share1": 100},
                            geometry=boxes, crs="EPSG:4326")


def test_case_h_unmapped_island_offshore_stays_unmapped(programme):
    """A small island 110 km off the coast that the country did not map never takes a mainland unit's group."""
    from atlas.borders.vector import area_km2, harmonize_region

    mainland, island = shapely.box(0.0, 0.0, 1.0, 1.0), shapely.box(1.99, 0.49, 2.01, 0.51)  # ~2 km wide, ~5 km2
    bnd = _territories(AAA=shapely.MultiPolygon([mainland, island]))
    soil = _units([shapely.box(0.0, 0.0, 0.5, 1.0), shapely.box(0.5, 0.0, 1.0, 1.0)], ["CM", "FL"])
    res = harmonize_region({"AAA": soil}, bnd, programme)

    mapped = area_km2(res.region.geometry.values.to_numpy()).sum()
    assert mapped == pytest.approx(area_km2([mainland])[0], rel=1e-9)  # the island is in no unit
    assert not res.region.geometry.intersects(island).any()
    assert "gap_filled" not in set(res.changes["kind"])
    left = res.changes[res.changes["kind"] == "gap_left"]
    assert len(left) == 1 and left["area_km2"].iloc[0] == pytest.approx(area_km2([island])[0], rel=1e-6)
    found = [f for f in res.findings if f.check_id == "harmonize.gap_left"]
    assert len(found) == 1
    f = found[0]
    assert f.location.feature == "AAA" and island.contains(shapely.Point(f.location.lon, f.location.lat))
    assert f.observed["area_km2"] == pytest.approx(area_km2([island])[0], abs=1e-3)
    assert 100 < f.observed["distance_km"] < 115  # 0.99° of longitude at the equator: about 110 km
    assert "stays unmapped" in f.message


def test_case_g_overlapping_reference_territories_count_once(programme):
    """A strip both reference territories claim counts once in the Soil Atlas, for the country the grid gives it."""
    from affine import Affine

    from atlas.borders.raster_rules import country_raster
    from atlas.borders.vector import area_km2, harmonize_region
    from atlas.grid import Grid

    a, b = shapely.box(0.0, 0.0, 1.0, 1.0), shapely.box(0.9, 0.0, 2.0, 1.0)  # 0.9-1.0: claimed by both
    strip = shapely.box(0.9, 0.0, 1.0, 1.0)
    bnd = _territories(BBB=b, AAA=a)  # the layer's own order is not the rule
    maps = {"BBB": _units([b], ["FL"], "B"), "AAA": _units([a], ["CM"], "A")}  # both map the strip
    res = harmonize_region(maps, bnd, programme)

    land = area_km2([shapely.union_all([a, b])])[0]
    assert area_km2(res.region.geometry.values.to_numpy()).sum() == pytest.approx(land, rel=1e-6)
    in_strip = res.region[shapely.area(shapely.intersection(res.region.geometry.values.to_numpy(), strip)) > 1e-9]
    assert in_strip["country"].tolist() == ["AAA"]

    # the raster rule gives the strip's pixels to the same country
    grid = Grid("EPSG:4326", Affine(0.05, 0, 0.0, 0, -0.05, 1.0), 40, 20)
    idx = country_raster(bnd, grid, ["AAA", "BBB"])
    assert set(np.unique(idx[:, 18:20])) == {1}  # columns 0.90-1.00: index 1 is AAA

    found = [f for f in res.findings if f.check_id == "harmonize.territory_overlap"]
    assert {f.location.feature for f in found} == {"AAA", "BBB"}
    for f in found:
        assert "AAA" in f.message and "BBB" in f.message
        assert f.observed["area_km2"] == pytest.approx(area_km2([strip])[0], rel=1e-4)
        assert f.observed["counted_for"] == "AAA"
