"""Reference Soil Group recognition: WRB codes and names, legacy legends, non-soil units."""

from __future__ import annotations

import pytest

from checks.wrb import FAO74_GROUPS, RSG_CODES, normalise_rsg


@pytest.mark.parametrize(("value", "code", "kind", "suggested"), [
    ("CM", "CM", "wrb_code", None),
    ("cm", "CM", "wrb_code", None),
    ("Cambisols", "CM", "wrb_name", None),
    ("Haplic Phaeozem", "PH", "wrb_name", None),
    ("CALCARIC CAMBISOLS", "CM", "wrb_name", None),
    ("Solonetz", "SN", "wrb_name", None),
    ("AB", "AB", "legacy_wrb2006", "RT"),
    ("Albeluvisols", None, "legacy_wrb2006", "RT"),
    ("ACh", "ACh", "legacy_fao90", "AC"),
    ("PDd", "PDd", "legacy_fao90", "RT"),
    ("Ao", "Ao", "legacy_fao74", "AC"),
    ("Ao82-2/3b", "Ao", "legacy_fao74", "AC"),
    ("E", "E", "legacy_fao74", "LP"),
    ("Ch", "Ch", "legacy_fao74", "CH"),  # mixed case two letters: FAO-74 subunit, not the WRB code CH
    ("Acid Lithosols", "I", "legacy_fao74", "LP"),
    ("WR", None, "non_soil", None),
    ("WAT", None, "non_soil", None),
    ("Open Water", None, "non_soil", None),
    ("Glaciers", None, "non_soil", None),
    ("Latosols", None, "legacy_national", "FR"),
    ("Red-yellow podzols", None, "legacy_national", "AC"),  # a national class, not the WRB group Podzols
    ("Great Lake", None, "non_soil", None),
    ("XX", None, "unknown", None),
    ("", None, "missing", None),
    (None, None, "missing", None),
])
def test_normalise_rsg(value, code, kind, suggested):
    match = normalise_rsg(value)
    assert (match.code, match.kind, match.suggested) == (code, kind, suggested)
    assert match.original == (None if value is None else value)


def test_tables_are_complete():
    assert len(RSG_CODES) == 32
    assert all(normalise_rsg(code).kind == "wrb_code" for code in RSG_CODES)
    assert all(normalise_rsg(name).code == code for code, name in RSG_CODES.items())
    assert all(normalise_rsg(name[:-1]).code == code for code, name in RSG_CODES.items() if name.endswith("s"))
    assert all(suggested in RSG_CODES for _, suggested in FAO74_GROUPS.values())


def test_match_is_frozen():
    with pytest.raises(AttributeError):
        normalise_rsg("CM").code = "LV"
