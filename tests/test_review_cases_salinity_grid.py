"""Review cases 3, 4, 5 and 14 of the code review (wrong answers on the salinity grid), one test each.

Each test was written first and failed on the code before its fix.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from affine import Affine
from shapely.geometry import box

from atlas.borders.raster import harmonize_salinity
from atlas.grid import Grid
from atlas.intake.inbox import Submission
from atlas.products.mosaic import build_mosaics

RES = 1.0 / 120.0


def write(path: Path, data: np.ndarray, transform: Affine, crs="EPSG:4326", nodata=None) -> Path:
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[1], height=data.shape[0], count=1,
                       dtype=data.dtype.name, crs=crs, transform=transform, nodata=nodata) as dst:
        dst.write(data, 1)
    return path


def small_programme(programme, bounds, layers, depths=("0-30",)):
    sal = dataclasses.replace(programme.salinity, layers=tuple(layers), depths=tuple(depths))
    return dataclasses.replace(programme, region_bounds=tuple(bounds), salinity=sal)


def test_case_03_antimeridian_raster_starting_west_of_the_region_reaches_the_mosaic(tmp_path, programme):
    # region 170E -> 170W; the national raster runs 169E-177E, so it starts one degree west of the region
    prog = small_programme(programme, (170.0, 60.0, -170.0, 60.25), ("ECe",))
    region = Grid.covering(prog.region_bounds)
    national = Grid("EPSG:4326", Affine(RES, 0, 169.0, 0, -RES, 60.25), 8 * 120, 30)
    assert region.window_of(national).col_off == -120  # before the fix: 43,080 (shifted by 360 degrees)
    boundaries = gpd.GeoDataFrame({"iso3": ["RUS"]}, geometry=[box(169.0, 60.0, 180.0, 60.25)], crs="EPSG:4326")
    data = np.full((30, 960), 3.0, dtype="float32")
    layer = write(tmp_path / "rus.tif", data, national.transform, nodata=-9999.0)
    result = build_mosaics({"RUS": {("ECe", "0-30"): layer}}, {"RUS": 1}, prog, tmp_path / "out", boundaries)
    with rasterio.open(result.products["ECe_0-30"]) as src:
        mosaic = src.read(1)
    # 170E-177E of the raster lie in the region: 7 degrees x 30 rows
    assert int((mosaic == 3.0).sum()) == 7 * 120 * 30
    assert not any(f.check_id == "mosaic.outside_region" for f in result.findings)


def test_case_04_derived_classes_kept_where_ece_and_esp_extents_differ(tmp_path, programme):
    prog = small_programme(programme, (100.0, 10.0, 101.0, 11.0), ("ECe", "ESP", "SAS"))
    boundaries = gpd.GeoDataFrame({"iso3": ["AAA"]}, geometry=[box(100.0, 10.0, 101.0, 11.0)], crs="EPSG:4326")
    t = Affine(RES, 0, 100.0, 0, -RES, 11.0)
    ece = np.full((120, 120), 6.0, dtype="float32")  # saline
    esp = np.full((120, 119), 5.0, dtype="float32")  # one column narrower than ECe
    inputs = {"AAA": {("ECe", "0-30"): write(tmp_path / "ece.tif", ece, t, nodata=-9999.0),
                      ("ESP", "0-30"): write(tmp_path / "esp.tif", esp, t, nodata=-9999.0)}}
    result = build_mosaics(inputs, {"AAA": 1}, prog, tmp_path / "out", boundaries)
    with rasterio.open(result.products["SAS_derived_0-30"]) as src:
        derived = src.read(1)
    assert int((derived != 255).sum()) == 120 * 119  # every pixel with both inputs; before the fix: 0
    assert (derived[:, :119] == derived[0, 0]).all() and (derived[:, 119] == 255).all()


def test_case_05_reprojected_float_class_layer_keeps_nan_as_nodata(tmp_path, programme):
    # a Float32 class layer in UTM 48N with NaN where there is no data and no declared nodata
    data = np.full((60, 60), 2.0, dtype="float32")
    data[:, :30] = np.nan
    data[:10, 30:] = 1.0
    t = Affine(1000.0, 0, 500_000.0, 0, -1000.0, 1_400_000.0)
    src = write(tmp_path / "KHM_GSSmap_SAS_0-30.tif", data, t, crs="EPSG:32648")
    manifest = tmp_path / "manifest.csv"  # its codes follow the programme legend
    manifest.write_text("file,layer,depth,legend\nKHM_GSSmap_SAS_0-30.tif,SAS,0-30,programme\n")
    sub = Submission("KHM", "salinity_map", "2026-03-02", 1, tmp_path, (src, manifest), dt.date(2026, 3, 2), "x")
    out, findings = harmonize_salinity(sub, programme, tmp_path / "out")
    with rasterio.open(out[("SAS", "0-30")]) as dst:
        classes = dst.read(1)
    assert int((classes == 0).sum()) == 0  # before the fix: NaN became class 0 ("none")
    assert {1, 2, 255} == set(np.unique(classes).tolist())


def test_case_14_coverage_in_web_mercator_measured_on_the_ellipsoid(tmp_path, programme):
    from pyproj import Transformer

    from checks.raster import raster_findings

    country = shapely.box(84.0, 27.0, 86.0, 29.0)  # a square country near Nepal
    # a Web Mercator raster whose valid pixels cover 76 % of its width: a true share of about 76 %
    to_merc = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    x0, y0 = to_merc.transform(84.0, 27.0)
    x1, y1 = to_merc.transform(86.0, 29.0)
    nx, ny = 200, 200
    data = np.full((ny, nx), 3.0, dtype="float32")
    data[:, 152:] = -9999.0
    t = Affine((x1 - x0) / nx, 0, x0, 0, -(y1 - y0) / ny, y1)
    path = write(tmp_path / "NPL_GSSmap_ECe_0-30.tif", data, t, crs="EPSG:3857", nodata=-9999.0)
    findings = raster_findings(path, programme, "NPL", country)
    low = [f for f in findings if f.check_id == "raster.coverage_low"]
    assert low, "a raster covering 76 % of its country must get raster.coverage_low"  # before the fix: 97.6 %
    assert abs(low[0].observed["share"] - 0.76) < 0.01
