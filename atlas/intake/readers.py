"""Opening submitted files: soil maps in any accepted format, rasters without trusting sidecars.

Readers return what they could read plus findings about what they did
(junk dropped, encoding honoured); they never raise on bad input.
"""

from __future__ import annotations

import contextlib
import logging
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

import numpy as np
import rasterio
import shapely

from atlas.finding import Finding, Location, Severity
from atlas.intake.archives import extract_archive, pick_map
from atlas.intake.containment import Limits, contained, open_raster, sidecar_findings, vet_content, vet_vector
from atlas.intake.findings import finding

if TYPE_CHECKING:  # geopandas (with pandas) is imported where a soil map is read: a raster check never needs it
    import geopandas as gpd

log = logging.getLogger(__name__)


ACCEPTED_SUFFIXES = {".gpkg", ".geojson", ".json", ".fgb", ".zip", ".shp"}
# .cpg texts GDAL may not map exactly (it reads "ANSI 1252" as ISO-8859-1, which differs in 0x80-0x9F).
CPG_ENCODINGS = {"ansi 1252": "cp1252", "1252": "cp1252", "windows-1252": "cp1252", "utf-8": "utf-8",
                 "utf8": "utf-8", "65001": "utf-8", "88591": "latin-1", "iso-8859-1": "latin-1",
                 "ansi 1251": "cp1251", "1251": "cp1251", "874": "cp874", "ansi 874": "cp874", "936": "gbk"}


def _cpg_encoding(text: str) -> str | None:
    key = text.strip().lower()
    if key in CPG_ENCODINGS:
        return CPG_ENCODINGS[key]
    digits = re.sub(r"\D", "", key)
    return f"cp{digits}" if digits else None


def _declared_encoding(path: Path, gdal_path: str, cpg_bytes: bytes | None, findings: list[Finding]) -> str | None:
    """The encoding to read a shapefile's attributes with, from its .cpg (any case) or a UTF-8 probe."""
    if cpg_bytes is None:
        sidecar = next((p for p in path.parent.glob(path.stem + ".*") if p.suffix.lower() == ".cpg"), None)
        cpg_bytes = sidecar.read_bytes() if sidecar else None
    if cpg_bytes is not None:
        declared = cpg_bytes.decode("ascii", "replace").strip()
        encoding = _cpg_encoding(declared)
        if encoding and encoding != "utf-8":
            findings.append(finding("vector.encoding", f".cpg declares {declared!r}; attributes read as {encoding}",
                                    Location(file=path.name), observed=declared, expected="UTF-8"))
        return encoding
    import pyogrio

    try:  # no .cpg: accept UTF-8 if the text decodes, else Windows-1252 with a warning
        pyogrio.read_dataframe(gdal_path, read_geometry=False, encoding="utf-8", max_features=5000)
        return None
    except (UnicodeDecodeError, pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError):
        findings.append(finding("vector.encoding_undeclared", "no .cpg and attributes are not UTF-8; read as cp1252",
                                Location(file=path.name), observed="no .cpg", expected="UTF-8"))
        return "cp1252"


def read_soil_map(path: Path, limits: Limits | None = None) -> tuple[gpd.GeoDataFrame | None, list[Finding]]:
    """The soil map as a GeoDataFrame (junk dropped, declared encoding honoured) and findings; never raises.

    A zip is extracted safely (``atlas.intake.archives``) into a temporary folder and its map read from there;
    every file is vetted (``atlas.intake.containment``) before GDAL opens it.
    """
    path = Path(path)
    limits = limits or Limits()
    loc = Location(file=path.name)
    suffix = path.suffix.lower()
    if suffix not in ACCEPTED_SUFFIXES:
        return None, [finding("vector.format", f"{path.name}: {suffix or 'no extension'} is not a soil-map format",
                              loc, observed=suffix, expected=sorted(ACCEPTED_SUFFIXES))]
    if suffix != ".zip":
        return _read_map(path, limits)
    refused = vet_content(path)
    if refused:
        return None, refused
    with tempfile.TemporaryDirectory(prefix="atlas-intake-") as tmp:
        files, findings = extract_archive(path, Path(tmp) / "archive", limits)
        if any(f.severity == Severity.ERROR for f in findings):
            return None, findings
        main, notes = pick_map(files, path.name)
        findings += notes
        if main is None:
            findings.append(finding("vector.unreadable", f"{path.name}: the archive holds no shapefile or "
                                    "GeoPackage/GeoJSON/FlatGeobuf", loc))
            return None, findings
        gdf, more = _read_map(main, limits)
        return gdf, findings + more


