"""The end-to-end Prefect flow: inbox → validate → harmonize → mosaic → status.

Tasks are a few lines each over ``atlas`` and ``checks``; all logic lives there.

Operations choices (docs/OPERATIONS.md):
- Per-submission and regional tasks are submitted to the flow's task runner (threads by default,
  a Dask cluster with ``dask=True``) and gathered; a failed country never stops the others.
- Tasks never receive the flow's ``Ledger`` (an SQLite connection, not picklable for Dask workers):
  each task that writes the ledger opens its own from the programme. SQLite in WAL mode with a
  busy timeout serialises the writers; the flow alone marks products ``published``, after the
  product files and their build manifest exist.
- Transient file-system errors are retried with exponential back-off; other errors are not.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import time
from contextlib import contextmanager
from uuid import UUID

from prefect import flow, get_run_logger, task
from prefect.artifacts import MarkdownArtifact, TableArtifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.tasks import exponential_backoff

from atlas import layout, stages
from atlas.borders.boundaries import load_boundaries
from atlas.config import Programme, check_selection, load_programme
from atlas.ledger.accuracy import accuracy_table, write_accuracy_table
from atlas.ledger.exports import export_status, status_markdown
from atlas.ledger.schema import RECEIVED
from atlas.ledger.store import Ledger
from atlas.ledger.verify import verify_release
from atlas.locking import run_lock
from atlas.prefect_server import TEMPORARY_ENV
from atlas.products import release
from atlas.products.regional import (
    PRODUCTS,
    border_pairs,
    build_catalogue,
    build_regional_salinity,
    build_regional_soil,
    failed,
    outcome_from_manifest,
    release_products,
    will_rebuild,
)
from atlas.products.regional_tables import table_outcome
from atlas.products.release_checks import check_release, holdings
from atlas.reports.country_notes import write_country_notes
from flows.run_log import listing, plural, product_files, products_words, quiet_run_noise, versions_words, words

# errno values of failures that often go away on a second try (network shares, busy files, exhausted handles)
TRANSIENT_ERRNOS = frozenset(
    {errno.EAGAIN, errno.EBUSY, errno.EINTR, errno.EIO, errno.ESTALE, errno.ETIMEDOUT, errno.EMFILE, errno.ENFILE}
)
DEFAULT_RETRIES = 3
DEFAULT_RETRY_DELAY_S = 2.0


def is_transient(exc: BaseException) -> bool:
    """A failure worth retrying: a busy or flaky file system, a locked database, a timeout."""
    if isinstance(exc, TimeoutError | BlockingIOError | InterruptedError):
        return True
    if isinstance(exc, sqlite3.OperationalError):
        return "locked" in str(exc) or "busy" in str(exc)
    return isinstance(exc, OSError) and exc.errno in TRANSIENT_ERRNOS


def retry_transient(task, task_run, state) -> bool:
    """Prefect retry condition: retry only transient file-system errors (a bad file fails at once)."""
    try:
        state.result()
    except Exception as exc:  # noqa: BLE001 - we only classify it
        return is_transient(exc)
    return False


def operations(programme: Programme) -> dict:
    """The ``[operations]`` section of programme.toml (schedule, Dask, retries), empty if absent."""
    return dict(programme.extra.get("operations", {}))


def _with_retries(tsk, programme: Programme):
    ops = operations(programme)
    retries = int(ops.get("retries", DEFAULT_RETRIES))
    delay = float(ops.get("retry_delay_seconds", DEFAULT_RETRY_DELAY_S))
    return tsk.with_options(
        retries=retries,
        retry_delay_seconds=exponential_backoff(backoff_factor=delay)(retries) if retries else 0,
        retry_condition_fn=retry_transient,
    )


@task(cache_policy=NO_CACHE)
def load_reference(programme: Programme):
    return load_boundaries(programme)


@task(cache_policy=NO_CACHE)
def discover_inbox(programme: Programme, settle: bool = False):
    return stages.discover_submissions(programme, settle)


@task(cache_policy=NO_CACHE, task_run_name="process {country}")
def process_country(country: str, items: list, programme: Programme, boundaries, run_id: str) -> dict:
    """Every new submission version of one country, in order; opens its own ledger so it can run on a Dask worker.

    One task per country, not per version: on Dask each task costs a fixed Prefect round trip (~0.7 s
    measured on 2 cores). A transient error fails the task so Prefect retries it (the versions already
    done are validated again: harmless); any other error is recorded for that version and the loop goes on.
    """
    logger = get_run_logger()
    outcomes, failures = [], []
    with Ledger(programme.ledger_path, programme) as ledger:
        for sub, record_id in items:
            name = f"{country} {words(sub.deliverable)} v{sub.version} (delivery {sub.delivery})"
            logger.debug("%s: processing %s", name, sub.folder)
            started = time.perf_counter()
            try:
                outcome = stages.process_submission(sub, record_id, programme, boundaries, ledger)
            except Exception as exc:
                if is_transient(exc):
                    raise
                logger.error("%s: failed: %s: %s", name, type(exc).__name__, exc)
                failures.append((sub.key, f"{type(exc).__name__}: {exc}"))
                continue
            logger.info("%s: %s%s in %.1f s", name, words(outcome.verdict), _counts_words(outcome.findings),
                        time.perf_counter() - started)
            outcomes.append(outcome)
    return {"outcomes": outcomes, "failures": failures}


@task(cache_policy=NO_CACHE)
def mosaic_salinity(programme: Programme, versions: dict, boundaries, run_id: str, force: bool, pairs=None,
                    state=None, release_dir=None):
    # which version each layer comes from: the run's resolved state, computed once by the flow
    layer_versions = state.layer_versions("salinity_map") if state is not None else None
    with cluster_map() as map_fn:  # on a Dask worker, the COG conversions spread over the cluster
        outcome = build_regional_salinity(programme, versions, boundaries, run_id, force, map_fn=map_fn,
                                          pairs=pairs, layer_versions=layer_versions, release=release_dir)
    write_country_notes(programme, "salinity_map", outcome.versions, outcome.notes, boundaries)
    return _slim(outcome)


@contextmanager
def cluster_map():
    """A map over the Dask cluster when this task runs on a Dask worker, else the built-in map."""
    try:
        from distributed import get_worker, worker_client

        get_worker()
    except (ImportError, ValueError):
        yield map
        return
    with worker_client() as client:
        get_run_logger().info("mosaic: COG conversions spread over the Dask cluster at %s", client.scheduler.address)
        yield lambda func, items: client.gather(client.map(func, list(items), pure=False))


@task(cache_policy=NO_CACHE)
def harmonize_soil_atlas(programme: Programme, versions: dict, boundaries, run_id: str, force: bool, pairs=None,
                         state=None, release_dir=None):
    outcome = build_regional_soil(programme, versions, boundaries, run_id, force, pairs=pairs, release=release_dir)
    write_country_notes(programme, "soil_map", outcome.versions, outcome.notes, boundaries,
                        segments=outcome.extra.get("mismatches"))
    return _slim(outcome)


def _counts_words(findings) -> str:
    """' (2 errors, 1 warning, 3 fixed)' for the findings a person acts on; '' when there are none."""
    severities = [str(getattr(f.severity, "value", f.severity)) for f in findings]
    parts = [plural(severities.count(s), s, nouns) for s, nouns in (("error", None), ("warning", None),
                                                                      ("fixed", "fixed")) if s in severities]
    return f" ({', '.join(parts)})" if parts else ""


def _slim(outcome):
    # the in-memory results (whole GeoDataFrames) stay on the worker: the flow needs paths and versions only
    outcome.extra.clear()
    return outcome


@task(cache_policy=NO_CACHE)
def catalogue_products(programme: Programme, outcomes: list, run_id: str, release_dir):
    return build_catalogue(programme, outcomes, run_id, release_dir)


@task(cache_policy=NO_CACHE)
def verify_current_release(programme: Programme) -> list[str]:
    """`atlas verify` as the run's last task: one line per disagreement in the current release."""
    with Ledger(programme.ledger_path, programme) as ledger:
        return verify_release(programme, ledger)


