"""Legacy classes: not accepted until correlated, the crosswalk round trip, provisional publishing; kind of map."""

from __future__ import annotations

from dataclasses import replace

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from atlas.finding import verdict
from checks.crosswalk import read_crosswalk, template_csv
from checks.registry import load_all
from checks.vector import soil_map_findings
from checks.wrb import NON_SOIL_UNITS, RSG_CODES
from checks.wrb_columns import canonical_copy

load_all()
BOUNDARY = shapely.box(104.0, 12.0, 105.0, 13.0)


def _legacy_map(folder, rsg1=("Ao", "Jd", "CM", "Latosols")):
    xs = [104.0 + k / len(rsg1) for k in range(len(rsg1) + 1)]
    gdf = gpd.GeoDataFrame({"unit_id": [f"u{k}" for k in range(len(rsg1))], "rsg1": list(rsg1), "share1": 100},
                           geometry=[shapely.box(xs[k], 12.0, xs[k + 1], 13.0) for k in range(len(rsg1))],
                           crs="EPSG:4326")
    path = folder / "KHM_soil.gpkg"
    gdf.to_file(path)
    return path, gdf


def _by_id(findings, check_id):
    return [f for f in findings if f.check_id == check_id]


def test_legacy_map_is_not_accepted_and_gets_a_crosswalk(tmp_path, programme):
    path, _ = _legacy_map(tmp_path)
    findings = soil_map_findings(path, programme, "KHM", BOUNDARY)
    assert verdict(findings) == "rejected"
    legacy = _by_id(findings, "wrb.legacy_code")
    assert {f.severity.value for f in legacy} == {"error"}
    assert any("not accepted for the Atlas until correlated" in f.message for f in legacy)
    template = _by_id(findings, "wrb.crosswalk_template")[0].observed
    rows = {r["legacy_class"]: r for r in template["rows"]}
    assert set(rows) == {"Ao", "Jd", "Latosols"}  # CM is WRB already
    assert (rows["Ao"]["legend"], rows["Ao"]["suggested_rsg"], rows["Ao"]["features"]) == ("FAO-74", "AC", 1)
    assert rows["Latosols"]["legend"] == "national legend" and rows["Latosols"]["suggested_rsg"] == "FR"
    assert rows["Ao"]["area_km2"] == pytest.approx(0.25 * 108.6 * 110.6, rel=0.02)  # a quarter of a 1° cell
    assert all(r["rsg_code"] == "" for r in rows.values())  # the country fills it in
    header = template_csv(template["rows"]).splitlines()[0]
    assert header == "map_column,legacy_class,legend,features,area_km2,suggested_rsg,suggested_name,rsg_code"


def test_provisional_programme_publishes_with_a_warning(tmp_path, programme):
    path, gdf = _legacy_map(tmp_path)
    provisional = replace(programme, soil_legacy="provisional")
    findings = soil_map_findings(path, provisional, "KHM", BOUNDARY)
    assert {f.severity.value for f in _by_id(findings, "wrb.legacy_code")} == {"warning"}
    assert verdict(findings) == "accepted_with_warnings"
    copy = canonical_copy(gdf, provisional)
    assert copy["rsg1_code"].tolist() == ["AC", "FL", "CM", "FR"]
    assert copy["rsg1_status"].tolist() == ["provisional", "provisional", "wrb", "provisional"]


