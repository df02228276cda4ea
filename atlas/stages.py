"""The pipeline's stages as plain functions; the Prefect flow only calls these.

Each stage takes the programme and returns values plus findings. A stage
never lets one country's bad file stop another country: unexpected errors are
caught per submission and recorded as ``pipeline.internal_error`` findings.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd

from atlas import layout
from atlas.atomic import write_atomic
from atlas.config import Programme
from atlas.finding import Finding, Location, Severity, counts, internal_error, verdict
from atlas.intake.inbox import Submission, discover
from atlas.layout import GPKG_OPTIONS, SOIL_MAP_FILE
from atlas.reports.changes import carried_layers
from atlas.state import PARTLY_PUBLISHED, PUBLICATION, PUBLISHED
from atlas.wording import plural

if TYPE_CHECKING:
    from atlas.intake.readers import Reads

log = logging.getLogger(__name__)

ACCEPTED = ("accepted", "accepted_with_warnings")


@dataclass
class SubmissionOutcome:
    """What processing one submission version gave."""

    submission: Submission
    record_id: int
    verdict: str
    findings: list[Finding]
    outputs: dict = field(default_factory=dict)
    skipped: bool = False


def discover_submissions(programme: Programme, settle: bool = False) -> tuple[list[Submission], list[Finding]]:
    """The inbox's submissions; with ``settle``, deliveries changed within ``[intake] settle_seconds`` wait."""
    return discover(programme.raw_dir, programme.members, programme.intake.settle_seconds if settle else 0.0,
                    tables=programme.table_keys())


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


@dataclass
class CheckedSubmission:
    """What intake, validation and the national harmonization found for one submission version."""

    submission: Submission  # as checked: links dropped, archives extracted
    findings: list[Finding]
    verdict: str
    outputs: dict = field(default_factory=dict)
    reads: object = field(default=None, repr=False)  # what validation read (atlas.intake.readers.Reads)


def check_submission(
    sub: Submission, programme: Programme, boundaries: gpd.GeoDataFrame | None, out_dir: Path, root: Path | None = None,
    carried: frozenset[str] = frozenset(),
) -> CheckedSubmission:
    """Findings and verdict of one submission version; ``atlas run`` and ``atlas validate`` both come here.

    Archives are extracted and the harmonized national copy written into ``out_dir`` (the version's processed
    folder in a run, a temporary folder for ``atlas validate``), so the findings of both are the same. ``root``:
    the folder the files must lie inside, when it is not the country's inbox folder (see ``prepare_submission``).
    ``carried``: salinity layers ("ECe_0-30") the version keeps from the last accepted one (the ledger's).
    """
    from atlas.intake.archives import prepare_submission
    from atlas.intake.containment import Limits
    from atlas.intake.readers import Reads
    from checks.run import validate_submission

    findings: list[Finding] = []
    reads = Reads(Limits.from_programme(programme))  # each file is read once: validation keeps it for harmonization
    try:  # untrusted files: links dropped, archives extracted safely into out_dir/intake
        sub, findings = prepare_submission(sub, programme, out_dir, root=root, limits=reads.limits)
        findings += validate_submission(sub, programme, boundaries, reads, carried)
    except Exception as exc:  # noqa: BLE001 - a failed check must not stop the run; what was found is kept
        findings.append(internal_error(sub, "validation", exc))
    outputs: dict = {}
    result = verdict(findings)
    if result in ACCEPTED:
        try:
            outputs, fixes = harmonize_national(sub, programme, out_dir, reads)
            findings += fixes
        except Exception as exc:  # noqa: BLE001
            findings.append(internal_error(sub, "harmonization", exc))
        result = verdict(findings)
    if getattr(programme.deliverables.get(sub.deliverable), "kind", "") == "table":
        write_table_rows(sub, programme, out_dir)
    if sub.deliverable == "soil_map":  # the crosswalk the report asks for, as a CSV the country fills in
        from checks.crosswalk import write_template

        write_template(findings, out_dir)
    return CheckedSubmission(sub, findings, result, outputs, reads)


def write_table_rows(sub: Submission, programme: Programme, out_dir: Path) -> None:
    """A table version's rows as read, whatever its verdict (``table/<resource>.csv``): what changed, the merge."""
    from atlas.products.regional_tables import write_table_copy
    from atlas.tables import load_table_spec
    from checks.table import read_table

    spec = load_table_spec(programme, sub.deliverable)
    write_table_copy(read_table(list(sub.files), spec, sub.country, programme.limits).rows, spec, out_dir)


