"""Country raster: the rule for pixels the border cuts; seams across borders."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from shapely.geometry import box

from atlas.borders.raster_rules import country_raster, seams
from atlas.grid import Grid

RES = 1.0 / 120.0
GRID = Grid("EPSG:4326", Affine(RES, 0, 100.0, 0, -RES, 11.0), 20, 10)  # 100E..100.1667E, 10.9167..11N


def countries(*specs):
    return gpd.GeoDataFrame({"iso3": [s[0] for s in specs]}, geometry=[s[1] for s in specs], crs="EPSG:4326")


def x(px):
    return 100.0 + px * RES


def test_border_through_a_pixel_goes_to_the_country_covering_its_centre():
    # border at 10.3 px: pixel column 10 (centre 10.5) belongs to BBB
    gdf = countries(("AAA", box(x(0), 10.9, x(10.3), 11.0)), ("BBB", box(x(10.3), 10.9, x(20), 11.0)))
    idx = country_raster(gdf, GRID, ["AAA", "BBB"])
    assert idx.dtype == np.uint8
    assert (idx[:, :10] == 1).all() and (idx[:, 10:] == 2).all()


def test_pixel_whose_centre_no_country_covers_goes_to_the_largest_share():
    # gap from 10.3 to 10.8 px: pixel 10's centre is in the gap; AAA covers 30 %, BBB 20 %
    gdf = countries(("AAA", box(x(0), 10.9, x(10.3), 11.0)), ("BBB", box(x(10.8), 10.9, x(20), 11.0)))
    idx = country_raster(gdf, GRID, ["AAA", "BBB"])
    assert (idx[:, 10] == 1).all()
    gdf = countries(("AAA", box(x(0), 10.9, x(10.2), 11.0)), ("BBB", box(x(10.6), 10.9, x(20), 11.0)))
    assert (country_raster(gdf, GRID, ["AAA", "BBB"])[:, 10] == 2).all()


def test_coast_pixel_touched_by_one_country_is_kept_and_sea_is_none():
    gdf = countries(("AAA", box(x(0), 10.9, x(5.2), 11.0)))
    idx = country_raster(gdf, GRID, ["AAA"])
    assert (idx[:, :6] == 1).all() and (idx[:, 6:] == 0).all()


def test_every_pixel_belongs_to_exactly_one_country_on_a_diagonal_border():
    west = gpd.GeoSeries([box(x(0), 10.9, x(20), 11.0)], crs="EPSG:4326")
    from shapely.geometry import Polygon
    tri = Polygon([(x(0), 11.0), (x(20), 11.0), (x(0), 10.9)])
    gdf = countries(("AAA", tri), ("BBB", west.iloc[0].difference(tri)))
    idx = country_raster(gdf, GRID, ["AAA", "BBB"])
    assert set(np.unique(idx)) == {1, 2}  # nothing lost, no third value
    assert idx[0, 0] == 1 and idx[-1, -1] == 2


def test_country_raster_across_the_antimeridian():
    grid = Grid.covering((179.9, 60.0, -179.9, 60.1))
    gdf = countries(("RUS", box(179.0, 60.0, 180.0, 61.0)), ("USA", box(-180.0, 60.0, -179.0, 61.0)))
    idx = country_raster(gdf, grid, ["RUS", "USA"])
    half = grid.width // 2
    assert (idx[:, :half] == 1).all() and (idx[:, half:] == 2).all()


def test_seams_report_differences_between_pixels_on_each_side(tmp_path):
    gdf = countries(("AAA", box(x(0), 10.9, x(10), 11.0)), ("BBB", box(x(10), 10.9, x(20), 11.0)))
    idx = country_raster(gdf, GRID, ["AAA", "BBB"])
    data = np.where(idx == 1, 1.0, 3.5).astype("float32")
    data[0, 9] = -9999.0  # one pair without data on one side
    path = tmp_path / "GSSmap_ECe_0-30.tif"
    with rasterio.open(path, "w", driver="GTiff", width=20, height=10, count=1, dtype="float32", nodata=-9999.0,
                       crs="EPSG:4326", transform=GRID.transform) as dst:
        dst.write(data, 1)
    table = seams({("ECe", "0-30"): path}, idx, [("BBB", "AAA")], ["AAA", "BBB"])
    row = table.iloc[0]
    assert (row["iso3_a"], row["iso3_b"], row["n_pixel_pairs"]) == ("AAA", "BBB", 9)
    assert row["mean_abs_diff"] == pytest.approx(2.5) and row["median_abs_diff"] == pytest.approx(2.5)
    assert seams({("ECe", "0-30"): path}, idx, [("AAA", "CCC")], ["AAA", "BBB"]).empty


def test_seams_count_each_pair_once_across_strips(tmp_path, monkeypatch):
    import atlas.borders.raster_rules as rb

    monkeypatch.setattr(rb, "STRIP_ROWS", 3)  # 10 rows -> strips of 3, 3, 3, 1
    top = countries(("AAA", box(x(0), 11.0 - 5 * RES, x(20), 11.0)), ("BBB", box(x(0), 10.9, x(20), 11.0 - 5 * RES)))
    idx = country_raster(top, GRID, ["AAA", "BBB"])
    data = np.where(idx == 1, 2.0, 5.0).astype("float32")
    path = tmp_path / "GSSmap_pH_0-30.tif"
    with rasterio.open(path, "w", driver="GTiff", width=20, height=10, count=1, dtype="float32", nodata=-9999.0,
                       crs="EPSG:4326", transform=GRID.transform) as dst:
        dst.write(data, 1)
    table = seams({("pH", "0-30"): path}, idx, None, ["AAA", "BBB"])
    assert table["n_pixel_pairs"].tolist() == [20] and table["mean_abs_diff"].tolist() == [3.0]
