"""The one-pass raster scan (atlas.intake.readers.scan_raster) measures what a plain whole-array count measures.

The scan skips work the row band's minimum and maximum already answer and counts whole-number values with a
histogram; these tests hold it to a reference written the obvious way, on small
rasters read in several row bands, whatever the layout of invalid and out-of-range pixels.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine

from atlas.intake import readers
from atlas.intake.readers import scan_raster

RES = 1.0 / 120.0


def _write(path, data: np.ndarray, nodata, block: int = 16):
    profile = dict(driver="GTiff", width=data.shape[1], height=data.shape[0], count=1, dtype=data.dtype.name,
                   crs="EPSG:4326", transform=Affine(RES, 0, 100.0, 0, -RES, 20.0), nodata=nodata, tiled=True,
                   blockxsize=block, blockysize=block, compress="deflate")
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(data, 1)
    return path


def _reference(data: np.ndarray, nodata, value_range, warn_above) -> dict:
    """What the scan must find, computed on the whole array at once."""
    is_float = data.dtype.kind == "f"
    valid = ~np.isnan(data) if is_float else np.ones(data.shape, bool)
    if nodata is not None and not (is_float and math.isnan(nodata)):
        valid &= data != np.array(nodata).astype(data.dtype)
    values = data[valid]
    out = {"n_pixels": data.size, "n_valid": int(valid.sum()), "n_nan": int(np.isnan(data).sum()) if is_float else 0}
    if not values.size:
        return out
    integer = bool(np.all(values == np.round(values)))
    uniq, cnt = np.unique(values, return_counts=True)
    counts = dict(zip(uniq.tolist(), cnt.tolist(), strict=True)) if integer and len(uniq) <= 64 else None
    out.update(vmin=float(values.min()), vmax=float(values.max()), integer_valued=integer, value_counts=counts)
    if value_range is not None:
        bad = valid & ((data < value_range[0]) | (data > value_range[1]))
        out["n_out_of_range"] = int(bad.sum())
        out["first_out_of_range"] = _first(bad, data)
    if warn_above is not None:
        high = valid & (data > warn_above)
        out["n_above_warn"] = int(high.sum())
        out["first_above_warn"] = _first(high, data)
    out["mean"] = float(values.astype("float64").sum() / values.size)
    return out


def _first(mask, data):
    if not mask.any():
        return None
    r, c = np.argwhere(mask)[0]
    return int(r), int(c), float(data[r, c])


def _scan(path, value_range=None, warn_above=None, land=None):
    with rasterio.open(path) as ds:
        return scan_raster(ds, value_range, warn_above, land)


def _assert_same(stats, expected: dict):
    for key, value in expected.items():
        got = getattr(stats, key)
        if key == "mean":
            assert got == pytest.approx(value, rel=1e-12), key
        elif key == "value_counts" and value is not None:
            assert got == value and [type(k) for k in got] == [type(k) for k in value], key
        else:
            assert got == value, key


@pytest.fixture
def small_bands(monkeypatch):
    """Row bands of 16 rows on a 64-pixel-wide raster: several bands per file, as on a national map."""
    monkeypatch.setattr(readers, "CHUNK_PIXELS", 16 * 64)


def test_float_layer_with_nan_nodata_and_values_out_of_range_in_a_later_band(tmp_path, small_bands):
    rng = np.random.default_rng(1)
    data = rng.gamma(2.0, 3.0, (80, 64)).astype("float32")
    data[:, :5] = -9999.0
    data[3, 7] = np.nan
    data[40, 2] = np.nan  # a NaN in a later band, among nodata pixels
    data[50, 9] = 450.0  # out of range, only in the fourth band
    data[70, 1] = -2.5  # below the range, where the first columns are nodata
    data[61, 33] = 120.0  # above the warning threshold, in range
    path = _write(tmp_path / "IND_GSSmap_ECe_0-30.tif", data, -9999.0)
    stats = _scan(path, (0.0, 300.0), 100.0)
    _assert_same(stats, _reference(data, -9999.0, (0.0, 300.0), 100.0))
    assert stats.n_out_of_range == 2 and stats.first_out_of_range == (50, 9, 450.0)
    assert stats.n_above_warn == 2 and stats.n_nan == 2 and stats.integer_valued is False


def test_bands_inside_the_range_count_nothing_and_the_extremes_stay_exact(tmp_path, small_bands):
    data = np.full((64, 64), 300.0, "float32")  # exactly on the upper bound: in range, not above it
    data[::2] = 0.0
    path = _write(tmp_path / "IND_GSSmap_ECe_0-30.tif", data, -9999.0)
    stats = _scan(path, (0.0, 300.0), 300.0)
    _assert_same(stats, _reference(data, -9999.0, (0.0, 300.0), 300.0))
    assert stats.n_out_of_range == 0 and stats.n_above_warn == 0 and stats.value_counts == {0.0: 2048, 300.0: 2048}


@pytest.mark.parametrize("dtype, nodata", [("uint8", 255), ("int16", None), ("int16", -32768), ("float32", None),
                                           ("float32", float("nan"))])
def test_whole_number_layers_count_each_value_with_its_type(tmp_path, small_bands, dtype, nodata):
    rng = np.random.default_rng(2)
    data = rng.integers(1, 13, (64, 64)).astype(dtype)
    if dtype == "int16":
        data[10:20] = -7  # negative codes
    if nodata is not None:
        data[:8, :8] = np.array(nodata).astype(dtype)
    path = _write(tmp_path / "x_SAS_0-30.tif", data, nodata)
    stats = _scan(path, (1, 12))
    _assert_same(stats, _reference(data, nodata, (1, 12), None))
    assert stats.integer_valued and stats.value_counts is not None


def test_whole_numbers_far_apart_are_counted_by_sorting(tmp_path, small_bands):
    data = np.where(np.arange(64 * 64).reshape(64, 64) % 3 == 0, 1_000_000, -5).astype("int32")
    path = _write(tmp_path / "x.tif", data, None)
    stats = _scan(path)
    _assert_same(stats, _reference(data, None, None, None))
    assert stats.value_counts == {-5: int((data == -5).sum()), 1_000_000: int((data == 1_000_000).sum())}


def test_a_fraction_late_in_the_band_still_makes_the_layer_fractional(tmp_path, small_bands, monkeypatch):
    data = np.full((64, 64), 4.0, "float32")
    data[15, 63] = 4.5  # the last pixel of the first band: after the values probed first
    monkeypatch.setattr(readers, "INTEGER_PROBE", 8)
    stats = _scan(_write(tmp_path / "x.tif", data, -9999.0))
    assert stats.integer_valued is False and stats.value_counts is None


def test_land_area_counts_valid_pixels_only_without_nodata_declared(tmp_path, small_bands):
    data = np.ones((64, 64), "uint8")
    path = _write(tmp_path / "x.tif", data, None)
    land = shapely.box(100.0, 20.0 - 32 * RES, 100.0 + 64 * RES, 20.0)  # the upper half
    half = _scan(path, land=land).valid_land_km2
    whole = _scan(path, land=shapely.box(99.0, 19.0, 101.0, 21.0)).valid_land_km2
    assert whole > 0 and half == pytest.approx(whole * 0.5, rel=0.01)


def test_a_raster_check_loads_neither_pyogrio_nor_geopandas_and_a_later_vector_read_is_contained(tmp_path):
    """pyogrio (which loads geopandas, pandas, pyarrow) is left out of a raster check; a vector read started while
    a raster is open still gets the containment options in pyogrio's GDAL."""
    path = _write(tmp_path / "IND_GSSmap_ECe_0-30.tif", np.ones((32, 32), "float32"), -9999.0)
    code = f"""
import sys
from atlas.config import load_programme
from atlas.intake.containment import contained
from checks.raster import raster_findings
findings = raster_findings({str(path)!r}, load_programme(), "IND", None)
assert findings, "no findings"
print(sorted(m for m in ("pyogrio", "geopandas", "pandas") if m in sys.modules))
with contained(vectors=False):
    import pyogrio
    with contained():
        print(pyogrio.get_gdal_config_option("OGR_SQLITE_ALLOW_EXTERNAL_ACCESS"))
print(pyogrio.get_gdal_config_option("OGR_SQLITE_ALLOW_EXTERNAL_ACCESS"))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.split("\n")
    assert lines[0] == "[]"
    assert lines[1] in ("NO", "False")  # set when the vector read entered its containment
    assert lines[2] not in ("NO", "False")  # restored when the last containment closed


@pytest.mark.parametrize("crs", ["EPSG:32648", "ESRI:54034", "EPSG:3857"])
def test_the_boundary_in_the_raster_crs_is_the_one_geopandas_gives(crs):
    """The raster checks put the country's boundary in the raster's CRS with pyproj and shapely alone: the same
    coordinates (and so the same coverage areas) as geopandas' to_crs."""
    import geopandas as gpd
    from rasterio.crs import CRS as RasterioCRS

    from checks.raster import lonlat_to_crs

    boundary = shapely.Polygon([(102.3, 10.4), (107.6, 10.4), (107.6, 14.7), (105.0, 13.2), (102.3, 14.7)]).buffer(0.2)
    target = RasterioCRS.from_user_input(crs)  # as a raster declares it
    ours = lonlat_to_crs(boundary, target)
    theirs = gpd.GeoSeries([boundary], crs="EPSG:4326").to_crs(target).values[0]
    assert shapely.equals_exact(ours, theirs, tolerance=1e-6)
    assert ours.area == pytest.approx(theirs.area, rel=1e-12) and ours.area != pytest.approx(boundary.area)


