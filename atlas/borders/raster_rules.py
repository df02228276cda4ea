"""Reference boundaries on the common grid, and salinity seams across borders.

Rule for a pixel the border cuts (docs/PRODUCTS.md, "Raster borders"):
1. the pixel belongs to the country whose polygon covers its centre;
2. if no polygon covers the centre but one or more touch the pixel, it belongs
   to the country covering the largest share of the pixel's area (exact
   polygon-box intersection; ties go to the country listed first in ``codes``);
3. where polygons overlap (disputed areas) at a centre, the country listed
   first in ``codes`` wins.
So every pixel belongs to at most one country and no border pixel is lost.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio
import shapely
from rasterio.features import rasterize
from rasterio.windows import Window

from atlas.grid import Grid

log = logging.getLogger(__name__)

STRIP_ROWS = 512


def precedence(codes) -> list[str]:
    """Countries in the order that settles an overlap of reference territories: the first one wins.

    ISO3 order, for the grid (``country_raster`` is given its codes in this order) and for the Soil Atlas
    (``atlas.borders.territories``), so a disputed place counts once, for the same country, in both.
    """
    return sorted({str(c) for c in codes})


def index_dtype(codes) -> str:
    """uint8 while codes fit (0 means no country), else uint16."""
    return "uint8" if len(codes) < 255 else "uint16"


def country_shapes(boundaries, codes: list[str], grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """(geometries, 1-based index into codes) of the countries that reach the grid, clipped to it.

    Geometries are shifted by +360 degrees where the grid runs past the antimeridian.
    """
    order = {code: i + 1 for i, code in enumerate(codes)}
    gdf = boundaries[boundaries["iso3"].isin(order)]
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    idx = np.array([order[c] for c in gdf["iso3"]], dtype="int64")
    if grid.crosses_antimeridian and len(geoms):
        shifted = shapely.transform(geoms, lambda xy: xy + np.array([360.0, 0.0]))
        geoms = np.concatenate([geoms, shifted])
        idx = np.concatenate([idx, idx])
    west, south, east, north = grid.bounds
    pad = abs(grid.transform.a)
    keep = shapely.intersects(geoms, shapely.box(west - pad, south - pad, east + pad, north + pad))
    geoms, idx = geoms[keep], idx[keep]
    # clipping first keeps rasterize and the box intersections below cheap on big countries
    geoms = shapely.clip_by_rect(geoms, west - pad, south - pad, east + pad, north + pad)
    nonempty = ~shapely.is_empty(geoms)
    return geoms[nonempty], idx[nonempty]


def _pixel_boxes(grid: Grid, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    t = grid.transform
    x0 = t.c + cols * t.a
    y0 = t.f + rows * t.e
    return shapely.box(x0, y0 + t.e, x0 + t.a, y0)


def country_raster(boundaries, grid: Grid, codes: list[str]) -> np.ndarray:
    """Country index (1-based into codes; 0 = none) of every pixel of ``grid``, by the rule above."""
    dtype = index_dtype(codes)
    out = np.zeros(grid.shape, dtype=dtype)
    geoms, idx = country_shapes(boundaries, list(codes), grid)
    if not len(geoms):
        return out
    shape, transform = grid.shape, grid.transform
    # rasterize draws in order and later shapes win, so draw in reverse codes order
    draw = np.argsort(-idx, kind="stable")
    centre = rasterize(zip(geoms[draw], idx[draw], strict=True), out_shape=shape, transform=transform,
                       fill=0, dtype=dtype, all_touched=False)
    touches = np.zeros(shape, dtype="uint8")
    last = np.zeros(shape, dtype=dtype)
    for k in np.unique(idx):
        mask = rasterize(((g, 1) for g in geoms[idx == k]), out_shape=shape, transform=transform,
                         fill=0, dtype="uint8", all_touched=True).astype(bool)
        mask &= centre == 0
        touches += mask
        last[mask] = k
    out[:] = centre
    single = touches == 1
    out[single] = last[single]
    rows, cols = np.nonzero(touches > 1)
    if len(rows):
        boxes = _pixel_boxes(grid, rows, cols)
        ks = np.unique(idx)
        share = np.zeros((len(ks), len(rows)))
        for j, k in enumerate(ks):
            geom = shapely.union_all(geoms[idx == k])
            shapely.prepare(geom)
            hit = shapely.intersects(geom, boxes)
            share[j, hit] = shapely.area(shapely.intersection(boxes[hit], geom))
        # argmax takes the first maximum: ties go to the smaller index, i.e. the first in codes
        out[rows, cols] = ks[np.argmax(share, axis=0)]
    return out


def _strips(height: int, rows: int = STRIP_ROWS):
    for row in range(0, height, rows):
        yield row, min(rows, height - row)


def _read_index(country_index, row: int, nrows: int) -> np.ndarray:
    if isinstance(country_index, np.ndarray):
        return country_index[row:row + nrows]
    with rasterio.open(country_index) as src:
        return src.read(1, window=Window(0, row, src.width, nrows))


def _border_pixel_pairs(country_index, height: int) -> list[tuple[int, int, np.ndarray, np.ndarray, np.ndarray]]:
    """Per strip of rows, the 4-neighbour pixel pairs owned by two different countries, found once for every
    layer: (first row, rows read, flat index of each side in the strip, country-pair key). A strip reads one
    extra row below, so vertical pairs across strip edges are counted once; strips without a pair are left out
    (their pixels are never read)."""
    out = []
    for row, nrows in _strips(height):
        extra = 1 if row + nrows < height else 0
        idx = _read_index(country_index, row, nrows + extra).astype("int64")
        flat = np.arange(idx.size).reshape(idx.shape)
        top = slice(0, nrows)  # horizontal pairs only on this strip's own rows
        sides_a, sides_b = [], []
        for a_sl, b_sl in (((top, slice(None, -1)), (top, slice(1, None))),
                           ((slice(None, -1), slice(None)), (slice(1, None), slice(None)))):
            ia, ib = idx[a_sl], idx[b_sl]
            pair = (ia != ib) & (ia > 0) & (ib > 0)
            sides_a.append(flat[a_sl][pair])
            sides_b.append(flat[b_sl][pair])
        a, b = np.concatenate(sides_a), np.concatenate(sides_b)
        if a.size:
            ia, ib = idx.ravel()[a], idx.ravel()[b]
            out.append((row, nrows + extra, a, b, np.minimum(ia, ib) * 100000 + np.maximum(ia, ib)))
    return out


def seams(
    mosaic_paths: dict[tuple[str, str], Path],
    country_index,
    adjacency: list[tuple[str, str]] | None,
    codes: list[str],
) -> pd.DataFrame:
    """Per country pair and layer, the difference of values between the pixels on each side of the border.

    ``country_index`` is the country raster (array, or path of a raster) on the mosaics' grid;
    pixel pairs are 4-neighbours owned by different countries, both with data. ``adjacency``
    limits the pairs reported (None: every pair found). The pairs are found once from the index; each
    layer then reads only the strips holding a border.
    """
    wanted = None if adjacency is None else {tuple(sorted(p)) for p in adjacency}
    rows_out = []
    pairs = None
    for (layer, depth), path in sorted(mosaic_paths.items()):
        diffs: dict[tuple[int, int], list[np.ndarray]] = {}
        with rasterio.open(path) as src:
            nodata = src.nodata
            if pairs is None:
                pairs = _border_pixel_pairs(country_index, src.height)
            for row, nrows, a, b, key in pairs:
                val = src.read(1, window=Window(0, row, src.width, nrows)).ravel()
                va, vb = val[a].astype("float64"), val[b].astype("float64")
                ok = np.isfinite(va) & np.isfinite(vb) & (va != nodata) & (vb != nodata)
                if not ok.any():
                    continue
                d, k = np.abs(va[ok] - vb[ok]), key[ok]
                for value in np.unique(k):
                    diffs.setdefault((int(value // 100000), int(value % 100000)), []).append(d[k == value])
        for (lo, hi), parts in sorted(diffs.items()):
            a_code, b_code = codes[lo - 1], codes[hi - 1]
            if wanted is not None and tuple(sorted((a_code, b_code))) not in wanted:
                continue
            d = np.concatenate(parts)
            rows_out.append({
                "iso3_a": min(a_code, b_code), "iso3_b": max(a_code, b_code), "layer": layer, "depth": depth,
                "n_pixel_pairs": int(d.size), "mean_abs_diff": float(d.mean()),
                "median_abs_diff": float(np.median(d)), "share_different": float((d > 0).mean()),
            })
    columns = ["iso3_a", "iso3_b", "layer", "depth", "n_pixel_pairs", "mean_abs_diff", "median_abs_diff",
               "share_different"]
    return pd.DataFrame(rows_out, columns=columns)
