"""Regional stages: the salinity mosaics and the Soil Atlas WRB map from accepted national copies."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd

from atlas import layout
from atlas.config import Programme
from atlas.stages import internal_error, salinity_inputs, soil_inputs
from checks.finding import Finding

log = logging.getLogger(__name__)

BUILD_MANIFEST = "build_manifest.json"


def is_up_to_date(out_dir: Path, versions: dict[str, int]) -> bool:
    """True if the product in out_dir was built from exactly these national versions and its files exist."""
    manifest = Path(out_dir) / BUILD_MANIFEST
    if not manifest.is_file():
        return False
    try:
        built = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    files_ok = all((Path(out_dir) / name).is_file() for name in built.get("files", []))
    return files_ok and built.get("versions") == {k: int(v) for k, v in sorted(versions.items())}


def write_build_manifest(out_dir: Path, versions: dict[str, int], paths: list[Path], run_id: str) -> None:
    """Record what a product was built from; written last, so a crash leaves the product 'stale', not 'done'."""
    data = {
        "versions": {k: int(v) for k, v in sorted(versions.items())},
        "files": sorted(str(Path(p).relative_to(out_dir)) for p in paths if Path(p).is_relative_to(out_dir)),
        "run_id": run_id,
    }
    tmp = Path(out_dir) / f".{BUILD_MANIFEST}.tmp"
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    tmp.replace(Path(out_dir) / BUILD_MANIFEST)


@dataclass
class RegionalOutcome:
    product: str
    paths: list[Path] = field(default_factory=list)
    versions: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    extra: dict = field(default_factory=dict)
    up_to_date: bool = False


def _unchanged(outcome: RegionalOutcome, out_dir: Path, force: bool) -> bool:
    if force or not is_up_to_date(out_dir, outcome.versions):
        return False
    built = json.loads((out_dir / BUILD_MANIFEST).read_text(encoding="utf-8"))
    outcome.paths = [out_dir / name for name in built["files"]]
    outcome.up_to_date = True
    log.info("%s is up to date with national versions %s: not rebuilt", outcome.product, outcome.versions)
    return True


def build_regional_salinity(
    programme: Programme,
    versions: dict[str, int],
    boundaries: gpd.GeoDataFrame,
    run_id: str = "local",
    force: bool = False,
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
    if _unchanged(outcome, out_dir, force):
        return outcome
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        result = build_mosaics(inputs, outcome.versions, programme, out_dir, boundaries)
    except Exception as exc:  # noqa: BLE001 - the soil atlas and the status table still get built
        outcome.findings.append(internal_error(None, "salinity mosaic", exc))
        return outcome
    outcome.paths = list(result.paths)
    outcome.findings += list(result.findings)
    outcome.extra["result"] = result
    write_build_manifest(out_dir, outcome.versions, outcome.paths, run_id)
    return outcome


def build_regional_soil(
    programme: Programme,
    versions: dict[str, int],
    boundaries: gpd.GeoDataFrame,
    run_id: str = "local",
    force: bool = False,
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
    out_dir = layout.regional_soil_dir(programme.processed_dir)
    if _unchanged(outcome, out_dir, force):
        return outcome
    try:
        result = harmonize_region(maps, boundaries, programme)
        pairs = adjacency(boundaries, programme.equal_area_crs)
        mismatches, summary = border_mismatches(result.region, boundaries, pairs, programme)
        out_dir.mkdir(parents=True, exist_ok=True)
        written = write_soil_atlas(result, outcome.versions, out_dir, mismatches, summary)
    except Exception as exc:  # noqa: BLE001
        outcome.findings.append(internal_error(None, "soil atlas harmonization", exc))
        return outcome
    outcome.paths = list(written.values())
    outcome.findings += list(result.findings)
    outcome.extra.update(result=result, summary=summary, adjacency=pairs)
    write_build_manifest(out_dir, outcome.versions, outcome.paths, run_id)
    return outcome
