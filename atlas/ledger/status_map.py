"""Status maps for meetings: every member country coloured by the state of a deliverable (PNG and SVG, 16:9).

The map shows the whole membership, whatever the programme's region: its extent follows the members.
Each member is drawn from the reference layer where that layer holds it whole, else from Natural Earth
(the copy shipped with pyogrio); a member too small for either (an island state) is a labelled dot at
``[status] map_points``. Non-members nearby are drawn white on a pale sea, clearly apart from the grey
of "not received". One map per deliverable, and a panel of all of them for a single slide (2 x 2 for four).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from matplotlib import rc_context
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from shapely.ops import polylabel

from atlas.ledger.schema import STATE_LABELS, StatusRow
from atlas.ledger.status_table import OVERDUE_COLOUR, PALETTE, states_present, status_summary, text_colour

log = logging.getLogger(__name__)

SLIDE_SIZE_IN = (16.0, 9.0)
SLIDE_DPI = 100  # 16 x 9 in at 100 dpi = 1600 x 900 px, a 16:9 slide
MAP_AXES = (0.01, 0.04, 0.72, 0.84)  # left, bottom, width, height of the map in figure fractions
LEGEND_X = 0.745
SEA_COLOUR = "#EAF1F7"
NON_MEMBER_FILL = "#FFFFFF"
NON_MEMBER_EDGE = "#B8B8B8"
MEMBER_EDGE = "#303030"
# A member drawn from the reference layer must cover this share of its Natural Earth outline;
# a reference clipped to the programme's region (China, India in the demo) is drawn from Natural Earth.
WHOLE_SHARE = 0.9
LABEL_SIZE = 13  # points; on a 1600 px slide this reads from the back of a meeting room
# a pale box behind each label keeps it readable on any fill; a stroke halo would turn SVG text into paths
LABEL_BOX = {"boxstyle": "round,pad=0.12", "facecolor": "white", "edgecolor": "none", "alpha": 0.75}


def _shift_antimeridian(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Move western-hemisphere longitudes by +360 so a region across 180 degrees is drawn in one piece."""
    def shift(coords: np.ndarray) -> np.ndarray:
        out = coords.copy()
        out[:, 0] = np.where(out[:, 0] < 0, out[:, 0] + 360.0, out[:, 0])
        return out

    return gdf.set_geometry(shapely.transform(gdf.geometry.values, shift))


def _one_per_country(gdf: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    if gdf is None or not len(gdf):
        return gpd.GeoDataFrame({"iso3": [], "name": []}, geometry=[], crs="EPSG:4326")
    out = gdf[["iso3", "name", "geometry"]].copy()
    out = out[out.geometry.notna() & ~out.geometry.is_empty]
    if out.crs is None:
        out = out.set_crs(4326)
    elif out.crs.to_epsg() != 4326:
        out = out.to_crs(4326)
    if out["iso3"].is_unique:  # already one row per country (a caller dissolved it once for several maps)
        return out.reset_index(drop=True)
    return out.dissolve(by="iso3", as_index=False, aggfunc="first")


def one_per_country(gdf: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """One row (iso3, name, geometry) per country in EPSG:4326: dissolve once, then draw many maps from it."""
    return _one_per_country(gdf)


def _for_drawing(gdf: gpd.GeoDataFrame, extent: tuple[float, float, float, float], tolerance: float):
    """The shapes cut to the map's extent and simplified to half a pixel: the picture is the same, the file
    is written in a fraction of the time (Natural Earth's neighbours have far more vertices than pixels)."""
    west, south, east, north = extent
    margin = 10 * tolerance
    geoms = shapely.clip_by_rect(gdf.geometry.values, west - margin, south - margin, east + margin, north + margin)
    geoms = shapely.simplify(geoms, tolerance, preserve_topology=True)
    out = gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs))
    return out[~out.geometry.is_empty]


