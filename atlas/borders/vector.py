"""Make national WRB maps meet exactly on the reference borders; record every change with its area.

Rules (docs/HARMONIZATION.md): each map is clipped to its country's reference territory (territories
that overlap made disjoint first, by the raster grid's rule), so any area goes to one country; spill over
a neighbour's territory that the neighbour's map also covers is an overlap resolved, other spill (sea,
non-members) a clip spill. Parts of the territory the map leaves uncovered are gaps: no wider than
``gap_fill_max_width_km`` they are cut into cells and each cell joins the nearest unit of the same country
within that distance; wider ones, and parts no unit is that near (an unmapped island), are left and flagged.
Polygon parts below ``sliver_max_km2`` join the neighbouring polygon with which they share the longest
edge. Areas are measured in ``programme.equal_area_crs``. All steps are vectorised shapely 2 calls.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from atlas.borders.adjacency import geodesic_length_km
from atlas.borders.boundaries import polygonal_part
from atlas.borders.overlaps import resolve_overlaps
from atlas.borders.territories import disjoint_territories
from atlas.finding import Finding, Location, Severity
from atlas.wording import plural
from checks.wrb_columns import canonical_copy, is_canonical_copy

log = logging.getLogger(__name__)

CHANGE_COLUMNS = ["country", "kind", "unit_id", "feature", "area_km2", "lon", "lat", "detail", "target_feature"]
SEGMENT_DEG = 0.05  # lon/lat edges densified to this before projecting, for areas
NOISE_KM2 = 1e-6  # pieces below this (1 m2) are floating-point noise of the overlay, not changes


@dataclass(frozen=True)
class HarmonizeResult:
    region: gpd.GeoDataFrame  # EPSG:4326: country, source_feature, canonical columns, harmonization_notes
    changes: pd.DataFrame  # CHANGE_COLUMNS
    findings: list[Finding] = field(default_factory=list)


def _settings(programme) -> tuple[str, float, float]:
    return (
        getattr(programme, "equal_area_crs", "ESRI:54034"),
        float(getattr(programme, "sliver_max_km2", 1.0)),
        float(getattr(programme, "gap_fill_max_width_km", 5.0)),
    )


def area_km2(geoms, crs: str = "EPSG:4326", equal_area_crs: str = "ESRI:54034") -> np.ndarray:
    """Area of lon/lat geometries in km2, measured in the equal-area CRS."""
    geoms = np.asarray(geoms, dtype=object)
    if not len(geoms):
        return np.zeros(0)
    # Densify first: a lon/lat-straight edge is a curve in the projection, so the area would otherwise depend
    # on where vertices happen to sit along an edge (1e-5 relative on long national border edges).
    if crs == "EPSG:4326":
        # a valid geometry whose box has a diagonal under 0.05 degrees has no longer segment: segmentize would
        # only copy it (most units of a detailed map). Invalid ones still go through it: it repairs them.
        b = shapely.bounds(geoms)
        long = ~((b[:, 2] - b[:, 0]) ** 2 + (b[:, 3] - b[:, 1]) ** 2 <= SEGMENT_DEG ** 2)
        long[~long] = ~shapely.is_valid(geoms[~long])
        if long.any():
            geoms = geoms.copy()
            geoms[long] = shapely.segmentize(geoms[long], SEGMENT_DEG)
    return gpd.GeoSeries(geoms, crs=crs).to_crs(equal_area_crs).area.to_numpy() / 1e6


# On the WGS84 ellipsoid a square degree holds at least 12,300 km2 x cos(latitude) (meridian x prime-vertical
# radius is smallest at the equator); half of that is a safe lower bound in any equal-area CRS, used to rule
# out slivers without projecting
KM2_PER_DEG2_AT_LEAST = 0.5 * 12_300.0


def smaller_than(geoms: np.ndarray, km2: float, equal_area_crs: str = "ESRI:54034") -> np.ndarray:
    """Indices of the lon/lat geometries under ``km2`` in the equal-area CRS.

    Only geometries that a cheap lower bound (planar square degrees x cos(latitude)) does not already put
    over ``km2`` are projected and measured: on a map of 100,000 units that is a handful.
    """
    geoms = np.asarray(geoms, dtype=object)
    b = shapely.bounds(geoms)
    far = np.minimum(np.fmax(np.abs(b[:, 1]), np.abs(b[:, 3])), 90.0)
    lower = shapely.area(geoms) * KM2_PER_DEG2_AT_LEAST * np.cos(np.radians(far))
    maybe = np.flatnonzero(~(lower > km2))  # NaN (missing geometry) is measured like before
    return maybe[area_km2(geoms[maybe], equal_area_crs=equal_area_crs) < km2]


def _points(geoms) -> tuple[np.ndarray, np.ndarray]:
    pts = shapely.point_on_surface(np.asarray(geoms, dtype=object))
    return shapely.get_x(pts), shapely.get_y(pts)


def union_of_units(geoms: np.ndarray):
    """Union of map units that do not overlap: the coverage union where they meet edge to edge, else union_all.

    A national map is a polygon coverage (neighbouring units share their edges vertex for vertex), and
    GEOS's coverage union only drops the shared edges: 10-20x faster than the general union on 100,000
    units. On input that is not a coverage it may return an invalid or wrong result, so it is kept only
    when valid and of the same area as the units; otherwise the general union is computed.
    """
    geoms = np.asarray(geoms, dtype=object)
    geoms = geoms[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)]
    if len(geoms) < 2:
        return shapely.union_all(geoms)
    try:
        union = shapely.coverage_union_all(geoms)
    except shapely.errors.GEOSException:
        union = None
    if union is not None and shapely.is_valid(union):
        total = float(shapely.area(geoms).sum())
        if abs(float(shapely.area(union)) - total) <= 1e-9 * total:
            return union
    return shapely.union_all(geoms)


def grouped_union(geoms: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Union of the geometries of each group 0..n_groups-1 in one vectorised union_all (padded 2D array)."""
    out = np.full(n_groups, None, dtype=object)
    if not len(geoms):
        return out
    order = np.argsort(groups, kind="stable")
    g = groups[order]
    counts = np.bincount(g, minlength=n_groups)
    pos = np.arange(len(g)) - (np.cumsum(counts) - counts)[g]
    present = np.flatnonzero(counts)
    row = np.searchsorted(present, g)
    mat = np.full((len(present), counts.max()), None, dtype=object)
    mat[row, pos] = geoms[order]
    out[present] = shapely.union_all(mat, axis=1) if counts.max() > 1 else mat[:, 0]
    return out


