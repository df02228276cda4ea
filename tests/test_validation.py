"""`atlas validate`: the run's verdict, honest about what it skipped, scriptable, and runnable without Prefect.

The side-by-side comparison with a real flow run on the demo inbox is in test_flow_e2e.py (it reuses that run).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import geopandas as gpd
import jsonschema
import pytest
import shapely
from test_checks_raster import write_raster
from test_checks_vector import soil_frame, write_map
from typer.testing import CliRunner

from atlas.cli import app
from atlas.config import DEFAULT_CONFIG
from atlas.reports.report import SCHEMA_PATH
from atlas.validation import validate_path

VALIDATE_SCHEMA = SCHEMA_PATH.with_name("validate_schema.json")
runner = CliRunner()


@pytest.fixture
def setup(tmp_path):
    """A programme file, its reference boundaries (KHM as a 1°x1° box) and an empty work folder."""
    config = tmp_path / "programme.toml"
    config.write_text(DEFAULT_CONFIG.read_text())
    ref = tmp_path / "data" / "reference" / "boundaries.gpkg"
    ref.parent.mkdir(parents=True)
    gpd.GeoDataFrame({"iso3": ["KHM"], "name": ["Cambodia"], "geometry": [shapely.box(104, 12, 105, 13)]},
                     crs="EPSG:4326").to_file(ref)
    work = tmp_path / "work"
    work.mkdir()
    return config, work


def validate(*args: str):
    return runner.invoke(app, ["validate", *map(str, args)])


def spilling_map(folder: Path, name: str = "KHM_soil.gpkg") -> Path:
    """A valid soil map reaching 0.2° east of KHM's boundary: accepted with a spill warning."""
    geoms = [shapely.box(104.0, 12.0, 104.3, 13.0), shapely.box(104.3, 12.0, 104.7, 13.0),
             shapely.box(104.7, 12.0, 105.2, 13.0)]
    return write_map(folder, soil_frame(geometry=geoms), name=name)


# 1. same verdict as the run; where the country comes from


def test_country_from_the_inbox_path(setup):
    config, work = setup
    delivery = work / "KHM" / "2026-03-02"
    delivery.mkdir(parents=True)
    spilling_map(delivery, name="soil.gpkg")  # no ISO3 in the file name: the path says KHM
    result = validate("--json", delivery, "--config", config)
    report = json.loads(result.stdout)
    sub = report["submissions"][0]
    assert sub["report"]["meta"]["country"] == "KHM" and sub["country_source"] == "inbox path"
    assert "vector.spill" in {f["check_id"] for f in sub["report"]["findings"]}
    assert sub["checks_not_made"] == []


def test_country_from_the_option_then_the_file_names(setup):
    config, work = setup
    spilling_map(work, name="soil.gpkg")
    by_option = json.loads(validate("--json", "--country", "khm", work, "--config", config).stdout)
    assert by_option["submissions"][0]["country_source"] == "--country"
    assert by_option["submissions"][0]["report"]["meta"]["country"] == "KHM"
    (work / "soil.gpkg").rename(work / "KHM_soil.gpkg")
    by_name = json.loads(validate("--json", work, "--config", config).stdout)
    assert by_name["submissions"][0]["country_source"] == "file names"
    assert "vector.spill" in {f["check_id"] for f in by_name["submissions"][0]["report"]["findings"]}


def test_unknown_country_says_which_checks_were_not_made(setup):
    config, work = setup
    spilling_map(work, name="soil.gpkg")
    result = validate(work, "--config", config)
    assert "not checked (no country known): vector.coverage_gap, vector.spill; give --country" in result.stdout
    report = json.loads(validate("--json", work, "--config", config).stdout)
    sub = report["submissions"][0]
    assert sub["report"]["meta"]["country"] is None and sub["country_source"] == "unknown"
    assert sub["checks_not_made"] == ["vector.coverage_gap", "vector.spill"]
    note = next(f for f in sub["report"]["findings"] if f["check_id"] == "checks.boundary_missing")
    assert note["observed"] == ["vector.coverage_gap", "vector.spill"]


