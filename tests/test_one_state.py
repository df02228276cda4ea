"""Issue 21, item 1: one resolved state per run. One test per case (a, d, e, f, i, j) of the review.

Each builds a small Cambodian delivery on the fly (60 x 60 pixels on the programme grid), runs the stages as the
flow does, and checks what the products, the catalogue, the ledger and the status say.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import geopandas as gpd
import numpy as np
import pystac
import rasterio
from affine import Affine
from shapely.geometry import box

from atlas import layout, stages
from atlas.demo.metafiles import write_metafile
from atlas.ledger.accuracy import accuracy_table
from atlas.ledger.store import Ledger
from atlas.products import regional
from atlas.products.mosaic import build_mosaics
from atlas.validation import validate_path

RES = 1.0 / 120.0
WEST, NORTH = 104.0, 12.5
BOUNDARIES = gpd.GeoDataFrame({"iso3": ["KHM"], "name": ["Cambodia"]}, geometry=[box(104.0, 12.0, 104.5, 12.5)],
                              crs="EPSG:4326")
CLASS_LAYERS = ("SAS",)


def write(folder, layer, value, depth="0-30", rows=60, metafile=False):
    """One salinity layer as a country sends it: measured values, or a class map bound to the programme legend."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"KHM_GSSmap_{layer}_{depth}.tif"
    if layer in CLASS_LAYERS:
        dtype, nodata = "uint8", 255
        data = np.full((rows, 60), value, dtype=dtype)
        manifest = folder / "manifest.csv"
        lines = manifest.read_text().splitlines() if manifest.is_file() else ["file,layer,depth,legend"]
        manifest.write_text("\n".join([*lines, f"{name},{layer},{depth},programme"]) + "\n")
    else:  # measured values, not a few integers (which would look like a class map)
        dtype, nodata = "float32", -9999.0
        data = np.full((rows, 60), value, dtype=dtype) + np.linspace(0.0, 0.5, rows * 60, dtype=dtype).reshape(rows, 60)
    with rasterio.open(folder / name, "w", driver="GTiff", width=60, height=rows, count=1, dtype=dtype,
                       crs="EPSG:4326", transform=Affine(RES, 0, WEST, 0, -RES, NORTH), nodata=nodata) as dst:
        dst.write(data, 1)
    if metafile:
        units = {"ECe": "dS/m", "pH": "pH units", "ESP": "%", "SAS": "class"}[layer]
        write_metafile(folder / name, layer, depth, "Cambodia", units, "A. Officer", "officer@example.org", "+855 1")
    return folder / name


def small(programme):
    """The programme on a region the size of the test country: mosaics in a fraction of a second."""
    return dataclasses.replace(programme, region_bounds=(104.0, 12.0, 104.5, 12.5))


def process_inbox(programme, ledger):
    """Register and process every new delivery, as the flow's submission stage does."""
    subs, findings = stages.discover_submissions(programme)
    registered = [(s, r) for s, r in stages.register(ledger, sorted(subs, key=lambda s: s.delivery), "run")
                  if r.is_new]
    outcomes = [stages.process_submission(sub, record.id, programme, BOUNDARIES, ledger) for sub, record in registered]
    return outcomes, findings


def regional_step(programme, ledger, force=False):
    """The flow's regional stage for the salinity product: built, published in the ledger, catalogued."""
    versions = ledger.accepted_versions("salinity_map")
    outcome = regional.build_regional_salinity(programme, versions, BOUNDARIES, "run", force,
                                               layer_versions=ledger.layer_versions())
    stages.publish_versions(ledger, "salinity_map", outcome, "run")
    catalog = regional.build_catalogue(programme, [outcome], "run")
    return outcome, catalog


def stac_sources(catalog) -> dict[str, set[tuple]]:
    """{item id: {(country, version), ...}} of the catalogue."""
    cat = pystac.Catalog.from_file(str(catalog))
    return {item.id: {(s["country"], s["version"]) for s in item.properties["atlas:sources"]}
            for item in cat.get_items()}


def status_cell(ledger, deliverable="salinity_map") -> str:
    return next(r for r in ledger.status_rows() if (r.country, r.deliverable) == ("KHM", deliverable)).cell()


