"""Running the registered checks over a submission or over any file or folder; never raises."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import shapely

from atlas.config import Programme
from atlas.finding import Finding, Location, Severity
from atlas.intake.inbox import (
    DATE_FOLDER,
    Submission,
    checksum_files,
    classify,
    discover,
    discover_country,
    readable_digests,
    sort_delivery,
)
from atlas.intake.readers import Reads
from checks.crosswalk import is_crosswalk
from checks.document import document_findings
from checks.layers import resolve_layers
from checks.naming import SubmissionContext, country_from_name
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

declare("checks.several_maps", Severity.WARNING, "submission", ("soil_map",),
        "The delivery holds more than one soil map: the first is taken for the Atlas, the others are checked "
        "but not used.",
        "send one country-wide soil map per delivery; if the files are parts of one map, merge them into one file")
MAP_SUFFIXES = {".gpkg", ".geojson", ".json", ".fgb", ".zip", ".shp"}


def soil_maps(files) -> list[Path]:
    """The soil map files of a delivery, in delivery order: the first is the one taken (harmonization too)."""
    return [Path(f) for f in files if Path(f).suffix.lower() in MAP_SUFFIXES]


def _several_maps(files) -> list[Finding]:
    maps = soil_maps(files)
    if len(maps) < 2:
        return []
    others = ", ".join(m.name for m in maps[1:6]) + (f" and {len(maps) - 6} more" if len(maps) > 6 else "")
    return [emit("checks.several_maps", f"{len(maps)} soil maps in one delivery: {maps[0].name} is taken for the "
                 f"Atlas; {others} {'was' if len(maps) == 2 else 'were'} checked but not used",
                 Location(file=maps[0].name), observed=[m.name for m in maps], expected="one soil map")]


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


def validate_file(path: Path, deliverable: str, programme: Programme, country: str | None, boundary,
                  resolved=None, crosswalk: Path | None = None, reads: Reads | None = None) -> list[Finding]:
    """Every check that applies to one file of a deliverable (``resolved``: its layer, see checks.layers;
    ``crosswalk``: the crosswalk.csv sent with a soil map). What was read is kept in ``reads`` for harmonization.
    """
    path = Path(path)
    kind = programme.deliverables[deliverable].kind if deliverable in programme.deliverables else None
    if kind == "raster":
        return _safely(raster_findings, path, programme, country, boundary, resolved, reads)
    if kind == "vector":
        return _safely(soil_map_findings, path, programme, country, boundary, crosswalk, reads)
    if kind == "document":
        return _safely(document_findings, path)
    return [emit("checks.file_skipped", f"{path.name}: not a deliverable file", Location(file=path.name))]


# checks that need the country's reference boundary (or, for naming, only its ISO3 code) to say anything
NEEDS_BOUNDARY = {"salinity_map": ("raster.extent_outside", "raster.coverage_low"),
                  "soil_map": ("vector.coverage_gap", "vector.spill")}
NEEDS_COUNTRY = {"salinity_map": ("naming.country_mismatch",)}


def checks_not_made(deliverable: str, country: str | None, boundary) -> list[str]:
    """The check ids that cannot run for this deliverable without a country (or its boundary)."""
    missing = list(NEEDS_BOUNDARY.get(deliverable, ())) if boundary is None else []
    return missing + (list(NEEDS_COUNTRY.get(deliverable, ())) if country is None else [])


def _boundary_note(deliverable: str, programme: Programme, country: str | None, boundaries, boundary) -> list[Finding]:
    kind = programme.deliverables.get(deliverable)
    if kind is None or kind.kind in ("document", "table") or boundary is not None:
        return []
    why = "no country known" if country is None else (
        "no boundary layer" if boundaries is None else f"{country} not in the boundary layer")
    skipped = checks_not_made(deliverable, country, boundary)
    return [emit("checks.boundary_missing", f"extent and coverage not checked ({why}): {', '.join(skipped)}",
                 Location(file=country), observed=skipped)]


def table_submission_findings(files: list[Path], deliverable: str, programme: Programme,
                              country: str | None) -> list[Finding]:
    """A table's files (one workbook, or one CSV per sheet) checked together: keys may cross sheets."""
    from atlas.tables import load_table_spec
    from checks.table import read_table

    spec = load_table_spec(programme, deliverable)
    return read_table(files, spec, country, programme.limits).findings


