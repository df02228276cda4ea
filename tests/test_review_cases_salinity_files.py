"""Review cases of issue 16 about salinity files: each test failed on the code before its fix."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
from affine import Affine
from shapely.geometry import box

from atlas import layout, stages
from atlas.finding import Severity, verdict
from atlas.intake.inbox import Submission
from atlas.products import regional
from atlas.products.mosaic import build_mosaics
from checks.naming import SubmissionContext
from checks.registry import run_checks

RES = 1.0 / 120.0


def _tif(path: Path, value: float, dtype: str = "float32", nodata=-9999.0) -> Path:
    data = np.full((8, 8), value, dtype=dtype)
    with rasterio.open(path, "w", driver="GTiff", width=8, height=8, count=1, dtype=dtype, crs="EPSG:4326",
                       transform=Affine(RES, 0, 104.0, 0, -RES, 12.0), nodata=nodata) as dst:
        dst.write(data, 1)
    return path


def _submission(files, country="KHM", version=1):
    files = tuple(Path(f) for f in files)
    return Submission(country, "salinity_map", "2026-03-02", version, files[0].parent, files,
                      dt.date(2026, 3, 2), "x")


def test_case_01_accepted_case_and_tiff_variants_reach_the_regional_inputs(tmp_path, programme):
    raw = tmp_path / "raw"
    raw.mkdir()
    files = [_tif(raw / "khm_GSSmap_ECe_0-30.tif", 2.0), _tif(raw / "KHM_GSSmap_pH_0-30.tiff", 7.5)]
    sub = _submission(files)
    out_dir = layout.national_dir(programme.processed_dir, "KHM", "salinity_map", 1)
    out_dir.mkdir(parents=True)
    outputs, _ = stages.harmonize_national(sub, programme, out_dir)
    assert set(outputs["layers"]) >= {("ECe", "0-30"), ("pH", "0-30")}
    # the mosaic reads the national copies back: both accepted layers must be found there
    inputs = regional.salinity_inputs(programme, {"KHM": 1})
    assert set(inputs["KHM"]) >= {("ECe", "0-30"), ("pH", "0-30")}
    with rasterio.open(inputs["KHM"][("ECe", "0-30")]) as src:
        assert float(src.read(1)[0, 0]) == 2.0
    # and the regional mosaic holds them
    small = dataclasses.replace(programme, region_bounds=(104.0, 11.9, 104.1, 12.0))
    boundaries = gpd.GeoDataFrame({"iso3": ["KHM"], "name": ["Cambodia"]}, geometry=[box(103.9, 11.8, 104.2, 12.1)],
                                  crs="EPSG:4326")
    result = build_mosaics(inputs, {"KHM": 1}, small, tmp_path / "regional", boundaries)
    for key, value in (("ECe_0-30", 2.0), ("pH_0-30", 7.5)):
        with rasterio.open(result.products[key]) as src:
            assert float(src.read(1)[0, 0]) == value, key
        assert ("KHM", 1) in result.used[key]


def test_case_09_partial_delivery_with_the_required_layers_is_not_rejected(tmp_path, programme):
    files = [_tif(tmp_path / "KHM_GSSmap_ECe_0-30.tif", 2.0), _tif(tmp_path / "KHM_GSSmap_pH_0-30.tif", 7.5),
             _tif(tmp_path / "KHM_GSSmap_SAS_0-30.tif", 1, "uint8", 255)]
    (tmp_path / "saltaffected_LUT0_30.txt").write_text('"classcode" "mapvalue"\n1 "None"\n')
    files.append(tmp_path / "saltaffected_LUT0_30.txt")
    findings = run_checks("submission", "salinity_map", SubmissionContext(tuple(files), programme, "KHM"))
    assert verdict(findings) != "rejected", [f.message for f in findings if f.severity == Severity.ERROR]
    # the optional layers it did not send are noted, not held against it
    assert any(f.severity == Severity.INFO and "ESP" in f.message for f in findings)


def test_case_09_missing_required_layer_is_still_an_error(tmp_path, programme):
    files = [_tif(tmp_path / "KHM_GSSmap_ECe_0-30.tif", 2.0), _tif(tmp_path / "KHM_GSSmap_ESP_0-30.tif", 5.0)]
    findings = run_checks("submission", "salinity_map", SubmissionContext(tuple(files), programme, "KHM"))
    errors = [f for f in findings if f.severity == Severity.ERROR]
    assert errors and all("pH" in f.message or "SAS" in f.message for f in errors)
    assert any("pH 0-30" in f.message for f in errors)
