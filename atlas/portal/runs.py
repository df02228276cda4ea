"""Pipeline runs the secretariat starts from the portal: ``atlas run --country X``, in a process of its own.

The run is the command line's own (same flow, same ledger, same reports, same locks), so what the portal
starts is exactly what an operator would type. With ``PREFECT_API_URL`` set (``atlas serve`` is up), the run
reports to that Prefect server like any ``atlas run``, and shows in its UI. The portal records the run in its
table ``runs`` and keeps its output in ``data/processed/portal/runs/``; a thread waits for the process and
records how it ended. If the portal stops first, the run goes on (its own session) and the ledger still gets
its result; the portal's record then keeps no end.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from atlas.config import Programme
from atlas.portal.store import PortalStore, utc_now


def runs_dir(programme: Programme) -> Path:
    return programme.processed_dir / "portal" / "runs"


def is_running(run: dict) -> bool:
    """True while the run's process lives (a record without end whose process is gone ended unseen).

    After a restart of the portal the id may have been reused by another program: on Linux the process's
    command line must still be ``atlas.cli run``.
    """
    if run["ended"] or not run["pid"]:
        return False
    try:
        os.kill(run["pid"], 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        command = Path(f"/proc/{run['pid']}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True  # no /proc: trust the id
    return b"atlas.cli" in command and b"run" in command


def launch_run(programme: Programme, country: str, config_path: Path | None, store: PortalStore,
               started_by: str = "") -> int:
    """Start ``atlas run --country`` in the background; returns the run's id in the portal's table."""
    logs = runs_dir(programme)
    logs.mkdir(parents=True, exist_ok=True)
    log_file = logs / f"{utc_now().strftime('%Y%m%dT%H%M%S')}_{country}.log"
    run_id = store.add_run(country, log_file.name, started_by)
    command = [sys.executable, "-m", "atlas.cli", "run", "--country", country]
    if config_path:
        command += ["--config", str(config_path)]
    with open(log_file, "ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=programme.root,  # noqa: S603
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    store.set_run(run_id, pid=process.pid)

    def wait() -> None:
        code = process.wait()
        store.set_run(run_id, ended=utc_now().isoformat(), exit_code=code)

    threading.Thread(target=wait, name=f"atlas-run-{run_id}", daemon=True).start()
    return run_id
