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


def test_both_countries_get_the_same_segments_each_from_its_side(programme):
    from atlas.borders.edges import border_feedback

    bnd = gpd.GeoDataFrame({"iso3": ["AAA", "BBB", "CCC"], "name": ["A", "B", "C"]},
                           geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1), shapely.box(0, 1, 2, 2)],
                           crs="EPSG:4326")
    maps = {"AAA": halves(0, 1, "CM", "LP"), "BBB": halves(1, 2, "CM", "FL")}  # CCC sends no map
    res = harmonize_region(maps, bnd, programme)
    seg, summary = border_mismatches(res.region, bnd, adjacency(bnd), programme)
    feedback = border_feedback(seg, summary)
    a = [f for f in feedback["AAA"] if f.check_id == "border.mismatch"]
    b = [f for f in feedback["BBB"] if f.check_id == "border.mismatch"]
    assert [f.observed["segment"] for f in a] == [f.observed["segment"] for f in b] == ["AAA-BBB#1"]
    assert (a[0].observed["group"], a[0].observed["neighbour_group"]) == ("LP", "FL")
    assert (b[0].observed["group"], b[0].observed["neighbour_group"]) == ("FL", "LP")
    assert a[0].location.lat == pytest.approx(0.75, abs=1e-3) and a[0].location.lon == pytest.approx(1.0)
    to_ccc = next(f for f in feedback["AAA"] if f.check_id == "border.mismatch_summary"
                  and f.observed["neighbour"] == "CCC")
    assert "CCC has no map along it" in to_ccc.message and to_ccc.severity.value == "info"
    to_bbb = next(f for f in feedback["AAA"] if f.check_id == "border.mismatch_summary"
                  and f.observed["neighbour"] == "BBB")
    assert to_bbb.severity.value == "warning" and to_bbb.observed["segments"] == 1
