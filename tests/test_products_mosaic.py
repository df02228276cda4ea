"""Regional mosaics: pixels, provenance at a border, derived classes, COG validity, antimeridian."""

from __future__ import annotations

import dataclasses
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from rio_cogeo.cogeo import cog_validate
from shapely.geometry import box

from atlas.grid import Grid
from atlas.products.mosaic import build_mosaics
from atlas.products.salinity_classes import derive_with_programme

RES = 1.0 / 120.0


def write_layer(path, west, north, data, nodata):
    """A harmonized national layer on the 30 arc-second lattice."""
    profile = {"driver": "GTiff", "dtype": data.dtype.name, "nodata": nodata, "count": 1, "width": data.shape[1],
               "height": data.shape[0], "crs": "EPSG:4326", "transform": Affine(RES, 0, west, 0, -RES, north)}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
    return path


def small_programme(programme, bounds, layers=("ECe", "ESP", "SAS"), depths=("0-30",)):
    sal = dataclasses.replace(programme.salinity, layers=tuple(layers), depths=tuple(depths))
    return dataclasses.replace(programme, region_bounds=tuple(bounds), salinity=sal)


@pytest.fixture
def two_countries(tmp_path, programme):
    """AAA west of 100.5E and BBB east of it; each raster spills 12 pixels over the border."""
    prog = small_programme(programme, (100.0, 10.0, 101.0, 10.5))
    boundaries = gpd.GeoDataFrame({"iso3": ["AAA", "BBB"], "name": ["A", "B"]},
                                  geometry=[box(100.0, 10.0, 100.5, 10.5), box(100.5, 10.0, 101.0, 10.5)],
                                  crs="EPSG:4326")
    rng = np.random.default_rng(1)
    inputs = {}
    arrays = {}
    for iso3, west in (("AAA", 100.0), ("BBB", 100.4)):
        w = 72  # 60 own columns + 12 over the border
        ece = rng.uniform(0, 10, (60, w)).astype("float32")
        esp = rng.uniform(0, 30, (60, w)).astype("float32")
        ece[0, 0] = -9999.0
        folder = tmp_path / iso3
        folder.mkdir()
        files = {("ECe", "0-30"): write_layer(folder / f"{iso3}_ece.tif", west, 10.5, ece, -9999.0),
                 ("ESP", "0-30"): write_layer(folder / f"{iso3}_esp.tif", west, 10.5, esp, -9999.0)}
        arrays[iso3] = {"ECe": ece, "ESP": esp, "west": west}
        if iso3 == "AAA":
            sas = rng.integers(1, 5, (60, w)).astype("uint8")  # programme legend codes 1-4
            files[("SAS", "0-30")] = write_layer(folder / f"{iso3}_sas.tif", west, 10.5, sas, 255)
            arrays[iso3]["SAS"] = sas
        inputs[iso3] = files
    out = tmp_path / "regional"
    result = build_mosaics(inputs, {"AAA": 2, "BBB": 1}, prog, out, boundaries)
    return result, arrays, prog


def test_mosaic_pixels_equal_national_pixels_inside_each_border(two_countries):
    result, arrays, _ = two_countries
    with rasterio.open(result.products["ECe_0-30"]) as src:
        mosaic = src.read(1)
        assert src.nodata == -9999.0
    # AAA owns columns 0..59, its raster starts at column 0
    np.testing.assert_array_equal(mosaic[:, :60], arrays["AAA"]["ECe"][:, :60])
    # BBB's raster starts at 100.4E = column 48; it owns columns 60..119 = its columns 12..71
    np.testing.assert_array_equal(mosaic[:, 60:], arrays["BBB"]["ECe"][:, 12:])
    assert mosaic[0, 0] == -9999.0


def test_provenance_is_right_on_each_side_of_the_border(two_countries):
    result, _, _ = two_countries
    legend = pd.read_csv(result.products["legend_csv"])
    code = dict(zip(legend["iso3"], legend["code"], strict=True))
    assert dict(zip(legend["iso3"], legend["version"], strict=True)) == {"AAA": 2, "BBB": 1}
    with rasterio.open(result.products["provenance"]) as src:
        prov = src.read(1)
    assert (prov[:, 59] == code["AAA"]).all() and (prov[:, 60] == code["BBB"]).all()
    assert set(np.unique(prov[:, :60])) == {code["AAA"]}
    assert dict(result.used["ECe_0-30"]) == {"AAA": 2, "BBB": 1}
    assert any(f.check_id == "mosaic.clipped_to_border" for f in result.findings)


