"""A crosswalk.csv delivered with a soil map travels with the soil map, never with the salinity map."""

from __future__ import annotations

from atlas.intake.inbox import sort_delivery


def test_crosswalk_travels_with_the_soil_map(tmp_path):
    names = ["KHM_soil.zip", "crosswalk.csv", "KHM_GSSmap_ECe_0-30.tif", "manifest.csv"]
    files = [tmp_path / n for n in names]
    for f in files:
        f.write_bytes(b"x")
    by_deliverable, skipped = sort_delivery(files, tmp_path)
    assert sorted(p.name for p in by_deliverable["soil_map"]) == ["KHM_soil.zip", "crosswalk.csv"]
    assert sorted(p.name for p in by_deliverable["salinity_map"]) == ["KHM_GSSmap_ECe_0-30.tif", "manifest.csv"]
    assert skipped == []


def test_crosswalk_without_a_soil_map_is_not_a_deliverable(tmp_path):
    files = [tmp_path / "crosswalk.csv"]
    files[0].write_text("legacy_class,rsg_code\n")
    by_deliverable, skipped = sort_delivery(files, tmp_path)
    assert by_deliverable == {} and [f.check_id for f in skipped] == ["inbox.unknown_file"]
