"""Reports: JSON valid against its schema; HTML/Markdown a focal point can act on (verdict, what to fix, grouped
findings, values for people, a real map, what changed since the previous version); terminal text."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import geopandas as gpd
import jsonschema
import pytest
import shapely

from atlas import layout
from atlas.finding import Finding, Location, Severity
from atlas.reports.changes import previous_report
from atlas.reports.report import SCHEMA_PATH, render_text, write_reports
from atlas.reports.report_map import nice_length_km, report_map_svg
from checks.registry import load_all

FINDINGS = [
    Finding("raster.crs_missing", Severity.ERROR, "no CRS declared", Location(file="a.tif"), hint="assign it"),
    Finding("vector.geometry_invalid", Severity.WARNING, "Ring Self-intersection", Location(
        file="m.gpkg", feature="7", lon=104.9, lat=13.0), observed="Ring Self-intersection", expected="valid"),
    Finding("vector.geometry_repaired", Severity.FIXED, "1 geometry made valid", Location(file="m.gpkg"),
            observed={"area_before_km2": 1.0, "area_after_km2": 1.0}),
    Finding("raster.value_range", Severity.ERROR, "3 pixels outside", Location(
        file="a.tif", band=1, window=(7, 5, 1, 1), lon=104.06, lat=12.95), observed={"count": 3}, expected=[0, 300]),
]
META = {"country": "KHM", "country_name": "Cambodia", "deliverable": "salinity_map", "version": 2,
        "files": ["a.tif"], "checksum": "abc", "verdict": "rejected"}
SCHEMA = json.loads(SCHEMA_PATH.read_text())


@pytest.fixture
def boundaries():
    return gpd.GeoDataFrame({"iso3": ["KHM", "THA", "VNM"], "name": ["Cambodia", "Thailand", "Viet Nam"]},
                            geometry=[shapely.box(104, 12, 105, 13), shapely.box(103, 12, 104, 13.5),
                                      shapely.box(105, 11.5, 106, 13)], crs="EPSG:4326")


def test_json_report_follows_schema(tmp_path, boundaries):
    paths = write_reports(FINDINGS, tmp_path, {**META, "boundary": shapely.box(104, 12, 105, 13)},
                          boundaries=boundaries)
    report = json.loads(paths["json"].read_text())
    jsonschema.validate(report, SCHEMA)
    assert report["schema_version"] == "1.2"
    assert report["counts"] == {"error": 2, "warning": 1, "info": 0, "fixed": 1}
    assert report["verdict"] == "rejected" and "boundary" not in report["meta"]
    assert [f["severity"] for f in report["findings"]] == ["error", "error", "warning", "fixed"]
    assert report["findings"][1]["location"]["window"] == [7, 5, 1, 1]
    assert report["checks"]["raster.crs_missing"]["severity"] == "error"
    assert report["map"] == "report_map.svg" and report["changes"] is None


def test_schema_rejects_a_broken_report(tmp_path):
    report = json.loads(write_reports(FINDINGS, tmp_path, META)["json"].read_text())
    report["findings"][0]["severity"] = "fatal"
    with pytest.raises(jsonschema.ValidationError, match="fatal"):
        jsonschema.validate(report, SCHEMA)


def test_report_opens_with_the_verdict_and_what_to_fix_in_order(tmp_path):
    paths = write_reports(FINDINGS, tmp_path, META)
    page = unescape(paths["html"].read_text())
    sentence = "Version 2 of Cambodia's salinity map is not accepted: 2 errors from 2 checks must be fixed"
    assert sentence in page
    fix = page[page.index('id="fix"'):page.index("</ol>")]
    items = re.findall(r"<li>(.*?)</li>", fix, re.S)
    assert len(items) == 3  # one line per check: two errors, then the warning
    assert "error" in items[0] and "error" in items[1] and "warning" in items[2]
    assert page.index(sentence) < page.index('id="fix"') < page.index("Errors: must be fixed")
    md = paths["md"].read_text()
    assert "## What to fix, in order" in md and md.index("Errors: must be fixed") < md.index("Warnings: should be")


def test_repeated_findings_are_grouped_with_the_rest_folded_away(tmp_path):
    same = [Finding("raster.crs_not_grid", Severity.INFO, f"layer {i} not in EPSG:4326", Location(file=f"{i}.tif"),
                    observed="EPSG:32646", expected="EPSG:4326", hint="nothing to do; delivering in EPSG:4326 avoids "
                    "resampling") for i in range(14)]
    page = unescape(write_reports(same, tmp_path, {**META, "verdict": None})["html"].read_text())
    assert page.count('id="raster.crs_not_grid"') == 1 and "14 times" in page
    assert "<details><summary>11 more of the same</summary>" in page
    shown = page[:page.index("<details>")]
    assert "0.tif" in shown and "2.tif" in shown and "3.tif" not in shown


def test_values_are_written_for_people_and_rules_explained(tmp_path):
    spill = Finding("vector.spill", Severity.WARNING, "35.7 km² (under 0.1%) of the map lies outside",
                    Location(file="m.gpkg", lon=104.5, lat=12.5), observed={"area_km2": 35.74, "share": 0.0001},
                    expected=0, hint="clip the map")
    page = unescape(write_reports([spill], tmp_path, {**META, "verdict": None})["html"].read_text())
    assert "area 35.7 km²; share 0.01 %" in page
    assert '{"area' not in page and "0.0001" not in page  # no JSON in the page
    assert load_all()["vector.spill"].description in page  # the rule itself, not a reference to a document


def test_info_rows_that_ask_for_nothing_say_so(tmp_path):
    info = Finding("raster.crs_identity", Severity.INFO, "EPSG:4326, WGS 84", Location(file="a.tif"),
                   hint="nothing to do")
    page = unescape(write_reports([info], tmp_path, {**META, "verdict": None})["html"].read_text())
    assert "<strong>Action:</strong> No action needed." in page
    assert "is accepted: nothing needs fixing" in page


def test_no_hint_or_rule_points_to_a_document_the_reader_lacks():
    lacking = re.compile(r"SPEC|§|DECISIONS|[A-Z_]+\.md\b|\[[a-z_.]+\]")  # documents or TOML tables
    for chk in load_all().values():
        assert not lacking.search(chk.hint + " " + chk.description), chk.check_id
    root = Path(__file__).resolve().parents[1]
    for path in [*root.glob("checks/*.py"), *root.glob("atlas/**/*.py")]:
        for hint in re.findall(r"hint=f?\"([^\"]*)\"", path.read_text(encoding="utf-8")):
            assert not lacking.search(hint), f"{path.name}: {hint}"


def test_map_shows_country_neighbours_footprint_legend_and_scale(boundaries):
    findings = [f.to_dict() for f in FINDINGS]
    svg = report_map_svg(findings, boundaries, "KHM", footprint=shapely.box(103.9, 11.9, 105.2, 13.1))
    assert svg.startswith("<svg")
    for text in ("KHM (reference border)", "neighbours", "submitted map (outline)", "error: must be fixed (1)",
                 "warning: should be fixed (1)", " km<"):
        assert text in svg, text
    assert ">THA<" in svg and ">VNM<" in svg  # neighbours are labelled
    assert nice_length_km(410) == 100 and nice_length_km(90) == 20 and nice_length_km(3) == 0.5


def test_no_map_where_nothing_is_located(tmp_path, boundaries):
    unlocated = [FINDINGS[0]]
    paths = write_reports(unlocated, tmp_path, META, boundaries=boundaries)
    assert "svg" not in paths and not (tmp_path / "report_map.svg").exists()
    assert "Where the problems are" not in paths["html"].read_text()
    assert json.loads(paths["json"].read_text())["map"] is None


def test_harmonization_report_maps_what_was_changed(tmp_path, boundaries):
    overlap = Finding("harmonize.overlap_resolved", Severity.FIXED, "KHM: 426.100 km2 of the map lie inside THA's "
                      "reference territory", Location(feature="KHM", lon=103.9, lat=12.5), observed=426.1, expected=0)
    meta = {"country": "KHM", "country_name": "Cambodia", "deliverable": "soil_map", "version": 1,
            "stage": "regional harmonization", "verdict": "harmonized"}
    paths = write_reports([overlap], tmp_path, meta, boundaries=boundaries)
    page = unescape(paths["html"].read_text())
    assert "svg" in paths and "Where the map was changed" in page and "KHM (reference border)" in page
    assert "426 km²" in page and "426.100 km²" in page  # the bare number gets its unit
    jsonschema.validate(json.loads(paths["json"].read_text()), SCHEMA)


def test_resubmission_says_what_changed_since_the_previous_version(tmp_path):
    processed = tmp_path / "processed"
    v1 = layout.national_dir(processed, "VNM", "soil_map", 1)
    first = [Finding("vector.field_missing", Severity.ERROR, "share1 missing", Location(file="m.gpkg", layer="m")),
             Finding("vector.crs_identity", Severity.INFO, "EPSG:4326", Location(file="m.gpkg", layer="m"))]
    meta = {"country": "VNM", "country_name": "Viet Nam", "deliverable": "soil_map"}
    write_reports(first, v1, {**meta, "version": 1}, areas={"by": "soil group", "rows": [
        {"name": "CM Cambisols", "area_km2": 100.0}, {"name": "FL Fluvisols", "area_km2": 50.0}]})
    assert previous_report(processed, "VNM", "soil_map", 3)["meta"]["version"] == 1  # v2 has no report: skipped
    second = [first[1], Finding("wrb.share_sum", Severity.WARNING, "2 units", Location(file="n.gpkg", layer="m"))]
    paths = write_reports(second, layout.national_dir(processed, "VNM", "soil_map", 3), {**meta, "version": 3},
                          previous=previous_report(processed, "VNM", "soil_map", 3),
                          areas={"by": "soil group", "rows": [{"name": "CM Cambisols", "area_km2": 120.0},
                                                              {"name": "FL Fluvisols", "area_km2": 50.0}]})
    report = json.loads(paths["json"].read_text())
    jsonschema.validate(report, SCHEMA)
    changes = report["changes"]
    assert changes["since_version"] == 1 and changes["previous_verdict"] == "rejected"
    assert [(r["check_id"], r["count"]) for r in changes["resolved"]] == [("vector.field_missing", 1)]
    assert [r["check_id"] for r in changes["new"]] == ["wrb.share_sum"]
    assert [r["check_id"] for r in changes["unchanged"]] == ["vector.crs_identity"]
    cm = next(r for r in changes["areas"] if r["name"] == "CM Cambisols")
    assert (cm["before_km2"], cm["after_km2"], cm["change_km2"]) == (100.0, 120.0, 20.0)
    page = unescape(paths["html"].read_text())
    assert "What changed since version 1" in page and "+20 km²" in page and "+20 %" in page
    assert "1 finding resolved since then; 1 new, 1 unchanged." in page
    assert "## What changed since version 1" in paths["md"].read_text()


def test_render_text_groups_per_check_with_hints():
    text = render_text(FINDINGS, "KHM salinity")
    first = "== KHM salinity: REJECTED (2 errors, 1 warning, 1 repaired, 0 for the record)"
    assert text.splitlines()[0] == first
    assert "fix: assign it" in text
    assert render_text([], "empty").startswith("== empty: ACCEPTED")


def test_a_problem_whose_example_pixel_moved_is_still_there():
    from atlas.reports.changes import match

    def high(lon, layer="ECe 0-30"):
        return {"check_id": "raster.ece_high", "severity": "warning", "message": "x",
                "location": {"layer": layer, "lon": lon, "lat": 20.0}}

    fixed, new, unchanged = match([high(106.05), high(106.1, "ECe 30-100")], [high(106.2), high(106.3, "pH 0-30")])
    assert [f["location"]["lon"] for f in unchanged] == [106.2]
    assert [f["location"]["layer"] for f in fixed] == ["ECe 30-100"]
    assert [f["location"]["layer"] for f in new] == ["pH 0-30"]


def test_templates_ship_as_package_data():
    import tomllib

    root = Path(__file__).resolve().parents[1]
    patterns = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["atlas"]
    reports = root / "atlas" / "reports"
    for shipped in [*(reports / "templates").iterdir(), *reports.glob("*.json")]:
        assert any(shipped.relative_to(root / "atlas").match(p) for p in patterns), shipped.name


def test_values_for_people_units_and_shapes():
    from atlas.reports.values import human

    assert human({"area_km2": 21.3, "share": 0.0}) == "area 21.3 km²; share under 0.01 %"
    assert human(-3.4028234663852886e38) == "-3.4 × 10³⁸" and human(6.5e-05, "area_km2") == "less than 0.001 km²"
    assert human({"Eutric Cambisols": "CM"}) == "Eutric Cambisols → CM"
    assert human({"None": {"km2": 10.0, "share": 0.5}}) == "None (area 10 km², share 50 %)"
    assert human([1000.0, 0.0, 1000.0, 0.0, -1000.0, 2933000.0]) == "pixels 1,000 × 1,000, origin 1,000, 2,933,000"
    assert human([0, 300]) == "0 to 300" and human({"value": "Ao", "count": 3, "suggested": "AC"}) == "Ao → AC (3)"


def test_a_long_files_and_layers_table_is_folded(tmp_path):
    rows = [{"file": f"f{i}.tif", "kind": "layer", "layer": "ECe", "depth": "0-30", "taken_from": "canonical name",
             "detail": ""} for i in range(12)]
    page = unescape(write_reports([], tmp_path, {**META, "verdict": None, "layers": rows})["html"].read_text())
    assert "f7.tif" in page[:page.index("<details>")] and "<summary>4 more files</summary>" in page
