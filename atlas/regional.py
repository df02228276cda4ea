"""Regional stages: the salinity mosaics and the Soil Atlas WRB map from accepted national copies."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd

from atlas import layout
from atlas.config import Programme
from atlas.stages import internal_error, salinity_inputs, soil_inputs
from checks.finding import Finding

log = logging.getLogger(__name__)


@dataclass
class RegionalOutcome:
    product: str
    paths: list[Path] = field(default_factory=list)
    versions: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    extra: dict = field(default_factory=dict)


def build_regional_salinity(
    programme: Programme, versions: dict[str, int], boundaries: gpd.GeoDataFrame
) -> RegionalOutcome:
    """One COG per salinity layer and depth, from the given national versions."""
    from atlas.mosaic import build_mosaics

    outcome = RegionalOutcome("GSSmap", versions=dict(versions))
    inputs = salinity_inputs(programme, versions)
    outcome.versions = {iso3: v for iso3, v in versions.items() if iso3 in inputs}
    if not inputs:
        log.info("no accepted salinity map yet: regional GSSmap not built")
        return outcome
    out_dir = layout.regional_salinity_dir(programme.processed_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        result = build_mosaics(inputs, outcome.versions, programme, out_dir, boundaries)
    except Exception as exc:  # noqa: BLE001 - the soil atlas and the status table still get built
        outcome.findings.append(internal_error(None, "salinity mosaic", exc))
        return outcome
    outcome.paths = list(result.paths)
    outcome.findings += list(result.findings)
    outcome.extra["result"] = result
    return outcome


def build_regional_soil(
    programme: Programme, versions: dict[str, int], boundaries: gpd.GeoDataFrame
) -> RegionalOutcome:
    """Harmonize the national WRB maps at the reference borders and write the Soil Atlas layers."""
    from atlas.adjacency import adjacency
    from atlas.edges import border_mismatches
    from atlas.harmonize_vector import harmonize_region
    from atlas.soil_atlas import write_soil_atlas

    outcome = RegionalOutcome("Soil Atlas WRB", versions=dict(versions))
    maps = soil_inputs(programme, versions)
    outcome.versions = {iso3: v for iso3, v in versions.items() if iso3 in maps}
    if not maps:
        log.info("no accepted soil map yet: regional WRB map not built")
        return outcome
    try:
        result = harmonize_region(maps, boundaries, programme)
        pairs = adjacency(boundaries, programme.equal_area_crs)
        mismatches, summary = border_mismatches(result.region, boundaries, pairs, programme)
        out_dir = layout.regional_soil_dir(programme.processed_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        written = write_soil_atlas(result, outcome.versions, out_dir, mismatches, summary)
    except Exception as exc:  # noqa: BLE001
        outcome.findings.append(internal_error(None, "soil atlas harmonization", exc))
        return outcome
    outcome.paths = list(written.values())
    outcome.findings += list(result.findings)
    outcome.extra.update(result=result, summary=summary, adjacency=pairs)
    return outcome
