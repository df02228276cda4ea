"""Releases of the regional products and `atlas verify` (issue 21, items 2-4, cases c and m).

Small synthetic programmes: harmonized national copies written straight into data/processed, as the
regional stage reads them, and the ledger filled as the pipeline would fill it.
"""

from __future__ import annotations

import dataclasses
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pystac
import pytest
import rasterio
from shapely.geometry import box

from atlas import layout, stages
from atlas.intake.inbox import discover
from atlas.ledger.store import Ledger
from atlas.products.regional import build_catalogue, build_regional_salinity, build_regional_soil
from tests.test_review_cases_pipeline import national_salinity, small_salinity_programme, write_layer

KHM = gpd.GeoDataFrame({"iso3": ["KHM"], "name": ["Cambodia"]}, geometry=[box(100.0, 10.0, 100.5, 10.5)],
                       crs="EPSG:4326")
TWO = gpd.GeoDataFrame({"iso3": ["KHM", "THA"], "name": ["Cambodia", "Thailand"]},
                       geometry=[box(100.0, 10.0, 101.0, 11.0), box(101.0, 10.0, 102.0, 11.0)], crs="EPSG:4326")


def soil_map(programme, iso3: str, west: float, unit_ids: list, wrb_version: list, version: int = 1):
    """A harmonized national WRB map of two units side by side, one degree wide, in data/processed."""
    folder = layout.national_dir(programme.processed_dir, iso3, "soil_map", version)
    folder.mkdir(parents=True, exist_ok=True)
    gpd.GeoDataFrame({"unit_id": unit_ids, "rsg1": ["CM", "FL"], "share1": [100, 100], "wrb_version": wrb_version},
                     geometry=[box(west, 10.0, west + 0.5, 11.0), box(west + 0.5, 10.0, west + 1.0, 11.0)],
                     crs="EPSG:4326").to_file(folder / stages.SOIL_MAP_FILE, layer="map_units")


def soil_programme(programme):
    return dataclasses.replace(programme, region_bounds=(100.0, 10.0, 102.0, 11.0))


# -- case c: text map-unit ids in one map, integers in another --------------------------------------------


def test_case_c_text_and_integer_unit_ids_build_the_soil_atlas(programme):
    prog = soil_programme(programme)
    soil_map(prog, "KHM", 100.0, ["KHM-0001", "KHM-0002"], ["2022", "2022"])
    soil_map(prog, "THA", 101.0, [1, 2], [2015, 2015])  # integers, and a wrb_version read as a number
    outcome = build_regional_soil(prog, {"KHM": 1, "THA": 1}, TWO, "run-1")
    assert not [f.message for f in outcome.findings if f.check_id == "pipeline.internal_error"]
    folder = layout.regional_soil_dir(prog.processed_dir)
    units = gpd.read_parquet(folder / "regional_wrb.parquet")
    assert sorted(units["unit_id"]) == ["1", "2", "KHM-0001", "KHM-0002"]
    assert set(units["wrb_version"]) == {"2015", "2022"}
    in_gpkg = gpd.read_file(folder / "regional_wrb.gpkg", layer="map_units")
    assert sorted(in_gpkg["unit_id"]) == sorted(units["unit_id"])


def test_case_c_a_failed_soil_atlas_build_leaves_the_earlier_release_whole(programme, monkeypatch):
    prog = soil_programme(programme)
    soil_map(prog, "KHM", 100.0, [1, 2], ["2022", "2022"])
    soil_map(prog, "THA", 101.0, [1, 2], ["2022", "2022"])
    build_regional_soil(prog, {"KHM": 1, "THA": 1}, TWO, "run-1")
    folder = layout.regional_soil_dir(prog.processed_dir)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    soil_map(prog, "KHM", 100.0, [7, 8], ["2022", "2022"], version=2)  # a new version, whose Parquet write fails

    def broken(self, path, *args, **kwargs):
        raise ValueError("Could not convert 'BGD-0001' with type str: tried to convert to int64")

    monkeypatch.setattr(gpd.GeoDataFrame, "to_parquet", broken)
    failed = build_regional_soil(prog, {"KHM": 2, "THA": 1}, TWO, "run-2")
    assert [f for f in failed.findings if f.check_id == "pipeline.internal_error"]
    folder = layout.regional_soil_dir(prog.processed_dir)  # the current release: still the first one
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert json.loads((folder / "build_manifest.json").read_text())["versions"] == {"KHM": 1, "THA": 1}
    monkeypatch.undo()
    from atlas.products.release_checks import check_release

    assert check_release(layout.current_release(prog.processed_dir)) == []


# -- case m: an empty product ----------------------------------------------------------------------------


