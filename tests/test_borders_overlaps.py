"""Overlapping units inside one national map: each place counts once, by a configurable rule, recorded."""

from __future__ import annotations

from dataclasses import replace

import geopandas as gpd
import numpy as np
import pytest
import shapely

from atlas.borders.overlaps import resolve_overlaps
from atlas.borders.vector import area_km2, harmonize_region
from atlas.products.area_stats import rsg_areas

TERRITORY = gpd.GeoDataFrame({"iso3": ["AAA"], "name": ["A"]}, geometry=[shapely.box(0, 0, 1, 1)], crs="EPSG:4326")


def _map(geoms, rsg):
    return gpd.GeoDataFrame({"unit_id": [f"U{i}" for i in range(len(geoms))], "rsg1": rsg, "share1": 100},
                            geometry=geoms, crs="EPSG:4326")


def _areas_add_up(region) -> None:
    """Sum of unit areas equals the area of their union (each place once) within 0.1 %."""
    geoms = region.geometry.values.to_numpy()
    union = area_km2([shapely.union_all(geoms)])[0]
    assert area_km2(geoms).sum() == pytest.approx(union, rel=1e-3)


def test_nested_unit_keeps_its_place_and_outer_unit_gets_a_hole(programme):
    outer, inner = shapely.box(0, 0, 1, 1), shapely.box(0.2, 0.2, 0.4, 0.4)
    res = harmonize_region({"AAA": _map([outer, inner], ["CM", "FL"])}, TERRITORY, programme)
    _areas_add_up(res.region)
    log = res.changes[res.changes["kind"] == "overlap_within"]
    assert log[["unit_id", "feature", "target_feature"]].values.tolist() == [["U0", 0, 1]]
    assert log["area_km2"].iloc[0] == pytest.approx(area_km2([inner])[0], rel=1e-6)
    finding = next(f for f in res.findings if f.check_id == "harmonize.overlaps_within")
    assert finding.severity.value == "fixed" and finding.observed["pairs"] == 1
    table = rsg_areas(res.region.rename(columns={"country": "iso3"}), programme)
    mine = table[table["iso3"] == "AAA"]
    assert mine["area_km2"].sum() == pytest.approx(area_km2([outer])[0], rel=1e-6)  # not counted twice
    assert mine.set_index("rsg").loc["FL", "area_km2"] == pytest.approx(area_km2([inner])[0], rel=1e-6)


def test_partial_overlap_goes_to_the_unit_sharing_the_longer_boundary(programme):
    # U0 covers x 0..0.6; U1 covers x 0.6..1 and reaches into U0 with 0.5..0.6 x 0..0.5: that piece's right
    # edge (0.5°) runs along U1's rest, its left (0.5°) and top (0.1°) edges along U0's rest
    u0 = shapely.box(0, 0, 0.6, 1)
    u1 = shapely.union(shapely.box(0.6, 0, 1, 1), shapely.box(0.5, 0, 0.6, 0.5))
    out, rows = resolve_overlaps(np.array([u0, u1], dtype=object), "longest_boundary", area_km2)
    piece = shapely.box(0.5, 0, 0.6, 0.5)
    assert rows["target_feature"].tolist() == [0]  # 0.6° along U0 against 0.5° along U1
    assert shapely.equals(out[0], u0) and shapely.equals(shapely.normalize(out[1]),
                                                         shapely.normalize(shapely.difference(u1, piece)))
    out2, rows2 = resolve_overlaps(np.array([u0, u1], dtype=object), "smaller_unit", area_km2)
    assert rows2["target_feature"].tolist() == [1]  # U1 (0.45 deg²) is smaller than U0 (0.6 deg²)
    out3, rows3 = resolve_overlaps(np.array([u1, u0], dtype=object), "first_feature", area_km2)
    assert rows3["target_feature"].tolist() == [0]


def test_three_way_cycle_leaves_no_hole_and_no_overlap(programme):
    a, b, c = shapely.box(0, 0, 0.6, 0.6), shapely.box(0.3, 0, 0.9, 0.6), shapely.box(0.15, 0.3, 0.75, 0.9)
    geoms = np.array([a, b, c], dtype=object)
    for rule in ("longest_boundary", "smaller_unit", "first_feature"):
        out, rows = resolve_overlaps(geoms, rule, area_km2)
        assert len(rows) == 3
        assert area_km2(out).sum() == pytest.approx(area_km2([shapely.union_all(geoms)])[0], rel=1e-9)


def test_rule_is_configurable_and_unknown_rule_refused(programme):
    outer, inner = shapely.box(0, 0, 1, 1), shapely.box(0.2, 0.2, 0.4, 0.4)
    res = harmonize_region({"AAA": _map([outer, inner], ["CM", "FL"])}, TERRITORY,
                           replace(programme, overlap_rule="first_feature"))
    assert res.changes.loc[res.changes["kind"] == "overlap_within", "target_feature"].tolist() == [0]
    assert "FL" not in set(res.region["rsg1_code"])  # the nested unit gave its place to the first one
    with pytest.raises(ValueError, match="longest_boundary"):
        resolve_overlaps(np.array([outer, inner], dtype=object), "biggest", area_km2)


def test_notes_are_short_counts_and_km2_per_kind(programme):
    # one unit overlapped by many small ones: its notes stay one entry per kind, not one per change
    outer = shapely.box(0, 0, 1, 1)
    small = [shapely.box(x, 0.1, x + 0.05, 0.15) for x in np.arange(0.05, 0.95, 0.08)]
    res = harmonize_region({"AAA": _map([outer, *small], ["CM"] + ["FL"] * len(small))}, TERRITORY, programme)
    note = res.region.loc[res.region["unit_id"] == "U0", "harmonization_notes"].iloc[0]
    assert note.startswith(f"overlap_within {len(small)} (") and note.count(";") == 0
    assert len(note) < 60


def test_real_dsmw_has_no_overlap_and_areas_add_up(real_data, programme):
    gdf = gpd.read_file(real_data / "soil_vector/idn_dsmw_fao74/DSMW.shp", encoding="cp1252").iloc[:300]
    _, rows = resolve_overlaps(gdf.geometry.values.to_numpy(), "longest_boundary", area_km2)
    assert rows.empty  # SOURCES.md: "All geometries valid, no overlaps"


@pytest.mark.parametrize("line, new", [('overlap_rule = "longest_boundary"', 'overlap_rule = "longest"'),
                                       ('legacy = "correlate"', 'legacy = "provisionally"')])
def test_mistyped_overlap_rule_or_legacy_mode_is_refused(tmp_path, line, new):
    from atlas.config import DEFAULT_CONFIG, load_programme
    from atlas.errors import ConfigError

    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    assert line in text
    path = tmp_path / "programme.toml"
    path.write_text(text.replace(line, new), encoding="utf-8")
    with pytest.raises(ConfigError, match=new.split(" = ")[1].strip('"')):
        load_programme(path)