def map_base(members: Sequence[str], reference: gpd.GeoDataFrame | None,
             world: gpd.GeoDataFrame | None) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, dict[str, str]]:
    """(member shapes, non-member shapes, source per member): reference where whole, else Natural Earth."""
    ref, ne = _one_per_country(reference), _one_per_country(world)
    ref_geoms = dict(zip(ref["iso3"], ref.geometry, strict=True))
    ne_geoms = dict(zip(ne["iso3"], ne.geometry, strict=True))
    rows, source = [], {}
    for iso3 in members:
        geom, whole = ref_geoms.get(iso3), ne_geoms.get(iso3)
        if geom is not None and (whole is None or shapely.area(geom) >= WHOLE_SHARE * shapely.area(whole)):
            rows.append((iso3, geom))
            source[iso3] = "reference"
        elif whole is not None:
            rows.append((iso3, whole))
            source[iso3] = "Natural Earth"
    shapes = gpd.GeoDataFrame({"iso3": [r[0] for r in rows]}, geometry=[r[1] for r in rows], crs="EPSG:4326")
    others = ne if len(ne) else ref
    others = others[~others["iso3"].isin(list(members))][["iso3", "geometry"]]
    return shapes, others, source


def _padded_bounds(shapes: gpd.GeoDataFrame, points: Mapping[str, tuple[float, float]],
                   region_bounds) -> tuple[float, float, float, float]:
    """Bounds of every member (shapes and dots), padded by 4 %; the programme's region when there are none."""
    xs, ys = [], []
    if len(shapes):
        west, south, east, north = shapes.total_bounds
        xs += [west, east]
        ys += [south, north]
    for lon, lat in points.values():
        xs.append(lon)
        ys.append(lat)
    if xs:
        west, east, south, north = min(xs), max(xs), min(ys), max(ys)
    else:
        west, south, east, north = region_bounds
        if west > east:
            east += 360.0
    pad = 0.04 * max(east - west, north - south, 1.0)
    return west - pad, south - pad, east + pad, north + pad


def _stretch(south: float, north: float) -> float:
    """How much taller a degree of latitude is drawn than a degree of longitude at the map's middle."""
    return 1.0 / max(math.cos(math.radians((south + north) / 2)), 0.2)


def _extent(shapes: gpd.GeoDataFrame, points: Mapping[str, tuple[float, float]], region_bounds,
            aspect: float) -> tuple[float, float, float, float]:
    """Map extent around every member (shapes and dots), padded and widened to the axes' shape."""
    west, south, east, north = _padded_bounds(shapes, points, region_bounds)
    stretch = _stretch(south, north)
    width, height = east - west, (north - south) * stretch
    if width / height < aspect:
        grow = (height * aspect - width) / 2
        west, east = west - grow, east + grow
    else:
        grow = (width / aspect - height) / 2 / stretch
        south, north = south - grow, north + grow
    return west, south, east, north


def _content_aspect(shapes: gpd.GeoDataFrame, points: Mapping[str, tuple[float, float]], region_bounds) -> float:
    """Width over height of the members' padded extent as drawn."""
    west, south, east, north = _padded_bounds(shapes, points, region_bounds)
    return max(east - west, 1e-9) / max((north - south) * _stretch(south, north), 1e-9)


def panel_grid(count: int, content_aspect: float, area_in: tuple[float, float],
               caption_in: float) -> tuple[int, int]:
    """(columns, rows) of the panel that draws each map largest: the cells' shape follows the members' extent.

    Four deliverables give 2 x 2 on a 16:9 slide; six give 3 x 2 (wide 2-column cells would leave each map a
    strip with more of the world around it than members in it).
    """
    best, best_height = (1, max(count, 1)), -1.0
    for ncols in range(1, max(count, 1) + 1):
        nrows = math.ceil(count / ncols)
        cell_w, cell_h = area_in[0] / ncols, area_in[1] / nrows - caption_in
        drawn_height = min(cell_w / content_aspect, cell_h)  # the map's height once fitted into the cell
        if drawn_height > best_height * 1.001:  # a tie keeps fewer columns
            best, best_height = (ncols, nrows), drawn_height
    return best


def _largest_parts(shapes: gpd.GeoDataFrame) -> dict[str, shapely.Geometry]:
    """Each member's largest part: its label goes there, so islands and exclaves do not pull it out."""
    out = {}
    for iso3, geom in zip(shapes["iso3"], shapes.geometry, strict=True):
        parts = shapely.get_parts(geom)
        out[iso3] = parts[int(np.argmax(shapely.area(parts)))] if len(parts) else geom
    return out