def validate_submission(sub: Submission, programme: Programme, boundaries: gpd.GeoDataFrame | None,
                        reads: Reads | None = None, carried_layers: frozenset[str] = frozenset()) -> list[Finding]:
    """Run every registered check that applies to ``sub.deliverable`` over ``sub.files``; never raises.

    ``reads`` (built once per submission) receives what was read, for harmonization to use.
    ``carried_layers``: salinity layers ("ECe_0-30") this version keeps from the last accepted one.
    """
    findings: list[Finding] = []
    try:
        boundary = country_boundary(boundaries, sub.country)
        findings += _boundary_note(sub.deliverable, programme, sub.country, boundaries, boundary)
        files = [Path(f) for f in sub.files]
        if getattr(programme.deliverables.get(sub.deliverable), "kind", None) == "table":
            return findings + table_submission_findings(files, sub.deliverable, programme, sub.country)
        resolution = resolve_layers(files, programme.salinity) if sub.deliverable == "salinity_map" else None
        crosswalk = next((f for f in files if is_crosswalk(f)), None) if sub.deliverable == "soil_map" else None
        if sub.deliverable == "soil_map":
            findings += _several_maps(files)
        for path in files:
            if sub.deliverable == "soil_map" and path.suffix.lower() not in MAP_SUFFIXES:
                continue  # shapefile sidecars are read with their .shp
            if classify(path) is None:
                continue
            findings += validate_file(path, sub.deliverable, programme, sub.country, boundary,
                                      resolution.of(path) if resolution else None, crosswalk, reads)
        if sub.deliverable == "salinity_map":
            findings += run_checks("submission", "salinity_map",
                                   SubmissionContext(tuple(files), programme, sub.country,
                                                     carried=frozenset(carried_layers)))
        return findings
    except Exception as exc:
        log.exception("validation of %s crashed", sub.key)
        return findings + [emit("internal.check_crashed", f"validation of {sub.key} could not finish: {exc}",
                                Location(file=sub.key), observed=type(exc).__name__)]


def validate_path(path: Path, programme: Programme, boundaries=None,
                  country: str | None = None) -> dict[str, list[Finding]]:
    """Findings per file for any file or folder (deliverable guessed per file, country from the ISO3 prefix).

    A per-file look at a heterogeneous collection (the real-data tests use it). ``atlas validate`` uses
    ``atlas.validation.validate_path`` instead: submissions grouped as the inbox does, checked as the run does.
    ``boundaries``: the reference layer (``atlas.borders.boundaries.load_boundaries``, loaded by the caller:
    validation sits below the borders stage); without it extent and coverage are not checked.
    """
    path = Path(path)
    results: dict[str, list[Finding]] = {}
    try:
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        base = path.parent if path.is_file() else path
        salinity: dict[str, list[Path]] = {}
        # the files of each folder are one delivery: its manifest.csv and lookup tables apply to its rasters
        by_folder = {d: resolve_layers([f for f in files if f.parent == d], programme.salinity)
                     for d in {f.parent for f in files}}
        for f in files:
            deliverable = classify(f)
            if deliverable is None:
                continue
            resolved = by_folder[f.parent].of(f)
            iso3 = country or country_from_name(f.name, programme.members) or (resolved.iso3 if resolved else None) \
                or next((d.name.upper() for d in f.parents if d.name.upper() in programme.members), None)
            boundary = country_boundary(boundaries, iso3)
            key = str(f.relative_to(base))
            results[key] = (_boundary_note(deliverable, programme, iso3, boundaries, boundary)
                            + validate_file(f, deliverable, programme, iso3, boundary, resolved,
                                            next((c for c in f.parent.iterdir() if is_crosswalk(c)), None)))
            if deliverable == "salinity_map" and resolved is not None and resolved.key:
                group = salinity.setdefault(country or resolved.iso3 or iso3 or "?", [])
                group += [f] + [t.path for t in by_folder[f.parent].files
                                if t.kind != "layer" and t.path not in group]
        if path.is_dir():  # a folder holding salinity layers is checked as a submission too
            for iso3, group in sorted(salinity.items()):
                results[f"{iso3} salinity_map (all layers)"] = run_checks(
                    "submission", "salinity_map", SubmissionContext(tuple(group), programme, iso3))
    except Exception as exc:
        log.exception("validation of %s crashed", path)
        results[str(path)] = [emit("internal.check_crashed", f"validation of {path} could not finish: {exc}",
                                   Location(file=str(path)), observed=type(exc).__name__)]
    return results


@dataclass
class PathPlan:
    """What ``atlas validate PATH`` will check: submissions as the run would form them, and what it leaves out."""

    root: Path  # the folder every file must lie inside (links and files outside are refused)
    submissions: list[Submission] = field(default_factory=list)
    skipped: list[Finding] = field(default_factory=list)  # every file not taken, with why (info findings)
    country_source: dict[str, str] = field(default_factory=dict)  # submission label -> where its country came from


