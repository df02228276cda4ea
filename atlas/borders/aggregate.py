"""Finer rasters onto the 30 arc-second grid: mean of continuous layers, majority of classes (with its share).

One rule whatever the raster's CRS: a source pixel counts towards the grid cell holding its centre.
Each output row band (``BAND_ROWS`` rows) is filled from the source rows that reach it, read in strips of at
most ``STRIP_PIXELS``: memory depends on those two numbers and the output width, not on the input size.

Where the source is in the grid's CRS, north-up and its pixels nest exactly in the cells (e.g. 1, 3 or
7.5 arc-seconds on the lattice), continuous layers take a reshape-and-sum fast path; everything else maps
pixel centres to cells (through pyproj for other CRSs) and sums with ``numpy.bincount``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import rasterio
from pyproj import Transformer
from rasterio.warp import transform_bounds
from rasterio.windows import Window

from atlas.grid import Grid

BAND_ROWS = 64  # output rows per band
STRIP_PIXELS = 1 << 22  # source pixels per read (~16 MB of Float32)
# GDAL block cache while aggregating, in bytes (rasterio.Env's GDAL_CACHEMAX counts bytes, see intake.readers)
CACHE_BYTES = 64 * 2**20
CLASS_COUNT_CELLS = 2_000_000  # cell x code counters per band of the majority
MAJORITY_SHARE_NODATA = 255  # the share is stored as a whole percentage (Byte)


@dataclass(frozen=True)
class Aggregation:
    """What an aggregation did: the mean number of source pixels per filled cell, and for classes the mean
    majority share (0-1) over filled cells."""

    cells_filled: int
    mean_pixels_per_cell: float
    mean_majority_share: float | None = None
    other_nodata: int = 0  # source pixels that are NaN or a declared nodata other than the convention
    not_class_codes: int = 0  # class pixels left out: not a whole number 0-254


def linear_factor(src, grid: Grid) -> float:
    """How many source pixels span one grid cell along each axis (geometric mean over the footprint)."""
    return math.sqrt((src.width * src.height) / max(grid.width * grid.height, 1))


def _integer_factor(src, grid: Grid) -> int | None:
    """f when the source pixels nest f x f in each grid cell on the lattice (same CRS, north-up), else None."""
    t, g = src.transform, grid.transform
    if t.b or t.d or t.e >= 0 or src.crs is None or not src.crs.is_geographic:
        return None
    f = g.a / t.a
    if abs(f - round(f)) > 1e-6 or abs(g.a / -t.e - round(f)) > 1e-6 or round(f) < 2:
        return None
    col = (t.c - g.c) / t.a
    row = (t.f - g.f) / t.e
    return int(round(f)) if abs(col - round(col)) < 1e-3 and abs(row - round(row)) < 1e-3 else None


def _valid(values: np.ndarray, nodata) -> np.ndarray:
    valid = np.isfinite(values) if values.dtype.kind == "f" else np.ones(values.shape, bool)
    if nodata is not None and not (isinstance(nodata, float) and math.isnan(nodata)):
        valid &= values != nodata
    return valid


def _other_nodata(values: np.ndarray, valid: np.ndarray, target) -> int:
    """Invalid pixels not already holding the convention's nodata (counted for the nodata finding)."""
    return int((~valid).sum() - (values[~valid] == target).sum()) if not valid.all() else 0


class _Cells:
    """Maps source pixel centres of a window to (row, col) of the output grid."""

    def __init__(self, src, grid: Grid):
        self.src, self.grid = src, grid
        self.same_crs = src.crs is not None and src.crs.is_geographic and src.crs == rasterio.crs.CRS.from_string(
            grid.crs) and not (src.transform.b or src.transform.d)
        self.to_grid = None if self.same_crs else Transformer.from_crs(src.crs, grid.crs, always_xy=True)

    def of(self, win: Window) -> tuple[np.ndarray, np.ndarray]:
        t, g = self.src.transform, self.grid.transform
        cols = np.arange(win.col_off, win.col_off + win.width) + 0.5
        rows = np.arange(win.row_off, win.row_off + win.height) + 0.5
        if self.same_crs:  # separable: a column's cell depends on its column only
            x = t.c + cols * t.a
            y = t.f + rows * t.e
            return (np.floor((y - g.f) / g.e).astype(np.int64)[:, None] * np.ones((1, cols.size), np.int64),
                    np.ones((rows.size, 1), np.int64) * np.floor((x - g.c) / g.a).astype(np.int64)[None, :])
        cc, rr = np.meshgrid(cols, rows)
        x = t.c + cc * t.a + rr * t.b
        y = t.f + cc * t.d + rr * t.e
        lon, lat = self.to_grid.transform(x, y)
        if self.grid.crosses_antimeridian:
            lon = np.where(lon < g.c, lon + 360.0, lon)
        return (np.floor((lat - g.f) / g.e).astype(np.int64), np.floor((lon - g.c) / g.a).astype(np.int64))