def _changes(country, kind, units, feature, area, geoms, detail, target=None) -> pd.DataFrame:
    lon, lat = _points(geoms)
    return pd.DataFrame({
        "country": country, "kind": kind, "unit_id": units["unit_id"].to_numpy()[feature] if len(feature) else [],
        "feature": feature, "area_km2": area, "lon": lon, "lat": lat, "detail": detail,
        "target_feature": target if target is not None else np.full(len(feature), -1),
    })


def _to_4326(gdf: gpd.GeoDataFrame, country: str) -> tuple[gpd.GeoDataFrame, list[Finding]]:
    if gdf.crs is None:
        return gdf.set_crs("EPSG:4326"), [Finding(
            "harmonize.crs_assumed", Severity.WARNING, f"{country}: soil map has no CRS; assumed EPSG:4326",
            Location(feature=country), hint="declare the CRS of the map")]
    if gdf.crs.equals("EPSG:4326"):
        return gdf, []
    return gdf.to_crs("EPSG:4326"), [Finding(
        "harmonize.reprojected", Severity.FIXED, f"{country}: soil map reprojected from {gdf.crs.to_string()} to "
        "EPSG:4326 for harmonization (the polygons' vertices are transformed; nothing is resampled)",
        Location(feature=country), observed=gdf.crs.to_string(), expected="EPSG:4326",
        hint="nothing to do; delivering the map in EPSG:4326 avoids the reprojection")]