def report_meta(raw_sub: Submission, checked: CheckedSubmission, programme: Programme, base: Path) -> dict:
    """The ``meta`` of a submission's reports (docs/REPORT_SCHEMA.md); file names relative to ``base``."""
    sub = checked.submission
    return {
        "country": sub.country,
        "country_name": programme.members.get(sub.country, sub.country),
        "deliverable": sub.deliverable,
        "deliverable_title": getattr(programme.deliverables.get(sub.deliverable), "title", sub.deliverable),
        "version": sub.version,
        "delivery": sub.delivery,
        "received": sub.received.isoformat(),
        "files": [str(Path(p).relative_to(base)) for p in raw_sub.files],
        "checksum": sub.checksum,
        **({"layers": layer_rows(sub, programme)} if sub.deliverable == "salinity_map" else {}),
        "verdict": checked.verdict,
        "counts": counts(checked.findings),
    }


def process_submission(
    sub: Submission, record_id: int, programme: Programme, boundaries: gpd.GeoDataFrame | None, ledger
) -> SubmissionOutcome:
    """Validate one submission version, write its reports and its harmonized national copy."""
    from atlas.intake.archives import safe_output_dir

    out_dir = layout.national_dir(programme.processed_dir, sub.country, sub.deliverable, sub.version)
    unsafe = safe_output_dir(out_dir, programme.processed_dir)
    if unsafe is not None:  # never write through a symlink: record the refusal in the ledger only
        ledger.record_validation(record_id, verdict([unsafe]), counts([unsafe]), None, [unsafe.to_dict()])
        return SubmissionOutcome(sub, record_id, verdict([unsafe]), [unsafe])
    out_dir.mkdir(parents=True, exist_ok=True)
    carried = carried_layers(ledger, sub.country, sub.deliverable, sub.version)
    checked = check_submission(sub, programme, boundaries, out_dir, carried=frozenset(carried))
    # what only the ledger knows: a delivery filed after a newer one (atlas validate cannot say this)
    checked.findings += older_delivery_findings(sub, ledger)
    checked.verdict = verdict(checked.findings)
    findings, result, outputs = checked.findings, checked.verdict, checked.outputs
    meta = report_meta(sub, checked, programme, programme.raw_dir)
    if programme.deliverables[sub.deliverable].kind == "table":  # rows added, removed, changed since the last one
        from atlas.reports.table_changes import row_changes
        from atlas.tables import load_table_spec

        meta["row_changes"] = row_changes(programme.processed_dir, load_table_spec(programme, sub.deliverable),
                                          sub.country, sub.version)
    reports = write_national_reports(checked.submission, findings, out_dir, meta, outputs, programme, boundaries,
                                     checked.reads, carried)
    ledger.record_validation(record_id, result, counts(findings), reports.get("json"), [f.to_dict() for f in findings])
    if result in ACCEPTED and outputs.get("layers"):
        # partial deliveries: which version each layer comes from (its own, or carried over)
        ledger.record_layers(record_id, sorted(f"{layer}_{depth}" for layer, depth in outputs["layers"]))
    if result in ACCEPTED and outputs:
        ledger.mark(record_id, "harmonized", note=f"national copy in {out_dir.relative_to(programme.processed_dir)}")
    log.info("%s: %s (%s)", checked.submission.key, result,
             ", ".join(f"{k} {v}" for k, v in counts(findings).items() if v))
    return SubmissionOutcome(sub, record_id, result, findings, outputs)


def write_national_reports(sub: Submission, findings: list[Finding], out_dir: Path, meta: dict, outputs: dict,
                           programme: Programme, boundaries, reads=None,
                           carried: dict[str, int] | None = None) -> dict[str, Path]:
    """The version's reports, with its map (country, neighbours, footprint) and what changed since the last one.

    ``carried``: layers an earlier version holds that this one could carry over; those it does not send itself
    count in its areas and in "what changed" (its effective state).
    """
    from atlas.products.national_summary import national_summary
    from atlas.reports.changes import previous_report
    from atlas.reports.report import write_reports

    sent = {f"{r['layer']}_{r['depth']}" for r in meta.get("layers") or [] if r.get("layer") and r.get("depth")}
    carried = {k: v for k, v in (carried or {}).items() if k not in sent}
    if carried and "layers" in meta:  # the layer table shows the effective state: what was sent, what is kept
        meta = {**meta, "layers": meta["layers"] + [
            {"file": "", "kind": "carried", "layer": key.rpartition("_")[0], "depth": key.rpartition("_")[2],
             "taken_from": f"carried over from version {version}",
             "detail": f"not sent again: version {version}'s accepted layer is used"}
            for key, version in sorted(carried.items())]}
    footprint, areas = national_summary(sub, outputs, programme, reads, carried) if sub.deliverable in (
        "salinity_map", "soil_map") else (None, None)
    previous = previous_report(programme.processed_dir, sub.country, sub.deliverable, sub.version)
    return write_reports(findings, out_dir, meta, boundaries=boundaries, footprint=footprint, previous=previous,
                         areas=areas, carried=carried)


