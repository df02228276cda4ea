"""Checks on salinity GeoTIFFs (SPEC §2): format, CRS, grid, nodata, values, coverage.

Every raster is opened once and read once, block by block (``atlas.intake.readers.scan_raster``);
the checks below share that pass through ``RasterContext.stats``.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import shapely
from pyproj import CRS, Transformer

from atlas.config import Programme
from atlas.finding import Finding, Location, Severity
from atlas.grid import AGGREGATE_FROM_FACTOR
from atlas.intake.containment import Limits, contained, sidecar_findings
from atlas.intake.readers import RasterStats, open_raster_safely, scan_raster
from atlas.wording import plural
from checks.layers import LayerFile, resolve_layers
from checks.naming import SalinityName, salinity_name
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
        geom = shapely.make_valid(lonlat_to_crs(self.boundary, self.ds.crs))
        west, south, east, north = self.ds.bounds
        return shapely.clip_by_rect(geom, min(west, east), min(south, north), max(west, east), max(south, north))

    @cached_property
    def country_km2(self) -> float | None:
        if self.boundary is None:
            return None
        return float(lonlat_to_crs(self.boundary, EQUAL_AREA).area / 1e6)

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


def lonlat_to_crs(geom, crs):
    """``geom`` (EPSG:4326) in ``crs``, as geopandas' ``to_crs`` does it (pyproj, always x then y), without
    loading geopandas and pandas for one geometry (bench/bench_validate.py)."""
    transformer = _from_lonlat(crs if isinstance(crs, str) else crs.to_wkt())
    return shapely.transform(geom, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))


_TRANSFORMERS = threading.local()  # per thread, as PROJ objects are safest; building one costs ~10 ms


def _from_lonlat(crs: str) -> Transformer:
    """The transformer from EPSG:4326 to ``crs``, built once per CRS and thread (every layer of a delivery shares
    its country's boundary and usually its CRS)."""
    cache = _TRANSFORMERS.__dict__.setdefault("by_crs", {})
    if crs not in cache:
        if len(cache) >= 16:  # a long-lived process (the portal) sees many CRSs: keep the cache small
            cache.clear()
        cache[crs] = Transformer.from_crs(CRS.from_user_input("EPSG:4326"), CRS.from_user_input(crs), always_xy=True)
    return cache[crs]


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
    yield Hit(f"{plural(len(stats.read_errors), 'block read')} failed, first: {message}{more}",
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
       "The pixel size is not 30 arc-seconds (1/120 degree) within the tolerance: finer maps (1.5x or more) are "
       "aggregated (info), coarser ones resampled (warning); a size close to but not 30 arc-seconds is an error.",
       "resample to 1/120 degree on the global 30 arc-second grid (gdalwarp -tr 0.00833333333333333 ... -tap)")
def check_pixel_size(ctx):
    if not _grid_applies(ctx):
        return
    drift, _, _ = _grid_values(ctx)
    tol = ctx.programme.alignment_tolerance_px
    if drift > tol:
        res = ctx.ds.res
        grid_res = ctx.programme.resolution_deg
        factor = grid_res / max(res[0], res[1])  # pixels per 30 arc-second cell along the coarser axis
        text = f"pixel size {res[0]:.12g} x {res[1]:.12g} degrees, expected {grid_res:.12g}"
        if factor >= AGGREGATE_FROM_FACTOR:  # finer maps are normal (SPEC §2): aggregated, not refused
            yield Hit(f"{text}: {factor:.1f} times finer; aggregated onto the grid when harmonized "
                      "(mean, or majority for classes)", ctx.loc(), observed=list(res), expected=grid_res,
                      severity=Severity.INFO)
        elif factor <= 1.0 / AGGREGATE_FROM_FACTOR:
            yield Hit(f"{text}: {1 / factor:.1f} times coarser; resampled onto the grid when harmonized",
                      ctx.loc(), observed=list(res), expected=grid_res, severity=Severity.WARNING)
        else:
            yield Hit(f"{text} (drift {drift:.3g} px across the raster)", ctx.loc(), observed=list(res),
                      expected=grid_res)


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
    try:
        box = transform_bounds(ctx.ds.crs, "EPSG:4326", min(west, east), min(south, north), max(west, east),
                               max(south, north))
    except Exception:  # noqa: BLE001 - a CRS PROJ cannot invert is said below, like corners off the Earth
        box = (math.inf,) * 4
    bw, bs, be, bn = ctx.boundary.bounds
    b = EXTENT_BUFFER_DEG
    if not all(math.isfinite(v) for v in box):  # e.g. a geostationary view: its corners lie off the Earth
        crs = ctx.ds.crs.to_string()[:60]
        yield Hit(f"the raster's extent cannot be put in longitude/latitude: in its CRS ({crs}) its corners lie off "
                  f"the Earth, so it was not compared with {ctx.country}'s territory", ctx.loc(),
                  observed="no lon/lat extent", expected=_extent_text((bw, bs, be, bn)))
    elif not shapely.box(*box).intersects(ctx.boundary):
        yield Hit(f"extent {_extent_text(box)} does not touch {ctx.country}", ctx.loc(),
                  observed=list(box), expected=[bw, bs, be, bn], severity=Severity.ERROR)
    elif box[0] < bw - b or box[1] < bs - b or box[2] > be + b or box[3] > bn + b:
        yield Hit(f"extent {_extent_text(box)} reaches beyond {ctx.country}'s bounds "
                  f"({_extent_text((bw, bs, be, bn))}) by more than {b}°", ctx.loc(), observed=list(box),
                  expected=[bw - b, bs - b, be + b, bn + b])


def _extent_text(box) -> str:
    """West, south, east, north in words: 'lon 104.000 to 105.000, lat 12.000 to 13.000'."""
    west, south, east, north = (float(v) for v in box)
    return f"lon {west:.3f} to {east:.3f}, lat {south:.3f} to {north:.3f}"


from checks import raster_values  # noqa: E402,F401  (registers the value checks, in order)


def raster_findings(path: Path, programme: Programme, country: str | None = None, boundary=None,
                    resolved: LayerFile | None = None, reads=None) -> list[Finding]:
    """Vet, open once and scan once inside GDAL containment, run every raster and naming check; never raises.

    ``resolved``: what ``checks.layers.resolve_layers`` made of the file within its delivery (manifest included);
    without it the file's name alone is read. The scan's statistics are kept in ``reads``
    (``atlas.intake.readers.Reads``) for harmonization.
    """
    path = Path(path)
    if resolved is None:
        resolved = resolve_layers([path], programme.salinity).files[0]
    with contained(vectors=False):  # a raster: pyogrio (and geopandas with it) is not loaded for it
        ds, error, refused = open_raster_safely(path, reads.limits if reads else Limits.from_programme(programme))
        if refused:
            return refused  # not opened (or closed after the header): no other check can say more
        ctx = RasterContext(path, programme, country, boundary, ds, error,
                            salinity_name(resolved, programme.salinity), {"resolved": resolved})
        try:
            findings = sidecar_findings(path) + run_checks("raster", "salinity_map", ctx)
            if reads is not None and "stats" in vars(ctx):  # the checks' one pass, if they made it
                reads.raster_stats[path] = ctx.stats
            return findings
        finally:
            if ds is not None:
                ds.close()
