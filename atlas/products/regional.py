"""Regional stages: the salinity mosaics and the Soil Atlas WRB map from accepted national copies."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import box

from atlas import layout
from atlas.atomic import publish, sweep_temporaries, write_atomic, write_text_atomic
from atlas.cells import safe_frame
from atlas.config import Programme
from atlas.failpoints import failpoint
from atlas.finding import Finding, internal_error
from atlas.layout import SOIL_MAP_FILE
from atlas.products import release as releases
from atlas.products.build_manifest import (
    BUILD_MANIFEST,
    _read_manifest,
    is_up_to_date,
    layers_json,
    product_settings,
)

log = logging.getLogger(__name__)


# product name -> (deliverable, its folder in a release)
PRODUCTS = {"GSSmap": ("salinity_map", layout.SALINITY), "Soil Atlas WRB": ("soil_map", layout.SOIL_ATLAS)}


def _manifest_name(path: Path, out_dir: Path) -> str:
    # a file of the product's release (its border tables sit in ../borders), '/'-separated on every system
    return os.path.relpath(Path(path), Path(out_dir)).replace(os.sep, "/")


def write_build_manifest(
    out_dir: Path,
    versions: dict[str, int],
    paths: list[Path],
    run_id: str,
    settings: dict | None = None,
    left_out: dict[str, str] | None = None,
    layers: dict[str, dict[str, int]] | None = None,
    sources: dict[str, list[dict]] | None = None,
    product: str | None = None,
) -> None:
    """Record what a product was built from and with; written last, so a crash leaves it 'stale', not 'done'.

    ``layers``: {iso3: {layer: source version}} of the resolved state; ``sources``: per file, the national
    versions whose data is in it (what the STAC catalogue and the ledger's published states say too).
    ``files``: every file of the product, relative to its folder (its border tables as ``../borders/...``).
    """
    release_root = Path(out_dir).parent
    data = {
        "product": product,
        "deliverable": PRODUCTS.get(product, (None,))[0],
        "versions": {k: int(v) for k, v in sorted(versions.items())},
        "layers": layers_json(layers),
        "sources": {name: list(entries) for name, entries in sorted((sources or {}).items())},
        "files": sorted(_manifest_name(p, out_dir) for p in paths if Path(p).is_relative_to(release_root)),
        "run_id": run_id,
        "settings": settings,
        "left_out": dict(sorted((left_out or {}).items())),  # versions given to the product that it does not hold
    }
    write_text_atomic(Path(out_dir) / BUILD_MANIFEST, json.dumps(data, indent=2))


def invalidate_build_manifest(out_dir: Path) -> None:
    """Mark a product stale before its files are replaced: a run killed half-way is rebuilt next time."""
    (Path(out_dir) / BUILD_MANIFEST).unlink(missing_ok=True)


def prepare_out_dir(out_dir: Path) -> None:
    """Create the product folder and sweep what a killed run left there (the caller holds the run lock)."""
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    sweep_temporaries(out_dir)


@dataclass
class RegionalOutcome:
    product: str
    paths: list[Path] = field(default_factory=list)
    versions: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    extra: dict = field(default_factory=dict)
    up_to_date: bool = False
    left_out: dict[str, str] = field(default_factory=dict)  # iso3 -> why the product holds none of its data
    notes: dict[str, list[Finding]] = field(default_factory=dict)  # iso3 -> the findings of its regional report
    # file name -> [{country, version, layer, how}]: the national versions whose data is in that file
    sources: dict[str, list[dict]] = field(default_factory=dict)

    @property
    def included(self) -> dict[str, int]:
        """The national versions whose data the product holds: only these are published in it."""
        return {iso3: v for iso3, v in self.versions.items() if iso3 not in self.left_out}


def salinity_inputs(programme: Programme, versions: dict[str, int],
                    layer_versions: dict[str, dict[str, int]] | None = None) -> dict[str, dict[tuple[str, str], Path]]:
    """Harmonized national layers of the chosen versions, read back from data/processed.

    ``layer_versions`` ({iso3: {"ECe_0-30": version}}, from the ledger) takes each layer from the version
    it is recorded to come from (carried over from an earlier delivery); otherwise the version's own files.
    """
    inputs: dict[str, dict[tuple[str, str], Path]] = {}
    for iso3, version in versions.items():
        found = {}
        for layer, depth in programme.salinity.layer_keys():
            source = (layer_versions or {}).get(iso3, {}).get(f"{layer}_{depth}", version)
            folder = layout.national_dir(programme.processed_dir, iso3, "salinity_map", source)
            path = folder / programme.salinity.file_name(iso3, layer, depth)
            if path.is_file():
                found[(layer, depth)] = path
        if found:
            inputs[iso3] = found
    return inputs


def soil_paths(programme: Programme, versions: dict[str, int]) -> dict[str, Path]:
    """Harmonized national soil maps of the chosen versions that exist in data/processed."""
    paths = {}
    for iso3, version in versions.items():
        path = layout.national_dir(programme.processed_dir, iso3, "soil_map", version) / SOIL_MAP_FILE
        if path.is_file():
            paths[iso3] = path
    return paths


def soil_inputs(programme: Programme, versions: dict[str, int]) -> dict[str, gpd.GeoDataFrame]:
    return {iso3: gpd.read_file(path, layer="map_units") for iso3, path in soil_paths(programme, versions).items()}


def will_rebuild(programme: Programme, deliverable: str, versions: dict[str, int], force: bool,
                 layers: dict[str, dict[str, int]] | None = None) -> bool:
    """Whether building the product of ``deliverable`` from these versions would rebuild it (see ``_start``).

    ``layers``: the resolved state's layer sources (salinity), which must be those the product was built from.
    """
    if deliverable == "salinity_map":
        available, out_dir = salinity_inputs(programme, versions), layout.regional_salinity_dir(programme.processed_dir)
    else:
        available, out_dir = soil_paths(programme, versions), layout.regional_soil_dir(programme.processed_dir)
    built_from = {iso3: v for iso3, v in versions.items() if iso3 in available}
    settings = product_settings(programme, deliverable)
    layers = {iso3: v for iso3, v in layers.items() if iso3 in built_from} if layers is not None else None
    return bool(available) and (force or not is_up_to_date(out_dir, built_from, settings, layers))


def border_pairs(programme: Programme, boundaries: gpd.GeoDataFrame, versions: dict[str, dict[str, int]],
                 force: bool = False) -> pd.DataFrame | None:
    """Which members share a border, computed once per run for both products (salinity seams, Soil Atlas).

    ``versions``: the accepted versions per deliverable. None when no product will be rebuilt (a re-run
    with an unchanged inbox computes nothing) or when it fails: each product then tries and reports it.
    """
    from atlas.borders.adjacency import adjacency

    if boundaries is None or not any(will_rebuild(programme, key, v, force) for key, v in versions.items()):
        return None
    try:
        return adjacency(boundaries, programme.equal_area_crs)
    except Exception:  # noqa: BLE001 - the products compute it themselves and report the failure
        log.warning("border adjacency could not be computed once for the run", exc_info=True)
        return None


def _unchanged(outcome: RegionalOutcome, out_dir: Path, force: bool, settings: dict,
               layers: dict[str, dict[str, int]] | None = None) -> bool:
    if force or not is_up_to_date(out_dir, outcome.versions, settings, layers):
        built = _read_manifest(out_dir)
        if not force and built and built.get("versions") == outcome.versions and built.get("settings") != settings:
            changed = sorted(k for k in settings if (built.get("settings") or {}).get(k) != settings[k])
            log.info("%s: settings changed since it was built (%s): rebuilt", outcome.product, ", ".join(changed))
        # the files carried over from the previous release make way for the rebuilt ones (none is left stale)
        releases.clear_product(out_dir, list((built or {}).get("files", [])))
        return False
    built = _read_manifest(out_dir)
    outcome.paths = [out_dir / name for name in built["files"]]
    outcome.left_out = dict(built.get("left_out") or {})
    outcome.sources = dict(built.get("sources") or {})
    outcome.up_to_date = True
    log.info("%s is up to date with national versions %s: not rebuilt", outcome.product,
             ", ".join(f"{iso3} v{v}" for iso3, v in sorted(outcome.versions.items())) or "none")
    return True


def _region_shape(bounds: tuple[float, float, float, float]):
    """The region as a geometry in degrees; a region crossing the antimeridian (west > east) is two boxes."""
    west, south, east, north = bounds
    if west <= east:
        return box(west, south, east, north)
    return box(west, south, 180.0, north).union(box(-180.0, south, east, north))


def why_left_out(iso3: str, boundaries: gpd.GeoDataFrame, programme: Programme) -> str:
    """Why a product holds none of a country's data, in words for the status table."""
    own = boundaries.loc[boundaries["iso3"] == iso3]
    if own.empty:
        return f"no polygon for {iso3} in the reference boundaries ({Path(programme.reference_boundaries).name})"
    if own.crs is not None and not own.crs.equals("EPSG:4326"):
        own = own.to_crs("EPSG:4326")
    if not own.geometry.intersects(_region_shape(programme.region_bounds)).any():
        return f"its reference border lies outside the region {list(programme.region_bounds)}"
    return "none of its data falls inside its reference border within the region"


def left_out(present: set[str], versions: dict[str, int], boundaries, programme: Programme) -> dict[str, str]:
    """Each country given to a product that the product holds no data of, with the reason."""
    return {iso3: why_left_out(iso3, boundaries, programme) for iso3 in sorted(set(versions) - present)}


def _start(product: str, versions: dict[str, int], available: dict, out_dir: Path):
    """The outcome of a regional product over the versions whose national copy exists, and its folder.

    The folder is None when no country has an accepted copy yet (nothing to build).
    """
    outcome = RegionalOutcome(product, versions={iso3: v for iso3, v in versions.items() if iso3 in available})
    if not available:
        log.info("no accepted national copy yet: %s not built", product)
        return outcome, None
    if releases.is_building(Path(out_dir).parent):  # a published release is only read
        prepare_out_dir(out_dir)
    return outcome, out_dir


def failed(outcome: RegionalOutcome) -> list[str]:
    """Why a product's build failed (its internal errors), empty when it did not."""
    return [f.message for f in outcome.findings if f.check_id == "pipeline.internal_error"]


def outcome_from_manifest(product: str, release: Path) -> RegionalOutcome | None:
    """A product carried over in a release, as its build manifest describes it (None: not in the release)."""
    out_dir = Path(release) / PRODUCTS[product][1]
    built = _read_manifest(out_dir)
    if built is None:
        return None
    return RegionalOutcome(product, paths=[out_dir / name for name in built.get("files", [])],
                           versions=dict(built.get("versions") or {}), up_to_date=True,
                           left_out=dict(built.get("left_out") or {}), sources=dict(built.get("sources") or {}))


def release_products(outcomes: list[RegionalOutcome]) -> dict:
    """What each product of a release holds, for its release.json: versions, left-out countries, files."""
    return {o.product: {"versions": dict(sorted(o.included.items())), "left_out": dict(sorted(o.left_out.items())),
                        "rebuilt": not o.up_to_date, "files": sorted(Path(p).name for p in o.paths)}
            for o in outcomes if o.paths}


def _standalone(programme: Programme, run_id: str, product: str, build) -> RegionalOutcome:
    """One product built on its own (scripts, tests): a release of its own, the other product carried over.

    ``build(release)`` builds the product into the given release folder.
    """
    processed = programme.processed_dir
    staging = releases.begin(processed, run_id)
    try:
        outcome = build(staging)
        problem = failed(outcome)
        if outcome.up_to_date or not outcome.paths or problem:
            releases.abandon(staging, "; ".join(problem) or "nothing rebuilt")
            return build(layout.current_release(processed)) if outcome.up_to_date else outcome
        others = [o for name in PRODUCTS if name != product and (o := outcome_from_manifest(name, staging))]
        build_catalogue(programme, [outcome, *others], run_id, staging)
        from atlas.products.release_checks import check_release

        releases.commit(processed, staging, run_id, programme.releases.keep, check_release(staging),
                        release_products([outcome, *others]))
    except BaseException:
        releases.abandon(staging, "interrupted")
        raise
    outcome.paths = [layout.current_release(processed) / Path(p).relative_to(staging) for p in outcome.paths]
    return outcome


def build_regional_salinity(
    programme: Programme,
    versions: dict[str, int],
    boundaries: gpd.GeoDataFrame,
    run_id: str = "local",
    force: bool = False,
    map_fn=map,
    pairs: pd.DataFrame | None = None,
    layer_versions: dict[str, dict[str, int]] | None = None,
    release: Path | None = None,
) -> RegionalOutcome:
    """One COG per salinity layer and depth, from the given national versions (``map_fn``: see build_mosaics).

    ``pairs``: the run's border adjacency (``border_pairs``); computed here when not given.
    ``layer_versions`` (the ledger's) names the version each layer comes from in partial deliveries.
    ``release``: the release folder being built (``atlas.products.release.begin``); without one, the
    product is published as a release of its own.
    """
    from atlas.products.mosaic import build_mosaics

    if release is None:
        return _standalone(programme, run_id, "GSSmap", lambda root: build_regional_salinity(
            programme, versions, boundaries, run_id, force, map_fn, pairs, layer_versions, release=root))
    layer_versions = {iso3: v for iso3, v in (layer_versions or {}).items() if iso3 in versions}
    inputs = salinity_inputs(programme, versions, layer_versions)
    outcome, out_dir = _start("GSSmap", versions, inputs, layout.salinity_in(release))
    settings = product_settings(programme, "salinity_map")
    layer_versions = {iso3: v for iso3, v in layer_versions.items() if iso3 in outcome.versions}
    if out_dir is None or _unchanged(outcome, out_dir, force, settings, layer_versions):
        return outcome
    try:
        failpoint("salinity_mosaic")
        result = build_mosaics(inputs, outcome.versions, programme, out_dir, boundaries, map_fn=map_fn,
                               layer_versions=layer_versions)
    except Exception as exc:  # noqa: BLE001 - the soil atlas and the status table still get built
        outcome.findings.append(internal_error(None, "salinity mosaic", exc))
        return outcome
    outcome.paths = list(result.paths)
    outcome.findings += list(result.findings)
    outcome.extra["result"] = result
    present = {iso3 for used in result.used.values() for iso3, _ in used}
    outcome.left_out = left_out(present, outcome.versions, boundaries, programme)
    outcome.sources = salinity_sources(result, outcome.versions)
    outcome.notes = country_notes(outcome.findings, countries=outcome.versions)
    try:
        outcome.paths += salinity_tables(programme, result, boundaries, out_dir, pairs)
    except Exception as exc:  # noqa: BLE001 - the mosaics stand without their tables
        outcome.findings.append(internal_error(None, "salinity area statistics and seams", exc))
    write_build_manifest(out_dir, outcome.versions, outcome.paths, run_id, settings, outcome.left_out,
                         layer_versions, outcome.sources, outcome.product)
    return outcome


def salinity_sources(result, versions: dict[str, int]) -> dict[str, list[dict]]:
    """Per product file, the national versions whose pixels are in it and how: ``sent`` by the current
    version, ``carried`` over from an earlier one, ``derived`` (classes computed from ECe, ESP and pH).
    The provenance raster holds the sources of every layer."""
    from atlas.products.mosaic import product_name

    out: dict[str, list[dict]] = {}
    every: set[tuple[str, int, str]] = set()
    for key, used in sorted(result.used.items()):
        entries = []
        for iso3, version in sorted(set(used)):
            how = "derived" if "_derived_" in key else "sent" if version == versions.get(iso3) else "carried"
            entries.append({"country": iso3, "version": int(version), "layer": key, "how": how})
            every.add((iso3, int(version), "sent" if version == versions.get(iso3) else "carried"))
        if entries:
            out[product_name(key)] = entries
    if every and "provenance" in result.products:
        out[product_name("provenance")] = [{"country": c, "version": v, "layer": "provenance", "how": how}
                                           for c, v, how in sorted(every)]
    return out


def salinity_tables(programme: Programme, result, boundaries: gpd.GeoDataFrame, out_dir: Path,
                    pairs: pd.DataFrame | None = None) -> list[Path]:
    """Area of each salinity class per country and depth, and the seams across every border."""
    from atlas.borders.adjacency import adjacency
    from atlas.borders.raster_rules import seams
    from atlas.products.area_stats import salinity_class_areas

    invalidate_build_manifest(out_dir)  # build_mosaics has replaced the rasters: the old manifest no longer holds
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
        written += write_tables_atomically({"salinity_class_areas": frame}, out_dir)
    layers = {
        (layer, depth): result.products[f"{layer}_{depth}"]
        for layer, depth in sal.layer_keys()
        if f"{layer}_{depth}" in result.products
    }
    if pairs is None:
        pairs = adjacency(boundaries, programme.equal_area_crs)
    seam_table = seams(layers, country_index, list(zip(pairs.a, pairs.b, strict=True)), codes)
    borders = layout.borders_in(Path(out_dir).parent)  # the border tables of the same release
    borders.mkdir(parents=True, exist_ok=True)
    write_atomic(borders / "salinity_seams.csv", lambda p: safe_frame(seam_table).to_csv(p, index=False))
    return written + [borders / "salinity_seams.csv"]


def write_tables_atomically(frames: dict, out_dir: Path) -> list[Path]:
    """atlas.products.area_stats.write_area_tables into a work folder, then each table moved into out_dir."""
    from atlas.products.area_stats import write_area_tables

    work = Path(tempfile.mkdtemp(prefix=".tables_", dir=out_dir))
    try:
        written = write_area_tables(frames, work)
        return [publish(path, Path(out_dir) / Path(path).name) for path in written.values()]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def build_regional_soil(
    programme: Programme,
    versions: dict[str, int],
    boundaries: gpd.GeoDataFrame,
    run_id: str = "local",
    force: bool = False,
    pairs: pd.DataFrame | None = None,
    release: Path | None = None,
) -> RegionalOutcome:
    """Harmonize the national WRB maps at the reference borders and write the Soil Atlas layers.

    ``pairs``: the run's border adjacency (``border_pairs``); computed here when not given.
    ``release``: the release folder being built; without one, a release of its own (as for the mosaics).
    """
    from atlas.borders.adjacency import adjacency
    from atlas.borders.edges import border_feedback, border_mismatches
    from atlas.borders.vector import harmonize_region
    from atlas.products.soil_atlas import write_soil_atlas

    if release is None:
        return _standalone(programme, run_id, "Soil Atlas WRB", lambda root: build_regional_soil(
            programme, versions, boundaries, run_id, force, pairs, release=root))
    maps = soil_inputs(programme, versions)
    outcome, out_dir = _start("Soil Atlas WRB", versions, maps, layout.soil_in(release))
    settings = product_settings(programme, "soil_map")
    if out_dir is None or _unchanged(outcome, out_dir, force, settings):
        return outcome
    try:
        failpoint("soil_atlas")
        result = harmonize_region(maps, boundaries, programme)
        if pairs is None:
            pairs = adjacency(boundaries, programme.equal_area_crs)
        mismatches, summary = border_mismatches(result.region, boundaries, pairs, programme)
        invalidate_build_manifest(out_dir)
        written = write_soil_atlas(result, outcome.versions, out_dir, mismatches, summary, programme.equal_area_crs,
                                   borders_dir=layout.borders_in(release))
    except Exception as exc:  # noqa: BLE001
        outcome.findings.append(internal_error(None, "soil atlas harmonization", exc))
        return outcome
    outcome.paths = list(written.values())
    outcome.findings += list(result.findings)
    outcome.left_out = left_out(set(result.region["country"]), outcome.versions, boundaries, programme)
    outcome.sources = {Path(p).name: [{"country": iso3, "version": int(v), "layer": "soil_map", "how": "sent"}
                                      for iso3, v in sorted(outcome.included.items())]
                       for p in outcome.paths if Path(p).suffix in (".gpkg", ".parquet")}
    # each country's report lists its border mismatches with every neighbour (both sides see the same segments)
    outcome.notes = country_notes(outcome.findings, border_feedback(mismatches, summary), outcome.versions)
    outcome.extra.update(result=result, summary=summary, adjacency=pairs, mismatches=mismatches)
    try:
        from atlas.products.area_stats import rsg_areas

        region = result.region.rename(columns={"country": "iso3"})
        outcome.paths += write_tables_atomically({"rsg_areas": rsg_areas(region, programme)}, out_dir)
    except Exception as exc:  # noqa: BLE001
        outcome.findings.append(internal_error(None, "soil group area statistics", exc))
    write_build_manifest(out_dir, outcome.versions, outcome.paths, run_id, settings, outcome.left_out,
                         sources=outcome.sources, product=outcome.product)
    return outcome


def country_notes(findings: list[Finding], extra: dict[str, list[Finding]] | None = None,
                  countries=()) -> dict[str, list[Finding]]:
    """The regional stage's findings addressed to each country (its report beside its submission is written by
    ``atlas.reports.write_country_notes``). ``extra``: findings already addressed to one country, by ISO3 code.
    """
    notes = {}
    for iso3 in sorted(countries):
        mine = [f for f in findings if f.location.feature == iso3 or (f.location.file or "").startswith(iso3)]
        notes[iso3] = mine + (extra or {}).get(iso3, [])
    return notes


def build_catalogue(programme: Programme, outcomes: list[RegionalOutcome], run_id: str,
                    release: Path | None = None) -> Path | None:
    """A STAC catalogue of every regional product, naming the national versions each was built from.

    ``release``: the release folder being built (its ``stac/``); without one, the current release's catalogue
    is replaced (two renames).
    """
    from atlas.products.catalog import build_catalog

    products, sources, tables = [], [], {}
    for outcome in outcomes:
        if outcome.product not in PRODUCTS:  # a regional table: one item of its own, without a footprint
            files = [Path(p) for p in outcome.paths]
            if files:
                tables[files[0].parent.name] = (files, [{**entry, "product": outcome.product} for entry in
                                                        {json.dumps(e, sort_keys=True): e for entries in
                                                         outcome.sources.values() for e in entries}.values()])
            continue
        products += [p for p in outcome.paths if Path(p).suffix in (".tif", ".gpkg", ".parquet")]
        # per file, only the versions whose data is in it (the resolved state's, as the build manifest says)
        sources += [{**entry, "product": outcome.product, "products": [name]}
                    for name, entries in sorted(outcome.sources.items()) for entry in entries]
    if not products and not tables:
        return None
    failpoint("catalogue")
    if release is not None:
        return build_catalog(products, sources, run_id, layout.stac_in(release), tables)
    # the catalogue is a folder of JSON files: built aside, then swapped in with two renames
    regional = layout.current_release(programme.processed_dir)
    sweep_temporaries(regional)
    work = Path(tempfile.mkdtemp(prefix=".stac_", dir=regional))
    try:
        build_catalog(products, sources, run_id, work)
        final, old = layout.stac_in(regional), regional / f".stac_old_{work.name}"
        if final.exists():
            final.rename(old)
        work.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return final / "catalog.json"
