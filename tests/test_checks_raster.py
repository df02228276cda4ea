"""Raster and naming checks: for every check a file that passes and a file that fails it."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine

from checks.raster import raster_findings
from checks.registry import REGISTRY, load_all

load_all()
RES = 1.0 / 120.0
COUNTRY = "KHM"
BOUNDARY = shapely.box(104.0, 12.0, 105.0, 13.0)  # a square country, 120 x 120 pixels


def write_raster(folder: Path, name: str = "KHM_GSSmap_ECe_0-30.tif", *, data=None, dtype="float32",
                 nodata=-9999.0, crs="EPSG:4326", transform=None, count=1, driver="GTiff", **profile) -> Path:
    """A small GeoTIFF on the 30 arc-second grid covering BOUNDARY, valid unless told otherwise."""
    if data is None:
        data = np.linspace(0.5, 50.0, 120 * 120, dtype="float64").reshape(120, 120)
    data = np.asarray(data).astype(dtype)
    transform = transform or Affine(RES, 0.0, 104.0, 0.0, -RES, 13.0)
    path = folder / name
    with rasterio.open(path, "w", driver=driver, width=data.shape[1], height=data.shape[0], count=count,
                       dtype=dtype, crs=crs, transform=transform, nodata=nodata, **profile) as ds:
        for band in range(1, count + 1):
            ds.write(data, band)
    return path


def ids(findings) -> set[str]:
    return {f.check_id for f in findings}


def classes(values=(1, 2, 3, 4)):
    return np.resize(np.array(values, dtype="uint8"), (120, 120))


def _corrupt(folder: Path) -> Path:
    path = write_raster(folder, tiled=True, blockxsize=16, blockysize=16, compress="deflate",
                        data=np.random.default_rng(0).uniform(0, 50, (120, 120)))
    raw = bytearray(path.read_bytes())
    start = len(raw) // 3
    raw[start:start + len(raw) // 3] = b"\xff" * (len(raw) // 3)  # garble compressed tiles, keep the header
    path.write_bytes(bytes(raw))
    return path


def _stale(folder: Path) -> Path:
    path = write_raster(folder)
    Path(str(path) + ".aux.xml").write_text(
        '<PAMDataset><PAMRasterBand band="1"><Metadata><MDI key="STATISTICS_MEAN">7.5</MDI>'
        '<MDI key="STATISTICS_MINIMUM">0</MDI><MDI key="STATISTICS_MAXIMUM">99</MDI></Metadata></PAMRasterBand>'
        "</PAMDataset>")
    return path


def _half_nodata():
    data = np.linspace(0.5, 50.0, 120 * 120).reshape(120, 120)
    data[:, :70] = -9999.0
    return data


def _with(value, at=(5, 7)):
    data = np.linspace(0.5, 50.0, 120 * 120).reshape(120, 120)
    data[at] = value
    return data


# check id -> how to write a file that fails it (the base file written by write_raster passes every check)
FAILING = {
    "naming.file_pattern": lambda d: write_raster(d, "salinity_ece.tif"),
    "naming.country_mismatch": lambda d: write_raster(d, "THA_GSSmap_ECe_0-30.tif"),
    "raster.unreadable": lambda d: (d / "KHM_GSSmap_ECe_0-30.tif").write_bytes(b"not a tiff") and
    d / "KHM_GSSmap_ECe_0-30.tif",
    "raster.not_geotiff": lambda d: write_raster(d, driver="PNG", dtype="uint8", nodata=255,
                                                 data=np.full((120, 120), 3)),
    "raster.read_failed": _corrupt,
    "raster.band_count": lambda d: write_raster(d, count=2),
    "raster.crs_missing": lambda d: write_raster(d, crs=None),
    "raster.crs_identity": lambda d: write_raster(d),  # info: always says what the CRS is
    "raster.crs_no_epsg": lambda d: write_raster(d, crs="+proj=laea +lat_0=12 +lon_0=104 +datum=WGS84",
                                                 transform=Affine(1000, 0, 0, 0, -1000, 110000)),
    "raster.crs_datum": lambda d: write_raster(d, crs="EPSG:4267"),
    "raster.crs_not_grid": lambda d: write_raster(d, crs="EPSG:32648",
                                                  transform=Affine(1000, 0, 500000, 0, -1000, 1430000)),
    "raster.rotated": lambda d: write_raster(d, transform=Affine(RES, 0.001, 104.0, 0.001, -RES, 13.0)),
    "raster.south_up": lambda d: write_raster(d, transform=Affine(RES, 0.0, 104.0, 0.0, RES, 12.0)),
    "raster.pixel_size": lambda d: write_raster(d, transform=Affine(0.01, 0.0, 104.0, 0.0, -0.01, 13.0)),
    "raster.grid_misaligned": lambda d: write_raster(d, transform=Affine(RES, 0.0, 104.0 + 0.3 * RES, 0.0, -RES,
                                                                           13.0)),
    # a pixel size differing in the 17th digit is noise: recorded as info, not an error
    "raster.grid_noise": lambda d: write_raster(d, transform=Affine(0.008333333333333335, 0.0, 104.0, 0.0,
                                                                      -0.008333333333333331, 13.0)),
    "raster.extent_outside": lambda d: write_raster(d, transform=Affine(RES, 0.0, 104.0, 0.0, -RES, 13.5)),
    "raster.dtype": lambda d: write_raster(d, dtype="int16", nodata=-9999),
    "raster.nodata_missing": lambda d: write_raster(d, nodata=None),
    "raster.nodata_nan": lambda d: write_raster(d, nodata=float("nan"), data=_with(np.nan)),
    "raster.nodata_nonstandard": lambda d: write_raster(d, nodata=float(np.finfo("float32").min)),
    "raster.nodata_collision": lambda d: write_raster(d, nodata=0.0),
    "raster.nan_undeclared": lambda d: write_raster(d, data=_with(np.nan)),
    "raster.all_nodata": lambda d: write_raster(d, data=np.full((120, 120), -9999.0)),
    "raster.value_range": lambda d: write_raster(d, data=_with(-3.0)),
    "raster.ece_high": lambda d: write_raster(d, data=_with(150.0)),
    "raster.class_legend_unconfirmed": lambda d: write_raster(d, "classes.tif", dtype="uint8", nodata=255,
                                                              data=classes((0, 1, 2))),
    "raster.coverage_low": lambda d: write_raster(d, data=_half_nodata()),
    "raster.coverage": lambda d: write_raster(d),  # info: the covered share, when not low
    "naming.layer_ambiguous": lambda d: write_raster(d, "KHM_EC_pH_0-30.tif"),
    "naming.layer_identified": lambda d: write_raster(d, "Top0_30ECse.tif"),
    # issue 12: values that are not what their slot says
    "raster.values_look_like_classes": lambda d: write_raster(d, data=classes((0, 1, 2))),
    "raster.class_values_continuous": lambda d: write_raster(d, "KHM_GSSmap_SAS_0-30.tif", nodata=-9999.0,
                                                             data=np.linspace(0.5, 50.0, 120 * 120).reshape(120, 120)),
    "raster.ece_units_suspect": lambda d: write_raster(d, data=np.linspace(150, 4000, 120 * 120).reshape(120, 120)),
    "raster.ece_probability_suspect": lambda d: write_raster(d, data=np.linspace(0.01, 0.99, 14400).reshape(120, 120)),
    "raster.stale_statistics": _stale,
}
PASSING = {  # where the base file is not the natural pass case
    "raster.crs_identity": lambda d: write_raster(d, crs=None),
    "raster.class_values_continuous": lambda d: write_raster(d, "KHM_GSSmap_SAS_0-30.tif", dtype="uint8",
                                                             nodata=255, data=classes()),
    "raster.class_legend_unconfirmed": lambda d: write_raster(d, "KHM_GSSmap_SAS_0-30.tif", dtype="uint8",
                                                              nodata=255, data=classes()),
    "raster.coverage": lambda d: write_raster(d, data=_half_nodata()),
}


@pytest.mark.parametrize("check_id", sorted(FAILING))
def test_raster_check_fails_bad_file_and_passes_good_one(check_id, programme, tmp_path):
    bad_dir, good_dir = tmp_path / "bad", tmp_path / "good"
    bad_dir.mkdir()
    good_dir.mkdir()
    bad = FAILING[check_id](bad_dir)
    good = PASSING.get(check_id, write_raster)(good_dir)
    assert check_id in ids(raster_findings(bad, programme, COUNTRY, BOUNDARY))
    assert check_id not in ids(raster_findings(good, programme, COUNTRY, BOUNDARY))


def test_clean_layers_have_no_errors_or_warnings(programme, tmp_path):
    ece = write_raster(tmp_path)
    sas = write_raster(tmp_path, "KHM_GSSmap_SAS_0-30.tif", dtype="uint8", nodata=255, data=classes())
    for path in (ece, sas):
        findings = raster_findings(path, programme, COUNTRY, BOUNDARY)
        assert {f.severity.value for f in findings} <= {"info"}, [f.message for f in findings]


def test_grid_tolerance_accepts_noise_but_flags_real_shift(programme, tmp_path):
    noisy = FAILING["raster.grid_noise"](tmp_path)
    found = ids(raster_findings(noisy, programme, COUNTRY, BOUNDARY))
    assert "raster.pixel_size" not in found and "raster.grid_misaligned" not in found
    shifted = write_raster(tmp_path, "KHM_GSSmap_pH_0-30.tif", data=np.full((120, 120), 7.0),
                           transform=Affine(RES, 0.0, 104.0 + 0.01 * RES, 0.0, -RES, 13.0))
    assert "raster.grid_misaligned" in ids(raster_findings(shifted, programme, COUNTRY, BOUNDARY))


def test_value_range_finding_locates_the_pixel(programme, tmp_path):
    path = write_raster(tmp_path, data=_with(-3.0, at=(5, 7)))
    hit = next(f for f in raster_findings(path, programme, COUNTRY, BOUNDARY) if f.check_id == "raster.value_range")
    assert hit.location.window == (7, 5, 1, 1)
    assert math.isclose(hit.location.lon, 104.0 + 7.5 * RES) and math.isclose(hit.location.lat, 13.0 - 5.5 * RES)


def test_coverage_share_is_measured(programme, tmp_path):
    path = write_raster(tmp_path, data=_half_nodata())
    hit = next(f for f in raster_findings(path, programme, COUNTRY, BOUNDARY) if f.check_id == "raster.coverage_low")
    assert hit.observed["share"] == pytest.approx(50 / 120, abs=0.01)


def test_coverage_below_the_minimum_share_is_held_back_or_warned_by_configuration(programme, tmp_path):
    import dataclasses

    path = write_raster(tmp_path, data=_half_nodata())  # 42 % of the country
    hit = next(f for f in raster_findings(path, programme, COUNTRY, BOUNDARY) if f.check_id == "raster.coverage_low")
    assert hit.severity.value == "error" and "not published" in hit.message
    warn = dataclasses.replace(programme, salinity=dataclasses.replace(programme.salinity, low_coverage="warn"))
    hit = next(f for f in raster_findings(path, warn, COUNTRY, BOUNDARY) if f.check_id == "raster.coverage_low")
    assert hit.severity.value == "warning" and "published anyway" in hit.message
    data = np.linspace(0.5, 50.0, 120 * 120).reshape(120, 120)
    data[:, :36] = -9999.0  # 70 %: above the minimum, below 90 %: a warning as before
    path = write_raster(tmp_path, "KHM_GSSmap_pH_0-30.tif", data=np.clip(data, -9999.0, 12.0))
    hit = next(f for f in raster_findings(path, programme, COUNTRY, BOUNDARY) if f.check_id == "raster.coverage_low")
    assert hit.severity.value == "warning" and hit.observed["share"] == pytest.approx(0.7, abs=0.01)


def test_finer_pixels_are_a_note_coarser_a_warning(programme, tmp_path):
    fine = write_raster(tmp_path, data=np.ones((360, 360)), transform=Affine(RES / 3, 0, 104.0, 0, -RES / 3, 13.0))
    hit = next(f for f in raster_findings(fine, programme, COUNTRY, BOUNDARY) if f.check_id == "raster.pixel_size")
    assert hit.severity.value == "info" and "aggregated" in hit.message
    coarse = write_raster(tmp_path, "KHM_GSSmap_pH_0-30.tif", data=np.full((30, 30), 7.0),
                          transform=Affine(RES * 4, 0, 104.0, 0, -RES * 4, 13.0))
    hit = next(f for f in raster_findings(coarse, programme, COUNTRY, BOUNDARY) if f.check_id == "raster.pixel_size")
    assert hit.severity.value == "warning" and "4.0 times coarser" in hit.message


def test_stale_statistics_compare_with_the_pixels(programme, tmp_path):
    path = _stale(tmp_path)
    hit = next(f for f in raster_findings(path, programme, COUNTRY, BOUNDARY)
               if f.check_id == "raster.stale_statistics")
    assert hit.observed["STATISTICS_MEAN"] == 7.5
    assert hit.expected["STATISTICS_MEAN"] == pytest.approx(25.25, rel=1e-3)


def test_every_raster_and_naming_file_check_is_covered():
    file_checks = {c.check_id for c in REGISTRY.values() if c.target == "raster" and c.func is not None
                   and c.family != "metafile"}  # metafile checks: tests/test_checks_metafile.py
    assert file_checks == set(FAILING)
