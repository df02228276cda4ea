"""What a run's log says, in words a GIS officer reads: one line per step, no Python values, no library noise.

The flow and its tasks log through these helpers, so the command line (`atlas run`) and a served run
(`atlas serve`, the Prefect UI) print the same lines with the same counts.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections import Counter
from pathlib import Path

from atlas.wording import plural  # noqa: F401 - the flows' count words, re-exported for the CLI and tests

VERDICT_WORDS = {"accepted_with_warnings": "accepted with warnings"}


def words(key: str) -> str:
    """A code name as words: 'accepted_with_warnings' -> 'accepted with warnings', 'salinity_map' -> 'salinity map'."""
    return VERDICT_WORDS.get(key, str(key).replace("_", " "))


def listing(items) -> str:
    """'GSSmap', 'GSSmap and Soil Atlas WRB', 'a, b and c'; 'nothing' when empty."""
    items = [str(i) for i in items]
    if not items:
        return "nothing"
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def versions_words(versions: dict[str, int]) -> str:
    """{'KHM': 1, 'THA': 2} -> 'KHM v1, THA v2'."""
    return ", ".join(f"{iso3} v{v}" for iso3, v in sorted(versions.items())) or "no country"


def product_files(paths) -> list[str]:
    """The names of a regional product's own files: those in its folder.

    A rebuild also returns the border tables it refreshed (in regional/borders, shared by both
    products), an up-to-date product only its folder's files; counting the folder's files gives one
    number for the same product whichever way the run found it.
    """
    paths = [Path(p) for p in paths]
    if not paths:
        return []
    folder, _ = Counter(p.parent for p in paths).most_common(1)[0]
    return sorted(p.name for p in paths if p.parent == folder)


def products_words(products: dict[str, list[str]]) -> str:
    """{'GSSmap': [...25 names]} -> 'GSSmap 25 files, Soil Atlas WRB 6 files'."""
    return ", ".join(f"{name} {plural(len(files), 'file')}" for name, files in products.items()) or "none"


class _DropCompletedTasks(logging.Filter):
    """Prefect's 'Finished in state Completed()' line for each task repeats the task's own line; failures stay."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.levelno <= logging.INFO and str(record.msg).startswith("Finished in state Completed"))


_COMPLETED_FILTER = _DropCompletedTasks()


class _DropFailedRunEcho(logging.Filter):
    """Prefect's engine, running a served flow run that ended Failed, logs that failure once more with the
    traceback of its own ``FailedRun`` ("Engine execution exited with unexpected exception"): the flow has
    already said why in one line (a mistyped country), or Prefect has logged the flow's own exception."""

    def filter(self, record: logging.LogRecord) -> bool:
        from prefect.exceptions import FailedRun

        failed_run = bool(record.exc_info) and isinstance(record.exc_info[1], FailedRun)
        return not (failed_run and str(record.msg).startswith("Engine execution exited"))


_ECHO_FILTER = _DropFailedRunEcho()


def quiet_failed_run_echo() -> None:
    """Drop the engine's traceback of a served run's own failure (idempotent; called as a served flow starts)."""
    flow_logger = logging.getLogger("prefect.flow_runs")
    if _ECHO_FILTER not in flow_logger.filters:
        flow_logger.addFilter(_ECHO_FILTER)


def quiet_run_noise() -> None:
    """Keep what is not the pipeline's own words out of a run's log (idempotent; called as a run starts).

    - GDAL's NotGeoreferencedWarning: GDAL reports it for whichever dataset a thread touches, so with
      tasks in threads it surfaces under another step (even inside matplotlib's style loading, as
      "WARNING | matplotlib.style - In classic.mplstyle: Dataset has no geotransform"). A raster
      without georeferencing is a validation finding (raster.crs_missing, raster.extent), not a log line.
    - matplotlib's style library is read on the first pyplot import (geopandas plots through pyplot)
      and records every warning of the process while it does; importing it here, before the task
      threads start, keeps other threads' warnings from being reported as matplotlib's.
    - Prefect's per-task 'Finished in state Completed()' lines (failures are still logged).
    """
    from rasterio.errors import NotGeoreferencedWarning

    warnings.filterwarnings("ignore", category=NotGeoreferencedWarning)
    os.environ.setdefault("MPLBACKEND", "Agg")  # files only: no window toolkit on a server
    import matplotlib.pyplot  # noqa: F401 - see above: loads the style library in this thread, once

    task_logger = logging.getLogger("prefect.task_runs")
    if _COMPLETED_FILTER not in task_logger.filters:
        task_logger.addFilter(_COMPLETED_FILTER)
