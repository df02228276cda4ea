"""`atlas run` starts Prefect's temporary server while the flow's modules load, and only when no server is set."""

from __future__ import annotations

import os
import threading
from types import SimpleNamespace

import pytest

from atlas import cli


@pytest.fixture
def started(monkeypatch):
    """Calls of SubprocessASGIServer.start, by thread name (no server process is started)."""
    from prefect.server.api.server import SubprocessASGIServer

    calls: list[str] = []
    monkeypatch.setattr(SubprocessASGIServer, "start", lambda self, timeout=None: calls.append(
        threading.current_thread().name))
    return calls


def test_the_temporary_server_starts_in_a_thread_of_its_own(started, monkeypatch):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        thread = cli._start_temporary_server_early()
    assert thread is not None
    thread.join(timeout=60)
    assert started == ["prefect-temporary-server"]


def test_no_temporary_server_when_a_server_is_set(started):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:4200/api"}):  # a harness or `atlas serve`
        assert cli._start_temporary_server_early() is None
    assert started == []


def test_a_failed_early_start_is_left_to_the_flow_call(monkeypatch):
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL, temporary_settings

    def refuse(self, timeout=None):
        raise RuntimeError("port taken")

    monkeypatch.setattr(SubprocessASGIServer, "start", refuse)
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        thread = cli._start_temporary_server_early()
    thread.join(timeout=60)
    assert not thread.is_alive()  # no exception escapes the thread; the flow's own start reports it


def test_the_temporary_server_registers_no_block_types(monkeypatch, tmp_path):
    environ = {k: v for k, v in os.environ.items()
               if k not in ("PREFECT_API_BLOCKS_REGISTER_ON_START", "PREFECT_HOME", "PREFECT_API_URL")}
    monkeypatch.setattr(os, "environ", environ)  # what the function sets stays in this test
    cli._quiet_prefect_home(SimpleNamespace(root=tmp_path))
    assert environ["PREFECT_API_BLOCKS_REGISTER_ON_START"] == "false"
    assert environ["PREFECT_HOME"] == str(tmp_path / ".prefect")
