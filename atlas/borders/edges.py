"""Edge matching: where the dominant Reference Soil Group differs across a shared border.

For a pair (a, b) the border is the part of a's reference outline within ``tolerance_km`` of b. Each
unit of a owns the stretch of that line its outline runs along; each unit of b faces the stretch lying
within ``tolerance_km`` of its own border stretch (a flat-capped buffer, so neighbouring units of b do
not claim the same stretch). Facing pairs with different dominant groups are the mismatches the two
countries discuss. Geometry work is done in lon/lat (tolerance converted at 111.32 km per degree), lengths on
the ellipsoid.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from atlas.borders.adjacency import border_lines, geodesic_length_km, linear_part
from atlas.finding import Finding, Location, Severity
from atlas.wording import plural
from checks.wrb import NON_SOIL_UNITS, RSG_CODES

log = logging.getLogger(__name__)

SEGMENT_COLUMNS = ["pair", "a", "b", "unit_a", "unit_b", "rsg_a", "rsg_b", "length_km", "lon", "lat"]
SUMMARY_COLUMNS = ["pair", "a", "b", "border_km", "compared_km", "matched_km", "mismatched_km", "match_share"]
ON_LINE_DEG = 1e-7  # a unit within ~1 cm of the border line runs along it (overlay noise is far smaller)
MIN_PIECE_DEG = 1e-5  # facing pieces shorter than ~1 m are junction noise, not a stretch of border
KM_PER_DEG = 111.32


def dominant_rsg_codes(values: pd.Series) -> pd.Series:
    """Dominant group as a comparable code (checks.wrb.normalise_rsg; raw upper-case text where unrecognised)."""
    from checks.wrb import normalise_rsg

    def code(v):
        match = normalise_rsg(v)
        return match.code if match.code else (str(v).strip().upper() if v is not None else None)

    uniq = pd.unique(values.astype(object))
    return values.astype(object).map(dict(zip(uniq, [code(v) for v in uniq], strict=True)))


def _stretches(units: np.ndarray, line) -> tuple[np.ndarray, np.ndarray]:
    """(index of unit, part of the border line running along each unit's outline)."""
    shapely.prepare(line)
    near = np.flatnonzero(shapely.dwithin(line, units, ON_LINE_DEG))
    # The line near the unit, not the unit's outline near the line: no stubs where unit edges cross it.
    segs = linear_part(shapely.intersection(line, shapely.buffer(units[near], ON_LINE_DEG)))
    keep = shapely.length(segs) > MIN_PIECE_DEG
    return near[keep], segs[keep]


def _pair(a, b, ua, ub, ta, tb, tol_deg):
    """Facing stretches of units of a (ua) and b (ub) along territories ta/tb (all metric arrays/geoms)."""
    line_a = border_lines([ta], [tb], tol_deg)[0]
    line_b = border_lines([tb], [ta], tol_deg)[0]
    ia, seg_a = _stretches(ua, line_a)
    ib, seg_b = _stretches(ub, line_b)
    if not len(ia) or not len(ib):
        return np.zeros(0, int), np.zeros(0, int), np.zeros(0, dtype=object)
    reach = shapely.buffer(seg_b, tol_deg, cap_style="flat")
    tree = shapely.STRtree(reach)
    i, j = tree.query(seg_a, predicate="intersects")
    pieces = linear_part(shapely.intersection(seg_a[i], reach[j]))
    keep = shapely.length(pieces) > MIN_PIECE_DEG
    return ia[i[keep]], ib[j[keep]], pieces[keep]


def border_mismatches(
    region: gpd.GeoDataFrame,
    boundaries: gpd.GeoDataFrame,
    adjacency_df: pd.DataFrame,
    programme=None,
    tolerance_km: float = 0.1,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Mismatch segments (dominant group differs across the border) and a per-pair summary."""
    # Work in lon/lat, where harmonized units and reference borders share the very same vertices and lines
    # (a projection bends lon/lat-straight edges, and units carry extra vertices on them).
    tol_deg = tolerance_km / KM_PER_DEG
    geoms = region.to_crs("EPSG:4326").geometry.values.to_numpy()
    country = region["country"].to_numpy()
    codes = (region["rsg1_code"] if "rsg1_code" in region.columns else dominant_rsg_codes(region["rsg1"])).to_numpy()
    units = region["unit_id"].astype(str).to_numpy()
    terr = boundaries.to_crs("EPSG:4326").set_index("iso3").geometry
    segments, summary = [], []
    for a, b, border_km in adjacency_df[["a", "b", "border_km"]].itertuples(index=False):  # per pair, not per polygon
        if a not in terr.index or b not in terr.index:
            continue
        in_a, in_b = np.flatnonzero(country == a), np.flatnonzero(country == b)
        if not len(in_a) or not len(in_b):  # nothing to compare: no border geometry to compute (most pairs of a
            summary.append({"pair": f"{a}-{b}", "a": a, "b": b, "border_km": float(border_km),  # world layer)
                            "compared_km": 0.0, "matched_km": 0.0, "mismatched_km": 0.0, "match_share": np.nan})
            continue
        ia, ib, pieces = _pair(a, b, geoms[in_a], geoms[in_b], terr[a], terr[b], tol_deg)
        ia, ib = in_a[ia], in_b[ib]
        lonlat = pieces
        km = geodesic_length_km(lonlat)
        differs = codes[ia] != codes[ib]
        pts = shapely.line_interpolate_point(lonlat[differs], 0.5, normalized=True)
        segments.append(pd.DataFrame({  # one GeoDataFrame for all pairs, built once below
            "pair": f"{a}-{b}", "a": a, "b": b, "unit_a": units[ia][differs], "unit_b": units[ib][differs],
            "rsg_a": codes[ia][differs], "rsg_b": codes[ib][differs], "length_km": km[differs],
            "lon": shapely.get_x(pts), "lat": shapely.get_y(pts), "geometry": lonlat[differs]}))
        matched, mismatched = float(km[~differs].sum()), float(km[differs].sum())
        compared = matched + mismatched
        summary.append({"pair": f"{a}-{b}", "a": a, "b": b, "border_km": float(border_km), "compared_km": compared,
                        "matched_km": matched, "mismatched_km": mismatched,
                        "match_share": matched / compared if compared else np.nan})
    segments = [frame for frame in segments if len(frame)]
    seg = pd.concat(segments, ignore_index=True) if segments else pd.DataFrame(
        {**{c: [] for c in SEGMENT_COLUMNS}, "geometry": []})
    seg = gpd.GeoDataFrame(seg[SEGMENT_COLUMNS], geometry=gpd.GeoSeries(seg["geometry"].to_numpy(), crs="EPSG:4326"),
                           crs="EPSG:4326")
    log.info("edge matching: %d pairs, %d mismatch segments", len(summary), len(seg))
    return seg, pd.DataFrame(summary, columns=SUMMARY_COLUMNS)


def _group(code) -> str:
    """'LX Lixisols' for a WRB code, the value as it is otherwise."""
    name = RSG_CODES.get(str(code)) or NON_SOIL_UNITS.get(str(code))
    return f"{code} {name}" if name else str(code)


MAX_SEGMENT_FINDINGS = 200  # per border; the full list is the border_mismatches table


def border_feedback(segments: gpd.GeoDataFrame, summary: pd.DataFrame) -> dict[str, list[Finding]]:
    """Per country, its border mismatches with every neighbour, as findings for its report.

    Both countries of a border get the same segments (same ids), each told from its own side: its unit and
    group, the neighbour's unit and group, the length and where (lon/lat of the segment's middle).
    """
    out: dict[str, list[Finding]] = {}
    seg = segments.reset_index(drop=True)
    ids = seg["pair"] + "#" + (seg.groupby("pair").cumcount() + 1).astype(str) if len(seg) else seg["pair"]
    by_pair, empty = (dict(tuple(seg.groupby("pair", sort=False))) if len(seg) else {}), seg.iloc[:0]
    for row in summary.itertuples(index=False):
        mine = by_pair.get(row.pair, empty)
        mine_ids = ids[mine.index] if len(mine) else None  # most pairs of a world layer have no segment
        for me, other, unit, group, their_unit, their_group in (
                (row.a, row.b, "unit_a", "rsg_a", "unit_b", "rsg_b"),
                (row.b, row.a, "unit_b", "rsg_b", "unit_a", "rsg_a")):
            found = out.setdefault(me, [])
            if row.compared_km <= 0:  # the neighbour has no map along it: nothing either side can act on
                found.append(Finding(
                    "border.mismatch_summary", Severity.INFO,
                    f"Border with {other}: nothing to compare, {other} has no map along it in the Atlas",
                    Location(feature=me), observed={"neighbour": other, "compared_km": 0.0}, expected=0,
                    hint="nothing to do"))
                continue
            everywhere = row.mismatched_km >= row.compared_km - 0.05
            extent = (f"along all {row.compared_km:,.1f} km compared" if everywhere else
                      f"along {row.mismatched_km:,.1f} km of the {row.compared_km:,.1f} km compared "
                      f"({row.mismatched_km / row.compared_km:.0%})")
            said = (f"Border with {other}: the dominant soil group differs {extent}, in "
                    f"{plural(len(mine), 'segment')}; {other} is sent the same segments") if len(mine) else (
                f"Border with {other}: the dominant soil groups agree along all {row.compared_km:,.1f} km compared")
            found.append(Finding(
                "border.mismatch_summary", Severity.WARNING if len(mine) else Severity.INFO, said,
                Location(feature=me), observed={"neighbour": other, "pair": row.pair, "segments": len(mine),
                                                "mismatched_km": round(float(row.mismatched_km), 3),
                                                "compared_km": round(float(row.compared_km), 3)},
                expected=0, hint=(f"agree the dominant groups along the border with {other}; the segments are listed "
                                  "in this report and in regional/borders/border_mismatches.csv") if len(mine)
                else "nothing to do"))
            if not len(mine):
                continue
            longest = mine.sort_values("length_km", ascending=False).head(MAX_SEGMENT_FINDINGS)
            for k, s in longest.iterrows():
                found.append(Finding(
                    "border.mismatch", Severity.INFO,
                    f"{s['length_km']:,.1f} km where your unit {s[unit]} ({_group(s[group])}) faces {other}'s unit "
                    f"{s[their_unit]} ({_group(s[their_group])})",
                    Location(feature=str(s[unit]), lon=float(s["lon"]), lat=float(s["lat"])),
                    observed={"segment": mine_ids[k], "neighbour": other, "unit": str(s[unit]), "group": s[group],
                              "neighbour_unit": str(s[their_unit]), "neighbour_group": s[their_group],
                              "length_km": round(float(s["length_km"]), 3)}))
    return out
