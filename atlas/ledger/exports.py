"""Meeting exports of the ledger: the status table (csv, xlsx, md, html), status maps (png, svg), a summary."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import html
import logging
import re
import textwrap
from collections.abc import Iterable, Sequence
from pathlib import Path

import geopandas as gpd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from atlas.atomic import publish, temp_path, write_atomic
from atlas.cells import safe_records, safe_workbook
from atlas.config import Programme
from atlas.ledger.export_state import (
    ALL_FORMATS,
    FINGERPRINT,
    boundaries_identity,
    drawn_maps,
    exported_files,
    ledger_fingerprint,
    map_fingerprint,
    store_fingerprint,
    unchanged_exports,
)
from atlas.ledger.schema import STATE_LABELS, LedgerError, StatusRow
from atlas.ledger.status_map import draw_status_map, draw_status_panel, one_per_country
from atlas.ledger.status_table import (
    OVERDUE_COLOUR,
    PALETTE,
    TIMELINESS_RULE,
    deadline_header,
    pivot,
    states_present,
    status_markdown,
    status_records,
    status_summary,
    text_colour,
)
from atlas.ledger.store import Ledger
from atlas.natural_earth import natural_earth_world
from atlas.wording import noun, plural

__all__ = ["ALL_FORMATS", "FINGERPRINT", "ExportError", "export_status", "status_markdown"]

log = logging.getLogger(__name__)

STEM = "status"
PANEL = "panel"  # status_map_panel.png: every deliverable on one slide


class ExportError(LedgerError):
    """An export format nobody knows was asked for."""


def _replace_into(target: Path, write) -> Path:
    """Write beside the target, then move it in: a reader never sees half a file."""
    return write_atomic(target, write)


def write_csv(rows: Sequence[StatusRow], path: Path) -> Path:
    """One line per country x deliverable (tidy, for spreadsheets and scripts)."""
    records = status_records(rows)

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(records[0]) if records else ["country"])
            writer.writeheader()
            writer.writerows(safe_records(records))  # country text never runs as a formula

    return _replace_into(path, write)


def _fill(state: str) -> PatternFill:
    colour = PALETTE[state].lstrip("#")
    return PatternFill(fill_type="solid", start_color=colour, end_color=colour)


def _title_rows(ws: Worksheet, programme: Programme, today: dt.date, what: str, width: int) -> int:
    """Two title rows and a blank one above a table: the programme and what the sheet shows, and the date.

    The date is one real date cell that reads "Status as of 2026-07-20" (a number format with the words),
    so no label spills over it. Returns the row the table's header goes in.
    """
    ws.append([f"{programme.name}: {what}"])
    ws["A1"].font = Font(name=FONT, bold=True, size=14)
    ws.append([today])
    ws["A2"].number_format = AS_OF_FORMAT
    ws["A2"].alignment = Alignment(horizontal="left")
    ws.append([])
    width = max(width, 4)  # the title and the date need room, whatever the first columns' widths
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
    ws.row_dimensions[1].height = 20
    return 4


AS_OF_FORMAT = '"Status as of "yyyy-mm-dd'
FONT = "Calibri"  # named on every styled cell: a font without a name prints in the viewer's default (a serif)
LINE_HEIGHT = 15.0  # points per line of 11 pt text, as spreadsheets draw it


def _header_footer_text(text: str) -> str:
    return text.replace("&", "&&")  # "&" starts a header/footer code


def _print_setup(ws: Worksheet, header_row: int, programme: Programme, today: dt.date) -> None:
    """Landscape A4, fit to one page wide, the header repeated on every printed page; a print header
    (programme, sheet) and footer (date, page n of N)."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages tall as needed
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.7
    ws.page_margins.header = ws.page_margins.footer = 0.3
    ws.oddHeader.left.text = _header_footer_text(programme.name)
    ws.oddHeader.right.text = "&A"  # the sheet's name
    ws.oddFooter.left.text = f"Status as of {today.isoformat()}"
    ws.oddFooter.right.text = "Page &P of &N"
    ws.evenHeader.left.text, ws.evenHeader.right.text = ws.oddHeader.left.text, ws.oddHeader.right.text
    ws.evenFooter.left.text, ws.evenFooter.right.text = ws.oddFooter.left.text, ws.oddFooter.right.text


