"""The hostile corpus through the real flow entry (atlas.stages.process_submission), many countries at once.

Every case must end in its own finding, the run must go on, nothing outside the submissions may be read,
and no other country's processed data may change.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
import zipfile
from pathlib import Path

import pytest

from atlas import layout, stages
from atlas.finding import Severity
from atlas.ledger.store import Ledger
from checks.registry import REGISTRY

sys.path.insert(0, str(Path(__file__).parent))
from hostile_corpus import CASES, CORPUS_LIMITS, SECRET, Canary, shapefile_members, zip_files  # noqa: E402

BYSTANDER = "BTN"  # sends a normal zipped shapefile (with __MACOSX junk) first and must stay untouched
LOOSE_COUNTRY = "SGP"  # the one case whose files lie loose in the country folder


def _snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory):
    """Build every case for round-robin countries, process the bystander, then every hostile submission."""
    from atlas.config import load_programme

    root = tmp_path_factory.mktemp("hostile")
    programme = load_programme().with_root(root)
    programme = dataclasses.replace(programme, extra={**programme.extra, "limits": CORPUS_LIMITS})
    canary = Canary(root / "outside").create()
    countries = [c for c in programme.members if c not in (BYSTANDER, LOOSE_COUNTRY)]
    where: dict[tuple[str, str], str] = {}  # (country, delivery) -> case name
    per_country: dict[str, int] = {}
    for i, case in enumerate(CASES):
        iso3 = LOOSE_COUNTRY if case.loose else countries[i % len(countries)]
        per_country[iso3] = per_country.get(iso3, 0) + 1
        delivery = f"2026-01-{per_country[iso3]:02d}"
        folder = programme.raw_dir / iso3 / ("" if case.loose else delivery)
        folder.mkdir(parents=True, exist_ok=True)
        case.build(folder, iso3, canary)
        where[(iso3, "" if case.loose else delivery)] = case.name
    good = programme.raw_dir / BYSTANDER / "2026-01-01"
    good.mkdir(parents=True)
    members = shapefile_members(root / "scratch", f"{BYSTANDER}_soil")
    zip_files(good / f"{BYSTANDER}_soil.zip", {**members, "__MACOSX/._BTN_soil.shp": b"\0\5\26\7"})

    canary.arm()  # from here on, discovery included, nothing may read outside the submissions
    subs, _ = stages.discover_submissions(programme)
    outcomes: dict[str, list] = {}
    with Ledger(programme.ledger_path, programme) as ledger:
        registered = stages.register(ledger, subs, run_id="hostile")
        bystander = [(s, r) for s, r in registered if s.country == BYSTANDER]
        for sub, record in bystander:
            outcomes[BYSTANDER] = stages.process_submission(sub, record.id, programme, None, ledger)
        national = programme.processed_dir / "national"
        before = _snapshot(national / BYSTANDER)
        for sub, record in registered:
            if sub.country == BYSTANDER:
                continue
            outcome = stages.process_submission(sub, record.id, programme, None, ledger)
            name = where.get((sub.country, sub.delivery)) or where.get((sub.country, ""))  # loose files: undated
            outcomes.setdefault(name or sub.key + " " + sub.delivery, []).append(outcome)
        touched = canary.read_since_armed()
        after = _snapshot(national / BYSTANDER)
        rows = ledger.status_rows()
    return {"programme": programme, "outcomes": outcomes, "touched": touched, "before": before, "after": after,
            "canary": canary, "rows": rows, "where": where, "root": root}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_gets_its_finding(corpus_run, case):
    outcomes = corpus_run["outcomes"].get(case.name)
    assert outcomes, f"{case.name}: no submission was processed"
    found = {f.check_id for o in outcomes for f in o.findings}
    assert case.expected in found, f"{case.name}: expected {case.expected}, got {sorted(found)}"
    assert not found & {"pipeline.internal_error", "internal.check_crashed"}, sorted(found)
    if REGISTRY[case.expected].severity == Severity.ERROR:  # a refusal blocks the submission
        assert all(o.verdict not in stages.ACCEPTED for o in outcomes), [o.verdict for o in outcomes]


def test_the_run_went_on_and_every_case_was_reported(corpus_run):
    reported = {name for name, outs in corpus_run["outcomes"].items() if outs and name != BYSTANDER}
    assert reported == {c.name for c in CASES}
    programme = corpus_run["programme"]
    for name, outs in corpus_run["outcomes"].items():
        for outcome in outs if isinstance(outs, list) else [outs]:
            sub = outcome.submission
            report = layout.national_dir(programme.processed_dir, sub.country, sub.deliverable, sub.version)
            assert (report / "report.json").is_file(), f"{name}: no report written"


def test_nothing_outside_the_submissions_was_read(corpus_run):
    assert corpus_run["touched"] == []
    canary_files = {p.name for p in corpus_run["canary"].root.iterdir()}
    assert "overwritten.txt" not in canary_files  # the absolute-path member was not written there
    root = corpus_run["root"]
    assert not list(root.rglob("escaped.txt"))  # the zip-slip member landed nowhere
    texts = [json.dumps(f.to_dict()) for outs in corpus_run["outcomes"].values()
             for o in (outs if isinstance(outs, list) else [outs]) for f in o.findings]
    texts += [p.read_text(errors="replace") for p in (root / "data" / "processed").rglob("report.*")]
    assert not any(SECRET in t or "root:x:0:0" in t for t in texts)


def test_no_other_country_changed_and_each_writes_only_its_own_folders(corpus_run):
    assert corpus_run["before"] == corpus_run["after"] and corpus_run["before"]
    programme = corpus_run["programme"]
    national = programme.processed_dir / "national"
    senders = {iso3 for iso3, _ in corpus_run["where"]} | {BYSTANDER}
    assert {p.name for p in national.iterdir()} <= senders
    written = [p for p in programme.processed_dir.rglob("*") if p.is_symlink()]
    assert written == []  # no link was ever created in the processed area


def test_the_normal_zipped_shapefile_is_extracted_under_its_own_version_and_accepted(corpus_run):
    outcome = corpus_run["outcomes"][BYSTANDER]
    assert outcome.verdict in stages.ACCEPTED
    ids = {f.check_id for f in outcome.findings}
    assert "vector.junk_ignored" in ids and "intake.archive_unsafe_member" not in ids
    programme = corpus_run["programme"]
    folder = layout.national_dir(programme.processed_dir, BYSTANDER, "soil_map", 1)
    extracted = sorted(p.name for p in (folder / "intake").rglob("*") if p.is_file())
    assert "BTN_soil.shp" in extracted and not any("MACOSX" in n or n.startswith("._") for n in extracted)
    raw = programme.raw_dir / BYSTANDER / "2026-01-01" / "BTN_soil.zip"
    assert "__MACOSX/._BTN_soil.shp" in zipfile.ZipFile(raw).namelist()  # the raw file was not modified
    assert (folder / stages.SOIL_MAP_FILE).is_file()
