"""Edge matching: a mismatch of known length along a shared border."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from pyproj import Geod

from atlas.borders.adjacency import adjacency
from atlas.borders.edges import border_mismatches
from atlas.borders.vector import harmonize_region


def halves(x0, x1, bottom, top) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"unit_id": ["S", "N"], "rsg1": [bottom, top], "share1": 100},
                            geometry=[shapely.box(x0, 0, x1, 0.5), shapely.box(x0, 0.5, x1, 1)], crs="EPSG:4326")


def test_mismatch_of_known_length(programme):
    bnd = gpd.GeoDataFrame({"iso3": ["AAA", "BBB"], "name": ["A", "B"]},
                           geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)], crs="EPSG:4326")
    # names and codes mix: "Haplic Cambisols" and "CM" are the same group, "Fluvisol" differs from "LP"
    maps = {"AAA": halves(0, 1.01, "Haplic Cambisols", "LP"), "BBB": halves(0.99, 2, "cm", "Fluvisol")}
    res = harmonize_region(maps, bnd, programme)
    adj = adjacency(bnd)
    seg, summary = border_mismatches(res.region, bnd, adj, programme)
    geod = Geod(ellps="WGS84")
    north_km = geod.inv(1, 0.5, 1, 1)[2] / 1000
    south_km = geod.inv(1, 0, 1, 0.5)[2] / 1000
    assert len(seg) == 1
    row = seg.iloc[0]
    assert (row["pair"], row["unit_a"], row["unit_b"], row["rsg_a"], row["rsg_b"]) == ("AAA-BBB", "N", "N", "LP", "FL")
    assert row["length_km"] == pytest.approx(north_km, abs=0.01)
    assert row["lon"] == pytest.approx(1.0) and row["lat"] == pytest.approx(0.75, abs=1e-3)
    s = summary.iloc[0]
    assert s["mismatched_km"] == pytest.approx(north_km, abs=0.01)
    assert s["matched_km"] == pytest.approx(south_km, abs=0.01)
    assert s["border_km"] == pytest.approx(north_km + south_km, rel=1e-6)
    assert s["match_share"] == pytest.approx(0.5, abs=1e-3)
