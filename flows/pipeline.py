"""The end-to-end Prefect flow: inbox → validate → harmonize → mosaic → status.

Tasks are a few lines each over ``atlas`` and ``checks``; all logic lives there.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from atlas import layout, stages
from atlas.boundaries import load_boundaries
from atlas.config import Programme, load_programme
from atlas.exports import export_status, status_markdown
from atlas.ledger import Ledger
from atlas.locking import run_lock
from atlas.regional import build_catalogue, build_regional_salinity, build_regional_soil


@task(cache_policy=NO_CACHE)
def load_reference(programme: Programme):
    return load_boundaries(programme)


@task(cache_policy=NO_CACHE)
def discover_inbox(programme: Programme):
    return stages.discover_submissions(programme)


@task(cache_policy=NO_CACHE, task_run_name="process {sub.country} {sub.deliverable} v{sub.version}")
def process_submission(sub, record_id: int, programme: Programme, boundaries, ledger: Ledger):
    return stages.process_submission(sub, record_id, programme, boundaries, ledger)


@task(cache_policy=NO_CACHE)
def mosaic_salinity(programme: Programme, versions: dict, boundaries, run_id: str, force: bool):
    return build_regional_salinity(programme, versions, boundaries, run_id, force)


@task(cache_policy=NO_CACHE)
def harmonize_soil_atlas(programme: Programme, versions: dict, boundaries, run_id: str, force: bool):
    return build_regional_soil(programme, versions, boundaries, run_id, force)


@task(cache_policy=NO_CACHE)
def catalogue_products(programme: Programme, outcomes: list, run_id: str):
    return build_catalogue(programme, outcomes, run_id)


@task(cache_policy=NO_CACHE)
def export_status_table(ledger: Ledger, programme: Programme, boundaries):
    paths = export_status(ledger, programme, layout.status_dir(programme.processed_dir), boundaries=boundaries)
    create_markdown_artifact(
        status_markdown(ledger.status_rows()), key="submission-status", description="Member countries × deliverables"
    )
    return paths


def _select(subs, country: str | None, deliverable: str | None):
    return [
        s
        for s in subs
        if (country is None or s.country == country.upper()) and (deliverable is None or s.deliverable == deliverable)
    ]


@flow(name="soil-atlas-pipeline", log_prints=False)
def run_pipeline(
    config_path: str | None = None,
    country: str | None = None,
    deliverable: str | None = None,
    force: bool = False,
    programme: Programme | None = None,
) -> dict:
    """Process the inbox: validate every new submission, rebuild the regional products, export the status."""
    logger = get_run_logger()
    programme = programme or load_programme(config_path)
    with run_lock(programme.processed_dir):
        return _run(programme, country, deliverable, force, logger)


def _run(programme: Programme, country: str | None, deliverable: str | None, force: bool, logger) -> dict:
    run_id = str(flow_run.get_id() or "local")
    ledger = Ledger(programme.ledger_path, programme)

    boundaries, boundary_findings = load_reference(programme)
    for f in boundary_findings:
        logger.info("reference boundaries: %s", f.message)
    subs, inbox_findings = discover_inbox(programme)
    for f in inbox_findings:
        logger.warning("inbox: %s (%s)", f.message, f.location.describe())

    outcomes = []
    for sub, record in stages.register(ledger, _select(subs, country, deliverable), run_id):
        out_dir = layout.national_dir(programme.processed_dir, sub.country, sub.deliverable, sub.version)
        if not stages.needs_processing(record, out_dir, force):
            continue
        outcome = process_submission(sub, record.id, programme, boundaries, ledger)
        logger.info("[%s] %s v%d: %s", sub.country, sub.deliverable, sub.version, outcome.verdict)
        outcomes.append(outcome)

    regional = []
    for builder, deliverable_key, product in (
        (mosaic_salinity, "salinity_map", "GSSmap"),
        (harmonize_soil_atlas, "soil_map", "Soil Atlas WRB"),
    ):
        versions = ledger.accepted_versions(deliverable_key)
        outcome = builder(programme, versions, boundaries, run_id, force)
        regional.append(outcome)
        if outcome.paths and not outcome.up_to_date:
            for iso3, version in outcome.versions.items():
                ledger.mark_version(iso3, deliverable_key, version, "published", run_id=run_id, product=product)
        for f in outcome.findings:
            if f.check_id == "pipeline.internal_error":
                logger.error("%s: %s", product, f.message)

    if any(o.paths and not o.up_to_date for o in regional):
        catalogue_products(programme, regional, run_id)
    exported = export_status_table(ledger, programme, boundaries)
    failed = sorted(
        {o.submission.country for o in outcomes if any(f.check_id == "pipeline.internal_error" for f in o.findings)}
    )
    summary = {
        "run_id": run_id,
        "processed": [f"{o.submission.key}: {o.verdict}" for o in outcomes],
        "rejected": [o.submission.key for o in outcomes if o.verdict == "rejected"],
        "failed_countries": failed,
        "products": {o.product: [str(Path(p).name) for p in o.paths] for o in regional},
        "status_files": {k: [str(p) for p in v] for k, v in exported.items()},
    }
    logger.info(
        "processed %d submission version(s); %d rejected; products: %s",
        len(outcomes),
        len(summary["rejected"]),
        {k: len(v) for k, v in summary["products"].items()},
    )
    if failed:
        logger.error("countries with pipeline failures: %s", ", ".join(failed))
    return summary
