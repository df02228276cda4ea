"""A national version's footprint and areas per soil group / salinity class, as its report stores them."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from atlas.borders.vector import area_km2
from atlas.products.national_summary import salinity_summary, soil_map_summary


def test_soil_map_areas_per_group_sum_to_the_map_and_footprint_is_its_outline(programme):
    boxes = [shapely.box(100, 10, 100.5, 10.5), shapely.box(100.5, 10, 101, 10.5), shapely.box(100, 10.5, 101, 11)]
    gdf = gpd.GeoDataFrame({"rsg1": ["CM", "Cambisols", "Ao"]}, geometry=boxes, crs="EPSG:4326").to_crs(32647)
    footprint, areas = soil_map_summary(gdf, programme)
    rows = {r["name"]: r["area_km2"] for r in areas["rows"]}
    assert areas["by"] == "soil group" and set(rows) == {"CM Cambisols", "Ao (not a WRB group)"}
    expected = area_km2(np.array(boxes[:2], dtype=object)).sum()
    assert rows["CM Cambisols"] == pytest.approx(expected, rel=1e-3)
    assert footprint.geom_type == "Polygon"  # one outline, not one per unit
    assert shapely.symmetric_difference(footprint, shapely.box(100, 10, 101, 11)).area < 1e-4


def test_salinity_areas_per_class_and_depth_from_the_class_layer(programme, tmp_path):
    res = programme.resolution_deg
    a, b, c, d = sorted(programme.salinity.classes)[:4]  # four codes of the programme legend
    classes = np.array([[a, b, b, 255], [c, d, 255, 255]], dtype="uint8")
    path = tmp_path / "SAS.tif"
    with rasterio.open(path, "w", driver="GTiff", width=4, height=2, count=1, dtype="uint8", nodata=255,
                       crs="EPSG:4326", transform=from_origin(100, 11, res, res)) as dst:
        dst.write(classes, 1)
    footprint, areas = salinity_summary({("SAS", "0-30"): path}, programme)
    rows = {r["name"]: r["area_km2"] for r in areas["rows"]}
    name = {code: f"{programme.salinity.display(code)}, 0-30 cm" for code in (a, b, c, d)}
    assert {r["source"] for r in areas["rows"]} == {"delivered"}
    one_pixel = rows[name[a]]
    assert 0.8 < one_pixel < 0.9  # a 30 arc-second pixel near 11°N is about 0.84 km²
    assert rows[name[b]] == pytest.approx(2 * one_pixel, rel=1e-3)
    assert set(rows) == set(name.values())
    assert footprint.area == pytest.approx(5 * res * res, rel=1e-6)  # valid pixels only