@task(cache_policy=NO_CACHE)
def merge_tables(programme: Programme, run_id: str, state, force: bool, release_dir):
    """The regional tables (one per table deliverable) and the meeting summary, into the release being built."""
    return stages.regional_tables(programme, state, release_dir, run_id, force)


@task(cache_policy=NO_CACHE)
def export_status_table(programme: Programme, boundaries, state):
    """The status exports and the accuracy table, both from the run's one resolved state (after publishing:
    the state plus the current release's outcome), never resolved again."""
    with Ledger(programme.ledger_path, programme) as ledger:
        paths = export_status(ledger, programme, layout.status_dir(programme.processed_dir), programme.status.formats,
                              boundaries=boundaries, skip_unchanged=True, state=state)
        paths["accuracy"] = write_accuracy_table(accuracy_table(state, programme),
                                                 layout.status_dir(programme.processed_dir))
    return paths  # the status table artifact is made by the flow, on the root run


def _root_run_id() -> str | None:
    """The flow run GIS staff look at: this run, or the deployment's run that started it as a subflow."""
    try:
        return str(flow_run.get_root_flow_run_id())
    except Exception:  # noqa: BLE001 - no API (tests calling the body directly): this run, if any
        return flow_run.get_id()


def _on_root_run(artifact) -> None:
    """Attach an artifact to the root run (the one whose address `atlas run` and the UI show)."""
    root = _root_run_id()
    try:
        artifact.flow_run_id = UUID(root) if root else None
        artifact.create()
    except Exception as exc:  # noqa: BLE001 - an artifact is a convenience, never a reason to fail the run
        logging.getLogger(__name__).warning("could not store the %s artifact: %s", artifact.key, exc)


