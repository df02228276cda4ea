"""What the run made of a portal delivery: the country's page shows it, and the country is told on publication."""

from __future__ import annotations

import datetime as dt

from portal_helpers import login, make_app, new_delivery, send, upload

from atlas.intake.inbox import Submission, checksum_files
from atlas.ledger.store import Ledger
from atlas.portal.app import notify_ledger_changes

TODAY = dt.datetime.now(dt.UTC).date()


def record_run(programme, folder, state: str, report_dir=None) -> int:
    """The ledger as a run leaves it for the delivery in ``folder``: one soil_map version in ``state``."""
    files = tuple(sorted(folder.iterdir()))
    checksum = checksum_files(list(files), folder.parent)
    sub = Submission("KHM", "soil_map", folder.name, 1, folder, files, TODAY, checksum)
    with Ledger(programme.ledger_path, programme) as ledger:
        record = ledger.record_submission(sub)
        report = None
        if report_dir is not None:
            report_dir.mkdir(parents=True)
            (report_dir / "report.html").write_text("<h1>run report of KHM v1</h1>")
            report = report_dir / "report.json"
            report.write_text("{}")
        verdict = "rejected" if state == "rejected" else "accepted"
        ledger.record_validation(record.id, verdict, {"error": 0}, report, [])
        if state == "published":
            ledger.mark(record.id, "harmonized")
            ledger.mark(record.id, "published", product="Soil Atlas of Asia")
        return record.id


def test_the_country_page_shows_the_runs_state_and_the_country_is_told_once(programme):
    app = make_app(programme)
    khm = login(app, "KHM")
    did = new_delivery(khm, "KHM")
    upload(khm, did, "KHM_soil.gpkg", b"not really a map")
    send(khm, did)
    page = khm.get("/country/KHM").text
    assert "waiting for the next run" in page
    folder = programme.raw_dir / "KHM" / TODAY.isoformat()
    record_id = record_run(programme, folder, "published",
                           programme.processed_dir / "national" / "KHM" / "soil_map" / "v001")
    outbox = programme.processed_dir / "portal" / "outbox"
    before = len(list(outbox.glob("*.eml")))
    page = khm.get("/country/KHM").text
    assert app.state.store.delivery(did)["ledger_state"] == "published"
    assert "waiting for the next run" not in page and 'class="verdict published"' in page
    mails = sorted(outbox.glob("*.eml"))
    assert len(mails) == before + 1 and "Subject: [ASP] delivery" in mails[-1].read_text()
    assert "published" in mails[-1].read_text().split("Subject:", 1)[1].split("\n", 1)[0]
    notify_ledger_changes(app)  # told once, not at every look
    assert len(list(outbox.glob("*.eml"))) == before + 1
    # the run's report is among the country's previous reports, and closed to others
    report = khm.get(f"/country/KHM/versions/{record_id}/report.html")
    assert report.status_code == 200 and "run report of KHM v1" in report.text
    assert login(app, "THA").get(f"/country/KHM/versions/{record_id}/report.html").status_code == 403
    assert khm.get(f"/country/KHM/versions/{record_id + 1}/report.html").status_code == 404


def test_contacts_and_the_secretariat_are_the_recipients(programme):
    import dataclasses

    settings = dataclasses.replace(programme.portal, contacts={"KHM": ("focal@example.org",)},
                                   secretariat_emails=("gis@example.org",))
    app = make_app(dataclasses.replace(programme, portal=settings))
    khm = login(app, "KHM")
    did = new_delivery(khm, "KHM")
    upload(khm, did, "a.txt", b"x")
    send(khm, did)
    mail = sorted((programme.processed_dir / "portal" / "outbox").glob("*.eml"))[0].read_text()
    assert "To: focal@example.org, gis@example.org" in mail


def test_a_delivery_replaced_in_the_release_reads_superseded_in_words(programme):
    app = make_app(programme)
    khm = login(app, "KHM")
    did = new_delivery(khm, "KHM")
    upload(khm, did, "KHM_soil.gpkg", b"not really a map")
    send(khm, did)
    record_run(programme, programme.raw_dir / "KHM" / TODAY.isoformat(), "published")
    with Ledger(programme.ledger_path, programme) as ledger:  # a later version now holds the release
        assert ledger.set_publication("KHM", "soil_map", 1, "superseded", note="superseded by v2")
    page = khm.get("/country/KHM").text
    assert app.state.store.delivery(did)["ledger_state"] == "superseded"
    assert 'class="verdict superseded">superseded by a later version<' in page
    assert ">superseded<" not in page  # never the ledger's code word
