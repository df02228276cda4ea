"""validate_submission and validate_path: the right checks per deliverable, never a traceback."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import geopandas as gpd
import shapely

from atlas.intake.inbox import Submission
from checks.run import validate_path, validate_submission

sys.path.insert(0, str(Path(__file__).parent))
from test_checks_raster import classes, write_raster  # noqa: E402
from test_checks_vector import write_map  # noqa: E402

BOUNDARIES = gpd.GeoDataFrame({"iso3": ["KHM"], "name": ["Cambodia"], "geometry": [shapely.box(104, 12, 105, 13)]},
                              crs="EPSG:4326")


def submission(folder: Path, deliverable: str) -> Submission:
    files = tuple(sorted(p for p in folder.iterdir() if p.is_file()))
    return Submission("KHM", deliverable, "2026-03-02", 1, folder, files, dt.date(2026, 3, 2), "x")


def test_complete_salinity_submission_is_accepted(programme, tmp_path):
    from atlas.demo.metafiles import write_metafile

    spec = programme.salinity
    (tmp_path / "saltaffected_LUT.txt").write_text(
        '"classcode" "mapvalue"\n1 "None"\n2 "SlightSalinity"\n3 "ModerateSalinity"\n4 "StrongSalinity"\n')
    for layer, depth in spec.layer_keys():
        name = spec.file_name("KHM", layer, depth)
        if layer == spec.class_layer:
            path = write_raster(tmp_path, name, dtype="uint8", nodata=255, data=classes())
        else:
            path = write_raster(tmp_path, name, data=write_data(spec.ranges[layer]))
        # complete means with its metafile, true to the raster (the demo's writer reads the raster back)
        write_metafile(path, layer, depth, "Cambodia", spec.units.get(layer, ""), "Soil Survey Office",
                       "survey@example.org", "+855 23 000 000")
    findings = validate_submission(submission(tmp_path, "salinity_map"), programme, BOUNDARIES)
    assert {f.severity.value for f in findings} <= {"info"}, [f.message for f in findings if f.severity.value != "info"]


def write_data(plausible: tuple[float, float]):
    import numpy as np

    lo, hi = plausible
    return np.linspace(lo, min(hi, 50.0), 120 * 120).reshape(120, 120)


def test_missing_and_duplicate_layers(programme, tmp_path):
    write_raster(tmp_path, "KHM_GSSmap_ECe_0-30.tif")
    write_raster(tmp_path, "khm_gssmap_ece_0-30.tif")
    findings = validate_submission(submission(tmp_path, "salinity_map"), programme, BOUNDARIES)
    ids = [f.check_id for f in findings]
    assert ids.count("naming.layer_missing") == 1 and "naming.layer_duplicate" in ids
    missing = next(f for f in findings if f.check_id == "naming.layer_missing")
    assert missing.expected == ["pH 0-30", "SAS 0-30"]  # the default required layers not sent
    optional = next(f for f in findings if f.check_id == "naming.layer_optional_missing")
    assert optional.severity.value == "info" and "ESP 0-30" in optional.expected


def test_soil_map_submission_without_boundary_says_so(programme, tmp_path):
    write_map(tmp_path)
    findings = validate_submission(submission(tmp_path, "soil_map"), programme, None)
    assert [f.check_id for f in findings if f.severity.value != "info"] == []
    assert "checks.boundary_missing" in {f.check_id for f in findings}


def test_validate_path_guesses_deliverable_and_country(programme, tmp_path):
    write_raster(tmp_path, "KHM_GSSmap_ECe_0-30.tif", transform=None)
    write_map(tmp_path, name="KHM_soil.gpkg")
    (tmp_path / "KHM_chapter.pdf").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("ignored")
    results = validate_path(tmp_path, programme, BOUNDARIES)
    assert set(results) == {"KHM_GSSmap_ECe_0-30.tif", "KHM_soil.gpkg", "KHM_chapter.pdf",
                            "KHM salinity_map (all layers)"}
    assert {f.check_id for f in results["KHM_chapter.pdf"]} == {"document.empty"}
    assert "checks.boundary_missing" not in {f.check_id for f in results["KHM_soil.gpkg"]}


def test_validate_path_never_raises(programme, tmp_path):
    results = validate_path(tmp_path / "does-not-exist", programme, BOUNDARIES)
    assert results == {}