def _root_logger(logger):
    """A logger writing to the root run's log when this run is a subflow, else ``logger``."""
    root, own = _root_run_id(), flow_run.get_id()
    if not root or root == own:
        return logger
    from prefect import get_client
    from prefect.logging.loggers import flow_run_logger

    try:  # by its name, as Prefect prints every run's lines ('Flow run <unknown>' otherwise)
        with get_client(sync_client=True) as client:
            return flow_run_logger(flow_run=client.read_flow_run(UUID(root)))
    except Exception:  # noqa: BLE001 - no API to ask: the lines still reach the root run
        return flow_run_logger(flow_run_id=UUID(root))


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
    settle: bool = False,
) -> dict:
    """Process the inbox: validate every new submission, rebuild the regional products, export the status.

    ``settle``: leave deliveries changed within ``[intake] settle_seconds`` for a later run (still being copied).
    """
    logger = get_run_logger()
    quiet_run_noise()
    programme = programme or load_programme(config_path)
    check_selection(programme, country, deliverable)  # a flow run for an unknown country fails, saying so
    with run_lock(programme.processed_dir):
        return _run(programme, country, deliverable, force, logger, settle)


def pipeline_flow(programme: Programme, dask: bool = False):
    """``run_pipeline`` as is, or with its tasks on a Dask cluster (``[operations] dask_scheduler`` or a local one)."""
    if not dask:
        return run_pipeline
    return run_pipeline.with_options(task_runner=dask_task_runner(programme))


def dask_task_runner(programme: Programme):
    """prefect-dask's runner: the configured scheduler address, else a local cluster of worker processes."""
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")  # worker processes: no cluster chatter
    for name in ("distributed", "dask"):
        if logging.getLogger(name).level == logging.NOTSET:
            logging.getLogger(name).setLevel(logging.WARNING)
    from prefect_dask import DaskTaskRunner

    ops = operations(programme)
    address = str(ops.get("dask_scheduler", "") or "").strip()
    if address:
        return DaskTaskRunner(address=address)
    workers = int(ops.get("dask_workers", 2))
    # one thread per worker: GDAL and GEOS work is CPU-bound, processes give real parallelism
    return DaskTaskRunner(
        cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True, "dashboard_address": ":0"}
    )


def _gather(futures: list, what: list[str], logger, run_id: str) -> tuple[list, list[tuple[str, str]]]:
    """Results of completed futures, and (label, reason) of those that failed; one failure never stops the rest."""
    done, failed = [], []
    for future, label in zip(futures, what, strict=True):
        future.wait()
        state = future.state
        if state.is_completed():
            done.append(future.result())
            continue
        reason = str(state.message or state.name)
        try:
            future.result(raise_on_failure=True)
        except BaseException as exc:  # noqa: BLE001 - reported, the run goes on
            reason = f"{type(exc).__name__}: {exc}"
        logger.error("%s: failed after retries: %s", label, reason)
        failed.append((label, reason))
    return done, failed


