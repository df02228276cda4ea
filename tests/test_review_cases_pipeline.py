"""Wrong answers found in a code review (issue 16), each reproduced on small files: pipeline side.

Items 2, 6, 7, 8, 10, 11 and 12; the others live with the modules they concern.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
import zipfile

import geopandas as gpd
import numpy as np
import pystac
import rasterio
from affine import Affine
from shapely.geometry import box

from atlas import layout, stages
from atlas.intake.inbox import discover, sha256_file
from atlas.ledger.store import Ledger
from atlas.products.catalog import build_catalog
from atlas.products.regional import build_catalogue, build_regional_salinity

RES = 1.0 / 120.0
OLD = time.time() - 3600  # an hour ago: long settled


def pdf(path, text: bytes = b"chapter"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"%PDF-1.7\n1 0 obj<<>>endobj\n%" + text + b"\n%%EOF\n")
    return path


def docx(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document/>")
    return path


def settle(root, when: float = OLD) -> None:
    """Give every file and folder under root the modification time ``when`` (a finished copy)."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + dirnames:
            os.utime(os.path.join(dirpath, name), (when, when))
        os.utime(dirpath, (when, when))


def write_layer(path, west, north, data, nodata):
    """A harmonized national layer on the 30 arc-second lattice."""
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {"driver": "GTiff", "dtype": data.dtype.name, "nodata": nodata, "count": 1, "width": data.shape[1],
               "height": data.shape[0], "crs": "EPSG:4326", "transform": Affine(RES, 0, west, 0, -RES, north)}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
    return path


def national_salinity(programme, iso3: str, version: int, west: float, north: float, seed: int = 0) -> None:
    """The harmonized national copy (ECe and ESP 0-30, 60 x 60 pixels) that the regional stage reads."""
    rng = np.random.default_rng(seed)
    folder = layout.national_dir(programme.processed_dir, iso3, "salinity_map", version)
    for layer, high in (("ECe", 6.0), ("ESP", 30.0)):
        data = rng.uniform(0, high, (60, 60)).astype("float32")
        write_layer(folder / programme.salinity.file_name(iso3, layer, "0-30"), west, north, data, -9999.0)


def small_salinity_programme(programme):
    sal = dataclasses.replace(programme.salinity, layers=("ECe", "ESP", "SAS"), depths=("0-30",))
    return dataclasses.replace(programme, region_bounds=(100.0, 10.0, 101.0, 10.5), salinity=sal)


# -- 2: "published" only if the product holds the version's data -----------------------------------------


def test_case_02_versions_without_reference_polygon_or_outside_region_are_not_published(programme):
    prog = small_salinity_programme(programme)
    # KHM inside the region; SGP has no reference polygon (Natural Earth 110m has none); JPN lies outside
    boundaries = gpd.GeoDataFrame({"iso3": ["KHM", "JPN"], "name": ["Cambodia", "Japan"]},
                                  geometry=[box(100.0, 10.0, 100.5, 10.5), box(139.0, 35.0, 140.0, 36.0)],
                                  crs="EPSG:4326")
    national_salinity(prog, "KHM", 1, 100.0, 10.5)
    national_salinity(prog, "SGP", 1, 100.5, 10.5)  # its pixels fall in the region, but it owns none of them
    national_salinity(prog, "JPN", 1, 139.0, 36.0)
    outcome = build_regional_salinity(prog, {"KHM": 1, "SGP": 1, "JPN": 1}, boundaries, "run-1")
    assert outcome.paths
    assert outcome.included == {"KHM": 1}
    assert set(outcome.left_out) == {"SGP", "JPN"}
    assert "no polygon" in outcome.left_out["SGP"] and "outside the region" in outcome.left_out["JPN"]

    with Ledger(prog.ledger_path, prog) as ledger:
        for iso3 in ("KHM", "SGP", "JPN"):  # the raw deliveries behind the national copies
            raw = prog.raw_dir / iso3 / "2026-03-01" / prog.salinity.file_name(iso3, "ECe", "0-30")
            write_layer(raw, 100.0, 10.5, np.ones((4, 4), "float32"), -9999.0)
        subs, _ = discover(prog.raw_dir, prog.members)
        for sub in subs:
            record = ledger.record_submission(sub)
            ledger.record_validation(record.id, "accepted", {}, None)
            ledger.mark(record.id, "harmonized")
        stages.publish_versions(ledger, "salinity_map", outcome, "run-1")
        stages.publish_versions(ledger, "salinity_map", outcome, "run-2")  # a re-run adds no second note
        states = {iso3: ledger.current(iso3, "salinity_map").state for iso3 in ("KHM", "SGP", "JPN")}
        assert states == {"KHM": "published", "SGP": "harmonized", "JPN": "harmonized"}
        notes = [e["note"] for e in ledger.history("SGP") if e["product"] == "GSSmap"]
        assert len(notes) == 1 and notes[0].startswith("not published in GSSmap") and "no polygon" in notes[0]
        row = next(r for r in ledger.status_rows() if (r.country, r.deliverable) == ("JPN", "salinity_map"))
        assert row.published_version is None and "outside the region" in (row.note or "")

    catalog_path = build_catalogue(prog, [outcome], "run-1")
    sources = {s["country"] for item in pystac.Catalog.from_file(str(catalog_path)).get_items()
               for s in item.properties["atlas:sources"]}
    assert sources == {"KHM"}


