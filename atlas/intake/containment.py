"""GDAL containment for untrusted submissions: sniffed formats, allowed drivers, no network, header size limits.

GDAL opens whatever a file's content says it is (a ``.tif`` holding VRT XML is a
VRT that may read ``/etc/passwd`` or a URL), so every submitted file is vetted
before GDAL sees it: its magic bytes must be the format its extension names, the
path must be a plain local path, and its header must announce a size within the
programme's ``[limits]``. Opening then happens inside ``contained()`` with only
the programme's drivers allowed and GDAL's network and sidecar lookups switched off.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sqlite3
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import rasterio
from rasterio.errors import RasterioError

from atlas.config import Limits  # declared with the other programme.toml sections
from atlas.finding import Finding, Location
from atlas.intake.findings import finding
from atlas.wording import plural

log = logging.getLogger(__name__)

RASTER_DRIVERS = ("GTiff",)
VECTOR_DRIVERS = ("GPKG", "ESRI Shapefile", "GeoJSON", "FlatGeobuf")

# Set while a submission is opened. GDAL has no single "network off" switch, so every route is closed:
# vsicurl accepts no extension, HTTP gives up at once, PROJ stays offline; paths themselves are vetted
# (check_path) so no /vsi*/URL name reaches GDAL. Sidecars are never looked up (EMPTY_DIR, PAM off,
# internal georeferencing only) and the VRT/SQLite escape hatches stay closed.
CONTAINMENT = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "GDAL_PAM_ENABLED": "NO",
    "GDAL_GEOREF_SOURCES": "INTERNAL",
    "GDAL_VRT_ENABLE_PYTHON": "NO",
    "GDAL_VRT_ENABLE_RAWRASTERBAND": "NO",
    "OGR_SQLITE_ALLOW_EXTERNAL_ACCESS": "NO",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".atlas-no-network",
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_CONNECTTIMEOUT": "1",
    "GDAL_HTTP_MAX_RETRY": "0",
    "CPL_CURL_ENABLE_VSIMEM": "NO",
    "PROJ_NETWORK": "OFF",
}

# Content each accepted extension must have (magic bytes, not the name, decide what GDAL would open).
EXPECTED_CONTENT = {".tif": "tiff", ".tiff": "tiff", ".gpkg": "sqlite", ".fgb": "fgb", ".geojson": "json",
                    ".json": "json", ".shp": "shp", ".zip": "zip"}
OTHER_RASTERS = {"png": b"\x89PNG", "jpeg": b"\xff\xd8\xff", "gif": b"GIF8", "hfa": b"EHFA_HEADER_TAG",
                 "netcdf": b"CDF", "hdf5": b"\x89HDF"}
REFERENCING = {"xml"}  # VRT and other XML formats point at other files or URLs
NETWORK_PATH = re.compile(r"^(/vsi|\\\\|[a-z][a-z0-9+.-]*://)", re.IGNORECASE)
# A view or trigger with these in its SQL could reach outside the file (GDAL's SQL functions, extensions).
SQL_ESCAPES = re.compile(r"\b(gdal_\w*|ogr_\w*|readfile|writefile|load_extension|edit|fileio_\w*|import_\w*|"
                         r"export_\w*)\s*\(|\battach\b|virtualogr|virtualshape|://|/vsi", re.IGNORECASE)


_LOCK = threading.Lock()
_DEPTH = [0, None]  # open containments; pyogrio's options to restore when the last one closes (None: unset)


@contextlib.contextmanager
def contained(vectors: bool = True) -> Iterator[None]:
    """GDAL options for untrusted files, in rasterio's and pyogrio's GDAL alike (each wheel bundles its own).

    rasterio's options are per thread; pyogrio's are process-wide, so they are counted: the first entry sets
    them and only the last exit restores them (flow tasks may read submissions in parallel threads).
    ``vectors=False`` (a raster read) does not import pyogrio, which loads geopandas, pandas and pyarrow
    (about 0.5 s of CPU); if pyogrio is loaded already its options are set all the same, and a vector read
    entering its own ``contained()`` meanwhile sets them then.
    """
    with _LOCK:
        _contain_pyogrio(vectors)
        _DEPTH[0] += 1
    try:
        with rasterio.Env(**CONTAINMENT):
            yield
    finally:
        with _LOCK:
            _DEPTH[0] -= 1
            if _DEPTH[0] == 0 and _DEPTH[1] is not None:
                sys.modules["pyogrio"].set_gdal_config_options(_DEPTH[1])
                _DEPTH[1] = None


def _contain_pyogrio(load: bool) -> None:
    """Set the containment options in pyogrio's GDAL unless set: importing it first when ``load``."""
    if _DEPTH[1] is not None:
        return
    if load:
        import pyogrio
    else:  # loaded elsewhere (or being loaded: its config functions exist once its core is in)
        pyogrio = sys.modules.get("pyogrio")
        if pyogrio is None or not hasattr(pyogrio, "set_gdal_config_options"):
            return
    _DEPTH[1] = {k: pyogrio.get_gdal_config_option(k) for k in CONTAINMENT}
    pyogrio.set_gdal_config_options(CONTAINMENT)