def khm_with_own_classes(prog) -> None:
    """KHM sends ECe, ESP and its own class layer: no country's classes are derived, SAS_derived is empty."""
    national_salinity(prog, "KHM", 1, 100.0, 10.5)
    classes = np.random.default_rng(1).integers(1, 4, (60, 60)).astype("uint8")
    folder = layout.national_dir(prog.processed_dir, "KHM", "salinity_map", 1)
    write_layer(folder / prog.salinity.file_name("KHM", "SAS", "0-30"), 100.0, 10.5, classes, 255)


def test_case_m_an_empty_product_is_not_published(programme):
    prog = small_salinity_programme(programme)
    khm_with_own_classes(prog)
    outcome = build_regional_salinity(prog, {"KHM": 1}, KHM, "run-1")
    build_catalogue(prog, [outcome], "run-1")
    folder = layout.regional_salinity_dir(prog.processed_dir)
    assert (folder / "GSSmap_SAS_0-30.tif").is_file()
    assert not (folder / "GSSmap_SAS_derived_0-30.tif").exists()
    assert "GSSmap_SAS_derived_0-30.tif" not in {p.name for p in outcome.paths}
    catalog = pystac.Catalog.from_file(str(layout.stac_dir(prog.processed_dir) / "catalog.json"))
    assert "GSSmap_SAS_derived_0-30" not in {item.id for item in catalog.get_items()}
    areas = pd.read_csv(folder / "salinity_class_areas.csv")
    assert len(areas) and not areas.astype(str).apply(lambda col: col.str.contains("derived")).any().any()
    assert any(f.check_id == "mosaic.empty_product" for f in outcome.findings)


def test_case_m_verify_flags_an_empty_product(programme):
    from atlas.products.release_checks import check_rasters

    prog = small_salinity_programme(programme)
    khm_with_own_classes(prog)
    build_regional_salinity(prog, {"KHM": 1}, KHM, "run-1")
    release = layout.current_release(prog.processed_dir)
    assert check_rasters(release) == []
    empty = layout.salinity_in(release) / "GSSmap_SAS_derived_0-30.tif"
    with rasterio.open(layout.salinity_in(release) / "GSSmap_SAS_0-30.tif") as src:
        profile = src.profile
    with rasterio.open(empty, "w", **{**profile, "driver": "GTiff"}) as dst:
        dst.write(np.full((profile["height"], profile["width"]), 255, "uint8"), 1)
    assert check_rasters(release) == [
        "salinity/GSSmap_SAS_derived_0-30.tif: empty product (0 valid pixels) is published"]


# -- atlas verify ----------------------------------------------------------------------------------------


@pytest.fixture
def published(tmp_path):
    """A programme (config file in tmp_path) whose KHM salinity v1 is built, released and published."""
    from atlas.config import DEFAULT_CONFIG, load_programme

    config = tmp_path / "programme.toml"
    config.write_text(DEFAULT_CONFIG.read_text(encoding="utf-8")
                      .replace("bounds = [80.0, 5.5, 110.0, 30.5]", "bounds = [100.0, 10.0, 101.0, 10.5]"),
                      encoding="utf-8")
    prog = load_programme(config)
    national_salinity(prog, "KHM", 1, 100.0, 10.5)
    outcome = build_regional_salinity(prog, {"KHM": 1}, KHM, "run-1")
    with Ledger(prog.ledger_path, prog) as ledger:
        raw = prog.raw_dir / "KHM" / "2026-03-01" / prog.salinity.file_name("KHM", "ECe", "0-30")
        write_layer(raw, 100.0, 10.5, np.ones((4, 4), "float32"), -9999.0)
        [sub], _ = discover(prog.raw_dir, prog.members)
        record = ledger.record_submission(sub)
        ledger.record_validation(record.id, "accepted", {}, None)
        ledger.mark(record.id, "harmonized")
        ledger.record_layers(record.id, ["ECe_0-30", "ESP_0-30"])
        stages.publish_versions(ledger, "salinity_map", outcome, "run-1")
    return prog, config


def _verify(capsys, config) -> tuple[int, list[str]]:
    from atlas.cli import main

    try:
        main(["verify", "--config", str(config)])
        code = 0
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, [line for line in out.out.splitlines() if line.strip()]


def test_verify_passes_on_a_fresh_build(published, capsys):
    _, config = published
    code, lines = _verify(capsys, config)
    assert code == 0 and len(lines) == 1 and lines[0].endswith(": verified"), lines


def test_verify_fails_with_one_line_when_a_product_pixel_changes(published, capsys):
    prog, config = published
    path = layout.regional_salinity_dir(prog.processed_dir) / "GSSmap_ECe_0-30.tif"
    # one pixel of KHM's ECe, in the middle of the country
    with rasterio.open(path, "r+", IGNORE_COG_LAYOUT_BREAK="YES") as dst:
        dst.write(np.array([[123.0]], "float32"), 1, window=rasterio.windows.Window(30, 30, 1, 1))
    code, lines = _verify(capsys, config)
    assert code == 1
    assert any(line.startswith("salinity/GSSmap_ECe_0-30.tif: checksum") and "differs from STAC" in line
               for line in lines), lines


