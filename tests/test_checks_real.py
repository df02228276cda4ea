"""The whole check suite over every raster and vector file of the shared real data set (SOURCES.md defects)."""

from __future__ import annotations

import pytest

from atlas.config import load_programme
from checks.run import validate_path

NE50 = "boundaries/natural_earth_v4.0.0/ne_50m_admin_0_countries.json"
# file -> check ids its documented defects call for (SOURCES.md)
EXPECTED = {
    "hostile/rasterio_testdata/float.tif": {"raster.crs_missing", "raster.south_up", "raster.nodata_missing"},
    "hostile/rasterio_testdata/float32.tif": {"raster.crs_missing", "raster.south_up", "raster.nodata_missing"},
    "hostile/rasterio_testdata/float_nan.tif": {"raster.crs_missing", "raster.south_up", "raster.nodata_nan"},
    "hostile/rasterio_testdata/rotated.tif": {"raster.rotated", "raster.crs_missing"},
    "hostile/rasterio_testdata/float_raster_with_nodata.tif": {"raster.crs_no_epsg", "raster.nodata_nonstandard"},
    "hostile/rasterio_testdata/float_raster_with_extra_nodata.tif": {"raster.crs_no_epsg",
                                                                     "raster.nodata_nonstandard"},
    "hostile/rasterio_testdata/all-nodata.tif": {"raster.all_nodata", "raster.band_count"},
    "hostile/rasterio_testdata/corrupt.tif": {"raster.read_failed"},
    "hostile/rasterio_testdata/byte.tif": {"raster.crs_datum", "raster.nodata_missing"},
    "hostile/rasterio_testdata/world.byte.tif": {"raster.pixel_size", "raster.nodata_missing"},
    "hostile/rasterio_testdata/RGBA.uint16.tif": {"raster.band_count", "raster.nodata_missing"},
    "soil_raster/ind_odisha_salinity/JSP_predicted_EC_raster_2024.tif": {
        "naming.file_pattern", "raster.pixel_size", "raster.nodata_nonstandard", "raster.class_legend_unconfirmed"},
    "soil_raster/ind_odisha_salinity/SA_predicted_EC_raster_2024.tif": {"raster.pixel_size",
                                                                        "raster.nodata_nonstandard"},
    "soil_raster/ind_odisha_salinity/JSP_predicted_ECAqua_raster_1995.tif": {
        "raster.stale_statistics", "raster.class_legend_unconfirmed", "raster.nodata_nonstandard"},
    "soil_raster/irn_ardakan_dem/DEM.tif": {"raster.crs_not_grid", "raster.nodata_nonstandard"},
    "soil_vector/idn_dsmw_fao74/DSMW.shp": {"vector.encoding", "wrb.legacy_code", "wrb.non_soil",
                                            "vector.field_missing"},
    "soil_vector/khm_crocker_1962/crocker_soil_map_1962_shp.zip": {
        "vector.junk_ignored", "vector.crs_not_geographic", "vector.geometry_invalid", "wrb.legacy_code",
        "wrb.code_unknown", "wrb.non_soil"},
    "soil_vector/khm_crocker_1962/crocker_soil_map_1962.geojson": {"vector.geometry_invalid", "wrb.non_soil"},
    "soil_points/irn_ardakan_ec/samples.shp": {"vector.geometry_type", "vector.crs_not_geographic"},
    "boundaries/natural_earth_v4.0.0/ne_110m_admin_0_countries.json": {"vector.geometry_invalid"},
    "boundaries/natural_earth_v4.0.0/ne_110m_admin_0_boundary_lines_land.json": {"vector.geometry_type"},
}
ABSENT = {  # ids a file must NOT get (its defect is not there)
    "soil_raster/irn_ardakan_dem/DEM.tif": {"raster.stale_statistics", "raster.read_failed"},
    "soil_vector/khm_crocker_1962/crocker_soil_map_1962.geojson": {"vector.junk_ignored",
                                                                   "vector.crs_not_geographic"},
    "soil_vector/idn_dsmw_fao74/DSMW.shp": {"vector.geometry_invalid", "vector.unreadable"},
    "hostile/rasterio_testdata/corrupt.tif": {"raster.all_nodata"},
}
BORDER = {  # file, country: maps spilling over the border and rasters covering a sliver of the country
    "soil_vector/idn_dsmw_fao74/DSMW.shp": ("IDN", {"vector.spill", "vector.coverage_gap"}),
    "soil_vector/khm_crocker_1962/crocker_soil_map_1962_shp.zip": ("KHM", {"vector.spill"}),
    "soil_vector/khm_crocker_1962/crocker_soil_map_1962.geojson": ("KHM", {"vector.spill"}),
    "soil_raster/ind_odisha_salinity/JSP_predicted_ECAqua_raster_1995.tif": ("IND", {"raster.coverage_low"}),
}


