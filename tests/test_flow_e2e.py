"""The whole flow on a small demo programme, under Prefect's test harness, checked against its sources."""

from __future__ import annotations

import csv

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.windows import from_bounds

from atlas import layout
from atlas.demo.programme import generate_demo
from atlas.ledger.store import Ledger

WINDOW = (102.0, 10.0, 108.0, 15.0)
COUNTRIES = ["KHM", "VNM", "THA"]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory, prefect_harness):
    from atlas.config import load_programme
    from flows.pipeline import run_pipeline

    root = tmp_path_factory.mktemp("e2e")
    programme = load_programme().with_root(root)
    from dataclasses import replace

    programme = replace(programme, region_bounds=WINDOW)
    manifest = generate_demo(programme, countries=COUNTRIES, window=WINDOW)
    summary = run_pipeline(programme=programme)
    return programme, manifest, summary


def test_flow_publishes_salinity_mosaics(demo_run):
    programme, _, summary = demo_run
    out = layout.regional_salinity_dir(programme.processed_dir)
    for layer, depth in programme.salinity.layer_keys():
        assert (out / f"GSSmap_{layer}_{depth}.tif").is_file(), (layer, depth)
    assert summary["failed_countries"] == []


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