def test_verify_fails_with_one_line_when_a_file_is_removed(published, capsys):
    prog, config = published
    (layout.regional_salinity_dir(prog.processed_dir) / "GSSmap_ESP_0-30.tif").unlink()
    code, lines = _verify(capsys, config)
    assert code == 1
    assert "salinity/GSSmap_ESP_0-30.tif: listed in salinity/build_manifest.json but missing" in lines


def test_verify_finds_a_product_pixel_that_is_not_its_national_copy(published):
    from atlas.ledger.verify import verify_release

    prog, _ = published
    # the national copy changed under the product (same check for a product changed and re-catalogued)
    national = layout.national_dir(prog.processed_dir, "KHM", "salinity_map", 1) / "KHM_GSSmap_ECe_0-30.tif"
    with rasterio.open(national, "r+") as dst:
        dst.write(np.full((60, 60), 1.5, "float32"), 1)
    with Ledger(prog.ledger_path, prog) as ledger:
        problems = verify_release(prog, ledger)
    assert len(problems) == 1 and problems[0].startswith("salinity/GSSmap_ECe_0-30.tif: 200 of 200 sampled KHM")


def test_verify_finds_the_ledger_disagreeing_with_the_release(published):
    from atlas.ledger.verify import verify_release

    prog, _ = published
    national_salinity(prog, "KHM", 2, 100.0, 10.5, seed=3)  # v2 released, its run killed before the ledger step
    build_regional_salinity(prog, {"KHM": 2}, KHM, "run-2")
    with Ledger(prog.ledger_path, prog) as ledger:
        problems = verify_release(prog, ledger)
    name = layout.current_release_name(prog.processed_dir)
    assert problems == [f"GSSmap in release {name} holds KHM salinity_map v2; the ledger has no such version",
                        f"the ledger says KHM salinity_map v1 is published; GSSmap in release {name} holds v2 and "
                        "none of v1's data (it should read superseded)"]


# -- releases --------------------------------------------------------------------------------------------


def test_a_failed_build_leaves_the_previous_release_current(programme, monkeypatch):
    import atlas.products.regional as regional
    from atlas.products.release_checks import check_release

    prog = small_salinity_programme(programme)
    national_salinity(prog, "KHM", 1, 100.0, 10.5)
    build_regional_salinity(prog, {"KHM": 1}, KHM, "run-1")
    first = layout.current_release_name(prog.processed_dir)
    files = {p.relative_to(layout.current_release(prog.processed_dir)): p.read_bytes()
             for p in layout.current_release(prog.processed_dir).rglob("*") if p.is_file()}

    national_salinity(prog, "KHM", 2, 100.0, 10.5, seed=5)

    def tables_fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(regional, "salinity_tables", tables_fail)  # mosaics written, then the tables fail
    outcome = build_regional_salinity(prog, {"KHM": 2}, KHM, "run-2")
    assert "disk full" in " ".join(f.message for f in outcome.findings)
    assert layout.current_release_name(prog.processed_dir) == first
    current = layout.current_release(prog.processed_dir)
    assert {p.relative_to(current): p.read_bytes() for p in current.rglob("*") if p.is_file()} == files
    assert check_release(current) == []
    assert [p.name for p in layout.releases_dir(prog.processed_dir).iterdir()] == [first]  # nothing half-built


def test_releases_are_listed_and_the_configured_number_kept(programme, capsys, tmp_path):
    from atlas.config import DEFAULT_CONFIG, ReleaseSettings, load_programme
    from atlas.products.release import list_releases

    prog = dataclasses.replace(small_salinity_programme(programme), releases=ReleaseSettings(keep=2))
    national_salinity(prog, "KHM", 1, 100.0, 10.5)
    names = []
    for run in range(3):
        build_regional_salinity(prog, {"KHM": 1}, KHM, f"run-{run}", force=True)
        names.append(layout.current_release_name(prog.processed_dir))
    kept = list_releases(prog.processed_dir)
    assert [r["name"] for r in kept] == names[:0:-1]  # the two newest, newest first
    assert kept[0]["current"] and not kept[1]["current"]
    assert kept[0]["products"]["GSSmap"]["versions"] == {"KHM": 1} and kept[0]["previous"] == names[1]
    earlier = kept[1]["path"] / "salinity" / "GSSmap_ECe_0-30.tif"
    with rasterio.open(earlier) as src:  # an earlier release stays readable
        assert (src.read(1) != src.nodata).sum() == 60 * 60

    config = tmp_path / "programme.toml"
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    config.write_text(text.replace("keep = 5 ", "kepp = 5 "), encoding="utf-8")
    from atlas.errors import ConfigError

    with pytest.raises(ConfigError, match="kepp"):
        load_programme(config)
    config.write_text(text.replace("keep = 5 ", "keep = 2 "), encoding="utf-8")
    assert load_programme(config).releases.keep == 2


