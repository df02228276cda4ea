"""The portal as a real server process (uvicorn on 127.0.0.1): load without loss, and a kill mid-upload.

The load is bench/bench_portal_load.py's, kept small: 50 uploads at once from 10 country sessions, bounded in
time; every file's SHA-256 in the inbox must equal what was sent. No speed is asserted (the bench prints it).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from bench_portal_load import Server, log_in, run_load  # noqa: E402


@pytest.fixture
def server(tmp_path):
    server = Server(tmp_path / "root")
    yield server
    server.stop()


def test_fifty_uploads_from_ten_sessions_lose_nothing(server):
    server.start()
    figures = run_load(server, uploads=50, sessions=10, size=200_000, timeout_s=240)
    assert figures["unfinished"] == 0 and figures["errors"] == []
    assert figures["missing"] == [] and figures["mismatched"] == []
    raw = server.root / "data" / "raw"
    assert len([p for p in raw.rglob("*") if p.is_file()]) == 50


def test_killing_the_portal_mid_upload_leaves_nothing_in_the_inbox_and_the_upload_resumes(server):
    server.start()
    token = server.tokens(["KHM"])["KHM"]
    client, csrf = log_in(server.url, token)
    did = client.post("/country/KHM/deliveries", data={"csrf": csrf}).headers["location"].rsplit("/", 1)[-1]
    data = os.urandom(6 << 20)
    uid = client.post(f"/api/deliveries/{did}/uploads", json={"name": "KHM_chapter.pdf", "size": len(data)},
                      headers={"X-CSRF-Token": csrf}).json()["id"]
    staged = server.root / "data" / "processed" / "portal" / "staging" / did / "files" / "KHM_chapter.pdf"

    def slow_body():  # one long request, cut by the kill
        for offset in range(0, len(data), 256 << 10):
            yield data[offset:offset + (256 << 10)]
            time.sleep(0.05)

    def send_slowly():
        with contextlib.suppress(httpx.HTTPError):  # the server dies under it
            client.patch(f"/api/uploads/{uid}", content=slow_body(),
                         headers={"X-CSRF-Token": csrf, "Upload-Offset": "0"}, timeout=60)

    sender = threading.Thread(target=send_slowly)
    sender.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not staged.exists() or staged.stat().st_size < (2 << 20)):
        time.sleep(0.05)
    server.kill()
    sender.join(timeout=60)
    cut = staged.stat().st_size
    assert 0 < cut < len(data)
    raw = server.root / "data" / "raw"
    assert not raw.exists() or [p for p in raw.rglob("*") if p.is_file()] == []

    server.start()
    client, csrf = log_in(server.url, token)  # the session survived too, but a new login is what a person does
    offset = client.get(f"/api/uploads/{uid}").json()["offset"]
    assert offset == cut
    response = client.patch(f"/api/uploads/{uid}", content=data[offset:],
                            headers={"X-CSRF-Token": csrf, "Upload-Offset": str(offset)})
    assert response.json()["offset"] == len(data)
    client.post(f"/deliveries/{did}/send", data={"csrf": csrf})
    sent = list(raw.glob("KHM/*/KHM_chapter.pdf"))
    assert len(sent) == 1 and hashlib.sha256(sent[0].read_bytes()).digest() == hashlib.sha256(data).digest()
