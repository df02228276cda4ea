"""Which file is which salinity layer (issue 12 point 2): canonical names, real-life aliases, manifest.csv."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest

from atlas.config import load_programme
from atlas.errors import ConfigError
from checks.layers import resolve_layers, text_kind

sys.path.insert(0, str(Path(__file__).parent))

NAMES = {  # file name -> (layer, depth, taken from)
    "KHM_GSSmap_ECe_0-30.tif": ("ECe", "0-30", "canonical name"),
    "khm_GSSmap_ECe_0-30.tif": ("ECe", "0-30", "canonical name"),
    "KHM_GSSmap_pH_0-30.tiff": ("pH", "0-30", "canonical name"),
    "KHM_GSSmap_ECe_sd_30-100.tif": ("ECe_unc", "30-100", "canonical name"),
    "KHM_GSSmap_SAS_unc_0-30.tif": ("SAS_unc", "0-30", "canonical name"),
    # the GSP manual's own script names (SPEC §2)
    "Top0_30ECse.tif": ("ECe", "0-30", "recognised alias"),
    "EC0_30_uncertain.tif": ("ECe_unc", "0-30", "recognised alias"),
    "Saltaffected0_31.tif": ("SAS", "0-30", "recognised alias"),
    "ECtop0_30cm.tif": ("ECe", "0-30", "recognised alias"),
    "Top0_30saltaffected.tif": ("SAS", "0-30", "recognised alias"),
    # later GSP products and what countries write
    "PHL-GSAS-EC-2024-0-30.tif": ("ECe", "0-30", "recognised alias"),
    "PHL_GSNmap_pH_Map030.tif": ("pH", "0-30", "recognised alias"),
    "SD_pH_30-100.tif": ("pH_unc", "30-100", "recognised alias"),
    "PH_0-30cm.tif": ("pH", "0-30", "recognised alias"),
    "ESP_sub.tif": ("ESP", "30-100", "recognised alias"),
    "pH_top.tif": ("pH", "0-30", "recognised alias"),
    "ECe_30_100.tif": ("ECe", "30-100", "recognised alias"),
    "Salt_0-30.tif": ("SAS", "0-30", "recognised alias"),
    "THA_ESP_unc_30-100.tif": ("ESP_unc", "30-100", "recognised alias"),
}


@pytest.fixture(scope="module")
def spec():
    return load_programme().salinity


@pytest.mark.parametrize("name", sorted(NAMES))
def test_names_countries_and_gsp_scripts_use(name, spec):
    lf = resolve_layers([Path(name)], spec).files[0]
    assert (lf.layer, lf.depth, lf.source) == NAMES[name]


@pytest.mark.parametrize("name,source", [("EC_pH_0-30.tif", "ambiguous"), ("ECe_0-30_30-100.tif", "ambiguous"),
                                         ("salinity.tif", "unrecognised"), ("mosaic_2020.tif", "unrecognised"),
                                         ("Phil_0-30.tif", "unrecognised")])
def test_ambiguous_or_unknown_names_are_not_guessed(name, source, spec):
    lf = resolve_layers([Path(name)], spec).files[0]
    assert lf.key is None and lf.source == source


def test_manifest_overrides_names_and_says_the_legend(tmp_path, spec):
    (tmp_path / "manifest.csv").write_text("file,layer,depth,legend\nmap1.tif,ECe,0_30cm,\n"
                                           "Top0_30ECse.tif,pH,0-30,\nclasses.tif,SAS,30-100,programme\n"
                                           "bad.tif,EC,0-30,\n")
    files = [tmp_path / n for n in ("manifest.csv", "map1.tif", "Top0_30ECse.tif", "classes.tif", "bad.tif")]
    res = resolve_layers(files, spec)
    got = {f.path.name: (f.layer, f.depth, f.source) for f in res.files if f.kind == "layer"}
    assert got["map1.tif"] == ("ECe", "0-30", "manifest")
    assert got["Top0_30ECse.tif"] == ("pH", "0-30", "manifest")  # the manifest wins over the name
    assert res.of(tmp_path / "classes.tif").legend == "programme"
    assert got["bad.tif"][2] == "unrecognised" and any("'EC'" in p for p in res.manifest_problems)


def test_text_files_told_apart(tmp_path, real_data):
    ref = real_data / "reference"
    assert text_kind(ref / "gsp_saltaffected_LUT_example.txt") == "lookup_table"
    assert text_kind(ref / "gsp_metafile_example.txt") == "metafile"
    assert text_kind(ref / "FAO_90_names.csv") == "unknown"
    notes = tmp_path / "notes.txt"
    notes.write_text("sent by the soil survey office\n")
    assert text_kind(notes) == "unknown"


def test_required_layers_configurable_and_checked(tmp_path):
    text = (Path(load_programme().root) / "programme.toml").read_text(encoding="utf-8")
    custom = tmp_path / "programme.toml"
    custom.write_text(text.replace('required_layers = ["ECe_0-30", "pH_0-30", "SAS_0-30"]',
                                   'required_layers = ["ECe_0-30"]'))
    assert load_programme(custom).salinity.required_layers == ("ECe_0-30",)
    custom.write_text(text.replace('required_layers = ["ECe_0-30", "pH_0-30", "SAS_0-30"]',
                                   'required_layers = ["EC_0-30"]'))
    with pytest.raises(ConfigError, match="EC_0-30"):
        load_programme(custom)
    custom.write_text(text.replace('criterion = "FAO"', 'criterion = "Richards"'))
    with pytest.raises(ConfigError, match="criterion"):
        load_programme(custom)


def test_older_settings_with_sd_layers_still_resolve(spec):
    old = dataclasses.replace(spec, layers=("ECe", "pH", "ESP", "SAS", "ECe_sd", "pH_sd", "ESP_sd"))
    lf = resolve_layers([Path("EC0_30_uncertain.tif")], old).files[0]
    assert (lf.layer, lf.depth) == ("ECe_sd", "0-30")


def test_file_not_taken_gets_the_manifest_line_to_add(tmp_path, programme):
    from test_checks_raster import write_raster

    from checks.raster import raster_findings

    ambiguous = write_raster(tmp_path, "KHM_EC_pH_0-30.tif")
    (hit,) = [f for f in raster_findings(ambiguous, programme, "KHM") if f.check_id == "naming.layer_ambiguous"]
    assert hit.expected == "KHM_EC_pH_0-30.tif,ECe|pH,0-30,"
    unknown = write_raster(tmp_path, "salinity_ece.tif")
    (hit,) = [f for f in raster_findings(unknown, programme, "KHM") if f.check_id == "naming.file_pattern"]
    assert hit.expected == "salinity_ece.tif,ECe,<depth>," and "add to manifest.csv" in hit.message
