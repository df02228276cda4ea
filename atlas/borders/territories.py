"""Reference territories made disjoint, by the rule the raster grid uses, so each place counts once.

A reference layer may hold overlapping territories (a disputed strip, a layer drawn from each country's
claims). On the grid a pixel whose centre two territories cover goes to the country first in ISO3 order
(``atlas.borders.raster_rules``, rule 3; ``precedence``). The Soil Atlas uses the same rule: the overlap
stays in the territory of the country first in that order and is taken out of the other's, so the later
country's map is clipped there like at any border. Each overlap is reported to both countries with its km².
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from atlas.borders.boundaries import polygonal_part
from atlas.borders.raster_rules import precedence
from atlas.finding import Finding, Location, Severity

NOISE_KM2 = 1e-6  # overlaps below 1 m² are digitising noise along shared borders


def disjoint_territories(boundaries, mapped, area_fn, sliver_km2: float = 1.0) -> tuple[pd.Series, list[Finding]]:
    """Each country's territory (ISO3 -> geometry, EPSG:4326) with no two overlapping, and findings.

    ``mapped``: the countries whose maps are harmonized (only their territories are cut, and the findings
    go to them); ``area_fn(geoms) -> km²``. An overlap under ``sliver_km2`` is a digitising sliver along a
    shared border, resolved the same way and recorded as fixed; a larger one (a disputed area) is a warning.
    """
    territories = boundaries.set_index("iso3").geometry
    if territories.index.has_duplicates:  # load_boundaries merges them; a layer given directly may not
        territories = boundaries.dissolve(by="iso3").geometry
    codes = precedence(territories.index)
    geoms = np.asarray(territories.reindex(codes).values, dtype=object)
    mapped = set(mapped)
    out = pd.Series(geoms, index=codes, dtype=object)
    if len(geoms) < 2:
        return out, []
    tree = shapely.STRtree(geoms)
    i, j = tree.query(geoms, predicate="intersects")
    keep = (i < j) & (np.isin(np.asarray(codes, dtype=object)[i], list(mapped))
                      | np.isin(np.asarray(codes, dtype=object)[j], list(mapped)))
    i, j = i[keep], j[keep]
    inner = ~shapely.touches(geoms[i], geoms[j])
    i, j = i[inner], j[inner]
    if not len(i):
        return out, []
    pieces = polygonal_part(shapely.intersection(geoms[i], geoms[j]))
    km2 = area_fn(pieces)
    real = km2 > NOISE_KM2
    i, j, pieces, km2 = i[real], j[real], pieces[real], km2[real]
    findings = []
    for later in np.unique(j):  # i < j: the later country gives the overlap up
        if codes[later] in mapped:
            out.iloc[later] = polygonal_part(np.array([shapely.difference(
                geoms[later], shapely.union_all(pieces[j == later]))], dtype=object))[0]
    pts = shapely.point_on_surface(pieces)
    for first, later, a, pt in zip(i, j, km2, pts, strict=True):
        kept, lost = codes[first], codes[later]
        sliver = a < sliver_km2
        what = "slivers along their border" if sliver else "a disputed or doubly claimed area"
        for iso3 in (kept, lost):
            if iso3 not in mapped:
                continue
            findings.append(Finding(
                "harmonize.territory_overlap", Severity.FIXED if sliver else Severity.WARNING,
                f"{iso3}: the reference territories of {kept} and {lost} overlap by {a:.3f} km2 ({what}); it counts "
                f"once, for {kept} (first in ISO3 order, as on the raster grid), and {lost}'s map is clipped there",
                Location(feature=iso3, lon=float(shapely.get_x(pt)), lat=float(shapely.get_y(pt))),
                observed={"countries": [kept, lost], "area_km2": round(float(a), 3), "counted_for": kept},
                expected="territories that do not overlap",
                hint="the secretariat settles the overlap in the reference boundary layer"))
    return out, findings