def layer_rows(sub: Submission, programme: Programme) -> list[dict]:
    """The report's first table: which file was taken as which layer, from what, and each class map's legend."""
    from checks.layers import resolve_layers
    from checks.legend import bind_legends

    resolution = resolve_layers(sub.files, programme.salinity)
    legends = {b.layer_file.path: b for b in bind_legends(resolution, programme.salinity)}
    rows = []
    for lf in resolution.files:
        row = lf.row()
        if (b := legends.get(lf.path)) is not None:
            row["detail"] += f"; legend: {b.why}" if b.legend is not None else f"; NO LEGEND ({b.why})"
        rows.append(row)
    return rows


def publish_versions(ledger, deliverable: str, outcome, run_id: str | None, state=None, release: str = "") -> None:
    """One product's outcome written into the ledger (scripts and tests building one product on its own).

    ``outcome`` is a ``RegionalOutcome``; what it holds becomes the product's ``Holding`` and the run's resolved
    ``state`` (resolved here when not given) gets its publication states from it (``record_publication``).
    """
    from atlas.products.release_checks import carried_versions
    from atlas.state import Holding

    holding = Holding(deliverable, outcome.product, release, dict(outcome.included),
                      carried_versions(outcome.included, outcome.sources), dict(outcome.left_out))
    record_publication(ledger, (state or ledger.state()).published({deliverable: holding}), run_id,
                       versions={deliverable: outcome.versions})


def record_publication(ledger, state, run_id: str | None, versions: dict[str, dict[str, int]] | None = None) -> int:
    """Write the publication states of the run's resolved ``state`` (``ResolvedState.published``: the state
    plus what the current release holds) into the ledger, with a note saying why; returns the versions changed.

    Every version of a deliverable the release holds reads what the release holds of it: ``published`` (the
    product is built from it), ``partly_published`` (some of its layers are carried into it by the current
    version), ``superseded`` (it was published, the release holds none of its data now). The reason a product
    leaves a current version out is noted on that version (``versions``: the versions each product was given;
    by default the current ones).
    """
    from atlas.ledger.store import NOT_PUBLISHED_NOTE

    stored = {(r.country, r.deliverable, r.version): r.state for key in state.holdings
              for iso3 in {c for c, d in state.order if d == key} for r in ledger.versions(iso3, key)}
    changed = 0
    for (iso3, key), order in sorted(state.order.items()):
        holding = state.holdings.get(key)
        if holding is None:
            continue
        where = f"{holding.product} (release {holding.release})" if holding.release else holding.product
        for v in order:
            if v.state == stored.get((iso3, key, v.version)) or v.state not in PUBLICATION:
                continue
            if v.state == PUBLISHED:
                note = f"in {where}"
            elif v.state == PARTLY_PUBLISHED:
                note = (f"{plural(len(v.in_release), 'layer')} ({', '.join(v.in_release)}) carried over into {where} "
                        f"by v{v.by}")
            else:
                note = (f"superseded by v{v.by}: {where} holds none of its data" if v.by else
                        f"superseded: {where} holds none of its data")
            changed += ledger.set_publication(iso3, key, v.version, v.state, note=note, run_id=run_id,
                                              product=holding.product)
    for key, holding in sorted(state.holdings.items()):
        for iso3, reason in sorted(holding.left_out.items()):
            version = (versions or {}).get(key, {}).get(iso3) or state.current.get((iso3, key))
            if version is not None:
                ledger.note_version(iso3, key, version, f"{NOT_PUBLISHED_NOTE}{holding.product}: {reason}",
                                    run_id=run_id, product=holding.product)
    return changed


def tables_outdated(programme: Programme, state, release: Path | None = None) -> bool:
    """Some regional table of ``release`` (the current one by default) does not hold the run's current versions
    (``state``: the resolved state, or a ledger), or the meeting summary is missing."""
    from atlas.products.build_manifest import tables_outdated as outdated

    release = release if release is not None else layout.current_release(programme.processed_dir)
    return outdated(programme, state.current_versions if hasattr(state, "current_versions") else
                    state.accepted_versions, release)


