"""The hostile corpus: files a careless or malicious sender could submit, each with the finding it must get.

Every case writes its files into one delivery folder (``raw/<ISO3>/<date>/``) and names the
check id the intake must report. References inside hostile files point at canaries outside the
inbox (``Canary``) so tests can prove that nothing outside the submission was read.
"""

from __future__ import annotations

import errno
import os
import random
import sqlite3
import stat
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from rasterio.transform import Affine

RES = 1 / 120
SECRET = "ATLAS-CANARY-4f1c9e"  # must never appear in any finding or output


@dataclass
class Canary:
    """Files outside every submission that hostile files point at; records whether anything read them."""

    root: Path
    opened_fifo: list[float] = field(default_factory=list)
    armed: dict[Path, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    @property
    def text(self) -> Path:
        return self.root / "secret.txt"

    @property
    def raster(self) -> Path:
        return self.root / "secret.tif"

    @property
    def gpkg(self) -> Path:
        return self.root / "secret.gpkg"

    @property
    def fifo(self) -> Path:
        return self.root / "secret.fifo"

    def create(self) -> Canary:
        self.root.mkdir(parents=True, exist_ok=True)
        self.text.write_text(f"root:x:0:0:{SECRET}\n")
        write_tif(self.raster, data=np.full((4, 4), 42.0))
        gpd.GeoDataFrame({"unit_id": [SECRET]}, geometry=[shapely.box(104, 12, 105, 13)],
                         crs="EPSG:4326").to_file(self.gpkg, driver="GPKG")
        os.mkfifo(self.fifo)
        return self

    def arm(self) -> None:
        """Make any later read visible: atime older than mtime (relatime then updates it) and a FIFO watchdog."""
        for path in (self.text, self.raster, self.gpkg):
            st = path.stat()
            os.utime(path, ns=(st.st_mtime_ns - 3_600_000_000_000, st.st_mtime_ns))
            self.armed[path] = path.stat().st_atime_ns
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        # A reader opening the FIFO blocks until a writer appears; opening for writing without blocking succeeds
        # only while a reader holds it, so every open is seen, and the reader is released at once (EOF).
        while not self._stop.is_set():
            try:
                fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:
                if exc.errno != errno.ENXIO:
                    raise
                time.sleep(0.002)
                continue
            self.opened_fifo.append(time.time())
            os.close(fd)
            time.sleep(0.05)

    def read_since_armed(self) -> list[str]:
        """Names of canaries read (or opened) since ``arm``; stops the watchdog."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=2)
        touched = [p.name for p, atime in self.armed.items() if p.stat().st_atime_ns != atime]
        return touched + ([self.fifo.name] if self.opened_fifo else [])


# ------------------------------------------------------------------ valid files to start from

def write_tif(path: Path, data=None, count: int = 1, dtype: str = "float32", driver: str = "GTiff") -> Path:
    """A small valid GeoTIFF on the 30 arc-second grid over Cambodia."""
    data = np.linspace(0.5, 50.0, 40 * 40).reshape(40, 40) if data is None else np.asarray(data)
    with rasterio.open(path, "w", driver=driver, width=data.shape[1], height=data.shape[0], count=count,
                       dtype=dtype, crs="EPSG:4326", transform=Affine(RES, 0, 104.0, 0, -RES, 13.0),
                       nodata=None if driver != "GTiff" else -9999.0) as ds:
        for band in range(1, count + 1):
            ds.write(data.astype(dtype), band)
    return path


def soil_gdf(n: int = 4) -> gpd.GeoDataFrame:
    boxes = [shapely.box(104 + i * 0.2, 12, 104 + (i + 1) * 0.2, 13) for i in range(n)]
    return gpd.GeoDataFrame({"unit_id": [f"u{i}" for i in range(n)], "rsg1": ["Acrisols"] * n,
                             "share1": [100] * n}, geometry=boxes, crs="EPSG:4326")


def write_shapefile(folder: Path, stem: str, gdf: gpd.GeoDataFrame | None = None, **kw) -> list[Path]:
    (gdf if gdf is not None else soil_gdf()).to_file(folder / f"{stem}.shp", driver="ESRI Shapefile", **kw)
    return sorted(folder.glob(f"{stem}.*"))


def zip_files(zpath: Path, members: dict[str, bytes], modes: dict[str, int] | None = None,
              compression: int = zipfile.ZIP_DEFLATED) -> Path:
    """A zip with the given members; ``modes`` sets a member's Unix mode (links, devices)."""
    with zipfile.ZipFile(zpath, "w", compression) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = compression
            if modes and name in modes:
                info.external_attr = modes[name] << 16
            zf.writestr(info, data)
    return zpath


def shapefile_members(tmp: Path, stem: str = "soil") -> dict[str, bytes]:
    tmp.mkdir(parents=True, exist_ok=True)
    return {p.name: p.read_bytes() for p in write_shapefile(tmp, stem)}


def vrt_xml(source: str, relative: bool = False) -> bytes:
    return (f'<VRTDataset rasterXSize="4" rasterYSize="4"><VRTRasterBand dataType="Float32" band="1">'
            f'<SimpleSource><SourceFilename relativeToVRT="{int(relative)}">{source}</SourceFilename>'
            f'<SourceBand>1</SourceBand></SimpleSource></VRTRasterBand></VRTDataset>').encode()


# ------------------------------------------------------------------ the cases

@dataclass(frozen=True)
class Case:
    """One hostile submission: what it is, which deliverable, how to build it and the finding it must get."""

    name: str
    deliverable: str
    build: Callable[[Path, str, Canary], None]  # (delivery folder, ISO3, canary)
    expected: str
    loose: bool = False  # files left in the country folder rather than a dated delivery folder


def _sal(iso3: str) -> str:
    return f"{iso3}_GSSmap_ECe_0-30.tif"


def _zip_case(members_fn, **kw):
    def build(folder: Path, iso3: str, canary: Canary) -> None:
        zip_files(folder / f"{iso3}_soil.zip", members_fn(folder, canary), **kw)
    return build


def _zip_slip(folder, canary):
    return {**shapefile_members(folder.parent / ".work_slip"), "../../../escaped.txt": b"escaped"}


def _zip_absolute(folder, canary):
    return {**shapefile_members(folder.parent / ".work_abs"), str(canary.root / "overwritten.txt"): b"x"}


def _zip_bomb(folder, canary):
    return {"soil.shp": b"\0" * (20 << 20)}


def _many_members(folder, canary):
    return {f"part_{i:05d}.txt": b"x" for i in range(2001)}


def _collision(folder, canary):
    members = shapefile_members(folder.parent / ".work_coll")
    members["SOIL.shp"] = members["soil.shp"]
    return members


def _nfd_collision(folder, canary):
    members = shapefile_members(folder.parent / ".work_nfd", "sol")
    return {**members, "Se\u0301rie.txt": b"a", "S\u00e9rie.txt": b"b"}


def _renamed(folder, canary):
    members = shapefile_members(folder.parent / ".work_ren", "soil")
    return {f"My Soil Map/{k.replace('soil', 'carte sol')}": v for k, v in members.items()}


def _junk_only(folder, canary):
    return {"__MACOSX/._soil.shp": b"\0\5\26\7", ".DS_Store": b"junk"}


def _nested(folder, canary):
    inner = folder.parent / ".work_nested" / "inner.zip"  # scratch in a dot folder, which the inbox skips
    zip_files(inner, shapefile_members(folder.parent / ".work_nested"))
    return {"inner.zip": inner.read_bytes()}


def _vrt_in_zip(folder, canary):
    return {"soil.shp": vrt_xml(str(canary.raster))}


def _header_lies(folder: Path, iso3: str, canary: Canary) -> None:
    """A member whose central directory declares fewer bytes than it holds."""
    path = zip_files(folder / f"{iso3}_soil.zip", {"soil.shp": b"A" * 5000}, compression=zipfile.ZIP_STORED)
    raw = bytearray(path.read_bytes())
    cd = raw.rfind(b"PK\x01\x02")
    raw[cd + 24:cd + 28] = (10).to_bytes(4, "little")  # uncompressed size field
    path.write_bytes(bytes(raw))


def _truncated_zip(folder: Path, iso3: str, canary: Canary) -> None:
    path = zip_files(folder / f"{iso3}_soil.zip", shapefile_members(folder.parent / ".work_trunc"))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _vrt_tif(source_fn):
    def build(folder: Path, iso3: str, canary: Canary) -> None:
        (folder / _sal(iso3)).write_bytes(vrt_xml(source_fn(canary)))
    return build


def _ogr_vrt_geojson(folder: Path, iso3: str, canary: Canary) -> None:
    (folder / f"{iso3}_soil.geojson").write_text(
        f'<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>{canary.gpkg}</SrcDataSource>'
        "</OGRVRTLayer></OGRVRTDataSource>")


def _gpkg_with(sql_fn):
    def build(folder: Path, iso3: str, canary: Canary) -> None:
        path = folder / f"{iso3}_soil.gpkg"
        soil_gdf().to_file(path, driver="GPKG", layer="map_units")
        con = sqlite3.connect(path)
        try:
            sql_fn(con, canary)
            con.commit()
        finally:
            con.close()
    return build


def _virtual_ogr(con, canary):
    # Python's sqlite3 has no VirtualOGR module, so the schema row is written directly (as an attacker would)
    con.execute("PRAGMA writable_schema=ON")
    con.execute("INSERT INTO sqlite_master VALUES('table', 'evil', 'evil', 0, ?)",
                (f"CREATE VIRTUAL TABLE evil USING VirtualOGR('{canary.gpkg}')",))


def _gdal_view(con, canary):
    con.execute(f"CREATE VIEW evil AS SELECT gdal_get_pixel_value('{canary.raster}', 1, 'pixel', 0, 0) AS v")


def _attach_trigger(con, canary):
    con.execute(f"CREATE TRIGGER evil AFTER INSERT ON map_units BEGIN SELECT readfile('{canary.text}'); END")


def _aux_elsewhere(folder: Path, iso3: str, canary: Canary) -> None:
    tif = write_tif(folder / _sal(iso3))
    Path(f"{tif}.aux.xml").write_bytes(b"<PAMDataset><PAMRasterBand band='1'><Metadata><MDI key='x'>"
                                       + vrt_xml(str(canary.raster)) + b"</MDI></Metadata></PAMRasterBand>"
                                       b"</PAMDataset>")


def _aux_symlink(folder: Path, iso3: str, canary: Canary) -> None:
    tif = write_tif(folder / _sal(iso3))
    Path(f"{tif}.aux.xml").symlink_to(canary.text)


def _ovr_vrt(folder: Path, iso3: str, canary: Canary) -> None:
    tif = write_tif(folder / _sal(iso3))
    Path(f"{tif}.ovr").write_bytes(vrt_xml(str(canary.raster)))


def _inbox_link(folder: Path, iso3: str, canary: Canary) -> None:
    # a loose file in the country folder that links out to a canary: neither discovery nor intake may read it
    (folder / f"{iso3}_soil.gpkg").symlink_to(canary.gpkg)


def _huge_header(folder: Path, iso3: str, canary: Canary) -> None:
    with rasterio.open(folder / _sal(iso3), "w", driver="GTiff", width=1_000_000, height=1_000_000, count=1,
                       dtype="float32", tiled=True, blockxsize=4096, blockysize=4096, sparse_ok=True,
                       BIGTIFF="YES", crs="EPSG:4326", transform=Affine(1e-4, 0, 104, 0, -1e-4, 13)):
        pass  # nothing written: the header alone announces 10^12 pixels


def _many_bands(folder: Path, iso3: str, canary: Canary) -> None:
    write_tif(folder / _sal(iso3), data=np.ones((2, 2)), count=20)


def _truncated_tif(folder: Path, iso3: str, canary: Canary) -> None:
    path = write_tif(folder / _sal(iso3), data=np.random.default_rng(1).uniform(0, 50, (200, 200)))
    path.write_bytes(path.read_bytes()[:300])


def _empty(name_fn):
    def build(folder: Path, iso3: str, canary: Canary) -> None:
        (folder / name_fn(iso3)).write_bytes(b"")
    return build


def _gpkg_as_geojson(folder: Path, iso3: str, canary: Canary) -> None:
    soil_gdf().to_file(folder / f"{iso3}_soil.geojson", driver="GPKG")


def _zip_as_tif(folder: Path, iso3: str, canary: Canary) -> None:
    zip_files(folder / _sal(iso3), {"a.txt": b"hello"})


def _png_as_tif(folder: Path, iso3: str, canary: Canary) -> None:
    write_tif(folder / _sal(iso3), data=np.ones((8, 8)), dtype="uint8", driver="PNG")
    for extra in folder.glob("*.aux.xml"):
        extra.unlink()


def _garbage(name_fn):
    def build(folder: Path, iso3: str, canary: Canary) -> None:
        # seeded: random bytes may begin with another format's magic (2 bytes of "PK" once in 65,536 runs)
        noise = random.Random(f"garbage {iso3}").randbytes(4096)
        (folder / name_fn(iso3)).write_bytes(noise.replace(b"<", b"x").replace(b"{", b"x"))
    return build


def _truncated_gpkg(folder: Path, iso3: str, canary: Canary) -> None:
    path = folder / f"{iso3}_soil.gpkg"
    soil_gdf().to_file(path, driver="GPKG")
    path.write_bytes(path.read_bytes()[:2048])


def _non_utf8_names(folder: Path, iso3: str, canary: Canary) -> None:
    gdf = soil_gdf().rename(columns={"rsg1": "sól_tipo"})
    files = write_shapefile(folder, f"{iso3}_soil", gdf, encoding="cp1252")
    for p in files:
        if p.suffix == ".cpg":
            p.unlink()  # undeclared: the field name bytes are cp1252, not UTF-8


def _many_features(folder: Path, iso3: str, canary: Canary) -> None:
    pts = shapely.points(np.full(6000, 104.5), np.linspace(12, 13, 6000))
    gpd.GeoDataFrame({"unit_id": np.arange(6000).astype(str)}, geometry=pts, crs="EPSG:4326").to_file(
        folder / f"{iso3}_soil.fgb", driver="FlatGeobuf")


def _ten_million_vertices(folder: Path, iso3: str, canary: Canary) -> None:
    n = 10_000_000
    t = np.linspace(0, 2 * np.pi, n)
    ring = shapely.linearrings(104.5 + 0.4 * np.cos(t), 12.5 + 0.4 * np.sin(t))
    gdf = gpd.GeoDataFrame({"unit_id": ["u0"], "rsg1": ["Acrisols"], "share1": [100]},
                           geometry=[shapely.Polygon(ring)], crs="EPSG:4326")
    gdf.to_file(folder / f"{iso3}_soil.shp", driver="ESRI Shapefile")


def _device_mode() -> int:
    return stat.S_IFCHR | 0o644


CASES: list[Case] = [
    # archives
    Case("zip_slip", "soil_map", _zip_case(_zip_slip), "intake.archive_unsafe_member"),
    Case("zip_absolute_path", "soil_map", _zip_case(_zip_absolute), "intake.archive_unsafe_member"),
    Case("zip_symlink_member", "soil_map", _zip_case(
        lambda f, c: {**shapefile_members(f.parent / ".work_link"), "soil.prj": str(c.text).encode()},
        modes={"soil.prj": stat.S_IFLNK | 0o777}), "intake.archive_unsafe_member"),
    Case("zip_device_member", "soil_map", _zip_case(
        lambda f, c: {**shapefile_members(f.parent / ".work_dev"), "null": b""}, modes={"null": _device_mode()}),
        "intake.archive_unsafe_member"),
    Case("zip_bomb", "soil_map", _zip_case(_zip_bomb), "intake.archive_too_large"),
    Case("zip_too_many_members", "soil_map", _zip_case(_many_members, compression=zipfile.ZIP_STORED),
         "intake.archive_too_large"),
    Case("zip_header_lies_about_size", "soil_map", _header_lies, "intake.archive_unreadable"),
    Case("zip_truncated", "soil_map", _truncated_zip, "intake.archive_unreadable"),
    Case("zip_case_collision", "soil_map", _zip_case(_collision), "intake.name_collision"),
    Case("zip_unicode_collision", "soil_map", _zip_case(_nfd_collision), "intake.name_collision"),
    Case("zip_names_with_spaces", "soil_map", _zip_case(_renamed), "intake.name_normalised"),
    Case("zip_only_junk", "soil_map", _zip_case(_junk_only), "vector.unreadable"),
    Case("zip_nested_zip", "soil_map", _zip_case(_nested), "vector.unreadable"),
    Case("zip_holding_vrt_as_shp", "soil_map", _zip_case(_vrt_in_zip), "intake.reference_refused"),
    # GDAL containment
    Case("vrt_to_local_file", "salinity_map", _vrt_tif(lambda c: str(c.raster)), "intake.reference_refused"),
    Case("vrt_to_fifo", "salinity_map", _vrt_tif(lambda c: str(c.fifo)), "intake.reference_refused"),
    Case("vrt_to_etc_passwd", "salinity_map", _vrt_tif(lambda c: "/etc/passwd"), "intake.reference_refused"),
    Case("vrt_to_url", "salinity_map", _vrt_tif(lambda c: "/vsicurl/http://127.0.0.1:9/x.tif"),
         "intake.reference_refused"),
    Case("ogr_vrt_named_geojson", "soil_map", _ogr_vrt_geojson, "intake.reference_refused"),
    Case("gpkg_virtual_ogr_table", "soil_map", _gpkg_with(_virtual_ogr), "intake.reference_refused"),
    Case("gpkg_view_gdal_function", "soil_map", _gpkg_with(_gdal_view), "intake.reference_refused"),
    Case("gpkg_trigger_readfile", "soil_map", _gpkg_with(_attach_trigger), "intake.reference_refused"),
    Case("aux_xml_points_elsewhere", "salinity_map", _aux_elsewhere, "intake.sidecar_refused"),
    Case("aux_xml_symlink", "salinity_map", _aux_symlink, "intake.sidecar_refused"),
    Case("ovr_is_a_vrt", "salinity_map", _ovr_vrt, "intake.sidecar_refused"),
    Case("inbox_symlink", "soil_map", _inbox_link, "intake.link_refused", loose=True),
    # size limits
    Case("tif_announces_1e12_pixels", "salinity_map", _huge_header, "intake.raster_too_large"),
    Case("tif_20_bands", "salinity_map", _many_bands, "intake.raster_too_large"),
    Case("vector_too_many_features", "soil_map", _many_features, "intake.vector_too_large"),
    Case("geometry_1e7_vertices", "soil_map", _ten_million_vertices, "intake.vector_too_large"),
    # broken or mislabelled files
    Case("tif_truncated", "salinity_map", _truncated_tif, "raster.read_failed"),
    Case("tif_empty", "salinity_map", _empty(_sal), "intake.empty_file"),
    Case("gpkg_empty", "soil_map", _empty(lambda i: f"{i}_soil.gpkg"), "intake.empty_file"),
    Case("gpkg_named_geojson", "soil_map", _gpkg_as_geojson, "intake.content_mismatch"),
    Case("zip_named_tif", "salinity_map", _zip_as_tif, "intake.content_mismatch"),
    Case("png_named_tif", "salinity_map", _png_as_tif, "raster.not_geotiff"),
    Case("fgb_garbage", "soil_map", _garbage(lambda i: f"{i}_soil.fgb"), "vector.unreadable"),
    Case("gpkg_truncated", "soil_map", _truncated_gpkg, "vector.unreadable"),
    Case("shp_non_utf8_field_names", "soil_map", _non_utf8_names, "vector.encoding_undeclared"),
]

# A programme [limits] section for the corpus: a low feature limit shows the configuration is honoured.
CORPUS_LIMITS = {"max_vector_features": 5000}
