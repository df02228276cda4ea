"""One country resolver (atlas.countries): ISO3 code, name, or a near miss answered with a suggestion,
the same on the command line, in `atlas status` and in the Prefect deployments."""

from __future__ import annotations

import json

import pytest

from atlas.cli import main
from atlas.config import DEFAULT_CONFIG, load_programme, resolve_selection
from atlas.countries import resolve_country
from atlas.errors import ConfigError

MEMBERS = {"KHM": "Cambodia", "VNM": "Viet Nam", "LKA": "Sri Lanka", "BTN": "Bhutan"}


@pytest.mark.parametrize("text,iso3", [
    ("KHM", "KHM"), ("khm", "KHM"), (" Cambodia ", "KHM"), ("CAMBODIA", "KHM"),
    ("Vietnam", "VNM"), ("viet-nam", "VNM"), ("sri lanka", "LKA"), ("Bhután", "BTN"),
])
def test_a_member_is_named_by_its_code_or_its_name(text, iso3):
    assert resolve_country(MEMBERS, text) == iso3


@pytest.mark.parametrize("text,suggested", [
    ("Cambodja", "did you mean Cambodia (KHM)?"),
    ("KMH", "did you mean Cambodia (KHM)?"),
    ("Sri Lnka", "did you mean Sri Lanka (LKA)?"),
    ("Vietman", "did you mean Viet Nam (VNM)?"),
])
def test_a_near_miss_is_refused_with_the_nearest_member(text, suggested):
    with pytest.raises(ConfigError) as err:
        resolve_country(MEMBERS, text)
    assert suggested in str(err.value) and "\n" not in str(err.value)


def test_an_unrelated_text_gets_the_list_of_members_and_no_guess():
    with pytest.raises(ConfigError, match=r"country 'France' is not in the programme: members are KHM, VNM") as err:
        resolve_country(MEMBERS, "France")
    assert "did you mean" not in str(err.value)


def test_an_empty_selection_is_everything():
    assert resolve_selection(load_programme(DEFAULT_CONFIG), "  ", "") == (None, None)


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "programme.toml"
    path.write_text(DEFAULT_CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def _one_line_error(capsys, *argv) -> str:
    with pytest.raises(SystemExit) as exit_:
        main(list(argv))
    captured = capsys.readouterr()
    assert exit_.value.code == 2, captured
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in captured.err + captured.out, captured
    return lines[0]


@pytest.mark.parametrize("argv", [
    ["run", "--country", "Cambodja"],
    ["validate", ".", "--country", "Cambodja"],
    ["status", "Cambodja"],
])
def test_every_command_answers_a_near_miss_the_same_way(capsys, config, argv):
    line = _one_line_error(capsys, argv[0], "--config", str(config), *argv[1:])
    assert "did you mean Cambodia (KHM)?" in line


def test_atlas_run_takes_a_country_by_its_name(monkeypatch, capsys, config):
    import atlas.pending
    from atlas.pending import Pending

    asked = {}

    def nothing_pending(programme, country, deliverable):
        asked["country"] = country
        return Pending()

    monkeypatch.setattr(atlas.pending, "pending_work", nothing_pending)
    main(["run", "--config", str(config), "--country", "cambodia"])
    assert asked["country"] == "KHM" and "nothing new" in capsys.readouterr().out


def test_atlas_validate_takes_a_country_by_its_name(capsys, config, tmp_path):
    folder = tmp_path / "delivery"
    folder.mkdir()
    (folder / "chapter.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    try:
        main(["validate", str(folder), "--config", str(config), "--country", "Cambodia", "--json"])
    except SystemExit as exit_:
        assert exit_.code in (0, None, 3)
    report = json.loads(capsys.readouterr().out)
    assert [s["report"]["meta"]["country"] for s in report["submissions"]] == ["KHM"]


def test_a_deployment_run_with_a_mistyped_country_fails_in_one_line_without_traceback(
        config, monkeypatch, capfd, prefect_harness):
    from prefect.logging.configuration import setup_logging

    from flows.deployments import CONFIG_ENV, process_inbox

    monkeypatch.setenv(CONFIG_ENV, str(config))
    setup_logging(incremental=False)  # Prefect's console handler writes to this test's stderr, not an earlier one's
    capfd.readouterr()
    state = process_inbox(country="Cambodja", return_state=True)
    assert state.is_failed()
    assert "did you mean Cambodia (KHM)?" in str(state.message)
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err + captured.out, captured.err


def test_a_served_run_with_a_mistyped_country_leaves_no_engine_traceback(config, monkeypatch, prefect_harness):
    """Issue 23: served, the run goes through Prefect's engine with the run's logger as its error logger (as
    ``atlas serve``'s subprocess runs it), which logged the flow's own failure again with a FailedRun traceback."""
    import logging

    from prefect.exceptions import FailedRun
    from prefect.flow_engine import run_flow

    from flows.deployments import CONFIG_ENV, process_inbox

    monkeypatch.setenv(CONFIG_ENV, str(config))
    records: list[logging.LogRecord] = []
    catcher = logging.Handler()
    catcher.emit = records.append
    flow_logger = logging.getLogger("prefect.flow_runs")
    flow_logger.addHandler(catcher)  # after the logger's filters, before any terminal: what is printed
    try:
        with pytest.raises(FailedRun, match=r"did you mean Cambodia \(KHM\)\?"):
            run_flow(process_inbox, parameters={"country": "Cambodja"}, error_logger=flow_logger)
    finally:
        flow_logger.removeHandler(catcher)
    errors = [r.getMessage() for r in records if r.levelno >= logging.ERROR]
    assert errors == [
        "country 'Cambodja' is not in the programme: did you mean Cambodia (KHM)? members are "
        + ", ".join(load_programme(config).members)]  # the flow's one line, and no second one from the engine
    assert not [r for r in records if r.exc_info]  # what the serve terminal and the UI would print as a traceback