def _lines(text: str, width: float, bold: bool = False) -> int:
    """How many lines ``text`` wraps to in a column ``width`` characters wide (word wrap, a little margin;
    checked against LibreOffice's print with DejaVu Sans, wider than Calibri)."""
    chars = max(int(width * (0.85 if bold else 1.0)) - 1, 1)
    return sum(len(textwrap.wrap(part, chars, break_long_words=True)) or 1 for part in str(text).split("\n"))


def _fit_row_heights(ws: Worksheet, first_row: int) -> None:
    """Give every row from ``first_row`` the height its wrapped cells need: spreadsheets do not grow a row
    for text written by a program, so wrapped text would spill into the next row when printed."""
    widths = {}
    for row in ws.iter_rows(min_row=first_row):
        lines = 1
        for cell in row:
            if not isinstance(cell.value, str) or not (cell.alignment and cell.alignment.wrap_text):
                continue
            letter = cell.column_letter
            if letter not in widths:
                widths[letter] = ws.column_dimensions[letter].width or 8.43
            lines = max(lines, _lines(cell.value, widths[letter], bool(cell.font and cell.font.b)))
        ws.row_dimensions[row[0].row].height = LINE_HEIGHT * lines + 3


# Details: the CSV's columns in words, for people (the CSV keeps the short names, for scripts)
DETAIL_HEADERS = {
    "country": "ISO3", "name": "Country", "deliverable": "Deliverable", "state": "State",
    "version": "Version shown", "received": "Received (version shown)", "timeliness": "On time or late",
    "days_late": "Days late", "delivered_version": "Delivered by version", "delivered": "Delivered on",
    "completion": "Completed or updated after the deadline", "coverage": "Coverage",
    "later_versions": "Later versions", "earlier_versions": "Earlier versions published",
    "newest_version": "Newest version",
    "newest_state": "State of the newest version", "versions": "Versions stored",
    "last_accepted_version": "Last accepted version", "published_version": "Published version",
    "deadline": "Deadline", "overdue": "Overdue", "errors": "Errors", "warnings": "Warnings",
    "updated": "Last change (UTC)",
}
DETAIL_WIDTHS = {"name": 16, "deliverable": 24, "state": 14, "timeliness": 22, "completion": 20,
                 "later_versions": 18, "earlier_versions": 28, "newest_state": 16, "updated": 17}
DATE_COLUMNS = {"received", "deadline", "delivered"}


def _detail_value(key: str, value, titles: dict[str, str]):
    """A CSV value as a person reads it: states and deliverables in words, dates as dates, yes/no."""
    if value is None or value == "":
        return None
    if key in DATE_COLUMNS:
        return dt.date.fromisoformat(value)
    if key == "updated":  # stored as UTC ISO text; a spreadsheet date-time has no zone
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)
    if key in ("state", "newest_state"):
        return STATE_LABELS.get(value, value)
    if key == "deliverable":
        return titles.get(value, value)
    if key == "overdue":
        return "yes" if value else "no"
    return value


