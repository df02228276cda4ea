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

from prefect import flow
from prefect.deployments.runner import EntrypointType

from atlas.config import Programme, check_selection, load_programme
from flows.pipeline import operations, pipeline_flow

log = logging.getLogger(__name__)

CONFIG_ENV = "ATLAS_CONFIG"
DASK_ENV = "ATLAS_DASK"
RUN_FLOW = "atlas-run"
INGEST_FLOW = "atlas-ingest"
RUN_DEPLOYMENT = "on-demand"
INGEST_DEPLOYMENT = "scheduled-ingest"
DEFAULT_INTERVAL_MIN = 60.0
TAGS = ["soil-atlas"]


def _served_programme() -> tuple[Programme, str | None]:
    config = os.environ.get(CONFIG_ENV) or None
    return load_programme(config), config


def _dask_wanted() -> bool:
    return os.environ.get(DASK_ENV, "").lower() in ("1", "true", "yes")


@flow(name=RUN_FLOW, log_prints=False)
def process_inbox(country: str | None = None, deliverable: str | None = None, force: bool = False) -> dict:
    """Process the inbox now: validate new submissions, rebuild the regional products they touch, export the status.

    Args:
        country: ISO3 code of one member country (for example KHM); leave empty for every country.
        deliverable: one of salinity_map, soil_map, book_chapter, country_profile; leave empty for all.
        force: reprocess versions already processed and rebuild the regional products even if up to date.
    """
    programme, config = _served_programme()
    country, deliverable = (country or "").strip() or None, (deliverable or "").strip() or None
    check_selection(programme, country, deliverable)  # an unknown country fails this run, saying so
    run = pipeline_flow(programme, dask=_dask_wanted())
    return run(config_path=config, country=country, deliverable=deliverable, force=force)


@flow(name=INGEST_FLOW, log_prints=False)
def ingest_new_submissions() -> dict:
    """Scheduled ingestion: only new or changed submissions (by content hash) are processed; otherwise nothing.

    Deliveries still being copied (changed within ``[intake] settle_seconds``) are left for the next run.
    """
    programme, config = _served_programme()
    return pipeline_flow(programme, dask=_dask_wanted())(config_path=config, settle=True)


def schedule_of(programme: Programme) -> dict:
    """``cron=`` (if ``[operations] ingest_cron`` is set) or ``interval=`` for the ingestion deployment."""
    ops = operations(programme)
    cron = str(ops.get("ingest_cron", "") or "").strip()
    if cron:
        return {"cron": cron}
    minutes = float(ops.get("ingest_interval_minutes", DEFAULT_INTERVAL_MIN))
    return {"interval": dt.timedelta(minutes=minutes)}


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

    programme = load_programme(config_path)
    if config_path:
        os.environ[CONFIG_ENV] = str(Path(config_path).resolve())
    if dask:
        os.environ[DASK_ENV] = "1"
    log.info("serving %s/%s and %s/%s (%s)", RUN_FLOW, RUN_DEPLOYMENT, INGEST_FLOW, INGEST_DEPLOYMENT,
             schedule_of(programme))
    serve(*build_deployments(programme), limit=limit)