def regional_tables(programme: Programme, state, release: Path, run_id: str | None = None,
                    force: bool = False) -> list:
    """Every table deliverable's current versions (the run's resolved ``state``) merged into its regional table
    in ``release`` (a release being built), and the one-page meeting summary of all tables
    (``tables/meeting_summary.html``). Returns a ``RegionalOutcome`` per table the release holds.

    A table already holding the same versions (hard-linked from the previous release) is left as it is, unless
    ``force``. Nothing is marked in the ledger here: the versions the release holds are published from it
    (``record_publication``), with the maps'.
    """
    import shutil

    from atlas.products.regional_tables import (
        build_regional_table,
        is_current,
        meeting_counts,
        merge_table,
        mergeable,
        regional_tables_dir,
        table_outcome,
        tables_root,
    )
    from atlas.reports.table_summary import SUMMARY_NAME, write_table_summary
    from atlas.tables import load_table_spec, table_deliverables

    outcomes, summaries, rebuilt = [], [], False
    for key in table_deliverables(programme):
        built_now = False
        try:
            spec = load_table_spec(programme, key)
            versions = mergeable(programme, key, state.current_versions(key))
            if not versions:  # nothing accepted: no table (an empty product is never published)
                shutil.rmtree(regional_tables_dir(release, key), ignore_errors=True)
                summaries.append(meeting_counts(spec, merge_table(programme, spec, {})))
                continue
            if force or not is_current(programme, key, versions, release):
                table = build_regional_table(programme, spec, versions, release=release, run_id=run_id)
                rebuilt = built_now = True
                frames = table.frames
            else:  # the same versions: the previous release's files, hard-linked, stay
                frames = merge_table(programme, spec, versions)
            summaries.append(meeting_counts(spec, frames))
        except Exception:  # one table's defect must not stop the other, nor the maps' release
            log.exception("regional table %s could not be built; the release keeps its previous one", key)
        outcome = table_outcome(programme, release, key)
        if outcome is not None:
            outcome.up_to_date = not built_now
            outcomes.append(outcome)
    if summaries and (rebuilt or force or not (tables_root(release) / f"{SUMMARY_NAME}.html").is_file()):
        write_table_summary(programme, summaries, tables_root(release))
    return outcomes


def older_delivery_findings(sub: Submission, ledger) -> list[Finding]:
    """A warning when a version was filed after a newer delivery: it is recorded, and replaces nothing."""
    newer = ledger.filed_before_with_later_date(sub.country, sub.deliverable, sub.version)
    if newer is None:
        return []
    return [Finding(
        "inbox.older_delivery",
        Severity.WARNING,
        f"delivery {sub.delivery} (received {sub.received.isoformat()}) is older than v{newer.version} "
        f"(received {newer.received.isoformat()}); it is recorded as v{sub.version} but replaces nothing: "
        f"the products keep v{newer.version} (a layer that no later delivery sent may come from it)",
        Location(file=f"{sub.country}/{sub.delivery}"),
        observed=sub.received.isoformat(),
        expected=f"after {newer.received.isoformat()}",
        hint="nothing to do if it was filed late by mistake; if the country wants this map used, it sends it "
        "again as a new delivery (a new dated folder with a changed file)",
    )]


def harmonize_national(sub: Submission, programme: Programme, out_dir: Path,
                       reads: Reads | None = None) -> tuple[dict, list[Finding]]:
    """The processed national copy: salinity layers on the common grid, a repaired soil map.

    ``reads`` (``atlas.intake.readers.Reads``) holds what validation read; a file missing there is read now.
    """
    if sub.deliverable == "salinity_map":
        from atlas.borders.raster import harmonize_salinity
        from atlas.products.class_consistency import class_disagreement

        layers, findings = harmonize_salinity(sub, programme, out_dir, reads)
        findings += class_disagreement(layers, programme, out_dir)  # delivered classes against ECe/ESP/pH
        return {"layers": layers}, findings
    if sub.deliverable == "soil_map":
        from atlas.intake.containment import Limits
        from atlas.intake.readers import read_soil_map, repair_soil_map
        from checks.run import soil_maps

        soil_files = soil_maps(sub.files)  # the first is the map taken, as validation says (checks.several_maps)
        if not soil_files:
            return {}, []
        if reads is not None and soil_files[0] in reads.soil_maps:
            gdf = reads.soil_maps[soil_files[0]]
        else:  # validation has reported what the reader found; only the repairs are new here
            gdf, _ = read_soil_map(soil_files[0], Limits.from_programme(programme))
        if gdf is None:
            return {}, []
        gdf, fixes = repair_soil_map(gdf)
        from checks.crosswalk import is_crosswalk
        from checks.wrb_columns import canonical_copy

        # canonical rsgN_code/rsgN_name columns, the delivered values kept under delivered_*
        gdf = canonical_copy(gdf, programme, next((p for p in sub.files if is_crosswalk(p)), None))
        target = out_dir / SOIL_MAP_FILE
        write_atomic(target, lambda tmp: gdf.to_file(tmp, driver="GPKG", layer="map_units", **GPKG_OPTIONS))
        return {"soil_map": target}, fixes
    return {}, []  # documents have no processed copy
