"""Metafiles: parsed as the GSP manual writes them, checked against their raster, personal data withheld."""

from __future__ import annotations

import pytest
from test_checks_raster import BOUNDARY, COUNTRY, ids, write_raster

from checks.metafile import accuracy_rows, metafile_path
from checks.metafile_text import (
    accuracy_statistics,
    parse_metafile,
    personal_data,
    public_entries,
    read_metafile,
    statements,
)
from checks.naming import SubmissionContext
from checks.raster import raster_findings
from checks.registry import REGISTRY, load_all, run_checks

load_all()

# What write_raster writes: 120 x 120 pixels of 1/120 degree over 104..105°E, 12..13°N, values 0.5..50 (mean 25.25).
GOOD = """Title                    Topsoil ECe map of Cambodia\r
Depth                    0-30 cm\r
Units                    dS/m\r
Projection               WGS 84 (EPSG: 4326) Geographic\r
Map Resolution           1 km (0.008333 degrees)\r
File format              GeoTIFF\r
Extent                   104.0,12.0\r
                         105.0,13.0\r
                         Width: 120\r
                         Height: 120\r
Summary statistics       Maximum value: 50\r
                         Minimum value: 0.5\r
                         Mean value: 25.25\r
Map development          Method: Digital Soil Mapping\r
                         Model: Random Forest\r
Accuracy statistics      RMSE: 1.9  ME: 0.12  R2: 0.54  NSE: 0.52\r
Citation                 Soil Survey Division (2026)\r
"""


def write_pair(folder, metafile=GOOD, name="KHM_GSSmap_ECe_0-30.tif", meta_name=None, **raster):
    path = write_raster(folder, name, **raster)
    (folder / (meta_name or path.with_suffix(".txt").name)).write_bytes(metafile.encode("cp1252"))
    return path


def metafile_ids(path, programme):
    return {i for i in ids(raster_findings(path, programme, COUNTRY, BOUNDARY)) if i.startswith("metafile.")}


def test_manual_example_parses_with_its_quirks(real_data):
    path = real_data / "reference" / "gsp_metafile_example.txt"
    assert b"\r\n" in path.read_bytes()  # written as Notepad writes it
    meta = read_metafile(path)
    assert meta.entries["Title"] == "Topsoil Electrical Conductivity (EC) map of Sudan"
    assert meta.entries["Map extent"] == ""  # a key without a value
    assert meta.entries["Laboratory method"].count("\n") == 3  # a value running on over indented lines
    said = statements(meta)
    assert said.epsg == 4326 and said.size == (28800, 25200)
    assert said.resolution == (0.000278, "deg")
    assert said.extent == pytest.approx((25.0, 16.0, 33.0, 23.0), abs=1e-3)
    assert said.stats == {"max": 53.125, "min": 0.0125, "mean": 24.106, "sd": 4.127}
    assert accuracy_statistics(meta) == {"Accuracy": 73.0}


def test_personal_data_found_and_withheld(real_data):
    meta = read_metafile(real_data / "reference" / "gsp_metafile_example.txt")
    assert {p.key for p in personal_data(meta)} == {"Laboratory method", "Citation"}
    public = "\n".join(public_entries(meta).values())
    for secret in ("nmhm@gmail.com", "abdelmagid@yahoo.com", "123 456 7891", "Nuha Mohamed", "Abdel Magid"):
        assert secret not in public
    assert "Agriculture Research Centre, Soil Laboratory" in public  # an institution is not personal data


def test_tolerant_parsing_of_other_spellings():
    text = "\ufeffTITLE:\tEC map\nunits: dS m-1\n\n  stray indented line\nMap resolution\t30 arc-seconds\nFoo bar baz\n"
    meta = parse_metafile(text)
    assert meta.get("Title") == "EC map" and meta.get("Units") == "dS m-1\nstray indented line"
    assert statements(meta).resolution == pytest.approx((30 / 3600, "deg"))
    assert meta.unknown_keys == ("Foo bar baz",)


def test_metafile_found_by_layer_name(tmp_path):
    raster = write_raster(tmp_path)
    assert metafile_path(raster) is None
    (tmp_path / "KHM_GSSmap_ECe_0-30_metafile.TXT").write_text("Title  x")
    assert metafile_path(raster).name == "KHM_GSSmap_ECe_0-30_metafile.TXT"


def test_true_metafile_gives_no_warning(programme, tmp_path):
    found = raster_findings(write_pair(tmp_path), programme, COUNTRY, BOUNDARY)
    assert {f.check_id for f in found if f.check_id.startswith("metafile.")} == {"metafile.accuracy_recorded"}
    assert not [f for f in found if f.check_id.startswith("metafile.") and f.severity.value != "info"]