def _clip(geoms: np.ndarray, territory) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(inside geometries, indices of features with spill, spill geometries) against one prepared territory."""
    shapely.prepare(territory)
    within = shapely.contains_properly(territory, geoms)
    crossing = np.flatnonzero(~within)
    inside = geoms.copy()
    if len(crossing):
        inside[crossing] = polygonal_part(shapely.intersection(geoms[crossing], territory))
        spill = polygonal_part(shapely.difference(geoms[crossing], territory))
    else:
        spill = np.zeros(0, dtype=object)
    keep = ~shapely.is_empty(spill)
    return inside, crossing[keep], spill[keep]


def clip_soil_map(
    gdf: gpd.GeoDataFrame, country: str, boundaries: gpd.GeoDataFrame, programme
) -> tuple[gpd.GeoDataFrame, list[Finding]]:
    """One national map in EPSG:4326 clipped to its country's reference territory, spill km2 in a finding."""
    ea, _, _ = _settings(programme)
    gdf, findings = _to_4326(gdf, country)
    terr = boundaries.loc[boundaries["iso3"] == country, "geometry"]
    if terr.empty:
        return gdf.iloc[:0], findings + [_no_reference(country)]
    geoms = gdf.geometry.values.to_numpy()
    inside, spilled, spill = _clip(geoms, shapely.union_all(terr.values.to_numpy()))
    findings += _spill_findings(country, spill, area_km2(spill, equal_area_crs=ea), np.zeros(len(spill)), {})
    out = gdf.copy()
    out.geometry = inside
    return out[~shapely.is_empty(inside)], findings


def _no_reference(country: str) -> Finding:
    return Finding("harmonize.no_reference", Severity.ERROR, f"{country}: no territory with this code in the "
                   "reference boundary layer; map not harmonized", Location(feature=country),
                   hint="check the ISO3 code of the submission and of the reference layer")


def _spill_findings(country, spill, spill_km2, overlap_km2, overlap_by, who=None) -> list[Finding]:
    out = []
    plain = spill_km2 - overlap_km2
    if len(spill) and plain.sum() > NOISE_KM2:
        k = int(np.argmax(plain))
        lon, lat = _points(spill[k:k + 1])
        out.append(Finding(
            "harmonize.clip_spill", Severity.FIXED,
            f"{country}: {int((plain > NOISE_KM2).sum())} polygons reached {plain.sum():.3f} km2 beyond the reference "
            f"border; clipped (largest {plain[k]:.3f} km2)", Location(feature=country, lon=lon[0], lat=lat[0]),
            observed=round(float(plain.sum()), 6), expected=0, hint="clip the map to the national border"))
    for other, km2 in sorted(overlap_by.items()):
        where = Location(feature=country)
        mine = np.flatnonzero(who == other) if who is not None else np.zeros(0, int)
        if len(mine):  # placed on the largest piece given to that neighbour, for the report map
            k = int(mine[np.argmax(overlap_km2[mine])])
            lon, lat = _points(spill[k:k + 1])
            where = Location(feature=country, lon=float(lon[0]), lat=float(lat[0]))
        out.append(Finding(
            "harmonize.overlap_resolved", Severity.FIXED,
            f"{country}: {km2:.3f} km2 of the map lie inside {other}'s reference territory, where {other}'s map also "
            f"applies; the area goes to {other}", where, observed=round(km2, 6), expected=0,
            hint=f"agree the border with {other}"))
    return out


def _overlaps(spills: dict, clipped: dict) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per country: area of each spill piece covered by another country's clipped map, and that country."""
    countries = list(clipped)
    all_geoms = np.concatenate([clipped[c] for c in countries]) if countries else np.zeros(0, dtype=object)
    owner = np.concatenate([np.full(len(clipped[c]), c, dtype=object) for c in countries]) if countries else []
    tree = shapely.STRtree(all_geoms)
    out = {}
    for c, (_, pieces) in spills.items():
        covered = np.zeros(len(pieces))
        who = np.full(len(pieces), "", dtype=object)
        if len(pieces):
            i, j = tree.query(pieces, predicate="intersects")
            other = owner[j] != c
            i, j = i[other], j[other]
            inter = area_km2(shapely.intersection(pieces[i], all_geoms[j]))
            covered = np.bincount(i, weights=inter, minlength=len(pieces))
            # Name the neighbour holding most of each piece (vectorised arg-max per piece).
            order = np.lexsort((-inter, i))
            first = order[np.r_[True, i[order][1:] != i[order][:-1]]] if len(order) else order
            who[i[first]] = owner[j[first]]
        out[c] = (covered, who)
    return out


