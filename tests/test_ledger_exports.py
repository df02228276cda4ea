"""Meeting exports: every format written, read back and checked against the ledger."""

from __future__ import annotations

import csv
import datetime as dt
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import geopandas as gpd
import numpy as np
import pytest
from matplotlib.colors import to_hex
from openpyxl import load_workbook
from PIL import Image
from shapely.geometry import box
from test_ledger_store import make_submission

from atlas.ledger.exports import ALL_FORMATS, ExportError, export_status, status_html
from atlas.ledger.schema import StatusRow
from atlas.ledger.status_table import (
    OVERDUE_COLOUR,
    PALETTE,
    render_country_history,
    render_status_table,
    status_markdown,
    status_summary,
)
from atlas.ledger.store import Ledger

TODAY = dt.date(2026, 7, 1)  # salinity_map (due 2026-06-30) and book_chapter are past their deadline
# salinity map states set up below; everything else is not received
SALINITY = {"KHM": "published", "THA": "rejected", "VNM": "accepted_with_warnings", "IND": "received"}


def rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))


@pytest.fixture
def ledger(programme, tmp_path):
    with Ledger(programme.ledger_path, programme) as led:
        for i, (iso3, state) in enumerate(SALINITY.items()):
            rec = led.record_submission(make_submission(tmp_path, iso3, "salinity_map", f"2026-03-0{i + 1}", b"a"))
            if state == "received":
                continue
            verdict = "accepted" if state == "published" else state
            findings = [{"check_id": "grid.misaligned", "severity": "error", "message": "origin off the grid",
                         "location": {"file": "x.tif"}, "hint": "snap to 1/120 degree"}] if state == "rejected" else []
            led.record_validation(rec.id, verdict, {"error": len(findings)}, None, findings)
            if state == "published":
                led.mark(rec.id, "harmonized")
                led.mark(rec.id, "published", product="GSSmap")
        yield led


@pytest.fixture
def boundaries():
    """Big boxes for four members and a non-member; Singapore and the others have no geometry."""
    cells = {"KHM": (100, 10), "THA": (96, 14), "VNM": (104, 14), "IND": (76, 18), "LAO": (100, 18)}
    return gpd.GeoDataFrame(
        {"iso3": list(cells), "name": list(cells), "geometry": [box(x, y, x + 4, y + 4) for x, y in cells.values()]},
        crs="EPSG:4326",
    )


