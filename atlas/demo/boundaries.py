"""Reference boundaries and the deliberately different national outlines of the demo.

Source: Natural Earth 1:110m admin-0 countries ("naturalearth_lowres"), as
shipped in pyogrio's test fixtures. Natural Earth is in the public domain
(https://www.naturalearthdata.com/about/terms-of-use/).

National agencies draw their own outline: the demo makes some spill over a
neighbour, some fall short of the reference, and adds a few tiny slivers, each
built deterministically along a shared border so that its size is known.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely

from atlas.natural_earth import natural_earth

log = logging.getLogger(__name__)

SHIFT_DEG = 0.03  # about 3.3 km: how far a national outline spills over or falls short
SLIVER_WIDTH_DEG = 0.0015  # slivers are ~150 m wide strips, well under 1 km2
SLIVER_RADIUS_DEG = 0.02
SLIVER_GAP_DEG = 0.0003
NOISE_WIDTH_DEG = 1e-7  # mean width below which an overlay part is numerical noise
SLIVER_POSITIONS = (0.12, 0.85, 0.65, 0.75, 0.2)


@dataclass(frozen=True)
class BoundaryPlan:
    """How a country's own outline differs from the reference (neighbours in order of preference)."""

    spill_into: tuple[str, ...] = ()
    short_of: tuple[str, ...] = ()
    slivers_along: tuple[str, ...] = ()
    n_slivers: int = 0


@dataclass(frozen=True)
class NationalBoundary:
    """A country's own outline: the main part, separate slivers, and measured truths."""

    iso3: str
    main: shapely.Geometry
    slivers: tuple[shapely.Geometry, ...]
    truths: dict = field(default_factory=dict, compare=False)

    @property
    def full(self) -> shapely.Geometry:
        return shapely.union_all([self.main, *self.slivers])


def reference_layer(window: tuple[float, float, float, float]) -> gpd.GeoDataFrame:
    """Countries intersecting ``window``, clipped to it, sorted by iso3 (EPSG:4326)."""
    world = natural_earth()
    frame = shapely.box(*window)
    inside = world[world.intersects(frame)].copy()
    inside["geometry"] = shapely.make_valid(shapely.intersection(inside.geometry.values, frame))
    inside = inside[shapely.area(inside.geometry.values) > 0]
    return inside.sort_values("iso3").reset_index(drop=True).set_crs("EPSG:4326", allow_override=True)


def coastline(window: tuple[float, float, float, float], margin: float = 2.0) -> shapely.Geometry:
    """The land-sea line near ``window``: the outline of all land, unclipped so no false coast appears."""
    world = natural_earth()
    west, south, east, north = window
    frame = shapely.box(west - margin, south - margin, east + margin, north + margin)
    land = shapely.union_all(world[world.intersects(frame)].geometry.values)
    return shapely.intersection(land.boundary, frame)


def shared_border(a: shapely.Geometry, b: shapely.Geometry) -> shapely.Geometry | None:
    """The longest continuous piece of border two reference polygons share, or None."""
    line = shapely.line_merge(shapely.intersection(a.boundary, b.buffer(1e-6)))
    parts = [g for g in shapely.get_parts(line) if g.geom_type == "LineString" and g.length > 0.2]
    return max(parts, key=lambda g: g.length) if parts else None


def _first_border(iso3: str, candidates: tuple[str, ...], geoms: dict) -> tuple[str, shapely.Geometry] | None:
    for other in candidates:
        if other in geoms and other != iso3:
            line = shared_border(geoms[iso3], geoms[other])
            if line is not None:
                return other, line
    return None


def _km2(geometry: shapely.Geometry, equal_area_crs: str) -> float:
    """Area in km2 of the parts of an overlay result that are more than floating-point noise.

    Overlays leave zero-width slivers where two outlines share an edge but not all its
    vertices; in another CRS such a sliver bends open to a few metres' width and would
    add about 1 km2 per 200 km of border. Parts thinner than ~1 cm are therefore left out.
    """
    if geometry is None or geometry.is_empty:
        return 0.0
    parts = shapely.get_parts(geometry)
    width_deg = 2 * shapely.area(parts) / np.maximum(shapely.length(parts), 1e-300)
    parts = parts[width_deg > NOISE_WIDTH_DEG]
    if len(parts) == 0:
        return 0.0
    return float(gpd.GeoSeries(parts, crs="EPSG:4326").to_crs(equal_area_crs).area.sum() / 1e6)


def national_boundary(
    iso3: str, plan: BoundaryPlan, geoms: dict[str, shapely.Geometry], equal_area_crs: str
) -> NationalBoundary:
    """Build ``iso3``'s own outline from the reference following ``plan``, and measure it."""
    ref = geoms[iso3]
    main = ref
    truths: dict = {"spill_into": None, "short_of": None, "slivers_along": None}
    spill = _first_border(iso3, plan.spill_into, geoms)
    if spill:
        other, line = spill
        zone = line.interpolate(0.5, normalized=True).buffer(min(0.6, 0.25 * line.length))
        main = shapely.union(main, shapely.intersection(zone, ref.buffer(SHIFT_DEG)))
        truths["spill_into"] = other
    short = _first_border(iso3, plan.short_of, geoms)
    if short:
        other, line = short
        # off the middle of the border, so a neighbour's spill (at the middle) does not fill the gap
        zone = line.interpolate(0.3, normalized=True).buffer(min(0.6, 0.25 * line.length))
        main = shapely.difference(main, shapely.difference(zone, ref.buffer(-SHIFT_DEG)))
        truths["short_of"] = other
    slivers: list[shapely.Geometry] = []
    along = _first_border(iso3, plan.slivers_along, geoms) if plan.n_slivers else None
    if along:
        other, line = along
        # detached from the outline by ~30 m: a sliver sharing the border edge with other vertices
        # would overlap its neighbour by metres once projected, which is not the planted defect
        strip = shapely.difference(ref.buffer(SLIVER_GAP_DEG + SLIVER_WIDTH_DEG), ref.buffer(SLIVER_GAP_DEG))
        # spread along the border but away from its middle, where spills and gaps sit
        for frac in SLIVER_POSITIONS[: plan.n_slivers]:
            piece = shapely.intersection(strip, line.interpolate(frac, normalized=True).buffer(SLIVER_RADIUS_DEG))
            piece = shapely.difference(piece, main)
            parts = [p for p in shapely.get_parts(piece) if p.geom_type == "Polygon"]
            if parts:
                slivers.append(max(parts, key=lambda p: p.area))
        truths["slivers_along"] = other
    main = shapely.make_valid(main)
    truths.update(
        outside_km2=round(_km2(shapely.difference(main, ref), equal_area_crs), 3),
        uncovered_km2=round(_km2(shapely.difference(ref, main), equal_area_crs), 3),
        sliver_count=len(slivers),
        sliver_km2=round(sum(_km2(s, equal_area_crs) for s in slivers), 4),
        sliver_each_km2=[round(_km2(s, equal_area_crs), 4) for s in slivers],
        reference_km2=round(_km2(ref, equal_area_crs), 1),
    )
    if plan.spill_into and not spill or plan.short_of and not short or plan.n_slivers and not along:
        log.info("%s: some planned border defects have no shared border in this window", iso3)
    return NationalBoundary(iso3, main, tuple(slivers), truths)
