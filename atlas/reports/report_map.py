"""The report's map: where the problems are, over the country and its neighbours (static SVG).

Drawn with geopandas/matplotlib from the programme's reference boundary layer:
the country, its neighbours (grey, labelled), the submission's footprint
(dashed), each located finding as a dot coloured by severity, a legend and a
scale bar. No map is drawn when no finding has a location: an empty map tells
the reader nothing.
"""

from __future__ import annotations

import io
import math

import geopandas as gpd
import shapely
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

COLOURS = {"error": "#c0392b", "warning": "#e67e22", "fixed": "#2980b9", "info": "#7f8c8d"}
SEVERITY_LABELS = {"error": "must be fixed", "warning": "should be fixed", "fixed": "repaired by the pipeline",
                   "info": "for the record"}
COUNTRY_FILL, COUNTRY_EDGE = "#e3edd5", "#2f4f2f"
NEIGHBOUR_FILL, NEIGHBOUR_EDGE = "#f1f1f1", "#9a9a9a"
FOOTPRINT_EDGE = "#1f5fa8"
WATER = "#eaf2f8"
SEGMENT_COLOUR = "#8e44ad"  # border segments where neighbours name different soil groups
KM_PER_DEGREE = 111.32
LEGEND_ROW_IN = 0.2  # one row of the legend (8 pt text and its spacing), inches
LEGEND_PAD_IN = 0.1


def located(findings: list[dict]) -> list[tuple[float, float, str]]:
    """(lon, lat, severity) of every finding that has map coordinates."""
    out = []
    for f in findings:
        loc = f.get("location") or {}
        if loc.get("lon") is not None and loc.get("lat") is not None:
            out.append((float(loc["lon"]), float(loc["lat"]), f["severity"]))
    return out


def _extent(points, shapes) -> tuple[float, float, float, float]:
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    for geom in shapes:
        if geom is not None and not geom.is_empty:
            w, s, e, n = geom.bounds
            xs += [w, e]
            ys += [s, n]
    w, e, s, n = min(xs), max(xs), min(ys), max(ys)
    span = max(e - w, n - s, 0.2)  # at least ~20 km around a single point
    pad = span * 0.08
    cx, cy = (w + e) / 2, (s + n) / 2
    half_w, half_h = max(e - w, 0.2) / 2 + pad, max(n - s, 0.2) / 2 + pad
    return cx - half_w, cy - half_h, cx + half_w, cy + half_h


def nice_length_km(span_km: float) -> float:
    """A round scale-bar length (1, 2 or 5 × 10^n km) of about a quarter of the map's width."""
    target = span_km / 4
    power = 10 ** math.floor(math.log10(target)) if target > 0 else 1
    return max(m * power for m in (1, 2, 5) if m * power <= target) if target >= power else power


def _scale_bar(ax, w, s, e, n) -> None:
    lat = (s + n) / 2
    km_per_deg = KM_PER_DEGREE * math.cos(math.radians(lat))
    length_km = nice_length_km((e - w) * km_per_deg)
    length_deg = length_km / km_per_deg
    x0, y0 = w + (e - w) * 0.04, s + (n - s) * 0.05
    tick = (n - s) * 0.012
    ax.plot([x0, x0 + length_deg], [y0, y0], color="#222", linewidth=2.5, solid_capstyle="butt", zorder=6)
    ax.plot([x0, x0], [y0 - tick, y0 + tick], color="#222", linewidth=1, zorder=6)
    ax.plot([x0 + length_deg] * 2, [y0 - tick, y0 + tick], color="#222", linewidth=1, zorder=6)
    label = f"{length_km:g} km"
    ax.text(x0 + length_deg / 2, y0 + tick * 1.5, label, ha="center", va="bottom", fontsize=8, color="#222", zorder=6)


def _fill(w: float, s: float, e: float, n: float, aspect: float, ratio: float) -> tuple[float, float, float, float]:
    """The extent widened (or heightened) about its centre so that, drawn at ``aspect``, it fills a box of
    height / width ``ratio``."""
    drawn = (n - s) * aspect / (e - w)
    if drawn < ratio:
        half = (e - w) * ratio / aspect / 2
        s, n = max((s + n) / 2 - half, -90.0), min((s + n) / 2 + half, 90.0)
    elif drawn > ratio:
        half = (n - s) * aspect / ratio / 2
        w, e = (w + e) / 2 - half, (w + e) / 2 + half
    return w, s, e, n


def _simplified(frame: gpd.GeoDataFrame, tolerance: float) -> gpd.GeoDataFrame:
    out = frame.copy()
    out["geometry"] = shapely.simplify(shapely.make_valid(out.geometry.values), tolerance, preserve_topology=True)
    return out[~out.geometry.is_empty]