def _source_window(src, grid: Grid, band: Window) -> Window | None:
    """The source window whose pixels may fall in an output row band (bounds reprojected, one pixel spare)."""
    west, north = grid.transform * (band.col_off, band.row_off)
    east, south = grid.transform * (band.col_off + band.width, band.row_off + band.height)
    if src.crs == rasterio.crs.CRS.from_string(grid.crs):
        box = (west, south, east, north)
    else:
        box = transform_bounds(grid.crs, src.crs, west, south, east, north, densify_pts=21)
    inv = ~src.transform
    corners = [inv * (x, y) for x in (box[0], box[2]) for y in (box[1], box[3])]
    c0 = max(0, math.floor(min(c for c, _ in corners)) - 1)
    c1 = min(src.width, math.ceil(max(c for c, _ in corners)) + 1)
    r0 = max(0, math.floor(min(r for _, r in corners)) - 1)
    r1 = min(src.height, math.ceil(max(r for _, r in corners)) + 1)
    if c1 <= c0 or r1 <= r0:
        return None
    return Window(c0, r0, c1 - c0, r1 - r0)


def _strips(win: Window, align: int = 1):
    rows = max(align, (STRIP_PIXELS // max(int(win.width), 1)) // align * align)
    for r in range(int(win.row_off), int(win.row_off + win.height), rows):
        yield Window(win.col_off, r, win.width, min(rows, int(win.row_off + win.height) - r))


def aggregate_mean(src, grid: Grid, dst, nodata: float, band_rows: int = BAND_ROWS) -> Aggregation:
    """Mean of the valid source pixels in each cell of ``grid``, written to the open dataset ``dst``."""
    cells = _Cells(src, grid)
    factor = _integer_factor(src, grid) if cells.same_crs else None
    filled = pixels = other = 0
    with rasterio.Env(GDAL_CACHEMAX=CACHE_BYTES):
        for r0 in range(0, grid.height, band_rows):
            band = Window(0, r0, grid.width, min(band_rows, grid.height - r0))
            total = np.zeros((band.height, band.width))
            count = np.zeros((band.height, band.width), np.int64)
            win = _source_window(src, grid, band)
            if win is not None and factor:
                other += _reduce_nested(src, grid, band, factor, total, count, nodata)
            elif win is not None:
                for strip in _strips(win):
                    values = src.read(1, window=strip)
                    rows, cols = cells.of(strip)
                    valid = _valid(values, src.nodata)
                    other += _other_nodata(values, valid, nodata)
                    ok = valid & (rows >= r0) & (rows < r0 + band.height) \
                        & (cols >= 0) & (cols < grid.width)
                    flat = (rows[ok] - r0) * band.width + cols[ok]
                    total += np.bincount(flat, weights=values[ok], minlength=total.size).reshape(total.shape)
                    count += np.bincount(flat, minlength=count.size).reshape(count.shape)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = np.where(count > 0, total / np.maximum(count, 1), nodata).astype("float32")
            filled += int((count > 0).sum())
            pixels += int(count.sum())
            dst.write(mean, 1, window=band)
    return Aggregation(filled, pixels / filled if filled else 0.0, other_nodata=other)


def _reduce_nested(src, grid: Grid, band: Window, f: int, total: np.ndarray, count: np.ndarray, target) -> int:
    """Sum and count of f x f source blocks that nest exactly in the band's cells (reshape, no index arrays);
    returns the number of other-nodata pixels read.

    The band is read in column chunks of at most STRIP_PIXELS source pixels, so neither the arrays nor the
    GDAL blocks they touch grow with the raster's width.
    """
    t, g = src.transform, grid.transform
    col0 = round((g.c - t.c) / t.a)  # source column of the grid's first cell (may be negative)
    r_lo = round((g.f - t.f) / t.e) + band.row_off * f
    r_hi = r_lo + band.height * f
    rr0, rr1 = max(r_lo, 0), min(r_hi, src.height)
    if rr1 <= rr0:
        return 0
    chunk = max(1, STRIP_PIXELS // max(band.height * f * f, 1))  # output columns per read
    other = 0
    for o in range(0, grid.width, chunk):
        n = min(chunk, grid.width - o)
        c_lo, c_hi = col0 + o * f, col0 + (o + n) * f
        cc0, cc1 = max(c_lo, 0), min(c_hi, src.width)
        if cc1 <= cc0:
            continue
        values = src.read(1, window=Window(cc0, rr0, cc1 - cc0, rr1 - rr0))
        ok = _valid(values, src.nodata)
        other += _other_nodata(values, ok, target)
        if (rr0, rr1, cc0, cc1) == (r_lo, r_hi, c_lo, c_hi):  # the usual case: no padding to copy into
            block, valid = np.where(ok, values, np.float32(0)), ok
        else:  # cells the raster covers only in part: pad with invalid pixels
            block = np.zeros((r_hi - r_lo, c_hi - c_lo), "float32")
            valid = np.zeros(block.shape, bool)
            sl = (slice(rr0 - r_lo, rr1 - r_lo), slice(cc0 - c_lo, cc1 - c_lo))
            block[sl] = np.where(ok, values, 0)
            valid[sl] = ok
        total[:, o:o + n] += block.reshape(band.height, f, n, f).sum(axis=(1, 3), dtype="float64")
        count[:, o:o + n] += valid.reshape(band.height, f, n, f).sum(axis=(1, 3))
    return other


def aggregate_majority(src, grid: Grid, dst, share_dst, nodata: int, lut: np.ndarray | None = None,
                       priority: np.ndarray | None = None) -> Aggregation:
    """Majority class of the valid source pixels in each cell, and its share in percent.

    ``lut`` (the country's codes onto the programme legend) is applied to every pixel *before* counting, so the
    majority and its ties are decided in programme classes; a code the legend does not map counts as ``nodata``.
    A tie goes to the class of higher ``priority`` (256 entries, ``checks.legend.tie_priority``: the more
    severe class); without one, to the lower code. Source values that are not whole numbers 0-254 are left out
    and counted (the caller reports them). Counts are kept for 256 codes per cell, so bands are as few rows as
    keep them near 16 MB.
    """
    if priority is None:
        priority = 255 - np.arange(256, dtype=np.int64)  # the lower code wins a tie
    priority = np.clip(np.asarray(priority, dtype=np.int64), 0, 255)
    band_rows = max(1, min(BAND_ROWS, CLASS_COUNT_CELLS // max(grid.width * 256, 1)))
    cells = _Cells(src, grid)
    filled = pixels = other = bad = 0
    share_sum = 0.0
    with rasterio.Env(GDAL_CACHEMAX=CACHE_BYTES):
        for r0 in range(0, grid.height, band_rows):
            band = Window(0, r0, grid.width, min(band_rows, grid.height - r0))
            counts = np.zeros((band.height * band.width, 256), np.int32)
            win = _source_window(src, grid, band)
            for strip in _strips(win) if win is not None else ():
                values = src.read(1, window=strip)
                rows, cols = cells.of(strip)
                valid = _valid(values, src.nodata)
                other += _other_nodata(values, valid, nodata)
                ok = valid & (rows >= r0) & (rows < r0 + band.height) & (cols >= 0) & (cols < grid.width)
                code = (values >= 0) & (values <= 254) & (values == np.round(values))
                bad += int((ok & ~code).sum())
                ok &= code
                klass = values[ok].astype(np.int64)
                if lut is not None:  # the country's codes onto the programme legend, before any counting
                    klass = lut[klass].astype(np.int64)
                flat = ((rows[ok] - r0) * band.width + cols[ok]) * 256 + klass
                counts += np.bincount(flat, minlength=counts.size).reshape(counts.shape).astype(np.int32)
            n = counts.sum(axis=1)
            # the most pixels, then the higher priority: one argmax over count x 256 + priority
            major = (counts.astype(np.int64) * 256 + priority[None, :]).argmax(axis=1)
            share = np.where(n > 0, counts.max(axis=1) / np.maximum(n, 1), 0.0)
            has = n > 0
            codes = np.where(has, major, nodata).astype("uint8")
            dst.write(codes.reshape(band.height, band.width), 1, window=band)
            pct = np.where(has, np.round(share * 100), MAJORITY_SHARE_NODATA).astype("uint8")
            share_dst.write(pct.reshape(band.height, band.width), 1, window=band)
            filled += int(has.sum())
            pixels += int(n.sum())
            share_sum += float(share[has].sum())
    return Aggregation(filled, pixels / filled if filled else 0.0, share_sum / filled if filled else None, other, bad)
