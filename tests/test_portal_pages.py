"""Pages for people on slow links: no CDN, under 200 kB without a map, labelled forms, strings ready for gettext."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest
from portal_helpers import login, make_app, new_delivery, send, upload

from atlas.errors import AtlasError
from atlas.portal import i18n
from atlas.portal.app import HERE, create_app

PAGE_LIMIT = 200_000
ASSET = re.compile(r'(?:src|href)="([^"#]+)"')


CSS_URL = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])([^'")\s]+)""")
EXTERNAL = re.compile(r"""(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}|\bhttps?:""")


def weight(client, path: str) -> tuple[int, list[str]]:
    """Bytes of the page and of everything it loads from the portal (scripts, style sheets and the fonts and
    images those name); the URLs it loads."""
    html = client.get(path).text
    urls = ASSET.findall(html)
    total, seen = len(html.encode()), set()
    queue = [u for u in urls if u.startswith("/static/")]
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        body = client.get(url).content
        total += len(body)
        if url.endswith(".css"):
            found = CSS_URL.findall(body.decode("utf-8"))
            urls += found
            queue += [u for u in found if u.startswith("/static/")]
    return total, urls


@pytest.fixture
def app(programme):
    return make_app(programme)


def test_pages_without_a_map_weigh_under_200_kb_and_load_nothing_from_elsewhere(app, capsys):
    khm = login(app, "KHM")
    staged = new_delivery(khm, "KHM")
    upload(khm, staged, "a.txt", b"abc")
    sent = new_delivery(khm, "KHM")
    upload(khm, sent, "b.txt", b"abc")
    send(khm, sent)
    sec = login(app, "secretariat")
    for _ in range(200):  # a long audit
        app.state.store.audit("download", "token 1 (focal point)", "KHM", "KHM", "x" * 60, "203.0.113.9")
    weights = {}
    for client, path in ((khm, "/login"), (khm, "/country/KHM"), (khm, f"/deliveries/{staged}"),
                         (khm, f"/deliveries/{sent}"), (sec, "/secretariat"), (sec, "/audit"), (khm, "/guide"),
                         (khm, "/deliveries/nothing")):
        total, urls = weight(client, path)
        weights[path] = total
        assert total < PAGE_LIMIT, (path, total)
        assert all(u.startswith("/") and not u.startswith("//") for u in urls), urls  # no other host
    print("page weights (bytes, with CSS and JS):", weights)


def test_the_content_security_policy_allows_no_other_host(app):
    policy = login(app, "KHM").get("/country/KHM").headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy and "http" not in policy


def test_every_form_field_has_a_label_and_every_button_a_name():
    for template in (HERE / "templates").glob("*.j2"):
        text = template.read_text(encoding="utf-8")
        for field_id in re.findall(r'<input id="([^"]+)"', text):
            assert f'<label for="{field_id}">' in text, (template.name, field_id)
        for button in re.findall(r"<button[^>]*>(.*?)</button>", text, re.S):
            assert button.strip(), template.name


def test_every_page_string_goes_through_gettext_and_the_catalogue_is_current(tmp_path):
    pot = tmp_path / "portal.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", str(HERE / "babel.cfg"),
                    "--no-location", "--omit-header", "-o", str(pot), str(HERE)], check=True, capture_output=True)
    fresh = set(re.findall(r'^msgid "(.+)"$', pot.read_text(encoding="utf-8"), re.M))
    shipped = set(re.findall(r'^msgid "(.+)"$', (i18n.LOCALE_DIR / "portal.pot").read_text(encoding="utf-8"), re.M))
    assert fresh == shipped, "run pybabel extract (docs/OPERATIONS.md): the catalogue is out of date"
    english = (i18n.LOCALE_DIR / "en" / "LC_MESSAGES" / "portal.po").read_text(encoding="utf-8")
    assert fresh <= set(re.findall(r'^msgid "(.+)"$', english, re.M))
    # no sentence of visible text outside _(): text between tags is only markup, variables or punctuation
    for template in (HERE / "templates").glob("*.j2"):
        text = re.sub(r"{[{%#].*?[}%#]}", "", template.read_text(encoding="utf-8"), flags=re.S)
        text = re.sub(r"<(script|style)\b.*?</\1>", "", text, flags=re.S)
        loose = [t.strip() for t in re.findall(r">([^<]+)<", text) if re.search(r"[A-Za-z]{3,}", t)]
        assert loose in ([], ["SHA-256"]), (template.name, loose)


def test_a_translated_catalogue_changes_the_pages(tmp_path):
    po = tmp_path / "km" / "LC_MESSAGES" / "portal.po"
    po.parent.mkdir(parents=True)
    po.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
                  'msgid "Log in"\nmsgstr "ចូល"\n', encoding="utf-8")
    env = i18n.environment(HERE / "templates", "km", tmp_path)
    html = env.get_template("login.html.j2").render(session=None, csrf="x", error="", programme=type(
        "P", (), {"short_name": "ASP", "name": "ASP"})(), members={})
    assert "ចូល" in html and ">Log in<" not in html


def test_an_unknown_language_is_refused(programme):
    wrong = dataclasses.replace(programme, portal=dataclasses.replace(programme.portal, language="xx"))
    with pytest.raises(AtlasError, match="language = 'xx'"):
        create_app(wrong)


def test_the_uploader_and_style_sheet_are_served_by_the_portal(app):
    client = login(app, "KHM")
    for name in ("upload.js", "portal.css"):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200 and response.content == Path(HERE / "static" / name).read_bytes()


def test_no_template_or_static_file_names_another_host():
    """Nothing the portal serves points elsewhere: no CDN, no web font service, no analytics."""
    files = [*(HERE / "templates").glob("*.j2"), *(HERE / "static").iterdir()]
    assert {p.suffix for p in files} >= {".j2", ".css", ".js"}
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert EXTERNAL.findall(text) == [], path.name
        if path.suffix == ".css":
            assert all(u.startswith("/static/") or u.startswith("data:") for u in CSS_URL.findall(text)), path.name


def test_the_external_url_check_can_fail():
    for text in ('<script src="https://cdn.example.org/x.js">', "@import url(//fonts.example.com/css);",
                 '<link href="http://example.org/a.css">'):
        assert EXTERNAL.findall(text), text
    assert CSS_URL.findall("@font-face { src: url('/static/a.woff2') }") == ["/static/a.woff2"]
