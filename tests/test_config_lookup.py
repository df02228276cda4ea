"""Where the configuration is found: --config, else ./programme.toml, else $ATLAS_CONFIG; the error names both."""

from __future__ import annotations

import pytest

from atlas.cli import main
from atlas.config import CONFIG_ENV, DEFAULT_CONFIG, find_config, load_programme
from atlas.errors import ConfigError


def _programme_in(folder):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "programme.toml"
    path.write_text(DEFAULT_CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def test_the_current_folder_comes_first(tmp_path, monkeypatch):
    here = _programme_in(tmp_path / "here")
    monkeypatch.setenv(CONFIG_ENV, str(_programme_in(tmp_path / "elsewhere")))
    monkeypatch.chdir(here.parent)
    assert find_config().resolve() == here.resolve()
    assert load_programme().root == here.parent.resolve()  # its data folders are beside it


def test_then_the_environment_variable(tmp_path, monkeypatch):
    elsewhere = _programme_in(tmp_path / "elsewhere")
    (tmp_path / "empty").mkdir()
    monkeypatch.chdir(tmp_path / "empty")
    monkeypatch.setenv(CONFIG_ENV, str(elsewhere))
    assert find_config() == elsewhere


def test_an_explicit_file_wins(tmp_path, monkeypatch):
    _programme_in(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert find_config(tmp_path / "other.toml") == tmp_path / "other.toml"


@pytest.mark.parametrize("env", [None, "nowhere/programme.toml"])
def test_the_error_names_both_places(tmp_path, monkeypatch, env):
    monkeypatch.chdir(tmp_path)
    if env:
        monkeypatch.setenv(CONFIG_ENV, str(tmp_path / env))
    else:
        monkeypatch.delenv(CONFIG_ENV, raising=False)
    with pytest.raises(ConfigError) as err:
        find_config()
    message = str(err.value)
    assert "programme.toml" in message and CONFIG_ENV in message and str(tmp_path) in message


def test_the_command_reads_programme_toml_in_the_current_folder(tmp_path, monkeypatch, capsys):
    here = _programme_in(tmp_path / "office")
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.chdir(here.parent)
    main(["status"])
    assert "BGD" in capsys.readouterr().out
    assert (here.parent / "data" / "processed" / "ledger.sqlite").is_file()  # that programme's ledger


def test_the_command_without_any_configuration_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["validate", "."])
    err = capsys.readouterr().err.strip()
    assert exit_.value.code == 2 and len(err.splitlines()) == 1
    assert "has no programme.toml" in err and CONFIG_ENV in err and "site-packages" not in err
