"""GDAL containment, size limits and safe paths, one mechanism at a time (the corpus runs them all together)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import sys
import threading
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import rasterio
from rasterio.errors import RasterioIOError

from atlas import layout, stages
from atlas.intake import containment as gdal_safety
from atlas.intake.archives import extract_archive, prepare_submission, safe_output_dir, sanitise_name
from atlas.intake.containment import Limits, check_path, contained, vet_content, vet_vector
from atlas.intake.inbox import Submission
from checks.raster import raster_findings

sys.path.insert(0, str(Path(__file__).parent))
from hostile_corpus import Canary, soil_gdf, vrt_xml, write_tif, zip_files  # noqa: E402


def ids(findings) -> set[str]:
    return {f.check_id for f in findings}


@pytest.fixture
def canary(tmp_path):
    return Canary(tmp_path / "outside").create()


def test_canary_sees_a_read_and_a_fifo_open(canary):
    """The proof used everywhere else can fail: reading a canary or opening the FIFO is noticed."""
    canary.arm()
    assert canary.read_since_armed() == []
    canary.arm()
    with rasterio.open(canary.raster) as ds:
        ds.read()
    opener = threading.Thread(target=lambda: open(canary.fifo, "rb").close())
    opener.start()
    opener.join(timeout=5)
    assert not opener.is_alive()
    assert set(canary.read_since_armed()) == {"secret.tif", "secret.fifo"}


def test_gdal_refuses_a_vrt_named_tif_when_only_gtiff_is_allowed(tmp_path, canary):
    path = tmp_path / "KHM_GSSmap_ECe_0-30.tif"
    path.write_bytes(vrt_xml(str(canary.raster)))
    canary.arm()
    with contained(), pytest.raises(RasterioIOError):
        rasterio.open(path, driver="GTiff")
    ds, refused, error = gdal_safety.open_raster(path)
    assert ds is None and ids(refused) == {"intake.reference_refused"}
    assert canary.read_since_armed() == []
    canary.arm()  # control: an unrestricted open follows the reference and reads the canary's pixels
    with rasterio.open(path) as ds:
        assert float(ds.read(1)[0, 0]) == 42.0
    assert "secret.tif" in canary.read_since_armed()


def test_containment_options_are_set_in_both_gdals_and_restored():
    before = pyogrio.get_gdal_config_option("GDAL_DISABLE_READDIR_ON_OPEN")
    with contained():
        assert pyogrio.get_gdal_config_option("OGR_SQLITE_ALLOW_EXTERNAL_ACCESS") in ("NO", False)
        assert rasterio.env.getenv()["CPL_VSIL_CURL_ALLOWED_EXTENSIONS"] == ".atlas-no-network"
        assert rasterio.env.getenv()["GDAL_PAM_ENABLED"] == "NO"
    assert pyogrio.get_gdal_config_option("GDAL_DISABLE_READDIR_ON_OPEN") == before


@pytest.mark.parametrize("path,refused", [("/vsicurl/http://example.org/a.tif", True), ("https://x.org/a.gpkg", True),
                                          ("\\\\server\\share\\a.tif", True), ("/vsizip//tmp/a.zip/a.shp", True),
                                          ("/data/raw/KHM/a.tif", False), ("KHM_soil.gpkg", False)])
def test_network_and_virtual_paths_are_refused(path, refused):
    assert (check_path(path) is not None) is refused


def test_raster_header_limit_refuses_before_any_pixel_is_read(tmp_path, programme, monkeypatch):
    reads = []
    monkeypatch.setattr(rasterio.io.DatasetReader, "read", lambda *a, **k: reads.append(1) or np.zeros((1, 1, 1)))
    path = write_tif(tmp_path / "KHM_GSSmap_ECe_0-30.tif")  # 40 x 40 pixels
    small = dataclasses.replace(programme, extra={**programme.extra, "limits": {"max_raster_pixels": 1000}})
    findings = raster_findings(path, small)
    assert ids(findings) == {"intake.raster_too_large"} and reads == []
    assert findings[0].observed["width"] == 40 and "1.6e+03 pixels" in findings[0].message
    raster_findings(path, programme)  # control: within the default limits the pixels are read
    assert reads


def test_vertex_limits_count_every_feature_in_batches(tmp_path, monkeypatch):
    path = tmp_path / "soil.gpkg"
    soil_gdf(8).to_file(path, driver="GPKG")  # 8 boxes of 5 vertices
    monkeypatch.setattr(gdal_safety, "VERTEX_BATCH", 3)
    assert vet_vector(path, None, Limits(max_vector_vertices=40, max_vertices_per_feature=5)) == []
    total = vet_vector(path, None, Limits(max_vector_vertices=39, max_vertices_per_feature=5))
    assert ids(total) == {"intake.vector_too_large"} and total[0].observed == 40
    per_feature = vet_vector(path, None, Limits(max_vertices_per_feature=4))
    assert per_feature[0].location.feature == "0" and per_feature[0].observed == 5


@pytest.mark.parametrize("raw,clean", [("My Soil Map.shp", "My_Soil_Map.shp"), ("Se\u0301rie.dbf", "S\u00e9rie.dbf"),
                                       ("..", "_"), ("a/b", "a_b"), ("ដី.shp", "ដី.shp"), ("x\x00y\n.prj", "xy.prj"),
                                       (".hidden", "hidden")])
def test_names_are_sanitised(raw, clean):
    assert sanitise_name(raw) == clean


def test_zip_limits_come_from_the_programme(tmp_path):
    archive = zip_files(tmp_path / "a.zip", {f"f{i}.txt": b"x" for i in range(5)})
    files, findings = extract_archive(archive, tmp_path / "out", Limits(max_archive_members=5))
    assert len(files) == 5 and findings == []
    files, findings = extract_archive(archive, tmp_path / "out2", Limits(max_archive_members=4))
    assert files == [] and ids(findings) == {"intake.archive_too_large"} and not (tmp_path / "out2").exists()


def test_extraction_folder_is_fresh_and_never_followed_when_a_link(tmp_path):
    archive = zip_files(tmp_path / "a.zip", {"soil.shp": b"new"})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("keep")
    dest = tmp_path / "dest"
    dest.symlink_to(elsewhere, target_is_directory=True)
    files, _ = extract_archive(archive, dest, Limits())
    assert not dest.is_symlink() and [p.name for p in files] == ["soil.shp"]
    assert sorted(p.name for p in elsewhere.iterdir()) == ["keep.txt"]


def _submission(programme, country: str, deliverable: str, files: tuple[Path, ...]) -> Submission:
    folder = programme.raw_dir / country / "2026-03-01"
    return Submission(country, deliverable, "2026-03-01", 1, folder, files, dt.date(2026, 3, 1), "x")


def test_unsafe_country_names_never_become_paths(programme):
    sub = _submission(programme, "../../etc", "soil_map", ())
    safe, findings = prepare_submission(sub, programme, programme.processed_dir / "x")
    assert ids(findings) == {"intake.unsafe_name"} and safe.files == ()


def test_outputs_are_never_written_through_a_symlink(tmp_path, programme):
    from atlas.ledger.store import Ledger

    folder = programme.raw_dir / "MNG" / "2026-03-01"
    folder.mkdir(parents=True)
    tif = write_tif(folder / "MNG_GSSmap_ECe_0-30.tif")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out_dir = layout.national_dir(programme.processed_dir, "MNG", "salinity_map", 1)
    out_dir.parent.mkdir(parents=True)
    out_dir.symlink_to(elsewhere, target_is_directory=True)
    assert safe_output_dir(out_dir, programme.processed_dir) is not None
    sub = _submission(programme, "MNG", "salinity_map", (tif,))
    with Ledger(programme.ledger_path, programme) as ledger:
        record = ledger.record_submission(sub)
        outcome = stages.process_submission(sub, record.id, programme, None, ledger)
    assert ids(outcome.findings) == {"intake.output_unsafe"} and outcome.verdict == "rejected"
    assert list(elsewhere.iterdir()) == []
    os.unlink(out_dir)
    assert safe_output_dir(out_dir, programme.processed_dir) is None  # control: a real folder is fine


def test_real_odd_geotiffs_each_end_in_a_finding_without_a_crash(real_data, programme):
    folder = real_data / "hostile" / "rasterio_testdata"
    tifs = sorted(folder.glob("*.tif"))
    assert len(tifs) >= 10
    for tif in tifs:
        assert vet_content(tif) == []  # real TIFFs pass the intake; the checks judge their content
        findings = raster_findings(tif, programme)
        serious = {f.check_id for f in findings if f.severity.value in ("error", "warning")}
        assert serious and "internal.check_crashed" not in serious, (tif.name, serious)
    corrupt = raster_findings(folder / "corrupt.tif", programme)
    assert "raster.read_failed" in ids(corrupt)


def test_a_clean_geotiff_and_geopackage_pass_the_intake(tmp_path):
    tif = write_tif(tmp_path / "a.tif", data=np.ones((4, 4)))
    gpkg = tmp_path / "a.gpkg"
    soil_gdf().to_file(gpkg, driver="GPKG")
    assert vet_content(tif) == [] and vet_content(gpkg) == [] and vet_vector(gpkg, None, Limits()) == []
