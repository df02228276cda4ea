"""Helpers of the portal tests: an app on a tmp programme, logged-in clients, uploads through the API."""

from __future__ import annotations

import dataclasses
import re

from fastapi.testclient import TestClient

from atlas.portal.app import create_app
from atlas.portal.auth import CSRF_HEADER

CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


def small_limits(programme, **values):
    """The programme with portal settings changed (small limits make the limit tests cheap)."""
    return dataclasses.replace(programme, portal=dataclasses.replace(programme.portal, **values))


def make_app(programme, launched=None):
    def launcher(prog, country, config_path, store, started_by):  # records the run; starts no process
        if launched is not None:
            launched.append(country)
        return store.add_run(country, f"test_{country}.log", started_by)

    return create_app(programme, launcher=launcher)


def login(app, role: str, label: str = "focal point", client: TestClient | None = None) -> TestClient:
    """A client logged in with a new token for ``role``; ``client.csrf`` is its session's CSRF token."""
    token, _ = app.state.store.add_token(role, label)
    client = client or TestClient(app, base_url="http://testserver")
    form = client.get("/login")
    nonce = CSRF_FIELD.search(form.text).group(1)
    response = client.post("/login", data={"token": token, "csrf": nonce}, follow_redirects=False)
    assert response.status_code == 303, response.text
    page = client.get("/", follow_redirects=True)
    client.csrf = CSRF_FIELD.search(page.text).group(1)
    client.token = token
    return client


def new_delivery(client: TestClient, country: str) -> str:
    response = client.post(f"/country/{country}/deliveries", data={"csrf": client.csrf}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return response.headers["location"].rsplit("/", 1)[-1]


def start_upload(client: TestClient, did: str, name: str, size: int):
    return client.post(f"/api/deliveries/{did}/uploads", json={"name": name, "size": size},
                       headers={CSRF_HEADER: client.csrf})


def put_piece(client: TestClient, uid: str, offset: int, data: bytes):
    return client.patch(f"/api/uploads/{uid}", content=data,
                        headers={CSRF_HEADER: client.csrf, "Upload-Offset": str(offset)})


def upload(client: TestClient, did: str, name: str, data: bytes, piece: int = 1 << 20) -> dict:
    """Upload ``data`` as ``name`` in pieces; returns the final state."""
    started = start_upload(client, did, name, len(data))
    assert started.status_code == 200, started.text
    uid, offset = started.json()["id"], started.json()["offset"]
    while offset < len(data):
        response = put_piece(client, uid, offset, data[offset:offset + piece])
        assert response.status_code == 200, response.text
        offset = response.json()["offset"]
    return {"id": uid, "offset": offset}


def send(client: TestClient, did: str):
    return client.post(f"/deliveries/{did}/send", data={"csrf": client.csrf}, follow_redirects=False)