def test_filled_in_crosswalk_converts_the_map_and_is_recorded(tmp_path, programme):
    path, gdf = _legacy_map(tmp_path)
    rows = _by_id(soil_map_findings(path, programme, "KHM", BOUNDARY), "wrb.crosswalk_template")[0].observed["rows"]
    filled = pd.DataFrame(rows).assign(rsg_code=lambda t: t["legacy_class"].map(
        {"Ao": "AC", "Jd": "Fluvisols", "Latosols": "Ferralsols"}))
    crosswalk = tmp_path / "crosswalk.csv"
    filled.to_csv(crosswalk, index=False, sep=";")  # Excel in many locales writes semicolons
    findings = soil_map_findings(path, programme, "KHM", BOUNDARY, crosswalk)
    assert verdict(findings) == "accepted"
    applied = _by_id(findings, "wrb.crosswalk_applied")[0]
    assert applied.severity.value == "fixed"
    assert applied.observed["converted"] == {"Ao": "AC", "Jd": "FL", "Latosols": "FR"}
    assert not _by_id(findings, "wrb.legacy_code") and not _by_id(findings, "wrb.crosswalk_template")
    copy = canonical_copy(gdf, programme, crosswalk)
    assert copy["rsg1_code"].tolist() == ["AC", "FL", "CM", "FR"]
    assert copy["rsg1_status"].tolist() == ["correlated", "correlated", "wrb", "correlated"]
    assert copy["delivered_rsg1"].tolist() == ["Ao", "Jd", "CM", "Latosols"]


def test_incomplete_or_wrong_crosswalk_is_refused(tmp_path, programme):
    path, _ = _legacy_map(tmp_path)
    crosswalk = tmp_path / "crosswalk.csv"
    crosswalk.write_text("legacy_class,rsg_code\nAo,AC\nJd,Jd\n", encoding="utf-8")
    findings = soil_map_findings(path, programme, "KHM", BOUNDARY, crosswalk)
    invalid = _by_id(findings, "wrb.crosswalk_invalid")
    assert len(invalid) == 1 and "'Jd' for 'Jd'" in invalid[0].message
    remaining = _by_id(findings, "wrb.crosswalk_template")[0].observed["rows"]
    assert {r["legacy_class"] for r in remaining} == {"Jd", "Latosols"}  # Ao was correlated
    assert verdict(findings) == "rejected"
    assert read_crosswalk(tmp_path / "missing.csv").problems


def test_fao90_codes_from_the_reference_table_are_legacy(tmp_path, programme, real_data):
    names = pd.read_csv(real_data / "reference/FAO_90_names.csv")
    codes = names["KEY"].tolist()[:40]
    path, gdf = _legacy_map(tmp_path, codes)
    findings = soil_map_findings(path, programme, "KHM", BOUNDARY)
    rows = _by_id(findings, "wrb.crosswalk_template")[0].observed["rows"]
    assert {r["legend"] for r in rows} == {"FAO-90"} and len(rows) == 40
    assert all(r["suggested_rsg"] in RSG_CODES for r in rows)
    copy = canonical_copy(gdf, replace(programme, soil_legacy="provisional"))
    assert set(copy["rsg1_code"]) <= set(RSG_CODES)  # never a legacy code in a WRB column
    assert not set(copy["rsg1_code"]) & set(codes)


def test_real_crocker_map_gives_a_crosswalk_of_national_classes(tmp_path, programme, real_data):
    gdf = gpd.read_file(real_data / "soil_vector/khm_crocker_1962/crocker_soil_map_1962.geojson")
    gdf = gdf.rename(columns={"Name": "rsg1"}).assign(unit_id=range(len(gdf)), share1=100)
    path = tmp_path / "KHM_soil.gpkg"
    gdf.to_file(path)
    findings = soil_map_findings(path, programme, "KHM", None)
    rows = {r["legacy_class"]: r for r in _by_id(findings, "wrb.crosswalk_template")[0].observed["rows"]}
    assert rows["Acid Lithosols"]["suggested_rsg"] == "LP" and rows["Latosols"]["suggested_rsg"] == "FR"
    assert rows["Red-yellow podzols"]["legend"] == "national legend"  # not taken for WRB Podzols
    assert "Great Lake" not in rows  # water, a non-soil unit
    assert sum(r["area_km2"] for r in rows.values()) > 150_000
    copy = canonical_copy(gdf, replace(programme, soil_legacy="provisional"))
    assert set(copy["rsg1_code"].dropna()) <= set(RSG_CODES) | set(NON_SOIL_UNITS)


