"""The `atlas` command: every mistake is one line on stderr and exit status 2, never a traceback."""

from __future__ import annotations

import os

import pytest
from inbox_helpers import status_tables_only

from atlas.cli import main
from atlas.config import DEFAULT_CONFIG


@pytest.fixture
def config(tmp_path):
    """The shipped programme.toml, copied so its data folders sit in tmp_path."""
    path = tmp_path / "programme.toml"
    path.write_text(DEFAULT_CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def _error(capsys, *argv) -> str:
    with pytest.raises(SystemExit) as exit_:
        main(list(argv))
    captured = capsys.readouterr()
    assert exit_.value.code == 2, captured
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("atlas: "), captured.err
    assert "Traceback" not in captured.err + captured.out
    return lines[0]


@pytest.mark.parametrize("argv,expected", [
    (["run", "--country", "XXX"], "country 'XXX' is not in the programme: members are BGD"),
    (["run", "--country", "Cambodja"], "did you mean Cambodia (KHM)?"),
    (["run", "--deliverable", "salinity"], "did you mean salinity_map?"),
    (["status", "export", "--format", "pdf"], "unknown export format pdf; choose from csv"),
    (["status", "FRA"], "FRA is neither `export` nor a member country"),
    (["status", "--format", "csv"], "--format and --out go with `atlas status export`"),
    (["validate", ".", "--country", "XX"], "country 'XX' is not in the programme"),
    (["run", "--bogus"], "No such option: --bogus"),
    (["run", "--country"], "requires an argument"),
])
def test_mistakes_on_the_command_line_are_one_line_and_exit_2(capsys, config, argv, expected):
    assert expected in _error(capsys, argv[0], "--config", str(config), *argv[1:])


@pytest.mark.parametrize("old,new,expected", [
    ('deadline = "2026-06-30"', 'deadlne = "2026-06-30"', "[deliverables.salinity_map] deadlne: did you mean deadline"),
    ("[operations]", "[operation]", "unknown section [operation]: did you mean [operations]?"),
    ("retries = 3 ", 'retries = "three" ', "[operations] retries = 'three': expected an integer"),
])
def test_a_mistyped_programme_toml_is_one_line_and_exit_2(capsys, config, old, new, expected):
    config.write_text(config.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    assert expected in _error(capsys, "status", "--config", str(config))


def test_a_missing_configuration_file(capsys, tmp_path):
    assert "configuration file not found" in _error(capsys, "status", "--config", str(tmp_path / "nope.toml"))


def test_help_is_not_an_error(capsys):
    try:
        main(["run", "--help"])
    except SystemExit as exit_:
        assert exit_.code in (0, None)
    out = capsys.readouterr().out
    assert "--country" in out and "--verbose" in out


def test_a_deployment_run_for_an_unknown_country_fails_saying_so(config, monkeypatch, prefect_harness):
    from flows.deployments import CONFIG_ENV, process_inbox

    monkeypatch.setenv(CONFIG_ENV, str(config))
    state = process_inbox(country="XXX", return_state=True)
    assert state.is_failed() and "country 'XXX' is not in the programme" in str(state.message)
    state = process_inbox(deliverable="salinity", return_state=True)
    assert state.is_failed() and "did you mean salinity_map?" in str(state.message)


def test_dask_logs_at_warning_unless_verbose(programme, monkeypatch):
    import logging

    from atlas.cli import _quiet_dask
    from flows.pipeline import dask_task_runner

    monkeypatch.delenv("DASK_LOGGING__DISTRIBUTED", raising=False)
    for name in ("distributed", "dask"):
        monkeypatch.setattr(logging.getLogger(name), "level", logging.NOTSET)
    dask_task_runner(programme)
    assert logging.getLogger("distributed").level == logging.WARNING
    assert os.environ["DASK_LOGGING__DISTRIBUTED"] == "warning"  # the cluster's worker processes too
    monkeypatch.delenv("DASK_LOGGING__DISTRIBUTED")
    _quiet_dask(verbose=True)
    assert logging.getLogger("distributed").level == logging.INFO and os.environ["DASK_LOGGING__DISTRIBUTED"] == "info"


def test_artifacts_and_the_per_country_summary_are_on_the_deployment_run(config, monkeypatch, prefect_harness):
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, LogFilter, LogFilterFlowRunId

    from atlas.config import load_programme
    from atlas.demo.programme import generate_demo
    from flows.deployments import CONFIG_ENV, process_inbox

    config.write_text(status_tables_only(config.read_text(encoding="utf-8")), encoding="utf-8")
    generate_demo(load_programme(config), countries=["BTN", "LKA"], window=(79.0, 5.5, 82.5, 10.0))
    monkeypatch.setenv(CONFIG_ENV, str(config))
    state = process_inbox(deliverable="book_chapter", return_state=True)
    assert state.is_completed(), state.message
    run_id = state.state_details.flow_run_id
    from prefect.logging.handlers import APILogHandler

    APILogHandler().flush()  # logs reach the API in batches: send what is queued before reading it back
    with get_client(sync_client=True) as client:
        keys = {a.key for a in client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id])))}
        logs = [entry.message for entry in client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])))]
    assert {"submission-status", "run-summary", "run-by-country"} <= keys
    assert any(line == "LKA: book chapter v1 accepted" for line in logs), logs


def test_status_of_a_country_given_by_name(capsys, config):
    try:
        main(["status", "--config", str(config), "Viet Nam"])
    except SystemExit as exit_:
        assert exit_.code in (0, None)
    out = capsys.readouterr().out
    assert out.startswith("Viet Nam (VNM)") and "History:\n  nothing received yet" in out
