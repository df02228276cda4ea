"""'What changed' on a partial resubmission compares effective states: sent plus carried over.

Version 2 sends one uncertainty layer and carries four over from version 1: the findings about those four are
"carried over, unchanged" (not resolved), and the area table comes from the carried class layer (no -100 %).
"""

from __future__ import annotations

import json
from html import unescape

import jsonschema
import numpy as np
import rasterio
from affine import Affine

from atlas import layout
from atlas.finding import Finding, Location, Severity
from atlas.products.national_summary import national_summary
from atlas.reports.changes import previous_report
from atlas.reports.report import SCHEMA_PATH, write_reports

SCHEMA = json.loads(SCHEMA_PATH.read_text())
V1_LAYERS = ["ECe_0-30", "pH_0-30", "SAS_0-30", "ESP_0-30"]


def _layer_rows(keys):
    return [{"file": f"VNM_GSSmap_{k}.tif", "kind": "layer", "layer": k.rsplit("_", 1)[0],
             "depth": k.rsplit("_", 1)[1], "taken_from": "canonical name", "detail": ""} for k in keys]


def _write_sas(programme, version: int) -> None:
    folder = layout.national_dir(programme.processed_dir, "VNM", "salinity_map", version)
    folder.mkdir(parents=True, exist_ok=True)
    res = programme.resolution_deg
    with rasterio.open(folder / programme.salinity.file_name("VNM", "SAS", "0-30"), "w", driver="GTiff", width=3,
                       height=1, count=1, dtype="uint8", nodata=255, crs="EPSG:4326",
                       transform=Affine(res, 0, 106, 0, -res, 11)) as dst:
        dst.write(np.array([[1, 3, 3]], dtype="uint8"), 1)


class Sub:
    country, deliverable, key, version = "VNM", "salinity_map", "VNM salinity_map", 2


def test_carried_layers_findings_are_carried_over_not_resolved_and_areas_are_effective(programme):
    processed = programme.processed_dir
    _write_sas(programme, 1)
    meta = {"country": "VNM", "country_name": "Viet Nam", "deliverable": "salinity_map"}
    v1_findings = [Finding("raster.ece_high", Severity.WARNING, f"high values in {k}",
                           Location(file=f"VNM_GSSmap_{k}.tif")) for k in V1_LAYERS] + \
                  [Finding("naming.optional_missing", Severity.INFO, "12 optional layers not sent", Location())]
    _, v1_areas = national_summary(Sub, {"layers": {("SAS", "0-30"): layout.national_dir(
        processed, "VNM", "salinity_map", 1) / programme.salinity.file_name("VNM", "SAS", "0-30")}}, programme)
    write_reports(v1_findings, layout.national_dir(processed, "VNM", "salinity_map", 1),
                  {**meta, "version": 1, "layers": _layer_rows(V1_LAYERS)}, areas=v1_areas)

    carried = {k: 1 for k in V1_LAYERS}  # version 2 sends only ECe_unc_0-30
    _, v2_areas = national_summary(Sub, {"layers": {}}, programme, carried=carried)
    assert v2_areas is not None and {r["source"] for r in v2_areas["rows"]} == {"carried over from version 1"}
    v2_findings = [Finding("naming.optional_missing", Severity.INFO, "11 optional layers not sent", Location())]
    paths = write_reports(v2_findings, layout.national_dir(processed, "VNM", "salinity_map", 2),
                          {**meta, "version": 2, "layers": _layer_rows(["ECe_unc_0-30"])},
                          previous=previous_report(processed, "VNM", "salinity_map", 2), areas=v2_areas,
                          carried=carried)
    report = json.loads(paths["json"].read_text())
    jsonschema.validate(report, SCHEMA)
    changes = report["changes"]
    assert changes["resolved"] == []  # nothing was fixed: the layers were not sent again
    assert [(r["check_id"], r["count"]) for r in changes["carried"]] == [("raster.ece_high", 4)]
    assert [r["check_id"] for r in changes["unchanged"]] == ["naming.optional_missing"]
    assert all(r["change_km2"] == 0 for r in changes["areas"]) and changes["areas_note"] is None
    page = unescape(paths["html"].read_text())
    assert "Nothing resolved since then" in page and "carried over, unchanged" in page
    assert "-100" not in page and "could not be read" not in page
    assert "Moderate salinity, 0-30 cm" in page and "ModerateSalinity" not in page
    assert "1 for the record" in page and "finding(s) fixed" not in page and "0 repaired" in page


def test_the_carried_layers_are_asked_in_one_place_and_sent_layers_are_not_carried(programme):
    """The seam (atlas.reports.changes.carried_layers) reads the ledger today; the report counts a layer a
    version sends itself as sent, even when an earlier version holds it too."""
    from atlas.reports.changes import carried_layers
    from atlas.stages import write_national_reports

    class Ledger:
        def carried_layers(self, country, version, deliverable):
            return {"SAS_0-30": 1, "ECe_unc_0-30": 1}

    assert carried_layers(Ledger(), "VNM", "salinity_map", 2) == {"SAS_0-30": 1, "ECe_unc_0-30": 1}
    assert carried_layers(Ledger(), "VNM", "soil_map", 2) == {} and carried_layers(None, "VNM", "salinity_map", 2) == {}
    _write_sas(programme, 1)
    out = layout.national_dir(programme.processed_dir, "VNM", "salinity_map", 2)
    meta = {"country": "VNM", "deliverable": "salinity_map", "version": 2, "layers": _layer_rows(["ECe_unc_0-30"])}
    paths = write_national_reports(Sub, [], out, meta, {"layers": {}}, programme, None,
                                   carried=carried_layers(Ledger(), "VNM", "salinity_map", 2))
    report = json.loads(paths["json"].read_text())
    kept = [r for r in report["meta"]["layers"] if r["kind"] == "carried"]
    assert [(r["layer"], r["depth"]) for r in kept] == [("SAS", "0-30")]  # ECe_unc was sent, not carried
    assert {r["source"] for r in report["areas"]["rows"]} == {"carried over from version 1"}