def draw_map_axes(ax, rows: Mapping[str, StatusRow], shapes: gpd.GeoDataFrame, others: gpd.GeoDataFrame,
                  points: Mapping[str, tuple[float, float]], region_bounds, aspect: float,
                  label_size: float = LABEL_SIZE) -> list[str]:
    """Draw one deliverable's states into ``ax``; returns the members that could not be placed at all."""
    ax.set_facecolor(SEA_COLOUR)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_edgecolor("#C8C8C8")
    dots = {c: points[c] for c in rows if c not in set(shapes["iso3"]) and c in points}
    west, south, east, north = _extent(shapes, dots, region_bounds, aspect)
    pixels = max(ax.get_position().width * ax.figure.get_figwidth() * ax.figure.dpi, 1.0)
    tolerance = 0.5 * (east - west) / pixels
    nearby = _for_drawing(others.cx[west:east, south:north], (west, south, east, north), tolerance)
    if len(nearby):
        nearby.plot(ax=ax, color=NON_MEMBER_FILL, edgecolor=NON_MEMBER_EDGE, linewidth=0.5)
    drawn = _for_drawing(shapes, (west, south, east, north), tolerance)
    if len(drawn):
        states = drawn["iso3"].map(lambda c: rows[c].shown_state)
        drawn.plot(ax=ax, color=states.map(PALETTE).tolist(), edgecolor=MEMBER_EDGE, linewidth=0.7)
        late = drawn[drawn["iso3"].map(lambda c: rows[c].overdue)]
        if len(late):
            late.plot(ax=ax, facecolor="none", edgecolor=OVERDUE_COLOUR, hatch="///", linewidth=0.0)
    for iso3, (lon, lat) in dots.items():
        row = rows[iso3]
        ax.plot([lon], [lat], marker="o", markersize=label_size * 0.9, color=PALETTE[row.shown_state],
                markeredgecolor=OVERDUE_COLOUR if row.overdue else MEMBER_EDGE, markeredgewidth=2 if row.overdue
                else 0.8, zorder=4)
    ax.set_xlim(west, east)
    ax.set_ylim(south, north)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_aspect(1.0 / max(math.cos(math.radians((south + north) / 2)), 0.2), adjustable="box")
    _labels(ax, rows, _largest_parts(shapes), dots, label_size)
    return sorted(set(rows) - set(shapes["iso3"]) - set(dots))


# A label goes inside its country only where it covers at most this share of the drawn country; elsewhere
# (small and island members) it goes beside it with a leader line, in a box of the member's state colour.
INSIDE_SHARE = 0.35
LEADER_GAP_PX = 6.0
OVERDUE_FRAME_PAD = 0.3  # font sizes: the hatched frame around an overdue member's label box


