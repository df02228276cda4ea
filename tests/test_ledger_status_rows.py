"""Status rows as meetings read them: best state, deadlines, lateness, order, coverage; the XLSX read back."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from openpyxl import load_workbook
from test_ledger_store import make_submission

from atlas.config import StatusSettings
from atlas.ledger.exports import export_status
from atlas.ledger.rows import build_status_rows
from atlas.ledger.status_table import states_present, status_summary
from atlas.ledger.store import Ledger

TODAY = dt.date(2026, 7, 20)  # salinity_map due 2026-06-30, book_chapter due 2026-02-28


def _row(ledger, country, deliverable):
    return next(r for r in ledger.status_rows(TODAY) if (r.country, r.deliverable) == (country, deliverable))


def _accept(ledger, tmp_path, country, deliverable, delivery, content, verdict="accepted", publish=False):
    rec = ledger.record_submission(make_submission(tmp_path, country, deliverable, delivery, content))
    ledger.record_validation(rec.id, verdict, {}, None)
    if publish:
        ledger.mark(rec.id, "harmonized")
        ledger.mark(rec.id, "published", product="GSSmap")
    return rec


def test_a_rejected_resubmission_never_makes_a_published_version_overdue(programme, tmp_path):
    with Ledger(programme.ledger_path, programme) as ledger:
        _accept(ledger, tmp_path, "KHM", "salinity_map", "2026-03-01", b"v1", publish=True)
        _accept(ledger, tmp_path, "KHM", "salinity_map", "2026-07-10", b"v2", verdict="rejected")
        row = _row(ledger, "KHM", "salinity_map")
        assert (row.state, row.shown_state, row.best_version) == ("rejected", "published", 1)
        assert not row.overdue
        assert row.cell() == "published v1 2026-03-01 · on time · v2 rejected"
        summary = {s.deliverable: s for s in status_summary(ledger.status_rows(TODAY))}["salinity_map"]
        assert (summary.accepted, summary.published) == (1, 1)
        assert summary.overdue == len(programme.members) - 1


def test_late_by_days_from_the_arrival_date_and_overdue_by_days(programme, tmp_path):
    with Ledger(programme.ledger_path, programme) as ledger:
        _accept(ledger, tmp_path, "IND", "book_chapter", "2026-03-10", b"late chapter")
        _accept(ledger, tmp_path, "THA", "book_chapter", "2026-02-28", b"on the day")
        rec = ledger.record_submission(make_submission(tmp_path, "NPL", "book_chapter", "2026-02-01", b"x"))
        ledger.record_validation(rec.id, "rejected", {"error": 1}, None)
        assert _row(ledger, "IND", "book_chapter").cell().endswith("· 10 d late")
        assert _row(ledger, "THA", "book_chapter").timeliness() == "on time"
        npl = _row(ledger, "NPL", "book_chapter")
        assert npl.overdue and npl.timeliness() == f"overdue {(TODAY - dt.date(2026, 2, 28)).days} d"
        chapters = {s.deliverable: s for s in status_summary(ledger.status_rows(TODAY))}["book_chapter"]
        assert chapters.late == 1
        sentence = chapters.sentence("Book chapter")
        assert "published" not in sentence and "2 accepted, 1 late" in sentence  # documents are never published


def test_rows_in_country_name_order_or_the_configured_order(programme):
    rows = build_status_rows(programme, {}, {}, TODAY)
    names = list(dict.fromkeys(r.name for r in rows))
    assert names == sorted(names, key=str.casefold) and names[0] == "Bangladesh" and names[-1] == "Viet Nam"
    ordered = dataclasses.replace(programme, status=StatusSettings(country_order=("VNM", "KHM")))
    countries = list(dict.fromkeys(r.country for r in build_status_rows(ordered, {}, {}, TODAY)))
    assert countries[:3] == ["VNM", "KHM", "BGD"]


def test_coverage_shows_when_the_ledger_records_it(programme):
    version = {"version": 1, "state": "accepted", "received": "2026-03-01", "counts": None, "coverage": 0.82}
    rows = build_status_rows(programme, {("LKA", "salinity_map"): [version]}, {}, TODAY)
    row = next(r for r in rows if (r.country, r.deliverable) == ("LKA", "salinity_map"))
    assert row.coverage == 0.82 and "82% covered" in row.cell()
    without = build_status_rows(programme, {("LKA", "salinity_map"): [{**version, "coverage": None}]}, {}, TODAY)
    assert "covered" not in next(r for r in without if r.country == "LKA").cell()


def test_legend_lists_only_states_some_country_is_in(programme):
    version = {"version": 1, "state": "rejected", "received": "2026-03-01", "counts": None}
    rows = build_status_rows(programme, {("LKA", "salinity_map"): [version]}, {}, TODAY)
    assert states_present(rows) == ["not_received", "rejected"]


def test_xlsx_title_date_print_setup_real_dates_frozen_header(programme, tmp_path):
    with Ledger(programme.ledger_path, programme) as ledger:
        _accept(ledger, tmp_path, "KHM", "salinity_map", "2026-03-01", b"v1", publish=True)
        written = export_status(ledger, programme, tmp_path / "status", ["xlsx", "html"], today=TODAY)
    wb = load_workbook(written["xlsx"][0])
    for ws in wb.worksheets:
        assert programme.name in str(ws["A1"].value), ws.title
        assert ws["A2"].value == dt.datetime(2026, 7, 20) and ws["A2"].is_date, ws.title
        assert ws["A2"].number_format == '"Status as of "yyyy-mm-dd', ws.title  # the label is the date's format
        assert ws.oddFooter.right.text == "Page &P of &N" and ws.oddHeader.left.text, ws.title
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1, ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert ws.freeze_panes is not None and ws.freeze_panes.endswith("5"), ws.title  # header in row 4
    status = wb["Status"]
    assert status["C4"].value == "National soil salinity map (GSSmap) (due 2026-06-30)"
    assert status.print_title_rows == "$4:$4"
    details = wb["Details"]
    header = [c.value for c in details[4]]
    khm = next(r for r in details.iter_rows(min_row=5) if r[0].value == "KHM"
               and r[2].value == "National soil salinity map (GSSmap)")
    received = khm[header.index("Received (version shown)")]
    assert received.is_date and received.value == dt.datetime(2026, 3, 1)
    assert khm[header.index("Deadline")].value == dt.datetime(2026, 6, 30)
    summary_text = " ".join(str(c.value) for row in wb["Summary"].iter_rows() for c in row if c.value)
    assert "harmonized" not in summary_text and "published" in summary_text  # a legend without empty states
    page = written["html"][0].read_text(encoding="utf-8")
    assert 'due <span class="date">2026-06-30</span>' in page and ">harmonized<" not in page


def test_completing_after_the_deadline_keeps_an_on_time_delivery_on_time(programme, tmp_path):
    """Issue 23: a partial delivery accepted on time, completed after the deadline, is not "N d late"."""
    with Ledger(programme.ledger_path, programme) as ledger:
        _accept(ledger, tmp_path, "VNM", "salinity_map", "2026-05-20", b"4 layers", publish=True)
        _accept(ledger, tmp_path, "VNM", "salinity_map", "2026-07-10", b"16 layers", publish=True)
        _accept(ledger, tmp_path, "IND", "salinity_map", "2026-07-05", b"late and complete")
        rows = ledger.status_rows(TODAY)
        written = export_status(ledger, programme, tmp_path / "status", ["csv", "md", "html", "xlsx"], today=TODAY)
    vnm = next(r for r in rows if (r.country, r.deliverable) == ("VNM", "salinity_map"))
    assert (vnm.best_version, vnm.delivered_version, vnm.delivered) == (2, 1, dt.date(2026, 5, 20))
    assert vnm.timeliness() == "delivered on time (v1 2026-05-20)" and "late" not in vnm.cell()
    assert vnm.completion() == "updated 2026-07-10"  # the ledger holds no layer list: not known to be complete
    complete = dataclasses.replace(vnm, layers_in_use=16, layers_total=16)
    assert complete.cell().endswith("all 16 layers · delivered on time (v1 2026-05-20) · completed 2026-07-10")
    ind = next(r for r in rows if (r.country, r.deliverable) == ("IND", "salinity_map"))
    assert ind.timeliness() == "5 d late" and ind.completion() == ""  # one late delivery is simply late
    summary = {s.deliverable: s for s in status_summary(rows)}["salinity_map"]
    assert (summary.late, summary.completed_later) == (1, 1)
    assert "1 late, 1 completed or updated after the deadline" in summary.sentence()

    csv_vnm = next(line for line in written["csv"][0].read_text(encoding="utf-8").splitlines()
                   if line.startswith("VNM,Viet Nam,salinity_map"))
    assert "delivered on time (v1 2026-05-20)" in csv_vnm and "updated 2026-07-10" in csv_vnm
    for fmt in ("md", "html"):
        text = re.sub(r"<[^>]+>", "", written[fmt][0].read_text(encoding="utf-8"))  # the page's text, as read
        assert "delivered on time (v1 2026-05-20) · updated 2026-07-10" in text, fmt
        assert "measured by the first accepted delivery" in text, fmt
    wb = load_workbook(written["xlsx"][0])
    assert any("measured by the first accepted delivery" in str(c.value) for c in wb["Status"]["A"])
    assert any("measured by the first accepted delivery" in str(c.value) for c in wb["Summary"]["A"])
    details = wb["Details"]
    header = [c.value for c in details[4]]
    line = next(r for r in details.iter_rows(min_row=5, values_only=True) if r[0] == "VNM" and r[2].startswith(
        "National soil salinity"))
    assert line[header.index("Delivered on")] == dt.datetime(2026, 5, 20)
    assert line[header.index("Days late")] == 0  # on time: never a negative lateness
    assert line[header.index("Completed or updated after the deadline")] == "updated 2026-07-10"


def test_xlsx_details_in_words_real_dates_and_rows_tall_enough_for_their_text(programme, tmp_path):
    """Issue 23: the Details sheet is for people; no row of any sheet is shorter than its wrapped text."""
    with Ledger(programme.ledger_path, programme) as ledger:
        _accept(ledger, tmp_path, "KHM", "salinity_map", "2026-03-01", b"v1", publish=True)
        _accept(ledger, tmp_path, "KHM", "salinity_map", "2026-07-10", b"v2", verdict="rejected")
        written = export_status(ledger, programme, tmp_path / "status", ["xlsx"], today=TODAY)
    wb = load_workbook(written["xlsx"][0])
    details = wb["Details"]
    header = [c.value for c in details[4]]
    assert all(h and "_" not in h for h in header), header  # no code names
    values = [dict(zip(header, r, strict=True)) for r in details.iter_rows(min_row=5, values_only=True)]
    states = {v["State"] for v in values} | {v["State of the newest version"] for v in values}
    assert "not received" in states and not any("_" in str(s) for s in states)
    assert {v["Overdue"] for v in values} == {"yes", "no"}
    assert all(v["Days late"] is None or v["Days late"] >= 0 for v in values)
    khm = next(v for v in values if v["ISO3"] == "KHM" and v["Deliverable"].startswith("National soil salinity"))
    assert isinstance(khm["Last change (UTC)"], dt.datetime)  # a date, not text
    assert khm["Days late"] == 0 and khm["Later versions"] == "v2 rejected"
    for ws in wb.worksheets:
        for row in ws.iter_rows(min_row=4):
            wrapped = [c for c in row if isinstance(c.value, str) and c.alignment.wrap_text
                       and c.coordinate not in ws.merged_cells]
            for cell in wrapped:
                width = ws.column_dimensions[cell.column_letter].width
                # at least one line per (width - 1) characters (0.85 x width in bold): the print in LibreOffice
                # with DejaVu Sans, wider than Calibri, fits that many
                per_line = int(width * (0.85 if cell.font.b else 1.0)) - 1
                lines = -(-len(str(cell.value)) // per_line)
                assert ws.row_dimensions[cell.row].height >= 15 * lines, (ws.title, cell.coordinate, cell.value)