def _read_map(path: Path, limits: Limits) -> tuple[gpd.GeoDataFrame | None, list[Finding]]:
    """One vetted map file read inside GDAL containment (only its own format's driver can match its content)."""
    import geopandas as gpd
    import pyogrio

    findings: list[Finding] = list(vet_content(path))
    if findings:
        return None, findings
    loc = Location(file=path.name)
    suffix = path.suffix.lower()
    try:
        with contained():
            gdal_path, layer, encoding = str(path), None, None
            if suffix == ".shp":
                encoding = _declared_encoding(path, gdal_path, None, findings)
            elif suffix == ".gpkg":
                layers = pyogrio.list_layers(gdal_path)
                polys = [name for name, gtype in layers if gtype and "polygon" in str(gtype).lower()]
                layer = (polys or [layers[0][0]])[0]
                if len(layers) > 1:
                    findings.append(finding("vector.multiple_layers", f"{len(layers)} layers; read {layer!r}", loc,
                                            observed=[str(n) for n, _ in layers]))
            refused = vet_vector(path, layer, limits)
            if refused:
                return None, findings + refused
            try:
                gdf = gpd.read_file(gdal_path, layer=layer or None, encoding=encoding, engine="pyogrio")
            except UnicodeDecodeError as exc:  # a .cpg that lies: fall back to the usual Windows code page
                findings.append(finding("vector.encoding_mismatch", f"text is not valid {encoding or 'UTF-8'} "
                                        f"({exc.reason} at byte {exc.start}); read as cp1252", loc,
                                        observed=encoding or "UTF-8", expected="cp1252"))
                gdf = gpd.read_file(gdal_path, layer=layer or None, encoding="cp1252", engine="pyogrio")
    except Exception as exc:  # GDAL/pyogrio raise many types for broken files
        log.info("cannot read %s: %s", path, exc)
        findings.append(finding("vector.unreadable", f"{path.name}: cannot be read: {exc}", loc,
                                observed=type(exc).__name__))
        return None, findings
    gdf.attrs["layer"] = layer or (path.stem if suffix == ".shp" else None)
    return gdf, findings


def repair_soil_map(gdf: gpd.GeoDataFrame, file: str | None = None) -> tuple[gpd.GeoDataFrame, list[Finding]]:
    """Invalid geometries made valid (polygon parts kept), with the area change recorded as a finding."""
    import geopandas as gpd

    geoms = gdf.geometry.values
    invalid = ~shapely.is_valid(geoms) & ~shapely.is_missing(geoms)
    if not invalid.any():
        return gdf, []
    fixed = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
    # keep polygonal parts only: make_valid may return collections with lines or points
    fixed = np.array([_polygonal(g) for g in fixed], dtype=object)
    before = _area_km2(gpd.GeoSeries(geoms[invalid], crs=gdf.crs))
    after = _area_km2(gpd.GeoSeries(fixed, crs=gdf.crs))
    out = gdf.copy()
    out.loc[invalid, out.geometry.name] = fixed
    ids = [str(i) for i in np.asarray(gdf.index)[invalid][:10]]
    return out, [finding("vector.geometry_repaired",
                         f"{int(invalid.sum())} invalid geometr{'y' if invalid.sum() == 1 else 'ies'} made valid; "
                         f"area {before:.3f} km² -> {after:.3f} km²",
                         Location(file=file, feature=",".join(ids)),
                         observed={"features": int(invalid.sum()), "area_before_km2": round(before, 4),
                                "area_after_km2": round(after, 4)})]


def _polygonal(geom):
    if geom is None or geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else None


def _area_km2(series: gpd.GeoSeries) -> float:
    if series.crs is None:
        return float("nan")
    return float(series.to_crs("ESRI:54034").area.sum() / 1e6)


def open_raster_safely(path: Path, limits: Limits | None = None):
    """(dataset or None, error message or None, refusal findings): vetted, GTiff only, header within limits.

    Sidecars (.aux.xml, .ovr, .msk, world files) are never read; use the dataset inside ``contained()``.
    """
    ds, refused, error = open_raster(path, limits)
    return ds, error, refused


# ---------------------------------------------------------------- rasters: one block-by-block pass