def test_case_a_a_late_filed_older_partial_delivery_does_not_win_the_mosaic(programme):
    programme = small(programme)
    april = programme.raw_dir / "KHM" / "2026-04-10"
    for layer, value in (("ECe", 6.0), ("pH", 7.5), ("ESP", 20.0)):
        write(april, layer, value)
    write(april, "SAS", 1)
    with Ledger(programme.ledger_path, programme) as ledger:
        outcomes, _ = process_inbox(programme, ledger)
        assert [o.verdict[:8] for o in outcomes] == ["accepted"]
        regional_step(programme, ledger)
        # then a delivery dated 1 March holding only ECe 0-30 (far saltier) is filed, and the mosaic rebuilds
        write(programme.raw_dir / "KHM" / "2026-03-01", "ECe", 40.0)
        process_inbox(programme, ledger)
        outcome, catalog = regional_step(programme, ledger, force=True)  # the mosaic rebuilds
        assert ledger.accepted_versions("salinity_map") == {"KHM": 1}
        assert ledger.layer_versions() == {"KHM": {"ECe_0-30": 1, "pH_0-30": 1, "ESP_0-30": 1, "SAS_0-30": 1}}
        cell = status_cell(ledger)
        assert "v1" in cell and "4 of 16 layers" in cell and "carried over" not in cell, cell
    with rasterio.open(layout.regional_salinity_dir(programme.processed_dir) / "GSSmap_ECe_0-30.tif") as ece:
        values = ece.read(1)
    assert ((values >= 6.0) & (values <= 6.5)).sum() == 3600 and not (values >= 40.0).any()  # every pixel v1's
    assert stac_sources(catalog)["GSSmap_ECe_0-30"] == {("KHM", 1)}
    manifest = json.loads((layout.regional_salinity_dir(programme.processed_dir) / "build_manifest.json").read_text())
    assert manifest["versions"] == {"KHM": 1}


def test_case_d_derived_classes_keep_the_alkaline_class_when_ph_reaches_one_row_less(programme, tmp_path):
    programme = small(programme)
    v2, v1 = tmp_path / "v2", tmp_path / "v1"
    inputs = {"KHM": {("ECe", "0-30"): write(v2, "ECe", 1.0),  # not saline, not sodic ...
                      ("ESP", "0-30"): write(v2, "ESP", 5.0),
                      ("pH", "0-30"): write(v1, "pH", 8.6, rows=59)}}  # ... but alkaline; pH of another version
    result = build_mosaics(inputs, {"KHM": 2}, programme, tmp_path / "out", BOUNDARIES,
                           layer_versions={"KHM": {"ECe_0-30": 2, "ESP_0-30": 2, "pH_0-30": 1}})
    alkaline = next(code for code, name in programme.salinity.classes.items() if name.lower() == "alkaline")
    with rasterio.open(result.products["SAS_derived_0-30"]) as sas:
        classes = sas.read(1)
    assert (classes == alkaline).sum() == 59 * 60  # every pixel pH reaches
    assert {v for _, v in result.used["SAS_derived_0-30"]} == {1, 2}  # ECe and ESP of v2, pH of v1


def test_case_e_stac_sources_and_ledger_name_only_the_versions_whose_pixels_are_in_each_product(programme):
    programme = small(programme)
    first = programme.raw_dir / "KHM" / "2026-03-02"
    for layer, value in (("ECe", 6.0), ("pH", 7.5)):
        write(first, layer, value)
    write(first, "SAS", 1)
    write(first, "ECe", 3.0, depth="30-100")
    write(first, "ESP", 20.0, depth="30-100")  # no SAS 30-100 of its own: the programme derives it
    write(programme.raw_dir / "KHM" / "2026-05-20", "pH", 8.0)  # a corrected pH, nothing else
    with Ledger(programme.ledger_path, programme) as ledger:
        outcomes, _ = process_inbox(programme, ledger)
        assert all(o.verdict.startswith("accepted") for o in outcomes), [o.verdict for o in outcomes]
        outcome, catalog = regional_step(programme, ledger)
        states = {r.version: r.state for r in ledger.versions("KHM", "salinity_map")}
    sources = stac_sources(catalog)
    assert sources["GSSmap_pH_0-30"] == {("KHM", 2)}
    assert sources["GSSmap_ECe_0-30"] == {("KHM", 1)}  # carried over: v1's pixels
    # KHM never sent ESP 0-30, and its classes at 30-100 are derived, not delivered: those products hold no
    # pixel, so they are not published (case m) and no STAC item names a source for them
    assert "GSSmap_ESP_0-30" not in sources and "GSSmap_SAS_30-100" not in sources
    assert sources["GSSmap_SAS_derived_30-100"] == {("KHM", 1)}
    assert states == {1: "partly_published", 2: "published"}


