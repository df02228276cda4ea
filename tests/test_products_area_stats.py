"""Equal-area statistics: a synthetic country with known class areas; RSG areas; CSV + Excel."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from shapely.geometry import box

from atlas.products.area_stats import row_areas_km2, rsg_areas, salinity_class_areas, write_area_tables

RES = 1.0 / 120.0
A, E2 = 6378137.0, 0.0066943799901413165  # WGS 84


def quad_area_km2(lon0, lon1, lat0, lat1):
    """Exact area of a lon/lat quadrangle on the WGS 84 ellipsoid (authalic formula)."""
    e = np.sqrt(E2)

    def q(phi):
        s = np.sin(np.radians(phi))
        return s / (1 - E2 * s * s) + np.log((1 + e * s) / (1 - e * s)) / (2 * e)

    return A * A * (1 - E2) / 2 * np.radians(lon1 - lon0) * (q(lat1) - q(lat0)) / 1e6


def test_pixel_areas_match_the_ellipsoid():
    areas = row_areas_km2(Affine(RES, 0, 100.0, 0, -RES, 60.0), 3, "ESRI:54034")
    assert areas[0] == pytest.approx(quad_area_km2(100, 100 + RES, 60 - RES, 60), rel=1e-6)
    assert areas[0] < areas[2]  # pixels grow towards the equator


def test_synthetic_country_class_areas_within_half_a_percent(tmp_path, programme):
    # 2 x 1 degree at 40-41N: top half class 1, bottom half class 3, a nodata column strip
    height, width = 120, 240
    classes = np.full((height, width), 1, dtype="uint8")
    classes[60:, :] = 3
    classes[:, 200:] = 255
    path = tmp_path / "GSSmap_SAS_0-30.tif"
    with rasterio.open(path, "w", driver="GTiff", width=width, height=height, count=1, dtype="uint8", nodata=255,
                       crs="EPSG:4326", transform=Affine(RES, 0, 70.0, 0, -RES, 41.0)) as dst:
        dst.write(classes, 1)
    country = np.ones((height, width), dtype="uint8")
    country[:, :10] = 2  # a neighbour owns the first 10 columns
    table = salinity_class_areas({"SAS_0-30": path}, country, ["AAA", "BBB"], programme)
    got = table.set_index(["iso3", "class_code"])["area_km2"]
    lon0, lon1 = 70 + 10 * RES, 70 + 200 * RES
    assert got[("AAA", 1)] == pytest.approx(quad_area_km2(lon0, lon1, 40.5, 41.0), rel=0.005)
    assert got[("AAA", 3)] == pytest.approx(quad_area_km2(lon0, lon1, 40.0, 40.5), rel=0.005)
    assert got[("AAA", 2)] == 0.0
    assert got[("REGION", 1)] == pytest.approx(quad_area_km2(70, lon1, 40.5, 41.0), rel=0.005)
    assert set(table["depth"]) == {"0-30"} and set(table["source"]) == {"delivered"}


def test_rsg_areas_by_country_normalised_and_equal_area(programme):
    gdf = gpd.GeoDataFrame(
        {"iso3": ["AAA", "AAA", "BBB"], "rsg1": ["Calcaric Cambisols", "CM", "Solonchak"]},
        geometry=[box(70, 40, 71, 41), box(71, 40, 72, 41), box(72, 40, 73, 40.5)], crs="EPSG:4326")
    table = rsg_areas(gdf, programme).set_index(["iso3", "rsg"])["area_km2"]
    assert table[("AAA", "CM")] == pytest.approx(2 * quad_area_km2(70, 71, 40, 41), rel=1e-6)
    assert table[("BBB", "SC")] == pytest.approx(quad_area_km2(72, 73, 40, 40.5), rel=1e-6)
    assert table[("REGION", "CM")] == pytest.approx(table[("AAA", "CM")])


def test_tables_written_as_csv_and_one_workbook(tmp_path):
    frames = {"salinity_class_areas": pd.DataFrame({"iso3": ["AAA"], "area_km2": [1.5]}),
              "rsg_areas": pd.DataFrame({"iso3": ["AAA"], "rsg": ["CM"], "area_km2": [2.0]})}
    paths = write_area_tables(frames, tmp_path)
    assert pd.read_csv(paths["rsg_areas"])["area_km2"].tolist() == [2.0]
    sheets = pd.read_excel(paths["xlsx"], sheet_name=None)
    assert set(sheets) == set(frames) and sheets["salinity_class_areas"]["area_km2"].tolist() == [1.5]


def test_workbook_rounded_with_names_next_to_codes(programme, tmp_path):
    from openpyxl import load_workbook

    gdf = gpd.GeoDataFrame({"iso3": ["KHM"], "rsg1": ["AC"]}, geometry=[box(104, 12, 104.3, 12.2)], crs="EPSG:4326")
    table = rsg_areas(gdf, programme)
    assert list(table.columns[:4]) == ["iso3", "country", "rsg", "rsg_name"]
    assert table.set_index("iso3").loc["KHM", ["country", "rsg_name"]].tolist() == ["Cambodia", "Acrisols"]
    assert "Region (all members)" in set(table["country"])
    paths = write_area_tables({"rsg_areas": table}, tmp_path)
    assert pd.read_csv(paths["rsg_areas"])["area_km2"].iloc[0] == pytest.approx(table["area_km2"].iloc[0])
    ws = load_workbook(paths["xlsx"])["rsg_areas"]
    header = [c.value for c in ws[1]]
    area = ws.cell(row=2, column=header.index("area_km2") + 1)
    assert area.value == round(table["area_km2"].iloc[0], 1) and area.number_format == "#,##0.0"
    assert ws.freeze_panes == "A2" and ws.page_setup.orientation == "landscape"