EARTH_RADIUS_KM = 6371.0088
CHUNK_PIXELS = 1 << 22  # ~4 Mpx per read: bounded memory whatever the raster's size
# GDAL's block cache while scanning, in bytes: rasterio.Env passes GDAL_CACHEMAX to GDALSetCacheMax64, which
# counts bytes (GDAL_CACHEMAX=64 there is a 64-byte cache, which makes every decimated read decode each tile once
# per row), and the setting is process-wide, outliving the Env when it is nested in another one
SCAN_CACHE_BYTES = 64 * 2**20
MAX_READ_ERRORS = 3  # a file that fails this often is broken; stop reading it
MAX_CLASSES = 64  # beyond this many distinct values a layer is not a class layer


@dataclass
class RasterStats:
    """What one pass over band 1 (all bands read) measured; nothing comes from sidecar statistics."""

    n_pixels: int = 0
    n_valid: int = 0
    n_nan: int = 0
    vmin: float = float("inf")
    vmax: float = float("-inf")
    total: float = 0.0
    integer_valued: bool = True
    value_counts: dict | None = field(default_factory=dict)  # None once too many distinct values
    n_out_of_range: int = 0
    first_out_of_range: tuple[int, int, float] | None = None  # row, col, value
    n_above_warn: int = 0
    first_above_warn: tuple[int, int, float] | None = None
    read_errors: list[tuple[tuple[int, int, int, int], str]] = field(default_factory=list)
    stopped_early: bool = False
    valid_land_km2: float = 0.0

    @property
    def mean(self) -> float | None:
        return self.total / self.n_valid if self.n_valid else None


def _pixel_areas_km2(ds, row0: int, nrows: int) -> np.ndarray:
    """True area of the pixels of rows row0.. (nrows x 1 for geographic CRSs, nrows x width when projected).

    Geographic: exact on the authalic sphere, per row. Projected: the map area of a pixel divided by the
    projection's areal scale factor at the pixel (pyproj), sampled every AREA_SAMPLE_PX pixels: a conformal
    projection (Web Mercator, UTM away from its meridian) enlarges areas, and |a*e| alone would count them.
    """
    t = ds.transform
    if ds.crs is not None and ds.crs.is_geographic:
        top = t.f + t.e * np.arange(row0, row0 + nrows)
        lat0, lat1 = np.radians(top), np.radians(top + t.e)
        return np.abs(EARTH_RADIUS_KM**2 * np.radians(abs(t.a)) * (np.sin(lat0) - np.sin(lat1)))[:, None]
    map_area_m2 = abs(t.a * t.e - t.b * t.d) * _unit_to_m(ds.crs) ** 2
    if ds.crs is None:
        return np.full((nrows, 1), map_area_m2 / 1e6)
    return map_area_m2 / 1e6 / _areal_scale(ds, row0, nrows)


def _unit_to_m(crs) -> float:
    try:
        return float(crs.linear_units_factor[1]) if crs is not None else 1.0
    except Exception:  # noqa: BLE001 - a CRS without linear units: metres, as before
        return 1.0


AREA_SAMPLE_PX = 16  # the areal scale varies slowly: one value per 16 x 16 pixels


def _areal_scale(ds, row0: int, nrows: int) -> np.ndarray:
    from pyproj import CRS as ProjCRS
    from pyproj import Proj, Transformer

    step = AREA_SAMPLE_PX
    crs = ProjCRS.from_user_input(ds.crs.to_wkt())
    cols = np.arange(0, ds.width, step) + step / 2
    rows = np.arange(row0, row0 + nrows, step) + step / 2
    cc, rr = np.meshgrid(cols, rows)
    x, y = ds.transform * (cc, rr)
    lon, lat = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True).transform(x, y)
    scale = np.asarray(Proj(crs).get_factors(lon, lat).areal_scale, dtype="float64").reshape(cc.shape)
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    full = np.repeat(np.repeat(scale, step, axis=0), step, axis=1)
    return full[:nrows, :ds.width]