def _overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _labels(ax, rows: Mapping[str, StatusRow], parts: Mapping[str, shapely.Geometry],
            dots: Mapping[str, tuple[float, float]], size: float) -> None:
    """ISO3 labels that never hide a member's state.

    A label sits inside its member when the member is large enough for the label to cover only a small
    share of it and no other label is there. Any other member (small, an island state drawn as a dot, or
    crowded out) is labelled beside itself with a leader line, and its label box takes the member's state
    colour (red edge when overdue), so its state reads even where the country is a sliver on the map.
    """
    ax.apply_aspect()  # the axes box takes its final shape first, so pixel distances are the drawn ones
    to_px = ax.transData.transform
    per_pt = ax.figure.dpi / 72
    half_w, half_h = 1.5 * 0.68 * size * per_pt + 3, 0.68 * size * per_pt + 2  # three bold capitals and their box
    frame = ax.get_window_extent()
    frame = (frame.x0 + 2, frame.y0 + 2, frame.x1 - 2, frame.y1 - 2)
    extents: dict[str, tuple[float, float, float, float]] = {}  # each member's drawn box, pixels
    anchors: dict[str, tuple[float, float]] = {}
    area_px: dict[str, float] = {}
    sx, sy = (abs(v) for v in to_px((1.0, 1.0)) - to_px((0.0, 0.0)))
    for iso3, part in parts.items():
        (x0, y0), (x1, y1) = to_px(np.asarray(part.bounds).reshape(2, 2))
        extents[iso3] = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
        # the point farthest from the outline: where a label has the most room inside
        point = polylabel(part, tolerance=max(part.bounds[2] - part.bounds[0], 1e-6) / 200) \
            if part.geom_type == "Polygon" else shapely.point_on_surface(part)
        anchors[iso3] = (point.x, point.y)
        area_px[iso3] = shapely.area(part) * sx * sy
    marker = size * 0.45 * per_pt + 2
    for iso3, (lon, lat) in dots.items():
        px, py = to_px((lon, lat))
        extents[iso3] = (px - marker, py - marker, px + marker, py + marker)
        anchors[iso3] = (lon, lat)
        area_px[iso3] = 0.0
    label_area = 4 * half_w * half_h
    to_data = ax.transData.inverted().transform

    def fits(iso3: str) -> bool:  # the label box lies within the member and covers a small share of it
        if label_area > INSIDE_SHARE * area_px[iso3]:
            return False
        px, py = to_px(anchors[iso3])
        (x0, y0), (x1, y1) = to_data([(px - half_w, py - half_h), (px + half_w, py + half_h)])
        return parts[iso3].buffer(0).contains(shapely.box(x0, y0, x1, y1))

    inside = {c for c in parts if fits(c)}
    # members smaller than a label box would vanish under one: no label may cover their drawn box
    small_boxes = [extents[c] for c in extents if area_px[c] < 1.5 * label_area]
    placed: list[tuple[float, float, float, float]] = []
    # large members first (largest first), then the others north to south
    order = sorted(extents, key=lambda c: (c not in inside, -area_px[c] if c in inside else -anchors[c][1]))
    for iso3 in order:
        px, py = to_px(anchors[iso3])
        box = (px - half_w, py - half_h, px + half_w, py + half_h)
        if iso3 in inside and not any(_overlaps(box, q) for q in placed + small_boxes):
            placed.append(box)
            ax.annotate(iso3, anchors[iso3], ha="center", va="center", fontsize=size, fontweight="bold",
                        color="#111111", bbox=LABEL_BOX, zorder=5)
            continue
        row = rows[iso3]
        frame_px = OVERDUE_FRAME_PAD * size * per_pt if row.overdue else 0.0  # the hatched frame's extra width
        hw, hh = half_w + frame_px, half_h + frame_px
        cx, cy = _beside(extents[iso3], (px, py), hw, hh, placed, small_boxes, frame)
        placed.append((cx - hw, cy - hh, cx + hw, cy + hh))
        fill = PALETTE[row.shown_state]
        bbox = {"boxstyle": "round,pad=0.15", "facecolor": fill, "edgecolor": MEMBER_EDGE, "linewidth": 0.8}
        text_at = tuple(ax.transData.inverted().transform((cx, cy)))  # data units: the same at any dpi (SVG)
        # the leader line runs to the label's centre, under its opaque box: the box hides the inner part, and
        # matplotlib need not clip an arrow to the box (which took most of a map's drawing time)
        ax.plot([anchors[iso3][0], text_at[0]], [anchors[iso3][1], text_at[1]], color="#303030", lw=0.8,
                solid_capstyle="butt", zorder=5.5)
        ax.text(*text_at, iso3, ha="center", va="center", fontsize=size, fontweight="bold",
                color=text_colour(fill), bbox=bbox, zorder=6)
        if row.overdue:  # a hatched frame around the box, as the legend's "overdue": never across the letters
            hatched = {"boxstyle": f"round,pad={0.15 + OVERDUE_FRAME_PAD}", "facecolor": "white", "hatch": "////",
                       "edgecolor": OVERDUE_COLOUR, "linewidth": 1.2}
            ax.text(*text_at, iso3, ha="center", va="center", fontsize=size, fontweight="bold", color="none",
                    zorder=5.9, bbox=hatched)


