"""A run the secretariat starts from the portal is the real `atlas run --country`; the country page then shows
what it made of the delivery (end to end on a small demo: KHM's soil map, legend crosswalk and chapter).

The run is a subprocess of the portal (as in production); every wait is bounded.
"""

from __future__ import annotations

import re
import shutil
import time

from inbox_helpers import status_tables_only
from portal_helpers import login, send, upload

from atlas.config import DEFAULT_CONFIG, load_programme
from atlas.portal.app import create_app

WINDOW = (102.0, 10.0, 108.0, 15.0)
COUNTRIES = ["KHM", "THA"]  # the demo the operations tests use: generated once for all
RUN_DEADLINE_S = 900


def test_the_secretariat_starts_the_real_run_and_the_country_page_shows_publication(tmp_path, demo_inbox,
                                                                                    prefect_database, monkeypatch):
    root = tmp_path / "atlas"
    root.mkdir()
    for name in ("PREFECT_HOME", "PREFECT_API_URL"):  # the run uses the project's own Prefect home, as in production
        monkeypatch.delenv(name, raising=False)
    prefect_database(root / ".prefect")  # the project's Prefect database, as `atlas demo` prepares it
    config = root / "programme.toml"
    config.write_text(status_tables_only(re.sub(r"(?m)^bounds = .*$", f"bounds = {list(WINDOW)}",
                                                DEFAULT_CONFIG.read_text(encoding="utf-8"))), encoding="utf-8")
    programme = load_programme(config)
    demo_inbox(programme, COUNTRIES, WINDOW)
    source = tmp_path / "focal_point"  # the files a focal point has on her computer; the inbox starts empty
    shutil.move(programme.raw_dir, source)
    khm_files = source / "KHM"
    files = [*sorted((khm_files / "2026-04-02").iterdir()), khm_files / "2026-02-20" / "KHM_GSAS_chapter.docx"]

    app = create_app(programme, config_path=config)  # the real launcher
    khm = login(app, "KHM")
    did = khm.post("/country/KHM/deliveries", data={"csrf": khm.csrf}, follow_redirects=False
                   ).headers["location"].rsplit("/", 1)[-1]
    for path in files:
        upload(khm, did, path.name, path.read_bytes())
    assert send(khm, did).status_code == 303
    folder = app.state.store.delivery(did)["folder"]
    assert "waiting for the next run" in khm.get("/country/KHM").text

    sec = login(app, "secretariat", "GIS officer")
    assert sec.post("/country/KHM/run", data={"csrf": sec.csrf}, follow_redirects=False).status_code == 303
    page = sec.get("/country/KHM").text
    assert "A pipeline run was started for Cambodia" in page and "is still going" in page
    again = sec.post("/country/KHM/run", data={"csrf": sec.csrf}, follow_redirects=False)
    assert again.status_code == 409 and "still going" in again.text  # one run per country at a time

    deadline = time.monotonic() + RUN_DEADLINE_S
    while (run := app.state.store.runs("KHM")[0])["ended"] is None:
        assert time.monotonic() < deadline, (programme.processed_dir / "portal" / "runs" / run["log"]).read_text()
        time.sleep(2)
    log = sec.get(f"/runs/{run['id']}/log").text
    assert run["exit_code"] == 0, log
    assert "release" in log and "verify: verified" in log  # the output of `atlas run`
    assert khm.get(f"/runs/{run['id']}/log").status_code == 403
    assert any(r["action"] == "download" and "log of run" in r["detail"] for r in app.state.store.audit_rows())

    page = khm.get("/country/KHM").text
    assert "without error" in page
    delivery = app.state.store.delivery(did)
    assert delivery["ledger_state"] == "published", delivery  # the ledger's word, read by the page
    row = next(line for line in page.splitlines() if f"/deliveries/{did}" in line)
    assert "published" in page[page.index(row):page.index("</tr>", page.index(row))]
    mails = [p.read_text(encoding="utf-8") for p in (programme.processed_dir / "portal" / "outbox").glob("*.eml")]
    assert sum(f"delivery {folder.split('/')[-1]}: published" in m for m in mails) == 1
    assert not (programme.raw_dir / "THA").exists()  # a run for KHM touched no other country
