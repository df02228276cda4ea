"""`atlas status` says how many submissions in the inbox no run has processed yet, also before the first run."""

from __future__ import annotations

import re

import pytest

from atlas import stages
from atlas.cli import main
from atlas.config import DEFAULT_CONFIG, load_programme
from atlas.ledger.store import Ledger
from atlas.pending import unprocessed


def _chapter(programme, iso3: str, day: str) -> None:
    folder = programme.raw_dir / iso3 / day
    folder.mkdir(parents=True)
    (folder / f"{iso3}_chapter.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "programme.toml"
    path.write_text(DEFAULT_CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def _status(capsys, config, *args) -> str:
    try:
        main(["status", "--config", str(config), *args])
    except SystemExit as exit_:
        assert exit_.code in (0, None)
    return capsys.readouterr().out


def test_before_any_run_the_status_counts_what_waits_in_the_inbox(capsys, config):
    programme = load_programme(config)
    for iso3, day in (("KHM", "2026-05-01"), ("KHM", "2026-06-01"), ("NPL", "2026-05-03")):
        _chapter(programme, iso3, day)
    out = _status(capsys, config)
    assert "3 submissions in the inbox" in out and "not processed yet" in out and "`atlas run`" in out
    assert "1 submission in the inbox for NPL" in _status(capsys, config, "Nepal")
    # a table delivery is a submission too, counted as the run counts it
    (programme.raw_dir / "NPL" / "2026-05-03" / "NPL_soil_threats.xlsx").write_bytes(b"a workbook")
    assert "2 submissions in the inbox for NPL" in _status(capsys, config, "Nepal")
    assert unprocessed(programme) == len(stages.discover_submissions(programme)[0]) == 4


def test_the_count_goes_down_as_submissions_are_processed_and_the_line_goes_away(capsys, config):
    programme = load_programme(config)
    _chapter(programme, "KHM", "2026-05-01")
    _chapter(programme, "NPL", "2026-05-03")
    subs, _ = stages.discover_submissions(programme)
    with Ledger(programme.ledger_path, programme) as ledger:
        registered = stages.register(ledger, subs, run_id="test")
        assert unprocessed(programme) == 2  # registered is not processed: no verdict yet
        khm = next((sub, record) for sub, record in registered if sub.country == "KHM")
        stages.process_submission(khm[0], khm[1].id, programme, None, ledger)
    assert unprocessed(programme) == 1
    assert "1 submission in the inbox" in _status(capsys, config)
    with Ledger(programme.ledger_path, programme) as ledger:
        npl = next((sub, record) for sub, record in registered if sub.country == "NPL")
        stages.process_submission(npl[0], npl[1].id, programme, None, ledger)
    assert "not processed yet" not in _status(capsys, config)


def test_a_country_history_reads_in_words_and_points_to_the_html_report(capsys, config):
    programme = load_programme(config)
    _chapter(programme, "KHM", "2026-05-01")
    subs, _ = stages.discover_submissions(programme)
    with Ledger(programme.ledger_path, programme) as ledger:
        (sub, record), = stages.register(ledger, subs, run_id="8f3c2a1e-0000-4000-8000-000000000000")
        stages.process_submission(sub, record.id, programme, None, ledger)
    out = _status(capsys, config, "KHM")
    assert "report " in out and "report.html" in out and "report.json" not in out
    assert "8f3c2a1e-0000" not in out and "run 8f3c2a1e" in out  # the run's short id, as Prefect shows it
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:", out)  # times as people write them
    assert "(delivery 2026-05-01, 1 file;" in out and "(s)" not in out  # counts in words, plurals agreeing


def test_a_verdicts_counts_read_in_words_in_the_history(config, tmp_path):
    from test_ledger_store import make_submission

    programme = load_programme(config)
    with Ledger(programme.ledger_path, programme) as ledger:
        rec = ledger.record_submission(make_submission(tmp_path, "NPL", "soil_map", "2026-04-01", b"x", "m.gpkg"))
        ledger.record_validation(rec.id, "rejected", {"error": 2, "warning": 1, "fixed": 3, "info": 1}, None)
        notes = [e["note"] for e in ledger.history("NPL")]
    assert notes == ["delivery 2026-04-01, 1 file", "2 errors, 1 warning, 3 repaired, 1 for the record"]


def test_a_finding_place_is_said_in_words():
    from atlas.ledger.status_table import _where

    place = _where({"file": "KHM_GSSmap_ECe_0-30.tif", "band": 1, "window": [221, 1100, 1, 1],
                    "lon": 102.61527777777778, "lat": 12.126388888888889})
    assert place == "KHM_GSSmap_ECe_0-30.tif, band 1, pixel col 221, row 1100, at 102.61528, 12.12639"
    assert _where({"window": [0, 10, 5, 2]}) == "pixels col 0..4, row 10..11"