# -- 6: a late-filed older delivery replaces nothing ------------------------------------------------------


def test_case_06_late_filed_older_delivery_does_not_replace_the_newer_one(programme):
    pdf(programme.raw_dir / "VNM" / "2026-05-20" / "VNM_GSAS_chapter.pdf", b"the May chapter")
    settle(programme.raw_dir)
    with Ledger(programme.ledger_path, programme) as ledger:
        subs, _ = discover(programme.raw_dir, programme.members)
        [(may, record)] = stages.register(ledger, subs, "run-1")
        stages.process_submission(may, record.id, programme, None, ledger)
        ledger.mark(record.id, "published", product="GSAS book")

        # an April delivery is filed afterwards (found in an old e-mail)
        pdf(programme.raw_dir / "VNM" / "2026-04-01" / "VNM_GSAS_chapter.pdf", b"the April chapter")
        subs, _ = discover(programme.raw_dir, programme.members)
        registered = stages.register(ledger, subs, "run-2")
        [(april, record)] = [(s, r) for s, r in registered if r.is_new]
        assert april.received.isoformat() == "2026-04-01"
        outcome = stages.process_submission(april, record.id, programme, None, ledger)

        older = [f for f in outcome.findings if f.check_id == "inbox.older_delivery"]
        assert len(older) == 1 and "2026-05-20" in older[0].message
        assert ledger.accepted_versions("book_chapter") == {"VNM": may.version}
        assert ledger.current("VNM", "book_chapter").received.isoformat() == "2026-05-20"
        row = next(r for r in ledger.status_rows() if (r.country, r.deliverable) == ("VNM", "book_chapter"))
        assert (row.state, row.version, row.received.isoformat()) == ("published", may.version, "2026-05-20")
        assert row.versions == 2  # the older delivery is recorded

        # deliveries that arrive in order are not "filed late": THA's April chapter is simply superseded
        pdf(programme.raw_dir / "THA" / "2026-04-01" / "THA_GSAS_chapter.pdf", b"April")
        pdf(programme.raw_dir / "THA" / "2026-05-20" / "THA_GSAS_chapter.pdf", b"May")
        subs, _ = discover(programme.raw_dir, programme.members)
        registered = [(s, r) for s, r in stages.register(ledger, subs, "run-3") if s.country == "THA"]
        for sub, record in registered:
            outcome = stages.process_submission(sub, record.id, programme, None, ledger)
            assert not [f for f in outcome.findings if f.check_id == "inbox.older_delivery"]
        assert ledger.accepted_versions("book_chapter")["THA"] == 2


# -- 7: identical files re-sent in a new dated folder are the same version --------------------------------


def test_case_07_identical_files_resent_in_a_new_folder_are_the_same_version(programme):
    first = pdf(programme.raw_dir / "KHM" / "2026-03-01" / "KHM_GSAS_chapter.pdf")
    settle(programme.raw_dir)
    with Ledger(programme.ledger_path, programme) as ledger:
        subs, _ = discover(programme.raw_dir, programme.members)
        [(sub, record)] = stages.register(ledger, subs, "run-1")
        ledger.record_validation(record.id, "accepted", {}, None)

        again = programme.raw_dir / "KHM" / "2026-06-01" / first.name
        again.parent.mkdir(parents=True)
        again.write_bytes(first.read_bytes())
        for run in ("run-2", "run-3"):
            subs, _ = discover(programme.raw_dir, programme.members)
            assert len({s.checksum for s in subs}) == 1
            registered = stages.register(ledger, subs, run)
            assert [r.version for _, r in registered] == [1, 1]
            assert not any(r.is_new for _, r in registered)  # nothing to process, so nothing rebuilt
        assert [r.version for r in ledger.versions("KHM", "book_chapter")] == [1]
        assert ledger.accepted_versions("book_chapter") == {"KHM": 1}
        resent = [e for e in ledger.history("KHM") if "re-sent" in (e["note"] or "")]
        assert len(resent) == 1 and "2026-06-01" in resent[0]["note"]  # recorded once, not at every run


