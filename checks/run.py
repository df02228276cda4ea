"""Running the registered checks over a submission or over any file or folder; never raises."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import shapely

from atlas.config import Programme
from atlas.intake.inbox import Submission, classify
from checks.document import document_findings
from checks.finding import Finding, Location, Severity
from checks.naming import SubmissionContext, country_from_name, parse_salinity_name
from checks.raster import raster_findings
from checks.registry import declare, emit, load_all, run_checks
from checks.vector import soil_map_findings

log = logging.getLogger(__name__)
load_all()

declare("checks.boundary_missing", Severity.INFO, "submission", ("salinity_map", "soil_map"),
        "No reference boundary for the country: extent, coverage and spill checks were skipped.",
        "add the country to the reference boundary layer, or pass --country with its ISO3 code")
declare("checks.file_skipped", Severity.INFO, "submission", ("salinity_map", "soil_map", "book_chapter",
                                                             "country_profile"),
        "A file of no deliverable type (or a sidecar) was not validated on its own.", "nothing to do")

MAP_SUFFIXES = {".gpkg", ".geojson", ".json", ".fgb", ".zip", ".shp"}


def country_boundary(boundaries: gpd.GeoDataFrame | None, iso3: str | None):
    """The country's reference geometry (EPSG:4326) or None."""
    if boundaries is None or iso3 is None or "iso3" not in boundaries.columns:
        return None
    rows = boundaries[boundaries["iso3"] == iso3]
    if rows.empty:
        return None
    if rows.crs is not None and rows.crs.to_epsg() != 4326:
        rows = rows.to_crs("EPSG:4326")
    return shapely.union_all(shapely.make_valid(rows.geometry.values))


def _safely(func, path: Path, *args) -> list[Finding]:
    try:
        return func(path, *args)
    except Exception as exc:  # a bug must not stop the flow: it becomes a finding
        log.exception("validation of %s crashed", path)
        return [emit("internal.check_crashed", f"validation of {path.name} could not finish: {exc}",
                     Location(file=path.name), observed=type(exc).__name__)]


def validate_file(path: Path, deliverable: str, programme: Programme, country: str | None, boundary) -> list[Finding]:
    """Every check that applies to one file of a deliverable."""
    path = Path(path)
    kind = programme.deliverables[deliverable].kind if deliverable in programme.deliverables else None
    if kind == "raster":
        return _safely(raster_findings, path, programme, country, boundary)
    if kind == "vector":
        return _safely(soil_map_findings, path, programme, country, boundary)
    if kind == "document":
        return _safely(document_findings, path)
    return [emit("checks.file_skipped", f"{path.name}: not a deliverable file", Location(file=path.name))]


def _boundary_note(deliverable: str, programme: Programme, country: str | None, boundaries, boundary) -> list[Finding]:
    kind = programme.deliverables.get(deliverable)
    if kind is None or kind.kind == "document" or boundary is not None:
        return []
    why = "no country known" if country is None else (
        "no boundary layer" if boundaries is None else f"{country} not in the boundary layer")
    return [emit("checks.boundary_missing", f"extent and coverage not checked: {why}", Location(file=country))]


def validate_submission(sub: Submission, programme: Programme, boundaries: gpd.GeoDataFrame | None,
                        carried_layers: frozenset[str] = frozenset()) -> list[Finding]:
    """Run every registered check that applies to ``sub.deliverable`` over ``sub.files``; never raises.

    ``carried_layers``: salinity layers ("ECe_0-30") this version keeps from the last accepted one.
    """
    findings: list[Finding] = []
    try:
        boundary = country_boundary(boundaries, sub.country)
        findings += _boundary_note(sub.deliverable, programme, sub.country, boundaries, boundary)
        files = [Path(f) for f in sub.files]
        for path in files:
            if sub.deliverable == "soil_map" and path.suffix.lower() not in MAP_SUFFIXES:
                continue  # shapefile sidecars are read with their .shp
            if classify(path) is None:
                continue
            findings += validate_file(path, sub.deliverable, programme, sub.country, boundary)
        if sub.deliverable == "salinity_map":
            findings += run_checks("submission", "salinity_map",
                                   SubmissionContext(tuple(files), programme, sub.country,
                                                     carried=frozenset(carried_layers)))
        return findings
    except Exception as exc:
        log.exception("validation of %s crashed", sub.key)
        return findings + [emit("internal.check_crashed", f"validation of {sub.key} could not finish: {exc}",
                                Location(file=sub.key), observed=type(exc).__name__)]


def _load_boundaries(programme: Programme):
    if not programme.reference_boundaries.is_file():
        return None
    try:
        from atlas.borders.boundaries import load_boundaries

        return load_boundaries(programme)[0]
    except Exception:  # the boundary layer is optional for validating a path
        log.warning("reference boundaries at %s could not be read", programme.reference_boundaries, exc_info=True)
        return None


def validate_path(path: Path, programme: Programme, boundaries=None,
                  country: str | None = None) -> dict[str, list[Finding]]:
    """Findings per file for any file or folder (deliverable guessed per file, country from the ISO3 prefix)."""
    path = Path(path)
    results: dict[str, list[Finding]] = {}
    try:
        if boundaries is None:
            boundaries = _load_boundaries(programme)
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        base = path.parent if path.is_file() else path
        salinity: dict[str, list[Path]] = {}
        for f in files:
            deliverable = classify(f)
            if deliverable is None:
                continue
            iso3 = country or country_from_name(f.name, programme.members)
            boundary = country_boundary(boundaries, iso3)
            key = str(f.relative_to(base))
            results[key] = (_boundary_note(deliverable, programme, iso3, boundaries, boundary)
                            + validate_file(f, deliverable, programme, iso3, boundary))
            if deliverable == "salinity_map" and (parsed := parse_salinity_name(f.name, programme.salinity)):
                salinity.setdefault(country or parsed.iso3.upper(), []).append(f)
        if path.is_dir():  # a folder holding GSSmap-named layers is checked as a submission too
            for iso3, group in sorted(salinity.items()):
                results[f"{iso3} salinity_map (all layers)"] = run_checks(
                    "submission", "salinity_map", SubmissionContext(tuple(group), programme, iso3))
    except Exception as exc:
        log.exception("validation of %s crashed", path)
        results[str(path)] = [emit("internal.check_crashed", f"validation of {path} could not finish: {exc}",
                                   Location(file=str(path)), observed=type(exc).__name__)]
    return results
