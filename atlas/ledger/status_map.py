"""Status maps for meetings: member countries coloured by the state of one deliverable (PNG and SVG, 16:9)."""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from atlas.ledger.schema import STATE_LABELS, STATES, StatusRow
from atlas.ledger.status_table import NON_MEMBER_COLOUR, OVERDUE_COLOUR, PALETTE, status_summary

log = logging.getLogger(__name__)

SLIDE_SIZE_IN = (16.0, 9.0)
SLIDE_DPI = 100  # 16 x 9 in at 100 dpi = 1600 x 900 px, a 16:9 slide
MAP_AXES = (0.02, 0.08, 0.70, 0.80)  # left, bottom, width, height of the map in figure fractions
LEGEND_X = 0.74


def _shift_antimeridian(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Move western-hemisphere longitudes by +360 so a region across 180 degrees is drawn in one piece."""
    def shift(coords: np.ndarray) -> np.ndarray:
        out = coords.copy()
        out[:, 0] = np.where(out[:, 0] < 0, out[:, 0] + 360.0, out[:, 0])
        return out

    return gdf.set_geometry(shapely.transform(gdf.geometry.values, shift))


def _view(members: gpd.GeoDataFrame, region_bounds, aspect: float) -> tuple[float, float, float, float]:
    """Map extent around the members (or the region), padded and widened to the axes' shape."""
    if len(members):
        west, south, east, north = members.total_bounds
    else:
        west, south, east, north = region_bounds
        if west > east:
            east += 360.0
    pad = 0.05 * max(east - west, north - south, 1.0)
    west, south, east, north = west - pad, south - pad, east + pad, north + pad
    mid_lat = math.radians((south + north) / 2)
    stretch = 1.0 / max(math.cos(mid_lat), 0.2)  # degrees of latitude look this much taller than longitude
    width, height = east - west, (north - south) * stretch
    if width / height < aspect:
        grow = (height * aspect - width) / 2
        west, east = west - grow, east + grow
    else:
        grow = (width / aspect - height) / 2 / stretch
        south, north = south - grow, north + grow
    return west, south, east, north


def draw_status_map(
    rows: Sequence[StatusRow],
    deliverable: str,
    boundaries: gpd.GeoDataFrame | None,
    out_paths: Sequence[Path],
    title: str,
    today: dt.date,
    region_bounds: tuple[float, float, float, float] = (-180.0, -90.0, 180.0, 90.0),
) -> list[Path]:
    """Draw one deliverable's status map and save it to every path (format from the suffix)."""
    sel = {r.country: r for r in rows if r.deliverable == deliverable}
    fig = Figure(figsize=SLIDE_SIZE_IN, dpi=SLIDE_DPI, facecolor="white")
    ax = fig.add_axes(MAP_AXES)
    ax.set_axis_off()
    missing = sorted(sel)
    if boundaries is not None and len(boundaries):
        world = boundaries[["iso3", "name", "geometry"]].copy()
        world = world[world.geometry.notna() & ~world.geometry.is_empty]
        if world.crs is not None and world.crs.to_epsg() != 4326:
            world = world.to_crs(4326)
        if region_bounds[0] > region_bounds[2]:
            world = _shift_antimeridian(world)
        world = world.dissolve(by="iso3", as_index=False, aggfunc="first")  # one shape per country
        is_member = world["iso3"].isin(list(sel))
        members = world[is_member].copy()
        members["state"] = members["iso3"].map(lambda c: sel[c].state)
        members["overdue"] = members["iso3"].map(lambda c: sel[c].overdue)
        missing = sorted(set(sel) - set(members["iso3"]))
        west, south, east, north = _view(members, region_bounds, MAP_AXES[2] * 16 / (MAP_AXES[3] * 9))
        nearby = world[~is_member].cx[west:east, south:north]
        if len(nearby):
            nearby.plot(ax=ax, color=NON_MEMBER_COLOUR, edgecolor="#BBBBBB", linewidth=0.4)
        if len(members):
            members.plot(ax=ax, color=members["state"].map(PALETTE).tolist(), edgecolor="#404040", linewidth=0.6)
            late = members[members["overdue"]]
            if len(late):
                late.plot(ax=ax, facecolor="none", edgecolor=OVERDUE_COLOUR, hatch="///", linewidth=0.0)
            points = members.geometry.representative_point()
            for iso3, point in zip(members["iso3"], points, strict=True):
                ax.annotate(iso3, (point.x, point.y), ha="center", va="center", fontsize=8, color="#202020")
        ax.set_xlim(west, east)
        ax.set_ylim(south, north)
        ax.set_aspect(1.0 / max(math.cos(math.radians((south + north) / 2)), 0.2), adjustable="datalim")
    else:
        ax.text(0.5, 0.5, "no reference boundaries available", ha="center", va="center", transform=ax.transAxes,
                fontsize=14, color="#808080")

    summary = next((s for s in status_summary(list(sel.values()))), None)
    fig.suptitle(title, x=0.02, y=0.965, ha="left", fontsize=22, fontweight="bold")
    subtitle = f"Status of submissions as of {today.isoformat()}"
    if summary:
        subtitle += (f"  ·  {summary.submitted} of {summary.members} countries submitted, "
                     f"{summary.accepted} accepted, {summary.overdue} overdue")
    fig.text(0.02, 0.905, subtitle, ha="left", fontsize=14, color="#404040")

    counts = {s: sum(r.state == s for r in sel.values()) for s in STATES}
    handles = [Patch(facecolor=PALETTE[s], edgecolor="#404040", label=f"{STATE_LABELS[s]} ({counts[s]})")
               for s in STATES]
    handles.append(Patch(facecolor="white", edgecolor=OVERDUE_COLOUR, hatch="///", label="overdue"))
    handles.append(Patch(facecolor=NON_MEMBER_COLOUR, edgecolor="#BBBBBB", label="not a member"))
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(LEGEND_X, 0.86), fontsize=13, frameon=False,
               title="State", title_fontsize=14, alignment="left")
    if missing:
        names = ", ".join(f"{sel[c].name} ({STATE_LABELS[sel[c].state]})" for c in missing)
        fig.text(0.02, 0.03, f"Not on the map (no boundary): {names}", fontsize=10, color="#404040", wrap=True)
    written = []
    for path in out_paths:
        path = Path(path)
        tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
        with rc_context({"svg.fonttype": "none"}):  # SVG keeps text as text: editable on a slide
            fig.savefig(tmp, dpi=SLIDE_DPI, format=path.suffix.lstrip(".").lower())
        tmp.replace(path)
        written.append(path)
    log.info("status map of %s: %s (%d members off the map)", deliverable, ", ".join(map(str, written)), len(missing))
    return written