# -- 8: the STAC catalogue holds every product file -------------------------------------------------------


def test_case_08_every_product_file_is_an_asset_of_the_catalogue(tmp_path):
    products = tmp_path / "products"
    tif = write_layer(products / "GSSmap_ECe_0-30.tif", 100.0, 12.0, np.ones((8, 8), "float32"), -9999.0)
    units = gpd.GeoDataFrame({"rsg1": ["CM"]}, geometry=[box(100, 10, 101, 11)], crs="EPSG:4326")
    gpkg, parquet = products / "regional_wrb.gpkg", products / "regional_wrb.parquet"
    units.to_file(gpkg, layer="map_units")
    units.to_parquet(parquet)
    path = build_catalog([tif, gpkg, parquet], [], "run-8", tmp_path / "stac")

    catalog = pystac.Catalog.from_file(str(path))
    items = list(catalog.get_items())
    assert len({i.id for i in items}) == len(items)
    assets = {a.get_absolute_href(): a for i in items for a in i.assets.values()}
    for product in (tif, gpkg, parquet):
        asset = assets.get(str(product.resolve()))
        assert asset is not None, f"{product.name} is not an asset of the catalogue"
        assert asset.extra_fields["atlas:checksum_sha256"] == sha256_file(product)
    wrb = next(i for i in items if i.id == "regional_wrb")  # one item, the map in both formats
    assert {a.media_type for a in wrb.assets.values() if "data" in (a.roles or [])} == {
        "application/geopackage+sqlite3", "application/vnd.apache.parquet"}


# -- 10: changed settings make a product stale ------------------------------------------------------------


def test_case_10_a_changed_threshold_rebuilds_the_product_and_its_legend(programme):
    prog = small_salinity_programme(programme)
    boundaries = gpd.GeoDataFrame({"iso3": ["KHM"], "name": ["Cambodia"]},
                                  geometry=[box(100.0, 10.0, 100.5, 10.5)], crs="EPSG:4326")
    national_salinity(prog, "KHM", 1, 100.0, 10.5)
    first = build_regional_salinity(prog, {"KHM": 1}, boundaries, "run-1")
    assert first.paths and not first.up_to_date
    assert build_regional_salinity(prog, {"KHM": 1}, boundaries, "run-2").up_to_date  # nothing changed

    changed = dataclasses.replace(prog, salinity=dataclasses.replace(prog.salinity, ece_saline_dsm=2.0))
    rebuilt = build_regional_salinity(changed, {"KHM": 1}, boundaries, "run-3")
    assert not rebuilt.up_to_date
    out = layout.regional_salinity_dir(prog.processed_dir)
    legend = json.loads((out / "GSSmap_legend.json").read_text())
    assert legend["salinity_classes"]["thresholds"]["ece_saline_dsm"] == 2.0
    manifest = json.loads((out / "build_manifest.json").read_text())
    assert manifest["settings"]["salinity"]["ece_saline_dsm"] == 2.0
    assert build_regional_salinity(changed, {"KHM": 1}, boundaries, "run-4").up_to_date


# -- 11: loose AppleDouble files are not submissions ------------------------------------------------------


def test_case_11_loose_appledouble_files_are_ignored(programme):
    country = programme.raw_dir / "NPL"
    pdf(country / "2026-03-01" / "NPL_GSAS_chapter.pdf")
    (country / "._NPL_soil.fgb").write_bytes(b"\x00\x05\x16\x07Mac OS X resource fork")
    (country / "2026-03-01" / "maps").mkdir()
    (country / "2026-03-01" / "maps" / "._NPL_GSSmap_ECe_0-30.tif").write_bytes(b"\x00\x05\x16\x07")
    settle(programme.raw_dir)
    subs, findings = discover(programme.raw_dir, programme.members)
    assert [(s.country, s.deliverable) for s in subs] == [("NPL", "book_chapter")]
    # listed as skipped junk (info, nothing to do), never validated as a map
    about_junk = [f for f in findings if "._" in str(f.location.file or "")]
    assert about_junk and {(f.check_id, f.severity.value) for f in about_junk} == {("inbox.junk_ignored", "info")}


# -- 12: Office lock files, and deliveries still being copied ---------------------------------------------


