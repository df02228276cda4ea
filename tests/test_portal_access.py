"""The portal's access rules: tokens (hashed, expiring, revocable), sessions, per-country access, CSRF, rate limit."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3

import pytest
from fastapi.testclient import TestClient
from portal_helpers import CSRF_FIELD, login, make_app, new_delivery, put_piece, send, start_upload, upload

from atlas.cli import main
from atlas.config import DEFAULT_CONFIG
from atlas.portal.app import store_path
from atlas.portal.auth import CSRF_HEADER, SESSION_COOKIE
from atlas.portal.store import PortalStore, hash_token


@pytest.fixture
def app(programme):
    return make_app(programme)


def test_a_token_is_stored_only_as_its_hash(app, programme):
    token, row = app.state.store.add_token("KHM", "focal point")
    assert token.startswith("atp_") and len(token) > 40
    raw = store_path(programme).read_bytes() + b"".join(
        p.read_bytes() for p in store_path(programme).parent.glob("portal.sqlite-*"))
    assert token.encode() not in raw
    with sqlite3.connect(store_path(programme)) as db:
        assert db.execute("SELECT hash FROM tokens WHERE id = ?", (row.id,)).fetchone()[0] == hash_token(token)


def test_cli_adds_lists_and_revokes_tokens(tmp_path, capsys):
    config = tmp_path / "programme.toml"
    shutil.copy(DEFAULT_CONFIG, config)
    main(["portal", "token", "add", "KHM", "--label", "focal point", "--expires", "90d", "--config", str(config)])
    out = capsys.readouterr().out
    token = next(line.strip() for line in out.splitlines() if line.strip().startswith("atp_"))
    main(["portal", "token", "list", "--config", str(config)])
    listed = capsys.readouterr().out
    assert "KHM" in listed and "active" in listed and token not in listed and token[:10] in listed
    store = PortalStore(tmp_path / "data" / "processed" / "portal.sqlite")
    assert store.token_for(token) is not None
    main(["portal", "token", "revoke", "1", "--config", str(config)])
    assert "revoked" in capsys.readouterr().out
    assert store.token_for(token) is None
    main(["portal", "token", "list", "--config", str(config)])
    assert "revoked" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["portal", "token", "add", "XYZ", "--label", "x"], "not in the programme"),
    (["portal", "token", "add", "KHM", "--label", "x", "--expires", "2001-01-01"], "has passed"),
    (["portal", "token", "add", "KHM", "--label", "x", "--expires", "soon"], "give a date"),
    (["portal", "token", "revoke", "99"], "no token with id 99"),
])
def test_cli_refuses_bad_token_commands(tmp_path, capsys, argv, message):
    config = tmp_path / "programme.toml"
    shutil.copy(DEFAULT_CONFIG, config)
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--config", str(config)])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_expired_and_revoked_tokens_do_not_log_in(app):
    store = app.state.store
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    expired, _ = store.add_token("KHM", "old", expires=past)
    assert store.token_for(expired) is None
    client = login(app, "KHM")
    assert client.get("/country/KHM").status_code == 200
    store.revoke_token(next(t.id for t in store.tokens() if t.label == "focal point"))
    assert client.get("/country/KHM").status_code == 401  # revoking ends the open session at once


def test_login_sets_a_signed_httponly_samesite_strict_cookie(app):
    token, _ = app.state.store.add_token("KHM", "focal point")
    client = TestClient(app)
    nonce = CSRF_FIELD.search(client.get("/login").text).group(1)
    response = client.post("/login", data={"token": token, "csrf": nonce}, follow_redirects=False)
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and SESSION_COOKIE in v)
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower() and "Path=/" in cookie
    assert client.get("/country/KHM").status_code == 200
    value = client.cookies[SESSION_COOKIE]
    client.cookies.set(SESSION_COOKIE, value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    assert client.get("/country/KHM").status_code == 401  # a tampered signature is no session


NO_SESSION = [("get", "/country/KHM"), ("get", "/secretariat"), ("get", "/audit"), ("get", "/deliveries/abc"),
              ("get", "/api/uploads/abc"), ("patch", "/api/uploads/abc"), ("post", "/api/deliveries/abc/uploads"),
              ("post", "/deliveries/abc/send"), ("post", "/country/KHM/deliveries"), ("post", "/country/KHM/run"),
              ("get", "/deliveries/abc/files/x"), ("get", "/deliveries/abc/reports/x/report.html"),
              ("get", "/guide"), ("get", "/crosswalk_template.csv"), ("post", "/logout")]


@pytest.mark.parametrize("method, url", NO_SESSION)
def test_a_request_without_a_session_gets_401(app, method, url):
    response = getattr(TestClient(app), method)(url)
    assert response.status_code == 401


def test_another_country_gets_403_or_404_on_khm(app):
    khm = login(app, "KHM")
    did = new_delivery(khm, "KHM")
    uid = upload(khm, did, "KHM_notes.txt", b"staged text")["id"]
    tha = login(app, "THA")
    assert tha.get("/country/KHM").status_code == 403
    assert tha.post("/country/KHM/deliveries", data={"csrf": tha.csrf}).status_code == 403
    for response in (tha.get(f"/deliveries/{did}"), tha.get(f"/api/uploads/{uid}"),
                     put_piece(tha, uid, 0, b"x"), start_upload(tha, did, "x.txt", 1),
                     tha.get(f"/deliveries/{did}/files/{uid}"),
                     tha.post(f"/deliveries/{did}/files/{uid}/remove", data={"csrf": tha.csrf}),
                     send(tha, did)):
        assert response.status_code == 404, response.request.url
    assert send(khm, did).status_code == 303
    for path in (f"/deliveries/{did}/reports/x/report.html", f"/deliveries/{did}/files/{uid}"):
        assert tha.get(path).status_code == 404
    assert khm.get(f"/deliveries/{did}/files/{uid}").content == b"staged text"


def test_the_secretariat_sees_every_country_and_starts_runs(programme):
    launched = []
    app = make_app(programme, launched)
    khm = login(app, "KHM")
    did = new_delivery(khm, "KHM")
    sec = login(app, "secretariat", "GIS officer")
    assert sec.get(f"/deliveries/{did}").status_code == 200
    assert sec.get("/country/THA").status_code == 200
    assert "Cambodia" in sec.get("/secretariat").text
    assert khm.get("/secretariat").status_code == 403 and khm.get("/audit").status_code == 403
    assert khm.post("/country/KHM/run", data={"csrf": khm.csrf}).status_code == 403
    assert sec.post("/country/KHM/run", data={"csrf": sec.csrf}, follow_redirects=False).status_code == 303
    assert launched == ["KHM"]


def test_every_state_changing_request_needs_the_csrf_token(app):
    khm = login(app, "KHM")
    did = new_delivery(khm, "KHM")
    uid = upload(khm, did, "a.txt", b"abc")["id"]
    sec = login(app, "secretariat")
    for client in (khm, sec):
        for bad in ({}, {"csrf": "forged"}):
            assert client.post("/country/KHM/deliveries", data=bad).status_code == 403
            assert client.post(f"/deliveries/{did}/send", data=bad).status_code == 403
            assert client.post(f"/deliveries/{did}/files/{uid}/remove", data=bad).status_code == 403
            assert client.post("/country/KHM/run", data=bad).status_code == 403
            assert client.post("/logout", data=bad).status_code == 403
    for headers in ({}, {CSRF_HEADER: "forged"}):
        assert khm.post(f"/api/deliveries/{did}/uploads", json={"name": "b.txt", "size": 1},
                        headers=headers).status_code == 403
        assert khm.patch(f"/api/uploads/{uid}", content=b"x", headers={**headers, "Upload-Offset": "0"}
                         ).status_code == 403
    assert khm.get(f"/deliveries/{did}").status_code == 200  # nothing above changed the delivery
    assert [u["name"] for u in app.state.store.uploads(did)] == ["a.txt"]
    token, _ = app.state.store.add_token("KHM", "x")
    fresh = TestClient(app)
    fresh.get("/login")
    assert fresh.post("/login", data={"token": token, "csrf": "forged"}).status_code == 403
    assert fresh.post("/login", data={"token": token}).status_code == 403


def test_logins_are_refused_after_repeated_failures(app):
    token, _ = app.state.store.add_token("KHM", "focal point")
    client = TestClient(app)
    for _ in range(app.state.programme.portal.login_failures):
        nonce = CSRF_FIELD.search(client.get("/login").text).group(1)
        assert client.post("/login", data={"token": "atp_wrong", "csrf": nonce}).status_code == 401
    nonce = CSRF_FIELD.search(client.get("/login").text).group(1)
    blocked = client.post("/login", data={"token": token, "csrf": nonce}, follow_redirects=False)
    assert blocked.status_code == 429 and "too many failed logins" in blocked.text
    actions = [r["action"] for r in app.state.store.audit_rows()]
    assert actions.count("login_failed") == app.state.programme.portal.login_failures
    assert "login_blocked" in actions


def test_the_audit_says_who_did_what_when_and_from_where(app):
    khm = login(app, "KHM")
    did = new_delivery(khm, "KHM")
    uid = upload(khm, did, "a.txt", b"abc")["id"]
    khm.get(f"/deliveries/{did}/files/{uid}")
    send(khm, did)
    rows = app.state.store.audit_rows()
    actions = {r["action"] for r in rows}
    assert {"login", "delivery_new", "upload_start", "upload_done", "download", "send", "verdict"} <= actions
    row = next(r for r in rows if r["action"] == "send")
    assert row["country"] == "KHM" and row["role"] == "KHM" and "focal point" in row["actor"]
    assert row["address"] == "testclient" and row["at"].startswith(str(dt.datetime.now(dt.UTC).year))
    sec = login(app, "secretariat")
    page = sec.get("/audit")
    assert page.status_code == 200 and "upload_done" in page.text


def try_login(app, token: str, address: str) -> int:
    client = TestClient(app, client=(address, 40000))
    nonce = CSRF_FIELD.search(client.get("/login").text).group(1)
    return client.post("/login", data={"token": token, "csrf": nonce}, follow_redirects=False).status_code


def test_failures_with_one_token_prefix_from_many_addresses_block_that_prefix_only(app):
    limit = app.state.programme.portal.login_failures
    token, _ = app.state.store.add_token("KHM", "focal point")
    other, _ = app.state.store.add_token("THA", "focal point")
    for n in range(limit):  # someone who knows the token's first characters (listed by `token list`) guesses on
        assert try_login(app, token[:10] + f"guess{n}", f"198.51.100.{n}") == 401
    assert try_login(app, token, "192.0.2.77") == 429  # a fresh address, the same prefix: refused
    assert try_login(app, other, "192.0.2.77") == 303  # that address, another token: fine
    assert "by token prefix" in " ".join(r["detail"] for r in app.state.store.audit_rows())


def test_failures_from_one_address_with_any_tokens_block_that_address_only(app):
    limit = app.state.programme.portal.login_failures
    token, _ = app.state.store.add_token("KHM", "focal point")
    for n in range(limit):  # random guesses: a new prefix each time
        assert try_login(app, f"atp_{n}{'x' * 20}", "203.0.113.5") == 401
    assert try_login(app, token, "203.0.113.5") == 429
    assert try_login(app, token, "203.0.113.6") == 303


def test_the_login_rate_limit_survives_a_restart(programme):
    app = make_app(programme)
    limit = programme.portal.login_failures
    token, _ = app.state.store.add_token("KHM", "focal point")
    for n in range(limit):
        assert try_login(app, f"atp_wrong{n:02d}", "203.0.113.9") == 401
    restarted = make_app(programme)  # a new process on the same portal.sqlite
    assert try_login(restarted, token, "203.0.113.9") == 429
    assert try_login(restarted, token, "203.0.113.10") == 303


def test_the_rate_limit_window_passes(app):
    limit = app.state.programme.portal.login_failures
    token, _ = app.state.store.add_token("KHM", "focal point")
    for n in range(limit):
        try_login(app, f"atp_wrong{n:02d}", "203.0.113.11")
    window = app.state.programme.portal.login_window_minutes
    old = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=window + 1)).replace(microsecond=0).isoformat()
    with sqlite3.connect(store_path(app.state.programme)) as db:
        db.execute("UPDATE login_failures SET at = ?", (old,))
    assert try_login(app, token, "203.0.113.11") == 303


def test_a_run_record_whose_process_is_gone_or_another_program_does_not_block_a_new_run(programme):
    from atlas.portal.runs import is_running

    app = make_app(programme)
    store = app.state.store
    gone = store.add_run("KHM", "a.log")
    store.set_run(gone, pid=2 ** 22 + 12345)  # above the kernel's pid_max: no such process
    other = store.add_run("KHM", "b.log")
    store.set_run(other, pid=os.getpid())  # alive, but pytest, not `atlas run`
    assert not is_running(store.run(gone)) and not is_running(store.run(other))
    sec = login(app, "secretariat")
    assert sec.post("/country/KHM/run", data={"csrf": sec.csrf}, follow_redirects=False).status_code == 303