def test_zipped_map_in_a_delivery_folder_gets_the_country_checks(setup):
    """The issue's case: a zipped map in an inbox delivery folder was checked without its country."""
    config, work = setup
    delivery = work / "KHM" / "2026-03-02"
    delivery.mkdir(parents=True)
    shp_dir = work / "shp"
    shp_dir.mkdir()
    spilling_map(shp_dir, name="map.shp")
    with zipfile.ZipFile(delivery / "map.zip", "w") as zf:
        for f in shp_dir.iterdir():
            zf.write(f, f.name)
        zf.writestr("__MACOSX/._map.shp", b"junk")
    report = json.loads(validate("--json", delivery, "--config", config).stdout)
    found = {f["check_id"] for f in report["submissions"][0]["report"]["findings"]}
    assert {"vector.spill", "vector.junk_ignored"} <= found and "checks.boundary_missing" not in found
    assert list(delivery.iterdir()) == [delivery / "map.zip"]  # nothing written beside the submission


def test_an_inbox_and_a_single_shapefile(setup):
    config, work = setup
    delivery = work / "KHM" / "2026-03-02"
    delivery.mkdir(parents=True)
    spilling_map(delivery, name="soil.gpkg")
    (work / "XYZ").mkdir()
    (work / "notes.txt").write_text("x")
    report = json.loads(validate("--json", work, "--config", config).stdout)
    assert [s["label"] for s in report["submissions"]] == ["KHM soil_map (2026-03-02)"]
    assert {s["file"]: s["check_id"] for s in report["skipped"]} == {"XYZ": "inbox.unknown_country",
                                                                     "notes.txt": "inbox.unknown_file"}
    shp = spilling_map(work, name="KHM_soil.shp")
    single = json.loads(validate("--json", shp, "--config", config).stdout)
    meta = single["submissions"][0]["report"]["meta"]
    assert {".shp", ".dbf", ".shx", ".prj"} <= {Path(f).suffix for f in meta["files"]}
    assert single["verdict"] == "accepted_with_warnings" and single["skipped"] == []


# 2. honest about what it skipped


def test_csv_and_lone_sidecar_validate_nothing_and_say_so(setup):
    config, work = setup
    (work / "KHM_points.csv").write_text("x,y\n1,2\n")
    spilling_map(work, name="KHM_soil.shp")
    for part in ("shp", "shx", "prj", "cpg"):
        (work / f"KHM_soil.{part}").unlink(missing_ok=True)  # a lone .dbf is left
    result = validate(work, "--config", config)
    assert result.exit_code == 2, result.stdout
    assert "nothing validated" in result.stdout
    assert "KHM_points.csv: not a file type of any deliverable" in result.stdout
    assert "KHM_soil.dbf: shapefile sidecar without its .shp" in result.stdout
    for single in ("KHM_points.csv", "KHM_soil.dbf"):
        alone = validate("--json", work / single, "--config", config)
        assert alone.exit_code == 2
        report = json.loads(alone.stdout)
        assert report["validated"] == 0 and report["verdict"] is None
        assert [s["file"] for s in report["skipped"]] == [single]


def test_junk_and_sidecars_are_listed_with_their_reason(setup, programme):
    config, work = setup
    write_raster(work, "KHM_GSSmap_ECe_0-30.tif")
    (work / "KHM_GSSmap_ECe_0-30.tif.aux.xml").write_text("<PAMDataset/>")
    (work / "__MACOSX").mkdir()
    (work / "__MACOSX" / "._KHM_soil.gpkg").write_bytes(b"junk")
    (work / "~$KHM_chapter.docx").write_bytes(b"lock")  # an open Word file's lock, not a chapter
    (work / "notes.prj").write_text("GEOGCS[]")
    result = validate_path(work, programme)
    reasons = {f.location.file: (f.check_id, f.message) for f in result.skipped}
    assert reasons["KHM_GSSmap_ECe_0-30.tif.aux.xml"][0] == "inbox.sidecar_ignored"
    assert reasons[str(Path("__MACOSX") / "._KHM_soil.gpkg")][0] == "inbox.junk_ignored"
    assert reasons["~$KHM_chapter.docx"][0] == "inbox.junk_ignored"
    assert reasons["notes.prj"][0] == "inbox.lone_sidecar"
    assert [s.meta["deliverable"] for s in result.submissions] == ["salinity_map"]