def test_every_format_is_written_and_read_back(ledger, programme, boundaries, tmp_path):
    out = tmp_path / "status"
    written = export_status(ledger, programme, out, boundaries=boundaries, today=TODAY)
    assert set(ALL_FORMATS) <= set(written)
    n_members, n_deliverables = len(programme.members), len(programme.deliverables)
    rows = ledger.status_rows(TODAY)

    # csv: one line per member x deliverable, states and versions as in the ledger
    with open(written["csv"][0], encoding="utf-8") as fh:
        records = list(csv.DictReader(fh))
    assert len(records) == n_members * n_deliverables
    assert [(r["country"], r["deliverable"], r["state"]) for r in records] == [
        (r.country, r.deliverable, r.state) for r in rows]
    sal = {r["country"]: r for r in records if r["deliverable"] == "salinity_map"}
    assert {k: sal[k]["state"] for k in SALINITY} == SALINITY
    assert sal["KHM"]["published_version"] == "1" and sal["BGD"]["state"] == "not_received"
    assert sal["THA"]["overdue"] == "True" and sal["VNM"]["overdue"] == "False"

    # xlsx: cells, fills per state, frozen header, widths
    wb = load_workbook(written["xlsx"][0])
    ws = wb["Status"]
    top = next(r for r in range(1, 10) if ws.cell(row=r, column=1).value == "ISO3")
    assert ws.freeze_panes == f"C{top + 1}"
    assert ws.max_row == n_members + top + 2  # a blank row and the timeliness rule below the table
    header = [c.value for c in ws[top]]
    col = header.index("National soil salinity map (GSSmap) (due 2026-06-30)") + 1
    by_iso = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=col) for r in range(top + 1, top + 1 + n_members)}
    assert set(by_iso) == set(programme.members)
    for iso3, state in SALINITY.items():
        assert by_iso[iso3].fill.fgColor.rgb.upper().endswith(PALETTE[state].lstrip("#").upper()), iso3
    assert by_iso["BGD"].fill.fgColor.rgb.upper().endswith(PALETTE["not_received"].lstrip("#").upper())
    assert by_iso["KHM"].value.startswith("published v1 2026-03-01")
    assert "overdue 1 d" in by_iso["THA"].value and by_iso["THA"].font.b
    assert ws.column_dimensions["C"].width >= 30
    assert wb["Details"].max_row == n_members * n_deliverables + top
    assert "4 of 19 countries submitted" in " ".join(str(c.value) for c in wb["Summary"]["C"])

    # markdown: a table line per member and the summary
    md = written["md"][0].read_text(encoding="utf-8")
    assert len([line for line in md.splitlines() if re.match(r"^\| [A-Z]{3} \|", line)]) == n_members
    assert "National soil salinity map (GSSmap): 4 of 19 countries submitted, 2 accepted, 1 published, 17 overdue" in md
    assert "(due 2026-06-30)" in md

    # html: a row per country, each cell coloured by its state
    page = written["html"][0].read_text(encoding="utf-8")
    parser = RowParser()
    parser.feed(page)
    assert sorted(parser.countries) == sorted(programme.members)
    assert parser.cells[("KHM", 0)] == ("published", PALETTE["published"])
    assert parser.cells[("THA", 0)] == ("rejected", PALETTE["rejected"])
    assert "data:image/png;base64," in page  # maps inlined: the page stands alone
    assert "<link" not in page and "<script" not in page

    # summary
    assert "4 of 19 countries submitted" in written["summary"][0].read_text(encoding="utf-8")


class RowParser(HTMLParser):
    """Collects <tr data-country> rows and their cells' data-state and background colour."""

    def __init__(self):
        super().__init__()
        self.countries: list[str] = []
        self.cells: dict[tuple[str, int], tuple[str, str]] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and "data-country" in attrs:
            self.countries.append(attrs["data-country"])
        elif tag == "td" and "data-state" in attrs:
            index = sum(1 for k in self.cells if k[0] == self.countries[-1])
            background = re.search(r"background:(#[0-9A-Fa-f]{6})", attrs["style"]).group(1)
            self.cells[(self.countries[-1], index)] = (attrs["data-state"], background)


def test_status_maps_are_slide_sized_and_carry_the_state_colours(ledger, programme, boundaries, tmp_path):
    written = export_status(ledger, programme, tmp_path, ["png", "svg"], boundaries=boundaries, today=TODAY)
    assert set(written) == {"png", "svg", "summary"}
    assert len(written["png"]) == len(written["svg"]) == len(programme.deliverables) + 1  # and the 2x2 panel
    with Image.open(tmp_path / "status_map_panel.png") as im:
        assert im.size == (1600, 900)
    png = tmp_path / "status_map_salinity_map.png"
    assert png in written["png"]
    with Image.open(png) as im:
        assert im.size == (1600, 900)
        pixels = np.asarray(im.convert("RGB")).reshape(-1, 3)

    def count(state: str) -> int:
        return int(np.all(pixels == rgb(PALETTE[state]), axis=1).sum())

    # a 4-degree box covers about a thousand pixels of a map of the whole membership; a legend patch a few hundred
    for state in ("published", "rejected", "accepted_with_warnings", "received"):
        assert count(state) > 800, state
    assert count("accepted") == 0  # no member is in that state: not even in the legend
    assert count("harmonized") == 0
    svg = ET.parse(tmp_path / "status_map_salinity_map.svg").getroot()
    text = ET.tostring(svg, encoding="unicode").lower()
    assert svg.tag.endswith("svg") and PALETTE["rejected"].lower() in text
    # every member is on the map: boxes from the reference, Natural Earth for the rest, dots for island states
    labels = {t.text for t in svg.iter() if t.tag.endswith("text") and t.text}
    assert set(programme.members) <= labels