def check_path(path: Path | str) -> str | None:
    """Why a path must not be handed to GDAL (network, /vsi*, UNC), or None for a plain local path."""
    text = str(path)
    if NETWORK_PATH.match(text) or "/vsi" in text.lower():
        return f"{text!r} is a network or virtual-file path"
    return None


def sniff(path: Path) -> str:
    """The content type from the first bytes: tiff, sqlite, fgb, shp, zip, json, xml, png, ..., empty, unknown."""
    with open(path, "rb") as fh:
        head = fh.read(512)
    if not head:
        return "empty"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head.startswith(b"SQLite format 3\x00"):
        return "sqlite"
    if head.startswith(b"fgb"):
        return "fgb"
    if head[:4] == b"\x00\x00\x27\x0a":
        return "shp"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head.startswith(b"%PDF"):
        return "pdf"
    for kind, magic in OTHER_RASTERS.items():
        if head.startswith(magic):
            return kind
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text[:1] in (b"{", b"["):
        return "json"
    if text[:1] == b"<":
        return "xml"
    return "unknown"


def vet_content(path: Path) -> list[Finding]:
    """Findings that forbid opening ``path`` with GDAL at all: bad path, empty, referencing or mismatched content."""
    path = Path(path)
    loc = Location(file=path.name)
    if why := check_path(path):
        return [finding("intake.path_refused", why, loc, observed=str(path))]
    if not path.is_file():  # links inside the inbox are refused earlier, by atlas.intake.archives
        return [finding("intake.path_refused", f"{path.name} is not a regular file", loc)]
    kind = sniff(path)
    expected = EXPECTED_CONTENT.get(path.suffix.lower())
    if kind == "empty":
        return [finding("intake.empty_file", f"{path.name} is empty (0 bytes)", loc, observed=0)]
    if kind in REFERENCING:
        return [finding("intake.reference_refused", f"{path.name} holds XML (e.g. a VRT), which can point at other "
                        "files or URLs; not opened", loc, observed=kind, expected=expected)]
    if expected is not None and kind != expected:
        return [_mismatch(path, kind, expected, loc)]
    if kind == "sqlite":
        return gpkg_references(path)
    return []


def _mismatch(path: Path, kind: str, expected: str, loc: Location) -> Finding:
    """Content that is not what the extension names: another raster format, garbage, or a wrong extension."""
    raster = expected == "tiff"
    if raster and kind in OTHER_RASTERS:
        return finding("raster.not_geotiff", f"{path.name}: content is {kind.upper()}, not GeoTIFF", loc,
                       observed=kind, expected="GTiff")
    if kind == "unknown":
        family = "raster" if raster else "vector"
        return finding(f"{family}.unreadable", f"{path.name}: content is not a {expected} file (damaged or another "
                       "format); not opened", loc, observed=kind, expected=expected)
    return finding("intake.content_mismatch", f"{path.name}: content is {kind}, not the {expected} its "
                    "extension names", loc, observed=kind, expected=expected)