def test_class_layer_as_delivered_and_derived_kept_apart(two_countries):
    result, arrays, prog = two_countries
    with rasterio.open(result.products["SAS_0-30"]) as src:
        sas = src.read(1)
    with rasterio.open(result.products["SAS_derived_0-30"]) as src:
        derived = src.read(1)
    np.testing.assert_array_equal(sas[:, :60], arrays["AAA"]["SAS"][:, :60])
    assert (sas[:, 60:] == 255).all()  # BBB sent no class layer
    assert (derived[:, :60] == 255).all()  # AAA has its own: nothing derived there
    ece, esp = arrays["BBB"]["ECe"][:, 12:], arrays["BBB"]["ESP"][:, 12:]
    ph = arrays["BBB"]["pH"][:, 12:] if "pH" in arrays["BBB"] else None
    np.testing.assert_array_equal(derived[:, 60:], derive_with_programme(ece, esp, prog.salinity, ph))
    legend = pd.read_csv(result.products["legend_csv"]).set_index("iso3")
    assert legend.loc["AAA", "SAS_0-30"] == "delivered" and legend.loc["BBB", "SAS_0-30"] == "derived"


def test_products_are_valid_cogs_with_units_and_descriptions(two_countries):
    result, _, _ = two_countries
    for key in ("ECe_0-30", "SAS_0-30", "SAS_derived_0-30", "provenance"):
        valid, errors, _ = cog_validate(str(result.products[key]))
        assert valid, (key, errors)
    with rasterio.open(result.products["ECe_0-30"]) as src:
        assert src.units[0] == "dS/m"
        assert "ECe" in src.descriptions[0]
        assert src.profile["compress"].lower() == "deflate"
    legend = json.loads(result.products["legend_json"].read_text())
    assert legend["salinity_classes"]["codes"]["12"] == "Saline-sodic"
    assert legend["salinity_classes"]["criterion"] == "FAO"


def test_region_across_the_antimeridian(tmp_path, programme):
    prog = small_programme(programme, (179.5, 60.0, -179.5, 60.5), layers=("ECe",))
    boundaries = gpd.GeoDataFrame({"iso3": ["RUS", "USA"]},
                                  geometry=[box(179.5, 60.0, 180.0, 60.5), box(-180.0, 60.0, -179.5, 60.5)],
                                  crs="EPSG:4326")
    west_part = np.full((60, 60), 1.0, dtype="float32")
    east_part = np.full((60, 60), 2.0, dtype="float32")
    inputs = {"RUS": {("ECe", "0-30"): write_layer(tmp_path / "r.tif", 179.5, 60.5, west_part, -9999.0)},
              "USA": {("ECe", "0-30"): write_layer(tmp_path / "u.tif", -180.0, 60.5, east_part, -9999.0)}}
    result = build_mosaics(inputs, {"RUS": 1, "USA": 1}, prog, tmp_path / "out", boundaries)
    assert result.grid == Grid.covering((179.5, 60.0, 180.5, 60.5))
    with rasterio.open(result.products["ECe_0-30"]) as src:
        data = src.read(1)
        assert src.bounds.right == pytest.approx(180.5)
    assert data.shape == (60, 120)
    assert (data[:, :60] == 1.0).all() and (data[:, 60:] == 2.0).all()


def test_paths_lists_every_product_file(two_countries):
    result, _, _ = two_countries
    assert set(result.paths) == set(result.products.values())
    assert all(p.is_file() for p in result.paths)
    assert not any(p.name.startswith(".mosaic_") for p in result.paths[0].parent.iterdir())


def test_class_areas_from_the_mosaic_country_index(two_countries):
    from atlas.products.area_stats import salinity_class_areas

    result, arrays, prog = two_countries
    codes = list(json.loads(result.products["legend_json"].read_text())["country_index"]["codes"].values())
    table = salinity_class_areas({"SAS_0-30": result.products["SAS_0-30"],
                                  "SAS_derived_0-30": result.products["SAS_derived_0-30"]},
                                 result.products["country_index"], codes, prog)
    delivered = table[(table["product"] == "SAS_0-30") & (table["iso3"] == "AAA")]
    assert set(delivered.loc[delivered["area_km2"] > 0, "class_code"]) == {1, 2, 3, 4}
    derived = table[(table["product"] == "SAS_derived_0-30")]
    assert set(derived["iso3"]) == {"BBB", "REGION"} and (derived["source"] == "derived").all()
    # the delivered layer of AAA covers its 60 x 60 pixels; about 0.5 x 0.5 degree at 10N (~3000 km2)
    assert 2900 < delivered["area_km2"].sum() < 3100


def test_provenance_legend_json_matches_the_csv(two_countries):
    result, _, _ = two_countries
    entries = json.loads(result.products["provenance_legend_json"].read_text())["entries"]
    legend = pd.read_csv(result.products["legend_csv"])
    assert [(e["country"], e["code"], e["version"]) for e in entries] == list(
        zip(legend["iso3"], legend["code"], legend["version"], strict=True))