FAILING = {
    "metafile.unreadable": GOOD.replace("Title", "Ti\x00tle"),
    "metafile.keys_missing": GOOD.replace("Projection", "Projektion"),
    "metafile.projection_mismatch": GOOD.replace("EPSG: 4326", "EPSG: 32648"),
    "metafile.resolution_mismatch": GOOD.replace("1 km (0.008333 degrees)", "30 m"),
    "metafile.extent_mismatch": GOOD.replace("Width: 120", "Width: 28800"),
    "metafile.statistics_mismatch": GOOD.replace("Mean value: 25.25", "Mean value: 24.106"),
    "metafile.units_mismatch": GOOD.replace("dS/m", "uS/cm"),
    "metafile.personal_data_withheld": GOOD.replace("Soil Survey Division (2026)",
                                                    "Contact: Dr. Sok Dara (dara@example.org; Tel: +855 12 345 678)"),
    "metafile.accuracy_missing": GOOD.replace("Accuracy statistics      RMSE: 1.9  ME: 0.12  R2: 0.54  NSE: 0.52\r\n",
                                              ""),
}


@pytest.mark.parametrize("check_id", sorted(FAILING))
def test_metafile_check_fails_on_its_defect(check_id, programme, tmp_path):
    good, bad = tmp_path / "good", tmp_path / "bad"
    good.mkdir()
    bad.mkdir()
    assert check_id not in metafile_ids(write_pair(good, GOOD), programme)
    assert check_id in metafile_ids(write_pair(bad, FAILING[check_id]), programme)


def test_extent_checked_in_degrees_for_projected_rasters(programme, tmp_path):
    from affine import Affine

    # the same square in UTM 48N (about 104..105°E): stated in degrees, the extent is compared in degrees
    utm = write_pair(tmp_path, GOOD.replace("EPSG: 4326", "EPSG: 32648").replace("1 km (0.008333 degrees)", "1 km")
                     .replace("104.0,12.0", "50.0,1.0").replace("Width: 120", "Width: 110").replace(
                         "Height: 120", "Height: 110"),
                     crs="EPSG:32648", transform=Affine(1000, 0, 608000, 0, -1000, 1437000),
                     data=[[1.0] * 110] * 110)
    found = {f.check_id: f for f in raster_findings(utm, programme, COUNTRY, BOUNDARY)}
    assert "metafile.extent_mismatch" in found and "metafile.resolution_mismatch" not in found
    assert "metafile.projection_mismatch" not in found


def test_missing_metafiles_reported_once_per_submission(programme, tmp_path):
    ece = write_pair(tmp_path)
    ph = write_raster(tmp_path, "KHM_GSSmap_pH_0-30.tif")
    found = run_checks("submission", "salinity_map", SubmissionContext((ece, ph), programme, COUNTRY))
    missing = [f for f in found if f.check_id == "metafile.missing"]
    assert len(missing) == 1 and missing[0].observed == [ph.name] and missing[0].severity.value == "warning"


def test_missing_metafile_severity_is_configurable(programme, tmp_path):
    from dataclasses import replace

    from atlas.config import MetafileSpec

    strict = replace(programme, metafile=MetafileSpec(missing="error"))
    ph = write_raster(tmp_path, "KHM_GSSmap_pH_0-30.tif")
    found = run_checks("submission", "salinity_map", SubmissionContext((ph,), strict, COUNTRY))
    assert [f.severity.value for f in found if f.check_id == "metafile.missing"] == ["error"]


def test_unknown_metafile_setting_is_refused(tmp_path):
    from atlas.config import DEFAULT_CONFIG, load_programme
    from atlas.errors import ConfigError

    text = DEFAULT_CONFIG.read_text().replace('missing = "warning"', 'misssing = "warning"')
    (tmp_path / "programme.toml").write_text(text)
    with pytest.raises(ConfigError, match="misssing"):
        load_programme(tmp_path / "programme.toml")


def test_accuracy_rows_from_findings(programme, tmp_path):
    found = raster_findings(write_pair(tmp_path), programme, COUNTRY, BOUNDARY)
    rows = {(r["layer"], r["depth"], r["statistic"]): r["value"] for r in accuracy_rows(found)}
    assert rows == {("ECe", "0-30", "RMSE"): 1.9, ("ECe", "0-30", "ME"): 0.12, ("ECe", "0-30", "R2"): 0.54,
                    ("ECe", "0-30", "NSE"): 0.52}


def test_every_metafile_check_is_covered():
    family = {c.check_id for c in REGISTRY.values() if c.family == "metafile" and c.target == "raster"}
    assert family == set(FAILING) | {"metafile.accuracy_recorded"}