def test_the_scan_leaves_gdal_a_block_cache_of_megabytes_not_bytes(tmp_path):
    """rasterio.Env's GDAL_CACHEMAX counts bytes and sets a process-wide cache that outlives an Env nested in
    another: a value meant as megabytes left a 64-byte cache behind, with which a decimated read (a report's
    footprint) decoded each tile once per row, 20-40 times slower."""
    from rasterio._env import get_gdal_config
    from rasterio.enums import Resampling

    from atlas.intake.containment import contained

    path = _write(tmp_path / "x.tif", np.ones((600, 600), "float32"), -9999.0, block=256)
    with contained(vectors=False):
        with rasterio.open(path) as ds:
            scan_raster(ds)
        assert int(get_gdal_config("GDAL_CACHEMAX")) >= 2**20
        with rasterio.open(path) as ds:
            assert ds.read(1, out_shape=(60, 60), resampling=Resampling.nearest).shape == (60, 60)
    assert int(get_gdal_config("GDAL_CACHEMAX")) >= 2**20


def test_aggregation_and_mosaics_ask_gdal_for_megabytes_of_cache():
    from atlas.borders import aggregate
    from atlas.products import mosaic

    assert aggregate.CACHE_BYTES >= 2**20 and mosaic.GDAL_ENV["GDAL_CACHEMAX"] >= 2**20
    assert readers.SCAN_CACHE_BYTES >= 2**20
