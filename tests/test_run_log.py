"""A run's log in words: one line per step, no Python values, no library noise, and the same product counts
on the command line and in a served (deployment) run, whether the products were rebuilt or up to date."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from atlas.cli import main
from atlas.config import DEFAULT_CONFIG, load_programme
from flows.run_log import listing, plural, product_files, products_words, words

WINDOW = (79.0, 5.5, 82.5, 10.0)  # Sri Lanka: a chapter, a rejected salinity map, an accepted soil map


def test_a_product_counts_the_files_of_its_folder_rebuilt_or_up_to_date(tmp_path):
    soil, borders = tmp_path / "regional" / "soil_atlas", tmp_path / "regional" / "borders"
    own = [soil / name for name in ("regional_wrb.gpkg", "regional_wrb.parquet", "harmonization_log.csv")]
    rebuilt = [*own, borders / "border_mismatches.csv", borders / "border_summary.csv"]
    assert product_files(rebuilt) == product_files(own) == sorted(p.name for p in own)
    assert products_words({"Soil Atlas WRB": product_files(rebuilt)}) == "Soil Atlas WRB 3 files"


def test_words_for_people():
    assert words("accepted_with_warnings") == "accepted with warnings" and words("salinity_map") == "salinity map"
    assert plural(1, "file") == "1 file" and plural(1200, "file") == "1,200 files"
    assert listing([]) == "nothing" and listing(["GSSmap", "Soil Atlas WRB"]) == "GSSmap and Soil Atlas WRB"


PYTHON_VALUES = re.compile(r"\{'|\['|\(\)|<unknown>|accepted_with_warnings|_map v\d")
NOISE = ("matplotlib", "NotGeoreferencedWarning", "Traceback")


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "programme.toml"
    path.write_text(DEFAULT_CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def _our_lines(text: str) -> list[str]:
    """The pipeline's own log lines (Prefect's start/stop lines aside)."""
    return [line.split(" - ", 1)[1] for line in text.splitlines()
            if " | " in line and " - " in line and "Beginning" not in line and "Finished in state" not in line]


def test_the_cli_and_a_served_run_say_the_same_in_words(config, monkeypatch, capfd, prefect_harness):
    from prefect.logging.configuration import setup_logging

    from atlas.demo.programme import generate_demo
    from flows.deployments import CONFIG_ENV, process_inbox

    programme = load_programme(config)
    generate_demo(programme, countries=["BTN", "LKA"], window=WINDOW)
    setup_logging(incremental=False)  # Prefect's console handler writes to this test's stderr, not an earlier one's
    capfd.readouterr()
    main(["run", "--config", str(config)])
    cli = capfd.readouterr()
    cli_counts = dict(re.findall(r"^([A-Z][^:|\n]*): (\d+) files?$", cli.out, re.M))  # every product, tables too
    assert cli_counts.get("Soil Atlas WRB"), cli.out

    monkeypatch.setenv(CONFIG_ENV, str(config))
    state = process_inbox(force=False, return_state=True)  # nothing new: the products are up to date
    served = capfd.readouterr()
    summary = state.result()
    assert summary["rebuilt"] == [] and summary["processed"] == []
    assert {k: str(len(v)) for k, v in summary["products"].items()} == cli_counts

    for text in (cli.err + cli.out, served.err + served.out):
        lines = _our_lines(text)
        assert lines, text
        bad = [line for line in lines if PYTHON_VALUES.search(line)]
        assert not bad, bad
        assert not any(noise in text for noise in NOISE), text
        # a task's own line says it is done: Prefect's 'Finished in state Completed()' would say it twice
        assert not any("Task run" in line and "Completed()" in line for line in text.splitlines()), text
    cli_lines, served_lines = _our_lines(cli.err + cli.out), _our_lines(served.err + served.out)
    # one line per submission version, in words, with its verdict
    assert sum("LKA salinity map v1 (delivery" in line for line in cli_lines) == 1
    assert any(line.startswith("LKA soil map v1 (delivery") and ": accepted" in line for line in cli_lines)
    # the last line of each run counts the products alike
    final = [line for line in served_lines if line.startswith("run ") and "products:" in line]
    assert final and f"Soil Atlas WRB {cli_counts['Soil Atlas WRB']} files" in final[-1], served_lines
    assert Path(programme.processed_dir).is_dir()

    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:  # the no-op run has its by-country table too
        keys = {a.key for a in client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id])))}
    assert "run-by-country" in keys
