"""The whole flow on a small demo programme, under Prefect's test harness, checked against its sources."""

from __future__ import annotations

import csv
import json
import sqlite3
import xml.etree.ElementTree as ET
from collections import Counter

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from pyproj import Geod
from rasterio.windows import from_bounds

from atlas import layout
from atlas.borders.vector import area_km2
from atlas.demo.programme import generate_demo
from atlas.ledger.store import Ledger
from checks.wrb import NON_SOIL_UNITS, RSG_CODES

WINDOW = (102.0, 10.0, 108.0, 15.0)
COUNTRIES = ["KHM", "VNM", "THA"]


@pytest.fixture(scope="module")
def calls() -> dict[str, list]:
    """Arguments of the calls demo_run counted: soil map reads, border adjacency computations."""
    return {"read_soil_map": [], "adjacency": []}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory, prefect_harness, calls):
    import atlas.borders.adjacency
    import atlas.intake.readers
    from atlas.config import load_programme
    from flows.pipeline import run_pipeline

    root = tmp_path_factory.mktemp("e2e")
    programme = load_programme().with_root(root)
    from dataclasses import replace

    programme = replace(programme, region_bounds=WINDOW)
    manifest = generate_demo(programme, countries=COUNTRIES, window=WINDOW)
    with pytest.MonkeyPatch.context() as mp:  # counting wrappers (the flow's tasks run in this process)
        for module, name in ((atlas.intake.readers, "read_soil_map"), (atlas.borders.adjacency, "adjacency")):
            mp.setattr(module, name, _counted(getattr(module, name), calls[name]))
        summary = run_pipeline(programme=programme)
    return programme, manifest, summary


def _counted(func, seen: list):
    def wrapper(*args, **kwargs):
        seen.append(args[0])
        return func(*args, **kwargs)

    return wrapper


def test_each_soil_map_is_read_once_in_a_run(demo_run, calls):
    _, _, summary = demo_run
    reads = Counter(str(path) for path in calls["read_soil_map"])
    assert len(reads) >= len(COUNTRIES) and "Soil Atlas WRB" in summary["rebuilt"]
    assert max(reads.values()) == 1, reads


def test_border_adjacency_is_computed_once_for_both_products(demo_run, calls):
    _, _, summary = demo_run
    assert {"GSSmap", "Soil Atlas WRB"} <= set(summary["rebuilt"])
    assert len(calls["adjacency"]) == 1


def test_flow_publishes_salinity_mosaics(demo_run):
    programme, _, summary = demo_run
    out = layout.regional_salinity_dir(programme.processed_dir)
    for layer, depth in programme.salinity.layer_keys():
        assert (out / f"GSSmap_{layer}_{depth}.tif").is_file(), (layer, depth)
    assert summary["failed_countries"] == []


def test_the_run_publishes_one_release_and_verifies_it(demo_run):
    """Issue 21: the products are one release, made current by the pointer file, and `atlas verify` agrees."""
    from atlas.ledger.verify import verify_release

    programme, _, summary = demo_run
    name = layout.current_release_name(programme.processed_dir)
    assert summary["release"] == f"release {name} published"
    assert summary["verified"] == "verified" and summary["disagreements"] == []
    with Ledger(programme.ledger_path, programme) as ledger:
        assert verify_release(programme, ledger) == []
        assert [(a["name"], a["outcome"]) for a in ledger.release_attempts()] == [(name, "published")]


def test_mosaic_pixels_equal_national_pixels_inside_each_country(demo_run):
    """Inside each country (by the provenance raster), the mosaic holds the national harmonized values."""
    programme, _, _ = demo_run
    ledger = Ledger(programme.ledger_path, programme)
    versions = ledger.accepted_versions("salinity_map")
    sources = ledger.layer_versions("salinity_map")  # partial deliveries: the version each layer comes from
    assert versions, "no accepted salinity map in the demo"
    out = layout.regional_salinity_dir(programme.processed_dir)
    checked = 0
    for iso3 in versions:
        for layer, depth in [("ECe", "0-30"), ("SAS", "30-100")]:
            source = sources.get(iso3, {}).get(f"{layer}_{depth}")
            if source is None:
                continue  # a layer this country never sent (VNM's partial deliveries)
            folder = layout.national_dir(programme.processed_dir, iso3, "salinity_map", source)
            national_path = folder / programme.salinity.file_name(iso3, layer, depth)
            with rasterio.open(national_path) as nat, rasterio.open(out / f"GSSmap_{layer}_{depth}.tif") as reg:
                window = from_bounds(*nat.bounds, transform=reg.transform).round_offsets().round_lengths()
                regional = reg.read(1, window=window, boundless=True, fill_value=reg.nodata)
                national = nat.read(1)
                prov = _provenance(out, reg, window, layer, depth)
            mine = prov == _country_code(out, iso3)
            assert mine.sum() > 100, f"{iso3} owns almost no pixel in the mosaic"
            np.testing.assert_array_equal(regional[mine], national[mine])
            checked += int(mine.sum())
    assert checked > 10_000