def test_case_f_validate_resolves_carry_over_from_earlier_deliveries_in_its_folder(programme):
    first = programme.raw_dir / "KHM" / "2026-03-02"
    write(first, "ECe", 6.0)
    write(first, "pH", 7.5)
    write(first, "SAS", 1)
    write(programme.raw_dir / "KHM" / "2026-05-20", "ESP", 20.0)  # partial: the required layers come from March
    assert not programme.ledger_path.exists()  # an inbox never run
    result = validate_path(programme.raw_dir / "KHM", programme, BOUNDARIES)
    verdicts = {s.meta["delivery"]: s.verdict for s in result.submissions}
    assert set(verdicts) == {"2026-03-02", "2026-05-20"}
    assert verdicts["2026-05-20"].startswith("accepted"), [
        f.message for s in result.submissions for f in s.findings if f.severity.value == "error"]
    with Ledger(programme.ledger_path, programme) as ledger:  # the run says the same
        outcomes, _ = process_inbox(programme, ledger)
    assert {o.submission.delivery: o.verdict for o in outcomes} == verdicts


def test_case_i_a_future_dated_delivery_is_refused_and_orders_nothing(programme):
    programme = small(programme)
    typo, corrected = programme.raw_dir / "KHM" / "2062-04-01", programme.raw_dir / "KHM" / "2026-05-01"
    for folder, value in ((typo, 6.0), (corrected, 7.0)):
        write(folder, "ECe", value)
        write(folder, "pH", 7.5)
        write(folder, "SAS", 1)
    with Ledger(programme.ledger_path, programme) as ledger:
        outcomes, findings = process_inbox(programme, ledger)
        refused = [f for f in findings if f.check_id == "inbox.future_delivery"]
        assert len(refused) == 1 and "KHM/2062-04-01" in refused[0].message, [f.message for f in findings]
        assert [o.submission.delivery for o in outcomes] == ["2026-05-01"]
        assert not [f for o in outcomes for f in o.findings if f.check_id == "inbox.older_delivery"]
        row = next(r for r in ledger.status_rows() if (r.country, r.deliverable) == ("KHM", "salinity_map"))
        assert row.best_received == dt.date(2026, 5, 1) and row.versions == 1
        assert ledger.accepted_versions("salinity_map") == {"KHM": outcomes[0].submission.version}
        # a ledger that took such a delivery before this rule: the state refuses it too, naming the folder
        rec = ledger.record_submission(dataclasses.replace(
            outcomes[0].submission, delivery="2062-04-01", received=dt.date(2062, 4, 1), checksum="typo", folder=typo,
            files=tuple(sorted(typo.iterdir())), file_sha256=()))
        ledger.record_validation(rec.id, "accepted", {}, None, [])
        state = ledger.state()
        assert state.current_versions("salinity_map") == {"KHM": outcomes[0].submission.version}
        assert [f.location.file for f in state.refused] == ["KHM/2062-04-01"]


def test_case_j_a_partial_delivery_keeps_the_accuracy_and_legends_of_the_layers_it_carries_over(programme):
    programme = small(programme)
    first = programme.raw_dir / "KHM" / "2026-03-02"
    for layer, value in (("ECe", 6.0), ("pH", 7.5), ("ESP", 20.0)):
        write(first, layer, value, metafile=True)
    write(first, "SAS", 1, metafile=True)
    write(first, "SAS", 2, depth="30-100", metafile=True)
    write(programme.raw_dir / "KHM" / "2026-05-20", "SAS", 3, depth="30-100", metafile=True)  # one new class map
    with Ledger(programme.ledger_path, programme) as ledger:
        outcomes, _ = process_inbox(programme, ledger)
        assert all(o.verdict.startswith("accepted") for o in outcomes), [o.verdict for o in outcomes]
        regional_step(programme, ledger)
        rows = accuracy_table(ledger, programme)
    stated = {(r["layer"], r["depth"], r["version"]) for r in rows}
    assert stated == {("ECe", "0-30", 1), ("pH", "0-30", 1), ("ESP", "0-30", 1), ("SAS", "0-30", 1),
                      ("SAS", "30-100", 2)}
    assert len(rows) == 4 * 3 + 2  # RMSE, ME, r², NSE for each property map; Kappa for each class map
    legend = json.loads((layout.regional_salinity_dir(programme.processed_dir) / "GSSmap_legend.json").read_text())
    assert set(legend["salinity_classes"]["country_codes"]["KHM"]) == {"SAS_0-30", "SAS_30-100"}