# 3. exit status and machine output


def test_exit_status_follows_the_verdict(setup):
    config, work = setup
    accepted, warned, rejected = (work / name for name in ("ok", "warned", "rejected"))
    for folder in (accepted, warned, rejected):
        folder.mkdir()
    write_map(accepted)
    spilling_map(warned)
    (rejected / "KHM_chapter.pdf").write_bytes(b"")
    assert validate(accepted, "--config", config).exit_code == 0
    assert validate(accepted, "--strict", "--config", config).exit_code == 0
    assert validate(warned, "--config", config).exit_code == 0
    assert validate(warned, "--strict", "--config", config).exit_code == 1
    assert validate(rejected, "--config", config).exit_code == 3
    assert validate(work, "--config", config).exit_code == 3  # the worst verdict of the three


def test_usage_errors_exit_2(setup):
    config, work = setup
    write_map(work)
    assert validate(work / "missing", "--config", config).exit_code == 2
    assert validate(work, "--country", "XXX", "--config", config).exit_code == 2
    assert validate(work, "--no-such-option", "--config", config).exit_code == 2
    assert validate("--config", config).exit_code == 2  # no path
    assert validate(work, "--boundaries", work / "none.gpkg", "--config", config).exit_code == 2
    assert validate(work, "--html", work / "KHM_soil.gpkg", "--config", config).exit_code == 2


def test_json_follows_its_schema_and_html_is_the_secretariats_report(setup, tmp_path):
    config, work = setup
    spilling_map(work)
    (work / "KHM_chapter.pdf").write_bytes(b"")
    (work / "readme.txt").write_text("x")
    out = tmp_path / "reports"
    result = validate("--json", "--html", out, work, "--config", config)
    assert result.exit_code == 3
    report = json.loads(result.stdout)
    jsonschema.validate(report, json.loads(VALIDATE_SCHEMA.read_text()))
    for sub in report["submissions"]:
        jsonschema.validate(sub["report"], json.loads(SCHEMA_PATH.read_text()))
    assert report["verdict"] == "rejected" and report["validated"] == 2
    assert report["skipped"][0]["file"] == "readme.txt"
    pages = sorted(out.glob("*/report.html"))
    assert [p.parent.name for p in pages] == ["KHM_book_chapter", "KHM_soil_map"]
    soil = pages[1].read_text()
    assert "is accepted with" in soil and "vector.spill" in soil  # the verdict sentence (issue 14)
    assert json.loads((pages[1].parent / "report.json").read_text())["verdict"] == "accepted_with_warnings"


# 4. a country can run it: no Prefect server, no ledger, no inbox


def test_validate_runs_without_prefect_ledger_or_inbox(setup):
    config, work = setup
    spilling_map(work)
    code = (
        "import sys\n"
        "from atlas.cli import app\n"
        "try:\n"
        "    app(['validate', sys.argv[1], '--config', sys.argv[2], '--json'])\n"
        "except SystemExit as exc:\n"
        "    loaded = sorted(m for m in sys.modules if m == 'prefect' or m.startswith('prefect.'))\n"
        "    print('EXIT', exc.code, 'PREFECT', loaded, file=sys.stderr)\n"
    )
    env = {**os.environ, "PREFECT_API_URL": "http://127.0.0.1:9/api"}  # nothing listens on port 9
    done = subprocess.run([sys.executable, "-c", code, str(work), str(config)], capture_output=True, text=True,
                          env=env, timeout=300, cwd=work)
    assert "EXIT 0 PREFECT []" in done.stderr, done.stderr[-2000:]
    assert json.loads(done.stdout)["verdict"] == "accepted_with_warnings"
    root = config.parent
    assert not (root / "data" / "processed").exists() and not (root / "data" / "raw").exists()
    assert not (root / ".prefect").exists()