def _provenance(out, reg, window, layer, depth):
    candidates = [out / f"GSSmap_provenance_{layer}_{depth}.tif", out / "GSSmap_provenance.tif"]
    path = next(p for p in candidates if p.is_file())
    with rasterio.open(path) as src:
        return src.read(1, window=window, boundless=True, fill_value=0)


def _country_code(out, iso3):
    import json

    legend = json.loads((out / "GSSmap_provenance_legend.json").read_text())
    for entry in legend["entries"] if isinstance(legend, dict) else legend:
        if entry["country"] == iso3:
            return entry["code"]
    raise AssertionError(f"{iso3} not in the provenance legend")


def test_regional_wrb_area_matches_clipped_national_maps(demo_run):
    programme, _, _ = demo_run
    region = gpd.read_file(layout.regional_soil_dir(programme.processed_dir) / "regional_wrb.gpkg", layer="map_units")
    boundaries = gpd.read_file(programme.reference_boundaries, layer="countries")
    ea = programme.equal_area_crs
    ledger = Ledger(programme.ledger_path, programme)
    for iso3 in ledger.accepted_versions("soil_map"):
        regional_km2 = region[region.country == iso3].to_crs(ea).area.sum() / 1e6
        reference_km2 = boundaries[boundaries.iso3 == iso3].to_crs(ea).area.sum() / 1e6
        # harmonized maps meet on the reference border: area equals the reference territory minus gaps left
        assert regional_km2 == pytest.approx(reference_km2, rel=0.02), iso3
        assert regional_km2 <= reference_km2 * 1.0001


