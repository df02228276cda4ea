"""Class maps bound to their legend, values not what their slot says, class map against ECe/ESP (issue 12)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from atlas.borders.raster import harmonize_salinity
from atlas.finding import Severity
from atlas.intake.inbox import Submission
from atlas.products.class_consistency import class_disagreement
from atlas.reports.report import render_markdown
from checks.legend import parse_lookup_table
from checks.naming import SubmissionContext
from checks.raster import raster_findings
from checks.registry import run_checks

RES = 1.0 / 120.0
GSP_LUT = '"classcode" "mapvalue"\n1 "ModerateSalinity"\n2 "None"\n3 "SlightSalinity"\n4 "SlightSodicity"\n' \
          '5 "StrongSalinity"\n'


def tif(path: Path, data, nodata=255) -> Path:
    data = np.asarray(data)
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[1], height=data.shape[0], count=1,
                       dtype=data.dtype.name, crs="EPSG:4326", transform=Affine(RES, 0, 104.0, 0, -RES, 12.0),
                       nodata=nodata) as dst:
        dst.write(data, 1)
    return path


def ranks():
    """A class map as the GSP script writes it: codes 1-5, the alphabetical ranks of five class names."""
    return np.resize(np.array([1, 2, 3, 4, 5], dtype="uint8"), (10, 10))


def submission_checks(files, programme):
    return run_checks("submission", "salinity_map", SubmissionContext(tuple(files), programme, "KHM"))


def by_id(findings, check_id):
    return [f for f in findings if f.check_id == check_id]


def test_reference_lookup_table_parsed(real_data):
    text = (real_data / "reference" / "gsp_saltaffected_LUT_example.txt").read_text()
    table, problems = parse_lookup_table(text)
    assert table == {1: "ModerateSalinity", 2: "None", 3: "SlightSalinity", 4: "SlightSodicity", 5: "StrongSalinity"}
    assert problems == []


@pytest.mark.parametrize("text", [
    GSP_LUT,
    '"classcode" "mapvalue"\n"1" 1 "ModerateSalinity"\n"2" 2 "None"\n',  # write.table with row names
    "code,class\n1,Moderate Salinity\n2,none\n",  # CSV, names in another spelling
    "value;name\n1;moderate-salinity\n2;NONE\n",
])
def test_lookup_table_formats_and_name_spellings(text, tmp_path, programme):
    sas = tif(tmp_path / "Saltaffected0_31.tif", ranks() % 2 + 1)
    lut = tmp_path / "saltaffected_LUT0_30.txt"
    lut.write_text(text)
    findings = submission_checks([sas, lut], programme)
    mapping = by_id(findings, "legend.mapping")
    assert mapping and not [f for f in findings if f.check_id.startswith("legend.") and f.severity == Severity.ERROR]
    assert mapping[0].observed["1"].endswith("class 3 Moderate salinity")
    assert mapping[0].observed["2"].endswith("class 1 None")


def test_factor_rank_codes_recoded_onto_the_programme_legend(tmp_path, programme, real_data):
    sas = tif(tmp_path / "Top0_30saltaffected.tif", ranks())
    lut = shutil.copy(real_data / "reference" / "gsp_saltaffected_LUT_example.txt",
                      tmp_path / "saltaffected_LUT0_30.txt")
    sub = Submission("KHM", "salinity_map", "2026-03-02", 1, tmp_path, (sas, Path(lut)), dt.date(2026, 3, 2), "x")
    out, findings = harmonize_salinity(sub, programme, tmp_path / "out")
    with rasterio.open(out[("SAS", "0-30")]) as src:
        values = src.read(1)
    code = {v: k for k, v in programme.salinity.classes.items()}
    expected = np.array([0, code["ModerateSalinity"], code["None"], code["SlightSalinity"], code["SlightSodicity"],
                         code["StrongSalinity"]], dtype="uint8")[ranks()]
    np.testing.assert_array_equal(values, expected)
    assert out[("SAS", "0-30")].name == "KHM_GSSmap_SAS_0-30.tif"
    assert by_id(findings, "harmonize.classes_recoded")
    assert (tmp_path / "out" / "class_legends.json").is_file()  # the mosaic copies it into the product's legend


def test_class_map_without_a_legend_is_an_error_proposing_the_manifest_line(tmp_path, programme):
    sas = tif(tmp_path / "KHM_GSSmap_SAS_0-30.tif", ranks())
    missing = by_id(submission_checks([sas], programme), "legend.missing")
    assert missing and missing[0].severity == Severity.ERROR
    assert "KHM_GSSmap_SAS_0-30.tif,SAS,0-30," in missing[0].message


def test_manifest_can_say_codes_follow_the_programme_legend(tmp_path, programme):
    sas = tif(tmp_path / "classes.tif", ranks())
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("file,layer,depth,legend\nclasses.tif,SAS,0-30,programme\n")
    findings = submission_checks([sas, manifest], programme)
    assert not [f for f in findings if f.check_id.startswith("legend.") and f.severity == Severity.ERROR]
    assert by_id(findings, "legend.mapping")


def test_values_without_a_legend_entry_named_with_pixel_counts(tmp_path, programme):
    data = ranks()
    data[0, :3] = 9
    sas = tif(tmp_path / "KHM_GSSmap_SAS_0-30.tif", data)
    lut = tmp_path / "saltaffected_LUT0_30.txt"
    lut.write_text(GSP_LUT)
    unlisted = by_id(submission_checks([sas, lut], programme), "legend.code_unlisted")
    assert unlisted and unlisted[0].observed == {"9": 3} and "9 (3 pixels)" in unlisted[0].message


def test_real_aquaculture_class_is_outside_the_programme_legend(tmp_path, programme, real_data):
    src = real_data / "soil_raster" / "ind_odisha_salinity" / "JSP_predicted_ECAqua_raster_1995.tif"
    sas = tmp_path / "IND_GSSmap_SAS_0-30.tif"
    sas.symlink_to(src)
    lut = tmp_path / "saltaffected_LUT0_30.txt"
    lut.write_text('"classcode" "mapvalue"\n0 "None"\n1 "ModerateSalinity"\n2 "Aquaculture pond"\n')
    findings = run_checks("submission", "salinity_map", SubmissionContext((sas, lut), programme, "IND"))
    outside = by_id(findings, "legend.class_not_in_programme")
    assert outside and "'Aquaculture pond' (85959 pixels)" in outside[0].message
    sub = Submission("IND", "salinity_map", "1995", 1, tmp_path, (sas, lut), dt.date(2026, 3, 2), "x")
    out, _ = harmonize_salinity(sub, programme, tmp_path / "out")
    assert ("SAS", "0-30") not in out  # never reaches a product with a wrong class


def test_real_binary_class_raster_delivered_as_ece(tmp_path, programme, real_data):
    src = real_data / "soil_raster" / "ind_odisha_salinity" / "JSP_predicted_EC_raster_2024.tif"
    ece = tmp_path / "IND_GSSmap_ECe_0-30.tif"
    ece.symlink_to(src)
    hit = by_id(raster_findings(ece, programme, "IND"), "raster.values_look_like_classes")
    assert hit and hit[0].severity == Severity.ERROR and "[0, 1]" in hit[0].message


def test_class_map_and_properties_disagreement_in_km2_and_share(tmp_path, programme):
    code = {v: k for k, v in programme.salinity.classes.items()}
    ece = np.full((20, 20), 5.0, dtype="float32")  # StrongSalinity everywhere by ECe (ESP low, pH neutral)
    esp = np.full((20, 20), 2.0, dtype="float32")
    ph = np.full((20, 20), 7.0, dtype="float32")
    sas = np.full((20, 20), code["StrongSalinity"], dtype="uint8")
    sas[:5, :] = code["None"]  # a quarter classed None although ECe is 5 dS/m
    layers = {("ECe", "0-30"): tif(tmp_path / "e.tif", ece, -9999.0), ("ESP", "0-30"): tif(tmp_path / "s.tif", esp,
                                                                                            -9999.0),
              ("pH", "0-30"): tif(tmp_path / "p.tif", ph, -9999.0), ("SAS", "0-30"): tif(tmp_path / "c.tif", sas)}
    findings = class_disagreement(layers, programme, tmp_path)
    (finding,) = findings
    assert finding.observed["None"]["share"] == 1.0 and finding.observed["Strong salinity"]["share"] == 0.0
    assert finding.observed["None"]["disagree_km2"] == pytest.approx(100 * 0.855, rel=0.05)  # 100 px ~0.85 km2 each
    assert "25%" in finding.message and (tmp_path / "class_consistency.csv").is_file()


def test_report_first_table_says_which_file_is_which_layer():
    meta = {"country": "KHM", "layers": [{"file": "Top0_30ECse.tif", "kind": "layer", "layer": "ECe",
                                          "depth": "0-30", "taken_from": "recognised alias", "detail": "x"}]}
    text = render_markdown([], meta)
    assert "## Files and layers" in text and "| Top0_30ECse.tif | ECe | 0-30 | recognised alias | x |" in text


def test_legend_in_a_metafile(tmp_path, programme, real_data):
    sas = tif(tmp_path / "Top0_30saltaffected.tif", ranks() % 2 + 1)
    meta = tmp_path / "Top0_30saltaffected_metafile.txt"
    meta.write_text((real_data / "reference" / "gsp_metafile_example.txt").read_text()
                    + "Legend                   1 = None\r\n                         2 = Slight salinity\r\n")
    findings = submission_checks([sas, meta], programme)
    mapping = by_id(findings, "legend.mapping")
    assert mapping and "metafile" in mapping[0].message and mapping[0].observed["2"].endswith("class 2 Slight salinity")
