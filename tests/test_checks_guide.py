"""The submission guide is written from programme.toml and the check registry, and follows them when they change."""

from __future__ import annotations

import dataclasses
import datetime as dt
from html import unescape

from typer.testing import CliRunner

from atlas.cli import app
from atlas.reports.guide import guide_values, layer_requirements, write_guide
from checks.registry import load_all


def test_guide_lists_deliverables_deadlines_formats_layers_and_checks(programme, tmp_path):
    paths = write_guide(programme, tmp_path)
    md, page = paths["md"].read_text(), unescape(paths["html"].read_text())
    for text in ("30 June 2026", "15 December 2026", "28 February 2026", "GeoPackage (.gpkg, preferred)",
                 "{ISO3}_GSSmap_{layer}_{depth}.tif", "manifest.csv", "saltaffected_LUT0_30.txt",
                 "Map development", "unit_id", "Cambisols", "5 km", "1/120 degree"):
        assert text in md and text in page, text
    # every check that applies to a deliverable is explained under it, with its rule and its fix
    for chk in load_all().values():
        if "soil_map" in chk.products:
            assert chk.check_id in page and unescape(chk.hint) in page, chk.check_id
    assert "SPEC" not in md and "§" not in md


def test_guide_changes_when_the_configuration_changes(programme, tmp_path):
    chapter = programme.deliverables["book_chapter"]
    later = dataclasses.replace(chapter, deadline=dt.date(2027, 3, 31))
    changed = dataclasses.replace(programme, deliverables={**programme.deliverables, "book_chapter": later},
                                  members={**programme.members, "KAZ": "Kazakhstan"}, gap_fill_max_width_km=2.5)
    md = write_guide(changed, tmp_path)["md"].read_text()
    row = next(line for line in md.splitlines() if line.startswith(f"| {chapter.title}"))
    assert "31 March 2027" in row and "28 February 2026" not in row  # (the threats table is due then too)
    assert "| KAZ | Kazakhstan |" in md and "2.5 km" in md


def test_required_layers_follow_the_configuration(programme):
    default = layer_requirements(programme)
    assert default[("ECe", "0-30")] == "required" and default[("ESP", "0-30")] == "optional"
    fewer = dataclasses.replace(programme.salinity, required_layers=("ECe_0-30", "pH_0-30", "ESP_30-100"))
    chosen = layer_requirements(dataclasses.replace(programme, salinity=fewer))
    assert chosen[("SAS", "0-30")] == "optional" and chosen[("ESP", "30-100")] == "required"
    salinity = {s.key: s for s in guide_values(dataclasses.replace(programme, salinity=fewer))["sections"]}["salinity"]
    esp = next(row for row in salinity.tables[0].rows if row[0] == "ESP")
    assert esp[4] == "0-30 cm: optional, 30-100 cm: required"


def test_atlas_guide_command_writes_both_files(tmp_path):
    result = CliRunner().invoke(app, ["guide", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "submission_guide.html").is_file() and (tmp_path / "submission_guide.md").is_file()
    assert "submission_guide.md" in result.output