def gpkg_references(path: Path) -> list[Finding]:
    """Schema objects of a GeoPackage that could reach outside it (virtual tables other than rtree, risky SQL).

    The schema is read with Python's sqlite3, read-only and immutable, which has none of GDAL's SQL
    functions or virtual-table modules registered, so nothing in the file is executed.
    """
    loc = Location(file=Path(path).name)
    try:
        con = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro&immutable=1", uri=True)
        try:
            rows = con.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        return [finding("vector.unreadable", f"{Path(path).name}: damaged GeoPackage ({exc}); not opened", loc,
                        observed="damaged sqlite", expected="sqlite")]
    bad = []
    for kind, name, sql in rows:
        sql = sql or ""
        if re.match(r"\s*CREATE\s+VIRTUAL\s+TABLE", sql, re.IGNORECASE):
            if not re.search(r"\bUSING\s+rtree\s*\(", sql, re.IGNORECASE):
                bad.append((kind, name, sql))
        elif kind in ("view", "trigger") and SQL_ESCAPES.search(sql):
            bad.append((kind, name, sql))
    if not bad:
        return []
    listed = ", ".join(f"{k} {n!r}" for k, n, _ in bad[:5])
    return [finding("intake.reference_refused", f"{Path(path).name}: {plural(len(bad), 'schema object')} could "
                    f"read outside the file ({listed}); not opened", loc, observed=[s[:200] for _, _, s in bad[:5]])]


RASTER_SIDECARS = (".aux.xml", ".ovr", ".msk")
SIDECAR_REFERENCE = re.compile(rb"SourceFilename|<VRTDataset|/vsi|://|relativeToVRT|<!ENTITY|<!DOCTYPE", re.IGNORECASE)


def sidecar_findings(path: Path) -> list[Finding]:
    """Warnings for sidecars of a GeoTIFF that point elsewhere or are not TIFFs; GDAL never opens them anyway."""
    path = Path(path)
    found = []
    for suffix in RASTER_SIDECARS:
        side = path.with_name(path.name + suffix)
        if not (side.is_file() or side.is_symlink()):
            continue
        if side.is_symlink():
            why = "is a symbolic link"
        elif suffix == ".aux.xml":
            with open(side, "rb") as fh:
                why = "refers to other files or URLs" if SIDECAR_REFERENCE.search(fh.read(1 << 20)) else None
        else:
            why = None if sniff(side) == "tiff" else f"is {sniff(side)}, not a TIFF"
        if why:
            found.append(finding("intake.sidecar_refused", f"{side.name} {why}; ignored", Location(file=side.name),
                                 observed=why))
    return found


def raster_header_limits(ds, limits: Limits, name: str) -> list[Finding]:
    """Refusals for a raster whose header announces too much (nothing beyond the header is read)."""
    pixels = int(ds.width) * int(ds.height)
    nbytes = pixels * sum(np.dtype(d).itemsize for d in ds.dtypes)
    over = []
    if pixels > limits.max_raster_pixels:
        over.append(f"{ds.width} x {ds.height} = {pixels:.3g} pixels > {limits.max_raster_pixels:.3g}")
    if ds.count > limits.max_raster_bands:
        over.append(f"{ds.count} bands > {limits.max_raster_bands}")
    if nbytes > limits.max_raster_bytes:
        over.append(f"{nbytes / 2**30:.3g} GiB uncompressed > {limits.max_raster_bytes / 2**30:.3g} GiB")
    if not over:
        return []
    return [finding("intake.raster_too_large", f"{name}: header announces " + "; ".join(over) + "; no pixel read",
                    Location(file=name), observed={"width": ds.width, "height": ds.height, "bands": ds.count,
                                                "bytes": nbytes},
                    expected={"pixels": limits.max_raster_pixels, "bands": limits.max_raster_bands,
                           "bytes": limits.max_raster_bytes})]


def open_raster(path: Path, limits: Limits | None = None):
    """(dataset or None, refusal findings, open error or None): a GeoTIFF vetted, opened GTiff-only, within limits.

    Call inside ``contained()`` when the dataset is read afterwards.
    """
    path = Path(path)
    refused = vet_content(path)
    if refused:
        return None, refused, None
    try:
        with contained(vectors=False):
            # NUM_THREADS: GDAL decodes the blocks of one read on every core (the checks read each block once)
            ds = rasterio.open(path, driver=RASTER_DRIVERS[0], NUM_THREADS="ALL_CPUS")  # GDAL may only try GTiff
    except (RasterioError, OSError, ValueError) as exc:
        return None, [], str(exc)
    refused = raster_header_limits(ds, limits or Limits(), path.name)
    if refused:
        ds.close()
        return None, refused, None
    return ds, [], None


