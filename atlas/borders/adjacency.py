"""Which countries share a land border, and how long it is (km, geodesic).

Small-scale layers (Natural Earth 110m/50m) do not always make neighbours touch exactly: shared
borders are digitised once but snapped, simplified or repaired separately. A border is therefore the
part of country A's outline lying within ``tolerance_km`` of country B, measured in an equal-area CRS.
Its length is measured on the ellipsoid (pyproj.Geod), because an equal-area CRS keeps areas, not
lengths (World Cylindrical Equal Area stretches east-west lines by 1/cos(latitude)).
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Geod

from checks.vector import polygonal_part

log = logging.getLogger(__name__)

_GEOD = Geod(ellps="WGS84")


def geodesic_length_km(lines) -> np.ndarray:
    """Length on the WGS84 ellipsoid of each (multi)line or polygon outline given in lon/lat degrees."""
    geoms = np.asarray(lines, dtype=object)
    out = np.zeros(len(geoms))
    if not len(geoms):
        return out
    geoms = np.where(np.isin(shapely.get_type_id(geoms), (3, 6)), shapely.boundary(geoms), geoms)
    parts, owner = shapely.get_parts(geoms, return_index=True)
    # Polygons' outlines come as MultiLineStrings: flatten once more.
    parts2, owner2 = shapely.get_parts(parts, return_index=True)
    owner = owner[owner2]
    coords, part_of = shapely.get_coordinates(parts2, return_index=True)
    if len(coords) < 2:
        return out
    same = part_of[1:] == part_of[:-1]  # segments never join two different parts
    _, _, dist = _GEOD.inv(coords[:-1, 0][same], coords[:-1, 1][same], coords[1:, 0][same], coords[1:, 1][same])
    seg_owner = owner[part_of[:-1][same]]
    out += np.bincount(seg_owner, weights=dist, minlength=len(geoms)) / 1000.0
    return out


def linear_part(geoms: np.ndarray) -> np.ndarray:
    """Linear part of each overlay result (drops points where outlines merely touch)."""
    parts, idx = shapely.get_parts(geoms, return_index=True)
    is_line = np.isin(shapely.get_type_id(parts), (1, 2))
    out = np.array([shapely.MultiLineString()] * len(geoms), dtype=object)
    if is_line.any():
        present, dense = np.unique(idx[is_line], return_inverse=True)
        out[present] = shapely.multilinestrings(parts[is_line], indices=dense)
    return out


def border_lines(geom_a, geom_b, tolerance_m: float) -> np.ndarray:
    """The outline of A that is shared with B (both in a metric CRS), vectorised over arrays.

    Exactly shared outline where the layer is topological (it then holds at least half of the tolerant
    line); otherwise the part of A's outline within tolerance_m of B. The exact line does not run on
    along a coast past the end of the border, the tolerant one does (by up to tolerance_m).
    """
    geom_a, geom_b = np.asarray(geom_a, dtype=object), np.asarray(geom_b, dtype=object)
    # Only the outlines near the other country matter: both are cut to the boxes' common part (widened by
    # the tolerance) before the costly buffer and overlays. The cut is exact for what lies within the
    # tolerance, so the lines are the same as from the whole outlines, at a fraction of the work (a whole
    # coastline of Indonesia buffered for 200 m of border with Timor-Leste).
    ba, bb = shapely.bounds(geom_a), shapely.bounds(geom_b)
    pad = 2.0 * tolerance_m
    box = shapely.box(np.maximum(ba[:, 0], bb[:, 0]) - pad, np.maximum(ba[:, 1], bb[:, 1]) - pad,
                      np.minimum(ba[:, 2], bb[:, 2]) + pad, np.minimum(ba[:, 3], bb[:, 3]) + pad)
    out_a = shapely.intersection(shapely.boundary(geom_a), box)
    # polygons only: a cut that touches B along a line adds a line, and a collection has no boundary
    near_b = polygonal_part(shapely.intersection(geom_b, shapely.buffer(box, pad, join_style="mitre")))
    tolerant = linear_part(shapely.intersection(out_a, shapely.buffer(near_b, tolerance_m)))
    exact = linear_part(shapely.intersection(out_a, shapely.boundary(near_b)))
    use_exact = shapely.length(exact) >= 0.5 * shapely.length(tolerant)
    return np.where(use_exact, shapely.line_merge(exact), tolerant)


def adjacency(
    boundaries: gpd.GeoDataFrame,
    equal_area_crs: str = "ESRI:54034",
    tolerance_km: float = 0.1,
    min_border_km: float = 1.0,
) -> pd.DataFrame:
    """Pairs (a < b) of territories sharing a land border, with its geodesic length in km.

    A pair counts when its border is longer than min_border_km: countries meeting at a single point get
    up to 2 * tolerance_km of outline near that point (Egypt-Jordan at Aqaba in Natural Earth 110m), which
    is not a border. Where an outline continues past the end of a border (coast, third country), up to
    tolerance_km of it is counted at each end, so the default tolerance is small (Natural Earth 110m and
    50m are topological: every one of their bordering pairs is found with 1 m).
    """
    frame = boundaries[["iso3", "geometry"]].reset_index(drop=True)
    metric = frame.to_crs(equal_area_crs).geometry.values.to_numpy()
    tol_m = tolerance_km * 1000.0
    tree = shapely.STRtree(metric)
    i, j = tree.query(metric, predicate="dwithin", distance=tol_m)
    keep = i < j
    i, j = i[keep], j[keep]
    if not len(i):
        return pd.DataFrame({"a": [], "b": [], "border_km": []})
    # Measure from both sides and average: the two outlines differ where the layer is not topological.
    line_ab = border_lines(metric[i], metric[j], tol_m)
    line_ba = border_lines(metric[j], metric[i], tol_m)
    back = gpd.GeoSeries(np.concatenate([line_ab, line_ba]), crs=equal_area_crs).to_crs("EPSG:4326").values
    lengths = geodesic_length_km(np.asarray(back, dtype=object))
    border_km = (lengths[: len(i)] + lengths[len(i):]) / 2.0
    codes = frame["iso3"].to_numpy()
    a, b = codes[i], codes[j]
    swap = a > b
    a, b = np.where(swap, b, a), np.where(swap, a, b)
    out = pd.DataFrame({"a": a, "b": b, "border_km": border_km})
    out = out[out["border_km"] > min_border_km].sort_values(["a", "b"]).reset_index(drop=True)
    log.info("adjacency: %d bordering pairs among %d territories", len(out), len(frame))
    return out