def write_xlsx(rows: Sequence[StatusRow], path: Path, programme: Programme, today: dt.date) -> Path:
    """Workbook: Status (countries x deliverables, filled by state), Details (one line each), Summary and legend.

    Every sheet has a title and the date, prints landscape fit to the page width with a print header and
    footer (page n of N), keeps its header row (and on Status the country columns) in view, and gives each
    row the height of its wrapped text; dates are real dates.
    """
    keys, countries = pivot(rows)
    wb = Workbook()
    ws = wb.active
    ws.title = "Status"
    bold = Font(name=FONT, bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    late = Side(style="medium", color=OVERDUE_COLOUR.lstrip("#"))
    header_row = _title_rows(ws, programme, today, "status of submissions", 2 + len(keys))
    ws.append(["ISO3", "Country", *(deadline_header(k, programme) for k in keys)])
    for cell in ws[header_row]:
        cell.font = bold
        cell.alignment = wrap
    for iso3, name, cells in countries:
        ws.append([iso3, name, *(cells[k].cell() for k in keys)])
        for cell in ws[ws.max_row][:2]:
            cell.alignment = wrap
        for col, key in enumerate(keys, start=3):
            row = cells[key]
            cell = ws.cell(row=ws.max_row, column=col)
            cell.fill = _fill(row.shown_state)
            cell.font = Font(name=FONT, color=text_colour(PALETTE[row.shown_state]).lstrip("#"), bold=row.overdue)
            cell.alignment = wrap
            if row.overdue:
                cell.border = Border(left=late, right=late, top=late, bottom=late)
    ws.freeze_panes = f"C{header_row + 1}"  # header row and the country columns stay in view
    ws.column_dimensions["A"].width = 7
    ws.column_dimensions["B"].width = min(max([len("Country"), *(len(n) for _, n, _ in countries)]) + 2, 32)
    for col in range(3, 3 + len(keys)):
        ws.column_dimensions[get_column_letter(col)].width = 36
    _fit_row_heights(ws, header_row)
    ws.append([])
    ws.append([TIMELINESS_RULE])
    ws.merge_cells(start_row=ws.max_row, start_column=1, end_row=ws.max_row, end_column=2 + len(keys))
    ws.cell(row=ws.max_row, column=1).alignment = wrap
    ws.row_dimensions[ws.max_row].height = LINE_HEIGHT * 2 + 3
    _print_setup(ws, header_row, programme, today)

    details = wb.create_sheet("Details")
    records = status_records(rows)
    keys_out = list(records[0]) if records else ["country"]
    titles = {k: d.title for k, d in programme.deliverables.items()}
    header_row = _title_rows(details, programme, today, "one line per country and deliverable", len(keys_out))
    details.append([DETAIL_HEADERS.get(k, k) for k in keys_out])
    for cell in details[header_row]:
        cell.font = bold
        cell.alignment = wrap
    for record in records:
        details.append([_detail_value(k, record[k], titles) for k in keys_out])
        for col, key in enumerate(keys_out, start=1):
            cell = details.cell(row=details.max_row, column=col)
            cell.alignment = wrap if isinstance(cell.value, str) else Alignment(horizontal="center", vertical="top")
            if key in DATE_COLUMNS:
                cell.number_format = "yyyy-mm-dd"
            elif key == "updated":
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif key == "state":
                cell.fill = _fill(record["state"])
                cell.font = Font(name=FONT, color=text_colour(PALETTE[record["state"]]).lstrip("#"))
            elif key == "coverage" and record[key] is not None:
                cell.number_format = "0%"
    details.freeze_panes = f"A{header_row + 1}"
    for col, key in enumerate(keys_out, start=1):
        longest_word = max(len(w) for w in DETAIL_HEADERS.get(key, key).split())  # headers wrap between words
        default = 11 if key in DATE_COLUMNS else 9
        details.column_dimensions[get_column_letter(col)].width = max(DETAIL_WIDTHS.get(key, default), longest_word + 2)
    _fit_row_heights(details, header_row)
    details.auto_filter.ref = f"A{header_row}:{get_column_letter(len(keys_out))}{details.max_row}"
    _print_setup(details, header_row, programme, today)

    summary = wb.create_sheet("Summary")
    header_row = _title_rows(summary, programme, today, "summary", 3)
    summary.append(["Deliverable", "Deadline", "Summary"])
    for cell in summary[header_row]:
        cell.font = bold
    for s in status_summary(rows):
        deliverable = programme.deliverables.get(s.deliverable)
        summary.append([deliverable.title if deliverable else s.deliverable,
                        deliverable.deadline if deliverable else None, s.sentence().split(": ", 1)[1]])
        for cell in summary[summary.max_row]:
            cell.alignment = wrap
        summary.cell(row=summary.max_row, column=2).number_format = "yyyy-mm-dd"
        summary.cell(row=summary.max_row, column=2).alignment = Alignment(horizontal="center", vertical="top")
    summary.append([])
    summary.append(["Legend"])
    summary.cell(row=summary.max_row, column=1).font = bold
    for state in states_present(rows):
        summary.append([STATE_LABELS[state]])
        summary.cell(row=summary.max_row, column=1).fill = _fill(state)
        summary.cell(row=summary.max_row, column=1).font = Font(name=FONT,
                                                                color=text_colour(PALETTE[state]).lstrip("#"))
    if any(r.overdue for r in rows):
        summary.append(["overdue (bold, red border)"])
        cell = summary.cell(row=summary.max_row, column=1)
        cell.font, cell.border = bold, Border(left=late, right=late, top=late, bottom=late)
    summary.append([])
    summary.append([TIMELINESS_RULE])
    summary.merge_cells(start_row=summary.max_row, start_column=1, end_row=summary.max_row, end_column=3)
    summary.cell(row=summary.max_row, column=1).alignment = wrap
    summary.freeze_panes = f"A{header_row + 1}"
    summary.column_dimensions["A"].width = 52
    summary.column_dimensions["B"].width = 12
    summary.column_dimensions["C"].width = 90
    _fit_row_heights(summary, header_row)
    summary.row_dimensions[summary.max_row].height = LINE_HEIGHT * 2 + 3
    _print_setup(summary, header_row, programme, today)
    safe_workbook(wb)  # country text never runs as a formula
    return _replace_into(path, wb.save)


CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em; color: #202020; }
h1 { margin-bottom: 0.2em; } .asof { color: #606060; margin-top: 0; }
table.status { border-collapse: collapse; margin: 1em 0; }
table.status th, table.status td { border: 1px solid #909090; padding: 0.35em 0.6em; text-align: left; }
table.status th { background: #F0F0F0; position: sticky; top: 0; }
table.status th .due { display: block; font-weight: normal; color: #505050; }
td.overdue { outline: 3px solid %(overdue)s; outline-offset: -3px; font-weight: bold; }
.legend span { display: inline-block; padding: 0.2em 0.6em; margin: 0 0.3em 0.3em 0; border: 1px solid #909090; }
.legend span.overdue { outline: 3px solid %(overdue)s; outline-offset: -3px; font-weight: bold; }
figure { margin: 1.5em 0; } figure img { width: 100%%; max-width: 1600px; border: 1px solid #D0D0D0; }
figcaption { font-weight: bold; margin-top: 0.3em; }
.rule { color: #404040; max-width: 60em; }
.date { white-space: nowrap; }
"""
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


DAYS = re.compile(r"(\d+) d\b")


def _dates_unbroken(escaped: str) -> str:
    """Each date in a cell kept on one line: a browser otherwise breaks "2026-02-" from "27" in a narrow column;
    a number of days keeps its "d" ("overdue 156 d", never "156" and "d" on two lines)."""
    escaped = DAYS.sub("\\1&nbsp;d", escaped)
    return ISO_DATE.sub(lambda m: f'<span class="date">{m.group(0)}</span>', escaped)


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def status_html(rows: Sequence[StatusRow], programme: Programme, today: dt.date,
                maps: dict[str, Path] | None = None, panel: Path | None = None) -> str:
    """One self-contained page: summary, the coloured table (a row per country), legend, maps inlined."""
    keys, countries = pivot(rows)
    esc = html.escape
    titles = {k: programme.deliverables[k].title if k in programme.deliverables else k for k in keys}
    due = {k: programme.deliverables[k].deadline if k in programme.deliverables else None for k in keys}
    out = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(programme.name)}: status of submissions</title>",
        f"<style>{CSS % {'overdue': OVERDUE_COLOUR}}</style></head><body>",
        f"<h1>{esc(programme.name)}</h1>",
        f'<p class="asof">Status of submissions as of {today.isoformat()}</p>', "<ul>",
    ]
    out += [f"<li>{esc(s.sentence(titles.get(s.deliverable)))}</li>" for s in status_summary(rows)]
    out += ["</ul>", '<table class="status"><thead><tr><th>ISO3</th><th>Country</th>']
    out += [f"<th>{esc(titles[k])}" + (f'<span class="due">{_dates_unbroken("due " + due[k].isoformat())}</span>'
                                       if due[k] else "") + "</th>" for k in keys]
    out += ["</tr></thead><tbody>"]
    for iso3, name, cells in countries:
        tds = []
        for k in keys:
            r = cells[k]
            fill = PALETTE[r.shown_state]
            css = ' class="overdue"' if r.overdue else ""
            tds.append(f'<td{css} data-state="{r.shown_state}" style="background:{fill};color:{text_colour(fill)}">'
                       f"{_dates_unbroken(esc(r.cell()))}</td>")
        out.append(f'<tr data-country="{iso3}"><td>{iso3}</td><td>{esc(name)}</td>{"".join(tds)}</tr>')
    out += ["</tbody></table>", '<p class="legend">']
    out += [f'<span style="background:{PALETTE[s]};color:{text_colour(PALETTE[s])}">{STATE_LABELS[s]}</span>'
            for s in states_present(rows)]
    if any(r.overdue for r in rows):
        out.append('<span class="overdue">overdue</span>')
    out.append("</p>")
    out.append(f'<p class="rule">{esc(TIMELINESS_RULE)}</p>')
    if panel is not None:
        out += ["<h2>All deliverables on one slide</h2>",
                f"<figure>{_img(panel, 'status maps of every deliverable')}</figure>"]
    if maps:
        out.append("<h2>Status maps</h2>")
    for key, png in (maps or {}).items():
        caption = titles.get(key, key) + (f" (due {due[key].isoformat()})" if due.get(key) else "")
        out.append(f"<figure>{_img(png, f'status map: {titles.get(key, key)}')}"
                   f"<figcaption>{esc(caption)}</figcaption></figure>")
    out.append("</body></html>")
    return "\n".join(out)


def _default_boundaries(programme: Programme) -> gpd.GeoDataFrame | None:
    """The programme's reference boundaries, or None (maps then use Natural Earth alone)."""
    if not programme.reference_boundaries.is_file():
        log.warning("no reference boundaries at %s; status maps use Natural Earth outlines",
                    programme.reference_boundaries)
        return None
    from atlas.borders.boundaries import load_boundaries

    boundaries, _ = load_boundaries(programme)
    return boundaries


def _draw(draw, paths: list[Path], written: dict[str, list[Path]]) -> None:
    """Draw aside, move in when complete: a reader never sees half a map."""
    tmps = [temp_path(p) for p in paths]
    try:
        draw(tmps)
        for tmp, path in zip(tmps, paths, strict=True):
            written.setdefault(path.suffix.lstrip("."), []).append(publish(tmp, path))
    finally:
        for tmp in tmps:
            tmp.unlink(missing_ok=True)


def _draw_or_keep(draw, paths: list[Path], content: dict, previous: dict[str, str], maps: dict[str, str],
                  written: dict[str, list[Path]]) -> None:
    """Draw a map (``_draw``) unless the last export drew it from the same content and its files are there."""
    fingerprint = map_fingerprint(content)
    if all(previous.get(p.name) == fingerprint and p.is_file() for p in paths):
        for path in paths:
            written.setdefault(path.suffix.lstrip("."), []).append(path)
    else:
        _draw(draw, paths, written)
    maps.update({p.name: fingerprint for p in paths})


def _remove_formats_no_longer_written(out_dir: Path, formats: list[str]) -> None:
    """Remove what the last export wrote (its own record says so) in formats no longer written, saying so."""
    stale = [p for kind, paths in exported_files(out_dir).items() if kind in ALL_FORMATS and kind not in formats
             for p in paths if p.is_file()]
    for path in stale:
        path.unlink()
    if stale:
        log.warning("status exports: %s of formats no longer in [status] formats removed (%s)",
                    plural(len(stale), "file"), ", ".join(p.name for p in stale))


def check_formats(formats: Iterable[str]) -> list[str]:
    """The export formats asked for, normalised; ExportError names any unknown one."""
    formats = [f.lower().lstrip(".") for f in formats]
    unknown = sorted(set(formats) - set(ALL_FORMATS))
    if unknown:
        raise ExportError(f"unknown export {noun(len(unknown), 'format')} {', '.join(unknown)}; "
                          f"choose from {', '.join(ALL_FORMATS)}")
    return formats


def export_status(
    ledger: Ledger,
    programme: Programme,
    out_dir: Path,
    formats: Iterable[str] = ALL_FORMATS,
    boundaries: gpd.GeoDataFrame | None = None,
    today: dt.date | None = None,
    skip_unchanged: bool = False,
    state=None,
) -> dict[str, list[Path]]:
    """Write the status exports into ``out_dir``; returns the written paths by format (plus the summary).

    With ``skip_unchanged`` (the pipeline's re-runs) nothing is redrawn when the ledger's status rows,
    the day, the formats and the reference layer are those of the last export: the maps alone take
    seconds; and files the last export wrote in a format no longer asked for ([status] formats changed) are
    removed, so no map or page is left behind that stops being brought up to date. ``boundaries`` given by a
    caller are taken to be the programme's reference layer. ``state``: the run's resolved state after
    publishing (``ResolvedState.published``), the one value every cell is written from; without it
    (``atlas status export``), the ledger's state with what the current release holds.
    """
    formats = check_formats(formats)
    today = today or (state.today if state is not None else dt.date.today())
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = ledger.status_rows(today, state=state)
    fingerprint = ledger_fingerprint(rows, programme, formats, today, boundaries_identity(programme))
    if skip_unchanged:
        previous = unchanged_exports(out_dir, fingerprint)
        if previous is not None:
            log.info("status exports in %s are up to date with the ledger: not rewritten", out_dir)
            return previous
    written: dict[str, list[Path]] = {}

    map_formats = [f for f in ("png", "svg") if f in formats]
    maps: dict[str, str] = {}  # each map file's fingerprint: a map whose content did not change is not redrawn
    if map_formats:
        previous = drawn_maps(out_dir)
        base: list = []  # the map base, prepared once and only if a map is drawn

        def layers():
            if not base:
                shapes = boundaries if boundaries is not None else _default_boundaries(programme)
                base.extend([one_per_country(shapes), one_per_country(natural_earth_world())])  # once, not per map
            return base

        points = programme.status.map_points
        common = {"programme": programme.name, "today": today, "bounds": programme.region_bounds,
                  "points": points, "boundaries": boundaries_identity(programme), "members": programme.members}
        for key, deliverable in programme.deliverables.items():
            content = {**common, "map": key, "title": deliverable.title, "deadline": deliverable.deadline,
                       "rows": status_records([r for r in rows if r.deliverable == key])}
            _draw_or_keep(lambda tmps, key=key, d=deliverable: draw_status_map(
                rows, key, layers()[0], tmps, d.title, today, programme.region_bounds, layers()[1], points,
                d.deadline), [out_dir / f"{STEM}_map_{key}.{fmt}" for fmt in map_formats], content, previous,
                maps, written)
        titles = {k: d.title for k, d in programme.deliverables.items()}
        heading = f"{programme.name}: status of submissions"
        _draw_or_keep(lambda tmps: draw_status_panel(rows, titles, layers()[0], tmps, heading, today,
                                                     programme.region_bounds, layers()[1], points),
                      [out_dir / f"{STEM}_map_{PANEL}.{fmt}" for fmt in map_formats],
                      {**common, "map": PANEL, "titles": titles, "rows": status_records(rows)}, previous, maps,
                      written)
    if "csv" in formats:
        written["csv"] = [write_csv(rows, out_dir / f"{STEM}.csv")]
    if "xlsx" in formats:
        written["xlsx"] = [write_xlsx(rows, out_dir / f"{STEM}.xlsx", programme, today)]
    if "md" in formats:
        text = status_markdown(rows, title=programme.name, as_of=today.isoformat(), programme=programme)
        written["md"] = [_replace_into(out_dir / f"{STEM}.md", lambda p: p.write_text(text, encoding="utf-8"))]
    if "html" in formats:
        pngs = {p.stem.removeprefix(f"{STEM}_map_"): p for p in written.get("png", [])}
        panel = pngs.pop(PANEL, None)
        page = status_html(rows, programme, today, pngs, panel)
        written["html"] = [_replace_into(out_dir / f"{STEM}.html", lambda p: p.write_text(page, encoding="utf-8"))]
    summary = "\n".join([f"{programme.name}: status as of {today.isoformat()}",
                         *(s.sentence(deadline_header(s.deliverable, programme)) for s in status_summary(rows))])
    written["summary"] = [_replace_into(out_dir / "summary.txt",
                                        lambda p: p.write_text(summary + "\n", encoding="utf-8"))]
    if skip_unchanged:
        _remove_formats_no_longer_written(out_dir, formats)
    # the fingerprint goes last: an export interrupted before it is redone by the next run
    store_fingerprint(out_dir, fingerprint, written, maps)
    log.info("status exports in %s: %s", out_dir, ", ".join(f"{k} ({len(v)})" for k, v in written.items()))
    return written