def test_status_table_names_every_member_with_its_state(demo_run):
    programme, manifest, _ = demo_run
    with open(layout.status_dir(programme.processed_dir) / "status.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    countries = {r["country"] for r in rows}
    assert set(programme.members) <= countries
    by_key = {(r["country"], r["deliverable"]): r for r in rows}
    assert by_key[("KHM", "salinity_map")]["state"] == "published"
    assert by_key[("JPN", "soil_map")]["state"] == "not_received"
    assert by_key[("VNM", "soil_map")]["version"] in ("2", "v2")


def test_the_ledger_and_the_status_exports_tell_what_the_release_holds(demo_run):
    """One truth: the run wrote the ledger and the exports from one state after publishing (no second resolution):
    the ledger's states, the status CSV and the release agree, VNM v1's carried layers read partly published."""
    programme, _, _ = demo_run
    with Ledger(programme.ledger_path, programme) as ledger:
        state = ledger.published_state()
        stored = {k: s for k, s in ledger.version_states().items() if s in ("published", "partly_published",
                                                                              "superseded")}
        rows = {(r.country, r.deliverable): r for r in ledger.status_rows(state=state)}
    assert stored == state.publication_states() and stored[("VNM", "salinity_map", 1)] == "partly_published"
    with open(layout.status_dir(programme.processed_dir) / "status.csv", encoding="utf-8") as fh:
        exported = {(r["country"], r["deliverable"]): r for r in csv.DictReader(fh)}
    for key, row in rows.items():
        assert (exported[key]["state"], exported[key]["earlier_versions"]) == (row.shown_state, row.earlier_words())
    assert exported[("VNM", "salinity_map")]["earlier_versions"].startswith("v1 partly published: ")


def test_rerun_with_unchanged_inbox_processes_nothing(demo_run):
    from flows.pipeline import run_pipeline

    programme, _, _ = demo_run
    summary = run_pipeline(programme=programme)
    assert summary["processed"] == []


def test_harmonized_maps_meet_on_the_borders_without_overlap(demo_run):
    """The demo's spilling and shrunken national maps come out meeting exactly on the reference borders."""
    programme, manifest, _ = demo_run
    region = gpd.read_file(layout.regional_soil_dir(programme.processed_dir) / "regional_wrb.gpkg", layer="map_units")
    ea = programme.equal_area_crs
    by_country = region.dissolve("country")  # in EPSG:4326, where the units share exact vertices
    countries = list(by_country.index)
    assert len(countries) >= 2
    for i, a in enumerate(countries):
        for b in countries[i + 1:]:
            shared = shapely.make_valid(by_country.geometry[a]).intersection(shapely.make_valid(by_country.geometry[b]))
            overlap_km2 = gpd.GeoSeries([shared], crs=region.crs).to_crs(ea).area.sum() / 1e6
            assert overlap_km2 < 0.01, (a, b, overlap_km2)
    # every planted spill was clipped and logged with its area
    log = gpd.pd.read_csv(layout.regional_soil_dir(programme.processed_dir) / "harmonization_log.csv")
    assert {"clip_spill"} <= set(log["kind"])
    assert (log["area_km2"] >= 0).all()


def test_mismatch_table_for_every_neighbouring_pair_with_maps(demo_run):
    programme, _, _ = demo_run
    summary = gpd.pd.read_csv(layout.borders_dir(programme.processed_dir) / "border_summary.csv")
    ledger = Ledger(programme.ledger_path, programme)
    with_maps = set(ledger.accepted_versions("soil_map"))
    pairs = summary[summary.a.isin(with_maps) & summary.b.isin(with_maps)]
    assert {("KHM", "THA"), ("KHM", "VNM")} <= set(zip(pairs.a, pairs.b, strict=True))
    # the whole shared border is compared, and matched + mismatched lengths add up
    assert (pairs.compared_km >= 0.95 * pairs.border_km).all()
    assert ((pairs.matched_km + pairs.mismatched_km - pairs.compared_km).abs() < 0.01).all()
    mismatches = gpd.pd.read_csv(layout.borders_dir(programme.processed_dir) / "border_mismatches.csv")
    assert (mismatches.rsg_a != mismatches.rsg_b).all()


def test_validate_reports_what_the_run_recorded(demo_run):
    """`atlas validate` on each delivery folder of the inbox gives the findings and verdict the flow recorded."""
    import json

    from atlas.borders.boundaries import load_boundaries
    from atlas.validation import validate_path

    programme, _, _ = demo_run
    boundaries, _ = load_boundaries(programme)
    recorded = {}
    for path in programme.processed_dir.glob("national/*/*/v*/report.json"):
        report = json.loads(path.read_text())
        recorded[(report["meta"]["country"], report["meta"]["deliverable"], report["meta"]["delivery"])] = report
    assert len({key[2] for key in recorded}) >= 4 and "rejected" in {r["verdict"] for r in recorded.values()}
    validated = {}
    for iso3, delivery in sorted({(key[0], key[2]) for key in recorded}):
        for sub in validate_path(programme.raw_dir / iso3 / delivery, programme, boundaries).submissions:
            validated[(sub.meta["country"], sub.meta["deliverable"], sub.meta["delivery"])] = sub
            assert sub.country_source == "inbox path"
    assert set(validated) == set(recorded)
    for key, run in sorted(recorded.items()):
        mine = validated[key]
        assert (mine.verdict, mine.meta["counts"]) == (run["verdict"], run["counts"]), key
        as_recorded = sorted(json.dumps(f, sort_keys=True) for f in run["findings"])
        assert sorted(json.dumps(f.to_dict(), sort_keys=True, default=str) for f in mine.findings) == as_recorded, key
def test_metafile_contacts_never_reach_public_outputs(demo_run):
    """THA's metafiles name a contact person: the report says so, no product, catalogue or export holds them."""
    programme, _, _ = demo_run
    secrets = ("Somchai", "somchai.dee@ldd.example", "579 0111")
    public = [p for folder in ("regional", "status", "catalog") for p in (programme.processed_dir / folder).rglob("*")
              if p.is_file()]
    assert public
    for path in public:
        data = path.read_bytes()
        assert not any(s.encode() in data for s in secrets), path
    report = (layout.national_dir(programme.processed_dir, "THA", "salinity_map", 1) / "report.json").read_text()
    assert "metafile.personal_data_withheld" in report and "somchai" not in report.lower()
    with open(layout.status_dir(programme.processed_dir) / "accuracy_statistics.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["country"] for r in rows} == {"THA"}
    assert {(r["layer"], r["depth"]) for r in rows if r["statistic"] == "Kappa"} == {("SAS", "0-30"), ("SAS", "30-100")}


# The Soil Atlas the demo builds: a map in WRB where each place counts once, with two-sided border feedback.
GEOD = Geod(ellps="WGS84")


def _report(programme, iso3, version, sub=""):
    folder = layout.national_dir(programme.processed_dir, iso3, "soil_map", version)
    return json.loads(((folder / sub) if sub else folder).joinpath("report.json").read_text(encoding="utf-8"))


def _units(programme):
    return gpd.read_file(layout.regional_soil_dir(programme.processed_dir) / "regional_wrb.gpkg", layer="map_units")


def test_khm_legacy_codes_go_through_the_crosswalk_round_trip(demo_run):
    programme, manifest, _ = demo_run
    first = _report(programme, "KHM", 1)
    assert first["verdict"] == "rejected"
    legacy = [f for f in first["findings"] if f["check_id"] == "wrb.legacy_code"]
    assert legacy and {f["severity"] for f in legacy} == {"error"}
    v1 = layout.national_dir(programme.processed_dir, "KHM", "soil_map", 1)
    template = pd.read_csv(v1 / "crosswalk_template.csv", keep_default_na=False)
    assert set(template["legacy_class"]) == {"Ao", "Jd", "Gh", "AB"}
    assert template["area_km2"].gt(0).all() and template["rsg_code"].eq("").all()
    second = _report(programme, "KHM", 2)
    assert second["verdict"] in ("accepted", "accepted_with_warnings")
    applied = next(f for f in second["findings"] if f["check_id"] == "wrb.crosswalk_applied")
    assert applied["observed"]["converted"] == {"AB": "RT", "Ao": "AC", "Gh": "GL", "Jd": "FL"}
    with Ledger(programme.ledger_path, programme) as ledger:
        assert ledger.accepted_versions("soil_map")["KHM"] == 2
    khm = _units(programme).query("country == 'KHM'")
    assert set(khm["submission_version"]) == {2}
    planted = manifest.truths["countries"]["KHM"]["deliveries"]["2026-02-20"]["soil"]["legacy_units"]
    converted = khm[khm["delivered_rsg1"].isin(planted.values())]
    assert set(converted["rsg1_status"]) == {"correlated"} and len(set(converted["delivered_rsg1"])) >= 3
    assert "wrb_versio" not in khm.columns and set(khm["wrb_version"]) == {"2015"}


def test_regional_map_holds_wrb_groups_only(demo_run):
    programme, _, _ = demo_run
    units = _units(programme)
    allowed = set(RSG_CODES) | set(NON_SOIL_UNITS)
    assert set(units["rsg1_code"]) <= allowed
    assert set(units["rsg1_name"]) <= set(RSG_CODES.values()) | set(NON_SOIL_UNITS.values())
    for col in ("rsg2_code", "rsg3_code"):
        assert set(units[col].dropna()) <= allowed
    dissolved = gpd.read_file(layout.regional_soil_dir(programme.processed_dir) / "regional_wrb.gpkg",
                              layer="dissolved_by_rsg")
    assert set(dissolved["rsg1_code"]) <= allowed and not dissolved["provisional"].any()
    assert units["harmonization_notes"].str.len().max() < 200  # counts and km² per kind; detail in the log


def test_every_soil_product_counts_each_place_once(demo_run):
    programme, manifest, _ = demo_run
    folder = layout.regional_soil_dir(programme.processed_dir)
    # THA drew two units on top of others without a hole: both overlaps resolved in favour of the inclusion
    nested = manifest.truths["countries"]["THA"]["deliveries"]["2026-04-10"]["soil"]["nested_units"]
    log = pd.read_csv(folder / "harmonization_log.csv")
    within = log[(log["kind"] == "overlap_within") & (log["country"] == "THA")]
    assert sorted(within["unit_id"].astype(int)) == sorted(nested.values())
    assert (within["area_km2"] > 1).all()
    units = _units(programme)
    dissolved = gpd.read_file(folder / "regional_wrb.gpkg", layer="dissolved_by_rsg")
    tables = pd.read_csv(folder / "rsg_areas.csv")
    mapped = {}
    for iso3, mine in units.groupby("country"):
        geoms = mine.geometry.values.to_numpy()
        mapped[iso3] = area_km2([shapely.union_all(geoms)])[0]
        assert area_km2(geoms).sum() == pytest.approx(mapped[iso3], rel=1e-3), iso3
        assert tables.loc[tables["iso3"] == iso3, "area_km2"].sum() == pytest.approx(mapped[iso3], rel=1e-3), iso3
    total = sum(mapped.values())
    assert tables.loc[tables["iso3"] == "REGION", "area_km2"].sum() == pytest.approx(total, rel=1e-3)
    assert dissolved["area_km2"].sum() == pytest.approx(total, rel=1e-3)
    assert area_km2(dissolved.geometry.values.to_numpy()).sum() == pytest.approx(
        area_km2([shapely.union_all(dissolved.geometry.values.to_numpy())])[0], rel=1e-3)


def _pixel_km2(transform, height):
    """Area of one pixel per row on the ellipsoid (pyproj.Geod), independent of the product's own computation."""
    x0, res_x, top, res_y = transform.c, transform.a, transform.f, transform.e
    out = np.empty(height)
    for row in range(height):
        y0, y1 = top + row * res_y, top + (row + 1) * res_y
        out[row] = abs(GEOD.polygon_area_perimeter([x0, x0 + res_x, x0 + res_x, x0], [y0, y0, y1, y1])[0]) / 1e6
    return out


def test_every_salinity_class_table_sums_to_the_mapped_area(demo_run):
    programme, _, _ = demo_run
    folder = layout.regional_salinity_dir(programme.processed_dir)
    legend = json.loads((folder / "GSSmap_legend.json").read_text(encoding="utf-8"))
    codes = legend["country_index"]["codes"]
    with rasterio.open(folder / legend["country_index"]["raster"]) as src:
        index = src.read(1)
    table = pd.read_csv(folder / "salinity_class_areas.csv")
    checked = 0
    for product, rows in table.groupby("product"):
        depth = rows["depth"].iloc[0]
        name = f"GSSmap_SAS_derived_{depth}.tif" if "derived" in product else f"GSSmap_SAS_{depth}.tif"
        with rasterio.open(folder / name) as src:
            cls = src.read(1)
            px = _pixel_km2(src.transform, src.height)[:, None] * np.ones((1, src.width))
            valid = cls != src.nodata
        for k, iso3 in codes.items():
            mapped = px[valid & (index == int(k))].sum()
            got = rows.loc[rows["iso3"] == iso3, "area_km2"].sum()
            assert got == pytest.approx(mapped, rel=1e-3), (product, iso3)
            checked += 1
    assert checked >= 4


def test_style_validates_as_qgis_style_naming_rsg1_code(demo_run):
    programme, _, _ = demo_run
    folder = layout.regional_soil_dir(programme.processed_dir)
    with sqlite3.connect(folder / "regional_wrb.gpkg") as db:
        stored = dict(db.execute("SELECT f_table_name, styleQML FROM layer_styles WHERE useAsDefault").fetchall())
    for text in (stored["map_units"], (folder / "regional_wrb.qml").read_text(encoding="utf-8")):
        root = ET.fromstring(text.split("\n", 1)[1])
        assert root.tag == "qgis"
        renderer = root.find("renderer-v2")
        assert renderer.get("attr") == "rsg1_code"
        assert {c.get("value") for c in renderer.iter("category")} >= set(RSG_CODES)


def test_border_tables_written_once_and_both_sides_see_the_same_segments(demo_run):
    programme, _, _ = demo_run
    assert not (layout.regional_soil_dir(programme.processed_dir) / "border_mismatches.csv").exists()
    table = pd.read_csv(layout.borders_dir(programme.processed_dir) / "border_mismatches.csv")
    with Ledger(programme.ledger_path, programme) as ledger:
        versions = ledger.accepted_versions("soil_map")
    pair = table[(table["a"] == "KHM") & (table["b"] == "THA")]
    assert len(pair), "no mismatch along KHM-THA in the demo"
    sides = {}
    for iso3 in ("KHM", "THA"):
        report = _report(programme, iso3, versions[iso3], "harmonization")
        sides[iso3] = {f["observed"]["segment"]: f["observed"] for f in report["findings"]
                       if f["check_id"] == "border.mismatch" and f["observed"]["neighbour"] in ("KHM", "THA")}
        summary = [f for f in report["findings"] if f["check_id"] == "border.mismatch_summary"]
        assert {f["observed"]["neighbour"] for f in summary} >= ({"THA", "VNM"} if iso3 == "KHM" else {"KHM"})
    assert set(sides["KHM"]) == set(sides["THA"]) and len(sides["KHM"]) == min(len(pair), 200)
    for seg, mine in sides["KHM"].items():
        theirs = sides["THA"][seg]
        assert (mine["group"], mine["neighbour_group"]) == (theirs["neighbour_group"], theirs["group"])
        assert mine["group"] != mine["neighbour_group"] and mine["length_km"] == theirs["length_km"]


def test_no_demo_report_shows_arrow_chains_e_numbers_or_camelcase_class_names(demo_run):
    from report_scan import scan

    programme, _, _ = demo_run
    assert scan(programme.processed_dir / "national") == {}
