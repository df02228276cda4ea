"""Prefect's temporary server for one `atlas run`, started as the command's first step.

Without a server (no ``PREFECT_API_URL``), a Prefect flow starts a temporary one itself. That costs the calling
process an import of Prefect's whole server (about 7 s of CPU, in the process that is about to run the pipeline),
and the server's own start (the same import again, and a new database's migrations, about 10 s) begins only
when the flow is called. Started here, without importing Prefect, as the same command Prefect runs (uvicorn
with Prefect's app factory, UI off), the server starts on the other core while this process loads the
pipeline's modules; the flow then finds it through ``PREFECT_API_URL``.

``TEMPORARY_ENV`` tells the run that its server goes away at the end (no link to the run's page is printed).
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

TEMPORARY_ENV = "ATLAS_PREFECT_SERVER_TEMPORARY"
LOG_NAME = "temporary-server.log"
PORT_IN_USE = 3  # uvicorn's exit status when its port is taken between our choice and its bind
MAX_RESTARTS = 3


class ServerStartError(RuntimeError):
    """The temporary server did not answer; the message ends with its log's last lines."""


def wanted(environ: dict[str, str] | None = None) -> bool:
    """Whether `atlas run` should start a temporary server: no server is set, and Prefect may start one.

    Where Prefect is loaded already (a run called in process, a test harness), its settings were read from
    the environment then: Prefect is left to start its own server, as it would.
    """
    environ = os.environ if environ is None else environ
    if environ.get("PREFECT_API_URL") or "prefect.settings" in sys.modules:
        return False
    return environ.get("PREFECT_SERVER_EPHEMERAL_ENABLED", "true").strip().lower() not in ("0", "false", "no", "off")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class TemporaryServer:
    """A Prefect server process on a loopback port, its log in the Prefect home."""

    process: subprocess.Popen
    port: int
    log_path: Path
    command: list[str]
    env: dict[str, str]
    restarts: int = 0

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as response:  # noqa: S310 - loopback
                return response.status == 200
        except OSError:
            return False

    def wait_ready(self, timeout: float) -> None:
        """Return once the server answers; ServerStartError if it exits or stays silent for ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while not self.healthy():
            if self.process.poll() == PORT_IN_USE and self.restarts < MAX_RESTARTS:
                self._restart()  # the port was taken between our choice and the server's bind: another one
                continue
            if self.process.poll() is not None:
                raise ServerStartError(f"Prefect's temporary server stopped (exit status {self.process.returncode})"
                                       f"{self._log_tail()}")
            if time.monotonic() > deadline:
                raise ServerStartError(f"Prefect's temporary server did not answer within {timeout:.0f} s"
                                       f"{self._log_tail()}")
            time.sleep(0.1)

    def _restart(self) -> None:
        self.restarts += 1
        self.port = _free_port()
        self.process = _launch(self.command, self.port, self.env, self.log_path)
        os.environ["PREFECT_API_URL"] = self.api_url

    def _log_tail(self) -> str:
        try:
            lines = self.log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-5:]
        except OSError:
            return ""
        return (": " + " | ".join(lines)) if lines else f" (its log: {self.log_path})"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _launch(command: list[str], port: int, env: dict[str, str], log_path: Path) -> subprocess.Popen:
    with open(log_path, "w", encoding="utf-8") as log:
        return subprocess.Popen([*command, "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)


def start(prefect_home: Path) -> TemporaryServer:
    """Start the server (the command Prefect's own temporary server runs) and point this process at it.

    Returns at once; call ``wait_ready`` before the flow, and ``stop`` after it.
    """
    spec = importlib.util.find_spec("prefect")
    if spec is None or spec.origin is None:
        raise ServerStartError("Prefect is not installed: install the pipeline extra (pip install '.[pipeline]')")
    prefect_home.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "uvicorn", "--app-dir", str(Path(spec.origin).parent.parent), "--factory",
               "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--log-level", "error",
               "--lifespan", "on"]
    env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
    port, log_path = _free_port(), prefect_home / LOG_NAME
    server = TemporaryServer(_launch(command, port, env, log_path), port, log_path, command, env)
    # stopped at exit, after Prefect's own exit handlers (registered later, run earlier) sent the run's last logs
    atexit.register(server.stop)
    os.environ["PREFECT_API_URL"] = server.api_url
    os.environ[TEMPORARY_ENV] = "1"
    return server


# Prefect's database of a new project: its ~120 migrations take about 10 s of CPU, which the first `atlas run` would
# wait for. `atlas demo` runs them beside its own work instead.
CREATE_DATABASE = ("import asyncio; from prefect.server.database import provide_database_interface; "
                   "asyncio.run(provide_database_interface().create_db())")
DATABASE_NAME = "prefect.db"  # Prefect's default database in PREFECT_HOME


def prepare_database(prefect_home: Path) -> subprocess.Popen | None:
    """Create Prefect's local database in ``prefect_home`` in a process of its own, or None when there is nothing
    to prepare: Prefect is not installed, a server or another database is configured, or the database exists.
    The caller waits for the process (it must not outlive the command)."""
    if (importlib.util.find_spec("prefect") is None or os.environ.get("PREFECT_API_URL")
            or os.environ.get("PREFECT_API_DATABASE_CONNECTION_URL") or (prefect_home / DATABASE_NAME).exists()):
        return None
    prefect_home.mkdir(parents=True, exist_ok=True)
    with open(prefect_home / "database.log", "w", encoding="utf-8") as log:
        return subprocess.Popen([sys.executable, "-c", CREATE_DATABASE], env={**os.environ, "PREFECT_HOME": str(
            prefect_home)}, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
