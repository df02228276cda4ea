"""Checks on WRB soil maps: CRS, geometry, fields, and coverage of the national boundary."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from atlas.config import Programme
from atlas.finding import Finding, Location, Severity
from atlas.wording import be, have, plural
from checks.crosswalk import Correlation, Crosswalk, correlate, read_crosswalk
from checks.registry import Hit, check
from checks.wrb import classify_values, guess_soil_column
from checks.wrb_columns import restore_field_names

PRODUCTS = ("soil_map",)
EQUAL_AREA = "ESRI:54034"
SHARE_WARN = 0.01  # gaps or spill above 1 % of the area are warnings, below it info
MAX_LISTED = 20  # per-feature findings beyond this are summarised
OUTSIDE_SHARE = 0.01  # a map with less than this share inside the territory lies outside it


@dataclass
class VectorContext:
    """One soil map opened once, with what several checks share."""

    path: Path
    gdf: gpd.GeoDataFrame | None
    programme: Programme
    country: str | None = None
    boundary: object | None = None  # shapely geometry in EPSG:4326
    layer: str | None = None
    soil_column: str | None = None
    soil_classes: pd.DataFrame = field(default_factory=pd.DataFrame)
    soil_classes_per_feature: pd.Series = field(default_factory=pd.Series)
    feature_ids: np.ndarray = field(default_factory=lambda: np.array([]))
    valid_ea: np.ndarray | None = None  # valid geometries in the equal-area CRS
    areas_km2: np.ndarray | None = None  # area of each feature (equal-area CRS); NaN where not a polygon
    renamed_fields: list = field(default_factory=list)  # (cut, full) shapefile field names restored
    crosswalk: Crosswalk | None = None  # the country's crosswalk.csv sent with the map
    correlation: Correlation | None = None  # what the crosswalk converted, in which column

    @property
    def name(self) -> str:
        return self.path.name

    def loc(self, **kw) -> Location:
        return Location(file=self.name, layer=self.layer, **kw)

    @cached_property
    def union_ea(self):
        """The union of the map's valid polygons (equal-area CRS), computed once for the coverage checks."""
        return shapely.union_all(self.valid_ea[~shapely.is_missing(self.valid_ea)])

    @cached_property
    def boundary_ea(self):
        """The country's reference boundary in the equal-area CRS, or None when not known."""
        if self.valid_ea is None or self.boundary is None:
            return None
        return gpd.GeoSeries([self.boundary], crs="EPSG:4326").to_crs(EQUAL_AREA).make_valid().values[0]


def vector_context(path: Path, gdf: gpd.GeoDataFrame | None, programme: Programme, country: str | None,
                   boundary, crosswalk: Path | None = None) -> VectorContext:
    """Prepare the shared values once: feature ids, the soil column and its classes, valid equal-area geometry.

    Shapefile-cut field names are restored, and a ``crosswalk.csv`` sent with the map converts its legacy
    classes before the WRB checks look at them (both recorded as findings).
    """
    ctx = VectorContext(Path(path), gdf, programme, country, boundary)
    if gdf is None:
        return ctx
    ctx.layer = gdf.attrs.get("layer")
    gdf, ctx.renamed_fields = restore_field_names(gdf, (*programme.soil_required_fields,
                                                        *programme.soil_optional_fields))
    if crosswalk is not None:
        ctx.crosswalk = read_crosswalk(crosswalk)
        gdf, ctx.correlation = correlate(gdf, ctx.crosswalk)
    ctx.gdf = gdf
    ctx.feature_ids = (gdf["unit_id"].astype(str).to_numpy() if "unit_id" in gdf.columns
                       else np.asarray(gdf.index).astype(str))
    ctx.soil_column = "rsg1" if "rsg1" in gdf.columns else guess_soil_column(gdf)
    if ctx.soil_column:
        ctx.soil_classes = classify_values(gdf[ctx.soil_column])
        kinds = dict(zip(ctx.soil_classes["value"], ctx.soil_classes["kind"], strict=True))
        ctx.soil_classes_per_feature = gdf[ctx.soil_column].map(kinds).fillna("missing")
    if gdf.crs is not None and len(gdf) and _plausible(gdf):
        geoms = gdf.geometry.values
        polys = shapely.get_type_id(geoms)
        keep = np.isin(polys, [3, 6]) & ~shapely.is_empty(geoms)
        valid = np.where(keep, shapely.make_valid(geoms), None)
        ctx.valid_ea = gpd.GeoSeries(valid, crs=gdf.crs).to_crs(EQUAL_AREA).values
        ctx.areas_km2 = np.where(keep, shapely.area(ctx.valid_ea) / 1e6, np.nan)
    return ctx


