"""The portal in a real browser: Debian's chromium driven by Playwright, against a real uvicorn server.

KHM logs in from the keyboard, uploads a demo delivery (its legacy soil map), sees the verdict and the map,
downloads the crosswalk template; THA's report stays closed to KHM; the secretariat sees both.
Skips, with the reason, only where no chromium or no playwright is installed (.ci/run installs chromium).
Screenshots go to tmp_path, or to $PORTAL_SCREENSHOTS when set (to look at them).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from atlas.config import DEFAULT_CONFIG, load_programme
from atlas.portal.app import create_app

BROWSERS = ("chromium", "chromium-browser")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chromium() -> str:
    found = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
    if found is None:
        pytest.skip("no chromium on this machine (apt-get install -y chromium; .ci/run does it)")
    pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency: pip install -e .[dev]")
    return found


@pytest.fixture(scope="module")
def portal(tmp_path_factory, chromium):
    """A demo programme (KHM and THA deliveries moved out of the inbox, to upload) served on 127.0.0.1."""
    import uvicorn

    from atlas.demo.programme import generate_demo

    root = tmp_path_factory.mktemp("portal_root")
    shutil.copy(DEFAULT_CONFIG, root / "programme.toml")
    programme = load_programme(root / "programme.toml")
    generate_demo(programme, countries=["KHM", "THA"])
    source = root / "to_upload"
    shutil.move(programme.raw_dir, source)
    app = create_app(programme, launcher=lambda prog, country, config, store, by: store.add_run(country, "x.log", by))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.started, "the portal did not start"
    roles = ("KHM", "THA", "secretariat")
    tokens = {role: app.state.store.add_token(role, f"browser test {role}")[0] for role in roles}
    yield {"url": f"http://127.0.0.1:{port}", "tokens": tokens, "source": source, "programme": programme,
           "app": app}
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("PORTAL_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def log_in(page, url: str, token: str) -> None:
    """Log in from the keyboard: type the token into its field, Enter submits."""
    page.goto(f"{url}/login")
    page.focus("#token")
    page.keyboard.type(token)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def press_tab_to(page, text: str, limit: int = 40) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.textContent.trim()") == text:
            return
    raise AssertionError(f"{text!r} cannot be reached with Tab")


def upload_and_send(page, files: list[Path], shot: Path | None = None) -> None:
    press_tab_to(page, "Start a new delivery")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.set_input_files("#files", [str(f) for f in files])
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("text=Send delivery", timeout=120_000)
    if shot:
        page.screenshot(path=shot, full_page=True)
    page.click("text=Send delivery")
    page.wait_for_selector("h2:has-text('Verdict')", timeout=300_000)


def test_khm_uploads_sees_its_verdict_and_map_but_not_thailands(portal, chromium, shots):
    from playwright.sync_api import sync_playwright

    url, tokens, source = portal["url"], portal["tokens"], portal["source"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
        page = context.new_page()
        outside = []
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(url) else None)

        # Thailand sends its chapter first
        log_in(page, url, tokens["THA"])
        assert page.url.endswith("/country/THA")
        upload_and_send(page, sorted((source / "THA").rglob("*.docx")))
        tha_delivery = page.url
        tha_report = page.locator("a:has-text('Open the full report')").first.get_attribute("href")
        with page.expect_navigation():
            page.click("button:has-text('Log out')")

        # Cambodia: login, upload its legacy soil map, the verdict with its map, the crosswalk template
        log_in(page, url, tokens["KHM"])
        assert page.url.endswith("/country/KHM")
        page.screenshot(path=shots / "portal_country.png", full_page=True)
        upload_and_send(page, [next((source / "KHM").rglob("KHM_soil.zip"))], shots / "portal_staged.png")
        assert page.locator(".verdict").first.is_visible()
        map_image = page.locator("img.map").first
        map_image.wait_for()
        assert page.evaluate("(img) => img.complete && img.naturalWidth > 0", map_image.element_handle())
        page.screenshot(path=shots / "portal_verdict.png", full_page=True)
        with page.expect_download() as download:
            page.click("text=Crosswalk template to fill in")
        template = Path(download.value.path()).read_text(encoding="utf-8")
        header = template.splitlines()[0].split(",")
        assert "legacy_class" in header and "rsg_code" in header
        assert len(template.splitlines()) > 1  # the map's legacy classes, to be filled in
        page.click("text=Open the full report")
        page.wait_for_load_state()
        page.screenshot(path=shots / "portal_report.png", full_page=True)

        # Thailand's delivery and report stay closed to Cambodia
        for forbidden in (tha_delivery, url + tha_report, f"{url}/country/THA"):
            response = page.goto(forbidden)
            assert response.status in (403, 404), forbidden
        page.screenshot(path=shots / "portal_forbidden.png", full_page=True)
        page.goto(f"{url}/country/KHM")
        with page.expect_navigation():
            page.click("button:has-text('Log out')")

        # the secretariat sees both
        log_in(page, url, tokens["secretariat"])
        assert page.url.endswith("/secretariat")
        rows = page.locator("tbody tr")
        assert "Cambodia" in page.content() and "Thailand" in page.content()
        assert rows.filter(has_text="Cambodia").locator(".verdict").count() == 1
        assert rows.filter(has_text="Thailand").locator(".verdict").count() == 1
        page.screenshot(path=shots / "portal_secretariat.png", full_page=True)
        assert page.goto(url + tha_report).status == 200
        assert page.goto(tha_delivery).status == 200
        browser.close()
    assert outside == []  # every script, style and image came from the portal


def test_with_javascript_off_the_plain_form_uploads_and_sends(portal, chromium, shots):
    """A focal point whose browser runs no script: the page's form posts the files, the delivery is sent."""
    from playwright.sync_api import sync_playwright

    url, tokens, source = portal["url"], portal["tokens"], portal["source"]
    chapter = next((source / "KHM").rglob("KHM_GSAS_chapter.docx"))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 1000}, java_script_enabled=False)
        page = context.new_page()
        log_in(page, url, tokens["KHM"])
        press_tab_to(page, "Start a new delivery")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.locator("noscript").count() == 1
        page.set_input_files("#files", [str(chapter)])
        with page.expect_navigation():
            page.click("#upload-form button[type=submit]")  # no script: the browser posts the form itself
        assert page.locator(f"text=Received: {chapter.name}").is_visible()
        page.screenshot(path=shots / "portal_nojs_staged.png", full_page=True)
        with page.expect_navigation(timeout=300_000):
            page.click("text=Send delivery")
        page.wait_for_selector("h2:has-text('Verdict')")
        page.screenshot(path=shots / "portal_nojs_verdict.png", full_page=True)
        did = page.url.rsplit("/", 1)[-1]
        browser.close()
    delivery = portal["app"].state.store.delivery(did)
    sent = portal["programme"].raw_dir / delivery["folder"] / chapter.name
    assert sent.read_bytes() == chapter.read_bytes()
