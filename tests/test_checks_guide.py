"""The submission guide is written from programme.toml and the check registry, and follows them when they change."""

from __future__ import annotations

import dataclasses
import datetime as dt
from html import unescape

from typer.testing import CliRunner

from atlas.cli import app
from atlas.reports.guide import country_can_act, guide_values, layer_requirements, write_guide
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
        if "soil_map" in chk.products and country_can_act(chk.check_id):
            assert chk.check_id in page and unescape(chk.hint) in page, chk.check_id
        elif "soil_map" in chk.products:  # the secretariat's own checks are not the country's to act on
            assert chk.check_id not in page, chk.check_id
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


def test_guide_says_where_how_and_whom_to_contact_and_only_what_a_country_can_act_on(programme, tmp_path):
    """From programme.toml [submission]; no reference-layer or crash checks; coverage_low as configured."""
    sub = dataclasses.replace(programme.submission, send_to="the ASP portal at portal.example.org",
                              how="one zip per deliverable", contact_name="Ms A. Officer",
                              contact_email="asp@example.org")
    paths = write_guide(dataclasses.replace(programme, submission=sub), tmp_path)
    page = unescape(paths["html"].read_text())
    for text in ("Where: the ASP portal at portal.example.org.", "How: one zip per deliverable.",
                 "Ms A. Officer, asp@example.org"):
        assert text in page and text in paths["md"].read_text(), text
    for secretariat_only in ("boundaries.crs_assumed", "pipeline.internal_error", "internal.check_crashed",
                             "mosaic.input_unusable", "checks.boundary_missing"):
        assert secretariat_only not in page, secretariat_only
    row = next(line for line in page.splitlines() if "raster.coverage_low" in line)
    assert "error (blocks acceptance)" in row  # low_coverage = "hold": an error, as its text says
    assert "<th></th>" not in page and "Wrb" not in page and "WRB Reference Soil Groups" in page
    names = [line for line in page.splitlines() if line.startswith("<tr><td>") and "</td><td>" in line]
    members = [row.split("</td><td>")[1].split("</td>")[0] for row in names[-len(programme.members):]]
    assert members == sorted(members)  # the member list in alphabetical order


def test_a_mistyped_submission_setting_is_refused(tmp_path):
    import pytest

    from atlas.config import DEFAULT_CONFIG, load_programme
    from atlas.errors import ConfigError

    bad = tmp_path / "programme.toml"
    bad.write_text(DEFAULT_CONFIG.read_text().replace("contact_email =", "contact_mail ="))
    with pytest.raises(ConfigError, match="contact_mail"):
        load_programme(bad)
