"""Vector and WRB checks on soil maps: for every check a map that passes and a map that fails it."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from atlas.intake.readers import read_soil_map, repair_soil_map
from checks.registry import REGISTRY, load_all
from checks.vector import soil_map_findings

load_all()
COUNTRY = "KHM"
BOUNDARY = shapely.box(104.0, 12.0, 105.0, 13.0)
BOWTIE = shapely.Polygon([(104.0, 12.0), (104.3, 13.0), (104.3, 12.0), (104.0, 13.0)])


def soil_frame(**overrides) -> gpd.GeoDataFrame:
    """Three strips covering BOUNDARY exactly, valid in every respect."""
    data = {"unit_id": ["u1", "u2", "u3"], "rsg1": ["CM", "LV", "FL"], "share1": [100, 60, 100],
            "rsg2": [None, "GL", None], "share2": [None, 40, None],
            "geometry": [shapely.box(104.0, 12.0, 104.3, 13.0), shapely.box(104.3, 12.0, 104.7, 13.0),
                         shapely.box(104.7, 12.0, 105.0, 13.0)]}
    data.update(overrides)
    return gpd.GeoDataFrame(data, crs="EPSG:4326")


def write_map(folder: Path, gdf: gpd.GeoDataFrame | None = None, name: str = "KHM_soil.gpkg", **kw) -> Path:
    path = folder / name
    (soil_frame() if gdf is None else gdf).to_file(path, **kw)
    return path


def _shapefile(folder: Path, cpg: str | None, text: str = "Calcaric Cambisols – coastal") -> Path:
    gdf = soil_frame(rsg1=["CM", "LV", "FL"], qualifiers=[text, "x", "y"])
    path = folder / "KHM_soil.shp"
    gdf.to_file(path, encoding="cp1252", engine="pyogrio")
    for cpg_file in folder.glob("KHM_soil.cpg"):
        cpg_file.unlink()
    if cpg is not None:
        (folder / "KHM_soil.cpg").write_text(cpg)
    return path


def _zipped(folder: Path, junk: bool, cpg: str = "ANSI 1252") -> Path:
    shp_dir = folder / "shp"
    shp_dir.mkdir()
    _shapefile(shp_dir, cpg)
    path = folder / "KHM_soil.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for f in shp_dir.iterdir():
            zf.write(f, f.name)
        if junk:
            zf.writestr("__MACOSX/._KHM_soil.shp", b"\x00\x05\x16\x07junk")
            zf.writestr("KHM_soil.dbf~", b"stale backup")
    return path


def _no_prj(folder: Path) -> Path:
    path = write_map(folder, name="KHM_soil.shp")
    path.with_suffix(".prj").unlink()
    return path


def _two_layers(folder: Path) -> Path:
    path = write_map(folder)
    soil_frame().to_file(path, layer="other")
    return path


def _frame_with(**kw):
    return lambda d: write_map(d, soil_frame(**kw))


def _rows(frame: gpd.GeoDataFrame):
    return lambda d: write_map(d, frame)


def _projected_as_degrees(folder: Path) -> Path:
    gdf = soil_frame().to_crs("EPSG:32648").set_crs("EPSG:4326", allow_override=True)
    return write_map(folder, gdf)


base = soil_frame()
FAILING = {
    "vector.format": lambda d: (d / "KHM_soil.csv").write_text("a,b\n") and d / "KHM_soil.csv",
    "vector.unreadable": lambda d: (d / "KHM_soil.gpkg").write_bytes(b"garbage") and d / "KHM_soil.gpkg",
    "vector.junk_ignored": lambda d: _zipped(d, junk=True),
    "vector.encoding": lambda d: _shapefile(d, "ANSI 1252"),
    "vector.encoding_undeclared": lambda d: _shapefile(d, None),
    "vector.encoding_mismatch": lambda d: _zipped(d, junk=False, cpg="UTF-8"),
    "vector.multiple_layers": _two_layers,
    "vector.empty": lambda d: write_map(d, soil_frame().iloc[:0]),
    "vector.crs_missing": _no_prj,
    "vector.crs_identity": lambda d: write_map(d),
    "vector.crs_not_geographic": lambda d: write_map(d, soil_frame().to_crs("EPSG:32648")),
    "vector.crs_implausible": _projected_as_degrees,
    "vector.geometry_type": _frame_with(geometry=[shapely.Point(104.1, 12.5)] + list(base.geometry[1:])),
    "vector.geometry_empty": _frame_with(geometry=[None] + list(base.geometry[1:])),
    "vector.geometry_invalid": _frame_with(geometry=[BOWTIE] + list(base.geometry[1:])),
    "vector.geometry_duplicate": _rows(pd.concat([base, base.iloc[[0]].assign(unit_id="u4")], ignore_index=True)),
    "vector.overlap": _frame_with(geometry=[shapely.box(104.0, 12.0, 104.4, 13.0)] + list(base.geometry[1:])),
    "vector.sliver": _rows(pd.concat([base, gpd.GeoDataFrame(
        {"unit_id": ["u9"], "rsg1": ["CM"], "share1": [100], "geometry": [shapely.box(105.0, 12.0, 105.001, 12.001)]},
        crs="EPSG:4326")], ignore_index=True)),
    "vector.field_missing": _rows(base.drop(columns=["share1"])),
    "vector.coverage_gap": _rows(base.iloc[:2]),
    "vector.spill": _frame_with(geometry=list(base.geometry[:2]) + [shapely.box(104.7, 12.0, 105.3, 13.0)]),
    "wrb.missing": _frame_with(rsg1=[None, "LV", "FL"]),
    "wrb.code_unknown": _frame_with(rsg1=["XX", "LV", "FL"]),
    "wrb.legacy_code": _frame_with(rsg1=["Ao", "ACh", "FL"]),
    "wrb.name_variant": _frame_with(rsg1=["haplic cambisol", "LV", "FL"]),
    "wrb.non_soil": _frame_with(rsg1=["WR", "LV", "FL"]),
    "wrb.share_sum": _frame_with(share1=[100, 60, 90]),
    "wrb.version": _frame_with(wrb_version=["2022", "2006", "2022"]),
    "vector.field_name_truncated": lambda d: write_map(d, soil_frame(wrb_version=[2022] * 3), name="KHM_soil.shp"),
    "vector.outside_territory": _rows(soil_frame().set_geometry(soil_frame().geometry.translate(3.0, 0.0))),
    "wrb.no_soil_classes": _rows(soil_frame().drop(columns=["rsg1", "rsg2"]).assign(
        fertility=["Low Fertility Soil", "Medium Fertility Soil", "High Fertility Soil"])),
    "wrb.crosswalk_template": _frame_with(rsg1=["Ao", "LV", "FL"]),
}
CHECKED_ELSEWHERE = {"vector.geometry_repaired",  # test_invalid_geometry_location_and_repair
                     "wrb.crosswalk_applied", "wrb.crosswalk_invalid",  # tests/test_checks_crosswalk.py
                     "wrb.own_canonical_columns"}  # tests/test_review_cases_21.py (case b)
PASSING = {
    "vector.format": lambda d: write_map(d),
    "vector.junk_ignored": lambda d: _zipped(d, junk=False),
    "vector.encoding": lambda d: _shapefile(d, "UTF-8", text="plain ascii"),
    "vector.encoding_undeclared": lambda d: _shapefile(d, "ANSI 1252"),
    "vector.encoding_mismatch": lambda d: _zipped(d, junk=False),
    "vector.crs_identity": _no_prj,
}


@pytest.mark.parametrize("check_id", sorted(FAILING))
def test_vector_check_fails_bad_map_and_passes_good_one(check_id, programme, tmp_path):
    bad_dir, good_dir = tmp_path / "bad", tmp_path / "good"
    bad_dir.mkdir()
    good_dir.mkdir()
    bad = FAILING[check_id](bad_dir)
    good = PASSING.get(check_id, write_map)(good_dir)
    bad_ids = {f.check_id for f in soil_map_findings(bad, programme, COUNTRY, BOUNDARY)}
    good_ids = {f.check_id for f in soil_map_findings(good, programme, COUNTRY, BOUNDARY)}
    assert check_id in bad_ids
    assert check_id not in good_ids


def test_clean_map_has_no_errors_or_warnings(programme, tmp_path):
    findings = soil_map_findings(write_map(tmp_path), programme, COUNTRY, BOUNDARY)
    assert {f.severity.value for f in findings} <= {"info"}, [f.message for f in findings]


def test_cp1252_text_is_decoded_as_declared(tmp_path):
    gdf, findings = read_soil_map(_shapefile(tmp_path, "ANSI 1252"))
    assert gdf.loc[0, "qualifiers"] == "Calcaric Cambisols – coastal"  # 0x96 is an en dash only in cp1252
    assert [f.check_id for f in findings] == ["vector.encoding"]


def test_zip_junk_is_listed_and_map_read(tmp_path):
    gdf, findings = read_soil_map(_zipped(tmp_path, junk=True))
    assert len(gdf) == 3
    junk = next(f for f in findings if f.check_id == "vector.junk_ignored")
    assert set(junk.observed) == {"__MACOSX/._KHM_soil.shp", "KHM_soil.dbf~"}


def test_invalid_geometry_location_and_repair(programme, tmp_path):
    path = FAILING["vector.geometry_invalid"](tmp_path)
    hit = next(f for f in soil_map_findings(path, programme, COUNTRY, BOUNDARY)
               if f.check_id == "vector.geometry_invalid")
    assert hit.location.lon == pytest.approx(104.15) and hit.location.lat == pytest.approx(12.5)
    gdf, _ = read_soil_map(path)
    repaired, fixes = repair_soil_map(gdf, path.name)
    assert repaired.geometry.is_valid.all()
    assert fixes[0].check_id == "vector.geometry_repaired" and fixes[0].severity.value == "fixed"
    assert not gdf.geometry.is_valid.all()  # the input frame is left untouched


def test_gap_and_spill_are_measured_in_km2(programme, tmp_path):
    path = FAILING["vector.coverage_gap"](tmp_path)
    gap = next(f for f in soil_map_findings(path, programme, COUNTRY, BOUNDARY) if f.check_id == "vector.coverage_gap")
    # 0.3 degree x 1 degree near 12.5 N: about 0.3 * 108.6 km * 110.6 km
    assert gap.observed["area_km2"] == pytest.approx(0.3 * 111.32 * 0.976 * 110.6, rel=0.03)


def test_every_vector_and_wrb_check_is_covered():
    file_checks = {c.check_id for c in REGISTRY.values() if c.target == "vector"}
    assert file_checks - CHECKED_ELSEWHERE == set(FAILING)


@pytest.mark.parametrize(("check_id", "words"), [
    ("vector.geometry_empty", "1 feature has no geometry"),
    ("vector.geometry_type", "1 feature is ['Point']"),
    ("wrb.missing", "1 feature has an empty rsg1"),
    ("wrb.share_sum", "1 map unit has shares summing to other than 100"),
])
def test_counts_in_findings_read_in_words(check_id, words, programme, tmp_path):
    path = FAILING[check_id](tmp_path)
    hit = next(f for f in soil_map_findings(path, programme, COUNTRY, BOUNDARY) if f.check_id == check_id)
    assert hit.message.startswith(words) and "(s)" not in hit.message, hit.message
