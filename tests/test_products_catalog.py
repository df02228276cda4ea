"""STAC catalogue of the products: extent, grid, checksum, sources, run; validates with pystac."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pystac
import rasterio
from affine import Affine
from shapely.geometry import box

from atlas.intake.inbox import sha256_file
from atlas.products.catalog import build_catalog

RES = 1.0 / 120.0


def cog(path, west, north, width=64, height=32):
    with rasterio.open(path, "w", driver="COG", width=width, height=height, count=1, dtype="float32",
                       nodata=-9999.0, crs="EPSG:4326", transform=Affine(RES, 0, west, 0, -RES, north)) as dst:
        dst.write(np.ones((height, width), "float32"), 1)
    return path


def test_catalog_items_carry_extent_grid_checksum_sources_and_run(tmp_path):
    products = tmp_path / "products"
    products.mkdir()
    ece = cog(products / "GSSmap_ECe_0-30.tif", 100.0, 12.0)
    wrap = cog(products / "GSSmap_pH_0-30.tif", 179.9, 60.0, width=24)  # runs past 180 degrees
    gpkg = products / "soil_atlas_wrb.gpkg"
    gpd.GeoDataFrame({"rsg1": ["CM"]}, geometry=[box(100, 10, 101, 11)], crs="EPSG:4326").to_file(gpkg)
    (products / "GSSmap_provenance_legend.csv").write_text("code,iso3\n1,KHM\n")
    sources = [{"iso3": "KHM", "deliverable": "salinity_map", "version": 2, "checksum": "abc",
                "products": ["GSSmap_ECe_0-30.tif", "GSSmap_pH_0-30.tif"]},
               {"iso3": "THA", "deliverable": "soil_map", "version": 1, "checksum": "def",
                "products": ["soil_atlas_wrb.gpkg"]}]
    path = build_catalog([ece, wrap, gpkg], sources, "run-42", tmp_path / "stac")

    catalog = pystac.Catalog.from_file(str(path))
    assert catalog.validate_all() >= 3
    items = {item.id: item for item in catalog.get_items()}
    assert set(items) == {"GSSmap_ECe_0-30", "GSSmap_pH_0-30", "soil_atlas_wrb"}
    item = items["GSSmap_ECe_0-30"]
    assert item.bbox == [100.0, 12.0 - 32 * RES, 100.0 + 64 * RES, 12.0]
    assert item.properties["atlas:run_id"] == "run-42"
    assert item.properties["atlas:grid"]["shape"] == [32, 64]
    assert [s["iso3"] for s in item.properties["atlas:sources"]] == ["KHM"]
    asset = item.assets["data"]
    assert asset.extra_fields["atlas:checksum_sha256"] == sha256_file(ece)
    assert asset.get_absolute_href() == str(ece.resolve())
    assert [s["iso3"] for s in items["soil_atlas_wrb"].properties["atlas:sources"]] == ["THA"]
    west, _, east, _ = items["GSSmap_pH_0-30"].bbox
    assert west > east and items["GSSmap_pH_0-30"].geometry["type"] == "MultiPolygon"