def _beside(extent, anchor, half_w, half_h, placed, small_boxes, frame) -> tuple[float, float]:
    """Centre (pixels) of a label beside a member's drawn box: the first free place around it, nearest first."""
    x0, y0, x1, y1 = extent
    px, py = anchor
    gap = LEADER_GAP_PX
    candidates = []
    for step in (1.0, 2.2, 3.4):
        dx, dy = step * (half_w + gap), step * (half_h + gap)
        candidates += [
            (x1 + dx, py), (x0 - dx, py), (px, y1 + dy), (px, y0 - dy),
            (x1 + dx, y1 + dy), (x0 - dx, y1 + dy), (x1 + dx, y0 - dy), (x0 - dx, y0 - dy),
        ]
    for cx, cy in candidates:
        box = (cx - half_w, cy - half_h, cx + half_w, cy + half_h)
        inside_frame = box[0] >= frame[0] and box[1] >= frame[1] and box[2] <= frame[2] and box[3] <= frame[3]
        if inside_frame and not any(_overlaps(box, q) for q in placed + small_boxes):
            return cx, cy
    return candidates[0]


def _shrink_to_width(text, width_px: float, smallest: float = 7.0) -> None:
    """Lower a text's font size until it fits ``width_px`` (measured with Agg, as the PNG is drawn)."""
    renderer = RendererAgg(text.figure.bbox.width, text.figure.bbox.height, text.figure.dpi)
    while text.get_fontsize() > smallest and text.get_window_extent(renderer).width > width_px:
        text.set_fontsize(text.get_fontsize() - 0.5)


def _legend_handles(rows: Sequence[StatusRow], with_non_members: bool) -> list:
    counts = {s: sum(r.shown_state == s for r in rows) for s in states_present(rows)}
    handles = [Patch(facecolor=PALETTE[s], edgecolor=MEMBER_EDGE, label=f"{STATE_LABELS[s]} ({n})")
               for s, n in counts.items()]
    overdue = sum(r.overdue for r in rows)
    if overdue:
        handles.append(Patch(facecolor="white", edgecolor=OVERDUE_COLOUR, hatch="///", label=f"overdue ({overdue})"))
    if with_non_members:
        handles.append(Patch(facecolor=NON_MEMBER_FILL, edgecolor=NON_MEMBER_EDGE, label="not a member"))
    return handles


def _save(fig: Figure, out_paths: Sequence[Path]) -> list[Path]:
    written = []
    for path in out_paths:
        path = Path(path)
        with rc_context({"svg.fonttype": "none", "hatch.color": OVERDUE_COLOUR}):  # SVG text stays editable
            fig.savefig(path, dpi=SLIDE_DPI, format=path.suffix.lstrip(".").lower(), facecolor="white")
        written.append(path)
    return written


def _not_placed_note(fig: Figure, rows: Mapping[str, StatusRow], missing: list[str]) -> None:
    if missing:
        names = ", ".join(f"{c} {rows[c].name} ({rows[c].label})" for c in missing)
        fig.text(0.01, 0.01, f"No outline or point for: {names}", fontsize=11, color="#404040")


def draw_status_map(
    rows: Sequence[StatusRow],
    deliverable: str,
    boundaries: gpd.GeoDataFrame | None,
    out_paths: Sequence[Path],
    title: str,
    today: dt.date,
    region_bounds: tuple[float, float, float, float] = (-180.0, -90.0, 180.0, 90.0),
    world: gpd.GeoDataFrame | None = None,
    points: Mapping[str, tuple[float, float]] | None = None,
    deadline: dt.date | None = None,
) -> list[Path]:
    """Draw one deliverable's status map of every member and save it to every path (format from the suffix)."""
    sel = {r.country: r for r in rows if r.deliverable == deliverable}
    shapes, others, _ = map_base(list(sel), boundaries, world)
    if region_bounds[0] > region_bounds[2]:
        shapes, others = _shift_antimeridian(shapes), _shift_antimeridian(others)
    fig = Figure(figsize=SLIDE_SIZE_IN, dpi=SLIDE_DPI, facecolor="white")
    ax = fig.add_axes(MAP_AXES)
    aspect = MAP_AXES[2] * SLIDE_SIZE_IN[0] / (MAP_AXES[3] * SLIDE_SIZE_IN[1])
    missing = draw_map_axes(ax, sel, shapes, others, points or {}, region_bounds, aspect)

    summary = next(iter(status_summary(list(sel.values()))), None)
    fig.text(0.01, 0.955, title, ha="left", va="center", fontsize=24, fontweight="bold")
    subtitle = f"As of {today.isoformat()}" + (f"  ·  due {deadline.isoformat()}" if deadline else "")
    fig.text(0.01, 0.905, subtitle, ha="left", va="center", fontsize=16, color="#404040")
    if summary:
        lines = [textwrap.fill(part, 30, subsequent_indent="  ")  # a long count wraps within the margin
                 for part in summary.sentence().split(": ", 1)[1].split(", ")]
        fig.text(LEGEND_X, 0.86, "\n".join(lines), ha="left", va="top",
                 fontsize=14, color="#202020", linespacing=1.5)
    fig.legend(handles=_legend_handles(list(sel.values()), len(others) > 0), loc="upper left",
               bbox_to_anchor=(LEGEND_X - 0.005, 0.52), fontsize=15, frameon=False, title="State",
               title_fontsize=16, alignment="left")
    _not_placed_note(fig, sel, missing)
    written = _save(fig, out_paths)
    log.info("status map of %s: %s (%d members not placed)", deliverable, ", ".join(map(str, written)), len(missing))
    return written