def _run(
    programme: Programme, country: str | None, deliverable: str | None, force: bool, logger, settle: bool = False
) -> dict:
    started = time.perf_counter()
    run_id = str(flow_run.get_id() or "local")
    ledger = Ledger(programme.ledger_path, programme)

    boundaries, boundary_findings = _with_retries(load_reference, programme)(programme)
    for f in boundary_findings:
        logger.info("reference boundaries: %s", f.message)
    if boundaries is not None:
        logger.info("reference boundaries: %s read from %s", plural(len(boundaries), "country", "countries"),
                    programme.reference_boundaries.name)
    subs, inbox_findings = _with_retries(discover_inbox, programme)(programme, settle)
    for f in inbox_findings:
        logger.warning("inbox: %s (%s)", f.message, f.location.describe())

    todo = []
    for sub, record in stages.register(ledger, _select(subs, country, deliverable), run_id):
        out_dir = layout.national_dir(programme.processed_dir, sub.country, sub.deliverable, sub.version)
        # a version still 'received' was interrupted before its verdict was stored: do it again
        if stages.needs_processing(record, out_dir, force) or record.state == RECEIVED:
            todo.append((sub, record))
    logger.info("inbox: %s, %d to process (run %s)", plural(len(subs), "submission version"), len(todo), run_id)
    by_country: dict[str, list] = {}
    for sub, record in todo:
        by_country.setdefault(sub.country, []).append((sub, record.id))
    process = _with_retries(process_country, programme)
    futures = [process.submit(iso3, items, programme, boundaries, run_id) for iso3, items in by_country.items()]
    results, failed_tasks = _gather(futures, list(by_country), logger, run_id)
    outcomes = [o for r in results for o in r["outcomes"]]
    failed_tasks += [f for r in results for f in r["failures"]]

    state = ledger.state()  # the one resolved state of this run: every product reads it (docs/LEDGER.md)
    for f in state.refused:
        logger.warning("%s: %s", f.location.file, f.message)
    regional, rebuilt, release_line, state = _regional(programme, ledger, boundaries, run_id, force, logger, state)
    for o in regional:
        if o.product in rebuilt:
            logger.info("%s: rebuilt from %s; %s", o.product, versions_words(o.included),
                        plural(len(product_files(o.paths)), "file"))
    logger.info("%s", release_line)
    # verified after every run that changed something (a run that found nothing new leaves it to `atlas verify`);
    # side by side with the status exports, which it does not read: its raster reads and the maps' drawing
    # share the two cores
    verify = bool(regional) and bool(outcomes or failed_tasks or "unchanged" not in release_line)
    exporting = _with_retries(export_status_table, programme).submit(programme, boundaries, state)
    verifying = verify_current_release.submit(programme) if verify else None
    exported = exporting.result()
    logger.info("status exports: %s in %s", plural(sum(len(v) for v in exported.values()), "file"),
                layout.status_dir(programme.processed_dir))
    disagreements = verifying.result() if verifying is not None else []
    for line in disagreements:
        logger.error("verify: %s", line)

    failed = {
        o.submission.country for o in outcomes if any(f.check_id == "pipeline.internal_error" for f in o.findings)
    }
    failed |= {label.split("/")[0] for label, _ in failed_tasks}
    summary = {
        "run_id": run_id,
        "processed": [f"{o.submission.key}: {o.verdict}" for o in outcomes],
        "rejected": [o.submission.key for o in outcomes if o.verdict == "rejected"],
        "failed_countries": sorted(failed),
        "failures": [f"{label}: {reason}" for label, reason in failed_tasks],
        # deliveries the ordering rule refuses (dated after today), each naming its folder
        "refused": [f.message for f in [*inbox_findings, *state.refused] if f.check_id == "inbox.future_delivery"],
        "products": {o.product: product_files(o.paths) for o in regional},  # the same count rebuilt or not
        "rebuilt": rebuilt,
        "release": release_line,
        "verified": plural(len(disagreements), "disagreement") if disagreements else "verified" if verify else
        "not verified again (nothing changed; `atlas verify` checks on demand)" if regional else
        "nothing to verify (no release)",
        "disagreements": disagreements,
        "status_files": {k: [str(p) for p in v] for k, v in exported.items()},
        "elapsed_s": round(time.perf_counter() - started, 3),
        "by_country": _by_country(outcomes, failed_tasks),
        "run_url": _run_url(),
    }
    rows = ledger.status_rows(state=state)
    ledger.close()
    root_logger = _root_logger(logger)
    if root_logger is not logger:  # a served run: the country lines on the run GIS staff open in the UI
        for iso3, line in summary["by_country"].items():
            root_logger.info("%s: %s", iso3, line)
    _on_root_run(MarkdownArtifact(markdown=status_markdown(rows, programme=programme), key="submission-status",
                                  description="Member countries × deliverables"))
    logger.info("run %s: processed %s (%d rejected); rebuilt %s; products: %s; %.1f s", run_id,
                plural(len(outcomes), "submission version"), len(summary["rejected"]), listing(summary["rebuilt"]),
                products_words(summary["products"]), summary["elapsed_s"])
    logger.info("run %s: %s; %s", run_id, summary["release"], summary["verified"])
    if failed:
        logger.error("run %s: countries with pipeline failures: %s", run_id, ", ".join(sorted(failed)))
    _summary_artifact(summary)
    if root_logger is not logger:
        root_logger.info("run %s: processed %s (%d rejected); rebuilt %s; %s; %s (details on the subflow run)",
                         run_id, plural(len(outcomes), "submission version"), len(summary["rejected"]),
                         listing(summary["rebuilt"]), summary["release"], summary["verified"])
    return summary


