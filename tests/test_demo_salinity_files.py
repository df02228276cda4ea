"""The demo's salinity-file cases of issue 12: GSP script names with factor-rank codes and lookup tables
(Bangladesh), a class map without a legend (Sri Lanka, rejected), an optional subsoil class map not sent (Nepal)."""

from __future__ import annotations

import pytest

from atlas.config import load_programme
from atlas.demo.programme import generate_demo
from atlas.finding import Severity, verdict
from atlas.intake.inbox import discover
from checks.run import validate_submission


@pytest.fixture(scope="module")
def demo_subs(tmp_path_factory):
    programme = load_programme().with_root(tmp_path_factory.mktemp("demo_files"))
    manifest = generate_demo(programme, countries=["BGD", "LKA", "NPL"])
    subs, _ = discover(programme.raw_dir, programme.members)
    return programme, manifest, {s.country: s for s in subs if s.deliverable == "salinity_map"}


def test_gsp_script_names_and_factor_rank_codes_with_lookup_tables_are_accepted(demo_subs):
    programme, manifest, subs = demo_subs
    names = {p.name for p in subs["BGD"].files}
    assert {"Top0_30ECse.tif", "EC0_30_uncertain.tif", "Top0_30saltaffected.tif", "saltaffected_LUT0_30.txt"} <= names
    findings = validate_submission(subs["BGD"], programme, None)
    assert verdict(findings) != "rejected", [f.message for f in findings if f.severity == Severity.ERROR]
    mapping = [f for f in findings if f.check_id == "legend.mapping"]
    assert len(mapping) == 2  # one class map per depth, each read through its own lookup table
    planted = manifest.truths["countries"]["BGD"]["deliveries"]["2026-02-27"]["salinity"]["class_codes_factor_rank"]
    assert planted["0-30"]["1"] in mapping[0].observed["1"]


def test_class_map_without_legend_is_rejected(demo_subs):
    programme, _, subs = demo_subs
    findings = validate_submission(subs["LKA"], programme, None)
    assert verdict(findings) == "rejected"
    assert {f.check_id for f in findings if f.severity == Severity.ERROR} == {"legend.missing"}


def test_optional_subsoil_class_map_missing_is_not_held_against_the_country(demo_subs):
    programme, _, subs = demo_subs
    findings = validate_submission(subs["NPL"], programme, None)
    assert verdict(findings) != "rejected"
    assert any(f.check_id == "naming.class_layer_missing" and "30-100" in f.message for f in findings)