def test_fertility_map_is_told_it_holds_no_soil_classification(tmp_path, programme):
    gdf = gpd.GeoDataFrame({"OBJECTID": [1, 2, 3], "Fert_Class": ["Low Fertility Soil", "Medium Fertility Soil",
                                                                  "High Fertility Soil"]},
                           geometry=[shapely.box(104 + k / 3, 12, 104 + (k + 1) / 3, 13) for k in range(3)],
                           crs="EPSG:4326")
    path = tmp_path / "KHM_soil.gpkg"
    gdf.to_file(path)
    findings = soil_map_findings(path, programme, "KHM", BOUNDARY)
    told = _by_id(findings, "wrb.no_soil_classes")
    assert len(told) == 1 and told[0].observed["column"] == "Fert_Class"
    assert "'Low Fertility Soil'" in told[0].message and "not a soil classification map" in told[0].message
    assert not any(f.check_id == "vector.field_missing" and "rsg1" in f.message for f in findings)


def test_point_data_is_told_it_is_point_data_and_nothing_about_coverage(programme, real_data):
    from atlas.borders.boundaries import load_boundaries
    from checks.run import country_boundary

    bnd, _ = load_boundaries(real_data / "boundaries/natural_earth_v4.0.0/ne_110m_admin_0_countries.json",
                             programme.iso_columns, programme.name_columns)
    findings = soil_map_findings(real_data / "soil_points/irn_ardakan_ec/samples.shp", programme, "IRN",
                                 country_boundary(bnd, "IRN"))
    kind = _by_id(findings, "vector.geometry_type")
    assert [f.message for f in kind] == ["this is point data (183 point features); the soil map must be polygons"]
    assert not {"vector.coverage_gap", "vector.spill", "vector.outside_territory"} & {f.check_id for f in findings}


def test_map_of_another_country_is_said_to_lie_outside(programme, real_data):
    from atlas.borders.boundaries import load_boundaries
    from checks.run import country_boundary

    bnd, _ = load_boundaries(real_data / "boundaries/natural_earth_v4.0.0/ne_50m_admin_0_countries.json",
                             programme.iso_columns, programme.name_columns)
    findings = soil_map_findings(real_data / "soil_vector/khm_crocker_1962/crocker_soil_map_1962.geojson",
                                 programme, "NPL", country_boundary(bnd, "NPL"))
    outside = _by_id(findings, "vector.outside_territory")
    assert len(outside) == 1 and "lies outside NPL's territory" in outside[0].message
    assert not {"vector.coverage_gap", "vector.spill"} & {f.check_id for f in findings}


def test_real_dsmw_fao74_map_gets_a_crosswalk_and_no_legacy_code_reaches_a_wrb_column(programme, real_data):
    path = real_data / "soil_vector/idn_dsmw_fao74/DSMW.shp"
    findings = soil_map_findings(path, programme, "IDN", None)
    assert verdict(findings) == "rejected"
    template = _by_id(findings, "wrb.crosswalk_template")[0].observed
    rows = {r["legacy_class"]: r for r in template["rows"]}
    assert rows["Ao"]["features"] == 122 and rows["Ao"]["suggested_rsg"] == "AC" and rows["Ao"]["legend"] == "FAO-74"
    assert not {"WR", "ND"} & set(rows)  # water and no data are non-soil units, not classes to correlate
    assert template["rows"][0]["area_km2"] >= template["rows"][-1]["area_km2"]  # most widespread first
    gdf = gpd.read_file(path, encoding="cp1252").rename(columns={"DOMSOI": "rsg1"})
    copy = canonical_copy(gdf, replace(programme, soil_legacy="provisional"))
    assert set(copy["rsg1_code"]) <= set(RSG_CODES) | set(NON_SOIL_UNITS)
    assert copy.loc[copy["delivered_rsg1"] == "Ao", "rsg1_code"].eq("AC").all()
    assert set(copy.loc[copy["delivered_rsg1"] == "WR", "rsg1_status"]) == {"non_soil"}