def _by_country(outcomes: list, failed: list[tuple[str, str]]) -> dict[str, str]:
    """One line per country: its versions processed and their verdicts, and its failures."""
    lines: dict[str, list[str]] = {}
    for o in outcomes:
        lines.setdefault(o.submission.country, []).append(
            f"{words(o.submission.deliverable)} v{o.submission.version} {words(o.verdict)}")
    for label, reason in failed:
        lines.setdefault(label.split("/")[0], []).append(f"FAILED {label}: {reason}")
    return {iso3: "; ".join(items) for iso3, items in sorted(lines.items())}


def _run_url() -> str | None:
    """The root run's page in the Prefect UI, when a lasting server (not a temporary one) holds it."""
    if not os.environ.get("PREFECT_API_URL") or os.environ.get(TEMPORARY_ENV):
        return None
    from prefect.settings import PREFECT_UI_URL

    ui, root = PREFECT_UI_URL.value(), _root_run_id()
    return f"{ui.rstrip('/')}/runs/flow-run/{root}" if ui and root else None


def _regional(programme: Programme, ledger: Ledger, boundaries, run_id: str, force: bool,
              logger, state) -> tuple[list, list[str], str, object]:
    """Both regional products and the regional tables of the run's resolved ``state``, built side by side into
    one new release, made current only once the whole set (files, tables, catalogue) is written and checked;
    then every version's publication state is written from what the current release holds.

    Returns the current release's products, the products rebuilt, a line on the release for the summary, and
    the run's resolved state with the current release's outcome (``ResolvedState.published``).
    """
    processed = programme.processed_dir
    jobs = ((mosaic_salinity, "salinity_map", "GSSmap"), (harmonize_soil_atlas, "soil_map", "Soil Atlas WRB"))
    versions = {key: state.current_versions(key) for _, key, _ in jobs}
    layers = {"salinity_map": state.layer_versions("salinity_map")}  # a layer from another version: a rebuild
    maps_due = any(will_rebuild(programme, key, versions[key], force, layers.get(key)) for _, key, _ in jobs)
    # the tables are merged only when their current versions changed: a run with nothing new stays a no-op
    tables_due = force or stages.tables_outdated(programme, state)
    name = layout.current_release_name(processed)
    rebuilt, line = [], f"release {name} unchanged" if name else "no release yet (no accepted national copy)"
    if maps_due or tables_due:
        staging = release.begin(processed, run_id)
        outcomes, failed_tasks = [], []
        if maps_due:
            pairs = border_pairs(programme, boundaries, versions, force)  # once per run, for both products
            futures = [
                _with_retries(builder, programme).submit(programme, versions[key], boundaries, run_id, force, pairs,
                                                         state, staging)
                for builder, key, _ in jobs
            ]
            outcomes, failed_tasks = _gather(futures, [product for _, _, product in jobs], logger, run_id)
        else:  # only the tables changed: the maps of the current release, hard-linked, are the new release's
            outcomes = [o for product in PRODUCTS if (o := outcome_from_manifest(product, staging))]
        # the tables go into the same release: built aside with the maps, made current with them
        try:
            outcomes += _with_retries(merge_tables, programme)(programme, run_id, state, force, staging)
        except Exception as exc:  # noqa: BLE001 - the maps' release goes on; the tables stay as they were
            logger.error("regional tables: failed after retries: %s: %s; the release keeps the previous ones",
                         type(exc).__name__, exc)
            outcomes += [t for key in programme.table_keys() if (t := table_outcome(programme, staging, key))]
        rebuilt = [o.product for o in outcomes if o.paths and not o.up_to_date]
        line = _release(programme, ledger, staging, outcomes, failed_tasks, run_id, logger)
    # what the current release holds, whatever this run did: the resolved state plus that outcome is the one
    # value the ledger and every export are written from (idempotent: a run killed between the release and the
    # ledger is completed by the next one)
    current = layout.current_release(processed)
    regional = [o for product in PRODUCTS if (o := outcome_from_manifest(product, current))]
    regional += [t for key in programme.table_keys() if (t := table_outcome(programme, current, key))]
    state = state.published(holdings(current) if current.is_dir() else {})
    stages.record_publication(ledger, state, run_id, versions)
    return regional, rebuilt, line, state


