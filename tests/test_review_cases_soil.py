"""Review cases on soil maps (issue 16): each a test that failed on the code before its fix."""

from __future__ import annotations

import geopandas as gpd
import shapely

from checks.registry import load_all
from checks.vector import soil_map_findings

load_all()
BOUNDARY = shapely.box(104.0, 12.0, 105.0, 13.0)


def test_case_13_nested_unit_is_reported_as_overlap(tmp_path, programme):
    """A unit drawn on top of another without a hole (one contains the other) is an overlap too."""
    outer = shapely.box(104.0, 12.0, 105.0, 13.0)
    inner = shapely.box(104.2, 12.2, 104.4, 12.4)  # wholly inside `outer`: 'overlaps' is false for this pair
    gdf = gpd.GeoDataFrame({"unit_id": ["big", "nested"], "rsg1": ["CM", "FL"], "share1": [100, 100]},
                           geometry=[outer, inner], crs="EPSG:4326")
    path = tmp_path / "KHM_soil.gpkg"
    gdf.to_file(path)
    found = [f for f in soil_map_findings(path, programme, "KHM", BOUNDARY) if f.check_id == "vector.overlap"]
    assert len(found) == 1
    assert found[0].observed["pairs"] == 1
    # the nested square is about 0.2° x 0.2° at 12° N: some 480 km²
    assert 450 < found[0].observed["area_km2"] < 500
    assert "big and nested" in found[0].location.feature
