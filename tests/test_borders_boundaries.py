"""Reference boundaries and adjacency: known answers on tiny layers and on real Natural Earth."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from pyproj import Geod

from atlas.borders.adjacency import adjacency, geodesic_length_km
from atlas.borders.boundaries import load_boundaries

LOWRES = Path(pyogrio.__file__).parent / "tests/fixtures/naturalearth_lowres/naturalearth_lowres.shp"


def _write(tmp_path, rows, geoms) -> Path:
    path = tmp_path / "boundaries.gpkg"
    gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326").to_file(path, layer="countries")
    return path


def test_iso_fallback_invalid_polygon_and_missing_code(tmp_path, programme):
    bowtie = shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])  # self-intersection at (1, 1)
    path = _write(tmp_path, {"iso_a3": ["-99", "AAA", None], "ADM0_A3": ["FRA", "BBB", "KOS"],
                             "name": ["France", "A", "Kosovo"]},
                  [shapely.box(10, 10, 11, 11), bowtie, shapely.box(20, 20, 21, 21)])
    out, findings = load_boundaries(path, iso_columns=("iso_a3", "ADM0_A3"))
    assert out["iso3"].tolist() == ["FRA", "AAA", "KOS"]
    assert out.geometry.is_valid.all() and out.crs.to_epsg() == 4326
    repaired = [f for f in findings if f.check_id == "boundaries.geometry_repaired"]
    assert len(repaired) == 1 and repaired[0].severity.value == "fixed"
    assert repaired[0].location.lon == pytest.approx(1.0) and repaired[0].location.lat == pytest.approx(1.0)
    # make_valid keeps both triangles of the bowtie: 2 x 1 square degree
    assert out.geometry[1].area == pytest.approx(2.0)
    # the programme's own column list is used when a Programme is given
    moved = programme.reference_boundaries
    moved.parent.mkdir(parents=True)
    path.rename(moved)
    again, _ = load_boundaries(programme)
    assert again["iso3"].tolist() == ["FRA", "AAA", "KOS"]


def test_rows_without_code_kept_under_user_assigned_code():
    out, findings = load_boundaries(LOWRES, iso_columns=("iso_a3",))
    missing = [f for f in findings if f.check_id == "boundaries.iso_missing"]
    assert len(missing) == 5  # Norway, France, N. Cyprus, Somaliland, Kosovo carry -99
    derived = out[out["name"].isin(["Norway", "France", "N. Cyprus", "Somaliland", "Kosovo"])]["iso3"]
    assert len(derived) == 5 and derived.str.match(r"^X[A-Z]{2}$").all()
    assert out["iso3"].is_unique


def test_adjacency_known_length_and_point_contact():
    geoms = [shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1), shapely.box(2, 1, 3, 2), shapely.box(5, 5, 6, 6)]
    frame = gpd.GeoDataFrame({"iso3": ["BBB", "AAA", "CCC", "DDD"]}, geometry=geoms, crs="EPSG:4326")
    adj = adjacency(frame)
    # AAA-CCC touch at one point only; DDD is an island
    assert list(zip(adj["a"], adj["b"], strict=True)) == [("AAA", "BBB")]
    _, _, meridian_m = Geod(ellps="WGS84").inv(1, 0, 1, 1)
    assert adj["border_km"].iloc[0] == pytest.approx(meridian_m / 1000, rel=1e-6)
    assert geodesic_length_km([shapely.LineString([(1, 0), (1, 1)])])[0] == pytest.approx(meridian_m / 1000)


@pytest.mark.parametrize("scale", ["110m", "50m"])
def test_natural_earth_adjacency(real_data, scale):
    path = real_data / "boundaries/natural_earth_v4.0.0" / f"ne_{scale}_admin_0_countries.json"
    out, findings = load_boundaries(path)
    assert out.geometry.is_valid.all()
    assert {"FRA", "NOR", "CYN", "KOS"} <= set(out["iso3"])  # -99 in ISO_A3, resolved through ADM0_A3
    if scale == "110m":
        sudan = [f for f in findings if f.check_id == "boundaries.geometry_repaired"]
        assert len(sudan) == 1 and "Sudan" in sudan[0].message
        assert sudan[0].location.lon == pytest.approx(33.963, abs=1e-3)
    adj = adjacency(out)
    pairs = set(zip(adj["a"], adj["b"], strict=True))
    assert {("BGD", "IND"), ("IND", "NPL"), ("CHN", "NPL"), ("KHM", "THA"), ("KHM", "VNM")} <= pairs
    assert ("IND", "LKA") not in pairs and ("EGY", "JOR") not in pairs  # sea; a single point at Aqaba
    assert (adj["a"] < adj["b"]).all() and (adj["border_km"] > 1).all()
    ind_npl = adj.set_index(["a", "b"]).loc[("IND", "NPL"), "border_km"]
    assert 1000 < ind_npl < 1900  # real border 1,770 km; generalised lines are shorter
