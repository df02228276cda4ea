"""A STAC catalogue (pystac) of the regional products.

Each product becomes one item: its extent (bbox and footprint), grid,
SHA-256 checksum, the submissions it was built from and the run that built it.
A product written in several formats (the WRB map as GeoPackage and GeoParquet)
is one item with one data asset per file, so no file is left out of the catalogue.
Grid, checksum, sources and run are kept in ``atlas:`` properties rather than
the projection/file extensions, so the catalogue validates offline against the
core STAC schemas that ship with pystac.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pystac
import rasterio
from shapely.geometry import MultiPolygon, box, mapping

from atlas.intake.inbox import sha256_file

log = logging.getLogger(__name__)

CATALOG_ID = "asp-regional-products"
MEDIA_TYPES = {
    ".tif": pystac.MediaType.COG,
    ".gpkg": "application/geopackage+sqlite3",
    ".parquet": "application/vnd.apache.parquet",
    ".csv": "text/csv",
    ".json": pystac.MediaType.JSON,
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


# which file of a product describes its extent and grid, when it comes in several formats
PRIMARY_ORDER = (".tif", ".gpkg", ".parquet", ".geojson", ".fgb")
# asset key of a product's further formats (the primary file is the asset "data")
ASSET_KEYS = {".gpkg": "geopackage", ".parquet": "geoparquet", ".geojson": "geojson", ".fgb": "flatgeobuf"}


def _products(paths: list[Path]) -> list[tuple[str, list[Path]]]:
    """The files grouped by product (same folder and stem), primary format first; each product a unique id."""
    groups: dict[tuple[Path, str], list[Path]] = {}
    for path in sorted(Path(p) for p in paths):
        if path.suffix in PRIMARY_ORDER:
            groups.setdefault((path.parent, path.stem), []).append(path)
    out, taken = [], set()
    for (parent, stem), files in sorted(groups.items(), key=lambda kv: kv[0][1]):
        item_id = stem if stem not in taken else f"{parent.name}_{stem}"  # same name in two folders
        taken.add(item_id)
        out.append((item_id, sorted(files, key=lambda p: PRIMARY_ORDER.index(p.suffix))))
    return out


def _data_asset(path: Path) -> pystac.Asset:
    return pystac.Asset(href=str(path.resolve()), media_type=MEDIA_TYPES.get(path.suffix), roles=["data"],
                        extra_fields={"atlas:checksum_sha256": sha256_file(path),
                                      "atlas:size_bytes": path.stat().st_size})


def _footprint(west: float, south: float, east: float, north: float) -> tuple[list[float], dict]:
    """STAC bbox and geometry; a box running past 180 degrees is split at the antimeridian."""
    if east > 180.0:
        parts = MultiPolygon([box(west, south, 180.0, north), box(-180.0, south, east - 360.0, north)])
        return [west, south, east - 360.0, north], mapping(parts)
    return [west, south, east, north], mapping(box(west, south, east, north))


def _raster_info(path: Path) -> tuple[list[float], dict, dict]:
    with rasterio.open(path) as src:
        grid = {"crs": src.crs.to_string() if src.crs else None, "transform": list(src.transform)[:6],
                "shape": [src.height, src.width], "dtype": src.dtypes[0], "nodata": src.nodata,
                "band_description": src.descriptions[0], "unit": src.units[0]}
        west, south, east, north = src.bounds
    bbox, geom = _footprint(west, south, east, north)
    return bbox, geom, grid


def _vector_info(path: Path) -> tuple[list[float], dict, dict]:
    import pyogrio

    # the layer we mean: the map units (a GeoPackage product holds its logs in further layers)
    layers = [name for name, _ in pyogrio.list_layers(path)] if path.suffix != ".parquet" else []
    layer = "map_units" if "map_units" in layers else (layers[0] if layers else None)
    info = pyogrio.read_info(path, layer=layer) if path.suffix != ".parquet" else None
    if info is None:
        import geopandas as gpd

        gdf = gpd.read_parquet(path)
        crs, bounds, count = gdf.crs.to_string() if gdf.crs else None, gdf.total_bounds, len(gdf)
    else:
        crs, bounds, count = info["crs"], info["total_bounds"], info["features"]
    bbox, geom = _footprint(*map(float, bounds))
    return bbox, geom, {"crs": crs, "features": int(count)}


def _item_sources(files: list[Path], sources: list[dict]) -> list[dict]:
    """The sources that name one of this product's files in ``products`` (or all that name none)."""
    names = {p.name for p in files}
    out = []
    for s in sources:
        entry = {k: v for k, v in s.items() if k != "products"}
        if (not s.get("products") or names & set(s["products"])) and entry not in out:  # one per format
            out.append(entry)
    return out


