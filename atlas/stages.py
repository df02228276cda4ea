"""The pipeline's stages as plain functions; the Prefect flow only calls these.

Each stage takes the programme and returns values plus findings. A stage
never lets one country's bad file stop another country: unexpected errors are
caught per submission and recorded as ``pipeline.internal_error`` findings.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd

from atlas import layout
from atlas.atomic import write_atomic
from atlas.config import Programme
from atlas.intake.inbox import Submission, discover
from checks.finding import Finding, Location, Severity, counts, verdict

log = logging.getLogger(__name__)

ACCEPTED = ("accepted", "accepted_with_warnings")
SOIL_MAP_FILE = "soil_map.gpkg"


@dataclass
class SubmissionOutcome:
    """What processing one submission version gave."""

    submission: Submission
    record_id: int
    verdict: str
    findings: list[Finding]
    outputs: dict = field(default_factory=dict)
    skipped: bool = False


def internal_error(sub: Submission | None, stage: str, exc: BaseException) -> Finding:
    """A bug or an unforeseen failure, turned into a finding so the run goes on."""
    where = Location(file=sub.key if sub else None)
    detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    log.error("%s failed for %s: %s\n%s", stage, sub.key if sub else "region", detail, traceback.format_exc())
    return Finding(
        "pipeline.internal_error",
        Severity.ERROR,
        f"the {stage} stage failed unexpectedly: {detail}",
        where,
        hint="a pipeline defect, not necessarily a problem in the file: report it to the secretariat's GIS team",
    )


def discover_submissions(programme: Programme) -> tuple[list[Submission], list[Finding]]:
    return discover(programme.raw_dir, programme.members)


def register(ledger, submissions: list[Submission], run_id: str | None) -> list[tuple[Submission, object]]:
    """Record every submission in the ledger; the ledger's version numbers win."""
    registered = []
    for sub in submissions:
        record = ledger.record_submission(sub, run_id=run_id)
        registered.append((replace(sub, version=record.version), record))
    return registered


def needs_processing(record, out_dir: Path, force: bool) -> bool:
    """A version is processed once; a re-run with an unchanged inbox does nothing."""
    if force or getattr(record, "is_new", True):
        return True
    return not (out_dir / "report.json").is_file()


def process_submission(
    sub: Submission, record_id: int, programme: Programme, boundaries: gpd.GeoDataFrame | None, ledger
) -> SubmissionOutcome:
    """Validate one submission version, write its reports and its harmonized national copy."""
    from atlas.intake.archives import prepare_submission, safe_output_dir
    from checks.report import write_reports
    from checks.run import validate_submission

    raw_sub = sub
    out_dir = layout.national_dir(programme.processed_dir, sub.country, sub.deliverable, sub.version)
    unsafe = safe_output_dir(out_dir, programme.processed_dir)
    if unsafe is not None:  # never write through a symlink: record the refusal in the ledger only
        ledger.record_validation(record_id, verdict([unsafe]), counts([unsafe]), None, [unsafe.to_dict()])
        return SubmissionOutcome(sub, record_id, verdict([unsafe]), [unsafe])
    out_dir.mkdir(parents=True, exist_ok=True)
    findings: list[Finding] = []
    try:  # untrusted files: links dropped, archives extracted safely into out_dir/intake
        sub, findings = prepare_submission(sub, programme, out_dir)
        carried = ledger.carried_layers(sub.country, sub.version) if sub.deliverable == "salinity_map" else {}
        findings += validate_submission(sub, programme, boundaries, frozenset(carried))
    except Exception as exc:  # noqa: BLE001 - a failed check must not stop the run; what was found is kept
        findings.append(internal_error(sub, "validation", exc))
    outputs: dict = {}
    result = verdict(findings)
    if result in ACCEPTED:
        try:
            outputs, fixes = harmonize_national(sub, programme, out_dir)
            findings += fixes
        except Exception as exc:  # noqa: BLE001
            findings.append(internal_error(sub, "harmonization", exc))
        result = verdict(findings)
    meta = {
        "country": sub.country,
        "country_name": programme.members.get(sub.country, sub.country),
        "deliverable": sub.deliverable,
        "version": sub.version,
        "delivery": sub.delivery,
        "received": sub.received.isoformat(),
        "files": [str(p.relative_to(programme.raw_dir)) for p in raw_sub.files],
        "checksum": sub.checksum,
        "verdict": result,
        "counts": counts(findings),
    }
    reports = write_reports(findings, out_dir, meta)
    ledger.record_validation(record_id, result, counts(findings), reports.get("json"), [f.to_dict() for f in findings])
    if result in ACCEPTED and outputs.get("layers"):
        # partial deliveries: which version each layer comes from (its own, or carried over)
        ledger.record_layers(record_id, sorted(f"{layer}_{depth}" for layer, depth in outputs["layers"]))
    if result in ACCEPTED and outputs:
        ledger.mark(record_id, "harmonized", note=f"national copy in {out_dir.relative_to(programme.processed_dir)}")
    log.info("%s: %s (%s)", sub.key, result, ", ".join(f"{k} {v}" for k, v in counts(findings).items() if v))
    return SubmissionOutcome(raw_sub, record_id, result, findings, outputs)


def harmonize_national(sub: Submission, programme: Programme, out_dir: Path) -> tuple[dict, list[Finding]]:
    """The processed national copy: salinity layers on the common grid, a repaired soil map."""
    if sub.deliverable == "salinity_map":
        from atlas.borders.raster import harmonize_salinity

        layers, findings = harmonize_salinity(sub, programme, out_dir)
        return {"layers": layers}, findings
    if sub.deliverable == "soil_map":
        from atlas.intake.readers import read_soil_map, repair_soil_map

        soil_files = [
            p for p in sub.files if p.suffix.lower() in {".gpkg", ".geojson", ".json", ".fgb", ".zip", ".shp"}
        ]
        if not soil_files:
            return {}, []
        from atlas.intake.containment import Limits

        # validation has read this file and reported what the reader found; only the repairs are new here
        gdf, _ = read_soil_map(soil_files[0], Limits.from_programme(programme))
        if gdf is None:
            return {}, []
        gdf, fixes = repair_soil_map(gdf)
        target = out_dir / SOIL_MAP_FILE
        write_atomic(target, lambda tmp: gdf.to_file(tmp, driver="GPKG", layer="map_units"))
        return {"soil_map": target}, fixes
    return {}, []  # documents have no processed copy


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


def soil_inputs(programme: Programme, versions: dict[str, int]) -> dict[str, gpd.GeoDataFrame]:
    maps = {}
    for iso3, version in versions.items():
        path = layout.national_dir(programme.processed_dir, iso3, "soil_map", version) / SOIL_MAP_FILE
        if path.is_file():
            maps[iso3] = gpd.read_file(path, layer="map_units")
    return maps
