"""A partial salinity delivery, then a delivery of one more layer: accepted, carried over, mosaicked."""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import rasterio
from affine import Affine
from shapely.geometry import box

from atlas import layout, stages
from atlas.ledger.store import Ledger
from atlas.products import regional
from atlas.products.mosaic import build_mosaics

RES = 1.0 / 120.0
BOUNDARIES = gpd.GeoDataFrame({"iso3": ["KHM"], "name": ["Cambodia"]}, geometry=[box(104.0, 12.0, 104.5, 12.5)],
                              crs="EPSG:4326")


def write(folder, layer, value, dtype="float32", nodata=-9999.0):
    folder.mkdir(parents=True, exist_ok=True)
    data = np.full((60, 60), value, dtype=dtype)
    if dtype == "float32":  # measured values, not a few integers (which would look like a class map)
        data = data + np.linspace(0.0, 0.5, 3600, dtype="float32").reshape(60, 60)
    else:  # the class map says its codes follow the programme legend
        (folder / "manifest.csv").write_text(f"file,layer,depth,legend\nKHM_GSSmap_{layer}_0-30.tif,{layer},0-30,"
                                             "programme\n")
    with rasterio.open(folder / f"KHM_GSSmap_{layer}_0-30.tif", "w", driver="GTiff", width=60, height=60, count=1,
                       dtype=dtype, crs="EPSG:4326", transform=Affine(RES, 0, 104.0, 0, -RES, 12.5),
                       nodata=nodata) as dst:
        dst.write(data, 1)


def process_inbox(programme, ledger):
    subs, _ = stages.discover_submissions(programme)
    return [stages.process_submission(sub, record.id, programme, BOUNDARIES, ledger)
            for sub, record in stages.register(ledger, sorted(subs, key=lambda s: s.delivery), "run")]


def test_one_more_layer_is_accepted_and_the_rest_carries_over(programme):
    first = programme.raw_dir / "KHM" / "2026-03-02"
    write(first, "ECe", 6.0)
    write(first, "pH", 7.5)
    write(first, "SAS", 1, dtype="uint8", nodata=255)
    second = programme.raw_dir / "KHM" / "2026-04-02"
    write(second, "ESP", 20.0)  # one more layer, nothing else: the required ones come from v1
    with Ledger(programme.ledger_path, programme) as ledger:
        outcomes = process_inbox(programme, ledger)
        assert [o.verdict for o in outcomes] != [] and all(o.verdict.startswith("accepted") for o in outcomes), \
            [f.message for o in outcomes for f in o.findings if f.severity.value == "error"]
        layer_versions = ledger.layer_versions()
        row = next(r for r in ledger.status_rows() if (r.country, r.deliverable) == ("KHM", "salinity_map"))
    assert layer_versions == {"KHM": {"ECe_0-30": 1, "pH_0-30": 1, "SAS_0-30": 1, "ESP_0-30": 2}}
    assert "4 of 16 layers (3 carried over)" in row.cell() and row.coverage > 0.99
    inputs = regional.salinity_inputs(programme, {"KHM": 2}, layer_versions)
    v1 = layout.national_dir(programme.processed_dir, "KHM", "salinity_map", 1)
    assert inputs["KHM"][("ECe", "0-30")].parent == v1 and inputs["KHM"][("ESP", "0-30")].parent != v1
    small = dataclasses.replace(programme, region_bounds=(104.0, 12.0, 104.5, 12.5))  # a small region: fast
    result = build_mosaics(inputs, {"KHM": 2}, small, programme.processed_dir / "regional", BOUNDARIES,
                           layer_versions=layer_versions)
    with rasterio.open(result.products["ESP_0-30"]) as esp, rasterio.open(result.products["ECe_0-30"]) as ece:
        assert ((esp.read(1) >= 20.0) & (esp.read(1) <= 20.5)).sum() > 3000
        assert ((ece.read(1) >= 6.0) & (ece.read(1) <= 6.5)).sum() > 3000
    assert dict(result.used["ESP_0-30"]) == {"KHM": 2} and dict(result.used["ECe_0-30"]) == {"KHM": 1}