def _plausible(gdf: gpd.GeoDataFrame) -> bool:
    if not gdf.crs.is_geographic:
        return True
    west, south, east, north = gdf.total_bounds
    return west >= -360 and east <= 360 and south >= -90.5 and north <= 90.5


def _lonlat(crs, x: float, y: float) -> tuple[float, float]:
    if crs is None:
        return x, y
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
    return float(lon), float(lat)


def _has_map(ctx: VectorContext) -> bool:
    return ctx.gdf is not None and len(ctx.gdf) > 0


@check("vector.empty", Severity.ERROR, "vector", PRODUCTS, "The soil map has no features.",
       "export the map with its polygons")
def check_empty(ctx):
    if ctx.gdf is not None and len(ctx.gdf) == 0:
        yield Hit("the map has no features", ctx.loc(), observed=0)


@check("vector.crs_missing", Severity.ERROR, "vector", PRODUCTS, "No coordinate reference system is declared.",
       "include the .prj with the shapefile or export with the CRS set (EPSG:4326 preferred)")
def check_crs_missing(ctx):
    if _has_map(ctx) and ctx.gdf.crs is None:
        yield Hit("no CRS declared (shapefile without .prj?)", ctx.loc(), expected="a declared CRS")


@check("vector.crs_identity", Severity.INFO, "vector", PRODUCTS, "The declared CRS and its datum, for the record.",
       "nothing to do")
def check_crs_identity(ctx):
    if _has_map(ctx) and ctx.gdf.crs is not None:
        crs = CRS.from_user_input(ctx.gdf.crs)
        epsg = crs.to_epsg()
        datum = crs.datum.name if crs.datum else "unknown"
        ident = f"EPSG:{epsg}" if epsg else (crs.to_string() if crs.to_authority() else "custom WKT (no EPSG code)")
        yield Hit(f"CRS {ident} ({crs.name}), datum {datum}", ctx.loc(), observed={"crs": ident, "datum": datum})


@check("vector.crs_not_geographic", Severity.INFO, "vector", PRODUCTS,
       "The map is in a projected CRS; the processed copy is reprojected to EPSG:4326.",
       "nothing to do; check that the CRS is the one the map was drawn in")
def check_crs_projected(ctx):
    if _has_map(ctx) and ctx.gdf.crs is not None and not ctx.gdf.crs.is_geographic:
        yield Hit(f"map is in projected CRS {ctx.gdf.crs.name}; reprojected to {ctx.programme.crs} when harmonized",
                  ctx.loc(), observed=ctx.gdf.crs.to_string(), expected=ctx.programme.crs)


@check("vector.crs_implausible", Severity.ERROR, "vector", PRODUCTS,
       "Coordinates do not fit the declared geographic CRS (they look projected).",
       "declare the CRS the coordinates are really in (e.g. the UTM zone) and resubmit")
def check_crs_implausible(ctx):
    if _has_map(ctx) and ctx.gdf.crs is not None and not _plausible(ctx.gdf):
        yield Hit(f"bounds {np.round(ctx.gdf.total_bounds, 1).tolist()} are not degrees", ctx.loc(),
                  observed=ctx.gdf.total_bounds.tolist(), expected="longitude -180..180, latitude -90..90")


@check("vector.geometry_type", Severity.ERROR, "vector", PRODUCTS, "Features are not polygons or multipolygons.",
       "a soil map is made of polygons; convert or remove the other features")
def check_geometry_type(ctx):
    if not _has_map(ctx):
        return
    types = ctx.gdf.geometry.geom_type
    bad = ~types.isin(["Polygon", "MultiPolygon"]) & types.notna()
    kinds = {t.removeprefix("Multi").replace("LineString", "line").replace("LinearRing", "line").lower()
             for t in set(types[bad])}
    if bad.all() and len(kinds) == 1 and kinds <= {"point", "line"}:
        kind = kinds.pop()
        yield Hit(f"this is {kind} data ({len(types)} {kind} features); the soil map must be polygons",
                  ctx.loc(), observed=sorted(set(types)), expected=["Polygon", "MultiPolygon"])
        return
    if bad.any():
        yield Hit(f"{plural(int(bad.sum()), 'feature')} {be(int(bad.sum()))} {sorted(set(types[bad]))}", ctx.loc(
            feature=",".join(ctx.feature_ids[bad.to_numpy()][:5])), observed=sorted(set(types[bad])),
            expected=["Polygon", "MultiPolygon"])