def _table_item(key: str, files: list[Path], sources: list[dict], run_id: str, now: dt.datetime) -> pystac.Item:
    """A regional table as a STAC item: no footprint (rows per country, not a map), every format an asset
    (Parquet first, with its checksum), the meeting summary beside it, the versions merged as sources."""
    item = pystac.Item(id=key, geometry=None, bbox=None, datetime=now,
                       properties={"atlas:run_id": run_id, "atlas:sources": sources, "atlas:kind": "table"})
    order = {".parquet": 0, ".csv": 1, ".xlsx": 2}
    for file in sorted(files, key=lambda p: (order.get(p.suffix, 9), p.name)):
        item.add_asset(f"{file.stem}{file.suffix.replace('.', '_')}", _data_asset(file))
    for extra in sorted(files[0].parent.parent.glob("meeting_summary.*")):
        item.add_asset(f"meeting_summary{extra.suffix.replace('.', '_')}", pystac.Asset(
            href=str(extra.resolve()), media_type="text/html" if extra.suffix == ".html" else "text/markdown",
            roles=["overview"]))
    return item


def build_catalog(products: list[Path], sources: list[dict], run_id: str, out_dir: Path,
                  tables: dict[str, tuple[list[Path], list[dict]]] | None = None) -> Path:
    """Write a self-contained STAC catalogue of the products to out_dir/catalog.json, validated; returns its path.

    ``tables``: {table deliverable: (its files, its sources)}, the regional tables of the release.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    catalog = pystac.Catalog(id=CATALOG_ID, description="Regional products of the Asian Soil Partnership "
                             "(GSSmap salinity mosaics, Soil Atlas of Asia, regional tables)",
                             title="ASP regional products")
    # border tables and legends are not products: they travel as assets of the products they describe
    for item_id, files in _products(products):
        path = files[0]
        bbox, geom, grid = _raster_info(path) if path.suffix == ".tif" else _vector_info(path)
        item = pystac.Item(
            id=item_id, geometry=geom, bbox=bbox, datetime=now,
            properties={"atlas:grid": grid, "atlas:run_id": run_id, "atlas:sources": _item_sources(files, sources)},
        )
        for i, file in enumerate(files):
            item.add_asset("data" if i == 0 else ASSET_KEYS.get(file.suffix, file.suffix[1:]), _data_asset(file))
        for extra in sorted(path.parent.glob("*legend*")):
            item.add_asset(extra.stem, pystac.Asset(href=str(extra.resolve()),
                                                    media_type=MEDIA_TYPES.get(extra.suffix), roles=["metadata"]))
        catalog.add_item(item)
    for key, (files, table_sources) in sorted((tables or {}).items()):
        catalog.add_item(_table_item(key, files, table_sources, run_id, now))
    catalog.normalize_hrefs(str(out_dir))
    catalog.make_all_asset_hrefs_relative()  # the catalogue moves with the products
    catalog.validate_all()
    catalog.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
    log.info("STAC catalogue with %d items at %s", len(list(catalog.get_items())), out_dir / "catalog.json")
    return out_dir / "catalog.json"