def test_atlas_releases_lists_them_and_the_failed_attempts(published, capsys):
    from atlas.cli import main

    prog, config = published
    with Ledger(prog.ledger_path, prog) as ledger:
        ledger.record_release("20260101T000000Z", "run-9", "failed", "GSSmap: salinity mosaic failed: disk full")
    main(["releases", "--config", str(config)])
    lines = capsys.readouterr().out.splitlines()
    name = layout.current_release_name(prog.processed_dir)
    assert lines[0].startswith(f"* {name}") and "GSSmap: KHM v1" in lines[0]
    assert "20260101T000000Z" in lines[1] and "FAILED, not published: GSSmap: salinity mosaic failed: disk full" \
        in lines[1]
    assert lines[-1].startswith("1 release kept ([releases] keep = 5)")


def test_the_flow_records_a_failed_release_and_keeps_the_previous_one(programme):
    """flows.pipeline._release: a product that failed refuses the whole release; ledger and summary say why."""
    import logging

    from atlas.finding import internal_error
    from atlas.products import release
    from atlas.products.regional import RegionalOutcome
    from flows.pipeline import _release

    prog = small_salinity_programme(programme)
    national_salinity(prog, "KHM", 1, 100.0, 10.5)
    build_regional_salinity(prog, {"KHM": 1}, KHM, "run-1")
    first = layout.current_release_name(prog.processed_dir)

    staging = release.begin(prog.processed_dir, "run-2")
    broken = RegionalOutcome("Soil Atlas WRB", versions={"KHM": 2},
                             findings=[internal_error(None, "soil atlas harmonization", OSError("disk full"))])
    with Ledger(prog.ledger_path, prog) as ledger:
        line = _release(prog, ledger, staging, [broken], [], "run-2", logging.getLogger("test"))
        [attempt] = ledger.release_attempts()
    assert not staging.exists() and layout.current_release_name(prog.processed_dir) == first
    assert line.startswith(f"release {release.release_name(staging)} FAILED (Soil Atlas WRB: ")
    assert "disk full" in line and line.endswith(f"release {first} stays current")
    assert attempt["outcome"] == "failed" and "disk full" in attempt["reason"]


def test_a_failure_drill_fails_the_named_step_only(programme, monkeypatch):
    prog = small_salinity_programme(programme)
    national_salinity(prog, "KHM", 1, 100.0, 10.5)
    monkeypatch.setenv("ATLAS_FAILPOINTS", "soil_atlas, salinity_mosaic")
    drilled = build_regional_salinity(prog, {"KHM": 1}, KHM, "run-1")
    assert [f.message for f in drilled.findings] == [
        "the salinity mosaic stage failed unexpectedly: atlas.failpoints.DrillFailure: failure drill: ATLAS_FAILPOINTS "
        "names 'salinity_mosaic'"]
    assert layout.current_release_name(prog.processed_dir) is None  # nothing was published
    monkeypatch.setenv("ATLAS_FAILPOINTS", "soil_atlas")
    assert build_regional_salinity(prog, {"KHM": 1}, KHM, "run-2").paths
    assert layout.current_release_name(prog.processed_dir) is not None


def test_a_product_not_rebuilt_is_carried_into_the_next_release_without_copying(programme):
    from atlas.products.release_checks import check_release

    prog = soil_programme(small_salinity_programme(programme))
    soil_map(prog, "KHM", 100.0, [1, 2], ["2022", "2022"])
    soil_map(prog, "THA", 101.0, [1, 2], ["2022", "2022"])
    build_regional_soil(prog, {"KHM": 1, "THA": 1}, TWO, "run-1")
    first = layout.current_release(prog.processed_dir)
    national_salinity(prog, "KHM", 1, 100.0, 10.5)
    build_regional_salinity(prog, {"KHM": 1}, TWO, "run-2")  # a new release: the salinity mosaics join
    second = layout.current_release(prog.processed_dir)
    assert second != first and first.is_dir()
    carried = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file() and "stac" not in p.parts
                     and p.name != "release.json")
    assert carried and all((second / p).stat().st_ino == (first / p).stat().st_ino for p in carried)
    assert (layout.salinity_in(second) / "GSSmap_ECe_0-30.tif").is_file()
    assert not (layout.salinity_in(first)).exists()
    assert check_release(second) == [] and check_release(first) == []
    record = json.loads((second / "release.json").read_text())
    assert record["previous"] == first.name and set(record["products"]) == {"GSSmap", "Soil Atlas WRB"}
    assert record["products"]["Soil Atlas WRB"]["rebuilt"] is False