@check("vector.geometry_empty", Severity.WARNING, "vector", PRODUCTS, "Features with empty or missing geometry.",
       "remove the features without geometry or draw them")
def check_geometry_empty(ctx):
    if not _has_map(ctx):
        return
    geoms = ctx.gdf.geometry.values
    bad = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if bad.any():
        yield Hit(f"{plural(int(bad.sum()), 'feature')} {have(int(bad.sum()))} no geometry", ctx.loc(
            feature=",".join(ctx.feature_ids[bad][:10])), observed=int(bad.sum()))


_POINT = re.compile(r"\[\s*(-?[\d.eE+-]+)\s+(-?[\d.eE+-]+)")


@check("vector.geometry_invalid", Severity.WARNING, "vector", PRODUCTS,
       "Invalid geometries (self-intersections, bad rings); repaired with make_valid in the processed copy.",
       "fix the polygons at source (e.g. QGIS 'Fix geometries'); the reported point is where the ring crosses itself")
def check_geometry_invalid(ctx):
    if not _has_map(ctx):
        return
    geoms = ctx.gdf.geometry.values
    bad = np.flatnonzero(~shapely.is_valid(geoms) & ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms))
    for i in bad[:MAX_LISTED]:
        reason = shapely.is_valid_reason(geoms[i])
        lon = lat = None
        if m := _POINT.search(reason):
            lon, lat = _lonlat(ctx.gdf.crs, float(m.group(1)), float(m.group(2)))
        yield Hit(f"feature {ctx.feature_ids[i]}: {reason}", ctx.loc(feature=str(ctx.feature_ids[i]), lon=lon,
                                                                        lat=lat), observed=reason, expected="valid")
    if len(bad) > MAX_LISTED:
        yield Hit(f"... and {len(bad) - MAX_LISTED} more invalid geometries", ctx.loc(), observed=len(bad))


@check("vector.geometry_duplicate", Severity.WARNING, "vector", PRODUCTS, "Identical geometries appear twice.",
       "remove the duplicated polygons")
def check_duplicates(ctx):
    if not _has_map(ctx):
        return
    geoms = ctx.gdf.geometry.values
    present = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    wkb = pd.Series(shapely.to_wkb(shapely.normalize(geoms[present])))
    dup = wkb.duplicated(keep=False).to_numpy()
    if dup.any():
        ids = ctx.feature_ids[present][dup]
        yield Hit(f"{int(dup.sum())} features share a geometry with another feature", ctx.loc(
            feature=",".join(ids[:10])), observed=int(dup.sum()), expected=0)


def polygonal_part(geoms: np.ndarray) -> np.ndarray:
    """Keep only the polygonal part of repaired geometries (make_valid may add lines or points)."""
    parts, index = shapely.get_parts(geoms, return_index=True)
    is_poly = shapely.get_type_id(parts) == 3
    parts, index = parts[is_poly], index[is_poly]
    out = np.array([shapely.MultiPolygon()] * len(geoms), dtype=object)
    if len(parts):
        present, dense = np.unique(index, return_inverse=True)
        out[present] = shapely.multipolygons(parts, indices=dense)
    return out


OVERLAP_NOISE_KM2 = 1e-6  # 1 m²: smaller overlaps are floating-point noise along shared edges (one rule for
# validation and harmonization, docs/HARMONIZATION.md)