def plan_path(path: Path, programme: Programme, country: str | None = None) -> PathPlan:
    """Group the files under ``path`` into submissions exactly as the inbox discovery does.

    ``path`` may be the inbox itself or a folder holding ISO3 folders (every delivery in it), a country folder
    (``<ISO3>/``: each dated sub-folder is a delivery), a delivery folder or a single file (one delivery). The
    country is ``country`` if given, else the inbox path (``<ISO3>/<YYYY-MM-DD>/``), else the file names.
    """
    path = Path(path).absolute()
    members = programme.members
    if path.is_dir() and _member_dir(path, members) is None and any(
            _member_dir(p, members) for p in path.iterdir() if p.is_dir()):
        subs, skipped = discover(path, members, tables=programme.table_keys())  # an inbox: every country folder in it
        subs = [s for s in subs if country is None or s.country == country]
        skipped += [Finding("inbox.unknown_file", Severity.INFO, f"{p.name}: not inside a country's <ISO3>/ folder; "
                            "ignored", Location(file=p.name), hint="put each delivery in <ISO3>/<YYYY-MM-DD>/")
                    for p in sorted(path.iterdir()) if p.is_file() or p.is_symlink()]
        return PathPlan(path, subs, skipped, {submission_label(s): "inbox path" for s in subs})
    if path.is_dir() and (iso3 := _member_dir(path, members)) and any(
            p.is_dir() and DATE_FOLDER.match(p.name) for p in path.iterdir()):
        skipped: list[Finding] = []
        subs = [replace(s, country=country or iso3) for s in discover_country(path, iso3, path.parent, skipped,
                                                                                   tables=programme.table_keys())]
        source = "--country" if country else "inbox path"
        return PathPlan(path, subs, skipped, {submission_label(s): source for s in subs})
    if path.is_dir():
        folder, files = path, sorted(p for p in path.rglob("*") if p.is_symlink() or p.is_file())
    else:  # one file; a shapefile brings its sidecars, as it does in a delivery
        folder, files = path.parent, [path]
        if path.suffix.lower() == ".shp":
            files += sorted(p for p in folder.iterdir() if p != path and p.with_suffix("") == path.with_suffix(""))
    plan = PathPlan(folder)
    digests = readable_digests(files, folder, plan.skipped)  # an unreadable file is listed, not a crash
    by_deliverable, skipped = sort_delivery([p for p in files if p in digests], folder, programme.table_keys())
    plan.skipped += skipped
    from_path = _country_from_path(folder, members)
    date = DATE_FOLDER.match(folder.name)
    received = dt.date.fromisoformat(date.group(1)) if date and _is_date(date.group(1)) else dt.date.today()
    named = {c for fs in by_deliverable.values() for f in fs if (c := country_from_name(f.name, members))}
    for deliverable, dfiles in sorted(by_deliverable.items()):
        own = {c for f in dfiles if (c := country_from_name(f.name, members))}
        if country:
            iso3, source = country, "--country"
        elif from_path:
            iso3, source = from_path, "inbox path"
        elif len(named) == 1 or len(own) == 1:
            iso3, source = (named if len(named) == 1 else own).pop(), "file names"
        else:
            iso3, source = None, ("file names name several countries: " + ", ".join(sorted(own or named))
                                  if (own or named) else "unknown")
        sub = Submission(iso3, deliverable, folder.name, 1, folder, tuple(sorted(dfiles)), received,
                         checksum_files(dfiles, folder, digests))
        plan.submissions.append(sub)
        plan.country_source[submission_label(sub)] = source
    return plan


def submission_label(sub: Submission) -> str:
    return f"{sub.country or 'unknown country'} {sub.deliverable} ({sub.delivery})"


def _member_dir(folder: Path, members: dict[str, str]) -> str | None:
    """The ISO3 code a folder is named after (an inbox country folder), or None."""
    return folder.name.upper() if folder.name.upper() in members and len(folder.name) == 3 else None


def _country_from_path(folder: Path, members: dict[str, str]) -> str | None:
    """The country of a delivery folder in an inbox layout: ``<ISO3>/<YYYY-MM-DD>/`` or loose in ``<ISO3>/``."""
    if (iso3 := _member_dir(folder, members)) is not None:
        return iso3
    if DATE_FOLDER.match(folder.name):
        return _member_dir(folder.parent, members)
    return None


def _is_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True
