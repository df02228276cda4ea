"""Deployments served by ``atlas serve``: a run GIS staff trigger from the Prefect UI, and the scheduled ingestion.

Both call ``flows.pipeline.run_pipeline`` as a subflow. The programme configuration is not a
parameter (GIS staff see only country, deliverable and force): ``atlas serve`` puts its path in
``ATLAS_CONFIG``, which the flow runs it starts inherit. Deployments are addressed by module path,
so ``atlas serve`` works from any folder.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.deployments.runner import EntrypointType
from prefect.states import Failed

from atlas.config import CONFIG_ENV, Programme, find_config, load_programme, resolve_selection
from atlas.errors import AtlasError
from flows.pipeline import operations, pipeline_flow
from flows.run_log import quiet_failed_run_echo

log = logging.getLogger(__name__)

DASK_ENV = "ATLAS_DASK"
RUN_FLOW = "atlas-run"
INGEST_FLOW = "atlas-ingest"
RUN_DEPLOYMENT = "on-demand"
INGEST_DEPLOYMENT = "scheduled-ingest"
DEFAULT_INTERVAL_MIN = 60.0
TAGS = ["soil-atlas"]


def _served_programme() -> tuple[Programme, str]:
    """The programme `atlas serve` was started with (its path in ATLAS_CONFIG), else the usual lookup."""
    config = str(find_config(os.environ.get(CONFIG_ENV) or None).resolve())
    return load_programme(config), config


def _dask_wanted() -> bool:
    return os.environ.get(DASK_ENV, "").lower() in ("1", "true", "yes")


@flow(name=RUN_FLOW, log_prints=False)
def process_inbox(country: str | None = None, deliverable: str | None = None, force: bool = False):
    """Process the inbox now: validate new submissions, rebuild the regional products they touch, export the status.

    Args:
        country: one member country, by ISO3 code or name (KHM or Cambodia); leave empty for every country.
        deliverable: one of salinity_map, soil_map, book_chapter, country_profile; leave empty for all.
        force: reprocess versions already processed and rebuild the regional products even if up to date.
    """
    quiet_failed_run_echo()
    try:
        programme, config = _served_programme()
        country, deliverable = resolve_selection(programme, country, deliverable)
    except AtlasError as exc:
        # a mistyped parameter fails this run with one line (in the UI and the serve terminal), no traceback
        get_run_logger().error("%s", exc)
        return Failed(message=str(exc))
    run = pipeline_flow(programme, dask=_dask_wanted())
    return run(config_path=config, country=country, deliverable=deliverable, force=force)


@flow(name=INGEST_FLOW, log_prints=False)
def ingest_new_submissions():
    """Scheduled ingestion: only new or changed submissions (by content hash) are processed; otherwise nothing.

    Deliveries still being copied (changed within ``[intake] settle_seconds``) are left for the next run.
    """
    quiet_failed_run_echo()
    try:
        programme, config = _served_programme()
    except AtlasError as exc:
        get_run_logger().error("%s", exc)
        return Failed(message=str(exc))
    return pipeline_flow(programme, dask=_dask_wanted())(config_path=config, settle=True)


def schedule_of(programme: Programme) -> dict:
    """``cron=`` (if ``[operations] ingest_cron`` is set) or ``interval=`` for the ingestion deployment."""
    ops = operations(programme)
    cron = str(ops.get("ingest_cron", "") or "").strip()
    if cron:
        return {"cron": cron}
    minutes = float(ops.get("ingest_interval_minutes", DEFAULT_INTERVAL_MIN))
    return {"interval": dt.timedelta(minutes=minutes)}


def schedule_words(programme: Programme) -> str:
    """The ingestion schedule as a person says it: 'every 60 min', 'on cron 0 6 * * *', '(paused)'."""
    schedule = schedule_of(programme)
    words = (f"on cron {schedule['cron']}" if "cron" in schedule
             else f"every {schedule['interval'].total_seconds() / 60:g} min")
    return words + (" (paused)" if operations(programme).get("ingest_paused", False) else "")


def build_deployments(programme: Programme) -> list:
    """The two runner deployments (not yet served)."""
    run = process_inbox.to_deployment(
        name=RUN_DEPLOYMENT,
        description="Process the inbox now; choose a country, a deliverable, or force a rebuild.",
        tags=TAGS,
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    ingest = ingest_new_submissions.to_deployment(
        name=INGEST_DEPLOYMENT,
        description="Picks up new or changed submissions on a schedule ([operations] in programme.toml).",
        tags=TAGS,
        entrypoint_type=EntrypointType.MODULE_PATH,
        paused=bool(operations(programme).get("ingest_paused", False)),
        **schedule_of(programme),
    )
    return [run, ingest]


def serve_deployments(config_path: Path | str | None, dask: bool = False, limit: int | None = None) -> None:
    """Register the deployments with the Prefect API and run their flow runs here until interrupted."""
    from prefect import serve

    config_path = find_config(config_path).resolve()
    programme = load_programme(config_path)
    os.environ[CONFIG_ENV] = str(config_path)  # the flow runs read the same file, whatever their folder
    if dask:
        os.environ[DASK_ENV] = "1"
    log.info("serving %s/%s and %s/%s (ingestion %s)", RUN_FLOW, RUN_DEPLOYMENT, INGEST_FLOW, INGEST_DEPLOYMENT,
             schedule_words(programme))
    serve(*build_deployments(programme), limit=limit)