def overlap_pairs(geoms: np.ndarray, area_fn) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, overlap pieces, km²) of every pair of units whose interiors meet over more than 1 m².

    'intersects' minus 'touches': interiors meet ('overlaps' alone misses a unit drawn inside another).
    ``area_fn(geoms) -> km²``. Validation counts these pairs, and harmonization resolves the same pairs.
    """
    geoms = np.asarray(geoms, dtype=object)
    present = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    none = (np.zeros(0, dtype=int), np.zeros(0, dtype=int), np.zeros(0, dtype=object), np.zeros(0))
    if present.sum() < 2:
        return none
    tree = shapely.STRtree(np.where(present, geoms, shapely.Polygon()))
    i, j = tree.query(geoms)  # bounding boxes that meet
    keep = (i < j) & present[i] & present[j]
    i, j = i[keep], j[keep]
    # interiors can meet only where the boxes overlap with some area: units that share an edge (most candidate
    # pairs of a tiled map) are dropped by arithmetic before any geometry predicate
    b = shapely.bounds(geoms)
    boxes = ((np.minimum(b[i, 2], b[j, 2]) > np.maximum(b[i, 0], b[j, 0]))
             & (np.minimum(b[i, 3], b[j, 3]) > np.maximum(b[i, 1], b[j, 1])))
    i, j = i[boxes], j[boxes]
    inner = shapely.intersects(geoms[i], geoms[j]) & ~shapely.touches(geoms[i], geoms[j])
    i, j = i[inner], j[inner]
    if not len(i):
        return none
    pieces = polygonal_part(shapely.intersection(geoms[i], geoms[j]))
    km2 = np.asarray(area_fn(pieces), dtype=float)
    real = km2 > OVERLAP_NOISE_KM2
    return i[real], j[real], pieces[real], km2[real]


@check("vector.overlap", Severity.WARNING, "vector", PRODUCTS,
       "Map units overlap within the national map (pairs whose overlap exceeds 1 m²).",
       "remove the overlaps so every place belongs to one map unit")
def check_overlap(ctx):
    if ctx.valid_ea is None:
        return
    left, right, pieces, areas = overlap_pairs(ctx.valid_ea, lambda g: shapely.area(g) / 1e6)
    if not len(left):
        return
    worst = int(np.argmax(areas))
    pt = shapely.point_on_surface(pieces[worst])
    lon, lat = _lonlat(EQUAL_AREA, pt.x, pt.y)
    pairs = [f"{ctx.feature_ids[a]} and {ctx.feature_ids[b]}" for a, b in zip(left[:5], right[:5], strict=True)]
    yield Hit(f"{plural(len(left), 'pair')} of units overlap, {areas.sum():,.3f} km² in all "
              f"(largest {areas[worst]:.3f} km²; overlaps under 1 m² are not counted)",
              ctx.loc(feature=",".join(pairs), lon=lon, lat=lat),
              observed={"pairs": int(len(left)), "area_km2": round(float(areas.sum()), 4)}, expected=0)


@check("vector.sliver", Severity.INFO, "vector", PRODUCTS,
       "Polygons smaller than the sliver size; merged into a neighbour when harmonized.",
       "check they are not digitising leftovers")
def check_slivers(ctx):
    if ctx.valid_ea is None:
        return
    areas = shapely.area(ctx.valid_ea) / 1e6
    small = np.nan_to_num(areas, nan=np.inf) < ctx.programme.sliver_max_km2
    if small.any():
        yield Hit(f"{plural(int(small.sum()), 'polygon')} smaller than {ctx.programme.sliver_max_km2:g} km²",
                  ctx.loc(feature=",".join(ctx.feature_ids[small][:10])),
                  observed=int(small.sum()), expected=f">= {ctx.programme.sliver_max_km2:g} km²")


@check("vector.field_name_truncated", Severity.INFO, "vector", PRODUCTS,
       "Field names cut to 10 characters by the shapefile format, recognised and mapped onto the full names.",
       "nothing to do; GeoPackage keeps full field names")
def check_truncated(ctx):
    if ctx.renamed_fields:
        pairs = ", ".join(f"{cut} -> {full}" for cut, full in ctx.renamed_fields)
        yield Hit(f"shapefile field names recognised: {pairs}", ctx.loc(), observed=dict(ctx.renamed_fields))


@check("vector.field_missing", Severity.ERROR, "vector", PRODUCTS, "A required attribute (unit_id, rsg1, share1) "
       "is missing.", "add the field with that exact name: unit_id (map unit identifier), rsg1 (dominant Reference "
       "Soil Group, WRB code or name) and share1 (its share of the unit, %)")
def check_fields(ctx):
    if ctx.gdf is None:
        return
    for name in ctx.programme.soil_required_fields:
        if name == "rsg1" and ctx.soil_column is None and _has_map(ctx):
            continue  # said by wrb.no_soil_classes, naming the column it looked at
        if name not in ctx.gdf.columns:
            guess = f"; soil classes were read from column {ctx.soil_column!r}" if (
                name == "rsg1" and ctx.soil_column) else ""
            yield Hit(f"required field {name!r} is missing{guess}", ctx.loc(),
                      observed=[c for c in ctx.gdf.columns if c != "geometry"], expected=name)


def _area_check(ctx, piece, total_km2: float, what: str):
    area = float(shapely.area(piece)) / 1e6 if piece is not None and not piece.is_empty else 0.0
    if area < ctx.programme.sliver_max_km2:
        return
    share = area / total_km2 if total_km2 else 0.0
    pt = shapely.point_on_surface(max(getattr(piece, "geoms", [piece]), key=lambda g: g.area))
    lon, lat = _lonlat(EQUAL_AREA, pt.x, pt.y)
    pct = "under 0.1%" if 0 < share < 0.001 else f"{share:.1%}"  # never "0.0%" for an area that exists
    yield Hit(f"{area:,.1f} km² ({pct}) {what}", ctx.loc(lon=lon, lat=lat),
              observed={"area_km2": round(area, 2), "share": round(share, 4)}, expected=0,
              severity=None if share >= SHARE_WARN else Severity.INFO)


def _covers_nothing(ctx) -> bool:
    """No polygon to measure, or a map wholly outside the territory (said once by vector.outside_territory)."""
    if ctx.valid_ea is None or ctx.union_ea.is_empty:
        return True
    boundary = ctx.boundary_ea
    return boundary is not None and _inside_share(ctx) < OUTSIDE_SHARE


def _inside_share(ctx) -> float:
    union = ctx.union_ea
    return float(shapely.area(shapely.intersection(union, ctx.boundary_ea)) / union.area) if union.area else 0.0


@check("vector.outside_territory", Severity.ERROR, "vector", PRODUCTS,
       "The map lies outside the member's territory (less than 1 % of it inside the reference boundary).",
       "check that the map is the member's own (and its CRS): it should cover the country")
def check_outside(ctx):
    if ctx.valid_ea is None or ctx.boundary_ea is None or ctx.union_ea.is_empty:
        return
    share = _inside_share(ctx)
    if share < OUTSIDE_SHARE:
        pt = shapely.point_on_surface(ctx.union_ea)
        lon, lat = _lonlat(EQUAL_AREA, pt.x, pt.y)
        west, south, east, north = gpd.GeoSeries([ctx.union_ea], crs=EQUAL_AREA).to_crs("EPSG:4326").total_bounds
        yield Hit(f"the map lies outside {ctx.country}'s territory: {share:.1%} of its "
                  f"{ctx.union_ea.area / 1e6:,.0f} km² falls inside the reference boundary (map spans lon "
                  f"{west:.2f}..{east:.2f}, lat {south:.2f}..{north:.2f})", ctx.loc(lon=lon, lat=lat),
                  observed={"inside_share": round(share, 4)}, expected=f"the territory of {ctx.country}")


@check("vector.coverage_gap", Severity.WARNING, "vector", PRODUCTS,
       "Part of the country's reference boundary is not covered by the map (km²).",
       "extend the map to the whole country, or explain the gap (e.g. disputed area)")
def check_gaps(ctx):
    boundary = ctx.boundary_ea
    if boundary is None or _covers_nothing(ctx):
        return
    yield from _area_check(ctx, shapely.difference(boundary, ctx.union_ea), boundary.area / 1e6,
                           f"of {ctx.country}'s reference boundary is not covered by the map")


@check("vector.spill", Severity.WARNING, "vector", PRODUCTS,
       "Part of the map lies beyond the country's reference boundary (km²); clipped when harmonized.",
       "clip the map to the national border agreed with the neighbours")
def check_spill(ctx):
    boundary = ctx.boundary_ea
    if boundary is None or _covers_nothing(ctx):
        return
    yield from _area_check(ctx, shapely.difference(ctx.union_ea, boundary), ctx.union_ea.area / 1e6,
                           f"of the map lies outside {ctx.country}'s reference boundary")


def soil_map_findings(path: Path, programme: Programme, country: str | None, boundary,
                      crosswalk: Path | None = None, reads=None) -> list[Finding]:
    """Read a soil map and run every vector and WRB check on it (``crosswalk``: the country's crosswalk.csv).

    The map as read is kept in ``reads`` for harmonization.
    """
    from atlas.intake.containment import Limits
    from atlas.intake.readers import read_soil_map
    from checks.registry import run_checks

    gdf, findings = read_soil_map(path, reads.limits if reads else Limits.from_programme(programme))
    if reads is not None:
        reads.soil_maps[Path(path)] = gdf
    ctx = vector_context(path, gdf, programme, country, boundary, crosswalk)
    return findings + run_checks("vector", "soil_map", ctx)