def test_maps_without_boundaries_still_draw_legend_and_caption(ledger, programme, tmp_path):
    written = export_status(ledger, programme, tmp_path, ["png"], boundaries=None, today=TODAY)
    with Image.open(written["png"][0]) as im:
        assert im.size == (1600, 900)


def test_only_the_asked_formats_and_unknown_formats_raise(ledger, programme, tmp_path):
    written = export_status(ledger, programme, tmp_path, ["csv", "md"], today=TODAY)
    assert set(written) == {"csv", "md", "summary"}
    assert not list(tmp_path.glob("*.xlsx")) and not list(tmp_path.glob("*.png"))
    with pytest.raises(ExportError):
        export_status(ledger, programme, tmp_path, ["pdf"], today=TODAY)


def test_resubmission_shows_new_version_and_keeps_history(ledger, programme, tmp_path):
    new = ledger.record_submission(make_submission(tmp_path, "THA", "salinity_map", "2026-05-20", b"fixed"))
    ledger.record_validation(new.id, "accepted", {}, None, [])
    written = export_status(ledger, programme, tmp_path / "again", ["csv", "html"], today=TODAY)
    with open(written["csv"][0], encoding="utf-8") as fh:
        tha = next(r for r in csv.DictReader(fh) if (r["country"], r["deliverable"]) == ("THA", "salinity_map"))
    assert (tha["state"], tha["version"], tha["versions"], tha["received"]) == ("accepted", "2", "2", "2026-05-20")
    page = written["html"][0].read_text(encoding="utf-8")
    assert 'accepted v2 <span class="date">2026-05-20</span>' in page  # a date never broken across two lines
    assert ".date { white-space: nowrap; }" in page
    assert re.search(r"overdue \d+&nbsp;d<", page) and not re.search(r"\d+ d\b", page)  # "156 d" on one line
    history = render_country_history(ledger, "THA", today=TODAY)
    assert "v1" in history and "received -> rejected" in history
    assert "received (resubmission; v1 was rejected)" in history and "v2    received -> accepted" in history


def test_terminal_table_markdown_and_summary(ledger, programme):
    rows = ledger.status_rows(TODAY)
    plain = render_status_table(rows)
    lines = plain.splitlines()
    assert sum(1 for line in lines if re.match(r"^[A-Z]{3} ", line)) == len(programme.members)
    assert "\x1b[" not in plain and "\x1b[" in render_status_table(rows, color=True)
    summary = {s.deliverable: s for s in status_summary(rows)}
    assert (summary["salinity_map"].submitted, summary["salinity_map"].accepted) == (4, 2)
    assert summary["soil_map"].submitted == 0 and summary["soil_map"].overdue == 0
    md = status_markdown(rows)
    assert md.count(" d**") == sum(r.overdue for r in rows)
    page = status_html(rows, programme, TODAY)
    assert page.count("<tr data-country=") == len(programme.members)


def test_country_history_shows_findings_of_last_submission(ledger):
    text = render_country_history(ledger, "tha", today=TODAY)
    assert text.startswith("Thailand (THA)")
    assert "[error] grid.misaligned: origin off the grid (x.tif)" in text
    assert "fix: snap to 1/120 degree" in text and "salinity_map v1: rejected" in text
    assert "not received -> received" in text
    assert "not a member" in render_country_history(ledger, "FRA")


def test_region_across_the_antimeridian_is_drawn_in_one_piece():
    from atlas.ledger.status_map import _extent, _shift_antimeridian

    gdf = gpd.GeoDataFrame({"iso3": ["FJI", "WSM"]}, geometry=[box(176, -18, 179, -16), box(-173, -15, -171, -13)],
                           crs="EPSG:4326")
    shifted = _shift_antimeridian(gdf)
    west, _, east, _ = shifted.total_bounds
    assert (west, east) == (176, 189)  # 13 degrees wide, not 352
    view = _extent(shifted, {}, (170.0, -20.0, -170.0, 0.0), 16 / 9)
    assert view[0] < 176 and view[2] > 189 and view[2] - view[0] < 40


