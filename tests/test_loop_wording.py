"""Wording: reports a focal point reads carry no arrow chains, no e+ numbers, no CamelCase class names, the
country's own code in hints, plurals that agree, and numbers formatted for people."""

from __future__ import annotations

from report_scan import problems, scan

from atlas.finding import Finding, Location, Severity
from atlas.reports.report import write_reports


def _findings():
    from atlas.config import load_programme
    from checks.legend import Legend

    described = Legend("lut.txt", {1: "ExtremeSalinity"}, {1: 6}).describe(load_programme().salinity)
    return [
        Finding("legend.mapping", Severity.INFO, "SAS.tif: codes read with lut.txt: " + "; ".join(
            f"code {k}: {v}" for k, v in described.items()), Location(file="SAS.tif"), observed=described),
        Finding("raster.nodata_nonstandard", Severity.FIXED, "nodata -3.4028234663852886e+38 (float32 lowest); "
                "1125336 pixels", Location(file="ECe.tif"), observed=-3.4028234663852886e38, expected=-9999),
        Finding("metafile.missing", Severity.WARNING, "1 of 1 layers have no metafile", Location(file="ECe.tif"),
                hint="add a plain-text file named like the map with .txt (e.g. {ISO3}_GSSmap_ECe_0-30.txt)"),
        Finding("vector.overlap", Severity.WARNING, "2 pair(s) of units overlap", Location(
            file="m.gpkg", feature="52 and 602,458 and 601")),
    ]


def test_the_scanner_catches_each_fault():
    assert problems("<td>1 → ExtremeSalinity -> 6 ExtremeSalinity</td>")
    assert problems("nodata -3.40282e+38")
    assert problems("class ModerateSalinity, 0-30 cm")
    assert not problems("a delivered name 'ModerateSalinity' in quotes, 1 → 2, -3.4 × 10³⁸")


def test_rendered_report_reads_as_plain_words(tmp_path):
    paths = write_reports(_findings(), tmp_path, {"country": "LKA", "country_name": "Sri Lanka",
                                                  "deliverable": "salinity_map", "version": 1})
    assert scan(tmp_path) == {}
    page = paths["html"].read_text()
    assert "LKA_GSSmap_ECe_0-30.txt" in page and "PAK_" not in page and "{ISO3}" not in page
    assert "1,125,336 pixels" in page and "-3.4 × 10³⁸" in page
    assert "0 errors<" in page and "2 warnings<" in page and "1 repaired<" in page and "1 for the record<" in page
    assert "features 52 and 602, 458 and 601" in page


def test_legend_mapping_names_classes_for_people(tmp_path, programme):
    from checks.legend import Legend

    legend = Legend("lut.txt", {1: "ExtremeSalinity", 2: "Aquaculture"}, {1: 6}, {2: "Aquaculture"})
    described = legend.describe(programme.salinity)
    assert described == {"1": "'ExtremeSalinity', class 6 Extreme salinity",
                         "2": "'Aquaculture', not in the programme legend"}


def test_non_soil_units_have_their_name_in_the_area_table(programme):
    import geopandas as gpd
    import shapely

    from atlas.products.area_stats import rsg_areas

    region = gpd.GeoDataFrame({"iso3": ["LKA", "LKA"], "rsg1_code": ["CM", "WR"]},
                              geometry=[shapely.box(80, 7, 80.5, 7.5), shapely.box(80.5, 7, 81, 7.5)],
                              crs="EPSG:4326")
    names = dict(zip(rsg_areas(region, programme)["rsg"], rsg_areas(region, programme)["rsg_name"], strict=False))
    assert names["WR"] == "Water bodies" and names["CM"] == "Cambisols"


def test_several_small_wordings(programme):
    from atlas.reports.values import for_people, number

    assert number(-3.4028234663852886e38) == "-3.4 × 10³⁸"
    assert for_people("1125336 pixels, EPSG:32648") == "1,125,336 pixels, EPSG:32648"
