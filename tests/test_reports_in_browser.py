"""Pages as a person sees them: one report and the status page rendered to PNG in headless Chromium.

Asserts the page is not blank and that the report's map shows the country (its fill and outline colours)
and the located problems. Skips, with the reason, only where no Chromium is installed (.ci/run installs it).
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess

import geopandas as gpd
import numpy as np
import pytest
import shapely
from PIL import Image
from test_ledger_store import make_submission

from atlas.finding import Finding, Location, Severity
from atlas.ledger.exports import export_status
from atlas.ledger.status_table import PALETTE
from atlas.ledger.store import Ledger
from atlas.reports.report import write_reports
from atlas.reports.report_map import COLOURS, COUNTRY_EDGE, COUNTRY_FILL

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


@pytest.fixture(scope="module")
def browser() -> str:
    found = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
    if found is None:
        pytest.skip("no headless Chromium on this machine (install with: apt-get install -y chromium)")
    return found


def screenshot(browser: str, page, png, size=(1200, 1500)) -> np.ndarray:
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--screenshot={png}", f"--window-size={size[0]},{size[1]}", page.resolve().as_uri()],
                   check=True, capture_output=True, timeout=120)
    return np.asarray(Image.open(png).convert("RGB")).astype(int)


def pixels_near(image: np.ndarray, hex_colour: str, tolerance: int = 12) -> int:
    rgb = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(image - rgb).max(axis=2) <= tolerance).sum())


def not_blank(image: np.ndarray) -> float:
    """Share of pixels that are not the page's white."""
    return float((image.min(axis=2) < 235).mean())


def test_report_page_shows_verdict_and_a_map_with_the_country(browser, tmp_path):
    boundaries = gpd.GeoDataFrame({"iso3": ["KHM", "THA"], "name": ["Cambodia", "Thailand"]},
                                  geometry=[shapely.box(102.3, 10.5, 107.6, 14.7), shapely.box(97.5, 10.5, 102.3, 15)],
                                  crs="EPSG:4326")
    findings = [Finding("raster.value_range", Severity.ERROR, "3 pixels outside", Location(
                    file="KHM_GSSmap_ECe_0-30.tif", lon=104.0, lat=12.5), observed={"count": 3}, expected=[0, 300]),
                Finding("vector.spill", Severity.WARNING, "40 km² outside", Location(file="m.gpkg", lon=106, lat=13),
                        observed={"area_km2": 40.0, "share": 0.0002}, expected=0)]
    meta = {"country": "KHM", "country_name": "Cambodia", "deliverable": "salinity_map", "version": 1}
    paths = write_reports(findings, tmp_path, meta, boundaries=boundaries)
    image = screenshot(browser, paths["html"], tmp_path / "report.png")
    assert not_blank(image) > 0.02, "the report renders blank"
    assert pixels_near(image, COUNTRY_FILL, 4) > 5000, "the map does not show the country"
    assert pixels_near(image, COUNTRY_EDGE, 8) > 200, "the country outline is missing"  # 0 without the layer
    assert pixels_near(image, COLOURS["error"], 20) > 30, "the located error is not drawn"


def test_status_page_renders(browser, programme, tmp_path):
    with Ledger(programme.ledger_path, programme) as ledger:
        rec = ledger.record_submission(make_submission(tmp_path, "KHM", "salinity_map", "2026-03-01", b"a"))
        ledger.record_validation(rec.id, "accepted_with_warnings", {"warning": 1}, None, [])
        written = export_status(ledger, programme, tmp_path / "status", ["html"], today=dt.date(2026, 7, 1))
    image = screenshot(browser, written["html"][0], tmp_path / "status.png", size=(1400, 1000))
    assert not_blank(image) > 0.02, "the status page renders blank"
    assert pixels_near(image, PALETTE["accepted_with_warnings"], 10) > 100, "the state colours are not shown"
    assert pixels_near(image, PALETTE["not_received"], 10) > 100
