"""Reports: JSON valid against its schema, Markdown and HTML grouped by severity, terminal text."""

from __future__ import annotations

import json

import jsonschema
import shapely

from checks.finding import Finding, Location, Severity
from checks.report import SCHEMA_PATH, overview_svg, render_text, write_reports

FINDINGS = [
    Finding("raster.crs_missing", Severity.ERROR, "no CRS declared", Location(file="a.tif"), hint="assign it"),
    Finding("vector.geometry_invalid", Severity.WARNING, "Ring Self-intersection", Location(
        file="m.gpkg", feature="7", lon=104.9, lat=13.0), observed="Ring Self-intersection", expected="valid"),
    Finding("vector.geometry_repaired", Severity.FIXED, "1 geometry made valid", Location(file="m.gpkg"),
            observed={"area_before_km2": 1.0, "area_after_km2": 1.0}),
    Finding("raster.value_range", Severity.ERROR, "3 pixels outside", Location(
        file="a.tif", band=1, window=(7, 5, 1, 1), lon=104.06, lat=12.95), observed={"count": 3}, expected=[0, 300]),
]
META = {"country": "KHM", "deliverable": "salinity_map", "version": 2, "files": ["a.tif"], "checksum": "abc",
        "verdict": "rejected", "boundary": shapely.box(104, 12, 105, 13)}


def test_json_report_follows_schema(tmp_path):
    paths = write_reports(FINDINGS, tmp_path, META)
    assert {"json", "md", "html"} <= set(paths)
    report = json.loads(paths["json"].read_text())
    jsonschema.validate(report, json.loads(SCHEMA_PATH.read_text()))
    assert report["counts"] == {"error": 2, "warning": 1, "info": 0, "fixed": 1}
    assert report["verdict"] == "rejected" and "boundary" not in report["meta"]
    assert [f["severity"] for f in report["findings"]] == ["error", "error", "warning", "fixed"]
    assert report["findings"][1]["location"]["window"] == [7, 5, 1, 1]
    assert report["checks"]["raster.crs_missing"]["severity"] == "error"


def test_schema_rejects_a_broken_report(tmp_path):
    report = json.loads(write_reports(FINDINGS, tmp_path, META)["json"].read_text())
    report["findings"][0]["severity"] = "fatal"
    try:
        jsonschema.validate(report, json.loads(SCHEMA_PATH.read_text()))
    except jsonschema.ValidationError as exc:
        assert "fatal" in str(exc)
    else:
        raise AssertionError("schema accepted an unknown severity")


def test_markdown_and_html_group_by_severity_with_map(tmp_path):
    paths = write_reports(FINDINGS, tmp_path, META)
    md = paths["md"].read_text()
    assert md.index("## Error (2)") < md.index("## Warning (1)") < md.index("## Fixed (1)")
    assert "REJECTED" in md and "report_map.svg" in md and "assign it" in md
    page = paths["html"].read_text()
    assert page.count("<circle") == 2 and "<polygon" in page and "Error (2)" in page


def test_svg_without_locations_says_so():
    assert "no finding has a map location" in overview_svg(FINDINGS[:1])


def test_render_text_counts_and_hints():
    text = render_text(FINDINGS, "KHM salinity")
    assert text.splitlines()[0] == "== KHM salinity: REJECTED (2 error, 1 warning, 1 fixed, 0 info)"
    assert "fix: assign it" in text
    assert render_text([], "empty").startswith("== empty: ACCEPTED")
