"""programme.toml checked against the schema derived from atlas.config's dataclasses."""

from __future__ import annotations

import copy
import dataclasses
import tomllib

import pytest

from atlas.config import DEFAULT_CONFIG, Programme, SalinitySpec, load_programme
from atlas.config_schema import schema, validate_settings
from atlas.errors import ConfigError

RAW = tomllib.loads(DEFAULT_CONFIG.read_text(encoding="utf-8"))


def _tables(table: dict, path: tuple[str, ...] = ()):
    """Every (path, table) of the TOML file that holds at least one plain key."""
    plain = [k for k, v in table.items() if not isinstance(v, dict)]
    if path and plain:
        yield path, table, plain[0]
    for key, value in table.items():
        if isinstance(value, dict):
            yield from _tables(value, (*path, key))


SECTIONS = list(_tables(RAW))


def test_the_shipped_programme_is_valid():
    validate_settings(copy.deepcopy(RAW), Programme)
    programme = load_programme()
    assert programme.operations.retries == 3 and programme.limits.max_raster_bands == 16
    assert programme.short_name == "ASP"


@pytest.mark.parametrize("path,key", [(p, k) for p, _, k in SECTIONS], ids=[".".join(p) for p, _, _ in SECTIONS])
def test_a_typo_in_each_section_is_refused_naming_the_nearest_key(path, key):
    raw = copy.deepcopy(RAW)
    table = raw
    for name in path:
        table = table[name]
    typo = key[:-1] + key[-1] * 2 if len(key) > 1 else key + "x"  # e.g. deadlinee
    table[typo] = table.pop(key)
    with pytest.raises(ConfigError) as err:
        validate_settings(raw, Programme)
    message = str(err.value)
    if path == ("members",):
        assert f"[members] {typo}: a member is keyed by its ISO3 code" in message
    elif path == ("salinity", "classes"):
        assert f"[salinity.classes] {typo}: a key here must be an integer" in message
    elif path == ("status", "map_points"):
        assert f"[status.map_points] {typo}: not a member, did you mean {key}?" in message
    elif path in (("salinity", "units"), ("salinity", "ranges")):
        assert f"[salinity.{path[1]}] {typo}: not a layer, did you mean {key}?" in message
    else:
        assert f"{typo}: did you mean {key}?" in message or f"{typo} = " in message
        assert key in message
    assert "\n" not in message


def test_misspelt_deadline_from_the_file(tmp_path):
    text = DEFAULT_CONFIG.read_text(encoding="utf-8").replace('deadline = "2026-06-30"', 'deadlne = "2026-06-30"')
    (tmp_path / "programme.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[deliverables.salinity_map\] deadlne: did you mean deadline\?"):
        load_programme(tmp_path / "programme.toml")


@pytest.mark.parametrize("section", [k for k, v in RAW.items() if isinstance(v, dict)])
def test_a_misspelt_section_is_refused(section):
    raw = copy.deepcopy(RAW)
    typo = section[:-1]  # operation, limit, ...
    raw[typo] = raw.pop(section)
    with pytest.raises(ConfigError, match=rf"unknown section \[{typo}\]: did you mean \[{section}\]\?"):
        validate_settings(raw, Programme)


@pytest.mark.parametrize("section,key,value,expected", [
    ("operations", "retries", "three", "expected an integer"),
    ("grid", "resolution_deg", "fine", "expected a number"),
    ("region", "bounds", [80.0, 5.5, 110.0], "expected a list of 4 numbers"),
    ("operations", "ingest_paused", "maybe", "expected true or false"),
    ("reference", "iso_columns", "iso3", "expected a list of text strings"),
])
def test_a_wrong_type_names_the_key_and_the_type(section, key, value, expected):
    raw = copy.deepcopy(RAW)
    raw[section][key] = value
    with pytest.raises(ConfigError, match=rf"\[{section}\] {key} = .*: {expected}"):
        validate_settings(raw, Programme)


def test_country_order_names_members():
    raw = copy.deepcopy(RAW)
    raw["status"]["country_order"] = ["VNM", "KHMM"]
    with pytest.raises(ConfigError, match=r"\[status\] country_order KHMM: not a member, did you mean KHM\?"):
        validate_settings(raw, Programme)


def test_status_formats_name_export_formats():
    raw = copy.deepcopy(RAW)
    raw["status"]["formats"] = ["csv", "pgn", "docx"]
    with pytest.raises(ConfigError) as err:
        validate_settings(raw, Programme)
    assert "[status] formats 'pgn': not an export format, did you mean png?" in str(err.value)
    assert "[status] formats 'docx': not an export format; formats are csv, xlsx, md, html, png, svg" in str(err.value)
    raw["status"]["formats"] = ["csv", "md"]
    validate_settings(raw, Programme)


def test_a_wrong_deadline_and_a_missing_setting():
    raw = copy.deepcopy(RAW)
    raw["deliverables"]["soil_map"]["deadline"] = "2026-13-45"
    del raw["grid"]["crs"]
    with pytest.raises(ConfigError) as err:
        validate_settings(raw, Programme)
    assert "[deliverables.soil_map] deadline = '2026-13-45': expected a date (YYYY-MM-DD)" in str(err.value)
    assert "missing setting crs in [grid]" in str(err.value)


def test_every_dataclass_field_is_in_the_schema():
    """The schema comes from the dataclasses: each field of Programme and SalinitySpec has a place in it."""
    tree = schema(Programme)

    def keys(slots, prefix=""):
        for name, slot in slots.items():
            yield prefix + name
            yield from keys(slot.children, f"{prefix}{name}.")

    known = set(keys(tree))
    assert {"operations.retries", "limits.max_raster_bands", "status.country_order", "grid.crs",
            "salinity.thresholds.ece_saline_dsm", "members", "deliverables"} <= known
    salinity_fields = {f.name for f in dataclasses.fields(SalinitySpec)}
    assert {"layers", "depths", "class_nodata", "units"} <= salinity_fields & known_children(tree["salinity"])
    assert all(f.name in {"root", "extra"} or f.type for f in dataclasses.fields(Programme))


def known_children(slot):
    return set(slot.children)
