"""The crosswalk round trip a country does: template from the legacy column, filled in, sent back, applied.

A SOTER-style national map keeps its FAO-90 classes in a column such as ``Dominant_S`` (no rsg1): validation
finds the column, the report asks for the crosswalk with every class, and ``atlas validate --html`` writes the
CSV it links to. The country fills in ``rsg_code`` and sends ``crosswalk.csv`` beside the same map: it is applied
to that column and the map is accepted.
"""

from __future__ import annotations

import csv
import io

import geopandas as gpd
import pytest
import shapely
from typer.testing import CliRunner

from atlas.cli import app
from atlas.config import DEFAULT_CONFIG
from atlas.finding import verdict
from checks.crosswalk import TEMPLATE_NAME
from checks.registry import load_all
from checks.vector import soil_map_findings

load_all()
runner = CliRunner()
# 13 FAO-90 classes, as a SOTER map spells them, with the WRB group a country would give each (9 groups)
CLASSES = {"CMx": "CM", "CMe": "CM", "RGe": "RG", "GLe": "GL", "GLm": "GL", "ACh": "AC", "ACf": "AC",
           "LVx": "LV", "FLe": "FL", "FLc": "FL", "ARh": "AR", "VRe": "VR", "LPe": "LP"}


def soter_map(folder, name: str = "KHM_SOTER.gpkg"):
    """A 1° box of 26 units: classes only in Dominant_S, with unit_id and share1 as the programme asks."""
    codes = [c for c in CLASSES for _ in range(2)]
    step = 1.0 / len(codes)
    gdf = gpd.GeoDataFrame({"unit_id": [f"S{k}" for k in range(len(codes))], "Dominant_S": codes, "share1": 100,
                            "SOTER_ID": [f"KH{k:04d}" for k in range(len(codes))]},
                           geometry=[shapely.box(104 + k * step, 12, 104 + (k + 1) * step, 13)
                                     for k in range(len(codes))], crs="EPSG:4326")
    folder.mkdir(parents=True, exist_ok=True)
    gdf.to_file(folder / name)
    return folder / name


@pytest.fixture
def setup(tmp_path):
    config = tmp_path / "programme.toml"
    config.write_text(DEFAULT_CONFIG.read_text())
    ref = tmp_path / "data" / "reference" / "boundaries.gpkg"
    ref.parent.mkdir(parents=True)
    gpd.GeoDataFrame({"iso3": ["KHM"], "name": ["Cambodia"], "geometry": [shapely.box(104, 12, 105, 13)]},
                     crs="EPSG:4326").to_file(ref)
    return config, tmp_path


def _validate(config, folder, html):
    return runner.invoke(app, ["validate", str(folder), "--country", "KHM", "--html", str(html),
                               "--config", str(config)])


