"""Regional salinity mosaics: one COG per layer and depth, provenance and legend.

Each pixel of the region takes the value of the country that owns it in the
country raster (atlas.borders.raster_rules); nothing is averaged across a border.
The region is processed block by block (1024 x 1024 pixels): every block is
rasterized, filled from the national rasters and written to a tiled temporary
GeoTIFF, which GDAL's COG driver then turns into a Cloud Optimized GeoTIFF
with internal overviews. Peak memory depends on the block size, not on the
region's size.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio
import rasterio.errors
import rasterio.shutil
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.windows import Window

from atlas.atomic import publish, write_atomic, write_text_atomic
from atlas.borders.raster_rules import country_raster, country_shapes, index_dtype, precedence
from atlas.cells import safe_frame
from atlas.errors import GridError
from atlas.finding import Finding, Location, Severity
from atlas.grid import Grid
from atlas.products.raster_style import (
    colormap,
    country_index_entries,
    provenance_entries,
    salinity_entries,
    write_class_style,
)
from atlas.products.salinity_classes import derive_with_programme

log = logging.getLogger(__name__)

BLOCK = 1024
PROVENANCE_NODATA = 0
CLASS_LEGENDS = "class_legends.json"  # beside a national copy: its class codes mapped onto the programme legend
# GDAL_OVR_CHUNKYSIZE: overviews are computed in chunks of this many full-width rows (default: the tile
# height); with 128-row temporary tiles a chunk of a 20,000-pixel-wide region stays near 10 MB.
# GDAL_CACHEMAX in bytes: rasterio.Env passes it to GDALSetCacheMax64 (32 would be a 32-byte cache)
GDAL_ENV = {"GDAL_CACHEMAX": 32 * 2**20, "GDAL_NUM_THREADS": 2, "GDAL_OVR_CHUNKYSIZE": 128}
TEMP_TILE = (512, 128)  # width, height of the temporary tiles
# DEFLATE level of Float32 products: on noisy Float32 predictions level 1 was measured 3-5x faster than the
# default 6 for files under 1 % larger (bench/bench_mosaic.py); Byte products compress well and cheaply at 6
FLOAT_DEFLATE_LEVEL = 1


@dataclass(frozen=True)
class MosaicResult:
    """What build_mosaics wrote: product paths, who contributed to each layer, findings."""

    paths: tuple[Path, ...]  # every file written
    products: dict[str, Path]  # product key (e.g. "ECe_0-30", "SAS_derived_0-30", "provenance") -> path
    used: dict[str, tuple[tuple[str, int], ...]]  # product key -> ((iso3, version), ...)
    grid: Grid
    findings: tuple[Finding, ...] = field(default=())


@dataclass(frozen=True)
class _Source:
    iso3: str
    index: int  # 1-based index in the country raster's codes
    path: Path
    window: Window  # where the national raster sits in the region grid


def product_name(key: str) -> str:
    return f"GSSmap_{key}.tif"


def _region_boundaries(boundaries, codes: list[str], grid: Grid):
    """Reference boundaries clipped to the region (and shifted past the antimeridian where needed)."""
    import geopandas as gpd

    geoms, idx = country_shapes(boundaries, codes, grid)
    return gpd.GeoDataFrame({"iso3": [codes[i - 1] for i in idx]}, geometry=list(geoms), crs=boundaries.crs)


def _locate(path: Path, iso3: str, index: int, grid: Grid, layer: str) -> tuple[_Source | None, Finding | None]:
    """Where a harmonized national raster sits in the region grid, or a finding why it cannot be used."""
    loc = Location(file=Path(path).name, layer=layer)
    try:
        with rasterio.open(path) as src:
            national = Grid(grid.crs, src.transform, src.width, src.height)
            if src.crs is None or src.crs != CRS.from_string(grid.crs):
                raise GridError(f"CRS {src.crs} is not {grid.crs}")
            window = grid.window_of(national)
    except (rasterio.errors.RasterioError, GridError, OSError) as exc:
        return None, Finding("mosaic.input_unusable", Severity.ERROR,
                             f"{Path(path).name}: not usable for the regional mosaic: {exc}", loc,
                             hint="harmonize the layer first (atlas.borders.raster)")
    overlap = window.intersection(Window(0, 0, grid.width, grid.height)) if _intersects(window, grid) else None
    if overlap is None:
        return None, Finding("mosaic.outside_region", Severity.WARNING,
                             f"{Path(path).name}: lies outside the region {grid.bounds}; not used", loc)
    return _Source(iso3, index, Path(path), window), None


def _intersects(window: Window, grid: Grid) -> bool:
    return (window.col_off < grid.width and window.row_off < grid.height
            and window.col_off + window.width > 0 and window.row_off + window.height > 0)


def _block_windows(grid: Grid, size: int):
    for row in range(0, grid.height, size):
        for col in range(0, grid.width, size):
            yield Window(col, row, min(size, grid.width - col), min(size, grid.height - row))


def _overlap(block: Window, source: Window) -> tuple[tuple[slice, slice], Window] | None:
    """(slices into the block array, window to read from the national raster) where they overlap."""
    c0 = max(block.col_off, source.col_off)
    r0 = max(block.row_off, source.row_off)
    c1 = min(block.col_off + block.width, source.col_off + source.width)
    r1 = min(block.row_off + block.height, source.row_off + source.height)
    if c1 <= c0 or r1 <= r0:
        return None
    sl = (slice(r0 - block.row_off, r1 - block.row_off), slice(c0 - block.col_off, c1 - block.col_off))
    return sl, Window(c0 - source.col_off, r0 - source.row_off, c1 - c0, r1 - r0)


def _shared_window(block: Window, a: Window, b: Window) -> Window | None:
    """The part of ``block`` (region pixels) covered by both national windows ``a`` and ``b``."""
    c0 = max(block.col_off, a.col_off, b.col_off)
    r0 = max(block.row_off, a.row_off, b.row_off)
    c1 = min(block.col_off + block.width, a.col_off + a.width, b.col_off + b.width)
    r1 = min(block.row_off + block.height, a.row_off + a.height, b.row_off + b.height)
    if c1 <= c0 or r1 <= r0:
        return None
    return Window(c0, r0, c1 - c0, r1 - r0)


def _source_window(region_win: Window, source: Window) -> Window:
    """A window in region pixels as a window of the national raster placed at ``source``."""
    return Window(region_win.col_off - source.col_off, region_win.row_off - source.row_off,
                  region_win.width, region_win.height)


def _part(values: np.ndarray, overlap, shared: Window, block: Window) -> np.ndarray:
    """The ``shared`` part of values read for ``overlap`` (slices into the block, national window)."""
    rows, cols = overlap[0]
    r0 = shared.row_off - block.row_off - rows.start
    c0 = shared.col_off - block.col_off - cols.start
    return values[r0:r0 + shared.height, c0:c0 + shared.width]


def _ph_part(ph_src: _Source | None, shared: Window, read, nodata: float) -> np.ndarray | None:
    """pH over ``shared`` (region pixels where ECe and ESP both exist), nodata where pH does not reach.

    pH only adds the FAO alkaline test; its extent may differ from ECe/ESP's (another version, a row more
    or less): it is read wherever it overlaps, so no pixel loses the test for a mismatch elsewhere.
    """
    if ph_src is None:
        return None
    part = _shared_window(shared, ph_src.window, shared)
    if part is None:
        return None
    ph = np.full((shared.height, shared.width), nodata, dtype="float32")
    r0, c0 = part.row_off - shared.row_off, part.col_off - shared.col_off
    ph[r0:r0 + part.height, c0:c0 + part.width] = read(ph_src, _source_window(part, ph_src.window))
    return ph


def _temp_profile(grid: Grid, dtype: str, nodata) -> dict:
    # uncompressed tiles: the temporary file is read once by the COG driver, compression would only cost time
    return {"driver": "GTiff", "dtype": dtype, "nodata": nodata, "count": 1, "width": grid.width,
            "height": grid.height, "crs": CRS.from_string(grid.crs), "transform": grid.transform,
            "tiled": True, "blockxsize": TEMP_TILE[0], "blockysize": TEMP_TILE[1], "BIGTIFF": "IF_SAFER"}


def overview_factors(width: int, height: int, tile: int = 512) -> list[int]:
    """Powers of two until the smallest overview fits in one tile (what the COG driver's AUTO does)."""
    factors, f = [], 2
    while max(width, height) / (f // 2) > tile:
        factors.append(f)
        f *= 2
    return factors


def to_cog(src_path: Path, dst_path: Path, resampling: str, deflate_level: int = 6) -> Path:
    """Tiled GeoTIFF -> COG (DEFLATE, 512 tiles, internal overviews) with GDAL's COG driver.

    Overviews are built first inside the uncompressed temporary file and reused by the driver:
    measured faster and lighter than OVERVIEWS=AUTO, which writes them compressed to a second
    temporary file before copying.
    """
    with rasterio.Env(**GDAL_ENV):
        with rasterio.open(src_path, "r+") as tmp:
            factors = overview_factors(tmp.width, tmp.height)
            if factors:
                tmp.build_overviews(factors, Resampling[resampling.lower()])
        rasterio.shutil.copy(src_path, dst_path, driver="COG", COMPRESS="DEFLATE", LEVEL=deflate_level,
                             BLOCKSIZE=512, OVERVIEWS="FORCE_USE_EXISTING", NUM_THREADS=2, BIGTIFF="IF_SAFER")
    return dst_path


def cog_job(job: tuple[Path, Path, str, int]) -> Path:
    """``to_cog`` over one (source, destination, resampling, deflate level) tuple: a picklable unit of work."""
    return to_cog(*job)


def build_mosaics(
    inputs: dict[str, dict[tuple[str, str], Path]],
    versions: dict[str, int],
    programme,
    out_dir: Path,
    boundaries,
    *,
    block: int = BLOCK,
    float_deflate_level: int = FLOAT_DEFLATE_LEVEL,
    map_fn: Callable = map,
    layer_versions: dict[str, dict[str, int]] | None = None,
) -> MosaicResult:
    """Regional COGs of every salinity layer and depth, derived SAS, provenance raster and legend.

    ``map_fn(func, items)`` runs the per-product COG conversions: the built-in ``map`` here, a
    Dask client's map when the flow runs on a cluster (the work folder must be on a shared file system).
    ``layer_versions`` ({iso3: {"ECe_0-30": version}}) names the version each layer comes from where a
    partial delivery carries layers over from an earlier one; by default every layer is of ``versions``.
    """
    layer_versions = layer_versions or {}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sal = programme.salinity
    grid = Grid.covering(programme.region_bounds, programme.resolution_deg, programme.crs)
    findings: list[Finding] = []
    if boundaries.crs is not None and CRS.from_user_input(boundaries.crs) != CRS.from_string(grid.crs):
        boundaries = boundaries.to_crs(grid.crs)
    known = {c for c in boundaries["iso3"] if isinstance(c, str) and c}
    for iso3 in sorted(set(inputs) - known):
        findings.append(Finding("mosaic.no_boundary", Severity.ERROR,
                                f"{iso3}: no polygon in the reference boundaries; its rasters were not mosaicked",
                                Location(feature=iso3), hint="add the country to data/reference/boundaries.gpkg"))
    region_gdf = _region_boundaries(boundaries, sorted(known), grid)
    # every country of the region owns its pixels, submitted or not, so no data spills onto a neighbour
    codes = precedence(region_gdf["iso3"])  # where territories overlap the first wins, as in the Soil Atlas
    contributors = [c for c in sorted(inputs) if c in codes]
    for iso3 in sorted(set(inputs) & known - set(codes)):
        findings.append(Finding("mosaic.outside_region", Severity.WARNING,
                                f"{iso3}: its reference boundary lies outside the region {programme.region_bounds}; "
                                "its rasters were not mosaicked", Location(feature=iso3),
                                hint="the secretariat extends the programme's region to this country"))
    prov_code = {iso3: i + 1 for i, iso3 in enumerate(contributors)}

    sources: dict[tuple[str, str], list[_Source]] = {key: [] for key in sal.layer_keys()}
    for iso3 in contributors:
        for (layer, depth), path in sorted(inputs[iso3].items()):
            if (layer, depth) not in sources:
                continue
            src, finding = _locate(path, iso3, codes.index(iso3) + 1, grid, layer)
            if finding:
                findings.append(finding)
            if src:
                sources[(layer, depth)].append(src)

    derived: dict[str, list[tuple[_Source, _Source]]] = {}
    for depth in sal.depths:
        own = {s.iso3 for s in sources.get((sal.class_layer, depth), [])}
        ece = {s.iso3: s for s in sources.get(("ECe", depth), [])}
        esp = {s.iso3: s for s in sources.get(("ESP", depth), [])}
        derived[depth] = [(ece[c], esp[c]) for c in sorted(set(ece) & set(esp) - own)]

    ph_of = {depth: {s.iso3: s for s in sources.get(("pH", depth), [])} for depth in sal.depths}
    # class rasters carry a colour table and category names, and a QGIS style beside them (raster_style)
    sas_classes = salinity_entries(sal.classes)
    class_styles = {**{f"{kind}_{d}": sas_classes for d in sal.depths for kind in (sal.class_layer, "SAS_derived")},
                    "country_index": country_index_entries(codes, programme.members),
                    "provenance": provenance_entries(prov_code, versions, codes, programme.members)}
    dropped: dict[tuple[str, str], int] = {}
    tmp_dir = Path(tempfile.mkdtemp(prefix=".mosaic_", dir=out_dir))
    paths: dict[str, Path] = {}
    used: dict[str, tuple[tuple[str, int], ...]] = {}
    valid: dict[str, int] = {}  # valid pixels written per product: an empty product is not published (issue 21 m)
    try:
        with rasterio.Env(**GDAL_ENV), contextlib.ExitStack() as stack:
            def open_tmp(key: str, dtype: str, nodata, description: str, unit: str):
                dst = stack.enter_context(rasterio.open(tmp_dir / product_name(key), "w",
                                                        **_temp_profile(grid, dtype, nodata)))
                dst.set_band_description(1, description)
                if key in class_styles:
                    dst.write_colormap(1, colormap(class_styles[key]))
                dst.set_band_unit(1, unit)
                dst.update_tags(1, units=unit)
                return dst

            outs = {}
            for (layer, depth) in sal.layer_keys():
                is_class = layer == sal.class_layer
                outs[f"{layer}_{depth}"] = open_tmp(
                    f"{layer}_{depth}", "uint8" if is_class else "float32",
                    sal.class_nodata if is_class else sal.continuous_nodata,
                    f"{layer} {depth} cm" + (" (as delivered by countries)" if is_class else ""), sal.units[layer])
            for depth in sal.depths:
                outs[f"SAS_derived_{depth}"] = open_tmp(
                    f"SAS_derived_{depth}", "uint8", sal.class_nodata,
                    f"SAS {depth} cm derived from ECe, ESP and pH ({sal.criterion} criterion; countries "
                    "without their own class layer)", "class")
            prov = open_tmp("provenance", "uint16", PROVENANCE_NODATA,
                            "provenance: legend code of (country, submission version)", "code")
            cidx_out = open_tmp("country_index", index_dtype(codes), 0,
                                "country owning the pixel (reference boundaries)", "code")
            readers: dict[Path, rasterio.DatasetReader] = {}

            stack.callback(lambda: [r.close() for r in readers.values()])

            def read(src: _Source, win: Window) -> np.ndarray:
                if src.path not in readers:
                    readers[src.path] = rasterio.open(src.path)
                return readers[src.path].read(1, window=win)

            ends = {s.path: s.window.row_off + s.window.height for srcs in sources.values() for s in srcs}

            lut = np.zeros(len(codes) + 1, dtype="uint16")  # country index -> provenance code
            for iso3, code in prov_code.items():
                lut[codes.index(iso3) + 1] = code
            for win in _block_windows(grid, block):
                # close national rasters the block rows have passed: open files stay bounded as regions grow
                for path in [p for p in readers if ends[p] <= win.row_off]:
                    readers.pop(path).close()
                bgrid = Grid(grid.crs, rasterio.windows.transform(win, grid.transform), win.width, win.height)
                cidx = country_raster(region_gdf, bgrid, codes)
                cidx_out.write(cidx, 1, window=win)
                has_data = np.zeros((win.height, win.width), bool)  # pixels where a country's layer holds data
                cache: dict[tuple[Path, Window], np.ndarray] = {}
                for (layer, depth), srcs in sources.items():
                    dst = outs[f"{layer}_{depth}"]
                    data = np.full((win.height, win.width), dst.nodata, dtype=dst.dtypes[0])
                    for src in srcs:
                        ov = _overlap(win, src.window)
                        if ov is None:
                            continue
                        sl, read_win = ov
                        values = read(src, read_win)
                        if layer in ("ECe", "ESP"):
                            cache[(src.path, read_win)] = values
                        own = cidx[sl] == src.index
                        data[sl][own] = values[own]
                        has_data[sl] |= own & (values != dst.nodata)
                        outside = int(((values != dst.nodata) & ~own).sum())
                        if outside:
                            dropped[(src.iso3, f"{layer}_{depth}")] = dropped.get((src.iso3, f"{layer}_{depth}"), 0) \
                                + outside
                    dst.write(data, 1, window=win)
                    valid[f"{layer}_{depth}"] = valid.get(f"{layer}_{depth}", 0) + int((data != dst.nodata).sum())
                # provenance marks only pixels that hold data from the submission, not the whole territory
                prov.write(np.where(has_data, lut[cidx], PROVENANCE_NODATA).astype("uint16"), 1, window=win)
                for depth, pairs in derived.items():
                    dst = outs[f"SAS_derived_{depth}"]
                    data = np.full((win.height, win.width), sal.class_nodata, dtype="uint8")
                    for ece_src, esp_src in pairs:
                        # ECe and ESP of a country may cover different extents: classes where both exist
                        shared = _shared_window(win, ece_src.window, esp_src.window)
                        if shared is None:
                            continue
                        ov_e, ov_s = _overlap(win, ece_src.window), _overlap(win, esp_src.window)
                        ece = _part(cache.get((ece_src.path, ov_e[1])), ov_e, shared, win) \
                            if (ece_src.path, ov_e[1]) in cache else None
                        esp = _part(cache.get((esp_src.path, ov_s[1])), ov_s, shared, win) \
                            if (esp_src.path, ov_s[1]) in cache else None
                        ece = read(ece_src, _source_window(shared, ece_src.window)) if ece is None else ece
                        esp = read(esp_src, _source_window(shared, esp_src.window)) if esp is None else esp
                        sl = (slice(shared.row_off - win.row_off, shared.row_off - win.row_off + shared.height),
                              slice(shared.col_off - win.col_off, shared.col_off - win.col_off + shared.width))
                        own = cidx[sl] == ece_src.index
                        ph = _ph_part(ph_of.get(depth, {}).get(ece_src.iso3), shared, read, sal.continuous_nodata)
                        data[sl][own] = derive_with_programme(ece, esp, sal, ph)[own]
                    dst.write(data, 1, window=win)
                    valid[f"SAS_derived_{depth}"] = valid.get(f"SAS_derived_{depth}", 0) \
                        + int((data != sal.class_nodata).sum())
        empty = sorted(key for key in outs if not valid.get(key))
        for key in empty:
            findings.append(Finding("mosaic.empty_product", Severity.INFO,
                                    f"{product_name(key)}: no country's data has a valid pixel in it; not published",
                                    Location(file=product_name(key)), observed=0, expected="at least 1 valid pixel"))
        keys = [key for key in outs if key not in empty] + ["provenance", "country_index"]
        for key in empty:
            (tmp_dir / product_name(key)).unlink()
        jobs = []
        codes_keys = {"provenance", "country_index"} | {f"{sal.class_layer}_{d}" for d in sal.depths} \
            | {f"SAS_derived_{d}" for d in sal.depths}
        for key in keys:
            continuous = key not in codes_keys  # class uncertainty (SAS_unc) is continuous
            # the COG is finished in the work folder too: a run killed here leaves the published files untouched
            jobs.append((tmp_dir / product_name(key), tmp_dir / f"cog_{product_name(key)}",
                         "AVERAGE" if continuous else "NEAREST", float_deflate_level if continuous else 6))
        # overviews and COG layout are the costly, independent part: map_fn may spread them over a cluster
        cogs = dict(zip(keys, map_fn(cog_job, jobs), strict=True))
        for src_path, *_ in jobs:
            src_path.unlink()
        # every COG is complete: move them in together (one rename each, microseconds apart)
        for key, cog in cogs.items():
            paths[key] = publish(cog, out_dir / product_name(key))
        for key, entries in class_styles.items():
            if key in paths:
                paths[f"{key}_style"], paths[f"{key}_categories"] = write_class_style(paths[key], entries)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)

    def version_of(iso3: str, key: str) -> int:
        return int(layer_versions.get(iso3, {}).get(key, versions.get(iso3, 0)))

    for (layer, depth), srcs in sources.items():
        if f"{layer}_{depth}" in paths:  # an empty product is not published (issue 21 m): it holds no version
            used[f"{layer}_{depth}"] = tuple((s.iso3, version_of(s.iso3, f"{layer}_{depth}")) for s in srcs)
    for depth, pairs in derived.items():  # derived classes hold the versions of their ECe, ESP and pH
        if f"SAS_derived_{depth}" not in paths:
            continue
        used[f"SAS_derived_{depth}"] = tuple(sorted(
            {(e.iso3, version_of(e.iso3, f"{layer}_{depth}")) for e, _ in pairs for layer in ("ECe", "ESP")}
            | {(e.iso3, version_of(e.iso3, f"pH_{depth}")) for e, _ in pairs if e.iso3 in ph_of.get(depth, {})}))
    findings.extend(_dropped_findings(dropped, grid))
    legend = write_legend(out_dir, contributors, prov_code, codes, sources, derived, versions, programme,
                          _country_legends(sources, sal.class_layer), version_of)
    paths.update(legend)
    log.info("mosaicked %d products on %dx%d pixels", len(paths), grid.width, grid.height)
    return MosaicResult(paths=tuple(paths.values()), products=paths, used=used, grid=grid, findings=tuple(findings))


def _dropped_findings(dropped: dict[tuple[str, str], int], grid: Grid) -> list[Finding]:
    """One fixed finding per country whose rasters reach beyond its reference border."""
    out = []
    for iso3 in sorted({c for c, _ in dropped}):
        per_layer = {key: n for (c, key), n in sorted(dropped.items()) if c == iso3}
        worst = max(per_layer.values())
        out.append(Finding(
            "mosaic.clipped_to_border", Severity.FIXED,
            f"{iso3}: up to {worst} pixels with data outside the reference border (or owned by a neighbour) were "
            f"left out of the regional mosaic", Location(feature=iso3), observed=per_layer, expected=0,
            hint="clip national rasters to the reference boundary, or agree the border pixels with the neighbour"))
    return out


def _country_legends(sources, class_layer: str) -> dict:
    """Each country's own class codes and how they map onto the programme legend, per class layer, from the
    national copy that layer comes from (a partial delivery carries a class layer over with its legend)."""
    out: dict = {}
    for (layer, depth), srcs in sorted(sources.items()):
        for src in srcs if layer == class_layer else ():
            path = src.path.parent / CLASS_LEGENDS
            if path.is_file():
                with contextlib.suppress(OSError, ValueError, AttributeError):
                    entry = json.loads(path.read_text(encoding="utf-8")).get(f"{layer}_{depth}")
                    if entry is not None:
                        out.setdefault(src.iso3, {})[f"{layer}_{depth}"] = entry
    return out


def write_legend(out_dir: Path, contributors, prov_code, codes, sources, derived, versions, programme,
                 country_legends: dict | None = None,
                 version_of: Callable[[str, str], int] | None = None) -> dict:
    """Provenance legend (CSV + JSON entries): code -> country, version, layers delivered, class-layer source.

    ``layer_versions`` says which version each layer comes from (``ECe_0-30:v2 pH_0-30:v1``): a partial
    delivery carries the layers it did not send over from the last accepted version.
    GSSmap_legend.json holds the whole legend: provenance, country index, classes, units.
    """
    sal = programme.salinity
    version_of = version_of or (lambda iso3, key: int(versions.get(iso3, 0)))
    rows = []
    for iso3 in contributors:
        layers = sorted(f"{layer}_{depth}" for (layer, depth), srcs in sources.items()
                        if any(s.iso3 == iso3 for s in srcs))
        sas = {depth: ("delivered" if any(s.iso3 == iso3 for s in sources.get((sal.class_layer, depth), []))
                       else "derived" if any(e.iso3 == iso3 for e, _ in derived[depth]) else "none")
               for depth in sal.depths}
        rows.append({"code": prov_code[iso3], "iso3": iso3, "name": programme.members.get(iso3, iso3),
                     "version": int(versions.get(iso3, 0)), "layers": " ".join(layers),
                     "layer_versions": " ".join(f"{key}:v{version_of(iso3, key)}" for key in layers),
                     **{f"SAS_{depth}": sas[depth] for depth in sal.depths}})
    frame = pd.DataFrame(rows, columns=["code", "iso3", "name", "version", "layers", "layer_versions",
                                        *[f"SAS_{d}" for d in sal.depths]])
    csv_path = write_atomic(out_dir / "GSSmap_provenance_legend.csv",
                            lambda p: safe_frame(frame).to_csv(p, index=False))
    prov_json = out_dir / "GSSmap_provenance_legend.json"
    write_text_atomic(prov_json, json.dumps({"raster": product_name("provenance"), "nodata": PROVENANCE_NODATA,
                                             "entries": [{**row, "country": row["iso3"]} for row in rows]}, indent=2))
    json_path = out_dir / "GSSmap_legend.json"
    write_text_atomic(json_path, json.dumps({
        "provenance": {"raster": product_name("provenance"), "nodata": PROVENANCE_NODATA, "codes": rows},
        "country_index": {"raster": product_name("country_index"), "nodata": 0,
                          "codes": {i + 1: c for i, c in enumerate(codes)}},
        "salinity_classes": {"codes": {str(k): v for k, v in sal.classes.items()}, "nodata": sal.class_nodata,
                             "criterion": sal.criterion,
                             "thresholds": {"ece_saline_dsm": sal.ece_saline_dsm,
                                            "esp_sodic_pct": sal.esp_sodic_pct,
                                            "ph_cut": sal.ph_cut.get(sal.criterion),
                                            "ece_intensity_dsm": list(sal.ece_intensity_dsm[sal.criterion]),
                                            "esp_intensity_pct": list(sal.esp_intensity_pct)},
                             "country_codes": dict(country_legends or {})},
        "units": sal.units,
        "continuous_nodata": sal.continuous_nodata,
    }, indent=2))
    return {"legend_csv": csv_path, "provenance_legend_json": prov_json, "legend_json": json_path}
