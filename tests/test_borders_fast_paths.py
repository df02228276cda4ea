"""The fast paths of harmonization and the Soil Atlas give the answers of the general computations they replace.

Each test builds the inputs where the fast path applies and where it must not (overlapping units, units that
do not meet edge to edge, invalid polygons, high latitudes), and compares with the general computation.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from atlas.borders.adjacency import border_lines, linear_part
from atlas.borders.vector import area_km2, smaller_than, union_of_units
from atlas.products.soil_atlas import dissolve_by_rsg
from checks.wrb_columns import _canonical, canonical_units

EA = "ESRI:54034"


def tiles(n: int, x0: float = 0.0, y0: float = 0.0, size: float = 0.1) -> np.ndarray:
    """An n x n tiled map: neighbours share their edges vertex for vertex (a polygon coverage)."""
    xs, ys = x0 + size * np.arange(n + 1), y0 + size * np.arange(n + 1)
    return np.array([shapely.box(xs[i], ys[j], xs[i + 1], ys[j + 1]) for i in range(n) for j in range(n)],
                    dtype=object)


def test_union_of_a_tiled_map_is_the_coverage_union_and_equals_the_general_union(monkeypatch):
    geoms = tiles(6)
    geoms[7] = shapely.Polygon()  # an empty unit (clipped away) is left out, not an error
    expected = shapely.union_all(geoms)
    calls = []
    general = shapely.union_all
    monkeypatch.setattr(shapely, "union_all", lambda g, *a, **k: calls.append(1) or general(g, *a, **k))
    got = union_of_units(geoms)
    assert calls == []  # the coverage union was kept
    assert shapely.equals(got, expected)
    assert got.area == pytest.approx(expected.area, rel=1e-12)


@pytest.mark.parametrize("case", ["overlap", "t_junction", "inside"])
def test_union_of_units_that_are_no_coverage_is_the_general_union(case, monkeypatch):
    if case == "overlap":  # two units overlapping by a strip: a coverage union would count the strip twice
        geoms = [shapely.box(0, 0, 1, 1), shapely.box(0.9, 0, 2, 1)]
    elif case == "t_junction":  # one edge meets two: the shared vertex (1, 0.5) is on one side only
        geoms = [shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 0.5), shapely.box(1, 0.5, 2, 1)]
    else:  # a unit drawn inside another
        geoms = [shapely.box(0, 0, 2, 2), shapely.box(0.5, 0.5, 1, 1)]
    geoms = np.array(geoms, dtype=object)
    expected = shapely.union_all(geoms)
    calls = []
    general = shapely.union_all
    monkeypatch.setattr(shapely, "union_all", lambda g, *a, **k: calls.append(1) or general(g, *a, **k))
    got = union_of_units(geoms)
    assert calls  # fell back to the general union
    assert shapely.is_valid(got) and shapely.equals(got, expected)
    assert got.area == pytest.approx(expected.area, rel=1e-12)


def measured_reference(geoms) -> np.ndarray:
    """area_km2 as it was: every geometry densified to 0.05 degrees, then projected."""
    return gpd.GeoSeries(shapely.segmentize(np.asarray(geoms, dtype=object), 0.05), crs="EPSG:4326").to_crs(
        EA).area.to_numpy() / 1e6


def test_area_km2_leaves_short_edges_alone_and_still_repairs_and_densifies():
    bowtie = shapely.Polygon([(10, 10), (10.01, 10.01), (10.01, 10), (10, 10.01)])  # invalid, small
    geoms = np.array([shapely.box(10, 10, 10.02, 10.02), bowtie, shapely.box(100, 60, 102, 61),
                      shapely.box(0, 0, 0.04, 0.03), None, shapely.Polygon()], dtype=object)
    got, expected = area_km2(geoms, equal_area_crs=EA), measured_reference(geoms)
    np.testing.assert_array_equal(got, expected)  # bit for bit, missing and empty ones included
    assert got[1] > 0  # the bow tie measured as segmentize repairs it, as before


def test_smaller_than_finds_exactly_the_units_under_the_size():
    rng = np.random.default_rng(3)
    lat = rng.choice([0.0, 45.0, 70.0, 89.5], 400)
    side = 10 ** rng.uniform(-3.5, -1, 400)  # 0.0003 to 0.1 degrees: under and over 1 km2 at every latitude
    geoms = shapely.box(100.0, lat, 100.0 + side, np.minimum(lat + side, 90.0))
    geoms = np.r_[geoms, np.array([None, shapely.Polygon()], dtype=object)]
    for km2 in (0.01, 1.0, 5.0):
        areas = area_km2(geoms, equal_area_crs=EA)
        np.testing.assert_array_equal(smaller_than(geoms, km2, EA), np.flatnonzero(areas < km2))


def whole_outline_lines(geom_a, geom_b, tol):
    """border_lines from the whole outlines, as it was before the outlines were cut to the pair's box."""
    out_a = shapely.boundary(geom_a)
    tolerant = linear_part(shapely.intersection(out_a, shapely.buffer(geom_b, tol)))
    exact = linear_part(shapely.intersection(out_a, shapely.boundary(geom_b)))
    use_exact = shapely.length(exact) >= 0.5 * shapely.length(tolerant)
    return np.where(use_exact, shapely.line_merge(exact), tolerant)


