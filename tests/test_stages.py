"""The submission stage reads each file once: validation hands what it read on to harmonization."""

from __future__ import annotations

import geopandas as gpd
import shapely
from gpkg_conformance import gpkg_violations

import atlas.intake.containment as containment
import atlas.intake.readers as readers
from atlas import layout, stages
from atlas.ledger.store import Ledger

COUNTRY = "KHM"


def _soil_map_inbox(programme) -> None:
    """One delivery of a small, valid WRB map (one geometry invalid, so harmonization has a repair to make)."""
    bowtie = shapely.Polygon([(104.7, 12.0), (105.0, 13.0), (105.0, 12.0), (104.7, 13.0)])
    gdf = gpd.GeoDataFrame(
        {"unit_id": ["u1", "u2", "u3"], "rsg1": ["CM", "LV", "FL"], "share1": [100, 60, 100],
         "rsg2": [None, "GL", None], "share2": [None, 40, None],
         "geometry": [shapely.box(104.0, 12.0, 104.3, 13.0), shapely.box(104.3, 12.0, 104.7, 13.0), bowtie]},
        crs="EPSG:4326")
    folder = programme.raw_dir / COUNTRY / "2026-01-15"
    folder.mkdir(parents=True)
    gdf.to_file(folder / f"{COUNTRY}_soil_map.gpkg", layer="map_units")


def _counting(monkeypatch, module, name: str) -> list:
    """Replace module.name by a wrapper that records each call, and return the record."""
    calls, real = [], getattr(module, name)

    def wrapper(*args, **kwargs):
        calls.append(args[0] if args else None)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return calls


def _process_inbox(programme) -> list:
    subs, _ = stages.discover_submissions(programme)
    with Ledger(programme.ledger_path, programme) as ledger:
        return [stages.process_submission(sub, record.id, programme, None, ledger)
                for sub, record in stages.register(ledger, subs, run_id="test")]


def test_a_soil_map_is_read_once_per_run(programme, monkeypatch):
    _soil_map_inbox(programme)
    reads = _counting(monkeypatch, readers, "read_soil_map")
    [outcome] = _process_inbox(programme)
    assert outcome.verdict in stages.ACCEPTED, [f.message for f in outcome.findings]
    # harmonized from what validation read: the national copy exists and holds the repair
    copy = layout.national_dir(programme.processed_dir, COUNTRY, "soil_map", 1) / stages.SOIL_MAP_FILE
    assert copy.is_file() and len(gpd.read_file(copy)) == 3
    assert gpkg_violations(copy) == []  # a GeoPackage 1.2 every GDAL reads, as the regional one
    assert "vector.geometry_repaired" in {f.check_id for f in outcome.findings}
    assert [p.name for p in reads] == [f"{COUNTRY}_soil_map.gpkg"]


def test_limits_are_built_once_per_submission(programme, monkeypatch):
    _soil_map_inbox(programme)
    built = _counting(monkeypatch, containment.Limits, "from_programme")
    [outcome] = _process_inbox(programme)
    assert outcome.verdict in stages.ACCEPTED and outcome.outputs
    assert len(built) == 1
