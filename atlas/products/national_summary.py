"""One national version in numbers for its report: its footprint and its area per soil group or salinity class.

The report of the next version compares these areas ("what changed since version N"),
so they are stored in report.json. Read from the harmonized national copy (the
pipeline's own files); a rejected soil map, which has none, from what validation read
(``Reads.soil_maps``), so no file is read twice.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from rasterio.enums import Resampling
from rasterio.features import shapes

from atlas.config import Programme

log = logging.getLogger(__name__)

FOOTPRINT_PIXELS = 400  # the footprint of a raster is traced on a grid at most this many pixels wide
SOIL_SUFFIXES = {".gpkg", ".geojson", ".json", ".fgb", ".zip", ".shp"}


def _rsg_label(value) -> str:
    from checks.wrb import RSG_CODES, normalise_rsg

    match = normalise_rsg(None if value is None else str(value))
    if match.is_wrb:
        return f"{match.code} {RSG_CODES[match.code]}"
    return f"{match.original} (not a WRB group)" if match.original else "no soil group"


def soil_map_summary(gdf: gpd.GeoDataFrame, programme: Programme, column: str = "rsg1"):
    """(footprint in EPSG:4326, {"by": "soil group", "rows": [...]}) of a soil map."""
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    if gdf.empty or gdf.crs is None:
        return None, None
    geo = gdf.to_crs("EPSG:4326") if not gdf.crs.equals("EPSG:4326") else gdf
    w, s, e, n = geo.total_bounds
    # dissolved first (hairline gaps between units closed), then simplified: the outline of the whole map
    tolerance = max(e - w, n - s) / 600
    union = shapely.union_all(shapely.make_valid(geo.geometry.values))
    footprint = shapely.simplify(shapely.buffer(shapely.buffer(union, tolerance / 10), -tolerance / 10), tolerance)
    if column not in gdf.columns:  # e.g. a rejected map without rsg1: the column the WRB checks read
        from checks.wrb import guess_soil_column

        column = guess_soil_column(gdf)
        if column is None:
            return footprint, None
    area = gdf.geometry.to_crs(programme.equal_area_crs).area.to_numpy() / 1e6
    labels = [_rsg_label(v) for v in gdf[column].to_numpy()]
    totals: dict[str, float] = {}
    for label, km2 in zip(labels, area, strict=True):
        totals[label] = totals.get(label, 0.0) + float(km2)
    rows = [{"name": k, "area_km2": round(v, 3)} for k, v in sorted(totals.items(), key=lambda kv: -kv[1])]
    return footprint, {"by": "soil group", "rows": rows}


def _raster_footprint(path: Path, nodata_value):
    with rasterio.open(path) as src:
        scale = max(src.width, src.height) / FOOTPRINT_PIXELS
        shape = (max(int(src.height / max(scale, 1)), 1), max(int(src.width / max(scale, 1)), 1))
        data = src.read(1, out_shape=shape, resampling=Resampling.nearest)
        transform = src.transform @ src.transform.scale(src.width / shape[1], src.height / shape[0])
    valid = np.isfinite(data) & (data != nodata_value) if data.dtype.kind == "f" else data != nodata_value
    polys = [shapely.geometry.shape(g) for g, v in shapes(valid.astype("uint8"), mask=valid, transform=transform)
             if v == 1]
    return shapely.union_all(polys) if polys else None


def salinity_summary(layers: dict[tuple[str, str], Path], programme: Programme,
                     carried: dict[str, int] | None = None):
    """(footprint, {"by": "salinity class", "rows": [...]}) of harmonized salinity layers (EPSG:4326 grid).

    ``layers`` are the version's effective layers (its own and those it carries over); ``carried``
    ({"SAS_0-30": 1}) says which come from an earlier version. A row's name is the class and depth only, so
    versions compare row by row; where the classes come from is its ``source``.
    """
    from atlas.products.area_stats import row_areas_km2
    from atlas.products.salinity_classes import derive_with_programme

    sal = programme.salinity
    if not layers:
        return None, None
    first = sorted(layers.items())[0]
    footprint = _raster_footprint(first[1], sal.class_nodata if first[0][0] == sal.class_layer else
                                  sal.continuous_nodata)
    rows = []
    for depth in sal.depths:
        path = layers.get((sal.class_layer, depth))
        earlier = (carried or {}).get(f"{sal.class_layer}_{depth}")
        source = f"carried over from version {earlier}" if earlier else "delivered"
        with rasterio.Env():
            if path is not None:
                with rasterio.open(path) as src:
                    classes, transform, height = src.read(1), src.transform, src.height
            elif (("ECe", depth) in layers) and (("ESP", depth) in layers):
                with rasterio.open(layers[("ECe", depth)]) as a, rasterio.open(layers[("ESP", depth)]) as b:
                    if a.shape != b.shape:
                        continue
                    classes = derive_with_programme(a.read(1), b.read(1), sal)
                    transform, height = a.transform, a.height
                source = "derived from ECe and ESP"
            else:
                continue
        cell = np.broadcast_to(row_areas_km2(transform, height, programme.equal_area_crs)[:, None], classes.shape)
        for code in sorted(sal.classes):
            km2 = float(cell[classes == code].sum())
            if km2 > 0:
                rows.append({"name": f"{sal.display(code)}, {depth} cm", "area_km2": round(km2, 3),
                             "source": source})
    return footprint, ({"by": "salinity class", "rows": rows} if rows else None)


def national_summary(sub, outputs: dict, programme: Programme, reads=None, carried: dict[str, int] | None = None):
    """(footprint, areas) of one submission version, or (None, None) when nothing could be read; never raises.

    ``carried`` ({"SAS_0-30": 1}): layers this version keeps from earlier ones; their harmonized copies count in
    its areas, so the area table is the version's effective state, not only what it sent.
    """
    try:
        if sub.deliverable == "salinity_map":
            return salinity_summary(effective_layers(programme, sub.country, outputs.get("layers") or {}, carried),
                                    programme, carried)
        if sub.deliverable == "soil_map":
            if outputs.get("soil_map"):
                return soil_map_summary(gpd.read_file(outputs["soil_map"], layer="map_units"), programme)
            # a rejected map has no harmonized copy: use what validation read (each file is read once per run)
            read = getattr(reads, "soil_maps", None) or {}
            files = [Path(p) for p in sub.files if Path(p).suffix.lower() in SOIL_SUFFIXES]
            gdf = next((read[f] for f in files if read.get(f) is not None), None)
            if gdf is not None:
                return soil_map_summary(gdf, programme)
    except Exception:  # noqa: BLE001 - the summary only decorates the report; it must never cost the report
        log.warning("summary of %s could not be computed", getattr(sub, "key", sub), exc_info=True)
    return None, None


def effective_layers(programme: Programme, country: str, own: dict[tuple[str, str], Path],
                     carried: dict[str, int] | None) -> dict[tuple[str, str], Path]:
    """A version's own harmonized layers plus the harmonized copies of the layers it carries over."""
    from atlas import layout

    layers = dict(own)
    for key, version in (carried or {}).items():
        layer, _, depth = key.rpartition("_")
        path = layout.national_dir(programme.processed_dir, country, "salinity_map", version) / \
            programme.salinity.file_name(country, layer, depth)
        if (layer, depth) not in layers and path.is_file():
            layers[(layer, depth)] = path
    return layers
