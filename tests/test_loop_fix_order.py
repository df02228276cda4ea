"""What to fix first: the wrong kind of map leads, with its consequences folded in; one diagnosis per raster; an
extent that cannot be put in lon/lat is said so, without a library warning on stderr."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import shapely
from affine import Affine
from test_checks_raster import BOUNDARY, write_raster

from atlas.reports.report import report_dict
from atlas.reports.view import view
from checks.raster import raster_findings
from checks.registry import load_all
from checks.vector import soil_map_findings

load_all()


def _fix(findings) -> list[str]:
    return view(report_dict(findings, {"country": "KHM"}))["fix"]


def test_fertility_map_leads_with_not_a_soil_map_and_folds_the_missing_fields(tmp_path, programme):
    gdf = gpd.GeoDataFrame({"OBJECTID": [1, 2], "Fert_Class": ["Low Fertility Soil", "High Fertility Soil"]},
                           geometry=[shapely.box(104, 12, 104.5, 13), shapely.box(104.5, 12, 105, 13)],
                           crs="EPSG:4326")
    gdf.to_file(tmp_path / "KHM_soil.gpkg")
    findings = soil_map_findings(tmp_path / "KHM_soil.gpkg", programme, "KHM", shapely.box(104, 12, 105, 13))
    assert {"wrb.no_soil_classes", "vector.field_missing"} <= {f.check_id for f in findings}
    fix = _fix(findings)
    assert fix[0].startswith("This is not a soil classification map")
    assert "a required attribute (unit_id, rsg1, share1) is missing (2 times)" in fix[0]
    assert not any(line.startswith("A required attribute") for line in fix)  # folded, not a line of its own


def test_point_data_leads_with_point_data(programme, real_data):
    findings = soil_map_findings(real_data / "soil_points/irn_ardakan_ec/samples.shp", programme, "IRN", None)
    fix = _fix(findings)
    assert fix[0].startswith("This is point data (183 point features)") and len(fix) == 1


def test_a_0_255_raster_in_the_ece_slot_gets_one_diagnosis(tmp_path, programme):
    data = np.where(np.arange(120 * 120).reshape(120, 120) % 3 != 0, 255, 0)  # mean 170: "µS/cm" if read as ECe
    path = write_raster(tmp_path, data=data, dtype="uint8", nodata=None)
    found = {f.check_id for f in raster_findings(path, programme, "KHM", BOUNDARY)}
    assert "raster.values_look_like_classes" in found
    assert "raster.ece_units_suspect" not in found  # not also "values look like µS/cm"


def test_a_geostationary_extent_is_said_to_have_no_lon_lat_and_nothing_reaches_stderr(tmp_path, programme, capfd):
    geos = "+proj=geos +h=35785831 +lon_0=140.7 +sweep=x +datum=WGS84 +units=m +no_defs"
    full_disc = Affine(6000.0, 0, -5_500_000.0, 0, -6000.0, 5_500_000.0)  # corners off the Earth
    path = write_raster(tmp_path, data=np.linspace(0.5, 50, 120 * 120).reshape(120, 120), crs=geos,
                        transform=full_disc)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a shapely warning would fail the test
        findings = raster_findings(path, programme, "KHM", BOUNDARY)
    said = [f for f in findings if f.check_id == "raster.extent_outside"]
    assert said and "cannot be put in longitude/latitude" in said[0].message
    assert "inf" not in said[0].message
    assert "RuntimeWarning" not in capfd.readouterr().err