def test_border_lines_from_cut_outlines_equal_those_from_whole_outlines():
    t = np.linspace(0, 2 * np.pi, 400, endpoint=False)
    big = shapely.Polygon(np.c_[1e6 * np.cos(t) * (1 + 0.1 * np.sin(7 * t)), 1e6 * np.sin(t)])  # a long coast
    edge = np.array(big.exterior.coords)[95:106]  # a stretch of the big one's outline, around x = 0, y = 1e6
    small = shapely.Polygon(np.r_[edge, [[edge[-1][0], 1.3e6], [edge[0][0], 1.3e6]]])  # shares it exactly
    offset = shapely.affinity.translate(small, 0, 60)  # drawn 60 m off: only the tolerant line finds it
    enclave = shapely.Polygon(np.c_[2e5 * np.cos(t), 2e5 * np.sin(t)])
    holed = shapely.Polygon(big.exterior.coords, [enclave.exterior.coords])
    # a neighbour whose far part lies along the edge of the cut box from outside: the cut gives it a line too
    unit = shapely.box(0, 0, 1e5, 1e5)
    arm = shapely.union_all([shapely.box(1e5, 0, 2.5e5, 1e5), shapely.box(2e5, 1e5, 2.5e5, 2e5),
                             shapely.box(1e5, 1e5 + 400, 2.5e5, 2e5)])  # lower edge on the cut (2 x 200 m out)
    a = np.array([big, small, big, offset, holed, enclave, unit], dtype=object)
    b = np.array([small, big, offset, big, enclave, holed, arm], dtype=object)
    got, expected = border_lines(a, b, 100.0), whole_outline_lines(a, b, 100.0)
    assert (shapely.length(got) > 0).all()
    np.testing.assert_allclose(shapely.length(got), shapely.length(expected), rtol=1e-12)
    assert shapely.equals(got, expected).all()


def test_canonical_columns_computed_once_per_class_are_those_of_each_unit():
    values = ["CM", "Haplic Cambisols", 1, 1.0, None, "WAT", "latosol", "CM", float("nan"), True]
    gdf = gpd.GeoDataFrame({"unit_id": [str(i) for i in range(len(values))], "rsg1": values, "share1": 100},
                           geometry=[shapely.box(i, 0, i + 1, 1) for i in range(len(values))], crs="EPSG:4326")
    for legacy in ("correlate", "provisional"):
        out = canonical_units(gdf, legacy)
        column = gdf["rsg1"].astype(object).where(gdf["rsg1"].notna(), None)
        expected = [_canonical(v, legacy, False) for v in column]
        got = [out[c].astype(object).where(out[c].notna(), None) for c in ("rsg1_code", "rsg1_name", "rsg1_status")]
        assert list(zip(*got, strict=True)) == expected
        assert expected[0] == expected[7] == ("CM", "Cambisols", "wrb")
        assert expected[6] == (("FR", "Ferralsols", "provisional") if legacy == "provisional" else (None,) * 3)
        assert out["rsg2_code"].isna().all() and out["rsg3_status"].isna().all()  # fields not sent


def test_dissolve_by_group_equals_geopandas_dissolve():
    geoms = np.r_[tiles(4), tiles(3, x0=1.0), np.array([shapely.box(0.4, 0.4, 0.45, 0.45)], dtype=object)]
    codes = ["CM", "LP", "CM", None] * 4 + ["FL", "CM", "LP"] * 3 + ["CM"]
    region = gpd.GeoDataFrame({
        "country": ["AAA"] * 16 + ["BBB"] * 9 + ["AAA"], "rsg1_code": codes,
        "rsg1_name": [None if c is None else f"name {c}" for c in codes],
        "rsg1_status": ["wrb"] * 20 + ["provisional"] * 6}, geometry=geoms, crs="EPSG:4326")
    got = dissolve_by_rsg(region, EA)
    frame = region.assign(rsg1_code=region["rsg1_code"].fillna("unclassified"),
                          provisional=region["rsg1_status"].eq("provisional"))
    expected = frame.dissolve(by=["rsg1_code", "provisional"], as_index=False,
                              aggfunc={"country": lambda s: ",".join(sorted(set(s))), "rsg1_name": "first"})
    cols = ["rsg1_code", "rsg1_name", "provisional", "country"]
    pd.testing.assert_frame_equal(pd.DataFrame(got.drop(columns=["geometry", "area_km2"])),
                                  pd.DataFrame(expected[cols]).rename(columns={"country": "countries"}))
    assert shapely.equals(got.geometry.values.to_numpy(), expected.geometry.values.to_numpy()).all()
    np.testing.assert_allclose(got["area_km2"], area_km2(expected.geometry.values.to_numpy(), equal_area_crs=EA),
                               rtol=1e-12)
