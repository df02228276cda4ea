"""Checks on salinity GeoTIFFs (SPEC §2): format, CRS, grid, nodata, values, coverage.

Every raster is opened once and read once, block by block (``atlas.readers.scan_raster``);
the checks below share that pass through ``RasterContext.stats``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from atlas.config import Programme
from atlas.readers import RasterStats, open_raster_safely, scan_raster, sidecar_statistics
from checks.finding import Finding, Location, Severity
from checks.naming import SalinityName, parse_salinity_name
from checks.registry import Hit, check, run_checks

PRODUCTS = ("salinity_map",)
EXTENT_BUFFER_DEG = 0.1  # about 11 km: a raster may reach this far past the country's bounding box
COVERAGE_MIN = 0.9  # share of the country's land with valid pixels below which a warning is raised
EQUAL_AREA = "ESRI:54034"


@dataclass
class RasterContext:
    """One raster opened once; pixel statistics computed on first use and shared."""

    path: Path
    programme: Programme
    country: str | None = None
    boundary: object | None = None  # shapely geometry, EPSG:4326
    ds: object | None = None
    open_error: str | None = None
    parsed: SalinityName | None = None
    extra: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def layer(self) -> str | None:
        return self.parsed.layer if self.parsed else None

    @property
    def is_class_layer(self) -> bool:
        return self.layer == self.programme.salinity.class_layer

    def loc(self, **kw) -> Location:
        label = f"{self.parsed.layer} {self.parsed.depth}" if self.parsed else None
        return Location(file=self.name, layer=label, **kw)

    @cached_property
    def land(self):
        """The country's boundary in the raster's CRS, clipped to near the raster (or None)."""
        if self.boundary is None or self.ds is None or self.ds.crs is None or _rotated(self.ds):
            return None
        geom = gpd.GeoSeries([self.boundary], crs="EPSG:4326").to_crs(self.ds.crs).make_valid().values[0]
        west, south, east, north = self.ds.bounds
        return shapely.clip_by_rect(geom, min(west, east), min(south, north), max(west, east), max(south, north))

    @cached_property
    def country_km2(self) -> float | None:
        if self.boundary is None:
            return None
        return float(gpd.GeoSeries([self.boundary], crs="EPSG:4326").to_crs(EQUAL_AREA).area.iloc[0] / 1e6)

    @cached_property
    def stats(self) -> RasterStats | None:
        if self.ds is None:
            return None
        spec = self.programme.salinity
        value_range = spec.ranges.get(self.layer) if self.layer else None
        if self.is_class_layer:
            value_range = (min(spec.classes), max(spec.classes))
        warn = spec.ece_warn_above if self.layer == "ECe" else None
        return scan_raster(self.ds, value_range, warn, self.land)


def _rotated(ds) -> bool:
    return ds.transform.b != 0 or ds.transform.d != 0


def _on_grid_crs(ctx) -> bool:
    crs = ctx.ds.crs
    return crs is not None and (crs.to_epsg(confidence_threshold=70) == 4326
                                or CRS.from_user_input(crs.to_wkt()) == CRS.from_user_input(ctx.programme.crs))


def _lonlat(ctx, row: int, col: int) -> tuple[float | None, float | None]:
    from rasterio.warp import transform as warp

    x, y = ctx.ds.transform @ (col + 0.5, row + 0.5)
    if ctx.ds.crs is None:
        return None, None
    if ctx.ds.crs.is_geographic:
        return float(x), float(y)
    xs, ys = warp(ctx.ds.crs, "EPSG:4326", [x], [y])
    return float(xs[0]), float(ys[0])


def _pixel_loc(ctx, where: tuple[int, int, float]) -> Location:
    row, col, _ = where
    lon, lat = _lonlat(ctx, row, col)
    return ctx.loc(band=1, window=(col, row, 1, 1), lon=lon, lat=lat)


def _opened(ctx) -> bool:
    return ctx.ds is not None


def _has_pixels(ctx) -> bool:
    return ctx.ds is not None and ctx.stats is not None and not ctx.stats.read_errors and ctx.stats.n_valid > 0


@check("raster.unreadable", Severity.ERROR, "raster", PRODUCTS, "The file cannot be opened as a raster.",
       "export the layer again as a GeoTIFF and check it opens in QGIS")
def check_unreadable(ctx):
    if ctx.open_error:
        yield Hit(f"cannot open: {ctx.open_error}", ctx.loc(), observed=ctx.open_error)


@check("raster.not_geotiff", Severity.ERROR, "raster", PRODUCTS, "The raster is not a GeoTIFF.",
       "export as GeoTIFF (gdal_translate -of GTiff)")
def check_geotiff(ctx):
    if _opened(ctx) and ctx.ds.driver not in ("GTiff", "COG"):
        yield Hit(f"format is {ctx.ds.driver}, not GeoTIFF", ctx.loc(), observed=ctx.ds.driver, expected="GTiff")


@check("raster.read_failed", Severity.ERROR, "raster", PRODUCTS, "Some blocks of the raster cannot be read.",
       "the file is damaged: export it again (gdal_translate) and check every block reads")
def check_read_failed(ctx):
    if not _opened(ctx) or not ctx.stats.read_errors:
        return
    stats = ctx.stats
    window, message = stats.read_errors[0]
    more = "; stopped reading after repeated failures" if stats.stopped_early else ""
    yield Hit(f"{len(stats.read_errors)} block read(s) failed, first: {message}{more}",
              ctx.loc(window=window), observed=len(stats.read_errors), expected=0)


@check("raster.band_count", Severity.ERROR, "raster", PRODUCTS, "A salinity layer has one band per file.",
       "write each layer and depth to its own single-band GeoTIFF")
def check_bands(ctx):
    if _opened(ctx) and ctx.ds.count != 1:
        yield Hit(f"{ctx.ds.count} bands", ctx.loc(), observed=ctx.ds.count, expected=1)


@check("raster.crs_missing", Severity.ERROR, "raster", PRODUCTS, "No coordinate reference system is declared.",
       "assign the CRS the data is in (EPSG:4326 for GSSmap) and export again")
def check_crs_missing(ctx):
    if _opened(ctx) and ctx.ds.crs is None:
        yield Hit("no CRS declared", ctx.loc(), expected=ctx.programme.crs)


@check("raster.crs_identity", Severity.INFO, "raster", PRODUCTS, "The declared CRS, its authority and datum.",
       "nothing to do")
def check_crs_identity(ctx):
    if not _opened(ctx) or ctx.ds.crs is None:
        return
    crs = CRS.from_user_input(ctx.ds.crs.to_wkt())
    ident = ctx.extra["crs_ident"] = _crs_identity(ctx.ds.crs, crs)
    datum = crs.datum.name if crs.datum else "unknown"
    yield Hit(f"CRS {ident} ({crs.name}), datum {datum}", ctx.loc(), observed={"crs": ident, "datum": datum})


def _crs_identity(rio_crs, crs: CRS) -> str:
    epsg = rio_crs.to_epsg()
    if epsg:
        return f"EPSG:{epsg}"
    auth = crs.to_authority() or rio_crs.to_authority()
    if auth:
        return f"{auth[0]}:{auth[1]} (no EPSG code)"
    return "custom WKT (no authority code)"


@check("raster.crs_no_epsg", Severity.WARNING, "raster", PRODUCTS,
       "The CRS has no EPSG code (ESRI-only or custom WKT); reprojection relies on the WKT being right.",
       "export with an EPSG-coded CRS, preferably EPSG:4326")
def check_crs_no_epsg(ctx):
    if _opened(ctx) and ctx.ds.crs is not None and not ctx.ds.crs.to_epsg():
        crs = CRS.from_user_input(ctx.ds.crs.to_wkt())
        yield Hit(f"CRS {crs.name!r} has no EPSG code ({_crs_identity(ctx.ds.crs, crs)})", ctx.loc(),
                  observed=ctx.ds.crs.to_wkt()[:200], expected="an EPSG code")


@check("raster.crs_datum", Severity.WARNING, "raster", PRODUCTS,
       "The CRS uses a datum other than WGS 84 (e.g. NAD27); a datum shift is applied when reprojected.",
       "check the datum is the one the data was made in; export in EPSG:4326 if you can")
def check_crs_datum(ctx):
    if not _opened(ctx) or ctx.ds.crs is None:
        return
    crs = CRS.from_user_input(ctx.ds.crs.to_wkt())
    datum = crs.datum.name if crs.datum else ""
    if "WGS 84" not in datum and "WGS_1984" not in datum and "World Geodetic System 1984" not in datum:
        yield Hit(f"datum is {datum or 'unknown'}, not WGS 84", ctx.loc(), observed=datum, expected="WGS 84")


@check("raster.crs_not_grid", Severity.INFO, "raster", PRODUCTS,
       "The raster is not in the common grid's CRS; it is reprojected when harmonized.",
       "nothing to do; delivering in EPSG:4326 avoids resampling")
def check_crs_not_grid(ctx):
    if _opened(ctx) and ctx.ds.crs is not None and not _on_grid_crs(ctx):
        yield Hit(f"CRS is not {ctx.programme.crs}; reprojected when harmonized", ctx.loc(),
                  observed=ctx.extra.get("crs_ident") or ctx.ds.crs.to_string(), expected=ctx.programme.crs)


@check("raster.rotated", Severity.ERROR, "raster", PRODUCTS, "The geotransform has rotation terms.",
       "warp the raster to an unrotated north-up grid (gdalwarp) and export again")
def check_rotated(ctx):
    if _opened(ctx) and _rotated(ctx.ds):
        t = ctx.ds.transform
        yield Hit(f"rotation terms b={t.b:g}, d={t.d:g}", ctx.loc(), observed=list(t)[:6], expected="b = d = 0")


@check("raster.south_up", Severity.ERROR, "raster", PRODUCTS,
       "The raster is not north-up (positive row pixel size: south-up).",
       "flip or warp the raster to north-up (negative row pixel size) and export again")
def check_south_up(ctx):
    if _opened(ctx) and not _rotated(ctx.ds) and ctx.ds.transform.e >= 0:
        yield Hit(f"row pixel size is {ctx.ds.transform.e:g} (must be negative)", ctx.loc(),
                  observed=ctx.ds.transform.e, expected="< 0")


def _grid_values(ctx):
    """(pixel size drift in px, origin offsets in px) against the 30 arc-second lattice."""
    t, res = ctx.ds.transform, ctx.programme.resolution_deg
    size = max(ctx.ds.width, ctx.ds.height)
    drift = max(abs(t.a - res), abs(abs(t.e) - res)) * size / res
    dx, dy = t.c / res - round(t.c / res), t.f / res - round(t.f / res)
    return drift, dx, dy


def _grid_applies(ctx) -> bool:
    return _opened(ctx) and _on_grid_crs(ctx) and not _rotated(ctx.ds) and ctx.ds.transform.e < 0


@check("raster.pixel_size", Severity.ERROR, "raster", PRODUCTS,
       "The pixel size is not 30 arc-seconds (1/120 degree) within the tolerance.",
       "resample to 1/120 degree on the global 30 arc-second grid (gdalwarp -tr 0.00833333333333333 ... -tap)")
def check_pixel_size(ctx):
    if not _grid_applies(ctx):
        return
    drift, _, _ = _grid_values(ctx)
    tol = ctx.programme.alignment_tolerance_px
    if drift > tol:
        res = ctx.ds.res
        yield Hit(f"pixel size {res[0]:.12g} x {res[1]:.12g} degrees, expected {ctx.programme.resolution_deg:.12g}"
                  f" (drift {drift:.3g} px across the raster)", ctx.loc(), observed=list(res),
                  expected=ctx.programme.resolution_deg)


@check("raster.grid_misaligned", Severity.ERROR, "raster", PRODUCTS,
       "Pixel edges are not on multiples of 1/120 degree (beyond the tolerance).",
       "warp with target-aligned pixels (gdalwarp -tap -tr 0.00833333333333333 0.00833333333333333)")
def check_grid_aligned(ctx):
    if not _grid_applies(ctx):
        return
    drift, dx, dy = _grid_values(ctx)
    tol = ctx.programme.alignment_tolerance_px
    if drift <= tol and max(abs(dx), abs(dy)) > tol:
        yield Hit(f"origin is off the 30 arc-second lattice by ({dx:.4f}, {dy:.4f}) pixels", ctx.loc(),
                  observed={"origin": [ctx.ds.transform.c, ctx.ds.transform.f], "offset_px": [dx, dy]},
                  expected=f"offset within {tol} px")


@check("raster.grid_noise", Severity.INFO, "raster", PRODUCTS,
       "Pixel size or origin differ from the lattice by floating-point noise only; snapped when harmonized.",
       "nothing to do")
def check_grid_noise(ctx):
    if not _grid_applies(ctx):
        return
    drift, dx, dy = _grid_values(ctx)
    tol = ctx.programme.alignment_tolerance_px
    t, res = ctx.ds.transform, ctx.programme.resolution_deg
    exact = t.a == res and -t.e == res and dx == 0 and dy == 0
    if not exact and max(drift, abs(dx), abs(dy)) <= tol:
        yield Hit(f"pixel size {t.a!r} x {-t.e!r}, origin offset ({dx:.2e}, {dy:.2e}) px: within tolerance",
                  ctx.loc(), observed={"res": [t.a, -t.e], "offset_px": [dx, dy]}, expected=res)


@check("raster.extent_outside", Severity.WARNING, "raster", PRODUCTS,
       "The raster reaches beyond the country's reference boundary plus a buffer (error if it misses it entirely).",
       "crop the raster to the country; check the CRS and the country code in the file name")
def check_extent(ctx):
    from rasterio.warp import transform_bounds

    if not _opened(ctx) or ctx.boundary is None or ctx.ds.crs is None or _rotated(ctx.ds):
        return
    west, south, east, north = ctx.ds.bounds
    box = transform_bounds(ctx.ds.crs, "EPSG:4326", min(west, east), min(south, north), max(west, east),
                           max(south, north))
    bw, bs, be, bn = ctx.boundary.bounds
    b = EXTENT_BUFFER_DEG
    if not shapely.box(*box).intersects(ctx.boundary):
        yield Hit(f"extent {np.round(box, 3).tolist()} does not touch {ctx.country}", ctx.loc(),
                  observed=list(box), expected=[bw, bs, be, bn], severity=Severity.ERROR)
    elif box[0] < bw - b or box[1] < bs - b or box[2] > be + b or box[3] > bn + b:
        yield Hit(f"extent {np.round(box, 3).tolist()} reaches beyond {ctx.country}'s bounds "
                  f"{np.round([bw, bs, be, bn], 3).tolist()} + {b}°", ctx.loc(), observed=list(box),
                  expected=[bw - b, bs - b, be + b, bn + b])


def _expected_dtype(ctx) -> str | None:
    if ctx.layer is None:
        return None
    return "uint8" if ctx.is_class_layer else "float32"


def _expected_nodata(ctx) -> float | None:
    if ctx.layer is None:
        return None
    spec = ctx.programme.salinity
    return spec.class_nodata if ctx.is_class_layer else spec.continuous_nodata


@check("raster.dtype", Severity.WARNING, "raster", PRODUCTS,
       "The data type is not the convention (Float32 for continuous layers, Byte for the class layer).",
       "export continuous layers as Float32 and the class layer as Byte")
def check_dtype(ctx):
    expected = _expected_dtype(ctx)
    if _opened(ctx) and expected and ctx.ds.dtypes[0] != expected:
        yield Hit(f"data type {ctx.ds.dtypes[0]}, expected {expected}", ctx.loc(band=1), observed=ctx.ds.dtypes[0],
                  expected=expected)


@check("raster.nodata_missing", Severity.WARNING, "raster", PRODUCTS,
       "No nodata value is declared, so every pixel counts as data.",
       "declare the nodata value (-9999 for continuous layers, 255 for the class layer)")
def check_nodata_missing(ctx):
    if _opened(ctx) and ctx.ds.count and ctx.ds.nodatavals[0] is None:
        yield Hit("no nodata value declared; every pixel is treated as valid", ctx.loc(band=1),
                  expected=_expected_nodata(ctx))


def _nodata(ctx) -> float | None:
    return ctx.ds.nodatavals[0] if _opened(ctx) and ctx.ds.count else None


@check("raster.nodata_nan", Severity.INFO, "raster", PRODUCTS,
       "Nodata is declared as NaN; handled, and normalised to the convention in the processed copy.",
       "nothing to do; -9999 is preferred")
def check_nodata_nan(ctx):
    nd = _nodata(ctx)
    if nd is not None and math.isnan(nd):
        yield Hit(f"nodata is NaN ({ctx.stats.n_nan} NaN pixels)", ctx.loc(band=1), observed="NaN",
                  expected=_expected_nodata(ctx))


@check("raster.nodata_nonstandard", Severity.INFO, "raster", PRODUCTS,
       "A nodata value other than the convention (e.g. float32 lowest -3.4e38); accepted and normalised.",
       "nothing to do; -9999 (continuous) or 255 (class) is preferred")
def check_nodata_nonstandard(ctx):
    nd = _nodata(ctx)
    if nd is None or math.isnan(nd):
        return
    spec = ctx.programme.salinity
    expected = _expected_nodata(ctx)
    allowed = {expected} if expected is not None else {spec.continuous_nodata, float(spec.class_nodata)}
    if nd not in allowed:
        lowest = " (float32 lowest, ArcGIS/R style)" if abs(nd) > 3e38 else ""
        yield Hit(f"nodata {nd:g}{lowest}; normalised to {expected if expected is not None else sorted(allowed)}",
                  ctx.loc(band=1), observed=nd, expected=expected)


@check("raster.nodata_collision", Severity.ERROR, "raster", PRODUCTS,
       "The nodata value is a plausible data value of the layer (or not representable in its type).",
       "choose a nodata value outside the layer's range (-9999 continuous, 255 class)")
def check_nodata_collision(ctx):
    nd = _nodata(ctx)
    if nd is None or math.isnan(nd) or ctx.layer is None:
        return
    dtype = np.dtype(ctx.ds.dtypes[0])
    if dtype.kind in "iu" and not (np.iinfo(dtype).min <= nd <= np.iinfo(dtype).max):
        yield Hit(f"nodata {nd:g} cannot be stored in {dtype}", ctx.loc(band=1), observed=nd, expected=str(dtype))
        return
    spec = ctx.programme.salinity
    if ctx.is_class_layer:
        if int(nd) in spec.classes and nd == int(nd):
            yield Hit(f"nodata {nd:g} is the class code {spec.classes[int(nd)]!r}", ctx.loc(band=1), observed=nd,
                      expected=spec.class_nodata)
    elif (rng := spec.ranges.get(ctx.layer)) and rng[0] <= nd <= rng[1]:
        yield Hit(f"nodata {nd:g} lies inside the plausible {ctx.layer} range {list(rng)}: real values would be "
                  "lost", ctx.loc(band=1), observed=nd, expected=spec.continuous_nodata)


@check("raster.nan_undeclared", Severity.WARNING, "raster", PRODUCTS,
       "NaN pixels are present but nodata is not NaN; they are treated as nodata.",
       "declare a nodata value and write it in place of NaN")
def check_nan_undeclared(ctx):
    nd = _nodata(ctx)
    if _opened(ctx) and ctx.stats.n_nan and not (nd is not None and math.isnan(nd)):
        yield Hit(f"{ctx.stats.n_nan} NaN pixels, nodata is {nd}", ctx.loc(band=1), observed=ctx.stats.n_nan,
                  expected=0)


@check("raster.all_nodata", Severity.ERROR, "raster", PRODUCTS, "Every pixel is nodata.",
       "export the layer again with its values")
def check_all_nodata(ctx):
    if _opened(ctx) and not ctx.stats.read_errors and ctx.stats.n_pixels and ctx.stats.n_valid == 0:
        yield Hit(f"all {ctx.stats.n_pixels} pixels are nodata", ctx.loc(band=1), observed=0,
                  expected="some valid pixels")


@check("raster.value_range", Severity.ERROR, "raster", PRODUCTS,
       "Values outside the layer's plausible range (ECe 0-300, pH 2-12, ESP 0-100, sd >= 0; class codes 0-3).",
       "check units (dS/m, %, pH units) and the nodata value; values must be in the layer's range")
def check_value_range(ctx):
    if not _has_pixels(ctx) or ctx.layer is None or ctx.is_class_layer or not ctx.stats.n_out_of_range:
        return
    stats, rng = ctx.stats, ctx.programme.salinity.ranges.get(ctx.layer)
    yield Hit(f"{stats.n_out_of_range} pixels outside {list(rng)} (min {stats.vmin:g}, max {stats.vmax:g}); first "
              f"{stats.first_out_of_range[2]:g}", _pixel_loc(ctx, stats.first_out_of_range),
              observed={"count": stats.n_out_of_range, "min": stats.vmin, "max": stats.vmax}, expected=list(rng))


@check("raster.ece_high", Severity.WARNING, "raster", PRODUCTS, "ECe above the rare-value threshold (100 dS/m).",
       "confirm these very saline values are real (units dS/m, not mS/m or µS/cm)")
def check_ece_high(ctx):
    if _has_pixels(ctx) and ctx.stats.n_above_warn:
        yield Hit(f"{ctx.stats.n_above_warn} pixels above {ctx.programme.salinity.ece_warn_above:g} dS/m "
                  f"(max {ctx.stats.vmax:g})", _pixel_loc(ctx, ctx.stats.first_above_warn),
                  observed=ctx.stats.n_above_warn, expected=f"<= {ctx.programme.salinity.ece_warn_above:g}")


@check("raster.class_unknown", Severity.ERROR, "raster", PRODUCTS,
       "Class codes outside the declared legend (0 none, 1 saline, 2 sodic, 3 saline-sodic).",
       "recode to the programme's salt-affected soil classes; non-soil areas are nodata (255)")
def check_class_unknown(ctx):
    if not _has_pixels(ctx) or not ctx.is_class_layer:
        return
    legend = ctx.programme.salinity.classes
    counts = ctx.stats.value_counts
    if counts is None:
        yield Hit("values are not integer class codes", ctx.loc(band=1), observed=[ctx.stats.vmin, ctx.stats.vmax],
                  expected=sorted(legend))
        return
    bad = {k: v for k, v in counts.items() if k not in legend}
    if bad:
        where = ctx.stats.first_out_of_range
        yield Hit(f"class codes {sorted(bad)} are not in the legend {legend}",
                  _pixel_loc(ctx, where) if where else ctx.loc(band=1), observed=bad, expected=sorted(legend))


@check("raster.class_legend_unconfirmed", Severity.WARNING, "raster", PRODUCTS,
       "A layer of integer classes with no embedded legend whose name does not say it is the class layer.",
       "name the file as the SAS layer and use the programme's class codes, or embed a legend (colour table/RAT)")
def check_class_legend(ctx):
    if not _has_pixels(ctx) or ctx.layer is not None or not ctx.stats.value_counts:
        return
    if len(ctx.stats.value_counts) > 16:
        return
    try:
        ctx.ds.colormap(1)
        return  # a colour table is a legend of sorts
    except ValueError:
        pass
    counts = {int(k): v for k, v in sorted(ctx.stats.value_counts.items())}
    yield Hit(f"integer class values {counts} with no legend; the programme legend is "
              f"{ctx.programme.salinity.classes}", ctx.loc(band=1), observed=counts,
              expected=ctx.programme.salinity.classes)


@check("raster.coverage_low", Severity.WARNING, "raster", PRODUCTS,
       "Valid pixels cover too little of the country's land (share of the reference boundary's area).",
       "deliver the whole country; areas without an estimate are nodata")
def check_coverage(ctx):
    if not _opened(ctx) or ctx.land is None or not ctx.country_km2 or ctx.stats.read_errors:
        return
    share = ctx.stats.valid_land_km2 / ctx.country_km2
    if share < COVERAGE_MIN:
        yield Hit(f"valid pixels cover {ctx.stats.valid_land_km2:,.0f} km² = {share:.1%} of {ctx.country}'s land "
                  f"({ctx.country_km2:,.0f} km²)", ctx.loc(band=1),
                  observed={"valid_km2": round(ctx.stats.valid_land_km2, 1), "share": round(share, 4)},
                  expected=f">= {COVERAGE_MIN:.0%}")


@check("raster.stale_statistics", Severity.WARNING, "raster", PRODUCTS,
       "Statistics stored beside or inside the file (.aux.xml, GDAL metadata) disagree with the pixels; ignored.",
       "delete the .aux.xml (or recompute statistics) before sending; the pipeline uses its own")
def check_stale_statistics(ctx):
    if not _has_pixels(ctx):
        return
    stored = sidecar_statistics(ctx.path, ctx.ds)
    if stored is None:
        return
    source, values = stored
    stats = ctx.stats
    computed = {"STATISTICS_MINIMUM": stats.vmin, "STATISTICS_MAXIMUM": stats.vmax, "STATISTICS_MEAN": stats.mean}
    off = {k: (values[k], computed[k]) for k in computed if k in values and computed[k] is not None
           and not math.isclose(values[k], computed[k], rel_tol=1e-4, abs_tol=1e-6)}
    if off or not values:
        detail = ", ".join(f"{k[11:].lower()} {a:g} vs {b:g}" for k, (a, b) in off.items()) or "unreadable"
        yield Hit(f"stored statistics in {source} are stale ({detail}); ignored", ctx.loc(band=1),
                  observed={k: a for k, (a, _) in off.items()}, expected={k: b for k, (_, b) in off.items()})


def raster_findings(path: Path, programme: Programme, country: str | None = None, boundary=None) -> list[Finding]:
    """Open a raster once, scan it once, run every raster and naming check; never raises."""
    path = Path(path)
    ds, error = open_raster_safely(path)
    ctx = RasterContext(path, programme, country, boundary, ds, error,
                        parse_salinity_name(path.name, programme.salinity))
    try:
        return run_checks("raster", "salinity_map", ctx)
    finally:
        if ds is not None:
            ds.close()
