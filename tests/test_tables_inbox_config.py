"""Table deliverables in the configuration and the inbox: a table needs its schema; its files are found by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from atlas.config import load_programme
from atlas.errors import ConfigError
from atlas.intake.inbox import classify, discover, sort_delivery

TABLES = ("soil_threats", "rd_submission")


def _toml_with(tmp_path, deliverable: str) -> Path:
    text = (Path(__file__).resolve().parents[1] / "programme.toml").read_text(encoding="utf-8")
    path = tmp_path / "programme.toml"
    path.write_text(text.replace("[salinity]\n", deliverable + "\n[salinity]\n", 1), encoding="utf-8")
    return path


def test_the_demo_programme_declares_both_tables_with_deadlines():
    programme = load_programme()
    assert programme.table_keys() == TABLES
    assert all(programme.deliverables[k].deadline for k in TABLES)


@pytest.mark.parametrize("block, words", [
    ('[deliverables.x]\ntitle = "X"\nproduct = "P"\nkind = "table"\n', "give its schema"),
    ('[deliverables.x]\ntitle = "X"\nproduct = "P"\nkind = "table"\nschema = "nope.json"\n', "not found"),
    ('[deliverables.x]\ntitle = "X"\nproduct = "P"\nkind = "tabel"\n', "not one of"),
])
def test_a_table_without_its_schema_is_refused(tmp_path, block, words):
    with pytest.raises(ConfigError, match=words):
        load_programme(_toml_with(tmp_path, block))


def test_a_schema_beside_the_programme_wins(tmp_path):
    own = tmp_path / "my_table.json"
    own.write_text('{"name": "t", "resources": [{"name": "r", "schema": {"fields": [{"name": "a"}]}}]}')
    programme = load_programme(_toml_with(tmp_path, '[deliverables.t]\ntitle = "T"\nproduct = "P"\nkind = "table"\n'
                                                    'schema = "my_table.json"\n'))
    from atlas.tables import load_table_spec

    assert load_table_spec(programme, "t").resources[0].fields[0].name == "a"


def test_table_files_are_sorted_by_the_deliverable_in_their_name(tmp_path):
    assert classify(Path("VNM_soil_threats.xlsx"), TABLES) == "soil_threats"
    assert classify(Path("VNM rd-submission projects.csv"), TABLES) == "rd_submission"
    assert classify(Path("VNM_soil_threats.xlsx")) is None  # without the programme's tables: not a deliverable
    files = [tmp_path / n for n in ("VNM_soil_threats.xlsx", "threats final.xlsx", "VNM_GSSmap_ECe_0-30.tif",
                                    "manifest.csv")]
    for f in files:
        f.write_bytes(b"x")
    by_deliverable, skipped = sort_delivery(files, tmp_path, TABLES)
    assert by_deliverable["soil_threats"] == [files[0]]
    assert by_deliverable["salinity_map"] == [files[2], files[3]]  # the manifest travels with the rasters
    assert [f.location.file for f in skipped] == ["threats final.xlsx"]
    assert "<ISO3>_<table>.xlsx" in skipped[0].message


def test_discover_gives_each_table_its_own_versions(tmp_path):
    for day in ("2026-02-01", "2026-03-01"):
        folder = tmp_path / "VNM" / day
        folder.mkdir(parents=True)
        (folder / "VNM_soil_threats.xlsx").write_bytes(day.encode())
    (tmp_path / "VNM" / "2026-03-01" / "VNM_rd_submission.xlsx").write_bytes(b"rd")
    subs, _ = discover(tmp_path, {"VNM": "Viet Nam"}, tables=TABLES)
    assert sorted((s.deliverable, s.version) for s in subs) == [
        ("rd_submission", 1), ("soil_threats", 1), ("soil_threats", 2)]