def _cells(parts: np.ndarray, cell_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Cut each part into square cells of cell_deg; returns (pieces, index of the part)."""
    b = shapely.bounds(parts)
    nx = np.maximum(np.ceil((b[:, 2] - b[:, 0]) / cell_deg).astype(int), 1)
    ny = np.maximum(np.ceil((b[:, 3] - b[:, 1]) / cell_deg).astype(int), 1)
    n = nx * ny
    owner = np.repeat(np.arange(len(parts)), n)
    k = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    x0 = b[owner, 0] + (k % nx[owner]) * cell_deg
    y0 = b[owner, 1] + (k // nx[owner]) * cell_deg
    pieces = polygonal_part(shapely.intersection(parts[owner], shapely.box(x0, y0, x0 + cell_deg, y0 + cell_deg)))
    keep = ~shapely.is_empty(pieces)
    return pieces[keep], owner[keep]


@dataclass(frozen=True)
class Gaps:
    """The territory a clipped map leaves uncovered: what is filled, and what stays unmapped."""

    pieces: np.ndarray  # cells to fill
    target: np.ndarray  # the feature each cell joins
    part: np.ndarray  # the narrow gap each cell was cut from
    wide: np.ndarray  # gaps wider than the tolerance, left
    wide_km: np.ndarray  # their widths
    wide_km2: np.ndarray  # their areas
    away: np.ndarray  # narrow gaps, or their cells, farther than the tolerance from every map unit, left
    away_km: np.ndarray  # distance to the nearest map unit
    away_km2: np.ndarray  # their areas


def _gaps(country, territory, geoms, ea, max_width_km) -> Gaps:
    """The territory not covered by ``geoms``: narrow gaps next to the map are filled, the rest is left.

    A cell is filled only from a unit within ``max_width_km`` of it: an island or exclave the country did
    not map is no gap between its map and the border, and never takes the soil group of a distant unit.
    """
    cover = union_of_units(geoms)
    parts = shapely.get_parts(polygonal_part(np.array([shapely.difference(territory, cover)], dtype=object)))
    areas = area_km2(parts, equal_area_crs=ea)
    parts, areas = parts[areas > NOISE_KM2], areas[areas > NOISE_KM2]
    empty, none = np.zeros(0, dtype=object), np.zeros(0)
    if not len(parts):
        return Gaps(empty, np.zeros(0, int), np.zeros(0, int), empty, none, none, empty, none, none)
    metric = gpd.GeoSeries(parts, crs="EPSG:4326").to_crs(ea).values.to_numpy()
    radius = shapely.length(shapely.maximum_inscribed_circle(metric, tolerance=max(max_width_km * 10, 1.0)))
    width_km = 2.0 * radius / 1000.0
    narrow = width_km <= max_width_km
    pieces, part = _cells(parts[narrow], cell_deg=2.0 * max_width_km / 111.32)
    # one degree is at most 111.32 km, so a unit within this many degrees is within max_width_km
    reach_deg = max_width_km / 111.32
    tree = shapely.STRtree(geoms)
    reached = np.zeros(len(pieces), dtype=bool)
    target = np.zeros(len(pieces), dtype=int)
    if len(pieces) and len(geoms):
        (i, j) = tree.query_nearest(pieces, max_distance=reach_deg, all_matches=False)
        reached[i], target[i] = True, j
    # the cells nobody reaches, one piece per narrow gap they come from
    far_part, inv = np.unique(part[~reached], return_inverse=True)
    away = grouped_union(pieces[~reached], inv, len(far_part))
    away_km = np.full(len(away), np.inf)  # inf: the map has no unit left in the territory
    if len(away) and len(geoms):
        k, near = tree.query_nearest(away, all_matches=False)
        away_km[k] = geodesic_length_km(shapely.shortest_line(away[k], geoms[near]))
    return Gaps(pieces[reached], target[reached], part[reached], parts[~narrow], width_km[~narrow], areas[~narrow],
                away, away_km, area_km2(away, equal_area_crs=ea))


def _slivers(geoms: np.ndarray, ea: str, sliver_km2: float):
    """(new geometries per feature, source feature, target feature, sliver parts, shared km) of merged slivers."""
    parts, owner = shapely.get_parts(geoms, return_index=True)
    small = smaller_than(parts, sliver_km2, ea)
    if not len(small):
        return geoms, *(np.zeros(0, int),) * 2, np.zeros(0, dtype=object), np.zeros(0)
    is_small = np.zeros(len(parts), dtype=bool)
    is_small[small] = True
    big = np.flatnonzero(~is_small)
    tree = shapely.STRtree(parts[big])
    i, j = tree.query(parts[small], predicate="intersects")
    j = big[j]
    other = owner[j] != owner[small[i]]
    i, j = i[other], j[other]
    shared = geodesic_length_km(shapely.intersection(shapely.boundary(parts[small[i]]), shapely.boundary(parts[j])))
    edge = shared > 0
    i, j, shared = i[edge], j[edge], shared[edge]
    order = np.lexsort((-shared, i))
    first = order[np.r_[True, i[order][1:] != i[order][:-1]]] if len(order) else order
    src, dst, shared = small[i[first]], j[first], shared[first]
    new_owner = owner.copy()
    new_owner[src] = owner[dst]  # islands (no shared edge) stay where they are
    if not len(src):
        return geoms, *(np.zeros(0, int),) * 2, np.zeros(0, dtype=object), np.zeros(0)
    touched = np.unique(np.concatenate([owner[src], owner[dst]]))
    is_touched = np.zeros(len(geoms), dtype=bool)
    is_touched[touched] = True
    mask = is_touched[new_owner] | is_touched[owner]
    merged = grouped_union(parts[mask], new_owner[mask], len(geoms))
    out = geoms.copy()
    out[touched] = merged[touched]
    out[touched] = np.where(shapely.is_missing(out[touched]), shapely.Polygon(), out[touched])
    return out, owner[src], owner[dst], parts[src], shared


def _away(km: float, max_width_km: float) -> str:
    """How far a part of the territory left unmapped lies from the map, for its finding and change row."""
    if not np.isfinite(km):
        return "has no map unit anywhere in the territory to take it"
    return f"lies {km:.1f} km from the nearest map unit (over the {max_width_km} km fill tolerance)"


def _harmonize_country(country, units, inside, territory, ea, sliver_km2, max_width_km):
    """Fill gaps and merge slivers of one clipped map: (geometries, changes frames, findings)."""
    frames, findings = [], []
    gaps = _gaps(country, territory, inside, ea, max_width_km)
    pieces, target, part, left, left_w, left_a = gaps.pieces, gaps.target, gaps.part, gaps.wide, gaps.wide_km, \
        gaps.wide_km2
    geoms = inside.copy()
    if len(pieces):
        fill_km2 = area_km2(pieces, equal_area_crs=ea)
        # One change row per (gap, receiving feature): the cells of a gap that join the same unit are one fill.
        key = part * (len(geoms) + 1) + target
        uniq, inv = np.unique(key, return_inverse=True)
        rows = grouped_union(pieces, inv, len(uniq))
        frames.append(_changes(country, "gap_filled", units, uniq % (len(geoms) + 1),
                               np.bincount(inv, weights=fill_km2), rows,
                               [f"gap {g} (no wider than {max_width_km} km) filled from the nearest unit"
                                for g in uniq // (len(geoms) + 1)]))
        receivers = np.unique(target)
        with_self = np.concatenate([pieces, geoms[receivers]])
        groups = np.concatenate([target, receivers])
        geoms[receivers] = grouped_union(with_self, groups, len(geoms))[receivers]
        lon, lat = _points(pieces[int(np.argmax(fill_km2)):][:1])  # the largest filled piece, for the report map
        findings.append(Finding(
            "harmonize.gap_filled", Severity.FIXED, f"{country}: {fill_km2.sum():.3f} km2 of border gaps no wider "
            f"than {max_width_km} km filled from the nearest map unit",
            Location(feature=country, lon=float(lon[0]), lat=float(lat[0])),
            observed=round(float(fill_km2.sum()), 6), expected=0))
    if len(left):
        lon, lat = _points(left)
        frames.append(pd.DataFrame({"country": country, "kind": "gap_left", "unit_id": None, "feature": -1,
                                    "area_km2": left_a, "lon": lon, "lat": lat, "target_feature": -1,
                                    "detail": [f"gap {w:.2f} km wide left unmapped" for w in left_w]}))
        for a, w, x, y in zip(left_a, left_w, lon, lat, strict=True):
            findings.append(Finding(
                "harmonize.gap_left", Severity.WARNING, f"{country}: the map leaves {a:.3f} km2 of the reference "
                f"territory uncovered, {w:.2f} km wide (over the {max_width_km} km fill tolerance)",
                Location(feature=country, lon=float(x), lat=float(y)), observed=round(float(w), 3),
                expected=f"<= {max_width_km} km", hint="extend the map to the national border"))
    if len(gaps.away):
        lon, lat = _points(gaps.away)
        frames.append(pd.DataFrame({"country": country, "kind": "gap_left", "unit_id": None, "feature": -1,
                                    "area_km2": gaps.away_km2, "lon": lon, "lat": lat, "target_feature": -1,
                                    "detail": [f"not mapped by the country, {_away(d, max_width_km)}; left "
                                               "unmapped" for d in gaps.away_km]}))
        for a, d, x, y in zip(gaps.away_km2, gaps.away_km, lon, lat, strict=True):
            findings.append(Finding(
                "harmonize.gap_left", Severity.WARNING, f"{country}: {a:.3f} km2 of the reference territory near "
                f"lon {x:.4f}, lat {y:.4f} is not covered by the map and {_away(d, max_width_km)}; it stays "
                "unmapped", Location(feature=country, lon=float(x), lat=float(y)),
                observed={"area_km2": round(float(a), 3),
                          "distance_km": round(float(d), 1) if np.isfinite(d) else None},
                expected=f"a map unit within {max_width_km} km",
                hint="map this part of the territory (an island or exclave) or confirm it has no soil data"))
    geoms, src, dst, slivers, shared = _slivers(geoms, ea, sliver_km2)
    if len(src):
        s_km2 = area_km2(slivers, equal_area_crs=ea)
        frames.append(_changes(country, "sliver_merged", units, src, s_km2, slivers,
                               [f"sliver merged into feature {d} (shared edge {e:.3f} km)" for d, e in zip(dst, shared,
                                                                                                          strict=True)],
                               target=dst))
        findings.append(Finding(
            "harmonize.sliver_merged", Severity.FIXED, f"{country}: {len(src)} slivers under {sliver_km2} km2 "
            f"({s_km2.sum():.4f} km2) merged into the neighbour sharing the longest edge", Location(feature=country),
            observed=len(src)))
    return geoms, frames, findings


def _notes(changes: pd.DataFrame) -> pd.DataFrame:
    """One short text per (country, feature): count and km² per kind of change (detail: the change log).

    e.g. ``clip_spill 1 (0.412 km2); gap_filled 3 (2.100 km2); received sliver_merged 1 (0.020 km2)``.
    """
    if changes.empty:
        return pd.DataFrame(columns=["country", "feature", "harmonization_notes"])
    c = changes[changes["feature"] >= 0]
    own = c[["country", "feature", "kind", "area_km2"]]
    got = c[c["target_feature"] >= 0]
    got = got.assign(feature=got["target_feature"], kind="received " + got["kind"])[own.columns]
    both = pd.concat([own, got], ignore_index=True)
    per = both.groupby(["country", "feature", "kind"], as_index=False).agg(n=("area_km2", "size"),
                                                                          km2=("area_km2", "sum"))
    per["note"] = [f"{k} {n} ({a:.3f} km2)" for k, n, a in zip(per["kind"], per["n"], per["km2"], strict=True)]
    return per.groupby(["country", "feature"], as_index=False)["note"].agg("; ".join).rename(
        columns={"note": "harmonization_notes"})


def _resolve_within(country: str, units: gpd.GeoDataFrame, rule: str, ea: str):
    """Overlapping units of one map resolved by the programme's rule: (units, change rows, findings)."""
    geoms, rows = resolve_overlaps(units.geometry.values.to_numpy(), rule,
                                   lambda g: area_km2(g, equal_area_crs=ea))
    if rows.empty:
        return units, pd.DataFrame(columns=CHANGE_COLUMNS), []
    units = units.set_geometry(geoms)
    feature = rows["feature"].to_numpy(dtype=int)
    frame = pd.DataFrame({"country": country, "kind": "overlap_within",
                          "unit_id": units["unit_id"].to_numpy()[feature] if "unit_id" in units else feature,
                          "feature": feature, "area_km2": rows["area_km2"].to_numpy(), "lon": rows["lon"].to_numpy(),
                          "lat": rows["lat"].to_numpy(), "detail": rows["detail"].to_numpy(),
                          "target_feature": rows["target_feature"].to_numpy(dtype=int)})
    total = float(frame["area_km2"].sum())
    k = int(frame["area_km2"].to_numpy().argmax())
    finding = Finding("harmonize.overlaps_within", Severity.FIXED,
                      f"{country}: {plural(len(frame), 'pair')} of overlapping map units ({total:.3f} km2) resolved "
                      f"by the '{rule}' rule, so each place counts once (overlaps under 1 m² are noise, as in "
                      "validation)",
                      Location(feature=country, lon=float(frame.lon[k]), lat=float(frame.lat[k])),
                      observed={"pairs": len(frame), "area_km2": round(total, 4), "rule": rule}, expected=0,
                      hint="remove the overlaps at source so every place belongs to one map unit")
    return units, frame, [finding]


def harmonize_region(maps: dict[str, gpd.GeoDataFrame], boundaries: gpd.GeoDataFrame, programme) -> HarmonizeResult:
    """Harmonize every national map at its reference border; the region, the change log and findings."""
    ea, sliver_km2, max_width_km = _settings(programme)
    rule = getattr(programme, "overlap_rule", "longest_boundary")
    # overlapping reference territories (disputed strips) made disjoint by the raster grid's rule: each place once
    territories, findings = disjoint_territories(boundaries, maps, lambda g: area_km2(g, equal_area_crs=ea),
                                                 sliver_km2)
    clipped, spills, units_of = {}, {}, {}
    overlap_frames: list[pd.DataFrame] = []
    for country, gdf in maps.items():  # loop over countries, never over polygons
        if country not in territories.index:
            findings.append(_no_reference(country))
            continue
        gdf, f = _to_4326(gdf if is_canonical_copy(gdf) else canonical_copy(gdf, programme), country)
        findings += f
        # each place counts once: overlaps inside the map are resolved before any area is computed
        units, within, f = _resolve_within(country, gdf.reset_index(drop=True), rule, ea)
        findings += f
        overlap_frames.append(within)
        inside, spilled, spill = _clip(units.geometry.values.to_numpy(), territories[country])
        clipped[country], spills[country], units_of[country] = inside, (spilled, spill), units
    covered = _overlaps(spills, clipped)
    frames, parts = list(overlap_frames), []
    for country, units in units_of.items():
        spilled, spill = spills[country]
        spill_km2 = area_km2(spill, equal_area_crs=ea)
        cov, who = covered[country]
        cov = np.minimum(cov, spill_km2)
        by = pd.Series(cov[who != ""]).groupby(who[who != ""]).sum().to_dict() if len(who) else {}
        findings += _spill_findings(country, spill, spill_km2, cov, {k: v for k, v in by.items() if v > NOISE_KM2},
                                    who)
        plain = spill_km2 - cov
        m = plain > NOISE_KM2
        frames.append(_changes(country, "clip_spill", units, spilled[m], plain[m], spill[m],
                               "outside the reference territory; clipped"))
        m = cov > NOISE_KM2
        frames.append(_changes(country, "overlap_resolved", units, spilled[m], cov[m], spill[m],
                               [f"inside {w}'s reference territory, also mapped by {w}; given to {w}" for w in who[m]]))
        geoms, f2, f3 = _harmonize_country(country, units, clipped[country], territories[country], ea, sliver_km2,
                                           max_width_km)
        frames += f2
        findings += f3
        out = units.drop(columns=units.geometry.name).assign(country=country, source_feature=np.arange(len(units)))
        out = gpd.GeoDataFrame(out, geometry=geoms, crs="EPSG:4326")
        parts.append(out[~shapely.is_empty(geoms) & ~shapely.is_missing(geoms)])
    changes = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else \
        pd.DataFrame(columns=CHANGE_COLUMNS)
    changes = changes[CHANGE_COLUMNS]
    region = pd.concat(parts, ignore_index=True) if parts else gpd.GeoDataFrame(
        {"country": pd.Series([], dtype=object), "source_feature": pd.Series([], dtype=int)}, geometry=[],
        crs="EPSG:4326")
    region = region.merge(_notes(changes).rename(columns={"feature": "source_feature"}), how="left",
                          on=["country", "source_feature"])
    region["harmonization_notes"] = region["harmonization_notes"].fillna("")
    front = ["country", "source_feature", "unit_id"]
    region = gpd.GeoDataFrame(region[front + [c for c in region.columns if c not in front]], crs="EPSG:4326")
    log.info("harmonized %d countries: %d units, %d changes", len(units_of), len(region), len(changes))
    return HarmonizeResult(region=region, changes=changes, findings=findings)
