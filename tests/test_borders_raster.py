"""Salinity layers onto the common grid: snapping, nodata, reprojection, unreadable files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from atlas.borders.raster import harmonize_salinity, parse_name
from atlas.grid import Grid
from atlas.intake.inbox import Submission

RES = 1.0 / 120.0


def submission(files, country="KHM"):
    files = tuple(Path(f) for f in files)
    return Submission(country, "salinity_map", "2026-03-02", 1, files[0].parent, files, dt.date(2026, 3, 2), "x")


def write(path, data, transform, crs="EPSG:4326", nodata=None):
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[1], height=data.shape[0], count=1,
                       dtype=data.dtype.name, crs=crs, transform=transform, nodata=nodata) as dst:
        dst.write(data, 1)
    return path


def ids(findings):
    return [f.check_id for f in findings]


def test_parse_name_distinguishes_layers_with_common_prefixes(programme):
    assert parse_name("KHM_GSSmap_ECe_sd_30-100.tif", programme.salinity) == ("KHM", "ECe_unc", "30-100")
    assert parse_name("KHM_GSSmap_ECe_0-30.tif", programme.salinity) == ("KHM", "ECe", "0-30")
    assert parse_name("KHM_GSSmap_EC_0-30.tif", programme.salinity) == ("KHM", "ECe", "0-30")  # a known alias
    assert parse_name("KHM_GSSmap_EC_pH_0-30.tif", programme.salinity) is None  # two properties: ambiguous


def test_nearly_on_grid_copied_pixel_for_pixel_and_snapped(tmp_path, programme):
    data = np.arange(600, dtype="float32").reshape(20, 30)
    # origin off the lattice by 1e-6 pixel, pixel size off in the 16th digit
    t = Affine(RES * (1 + 1e-15), 0, 104.0 + 1e-6 * RES, 0, -RES, 12.0)
    src = write(tmp_path / "KHM_GSSmap_ECe_0-30.tif", data, t, nodata=-9999.0)
    out, findings = harmonize_salinity(submission([src]), programme, tmp_path / "out")
    with rasterio.open(out[("ECe", "0-30")]) as dst:
        np.testing.assert_array_equal(dst.read(1), data)
        assert tuple(dst.transform) == tuple(Grid.covering((104.0, 12.0 - 20 * RES, 104.0 + 30 * RES, 12.0)).transform)
        assert dst.profile["compress"] == "deflate" and dst.profile["tiled"]
    assert ids(findings) == ["harmonize.grid_snapped"]
    assert findings[0].severity.value == "fixed"


def test_exactly_on_grid_gives_no_snap_finding(tmp_path, programme):
    data = np.ones((16, 16), dtype="float32")
    src = write(tmp_path / "KHM_GSSmap_pH_0-30.tif", data, Affine(RES, 0, 104.0, 0, -RES, 12.0), nodata=-9999.0)
    _, findings = harmonize_salinity(submission([src]), programme, tmp_path / "out")
    assert findings == []


@pytest.mark.parametrize("nodata", [float("nan"), -3.4028234663852886e38])
def test_other_nodata_normalised_with_count(tmp_path, programme, nodata):
    data = np.full((16, 16), 2.5, dtype="float32")
    data[:3, :5] = nodata
    src = write(tmp_path / "KHM_GSSmap_ESP_30-100.tif", data, Affine(RES, 0, 104.0, 0, -RES, 12.0), nodata=nodata)
    out, findings = harmonize_salinity(submission([src]), programme, tmp_path / "out")
    with rasterio.open(out[("ESP", "30-100")]) as dst:
        assert dst.nodata == -9999.0
        assert (dst.read(1) == -9999.0).sum() == 15
    fixed = [f for f in findings if f.check_id == "harmonize.nodata_normalised"]
    assert len(fixed) == 1 and "15 pixels" in fixed[0].message


def test_other_crs_reprojected_bilinear_onto_the_lattice(tmp_path, programme):
    data = np.linspace(0, 10, 100 * 100, dtype="float32").reshape(100, 100)
    t = Affine(900.0, 0, 500000.0, 0, -900.0, 1300000.0)  # UTM 48N, 90 x 90 km near 105E 11.7N, about 30"
    src = write(tmp_path / "KHM_GSSmap_ECe_0-30.tif", data, t, crs="EPSG:32648", nodata=-9999.0)
    out, findings = harmonize_salinity(submission([src]), programme, tmp_path / "out")
    with rasterio.open(out[("ECe", "0-30")]) as dst:
        grid = Grid(dst.crs.to_string(), dst.transform, dst.width, dst.height)
        assert grid.is_aligned() and dst.crs.to_epsg() == 4326 and dst.dtypes[0] == "float32"
        values = dst.read(1)
    valid = values[values != -9999.0]
    assert valid.size > 500 and valid.min() >= 0 and valid.max() <= 10
    finding = next(f for f in findings if f.check_id == "harmonize.reprojected")
    assert "EPSG:32648" in finding.message and "bilinear" in finding.message


def test_off_grid_class_layer_uses_nearest(tmp_path, programme):
    data = np.random.default_rng(0).integers(1, 5, (40, 40)).astype("uint8")
    t = Affine(RES * 0.9, 0, 104.0 + 0.37 * RES, 0, -RES * 0.9, 12.0)  # near 30 arc-seconds, off the lattice
    src = write(tmp_path / "KHM_GSSmap_SAS_0-30.tif", data, t, nodata=255)
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("file,layer,depth,legend\nKHM_GSSmap_SAS_0-30.tif,SAS,0-30,programme\n")
    out, findings = harmonize_salinity(submission([src, manifest]), programme, tmp_path / "out")
    with rasterio.open(out[("SAS", "0-30")]) as dst:
        values = dst.read(1)
        assert dst.dtypes[0] == "uint8" and dst.nodata == 255
    assert set(np.unique(values)) <= {1, 2, 3, 4, 255}
    assert "nearest" in next(f for f in findings if f.check_id == "harmonize.reprojected").message


def test_unreadable_and_crs_less_files_become_findings_not_errors(tmp_path, programme):
    bad = tmp_path / "KHM_GSSmap_ECe_0-30.tif"
    bad.write_bytes(b"II*\x00not really a tiff")
    nocrs = write(tmp_path / "KHM_GSSmap_pH_0-30.tif", np.ones((4, 4), "float32"),
                  Affine(RES, 0, 104.0, 0, -RES, 12.0), crs=None)
    other = tmp_path / "notes_GSSmap.tif"
    other.write_bytes(b"x")
    out, findings = harmonize_salinity(submission([bad, nocrs, other]), programme, tmp_path / "out")
    assert out == {}
    assert sorted(ids(findings)) == ["harmonize.no_crs", "harmonize.unreadable"]
    assert all(f.severity.value == "error" for f in findings)


def test_real_files_that_fail_on_read_or_use_float_lowest_nodata(tmp_path, programme, real_data):
    corrupt = tmp_path / "KHM_GSSmap_SAS_30-100.tif"
    corrupt.symlink_to(real_data / "hostile/rasterio_testdata/corrupt.tif")
    odisha = tmp_path / "KHM_GSSmap_SAS_0-30.tif"  # 30 m class raster, nodata -3.4e38
    odisha.symlink_to(real_data / "soil_raster/ind_odisha_salinity/JSP_predicted_EC_raster_2024.tif")
    lut = tmp_path / "saltaffected_LUT.txt"  # one table for both depths: 0/1 read as None/ModerateSalinity
    lut.write_text('"classcode" "mapvalue"\n0 "None"\n1 "ModerateSalinity"\n')
    out, findings = harmonize_salinity(submission([corrupt, odisha, lut]), programme, tmp_path / "out")
    assert "harmonize.unreadable" in ids(findings) and ("SAS", "30-100") not in out
    with rasterio.open(out[("SAS", "0-30")]) as dst:
        values = dst.read(1)
        assert Grid(dst.crs.to_string(), dst.transform, dst.width, dst.height).is_aligned()
    assert set(np.unique(values)) == {1, 3, 255}  # recoded onto the programme legend
    assert "harmonize.classes_recoded" in ids(findings)
    recoded = next(f for f in findings if f.check_id == "harmonize.nodata_normalised")
    assert recoded.observed == pytest.approx(-3.4e38, rel=1e-6) and "pixels" in recoded.message


def test_finer_raster_in_epsg4326_aggregated_by_mean(tmp_path, programme):
    # 3 arc-second pixels on the lattice: 10 x 10 pixels per grid cell
    data = np.arange(60 * 40, dtype="float32").reshape(60, 40)
    data[:10, :10] = -9999.0  # one whole cell without data, one cell half empty
    data[10:15, 10:20] = -9999.0
    t = Affine(RES / 10, 0, 104.0, 0, -RES / 10, 12.0)
    src = write(tmp_path / "KHM_GSSmap_ECe_0-30.tif", data, t, nodata=-9999.0)
    out, findings = harmonize_salinity(submission([src]), programme, tmp_path / "out")
    with rasterio.open(out[("ECe", "0-30")]) as dst:
        values = dst.read(1)
        assert dst.res == pytest.approx((RES, RES)) and Grid(dst.crs.to_string(), dst.transform, dst.width,
                                                             dst.height).is_aligned()
    assert values.shape == (6, 4) and values[0, 0] == -9999.0
    cell = data[:10, 10:20]
    assert values[0, 1] == pytest.approx(cell.mean())
    half = data[10:20, 10:20]
    assert values[1, 1] == pytest.approx(half[half != -9999.0].mean())
    finding = next(f for f in findings if f.check_id == "harmonize.aggregated")
    assert finding.severity.value == "fixed" and "3 x 3 arc-seconds" in finding.message and "30 arc" in finding.message


def test_finer_class_layer_in_utm_aggregated_by_majority_with_its_share(tmp_path, programme):
    # 100 m classes in UTM 48N: about 9 x 9 pixels per cell; left half class 1, right half class 3
    data = np.ones((180, 180), "uint8")
    data[:, 90:] = 3
    t = Affine(100.0, 0, 500000.0, 0, -100.0, 1300000.0)
    src = write(tmp_path / "KHM_GSSmap_SAS_0-30.tif", data, t, crs="EPSG:32648", nodata=255)
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("file,layer,depth,legend\nKHM_GSSmap_SAS_0-30.tif,SAS,0-30,programme\n")
    out, findings = harmonize_salinity(submission([src, manifest]), programme, tmp_path / "out")
    with rasterio.open(out[("SAS", "0-30")]) as dst:
        classes = dst.read(1)
    share_path = tmp_path / "out" / "KHM_GSSmap_SAS_0-30_majority_share.tif"
    with rasterio.open(share_path) as dst:
        share = dst.read(1)
        assert dst.nodata == 255
    assert set(np.unique(classes).tolist()) <= {1, 3, 255} and {1, 3} <= set(np.unique(classes).tolist())
    has = classes != 255
    assert (share[has] > 0).all() and (share[has] <= 100).all() and (share[~has] == 255).all()
    assert (share[has] == 100).sum() > 0 and (share[has] < 100).sum() > 0  # cells across the class edge are mixed
    finding = next(f for f in findings if f.check_id == "harmonize.aggregated")
    assert "100 x 100 metre" in finding.message and "majority" in finding.message


def test_coarser_raster_resampled_with_a_warning(tmp_path, programme):
    data = np.ones((10, 10), "float32")
    t = Affine(RES * 4, 0, 104.0, 0, -RES * 4, 12.0)
    src = write(tmp_path / "KHM_GSSmap_ECe_0-30.tif", data, t, nodata=-9999.0)
    out, findings = harmonize_salinity(submission([src]), programme, tmp_path / "out")
    with rasterio.open(out[("ECe", "0-30")]) as dst:
        assert dst.width == 40 and dst.height == 40
    finding = next(f for f in findings if f.check_id == "harmonize.resampled_coarser")
    assert finding.severity.value == "warning" and "4.0 times coarser" in finding.message


def test_finer_continuous_layer_in_utm_aggregated_by_mean(tmp_path, programme):
    # 30 m in UTM 48N: about 30 x 30 pixels per cell; left half 2.0, right half 4.0, a nodata strip
    data = np.full((300, 300), 2.0, "float32")
    data[:, 150:] = 4.0
    data[:, 140:145] = -9999.0
    t = Affine(30.0, 0, 500000.0, 0, -30.0, 1300000.0)
    src = write(tmp_path / "KHM_GSSmap_ECe_0-30.tif", data, t, crs="EPSG:32648", nodata=-9999.0)
    out, findings = harmonize_salinity(submission([src]), programme, tmp_path / "out")
    with rasterio.open(out[("ECe", "0-30")]) as dst:
        values = dst.read(1)
    valid = values[values != -9999.0]
    assert valid.size > 50 and valid.min() == pytest.approx(2.0) and valid.max() == pytest.approx(4.0)
    assert ((valid > 2.0) & (valid < 4.0)).any()  # cells across the edge: means of both halves
    finding = next(f for f in findings if f.check_id == "harmonize.aggregated")
    assert "30 x 30 metre" in finding.message and "mean of valid pixels" in finding.message


@pytest.mark.parametrize(("dtype", "nodata"), [("float32", float("nan")), ("float32", -3.4028234663852886e38),
                                               ("float32", -9999.0), ("int16", -32768)])
def test_validation_statistics_replace_the_counting_pass(tmp_path, programme, monkeypatch, dtype, nodata):
    """Reprojected layers take the nodata count from validation's scan: same findings, one pass fewer."""
    import atlas.borders.raster as harmonize
    from atlas.intake.readers import Reads, scan_raster

    data = np.linspace(0, 10, 60 * 50).reshape(60, 50).astype(dtype)
    data[:7, :9] = nodata
    if dtype == "float32" and not np.isnan(nodata):
        data[10:12, :4] = np.nan  # undeclared NaN beside the declared value
    t = Affine(250.0, 0, 500000.0, 0, -250.0, 1300000.0)  # UTM 48N: reprojected
    src = write(tmp_path / "KHM_GSSmap_ECe_0-30.tif", data, t, crs="EPSG:32648", nodata=nodata)
    _, without = harmonize_salinity(submission([src]), programme, tmp_path / "a")
    with rasterio.open(src) as ds:
        reads = Reads()
        reads.raster_stats[src] = scan_raster(ds)
    passes = []
    real = harmonize._count_other_nodata
    monkeypatch.setattr(harmonize, "_count_other_nodata", lambda *a: passes.append(a) or real(*a))
    _, with_stats = harmonize_salinity(submission([src]), programme, tmp_path / "b", reads)
    assert passes == []
    assert [(f.check_id, f.message) for f in with_stats] == [(f.check_id, f.message) for f in without]
    expected = (0 if nodata == -9999.0 else 63) + (8 if dtype == "float32" and not np.isnan(nodata) else 0)
    [recoded] = [f for f in without if f.check_id == "harmonize.nodata_normalised"]
    assert f"{expected} pixels" in recoded.message