def test_soter_map_round_trip_template_filled_crosswalk_accepted(setup):
    config, tmp = setup
    delivery = tmp / "delivery"
    soter_map(delivery)

    first = _validate(config, delivery, tmp / "out1")
    assert first.exit_code == 3, first.output  # legacy classes: not accepted until correlated
    (page,) = (tmp / "out1").glob("*/report.html")
    template = page.parent / TEMPLATE_NAME
    assert template.is_file()  # written beside the report that links it
    html = page.read_text(encoding="utf-8")
    assert "Fill in this crosswalk" in html and f'href="{TEMPLATE_NAME}"' in html
    assert "<code>Dominant_S</code>" in html  # the report says which column holds the classes
    assert all(f"<td>{code}</td>" in html for code in CLASSES)  # every class, none folded away
    rows = list(csv.DictReader(io.StringIO(template.read_text(encoding="utf-8"))))
    assert {r["legacy_class"] for r in rows} == set(CLASSES)
    assert {r["map_column"] for r in rows} == {"Dominant_S"}
    assert "No action needed for acceptance" not in html.split("Fill in this crosswalk")[1].split("</table>")[0]
    # a local check is no submission: no version number, no date received
    assert "version 1" not in html.lower() and "Received" not in html and "locally with atlas validate" in html

    for row in rows:  # the country fills in rsg_code and sends the table back beside the same map
        row["rsg_code"] = CLASSES[row["legacy_class"]]
    with open(delivery / "crosswalk.csv", "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    second = _validate(config, delivery, tmp / "out2")
    assert second.exit_code == 0, second.output
    (page,) = (tmp / "out2").glob("*/report.html")
    html = page.read_text(encoding="utf-8")
    assert "crosswalk.csv applied to column &#39;Dominant_S&#39;" in html
    assert "13 classes to 9 groups on 26 units" in html
    assert "Fill in this crosswalk" not in html and not (page.parent / TEMPLATE_NAME).exists()


def test_soter_map_with_crosswalk_gives_rsg1_and_keeps_the_delivered_column(tmp_path, programme):
    from checks.wrb_columns import canonical_copy

    path = soter_map(tmp_path)
    crosswalk = tmp_path / "crosswalk.csv"
    crosswalk.write_text("legacy_class,rsg_code\n" + "".join(f"{k},{v}\n" for k, v in CLASSES.items()))
    findings = soil_map_findings(path, programme, "KHM", shapely.box(104, 12, 105, 13), crosswalk)
    assert verdict(findings) == "accepted", [f.message for f in findings if f.severity.value == "error"]
    copy = canonical_copy(gpd.read_file(path), programme, crosswalk)
    assert copy["rsg1_code"].tolist()[:4] == ["CM", "CM", "CM", "CM"]
    assert set(copy["rsg1_status"]) == {"correlated"}
    assert copy["delivered_rsg1"].tolist()[:2] == ["CMx", "CMx"]  # the classes as delivered, kept


@pytest.mark.parametrize(("text", "why"), [
    ("legacy_class,rsg_code\nXYz,CM\n", "none of its classes ('XYz') occurs in column 'Dominant_S'"),
    ("klass;wrb\nCMx;CM\n", "needs the columns legacy_class and rsg_code"),
    ("legacy_class,rsg_code\nCMx,Cambisolz\n", "'Cambisolz' for 'CMx' is not a WRB group"),
])
def test_a_crosswalk_that_cannot_be_applied_says_exactly_why(tmp_path, programme, text, why):
    path = soter_map(tmp_path)
    crosswalk = tmp_path / "crosswalk.csv"
    crosswalk.write_text(text)
    findings = soil_map_findings(path, programme, "KHM", shapely.box(104, 12, 105, 13), crosswalk)
    invalid = [f for f in findings if f.check_id == "wrb.crosswalk_invalid"]
    assert invalid and any(why in f.message for f in invalid), [f.message for f in invalid]
    assert verdict(findings) == "rejected"


def test_real_dsmw_map_crosswalk_applies_to_its_domsoi_column(tmp_path, programme, real_data):
    """The real FAO-74 DSMW subset keeps its classes in DOMSOI: a crosswalk of the suggestions converts them all."""
    path = real_data / "soil_vector/idn_dsmw_fao74/DSMW.shp"
    template = next(f for f in soil_map_findings(path, programme, "IDN", None)
                    if f.check_id == "wrb.crosswalk_template").observed
    assert template["column"] == "DOMSOI"
    crosswalk = tmp_path / "crosswalk.csv"
    crosswalk.write_text("legacy_class,rsg_code\n" + "".join(f"{r['legacy_class']},{r['suggested_rsg']}\n"
                                                              for r in template["rows"]))
    findings = soil_map_findings(path, programme, "IDN", None, crosswalk)
    applied = [f for f in findings if f.check_id == "wrb.crosswalk_applied"]
    assert len(applied) == 1 and applied[0].observed["column"] == "DOMSOI"
    assert applied[0].observed["classes"] == len(template["rows"])
    assert not [f for f in findings if f.check_id in ("wrb.legacy_code", "wrb.crosswalk_template")]