def report_map_svg(findings: list[dict], boundaries: gpd.GeoDataFrame | None = None, country: str | None = None,
                   footprint=None, country_geometry=None, width_in: float = 7.0, segments=None) -> str | None:
    """The map as SVG text, or None when no finding has a location.

    ``boundaries``: reference layer (iso3, name, geometry; EPSG:4326); ``country_geometry`` stands in for the
    country when no layer is given. ``footprint``: the submission's outline (EPSG:4326), optional.
    ``segments``: border lines where the neighbours' soil groups differ (EPSG:4326), drawn instead of a dot each.
    """
    lines = [g for g in (segments if segments is not None else []) if g is not None and not g.is_empty]
    if lines:  # the segments are drawn as lines: their midpoints need no dot
        findings = [f for f in findings if f.get("check_id") != "border.mismatch"]
    points = located(findings)
    if lines and not points:
        centre = shapely.union_all(lines).centroid
        points = [(centre.x, centre.y, "none")]  # frames the map on the segments; drawn by no severity below
    if not points:
        return None
    home = country_geometry
    neighbours = None
    if boundaries is not None and len(boundaries) and "iso3" in boundaries.columns:
        layer = boundaries if boundaries.crs is None or boundaries.crs.to_epsg() == 4326 else boundaries.to_crs(4326)
        mine = layer[layer["iso3"] == country] if country else layer.iloc[:0]
        if len(mine):
            home = shapely.union_all(shapely.make_valid(mine.geometry.values))
        neighbours = layer[layer["iso3"] != country] if country else layer
    w, s, e, n = _extent(points, [home, footprint, shapely.union_all(lines) if lines else None])
    lat = (s + n) / 2
    aspect = 1 / max(math.cos(math.radians(lat)), 0.2)  # degrees of latitude look as long as they are
    height_in = min(max(width_in * (n - s) * aspect / (e - w), 3.0), 6.5)
    w, s, e, n = _fill(w, s, e, n, aspect, height_in / width_in)  # a clamped height: more land, no white bands
    frame = shapely.box(w, s, e, n)
    tolerance = (e - w) / 900
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "atlas-report", "font.family": "sans-serif"}):
        fig = Figure(figsize=(width_in, height_in))
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))  # the legend's band is added below once its rows are known
        ax.set_facecolor(WATER)
        handles = []
        if neighbours is not None:
            near = neighbours[neighbours.intersects(frame)]
            if len(near):
                near = _simplified(near, tolerance)
                near.plot(ax=ax, facecolor=NEIGHBOUR_FILL, edgecolor=NEIGHBOUR_EDGE, linewidth=0.6, zorder=1)
                for _, row in near.iterrows():
                    pt = shapely.intersection(row.geometry, frame).representative_point()
                    if not pt.is_empty:
                        ax.text(pt.x, pt.y, row["iso3"], fontsize=8, color="#777", ha="center", va="center", zorder=2)
                handles.append(Patch(facecolor=NEIGHBOUR_FILL, edgecolor=NEIGHBOUR_EDGE, label="neighbours"))
        if home is not None and not home.is_empty:
            home_frame = gpd.GeoDataFrame(geometry=[home], crs="EPSG:4326")
            _simplified(home_frame, tolerance).plot(ax=ax, facecolor=COUNTRY_FILL, edgecolor=COUNTRY_EDGE,
                                                    linewidth=1.2, zorder=3)
            handles.insert(0, Patch(facecolor=COUNTRY_FILL, edgecolor=COUNTRY_EDGE,
                                    label=f"{country or 'country'} (reference border)"))
        if footprint is not None and not footprint.is_empty:
            foot = gpd.GeoDataFrame(geometry=[footprint], crs="EPSG:4326")
            _simplified(foot, tolerance).boundary.plot(ax=ax, color=FOOTPRINT_EDGE, linewidth=1.0, linestyle="--",
                                                       zorder=4)
            handles.append(Line2D([], [], color=FOOTPRINT_EDGE, linestyle="--", label="submitted map (outline)"))
        if lines:
            gpd.GeoSeries(lines, crs="EPSG:4326").plot(ax=ax, color=SEGMENT_COLOUR, linewidth=3.0, zorder=4.5)
            many = "segment" if len(lines) == 1 else "segments"
            handles.append(Line2D([], [], color=SEGMENT_COLOUR, linewidth=3.0,
                                  label=f"border where the soil groups differ ({len(lines)} {many})"))
        for severity in ("info", "fixed", "warning", "error"):  # most severe drawn last, on top
            pts = [(x, y) for x, y, sev in points if sev == severity]
            if pts:
                ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=46, color=COLOURS[severity],
                           edgecolors="white", linewidths=0.8, zorder=5)
        for severity in ("error", "warning", "fixed", "info"):
            count = sum(1 for *_, sev in points if sev == severity)
            if count:
                label = f"{severity}: {SEVERITY_LABELS[severity]} ({count})"
                handles.append(Line2D([], [], marker="o", linestyle="", markersize=7, color=COLOURS[severity],
                                      markeredgecolor="white", label=label))
        ax.set_xlim(w, e)
        ax.set_ylim(s, n)
        ax.set_aspect(aspect)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("")  # geopandas labels the axes with the CRS's names; a reader needs none
        ax.set_ylabel("")
        _scale_bar(ax, w, s, e, n)
        # below the map, so it never hides a place: in a band of its own under the axes, sized from its rows
        # (not bbox_inches="tight", which draws the whole map once more only to measure it)
        band_in = LEGEND_PAD_IN + math.ceil(len(handles) / 2) * LEGEND_ROW_IN
        total_in = height_in + band_in
        fig.set_size_inches(width_in, total_in)
        ax.set_position((0.0, band_in / total_in, 1.0, height_in / total_in))
        fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, band_in / total_in), ncol=2,
                   fontsize=8, frameon=False, borderaxespad=0.2)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    return text[text.index("<svg"):]  # inline-ready: no XML prolog or DOCTYPE
