"""One overlap rule for validation and harmonization; several maps in one delivery say which one was taken."""

from __future__ import annotations

import datetime as dt

import shapely
from test_checks_vector import soil_frame, write_map

from atlas.borders.overlaps import resolve_overlaps
from atlas.borders.vector import area_km2
from atlas.intake.inbox import Submission
from checks.registry import load_all
from checks.run import validate_submission
from checks.vector import soil_map_findings

load_all()
BOUNDARY = shapely.box(104, 12, 105, 13)
M = 1 / 111_320  # about a metre of latitude, in degrees


def test_validation_and_harmonization_count_the_same_overlapping_pairs(tmp_path, programme):
    """Overlaps of ~50 m² (counted by harmonization, once ignored by validation's 100 m² cut-off) and of
    ~0.25 m² (noise for both)."""
    strips = soil_frame().geometry.tolist()
    small = shapely.box(104.3 - 7 * M, 12.5, 104.3, 12.5 + 7 * M)  # ~49 m² of u1 drawn again inside u2's strip
    noise = shapely.box(104.7, 12.2, 104.7 + 0.5 * M, 12.2 + 0.5 * M)  # ~0.25 m² over u3
    geoms = [strips[0], shapely.union_all([strips[1], small]), shapely.union_all([strips[2], noise])]
    gdf = soil_frame(geometry=geoms)
    path = write_map(tmp_path, gdf)
    overlap = [f for f in soil_map_findings(path, programme, "KHM", BOUNDARY) if f.check_id == "vector.overlap"]
    assert len(overlap) == 1 and overlap[0].observed["pairs"] == 1
    assert "under 1 m² are not counted" in overlap[0].message
    _, rows = resolve_overlaps(gdf.geometry.values.to_numpy(), "longest_boundary", lambda g: area_km2(g))
    assert len(rows) == overlap[0].observed["pairs"]  # one rule: the same pairs in both reports


def test_several_maps_in_one_delivery_name_the_one_taken(tmp_path, programme):
    first = write_map(tmp_path, name="KHM_soil_a.gpkg")
    second = write_map(tmp_path, name="KHM_soil_b.gpkg")
    sub = Submission("KHM", "soil_map", "2026-03-02", 1, tmp_path, (first, second), dt.date(2026, 3, 2), "x")
    findings = validate_submission(sub, programme, None)
    several = [f for f in findings if f.check_id == "checks.several_maps"]
    assert len(several) == 1 and several[0].severity.value == "warning"
    assert "KHM_soil_a.gpkg is taken" in several[0].message and "KHM_soil_b.gpkg was checked but not used" in \
        several[0].message
    one = Submission("KHM", "soil_map", "2026-03-02", 1, tmp_path, (first,), dt.date(2026, 3, 2), "x")
    assert not [f for f in validate_submission(one, programme, None) if f.check_id == "checks.several_maps"]