def vet_vector(path: Path, layer: str | None, limits: Limits) -> list[Finding]:
    """Refusals for a vector file too large for its limits: bytes, features (header), then vertices (bounded pass)."""
    path = Path(path)
    loc = Location(file=path.name, layer=layer)
    size = path.stat().st_size
    if size > limits.max_vector_file_bytes:
        return [finding("intake.vector_too_large", f"{path.name}: {size / 2**20:.1f} MiB > "
                        f"{limits.max_vector_file_bytes / 2**20:.0f} MiB", loc, observed=size,
                        expected=limits.max_vector_file_bytes)]
    import pyogrio

    with contained():
        info = pyogrio.read_info(path, layer=layer)
        n = int(info.get("features", -1))
        if n < 0:  # the driver cannot tell cheaply: count, still without geometry
            n = int(pyogrio.read_info(path, layer=layer, force_feature_count=True).get("features", 0))
        if n > limits.max_vector_features:
            return [finding("intake.vector_too_large", f"{path.name}: {n:,} features > {limits.max_vector_features:,}",
                            loc, observed=n, expected=limits.max_vector_features)]
        return _vertex_limits(path, layer, size, loc, limits)


# Fewest bytes one vertex takes in each format: below these the file cannot exceed a vertex limit.
MIN_VERTEX_BYTES = {".shp": 16, ".gpkg": 16, ".fgb": 16, ".geojson": 4, ".json": 4}
VERTEX_BATCH = 20_000


def _vertex_limits(path: Path, layer: str | None, size: int, loc: Location, limits: Limits) -> list[Finding]:
    """Vertex counts checked in bounded batches, only when the file is big enough to break a limit."""
    import pyogrio
    import shapely

    if path.suffix.lower() == ".shp":
        size = path.stat().st_size  # geometry only lives in the .shp
    bound = size // MIN_VERTEX_BYTES.get(path.suffix.lower(), 4)
    if bound <= min(limits.max_vertices_per_feature, limits.max_vector_vertices):
        return []
    total, skip = 0, 0
    while True:
        _, _, wkb, _ = pyogrio.raw.read(path, layer=layer, columns=[], skip_features=skip,
                                        max_features=VERTEX_BATCH)
        if wkb is None or not len(wkb):
            return []
        counts = shapely.get_num_coordinates(shapely.from_wkb(wkb, on_invalid="ignore"))
        worst = int(np.argmax(counts))
        if counts[worst] > limits.max_vertices_per_feature:
            return [finding("intake.vector_too_large", f"{path.name}: feature {skip + worst} has "
                            f"{int(counts[worst]):,} vertices > {limits.max_vertices_per_feature:,} per feature",
                            Location(file=path.name, layer=layer, feature=str(skip + worst)),
                            observed=int(counts[worst]), expected=limits.max_vertices_per_feature)]
        total += int(counts.sum())
        if total > limits.max_vector_vertices:
            return [finding("intake.vector_too_large", f"{path.name}: more than {limits.max_vector_vertices:,} "
                            f"vertices in the first {skip + len(wkb):,} features", loc, observed=total,
                            expected=limits.max_vector_vertices)]
        skip += len(wkb)
        if len(wkb) < VERTEX_BATCH:
            return []


def regular_file_inside(path: Path, root: Path) -> bool:
    """True if ``path`` is a regular file under ``root`` reached through no symlink (nothing points elsewhere)."""
    path, root = Path(path), Path(root)
    try:
        rel = path.relative_to(root)
    except ValueError:
        return False
    current = root
    for part in rel.parts:
        if part in ("..", ""):
            return False
        current = current / part
        if current.is_symlink():
            return False
    return path.is_file() and os.path.realpath(path).startswith(os.path.realpath(root) + os.sep)
