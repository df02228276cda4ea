"""`atlas run` starts Prefect's temporary server first, as a process of its own, and only when no server is set."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import pytest

from atlas import cli, prefect_server

# a stand-in for the server: answers /api/health on its --port (the real one is started by the tests of `atlas run`)
HEALTH_SERVER = textwrap.dedent("""
    import http.server, sys
    port = int(sys.argv[sys.argv.index("--port") + 1])
    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/api/health" else 404)
            self.end_headers()
        def log_message(self, *args):
            pass
    http.server.HTTPServer(("127.0.0.1", port), Health).serve_forever()
""")


def _wanted_in_a_fresh_process(env: dict[str, str]) -> str:
    code = "from atlas import prefect_server; print(prefect_server.wanted())"
    base = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    done = subprocess.run([sys.executable, "-c", code], env={**base, **env}, capture_output=True, text=True, timeout=60)
    return done.stdout.strip() or done.stderr


def test_a_temporary_server_is_wanted_only_without_a_server_set():
    assert _wanted_in_a_fresh_process({}) == "True"
    assert _wanted_in_a_fresh_process({"PREFECT_API_URL": "http://127.0.0.1:4200/api"}) == "False"  # `atlas serve`
    assert _wanted_in_a_fresh_process({"PREFECT_SERVER_EPHEMERAL_ENABLED": "false"}) == "False"


def test_where_prefect_is_loaded_it_starts_its_own_server(monkeypatch):
    import prefect.settings  # noqa: F401 - loaded, as under a test harness or a run called in process

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    assert prefect_server.wanted() is False


def test_the_temporary_server_is_awaited_retried_on_a_taken_port_and_stopped(monkeypatch, tmp_path):
    monkeypatch.setattr(os, "environ", dict(os.environ))  # PREFECT_API_URL set by start() stays in this test
    launched: list[list[str]] = []
    real_launch = prefect_server._launch

    def launch(command, port, env, log_path):
        # the first launch exits as uvicorn does on a taken port; the next ones serve /api/health
        script = "import sys; sys.exit(3)" if not launched else HEALTH_SERVER
        launched.append(command)
        return real_launch([sys.executable, "-c", script], port, env, log_path)

    monkeypatch.setattr(prefect_server, "_launch", launch)
    server = prefect_server.start(tmp_path / "prefect_home")
    try:
        server.wait_ready(timeout=60)
        assert server.restarts == 1 and len(launched) == 2
        assert os.environ["PREFECT_API_URL"] == server.api_url == f"http://127.0.0.1:{server.port}/api"
        assert os.environ[prefect_server.TEMPORARY_ENV] == "1"  # the run prints no link to a page that goes away
        assert "prefect.server.api.server:create_app" in launched[0]  # the command Prefect's own server runs
    finally:
        server.stop()
    assert server.process.poll() is not None and not server.healthy()


def test_a_server_that_stops_is_reported_with_its_log(monkeypatch, tmp_path):
    monkeypatch.setattr(os, "environ", dict(os.environ))
    real_launch = prefect_server._launch
    failing = "import sys; print('database is locked'); sys.exit(1)"
    monkeypatch.setattr(prefect_server, "_launch", lambda command, port, env, log_path: real_launch(
        [sys.executable, "-c", failing], port, env, log_path))
    server = prefect_server.start(tmp_path / "prefect_home")
    with pytest.raises(prefect_server.ServerStartError, match="exit status 1.*database is locked"):
        server.wait_ready(timeout=60)


def test_the_temporary_server_registers_no_block_types(monkeypatch, tmp_path):
    environ = {k: v for k, v in os.environ.items()
               if k not in ("PREFECT_API_BLOCKS_REGISTER_ON_START", "PREFECT_HOME", "PREFECT_API_URL")}
    monkeypatch.setattr(os, "environ", environ)  # what the function sets stays in this test
    cli._quiet_prefect_home(SimpleNamespace(root=tmp_path))
    assert environ["PREFECT_API_BLOCKS_REGISTER_ON_START"] == "false"
    assert environ["PREFECT_HOME"] == str(tmp_path / ".prefect")
