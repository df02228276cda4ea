"""Overlapping units inside one national map: every place is given to one unit before any area is computed.

Rule (``[harmonize] overlap_rule``, docs/HARMONIZATION.md), decided per overlapping pair:

- ``longest_boundary`` (default): the overlap goes to the unit it shares the longer boundary with (its
  outline runs along more of that unit's remaining part); a unit drawn wholly inside another is an
  inclusion drawn on top and keeps its place.
- ``smaller_unit``: the overlap goes to the smaller unit (detail drawn on top of a broad unit).
- ``first_feature``: the overlap goes to the unit that comes first in the file.

Where three or more units overlap and the pairwise decisions form a cycle, the place goes to the first unit
in the file that covered it. Every resolution is a change row with its km².
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from atlas.borders.adjacency import geodesic_length_km
from atlas.borders.boundaries import polygonal_part
from checks.vector import overlap_pairs


def _longest_boundary(geoms, i, j, pieces, areas_km2, ea):
    inner_i = shapely.covered_by(geoms[i], geoms[j])
    inner_j = shapely.covered_by(geoms[j], geoms[i]) & ~inner_i
    edge = shapely.boundary(pieces)
    rest_i = shapely.boundary(polygonal_part(shapely.difference(geoms[i], geoms[j])))
    rest_j = shapely.boundary(polygonal_part(shapely.difference(geoms[j], geoms[i])))
    along_i = geodesic_length_km(shapely.intersection(edge, rest_i))
    along_j = geodesic_length_km(shapely.intersection(edge, rest_j))
    to_i = np.where(inner_i, True, np.where(inner_j, False, along_i >= along_j))
    why = np.where(inner_i | inner_j, "drawn inside the other unit",
                   [f"shares {max(a, b):.3f} km of boundary with it ({min(a, b):.3f} km with the other)"
                    for a, b in zip(along_i, along_j, strict=True)])
    return to_i, why


def _smaller_unit(geoms, i, j, pieces, areas_km2, ea):
    to_i = areas_km2[i] <= areas_km2[j]
    return to_i, np.full(len(i), "the smaller unit")


def _first_feature(geoms, i, j, pieces, areas_km2, ea):
    return np.ones(len(i), dtype=bool), np.full(len(i), "first in the file")


RULES = {"longest_boundary": _longest_boundary, "smaller_unit": _smaller_unit, "first_feature": _first_feature}


def resolve_overlaps(geoms: np.ndarray, rule: str, area_fn) -> tuple[np.ndarray, pd.DataFrame]:
    """Geometries (EPSG:4326) with no two overlapping, and one row per resolved pair.

    ``area_fn(geoms) -> km²``. Rows: ``feature`` (the unit that gave the place up), ``target_feature``
    (the unit it went to), ``area_km2``, ``lon``, ``lat``, ``detail``. Raises ValueError for an unknown rule.
    """
    if rule not in RULES:
        raise ValueError(f"unknown overlap rule {rule!r}; one of {', '.join(RULES)}")
    geoms = np.asarray(geoms, dtype=object)
    empty = pd.DataFrame(columns=["feature", "target_feature", "area_km2", "lon", "lat", "detail"])
    present = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    i, j, pieces, km2 = overlap_pairs(geoms, area_fn)  # the pairs validation counts (vector.overlap)
    if not len(i):
        return geoms, empty
    to_i, why = RULES[rule](geoms, i, j, pieces, area_fn(geoms), None)
    winner, loser = np.where(to_i, i, j), np.where(to_i, j, i)
    out = geoms.copy()
    for unit in np.unique(loser):  # one difference per unit that gives places up
        out[unit] = polygonal_part(np.array([shapely.difference(geoms[unit], shapely.union_all(
            pieces[loser == unit]))], dtype=object))[0]
    _fill_cycles(geoms, out, present)
    pts = shapely.point_on_surface(pieces)
    rows = pd.DataFrame({"feature": loser, "target_feature": winner, "area_km2": km2, "lon": shapely.get_x(pts),
                         "lat": shapely.get_y(pts),
                         "detail": [f"overlap with feature {w} given to it ({rule}: {reason})"
                                    for w, reason in zip(winner, why, strict=True)]})
    return out, rows


def _fill_cycles(before: np.ndarray, after: np.ndarray, present: np.ndarray) -> None:
    """Places every unit gave up (cyclic pairwise decisions) go to the first unit that covered them."""
    lost = shapely.difference(shapely.union_all(before[present]), shapely.union_all(after[present]))
    parts = shapely.get_parts(polygonal_part(np.array([lost], dtype=object)))
    parts = parts[shapely.area(parts) > 1e-10] if len(parts) else parts  # ~1 m²: overlay noise
    for part in parts:
        probe = shapely.point_on_surface(part)
        covering = np.flatnonzero(present & shapely.covers(np.where(present, before, shapely.Polygon()), probe))
        if len(covering):
            first = covering.min()
            after[first] = shapely.union(after[first], part)