def _chunk_rows(ds) -> int:
    block_h = ds.block_shapes[0][0] if ds.block_shapes else 1
    rows = max(block_h, (CHUNK_PIXELS // max(ds.width, 1)) // block_h * block_h)
    return min(rows, ds.height)


def scan_raster(ds, value_range: tuple[float, float] | None = None, warn_above: float | None = None,
                land=None) -> RasterStats:
    """Read every block once (all bands, in row bands of whole blocks) and measure band 1.

    ``land`` is a shapely geometry in the raster's CRS; valid pixels inside it are summed as km².
    """
    stats = RasterStats()
    nodata = ds.nodatavals[0] if ds.count else None
    dtype = np.dtype(ds.dtypes[0]) if ds.count else np.dtype("float64")
    is_float = dtype.kind == "f"
    nd = None if nodata is None or (is_float and np.isnan(nodata)) else np.array(nodata).astype(dtype)
    rows = _chunk_rows(ds)
    # what the measuring needs of the dataset, read here: only the reading thread touches the dataset
    grid = SimpleNamespace(transform=ds.transform, crs=ds.crs, width=ds.width, height=ds.height)
    # each block is read once: a big block cache only costs memory. The next row band is read (GDAL decoding
    # its blocks on every core, NUM_THREADS at open) while this one is measured
    with rasterio.Env(GDAL_CACHEMAX=SCAN_CACHE_BYTES), ThreadPoolExecutor(1, "raster-read") as reader:
        starts = list(range(0, ds.height, rows))
        pending = reader.submit(_read_rows, ds, starts[0], rows) if starts else None
        for i, row0 in enumerate(starts):
            data, window, error = pending.result()
            if i + 1 < len(starts):
                pending = reader.submit(_read_rows, ds, starts[i + 1], rows)
            if error is not None:
                stats.read_errors.append(((0, row0, grid.width, int(window.height)), error))
            else:
                _scan_chunk(grid, stats, row0, data, window, is_float, nd, value_range, warn_above, land)
            if len(stats.read_errors) >= MAX_READ_ERRORS:
                stats.stopped_early = row0 + rows < grid.height
                break
    return stats


def _read_rows(ds, row0: int, rows: int):
    """(all bands of one row band, its window, None) or (None, window, the read error)."""
    from rasterio.windows import Window

    window = Window(0, row0, ds.width, min(rows, ds.height - row0))
    try:
        with contained(vectors=False):  # rasterio's GDAL options are per thread: this one's set too
            return ds.read(window=window), window, None
    except Exception as exc:  # noqa: BLE001 - rasterio raises RasterioIOError and CPLE_* for broken blocks
        return None, window, str(exc)


def _scan_chunk(ds, stats: RasterStats, row0: int, data: np.ndarray, window, is_float: bool, nd, value_range,
                warn_above, land):
    """Measure one row band of whole blocks into ``stats``; ``ds``: the dataset's grid (transform, crs, width)."""
    from rasterio.features import geometry_mask
    from rasterio.windows import transform as window_transform

    band = data[0]
    stats.n_pixels += band.size
    # one full-size mask (none when every pixel counts), every other test on the valid values only; a NaN
    # anywhere makes the band's minimum NaN, so a band without any (the usual case) needs no NaN mask
    valid = ~np.isnan(band) if is_float and band.size and np.isnan(band.min()) else None
    if valid is not None:
        stats.n_nan += band.size - int(np.count_nonzero(valid))
    if nd is not None:
        valid = band != nd if valid is None else np.logical_and(valid, band != nd, out=valid)
    n_valid = band.size if valid is None else int(np.count_nonzero(valid))
    values = band.ravel() if n_valid == band.size else band[valid]
    stats.n_valid += n_valid
    if not n_valid:
        return
    low, high = float(values.min()), float(values.max())
    stats.vmin, stats.vmax = min(stats.vmin, low), max(stats.vmax, high)
    stats.total += float(values.sum(dtype="float64"))
    if is_float and stats.integer_valued:
        stats.integer_valued = _integer_valued(values)
    if stats.value_counts is not None:
        if not stats.integer_valued:
            stats.value_counts = None
        else:
            for u, c in _value_counts(values, low, high):
                stats.value_counts[u] = stats.value_counts.get(u, 0) + c
            if len(stats.value_counts) > MAX_CLASSES:
                stats.value_counts = None
    # the row band's minimum and maximum answer the range tests of most bands: count only where they fail
    if value_range is not None and (low < value_range[0] or high > value_range[1]):
        n_bad = int(np.count_nonzero((values < value_range[0]) | (values > value_range[1])))
        if n_bad and stats.first_out_of_range is None:  # where: the full-size mask only once, when needed
            _first(_and_valid(valid, (band < value_range[0]) | (band > value_range[1])), band, row0, stats,
                   "first_out_of_range")
        stats.n_out_of_range += n_bad
    if warn_above is not None and high > warn_above:
        n_high = int(np.count_nonzero(values > warn_above))
        if n_high and stats.first_above_warn is None:
            _first(_and_valid(valid, band > warn_above), band, row0, stats, "first_above_warn")
        stats.n_above_warn += n_high
    if land is not None and not land.is_empty:
        chunk = window_transform(window, ds.transform)
        if _covers_window(land, chunk, band.shape):  # the whole row band is land: no mask to draw
            inside = valid if valid is not None else np.ones(band.shape, bool)
        else:
            inside = _and_valid(valid, geometry_mask([land], out_shape=band.shape, transform=chunk, invert=True))
        areas = _pixel_areas_km2(ds, row0, band.shape[0])
        if areas.shape[1] == 1:
            # valid pixels per row: a byte view summed in 32 bits is twice as fast as count_nonzero(axis=1)
            per_row = inside.view(np.uint8).sum(axis=1, dtype=np.uint32)
            stats.valid_land_km2 += float((per_row * areas[:, 0]).sum())
        else:
            stats.valid_land_km2 += float(areas[inside].sum())


INTEGER_PROBE = 4096  # values tested first for fractions: most fractional layers show one in the first few
VALUE_SPAN_HISTOGRAM = 1 << 16  # integer values spanning fewer than this are counted by a histogram, not a sort


def _and_valid(valid: np.ndarray | None, mask: np.ndarray) -> np.ndarray:
    return mask if valid is None else valid & mask


def _integer_valued(values: np.ndarray) -> bool:
    """Whether every value is a whole number; a fraction among the first values answers it without a full pass."""
    probe = values[:INTEGER_PROBE]
    if not np.array_equal(probe, np.round(probe)):
        return False
    return bool(np.array_equal(values, np.round(values)))


def _value_counts(values: np.ndarray, low: float, high: float):
    """(value, pixel count) of each distinct whole-number value: a histogram in one pass when the values span
    a small range of exactly representable integers, else ``np.unique`` (a sort). Values keep their type."""
    if high - low < VALUE_SPAN_HISTOGRAM and max(abs(low), abs(high)) < 2**53:
        counts = np.bincount((values.astype(np.int64) - int(low)).ravel(), minlength=1)
        present = np.flatnonzero(counts)
        uniq, cnt = (present + int(low)).astype(values.dtype), counts[present]
    else:
        uniq, cnt = np.unique(values, return_counts=True)
    return zip(uniq.tolist(), cnt.tolist(), strict=True)


def _covers_window(land, transform, shape) -> bool:
    """Whether ``land`` covers every pixel of a window (its outline, from the window's transform)."""
    import shapely

    height, width = shape
    corners = [transform @ (0, 0), transform @ (width, 0), transform @ (width, height), transform @ (0, height)]
    return bool(shapely.covers(land, shapely.Polygon(corners)))


def _first(mask: np.ndarray, band: np.ndarray, row0: int, stats: RasterStats, attr: str) -> int:
    n = int(mask.sum())
    if n and getattr(stats, attr) is None:
        r, c = np.argwhere(mask)[0]
        setattr(stats, attr, (int(row0 + r), int(c), float(band[r, c])))
    return n


def sidecar_statistics(path: Path, ds) -> tuple[str, dict[str, float]] | None:
    """(source, STATISTICS_* values of band 1) stored in a .aux.xml or inside the file; never trusted."""
    import xml.etree.ElementTree as ET

    aux = Path(str(path) + ".aux.xml")
    if aux.is_file() and not aux.is_symlink() and not sidecar_findings(path):  # never follow a sidecar elsewhere
        try:
            root = ET.parse(aux).getroot()
            band = root.find("PAMRasterBand[@band='1']") or root.find("PAMRasterBand")
            items = band.findall("Metadata/MDI") if band is not None else []
            values = {i.get("key"): i.text for i in items if (i.get("key") or "").startswith("STATISTICS_")}
            if values:
                return aux.name, _floats(values)
        except ET.ParseError:
            return aux.name, {}
    tags = {k: v for k, v in ds.tags(1).items() if k.startswith("STATISTICS_")} if ds.count else {}
    return ("embedded GDAL metadata", _floats(tags)) if tags else None


def _floats(values: dict) -> dict[str, float]:
    out = {}
    for k, v in values.items():
        with contextlib.suppress(TypeError, ValueError):
            out[k] = float(v)
    return out


@dataclass
class Reads:
    """What a run read from one submission's files, so no file is opened and parsed twice.

    Built once per submission with the programme's ``[limits]``; validation fills it (each soil map's
    GeoDataFrame, each raster's one-pass statistics, keyed by path) and harmonization takes from it.
    """

    limits: Limits = field(default_factory=Limits)
    soil_maps: dict[Path, gpd.GeoDataFrame | None] = field(default_factory=dict)
    raster_stats: dict[Path, RasterStats] = field(default_factory=dict)
