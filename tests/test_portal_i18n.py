"""Every string a visitor reads is in the Babel catalogue: pages, server errors, notices, e-mails, the uploader.

Two tests that do not trust each other: one reads the portal's Python source and fails on a message written as a
plain string where a visitor reads it; one runs the portal in a pseudo-locale (every msgstr wrapped in ‹ ›) and
fails on visible text that comes out unwrapped.
"""

from __future__ import annotations

import ast
import dataclasses
import email
import email.policy
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from portal_helpers import CSRF_FIELD, login, make_app, new_delivery, send, start_upload, upload

from atlas.portal import i18n
from atlas.portal.app import HERE

# calls whose text a visitor reads: the argument positions and keywords that carry it
VISIBLE = {"HTTPException": ((), ("detail",)), "BadName": ((0,), ()), "UploadRefused": ((0,), ()),
           "add_notice": ((1,), ()), "page": ((), ("error", "detail")), "_skip": ((1,), ())}
NOTIFY = ((1, 2), ())  # notifier.send(country, subject, body)
WORDS = re.compile(r"[A-Za-z]{3,}")


def _outside_gettext(node: ast.AST) -> list[str]:
    """String literals with words in ``node`` that are not inside a call of ``_``."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "state_word"):
        return []
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and WORDS.search(node.value):
        return [node.value]
    if isinstance(node, ast.Subscript):  # summary["submissions"]: a key, not text
        return _outside_gettext(node.value)
    found = []
    for child in ast.iter_child_nodes(node):
        found += _outside_gettext(child)
    return found


def _visible_arguments(call: ast.Call) -> list[ast.AST]:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    if name == "send" and "notifier" in ast.unparse(func):
        positions, keywords = NOTIFY
    elif name in VISIBLE:
        positions, keywords = VISIBLE[name]
    else:
        return []
    return ([a for i, a in enumerate(call.args) if i in positions]
            + [k.value for k in call.keywords if k.arg in keywords])


def test_no_message_a_visitor_reads_is_a_plain_string_in_the_source():
    loose = []
    for source in sorted(HERE.glob("*.py")):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                for argument in _visible_arguments(node):
                    loose += [f"{source.name}:{node.lineno}: {text!r}" for text in _outside_gettext(argument)]
            if isinstance(node, ast.Dict):  # the verdict summary's "error", shown on the page
                for key, value in zip(node.keys, node.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value == "error" and value is not None:
                        loose += [f"{source.name}:{node.lineno}: {t!r}" for t in _outside_gettext(value)]
    assert loose == [], "wrap these in _() (atlas.portal.i18n) and run pybabel extract:\n" + "\n".join(loose)


def test_the_uploader_script_shows_only_text_the_page_gives_it():
    script = (HERE / "static" / "upload.js").read_text(encoding="utf-8")
    code = re.sub(r"//[^\n]*", "", script)  # comments are for developers
    shown = re.findall(r'textContent\s*=([^;]+);', code)
    literals = [s for line in shown for s in re.findall(r'"([^"]*)"', line) if WORDS.search(s)]
    assert shown and literals == [], literals


def test_the_shipped_catalogue_holds_every_message_of_the_python_code_too(tmp_path):
    pot = tmp_path / "portal.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", str(HERE / "babel.cfg"),
                    "--no-location", "--omit-header", "-o", str(pot), str(HERE)], check=True, capture_output=True)
    fresh = pot.read_text(encoding="utf-8")
    for message in ("no such delivery", "not logged in", "missing or wrong CSRF token: reload the page and try again",
                    "the file has no name", "[%(tag)s] verdict on %(folder)s: %(verdict)s", "Not taken: %(reason)s"):
        assert f'msgid "{message}"' in fresh, message


def pseudo_catalogue(tmp_path: Path) -> Path:
    """A catalogue "xx" translating every message of the shipped template to ‹message›, placeholders kept."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po, write_po

    with open(i18n.LOCALE_DIR / "portal.pot", "rb") as fh:
        template = read_po(fh)
    catalog = Catalog(locale="en", domain=i18n.DOMAIN)
    for message in template:
        if message.id:
            catalog.add(message.id, f"‹{message.id}›")
    po = tmp_path / "xx" / "LC_MESSAGES" / "portal.po"
    po.parent.mkdir(parents=True)
    with open(po, "wb") as fh:
        write_po(fh, catalog)
    return tmp_path