@pytest.fixture(scope="module")
def programme_default():
    return load_programme()


@pytest.fixture(scope="module")
def boundaries(real_data, programme_default):
    from atlas.borders.boundaries import load_boundaries

    gdf, _ = load_boundaries(real_data / NE50, programme_default.iso_columns, programme_default.name_columns)
    return gdf


@pytest.fixture(scope="module")
def whole_set(real_data, programme_default, boundaries):
    return validate_path(real_data, programme_default, boundaries)


def test_every_raster_and_vector_file_gets_a_report(real_data, whole_set):
    suffixes = {".tif", ".shp", ".zip", ".geojson", ".json", ".gpkg", ".fgb"}
    files = {str(p.relative_to(real_data)) for p in real_data.rglob("*") if p.suffix.lower() in suffixes}
    assert files <= set(whole_set)
    crashed = {k for k, v in whole_set.items() if any(f.check_id == "internal.check_crashed" for f in v)}
    assert not crashed
    assert all("Traceback" not in f.message for v in whole_set.values() for f in v)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_documented_defects_are_found(name, whole_set):
    found = {f.check_id for f in whole_set[name]}
    assert EXPECTED[name] <= found, f"missing {EXPECTED[name] - found}"
    assert not (ABSENT.get(name, set()) & found)


@pytest.mark.parametrize("name", sorted(BORDER))
def test_border_defects_with_the_country_known(name, real_data, programme_default, boundaries):
    country, expected = BORDER[name]
    result = validate_path(real_data / name, programme_default, boundaries, country=country)
    findings = result[real_data.joinpath(name).name]
    assert expected <= {f.check_id for f in findings}
    for f in findings:
        if f.check_id in ("vector.spill", "vector.coverage_gap"):
            assert f.observed["area_km2"] > 1.0 and f.location.lon is not None


def test_details_of_real_defects(whole_set):
    aqua = next(f for f in whole_set["soil_raster/ind_odisha_salinity/JSP_predicted_ECAqua_raster_1995.tif"]
                if f.check_id == "raster.class_legend_unconfirmed")
    assert aqua.observed == {"0": 1742719, "1": 153556, "2": 85959}  # 2 = aquaculture, not a salinity level
    stale = next(f for f in whole_set["soil_raster/ind_odisha_salinity/JSP_predicted_ECAqua_raster_1995.tif"]
                 if f.check_id == "raster.stale_statistics")
    assert ".aux.xml" in stale.message and stale.observed["STATISTICS_MEAN"] == pytest.approx(0.1924, abs=1e-3)
    fao = next(f for f in whole_set["soil_vector/idn_dsmw_fao74/DSMW.shp"] if f.check_id == "wrb.legacy_code")
    assert {"value": "Ao", "count": 122, "suggested": "AC"} in fao.observed
    invalid = next(f for f in whole_set["soil_vector/khm_crocker_1962/crocker_soil_map_1962_shp.zip"]
                   if f.check_id == "vector.geometry_invalid")
    assert invalid.location.lon == pytest.approx(104.877, abs=0.01)  # UTM point reported in lon/lat