def _release(programme: Programme, ledger: Ledger, staging, outcomes: list, failed_tasks: list, run_id: str,
             logger) -> str:
    """Catalogue, check and publish the release being built, or record why it failed; a line for the summary."""
    name = release.release_name(staging)
    problems = [f"{label}: {reason}" for label, reason in failed_tasks]
    problems += [f"{o.product}: {message}" for o in outcomes for message in failed(o)]
    if not problems:
        try:
            catalogue_products(programme, outcomes, run_id, staging)
            release.commit(programme.processed_dir, staging, run_id, programme.releases.keep,
                           check_release(staging), release_products(outcomes))
        except release.ReleaseRefused as exc:
            problems = exc.problems
        except Exception as exc:  # noqa: BLE001 - the previous release stays current; the reason is recorded
            problems = [f"catalogue: {type(exc).__name__}: {exc}"]
    if not problems:
        ledger.record_release(name, run_id, "published")
        return f"release {name} published"
    release.abandon(staging, problems[0])
    reason = "; ".join(problems)
    ledger.record_release(name, run_id, "failed", reason)
    for problem in problems:
        logger.error("run %s | release %s failed: %s", run_id, name, problem)
    kept = layout.current_release_name(programme.processed_dir)
    return f"release {name} FAILED ({reason}); release {kept or 'none'} stays current"


def _summary_artifact(summary: dict) -> None:
    lines = [f"# Run {summary['run_id']}", "", f"- processed: {len(summary['processed'])}"]
    lines += [f"  - {p}" for p in summary["processed"]]
    lines += [f"- rebuilt: {', '.join(summary['rebuilt']) or 'nothing'}"]
    lines += [f"- {summary['release']}", f"- verify: {summary['verified']}"]
    lines += [f"  - {d}" for d in summary["disagreements"]]
    lines += [f"- failed countries: {', '.join(summary['failed_countries']) or 'none'}"]
    lines += [f"  - {f}" for f in summary["failures"]]
    lines += [f"- refused: {r}" for r in summary.get("refused", [])]
    lines += ["", "| country | this run |", "|---|---|"]
    lines += [f"| {iso3} | {line} |" for iso3, line in summary["by_country"].items()] or ["| - | nothing new |"]
    _on_root_run(MarkdownArtifact(markdown="\n".join(lines), key="run-summary", description="What the last run did"))
    # on every run, also one with nothing new: the artifact then says so rather than showing an older run's table
    rows = [{"country": k, "this run": v} for k, v in summary["by_country"].items()]
    _on_root_run(TableArtifact(table=rows or [{"country": "-", "this run": "nothing new"}],
                               key="run-by-country", description="Per country: what this run did"))