def test_provenance_marks_only_pixels_holding_data(tmp_path, programme):
    # the country is 60 x 60 pixels; its raster holds data on 20 x 10 of them
    prog = small_programme(programme, (100.0, 10.0, 100.5, 10.5), layers=("ECe", "pH"))
    boundaries = gpd.GeoDataFrame({"iso3": ["AAA"]}, geometry=[box(100.0, 10.0, 100.5, 10.5)], crs="EPSG:4326")
    ece = np.full((60, 60), -9999.0, dtype="float32")
    ece[:20, :10] = 5.0
    ph = np.full((60, 60), -9999.0, dtype="float32")
    ph[:20, :5] = 8.0  # within the ECe patch: the union is still 200 pixels
    inputs = {"AAA": {("ECe", "0-30"): write_layer(tmp_path / "e.tif", 100.0, 10.5, ece, -9999.0),
                      ("pH", "0-30"): write_layer(tmp_path / "p.tif", 100.0, 10.5, ph, -9999.0)}}
    result = build_mosaics(inputs, {"AAA": 3}, prog, tmp_path / "out", boundaries,
                           layer_versions={"AAA": {"ECe_0-30": 3, "pH_0-30": 1}})
    with rasterio.open(result.products["provenance"]) as src:
        prov = src.read(1)
    assert int((prov != 0).sum()) == 200 and (prov[:20, :10] != 0).all()
    legend = pd.read_csv(result.products["legend_csv"])
    assert legend.loc[0, "layer_versions"] == "ECe_0-30:v3 pH_0-30:v1"
    assert dict(result.used["pH_0-30"]) == {"AAA": 1}


def _gdal_category_names(path) -> list[str]:
    """Category names of band 1 as GDAL reads them (rasterio's own libgdal: rasterio has no call for them)."""
    import ctypes
    from pathlib import Path

    libs = sorted((Path(rasterio.__file__).parents[1] / "rasterio.libs").glob("libgdal*.so*"))
    gdal = ctypes.CDLL(str(libs[0])) if libs else ctypes.CDLL("libgdal.so")  # a wheel, else the system's GDAL
    gdal.GDALAllRegister()
    gdal.GDALOpen.restype = gdal.GDALGetRasterBand.restype = ctypes.c_void_p
    gdal.GDALGetRasterBand.argtypes = [ctypes.c_void_p, ctypes.c_int]
    gdal.GDALGetRasterCategoryNames.restype = ctypes.POINTER(ctypes.c_char_p)
    gdal.GDALGetRasterCategoryNames.argtypes = [ctypes.c_void_p]
    gdal.GDALClose.argtypes = [ctypes.c_void_p]
    gdal.GDALGetMetadata.argtypes, gdal.GDALGetMetadata.restype = [ctypes.c_void_p, ctypes.c_char_p], ctypes.c_void_p
    ds = gdal.GDALOpen(str(path).encode(), 0)
    assert ds, path
    try:
        gdal.GDALGetMetadata(ds, None)  # GeoTIFF loads its .aux.xml lazily, on the first metadata request
        names, out = gdal.GDALGetRasterCategoryNames(gdal.GDALGetRasterBand(ds, 1)), []
        while names and names[len(out)] is not None:
            out.append(names[len(out)].decode())
        return out
    finally:
        gdal.GDALClose(ds)


def test_class_rasters_open_styled_colour_table_category_names_and_qml(two_countries):
    """Issue 23: SAS, derived SAS, country index and provenance carry a palette, class names and a QGIS style."""
    import xml.etree.ElementTree as ET

    from atlas.products.raster_style import SAS_COLOURS

    result, _, prog = two_countries
    for key in ("SAS_0-30", "SAS_derived_0-30", "country_index", "provenance"):
        path = result.products[key]
        assert cog_validate(str(path))[0], key  # the colour table leaves a valid COG
        with rasterio.open(path) as src:
            assert src.colorinterp[0] == rasterio.enums.ColorInterp.palette, key
            cmap = src.colormap(1)
        names = _gdal_category_names(path)
        style = ET.parse(path.with_suffix(".qml")).getroot()
        renderer = style.find("pipe/rasterrenderer")
        assert renderer.get("type") == "paletted", key
        entries = {int(e.get("value")): (e.get("color"), e.get("label")) for e in renderer.iter("paletteEntry")}
        assert entries, key
        for value, (colour, label) in entries.items():
            assert "#{:02x}{:02x}{:02x}".format(*cmap[value][:3]) == colour, (key, value)
            assert names[value] == label, (key, value)  # GDAL reads the same names as the QGIS style shows
        assert result.products[f"{key}_style"] == path.with_suffix(".qml")
    with rasterio.open(result.products["SAS_0-30"]) as src:
        assert src.colormap(1)[12][:3] == tuple(int(SAS_COLOURS["salinesodic"][i:i + 2], 16) for i in (1, 3, 5))
    assert _gdal_category_names(result.products["SAS_0-30"])[12] == "12 Saline-sodic"
    assert _gdal_category_names(result.products["SAS_0-30"])[5] == "5 Very strong salinity"
    assert _gdal_category_names(result.products["country_index"])[1:3] == ["AAA", "BBB"]
    assert _gdal_category_names(result.products["provenance"])[1].startswith("AAA v2")
