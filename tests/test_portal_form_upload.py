"""Uploading with JavaScript off: the delivery page's plain form (one multipart POST), streamed with the limits held."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import os

import pytest
from fastapi.testclient import TestClient
from portal_helpers import login, make_app, new_delivery, send, small_limits
from starlette.requests import ClientDisconnect

from atlas.portal.form_upload import FormReceiver, receive_form
from atlas.portal.uploads import UploadRefused

TODAY = dt.datetime.now(dt.UTC).date().isoformat()
BOUNDARY = "----atlasformtest"


def multipart(parts: list[tuple[str, str | None, bytes]]) -> bytes:
    """A multipart/form-data body of (field, file name or None, content), in this order."""
    body = b""
    for field, filename, content in parts:
        disposition = f'form-data; name="{field}"' + (f'; filename="{filename}"' if filename is not None else "")
        body += (f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n"
                 + ("Content-Type: application/octet-stream\r\n" if filename is not None else "") + "\r\n").encode()
        body += content + b"\r\n"
    return body + f"--{BOUNDARY}--\r\n".encode()


def post_form(client, did: str, parts):
    return client.post(f"/deliveries/{did}/files", content=multipart(parts), follow_redirects=False,
                       headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})


def staged_names(app, did: str) -> list[str]:
    folder = app.state.staging.files_dir(did)
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def leftovers(app, did: str) -> list[str]:
    """Partial files of form posts still on disk."""
    folder = app.state.staging.root / did / "form"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_without_javascript_the_page_form_uploads_and_the_delivery_is_sent(programme):
    app = make_app(programme)
    khm = login(app, "KHM")
    did = new_delivery(khm, "KHM")
    page = khm.get(f"/deliveries/{did}").text
    assert f'action="/deliveries/{did}/files"' in page and 'enctype="multipart/form-data"' in page
    assert page.index('name="csrf"', page.index('id="upload-form"')) < page.index('name="files"')  # csrf first
    chapter, table = os.urandom(300_000), b"code,name\n1,Solonchak\n"
    # what a browser sends: the csrf field, then the chosen files under the one field name
    response = khm.post(f"/deliveries/{did}/files", data={"csrf": khm.csrf}, follow_redirects=False,
                        files=[("files", ("KHM_chapter.pdf", chapter, "application/pdf")),
                               ("files", ("KHM_legend.csv", table, "text/csv")),
                               ("files", ("../evil.csv", b"x", "text/csv"))])
    assert response.status_code == 303 and response.headers["location"] == f"/deliveries/{did}"
    shown = khm.get(f"/deliveries/{did}").text
    assert "Received: KHM_chapter.pdf, KHM_legend.csv" in shown
    assert "Not taken: &#39;../evil.csv&#39;" in shown or "Not taken: ../evil.csv" in shown
    assert "is a path" in shown
    assert "Received:" not in khm.get(f"/deliveries/{did}").text  # a notice is shown once
    assert staged_names(app, did) == ["KHM_chapter.pdf", "KHM_legend.csv"] and leftovers(app, did) == []
    rows = {u["name"]: u for u in app.state.store.uploads(did)}
    assert rows["KHM_chapter.pdf"]["sha256"] == hashlib.sha256(chapter).hexdigest()
    assert send(khm, did).status_code == 303
    assert (programme.raw_dir / "KHM" / TODAY / "KHM_chapter.pdf").read_bytes() == chapter
    assert (programme.raw_dir / "KHM" / TODAY / "KHM_legend.csv").read_bytes() == table
    assert not (app.state.staging.root / did).exists()  # nothing of the delivery is left in staging
    actions = [r["action"] for r in app.state.store.audit_rows()]
    assert actions.count("upload_done") == 2 and "upload_refused" in actions


def test_the_form_needs_the_csrf_token_before_any_file(programme):
    app = make_app(programme)
    khm = login(app, "KHM")
    did = new_delivery(khm, "KHM")
    for parts in ([("files", "KHM_chapter.pdf", b"%PDF-1.4")],  # no token at all
                  [("csrf", None, b"forged"), ("files", "KHM_chapter.pdf", b"%PDF-1.4")],
                  [("files", "KHM_chapter.pdf", b"%PDF-1.4"), ("csrf", None, khm.csrf.encode())]):  # too late
        assert post_form(khm, did, parts).status_code == 403
    assert staged_names(app, did) == [] and leftovers(app, did) == []
    assert app.state.store.uploads(did) == []
    tha = login(app, "THA")  # another country's session, with its own valid token
    assert post_form(tha, did, [("csrf", None, tha.csrf.encode()), ("files", "x.pdf", b"x")]).status_code == 404
    assert khm.post(f"/deliveries/{did}/files", content=b"x", headers={"Content-Type": "text/plain"}
                    ).status_code == 400


def test_the_form_stops_at_the_file_limit_and_keeps_nothing_of_that_file(programme):
    app = make_app(small_limits(programme, max_file_bytes=1000, max_delivery_bytes=100_000))
    khm = login(app, "KHM")
    did = new_delivery(khm, "KHM")
    response = post_form(khm, did, [("csrf", None, khm.csrf.encode()), ("files", "KHM_a.csv", b"a" * 500),
                                    ("files", "KHM_big.pdf", b"b" * 5000), ("files", "KHM_c.csv", b"c" * 10)])
    assert response.status_code == 303
    shown = khm.get(f"/deliveries/{did}").text
    assert "KHM_big.pdf is larger than 1000 bytes" in shown and "Received: KHM_a.csv" in shown
    assert staged_names(app, did) == ["KHM_a.csv"] and leftovers(app, did) == []  # the request stopped there
    assert [u["name"] for u in app.state.store.uploads(did)] == ["KHM_a.csv"]


def test_a_form_larger_than_the_delivery_may_hold_is_refused_before_reading(programme):
    app = make_app(small_limits(programme, max_delivery_bytes=1000))
    khm = login(app, "KHM")
    did = new_delivery(khm, "KHM")
    response = post_form(khm, did, [("csrf", None, khm.csrf.encode()), ("files", "KHM_big.pdf", b"b" * 200_000)])
    assert response.status_code == 413 and "nothing was taken" in response.text
    assert staged_names(app, did) == [] and leftovers(app, did) == []


def test_the_form_counts_files_against_the_delivery_limit(programme):
    app = make_app(small_limits(programme, max_delivery_files=2))
    khm = login(app, "KHM")
    did = new_delivery(khm, "KHM")
    post_form(khm, did, [("csrf", None, khm.csrf.encode())] + [("files", f"KHM_{n}.csv", b"x") for n in range(4)])
    assert staged_names(app, did) == ["KHM_0.csv", "KHM_1.csv"]
    assert "at most 2 files" in khm.get(f"/deliveries/{did}").text


def receiver_for(app, did: str, csrf: str = "tok", **limits):
    settings = small_limits(app.state.programme, **limits).portal
    return FormReceiver(app.state.staging, did, csrf, settings, {}, lambda *a: None)


def test_the_limit_holds_while_the_body_streams(programme):
    """Below the web layer: a file four times the limit stops there; the parser reads no further than that."""
    app = make_app(programme)
    head = multipart([("csrf", None, b"tok")])[: -len(f"--{BOUNDARY}--\r\n")]
    head += f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="KHM_x.tif"\r\n\r\n'.encode()
    sent = []

    async def large():  # 400 kB, four times the limit (finite: without the limit the test fails, not hangs)
        yield head
        for _ in range(100):
            sent.append(4096)
            yield b"z" * 4096
        yield f"\r\n--{BOUNDARY}--\r\n".encode()

    receiver = receiver_for(app, "d1", max_file_bytes=100_000)
    with pytest.raises(UploadRefused) as refused:
        asyncio.run(receive_form(receiver, f"multipart/form-data; boundary={BOUNDARY}", large()))
    assert refused.value.status == 413
    assert sum(sent) <= 100_000 + 4096  # it stopped at the block that crossed the limit
    assert leftovers(app, "d1") == [] and staged_names(app, "d1") == []


def test_a_cut_connection_leaves_no_partial_file(programme):
    app = make_app(programme)
    body = multipart([("csrf", None, b"tok"), ("files", "KHM_a.csv", b"a" * 100),
                      ("files", "KHM_b.tif", b"b" * 50_000)])

    async def cut():
        yield body[: len(body) // 2]  # KHM_a.csv whole, KHM_b.tif half-way
        raise ClientDisconnect()

    kept = []
    receiver = FormReceiver(app.state.staging, "d2", "tok", programme.portal, {}, lambda *a: kept.append(a[0]))
    with pytest.raises(ClientDisconnect):
        asyncio.run(receive_form(receiver, f"multipart/form-data; boundary={BOUNDARY}", cut()))
    assert kept == ["KHM_a.csv"] and staged_names(app, "d2") == ["KHM_a.csv"] and leftovers(app, "d2") == []


def test_a_form_post_cut_by_a_stop_of_the_portal_is_cleared_at_the_next_start(programme):
    app = make_app(programme)
    khm = login(app, "KHM")
    did = new_delivery(khm, "KHM")
    partial = app.state.staging.root / did / "form" / "0123456789abcdef.part"  # as a killed process leaves it
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"half a file")
    restarted = make_app(programme)
    with TestClient(restarted):  # the start (lifespan) clears it
        pass
    assert not partial.exists() and staged_names(restarted, did) == []
    assert [p for p in programme.raw_dir.rglob("*") if p.is_file()] == []