def draw_status_panel(
    rows: Sequence[StatusRow],
    titles: Mapping[str, str],
    boundaries: gpd.GeoDataFrame | None,
    out_paths: Sequence[Path],
    heading: str,
    today: dt.date,
    region_bounds: tuple[float, float, float, float] = (-180.0, -90.0, 180.0, 90.0),
    world: gpd.GeoDataFrame | None = None,
    points: Mapping[str, tuple[float, float]] | None = None,
) -> list[Path]:
    """Every deliverable's map on one 16:9 slide (2 x 2 for four deliverables, 3 x 2 for six), one legend."""
    keys = list(titles)
    fig = Figure(figsize=SLIDE_SIZE_IN, dpi=SLIDE_DPI, facecolor="white")
    fig.text(0.01, 0.965, heading, ha="left", va="center", fontsize=20, fontweight="bold")
    fig.text(0.99, 0.965, f"As of {today.isoformat()}", ha="right", va="center", fontsize=14, color="#404040")
    left, bottom, width, height = 0.005, 0.09, 0.99, 0.84
    caption_h = 0.06  # figure fraction above each map for its title and counts (two lines)
    # every deliverable has the same members: their outlines once, and the grid that draws them largest
    members = sorted({r.country for r in rows})
    shapes, others, _ = map_base(members, boundaries, world)
    if region_bounds[0] > region_bounds[2]:
        shapes, others = _shift_antimeridian(shapes), _shift_antimeridian(others)
    dots = {c: xy for c, xy in (points or {}).items() if c in members and c not in set(shapes["iso3"])}
    ncols, nrows = panel_grid(len(keys), _content_aspect(shapes, dots, region_bounds),
                              (width * SLIDE_SIZE_IN[0], height * SLIDE_SIZE_IN[1]), caption_h * SLIDE_SIZE_IN[1])
    cell_w, cell_h = width / ncols, height / nrows
    aspect = cell_w * SLIDE_SIZE_IN[0] / ((cell_h - caption_h) * SLIDE_SIZE_IN[1])
    for i, key in enumerate(keys):
        sel = {r.country: r for r in rows if r.deliverable == key}
        col, row = i % ncols, i // ncols
        x0, y0 = left + col * cell_w, bottom + (nrows - 1 - row) * cell_h
        ax = fig.add_axes((x0 + 0.004, y0, cell_w - 0.008, cell_h - caption_h))
        draw_map_axes(ax, sel, shapes[shapes["iso3"].isin(list(sel))], others, points or {}, region_bounds, aspect,
                      label_size=9)
        summary = next(iter(status_summary(list(sel.values()))), None)
        title = fig.text(x0 + 0.006, y0 + cell_h - 0.018, titles[key], ha="left", va="center", fontsize=11,
                         fontweight="bold")
        _shrink_to_width(title, (cell_w - 0.012) * fig.bbox.width)  # a long title never runs into the next map
        if summary:
            fig.text(x0 + 0.006, y0 + cell_h - 0.043, f"{summary.accepted} of {summary.members} accepted, "
                     f"{summary.overdue} overdue", ha="left", va="center", fontsize=10, color="#303030")
    fig.legend(handles=_legend_handles(list(rows), len(others) > 0), loc="lower center", bbox_to_anchor=(0.5, 0.0),
               ncol=8, fontsize=12, frameon=False)
    return _save(fig, out_paths)