def test_case_12_office_lock_files_are_not_part_of_a_submission(programme):
    delivery = programme.raw_dir / "MDV" / "2026-02-01"
    chapter = docx(delivery / "MDV_GSAS_chapter.docx")
    (delivery / "~$V_GSAS_chapter.docx").write_bytes(b"\x0bsomeone  ")  # Word's lock file, 162 bytes in life
    (programme.raw_dir / "MDV" / "~$old_notes.docx").write_bytes(b"\x0bsomeone  ")
    settle(programme.raw_dir)
    subs, _ = discover(programme.raw_dir, programme.members)
    assert [(s.deliverable, s.files) for s in subs] == [("book_chapter", (chapter,))]


def test_case_12_a_delivery_still_being_copied_waits_for_the_settle_time(programme):
    done = pdf(programme.raw_dir / "KHM" / "2026-03-01" / "KHM_GSAS_chapter.pdf")
    copying = programme.raw_dir / "THA" / "2026-03-02"
    pdf(copying / "THA_GSAS_chapter.pdf")
    pdf(copying / "annex" / "THA_country_profile.pdf")
    settle(programme.raw_dir)
    # one file deep in the THA delivery changed 10 s ago: the copy is still going on
    os.utime(copying / "annex" / "THA_country_profile.pdf", (time.time() - 10, time.time() - 10))

    subs, findings = discover(programme.raw_dir, programme.members, settle_seconds=60)
    assert [s.files for s in subs] == [(done,)]
    [waiting] = [f for f in findings if f.check_id == "inbox.still_copying"]
    assert "THA" in waiting.location.file and "60 s" in waiting.message

    # the same inbox with no settle time (a manual run), or once the copy has settled
    assert {s.country for s in discover(programme.raw_dir, programme.members, settle_seconds=0)[0]} == {"KHM", "THA"}
    settle(copying)
    assert {s.country for s in discover(programme.raw_dir, programme.members, settle_seconds=60)[0]} == {
        "KHM", "THA"}


def test_case_12_settle_time_is_a_declared_setting(tmp_path):
    from atlas.config import DEFAULT_CONFIG, load_programme

    assert load_programme().intake.settle_seconds == 60.0
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    custom = tmp_path / "programme.toml"
    custom.write_text(text.replace("settle_seconds = 60", "settle_seconds = 300"), encoding="utf-8")
    assert load_programme(custom).intake.settle_seconds == 300.0


def test_case_12_scheduled_ingestion_waits_for_copies_and_manual_runs_do_not(programme, monkeypatch):
    import flows.deployments as deployments

    pdf(programme.raw_dir / "KHM" / "2026-03-01" / "KHM_GSAS_chapter.pdf")  # just written: still settling
    assert stages.discover_submissions(programme, settle=True)[0] == []
    assert [s.country for s in stages.discover_submissions(programme)[0]] == ["KHM"]

    calls = []
    monkeypatch.setattr(deployments, "pipeline_flow", lambda prog, dask=False: lambda **kw: calls.append(kw) or {})
    deployments.ingest_new_submissions.fn()
    deployments.process_inbox.fn()
    assert calls[0]["settle"] is True and not calls[1].get("settle", False)


def test_case_02_soil_atlas_leaves_out_a_map_without_reference_polygon(programme):
    from atlas.products.regional import build_regional_soil

    prog = dataclasses.replace(programme, region_bounds=(100.0, 10.0, 102.0, 11.0))
    boundaries = gpd.GeoDataFrame({"iso3": ["KHM"], "name": ["Cambodia"]},
                                  geometry=[box(100.0, 10.0, 101.0, 11.0)], crs="EPSG:4326")
    for iso3, west in (("KHM", 100.0), ("SGP", 101.0)):
        folder = layout.national_dir(prog.processed_dir, iso3, "soil_map", 1)
        folder.mkdir(parents=True)
        gpd.GeoDataFrame({"unit_id": [f"{iso3}1"], "rsg1": ["CM"], "share1": [100]},
                         geometry=[box(west, 10.0, west + 1.0, 11.0)], crs="EPSG:4326").to_file(
            folder / stages.SOIL_MAP_FILE, layer="map_units")
    outcome = build_regional_soil(prog, {"KHM": 1, "SGP": 1}, boundaries, "run-1")
    assert outcome.paths and outcome.included == {"KHM": 1}
    assert "no polygon" in outcome.left_out["SGP"]
    again = build_regional_soil(prog, {"KHM": 1, "SGP": 1}, boundaries, "run-2")  # up to date: read back
    assert again.up_to_date and again.left_out == outcome.left_out