def _status_row(iso3: str, state: str, overdue: bool) -> StatusRow:
    return StatusRow(country=iso3, name=iso3, deliverable="salinity_map", state=state, version=None, received=None,
                     updated=None, versions=0, last_accepted_version=None, published_version=None,
                     deadline=None, overdue=overdue)


@pytest.mark.parametrize(("count", "grid"), [(1, (1, 1)), (2, (2, 1)), (4, (2, 2)), (6, (3, 2))])
def test_the_panel_grid_draws_each_map_largest(count, grid):
    """Four deliverables on a 2 x 2 slide, six on 3 x 2: two wide columns would leave each map a strip."""
    from atlas.ledger.status_map import panel_grid

    assert panel_grid(count, 1.3, (15.8, 7.6), 0.54) == grid


@pytest.mark.parametrize("label_size", [13, 9])  # a map of its own, and a map of the panel
def test_small_members_keep_their_state_visible_beside_their_label(label_size):
    """Issue 23: a small member (Bhutan) gets a leader-line label in its state's colour that covers no member."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from atlas.ledger.status_map import draw_map_axes

    shapes = gpd.GeoDataFrame({"iso3": ["CHN", "BTN", "LKA"]}, geometry=[
        box(80, 20, 110, 40), box(89.5, 27.0, 90.5, 27.8), box(80.0, 6.0, 81.5, 9.5)], crs="EPSG:4326")
    rows = {"CHN": _status_row("CHN", "published", False), "BTN": _status_row("BTN", "not_received", True),
            "LKA": _status_row("LKA", "rejected", True), "MDV": _status_row("MDV", "not_received", True)}
    others = gpd.GeoDataFrame({"iso3": []}, geometry=[], crs="EPSG:4326")
    fig = Figure(figsize=(16, 9), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.01, 0.04, 0.72, 0.84))
    draw_map_axes(ax, rows, shapes, others, {"MDV": (73.5, 4.2)}, (70, 0, 115, 45), 1.5, label_size=label_size)
    fig.canvas.draw()  # label boxes take their drawn place and size
    # an overdue member's label is its state-coloured box inside a hatched frame (the legend's "overdue")
    labels = {t.get_text(): t for t in ax.texts if t.get_color() != "none"}
    frames = {t.get_text(): t for t in ax.texts if t.get_color() == "none"}
    assert set(labels) == set(rows) and set(frames) == {"BTN", "LKA", "MDV"}
    drawn = {iso3: ax.transData.transform(np.asarray(g.bounds).reshape(2, 2))
             for iso3, g in zip(shapes["iso3"], shapes.geometry, strict=True)}
    for iso3 in ("BTN", "LKA", "MDV"):
        patch = labels[iso3].get_bbox_patch()
        assert to_hex(patch.get_facecolor()) == PALETTE[rows[iso3].shown_state].lower(), iso3
        frame = frames[iso3].get_bbox_patch()
        assert frame.get_hatch() and to_hex(frame.get_edgecolor()) == OVERDUE_COLOUR.lower(), iso3
        assert frame.get_window_extent().width > patch.get_window_extent().width, iso3  # around the box
        box_px = frame.get_window_extent()
        assert box_px.width > 2 * label_size and box_px.height > label_size, iso3  # a drawn box, in pixels
        for other, ((x0, y0), (x1, y1)) in drawn.items():
            if other != "CHN":  # the large member may lie under a neighbour's label, it shows its state around it
                assert box_px.x1 <= x0 or box_px.x0 >= x1 or box_px.y1 <= y0 or box_px.y0 >= y1, (iso3, other)
    # the large member is labelled inside, on a pale box, and its label lies within it
    chn = labels["CHN"].get_bbox_patch().get_window_extent()
    (x0, y0), (x1, y1) = drawn["CHN"]
    assert x0 <= chn.x0 and chn.x1 <= x1 and y0 <= chn.y0 and chn.y1 <= y1
