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
    try:
        outcome.paths += salinity_tables(programme, result, boundaries, out_dir)
    except Exception as exc:  # noqa: BLE001 - the mosaics stand without their tables
        outcome.findings.append(internal_error(None, "salinity area statistics and seams", exc))
    write_build_manifest(out_dir, outcome.versions, outcome.paths, run_id)
    return outcome


def salinity_tables(programme: Programme, result, boundaries: gpd.GeoDataFrame, out_dir: Path) -> list[Path]:
    """Area of each salinity class per country and depth, and the seams across every border."""
    from atlas.adjacency import adjacency
    from atlas.area_stats import salinity_class_areas, write_area_tables
    from atlas.raster_borders import seams

    legend = json.loads((out_dir / "GSSmap_legend.json").read_text(encoding="utf-8"))
    index_codes = legend["country_index"]["codes"]
    codes = [index_codes[str(i)] for i in range(1, len(index_codes) + 1)]
    country_index = out_dir / legend["country_index"]["raster"]
    sal = programme.salinity
    class_paths = {}
    for depth in sal.depths:
        for key, label in (
            (f"{sal.class_layer}_{depth}", f"delivered_{depth}"),
            (f"{sal.class_layer}_derived_{depth}", f"derived_{depth}"),
        ):
            if key in result.products:
                class_paths[label] = result.products[key]
    written = []
    if class_paths:
        frame = salinity_class_areas(class_paths, country_index, codes, programme)
        written += list(write_area_tables({"salinity_class_areas": frame}, out_dir).values())
    layers = {
        (layer, depth): result.products[f"{layer}_{depth}"]
        for layer, depth in sal.layer_keys()
        if f"{layer}_{depth}" in result.products
    }
    pairs = adjacency(boundaries, programme.equal_area_crs)
    seam_table = seams(layers, country_index, list(zip(pairs.a, pairs.b, strict=True)), codes)
    borders = layout.borders_dir(programme.processed_dir)
    borders.mkdir(parents=True, exist_ok=True)
    seam_table.to_csv(borders / "salinity_seams.csv", index=False)
    return written + [borders / "salinity_seams.csv"]


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
    try:
        from atlas.area_stats import rsg_areas, write_area_tables

        region = result.region.rename(columns={"country": "iso3"})
        outcome.paths += list(write_area_tables({"rsg_areas": rsg_areas(region, programme)}, out_dir).values())
        outcome.paths += copy_border_tables(out_dir, layout.borders_dir(programme.processed_dir))
    except Exception as exc:  # noqa: BLE001
        outcome.findings.append(internal_error(None, "soil group area statistics", exc))
    write_build_manifest(out_dir, outcome.versions, outcome.paths, run_id)
    return outcome


def copy_border_tables(soil_dir: Path, borders: Path) -> list[Path]:
    """The border mismatch tables also go to regional/borders, where the two countries find them."""
    import shutil

    borders.mkdir(parents=True, exist_ok=True)
    copied = []
    for name in ("border_mismatches.csv", "border_summary.csv"):
        if (soil_dir / name).is_file():
            shutil.copyfile(soil_dir / name, borders / name)
            copied.append(borders / name)
    return copied


def build_catalogue(programme: Programme, outcomes: list[RegionalOutcome], run_id: str) -> Path | None:
    """A STAC catalogue of every regional product, naming the national versions each was built from."""
    from atlas.catalog import build_catalog

    products, sources = [], []
    for outcome in outcomes:
        products += [p for p in outcome.paths if Path(p).suffix in (".tif", ".gpkg", ".parquet")]
        names = [Path(p).name for p in outcome.paths]
        sources += [
            {"country": iso3, "product": outcome.product, "version": int(v), "products": names}
            for iso3, v in sorted(outcome.versions.items())
        ]
    if not products:
        return None
    return build_catalog(products, sources, run_id, Path(programme.processed_dir) / "regional" / "stac")
