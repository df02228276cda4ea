"""Uploads: limits while streaming, resume after a cut, atomic send into the inbox, hostile names and archives,
the verdict of `atlas validate`, escaping, abandoned deliveries, notifications."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import io
import json
import os
import zipfile

import pytest
from portal_helpers import (
    login,
    make_app,
    new_delivery,
    put_piece,
    send,
    small_limits,
    start_upload,
    upload,
)
from starlette.requests import ClientDisconnect
from test_checks_metafile import GOOD, write_pair

from atlas.config import DEFAULT_CONFIG, load_programme
from atlas.errors import ConfigError
from atlas.portal.app import sweep_abandoned
from atlas.portal.auth import CSRF_HEADER
from atlas.portal.uploads import UploadRefused
from atlas.validation import validate_path

TODAY = dt.datetime.now(dt.UTC).date().isoformat()


@pytest.fixture
def app(programme):
    return make_app(small_limits(programme, max_file_bytes=1000, max_delivery_files=3, max_delivery_bytes=2500))


def inbox_files(programme) -> list[str]:
    raw = programme.raw_dir
    return sorted(str(p.relative_to(raw)) for p in raw.rglob("*") if p.is_file()) if raw.is_dir() else []


def test_a_cut_at_60_percent_resumes_without_resending(programme):
    app = make_app(programme)
    khm = login(app, "KHM")
    did = new_delivery(khm, "KHM")
    data = os.urandom(500_000)
    uid = start_upload(khm, did, "KHM_chapter.pdf", len(data)).json()["id"]

    async def cut_after(n):  # the connection breaks after n bytes of a piece that should carry them all
        yield data[: n // 2]
        yield data[n // 2: n]
        raise ClientDisconnect()

    with pytest.raises(ClientDisconnect):
        asyncio.run(app.state.staging.append(did, "KHM_chapter.pdf", len(data), 0, cut_after(300_000)))
    state = khm.get(f"/api/uploads/{uid}").json()
    assert state["offset"] == 300_000  # 60 % arrived and stays
    sent = 0
    offset = state["offset"]
    while offset < len(data):
        piece = data[offset: offset + 64_000]
        sent += len(piece)
        offset = put_piece(khm, uid, offset, piece).json()["offset"]
    assert sent == 200_000  # only the remaining 40 % was sent again
    staged = app.state.staging.path(did, "KHM_chapter.pdf").read_bytes()
    assert hashlib.sha256(staged).hexdigest() == hashlib.sha256(data).hexdigest()
    assert app.state.store.upload(uid)["sha256"] == hashlib.sha256(data).hexdigest()


def test_a_wrong_offset_is_answered_with_the_real_one(app):
    khm = login(app, "KHM")
    did = new_delivery(khm, "KHM")
    uid = start_upload(khm, did, "a.txt", 10).json()["id"]
    assert put_piece(khm, uid, 0, b"12345").json()["offset"] == 5
    again = put_piece(khm, uid, 0, b"12345")  # a piece resent after a lost answer: not written twice
    assert again.status_code == 409 and again.json()["offset"] == 5
    # choosing the same file again (after a reload) resumes the same upload
    assert start_upload(khm, did, "a.txt", 10).json() == {"id": uid, "name": "a.txt", "offset": 5, "size": 10}


def test_oversize_uploads_stop_at_the_limit(app):
    khm = login(app, "KHM")
    did = new_delivery(khm, "KHM")
    too_big = start_upload(khm, did, "big.tif", 1001)
    assert too_big.status_code == 413 and "at most 1000" in too_big.json()["detail"]
    uid = start_upload(khm, did, "a.tif", 800).json()["id"]
    # a piece whose Content-Length goes past the declared size is refused before a byte is read
    assert put_piece(khm, uid, 0, b"x" * 801).status_code == 413
    assert app.state.staging.offset(did, "a.tif") == 0
    # a streamed body without Content-Length is cut at the declared size while it arrives
    chunks = iter([b"y" * 500, b"y" * 500, b"y" * 500])
    response = khm.patch(f"/api/uploads/{uid}", content=chunks,
                         headers={CSRF_HEADER: khm.csrf, "Upload-Offset": "0"})
    assert response.status_code == 413
    assert app.state.staging.path(did, "a.tif").stat().st_size == 800
    # the delivery's own limits: files in all, bytes in all
    assert start_upload(khm, did, "b.tif", 1000).status_code == 200
    assert start_upload(khm, did, "c.tif", 900).status_code == 413  # 800 + 1000 + 900 > 2500
    assert start_upload(khm, did, "c.tif", 10).status_code == 200
    refused = start_upload(khm, did, "d.tif", 10)
    assert refused.status_code == 413 and "at most 3 files" in refused.json()["detail"]
    assert any(r["action"] == "upload_refused" for r in app.state.store.audit_rows())


def test_streaming_limit_holds_below_the_api(tmp_path, programme):
    staging = make_app(programme).state.staging

    async def endless():
        while True:
            yield b"z" * 4096

    with pytest.raises(UploadRefused) as refused:
        asyncio.run(staging.append("d1", "x.tif", 10_000, 0, endless()))
    assert refused.value.status == 413
    assert staging.path("d1", "x.tif").stat().st_size == 10_000


HOSTILE_NAMES = {
    "../evil.tif": "path",
    "..\\evil.tif": "path",
    "/etc/passwd.tif": "path",
    "C:\\evil.tif": "path",
    "C:evil.tif": "path",
    "evil\x00.tif": "NUL",
    "a" * 296 + ".tif": "characters long",
    "KHM_GSSmap_ECe_0-30\uff0etif": "look-alike",  # fullwidth full stop
    "\uff0e\uff0e\uff0fevil.tif": "look-alike",  # fullwidth ../
    "KHM_GSSmap_EC\u0435_0-30.tif": "mixes",  # Cyrillic e inside a Latin name
    "report\u202egpj.tif": "invisible",  # right-to-left override
    "KHM\u200b_GSSmap.tif": "invisible",  # zero-width space
    ".hidden.tif": "dot",
    "..": "dot",
    "run.exe": "not a file type",
    "maps.tar.gz": "only .zip",
    "a<b>.tif": "contains",
    "": "no name",
}


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_file_names_are_refused_with_a_reason(app, programme, name):
    khm = login(app, "KHM")
    did = new_delivery(khm, "KHM")
    response = start_upload(khm, did, name, 10)
    assert response.status_code == 400
    assert HOSTILE_NAMES[name] in response.json()["detail"]
    assert app.state.store.uploads(did) == []
    staged = app.state.staging.root / did
    assert not staged.exists() or not any(staged.rglob("*"))
    assert inbox_files(programme) == []


def test_names_of_any_one_script_are_kept_and_normalised(app):
    khm = login(app, "KHM")
    did = new_delivery(khm, "KHM")
    assert start_upload(khm, did, "ជំពូក_២០២៦.docx", 5).status_code == 200  # Khmer chapter title
    decomposed = start_upload(khm, did, "rapport_e\u0301te.pdf", 5)  # e + combining accent (as macOS sends it)
    assert decomposed.status_code == 200 and decomposed.json()["name"] == "rapport_\u00e9te.pdf"


def test_send_moves_the_delivery_into_the_inbox_at_once(programme):
    app = make_app(programme)
    khm = login(app, "KHM")
    did = new_delivery(khm, "KHM")
    files = {"KHM_notes.txt": b"first", "manifest.csv": b"file,layer\n", "KHM_chapter.pdf": os.urandom(3000)}
    for name, data in files.items():
        upload(khm, did, name, data, piece=1000)
    assert inbox_files(programme) == []  # staged files are outside the inbox until sent
    assert not app.state.staging.root.is_relative_to(programme.raw_dir)
    assert send(khm, did).status_code == 303
    folder = programme.raw_dir / "KHM" / TODAY
    assert sorted(p.name for p in folder.iterdir()) == sorted(files)
    for name, data in files.items():
        assert (folder / name).read_bytes() == data
        assert not os.access(folder / name, os.W_OK) or os.geteuid() == 0  # made read-only (root ignores it)
        assert (folder / name).stat().st_mode & 0o222 == 0
    assert not app.state.staging.files_dir(did).exists()
    delivery = app.state.store.delivery(did)
    assert delivery["state"] == "sent" and delivery["folder"] == f"KHM/{TODAY}"
    assert send(khm, did).status_code == 409  # a sent delivery is never changed
    assert start_upload(khm, did, "late.txt", 3).status_code == 409


def test_a_second_delivery_on_the_same_day_gets_its_own_folder(programme):
    app = make_app(programme)
    khm = login(app, "KHM")
    for _ in range(3):
        did = new_delivery(khm, "KHM")
        upload(khm, did, "KHM_notes.txt", did.encode())
        send(khm, did)
    folders = sorted(p.name for p in (programme.raw_dir / "KHM").iterdir())
    assert folders == [TODAY, f"{TODAY}_2", f"{TODAY}_3"]
    assert len({(programme.raw_dir / "KHM" / f / "KHM_notes.txt").read_bytes() for f in folders}) == 3


def test_an_empty_delivery_is_not_sent(programme):
    app = make_app(programme)
    khm = login(app, "KHM")
    did = new_delivery(khm, "KHM")
    assert send(khm, did).status_code == 409
    start_upload(khm, did, "a.txt", 10)
    incomplete = send(khm, did)
    assert incomplete.status_code == 409 and "a.txt" in incomplete.text
    assert inbox_files(programme) == []


def test_a_portal_killed_mid_upload_leaves_nothing_in_the_inbox(programme):
    app = make_app(programme)
    khm = login(app, "KHM")
    did = new_delivery(khm, "KHM")
    data = os.urandom(100_000)
    uid = start_upload(khm, did, "KHM_chapter.pdf", len(data)).json()["id"]
    put_piece(khm, uid, 0, data[:40_000])
    # the process dies here; a new one starts on the same state
    restarted = make_app(programme)
    assert inbox_files(programme) == []
    khm2 = login(restarted, "KHM")
    assert khm2.get(f"/api/uploads/{uid}").json()["offset"] == 40_000
    assert put_piece(khm2, uid, 40_000, data[40_000:]).json()["offset"] == len(data)
    send(khm2, did)
    assert (programme.raw_dir / "KHM" / TODAY / "KHM_chapter.pdf").read_bytes() == data


def test_an_abandoned_delivery_is_removed_after_the_set_time(programme):
    app = make_app(small_limits(programme, abandon_hours=1))
    khm = login(app, "KHM")
    did = new_delivery(khm, "KHM")
    upload(khm, did, "a.txt", b"abc")
    kept = new_delivery(khm, "KHM")
    upload(khm, kept, "b.txt", b"abc")
    assert sweep_abandoned(app) == 0
    old = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).replace(microsecond=0).isoformat()
    app.state.store.set_delivery(did, touched=old)
    assert sweep_abandoned(app) == 1
    assert not (app.state.staging.root / did).exists() and (app.state.staging.root / kept).exists()
    assert app.state.store.delivery(did)["state"] == "abandoned"
    assert any(r["action"] == "abandoned" for r in app.state.store.audit_rows())


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_archives_go_through_the_intakes_rules(programme, tmp_path):
    app = make_app(programme)
    khm = login(app, "KHM")
    did = new_delivery(khm, "KHM")
    upload(khm, did, "KHM_soil_map.zip", zipped({"../../escaped.gpkg": b"SQLite format 3\x00", "a.shp": b"x"}))
    send(khm, did)
    summary = json.loads(app.state.store.delivery(did)["result"])
    assert summary["verdict"] == "rejected"
    folder = summary["submissions"][0]["folder"]
    report = json.loads(khm.get(f"/deliveries/{did}/reports/{folder}/report.json").text)
    assert "intake.archive_unsafe_member" in json.dumps(report)
    assert not list(programme.root.rglob("escaped.gpkg"))  # nothing was extracted anywhere
    assert inbox_files(programme) == [f"KHM/{TODAY}/KHM_soil_map.zip"]  # the raw zip is kept unchanged


def test_the_verdict_is_the_one_atlas_validate_gives(programme, tmp_path):
    app = make_app(programme)
    khm = login(app, "KHM")
    did = new_delivery(khm, "KHM")
    source = tmp_path / "source"
    source.mkdir()
    raster = write_pair(source, GOOD.replace("dS/m", "<script>alert('units')</script>"))
    for path in (raster, raster.with_suffix(".txt")):
        upload(khm, did, path.name, path.read_bytes())
    assert send(khm, did).status_code == 303
    summary = json.loads(app.state.store.delivery(did)["result"])
    expected = validate_path(programme.raw_dir / "KHM" / TODAY, programme, None, country="KHM")
    assert summary["verdict"] == expected.verdict
    assert [s["verdict"] for s in summary["submissions"]] == [s.verdict for s in expected.submissions]
    page = khm.get(f"/deliveries/{did}")
    assert "Verdict" in page.text and summary["submissions"][0]["label"] in page.text
    report = khm.get(f"/deliveries/{did}/reports/{summary['submissions'][0]['folder']}/report.html")
    assert report.status_code == 200 and "units_mismatch" in report.text
    assert "<script>alert" not in report.text and "&lt;script&gt;alert" in report.text  # metafile text escaped
    outbox = sorted((programme.processed_dir / "portal" / "outbox").glob("*.eml"))
    subjects = [p.read_text().split("Subject: ", 1)[1].split("\n", 1)[0] for p in outbox]
    assert any("delivery received" in s for s in subjects) and any("verdict on" in s for s in subjects)


def test_file_names_are_escaped_on_every_page(programme):
    app = make_app(programme)
    khm = login(app, "KHM")
    did = new_delivery(khm, "KHM")
    name = "KHM_a'&onmouseover=alert(1)&'.txt"
    upload(khm, did, name, b"text")
    escaped = "KHM_a&#39;&amp;onmouseover=alert(1)&amp;&#39;.txt"
    assert escaped in khm.get(f"/deliveries/{did}").text and name not in khm.get(f"/deliveries/{did}").text
    send(khm, did)
    for page in (khm.get(f"/deliveries/{did}").text, login(app, "secretariat").get("/audit").text):
        assert escaped in page and name not in page


@pytest.mark.parametrize("setting, message", [
    ("abandon_hour = 3", "did you mean abandon_hours"),
    ('abandon_hours = "3 days"', "expected a number"),
    ("abandon_hours = 0", "abandon_hours = 0.0: expected 1 or more"),
    ("abandon_hours = -5", "expected 1 or more"),
])
def test_a_mistyped_abandon_time_is_refused(tmp_path, setting, message):
    config = tmp_path / "programme.toml"
    config.write_text(DEFAULT_CONFIG.read_text(encoding="utf-8") + f"\n[portal]\n{setting}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_programme(config)


def test_the_abandon_time_of_programme_toml_is_the_one_applied(tmp_path):
    config = tmp_path / "programme.toml"
    config.write_text(DEFAULT_CONFIG.read_text(encoding="utf-8") + "\n[portal]\nabandon_hours = 6\n",
                      encoding="utf-8")
    app = make_app(load_programme(config))
    khm = login(app, "KHM")
    ids = {}
    for hours in (5, 7):
        ids[hours] = new_delivery(khm, "KHM")
        upload(khm, ids[hours], "a.txt", b"abc")
        then = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours)).replace(microsecond=0).isoformat()
        app.state.store.set_delivery(ids[hours], touched=then)
    assert sweep_abandoned(app) == 1
    assert app.state.store.delivery(ids[7])["state"] == "abandoned" and not (app.state.staging.root / ids[7]).exists()
    assert app.state.store.delivery(ids[5])["state"] == "staged" and (app.state.staging.root / ids[5]).exists()