def unwrapped(text: str, data: set[str]) -> list[str]:
    """Words of ``text`` outside every ‹ › (nested ones too) and not among ``data`` (names, files, dates...)."""
    while True:
        stripped = re.sub(r"‹[^‹›]*›", " ", text)
        if stripped == text:
            break
        text = stripped
    for value in sorted(data, key=len, reverse=True):
        text = text.replace(value, " ")
    return WORDS.findall(text)


def visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    attributes = " ".join(re.findall(r'(?:alt|aria-label|title|data-msg-\w+)="([^"]*)"', html))
    return re.sub(r"<[^>]+>", " ", html).replace("&#39;", "'").replace("&amp;", "&") + " " + attributes


@pytest.fixture
def pseudo(programme, tmp_path, monkeypatch):
    monkeypatch.setattr(i18n, "LOCALE_DIR", pseudo_catalogue(tmp_path / "locale"))
    yield make_app(dataclasses.replace(programme, portal=dataclasses.replace(programme.portal, language="xx")))
    i18n.use("en")  # the next app of this process speaks English again


def test_in_a_pseudo_locale_no_visible_string_escapes_translation(pseudo, programme):
    app = pseudo
    data = {programme.short_name, programme.name, "SHA-256", "focal point", "secretariat", "testclient",
            *programme.members, *programme.members.values(), *programme.deliverables,
            *(d.title for d in programme.deliverables.values()), "KHM_chapter.pdf", "KHM_legend.csv", "evil.csv"}
    token, _ = app.state.store.add_token("KHM", "focal point")
    anonymous = TestClient(app)
    pages = {"/login": anonymous.get("/login").text, "401": anonymous.get("/country/KHM").text}
    nonce = CSRF_FIELD.search(pages["/login"]).group(1)
    pages["failed login"] = anonymous.post("/login", data={"token": "atp_wrong", "csrf": nonce}).text
    khm = login(app, "KHM")
    did = new_delivery(khm, "KHM")
    khm.post(f"/deliveries/{did}/files", data={"csrf": khm.csrf},
             files=[("files", ("KHM_chapter.pdf", b"%PDF-1.4 x", "application/pdf")),
                    ("files", ("../evil.csv", b"x", "text/csv"))])
    pages["delivery with notices"] = khm.get(f"/deliveries/{did}").text
    pages["404"] = khm.get("/deliveries/nothing").text
    pages["403"] = khm.get("/country/THA").text
    refused = start_upload(khm, did, "evil\x00.tif", 3).json()["detail"]
    upload(khm, did, "KHM_legend.csv", b"code,name\n1,Solonchak\n")
    send(khm, did)
    pages["country"] = khm.get("/country/KHM").text
    sec = login(app, "secretariat")
    pages["secretariat"] = sec.get("/secretariat").text
    for name, html in pages.items():
        assert unwrapped(visible_text(html), data) == [], (name, visible_text(html))
    assert unwrapped(refused, data | {"evil", "tif"}) == []
    mails = sorted((programme.processed_dir / "portal" / "outbox").glob("*.eml"))
    assert len(mails) == 2  # received, verdict
    for path in mails:
        message = email.message_from_string(path.read_text(encoding="utf-8"), policy=email.policy.default)
        body = message.get_content()
        body = re.sub(r"sha256 [0-9a-f]{64}", "", body)
        assert unwrapped(message["Subject"] + " " + body, data | {"atlas"}) == [], path.name
