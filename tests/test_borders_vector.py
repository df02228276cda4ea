"""Vector harmonization with known answers: overlap, gap, sliver, conservation, a projected submission."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod

from atlas.borders.vector import area_km2, clip_soil_map, harmonize_region

GEOD = Geod(ellps="WGS84")


def geodesic_km2(geom) -> float:
    """Independent area on the ellipsoid (not the equal-area projection the code uses)."""
    return abs(GEOD.geometry_area_perimeter(geom)[0]) / 1e6


def strips(x0, x1, rsg, y0=0.0, y1=1.0) -> gpd.GeoDataFrame:
    xs = np.linspace(x0, x1, len(rsg) + 1)
    geoms = [shapely.box(xs[i], y0, xs[i + 1], y1) for i in range(len(rsg))]
    return gpd.GeoDataFrame({"unit_id": [f"U{i}" for i in range(len(rsg))], "rsg1": rsg, "share1": 100},
                            geometry=geoms, crs="EPSG:4326")


@pytest.fixture
def pair():
    return gpd.GeoDataFrame({"iso3": ["AAA", "BBB"], "name": ["A", "B"]},
                            geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)], crs="EPSG:4326")


def totals(result, country):
    return area_km2(result.region.loc[result.region["country"] == country].geometry.values.to_numpy())


def test_overlap_and_gap_of_known_area_and_conservation(pair, programme):
    a = strips(0, 1.02, ["CM", "CM", "LP", "FL"])  # 0.02 deg over the border, 0.01 of it on B's map
    b = strips(1.01, 2.0, ["FL", "AC", "AC"])  # leaves a 0.01 deg (1.1 km) gap along the border
    res = harmonize_region({"AAA": a, "BBB": b}, pair, programme)
    log = res.changes.groupby(["country", "kind"])["area_km2"].sum()
    overlap = geodesic_km2(shapely.box(1.01, 0, 1.02, 1))
    gap = geodesic_km2(shapely.box(1.0, 0, 1.01, 1))
    assert log[("AAA", "overlap_resolved")] == pytest.approx(overlap, rel=1e-3)
    assert log[("AAA", "clip_spill")] == pytest.approx(geodesic_km2(shapely.box(1.0, 0, 1.01, 1)), rel=1e-3)
    assert log[("BBB", "gap_filled")] == pytest.approx(gap, rel=1e-3)
    assert "gap_left" not in res.changes["kind"].tolist()
    # the filled gap joins B's nearest unit, the one touching the border
    filled = res.changes[res.changes["kind"] == "gap_filled"]
    assert set(filled["unit_id"]) == {"U0"}
    # conservation: harmonized = reference - gaps left; submitted - removed + filled = harmonized
    for country, submitted in (("AAA", a), ("BBB", b)):
        ref = area_km2(pair.loc[pair["iso3"] == country].geometry.values.to_numpy()).sum()
        got = totals(res, country).sum()
        assert got == pytest.approx(ref, rel=1e-9)
        c = res.changes[res.changes["country"] == country]
        removed = c.loc[c["kind"].isin(["clip_spill", "overlap_resolved"]), "area_km2"].sum()
        added = c.loc[c["kind"] == "gap_filled", "area_km2"].sum()
        assert area_km2(submitted.geometry.values.to_numpy()).sum() - removed + added == pytest.approx(got, rel=1e-9)
    # the two maps now meet exactly on the reference border
    ua = shapely.union_all(res.region.loc[res.region["country"] == "AAA"].geometry.values.to_numpy())
    ub = shapely.union_all(res.region.loc[res.region["country"] == "BBB"].geometry.values.to_numpy())
    assert area_km2([shapely.intersection(ua, ub)]).sum() < 1e-6
    assert shapely.equals(shapely.union(ua, ub).normalize(), shapely.box(0, 0, 2, 1).normalize()) or \
        area_km2([shapely.symmetric_difference(shapely.union(ua, ub), shapely.box(0, 0, 2, 1))])[0] < 1e-6
    kinds = {f.check_id: f.severity.value for f in res.findings}
    assert kinds["harmonize.overlap_resolved"] == "fixed" and kinds["harmonize.gap_filled"] == "fixed"
    notes = res.region.set_index(["country", "unit_id"])["harmonization_notes"]
    assert "overlap_resolved" in notes[("AAA", "U3")] and "gap_filled" in notes[("BBB", "U0")]
    assert notes[("AAA", "U0")] == ""


def test_wide_gap_left_and_flagged(pair, programme):
    b = strips(1.1, 2.0, ["FL", "AC"])  # 0.1 deg = 11 km, over the 5 km tolerance
    res = harmonize_region({"BBB": b}, pair, programme)
    left = res.changes[res.changes["kind"] == "gap_left"]
    assert len(left) == 1
    assert left["area_km2"].iloc[0] == pytest.approx(geodesic_km2(shapely.box(1.0, 0, 1.1, 1)), rel=1e-3)
    warn = [f for f in res.findings if f.check_id == "harmonize.gap_left"]
    assert len(warn) == 1 and warn[0].severity.value == "warning" and warn[0].location.lon == pytest.approx(1.05)
    ref = area_km2(pair.geometry.values.to_numpy())[1]
    assert totals(res, "BBB").sum() == pytest.approx(ref - left["area_km2"].sum(), rel=1e-9)


def test_sliver_merged_into_longest_shared_edge(pair, programme):
    sliver = shapely.box(0.495, 0.9995, 0.51, 1.0)  # 1.7 km x 55 m, 0.09 km2; 1.1 km shared with U1, 0.55 with U0
    a = strips(0, 1.0, ["CM", "LP"])
    a.geometry = a.geometry.difference(sliver)
    a.loc[2] = ["U9", "GL", 100, sliver]
    res = harmonize_region({"AAA": a}, pair, programme)
    merged = res.changes[res.changes["kind"] == "sliver_merged"]
    assert len(merged) == 1 and merged["unit_id"].iloc[0] == "U9"
    assert merged["area_km2"].iloc[0] == pytest.approx(geodesic_km2(sliver), rel=1e-3)
    assert "GL" not in res.region["rsg1_code"].tolist()
    u1 = res.region.loc[res.region["unit_id"] == "U1"]
    assert area_km2(u1.geometry.values.to_numpy())[0] == pytest.approx(geodesic_km2(shapely.box(0.5, 0, 1, 1)) +
                                                                      geodesic_km2(shapely.box(0.495, 0.9995, 0.5, 1)),
                                                                      rel=1e-4)
    assert "received sliver" in u1["harmonization_notes"].iloc[0]
    assert totals(res, "AAA").sum() == pytest.approx(area_km2(pair.geometry.values.to_numpy())[0], rel=1e-9)


def test_projected_submission_reprojected_and_clipped(pair, programme):
    a = strips(0, 1.05, ["CM", "LP"]).to_crs("EPSG:32631")  # UTM 31N, spills 0.05 deg into B
    clipped, findings = clip_soil_map(a, "AAA", pair, programme)
    ids = [f.check_id for f in findings]
    assert "harmonize.reprojected" in ids and clipped.crs.to_epsg() == 4326
    spill = next(f for f in findings if f.check_id == "harmonize.clip_spill")
    assert spill.observed == pytest.approx(geodesic_km2(shapely.box(1.0, 0, 1.05, 1)), rel=2e-3)
    assert clipped.total_bounds[2] == pytest.approx(1.0)
    _, missing = clip_soil_map(a, "ZZZ", pair, programme)
    assert any(f.check_id == "harmonize.no_reference" and f.severity.value == "error" for f in missing)
