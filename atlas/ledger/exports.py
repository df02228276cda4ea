"""Meeting exports of the ledger: the status table (csv, xlsx, md, html), status maps (png, svg), a summary."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import html
import json
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import geopandas as gpd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from atlas.atomic import publish, temp_path, write_atomic, write_text_atomic
from atlas.config import Programme
from atlas.ledger.schema import STATE_LABELS, STATES, LedgerError, StatusRow
from atlas.ledger.status_map import draw_status_map
from atlas.ledger.status_table import (
    OVERDUE_COLOUR,
    PALETTE,
    pivot,
    status_markdown,
    status_records,
    status_summary,
    text_colour,
)
from atlas.ledger.store import Ledger

__all__ = ["ALL_FORMATS", "ExportError", "export_status", "status_markdown"]

log = logging.getLogger(__name__)

ALL_FORMATS = ("csv", "xlsx", "md", "html", "png", "svg")
STEM = "status"
FINGERPRINT = ".exports_fingerprint.json"


class ExportError(LedgerError):
    """An export format nobody knows was asked for."""


def _replace_into(target: Path, write) -> Path:
    """Write beside the target, then move it in: a reader never sees half a file."""
    return write_atomic(target, write)


def ledger_fingerprint(rows: Sequence[StatusRow], programme: Programme, formats: Sequence[str],
                       today: dt.date, boundaries_source: str) -> str:
    """What the exports are made of (status rows, day, formats, map base): equal fingerprints, equal exports."""
    payload = json.dumps({"rows": status_records(rows), "today": today.isoformat(), "formats": sorted(formats),
                          "programme": programme.name, "boundaries": boundaries_source,
                          "deliverables": {k: d.title for k, d in programme.deliverables.items()}},
                         sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _unchanged_exports(out_dir: Path, fingerprint: str) -> dict[str, list[Path]] | None:
    """The files of the last export if it was made from the same fingerprint and all of them still exist."""
    try:
        stored = json.loads((out_dir / FINGERPRINT).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    if stored.get("fingerprint") != fingerprint:
        return None
    written = {kind: [out_dir / name for name in names] for kind, names in stored.get("files", {}).items()}
    if not all(p.is_file() for paths in written.values() for p in paths):
        return None
    return written


def write_csv(rows: Sequence[StatusRow], path: Path) -> Path:
    """One line per country x deliverable (tidy, for spreadsheets and scripts)."""
    records = status_records(rows)

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(records[0]) if records else ["country"])
            writer.writeheader()
            writer.writerows(records)

    return _replace_into(path, write)


def _fill(state: str) -> PatternFill:
    colour = PALETTE[state].lstrip("#")
    return PatternFill(fill_type="solid", start_color=colour, end_color=colour)


def write_xlsx(rows: Sequence[StatusRow], path: Path, programme: Programme, today: dt.date) -> Path:
    """Workbook: Status (countries x deliverables, filled by state), Details (one line each), Summary and legend."""
    keys, countries = pivot(rows)
    wb = Workbook()
    ws = wb.active
    ws.title = "Status"
    bold = Font(bold=True)
    late = Side(style="medium", color=OVERDUE_COLOUR.lstrip("#"))
    ws.append(["ISO3", "Country", *(programme.deliverables[k].title if k in programme.deliverables else k
                                    for k in keys)])
    for cell in ws[1]:
        cell.font = bold
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for iso3, name, cells in countries:
        ws.append([iso3, name, *(cells[k].cell() for k in keys)])
        for col, key in enumerate(keys, start=3):
            row = cells[key]
            cell = ws.cell(row=ws.max_row, column=col)
            cell.fill = _fill(row.state)
            cell.font = Font(color=text_colour(PALETTE[row.state]).lstrip("#"), bold=row.overdue)
            if row.overdue:
                cell.border = Border(left=late, right=late, top=late, bottom=late)
    ws.freeze_panes = "C2"  # header row and the country columns stay in view
    ws.column_dimensions["A"].width = 7
    ws.column_dimensions["B"].width = max([len("Country"), *(len(n) for _, n, _ in countries)]) + 2
    for col in range(3, 3 + len(keys)):
        ws.column_dimensions[get_column_letter(col)].width = 34
    ws.row_dimensions[1].height = 45

    details = wb.create_sheet("Details")
    records = status_records(rows)
    header = list(records[0]) if records else ["country"]
    details.append(header)
    for cell in details[1]:
        cell.font = bold
    state_col = header.index("state") + 1 if "state" in header else None
    for record in records:
        details.append([record[k] for k in header])
        if state_col:
            details.cell(row=details.max_row, column=state_col).fill = _fill(record["state"])
    details.freeze_panes = "A2"
    for col, name in enumerate(header, start=1):
        details.column_dimensions[get_column_letter(col)].width = max(len(name) + 2, 12)

    summary = wb.create_sheet("Summary")
    summary.append([programme.name])
    summary["A1"].font = Font(bold=True, size=14)
    summary.append([f"Status of submissions as of {today.isoformat()}"])
    summary.append([])
    for s in status_summary(rows):
        title = programme.deliverables[s.deliverable].title if s.deliverable in programme.deliverables else None
        summary.append([s.sentence(title)])
    summary.append([])
    summary.append(["Legend"])
    summary.cell(row=summary.max_row, column=1).font = bold
    for state in STATES:
        summary.append([STATE_LABELS[state]])
        summary.cell(row=summary.max_row, column=1).fill = _fill(state)
    summary.column_dimensions["A"].width = 100
    return _replace_into(path, wb.save)


CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em; color: #202020; }
h1 { margin-bottom: 0.2em; } .asof { color: #606060; margin-top: 0; }
table.status { border-collapse: collapse; margin: 1em 0; }
table.status th, table.status td { border: 1px solid #909090; padding: 0.35em 0.6em; text-align: left; }
table.status th { background: #F0F0F0; position: sticky; top: 0; }
td.overdue { outline: 3px solid %(overdue)s; outline-offset: -3px; font-weight: bold; }
.legend span { display: inline-block; padding: 0.2em 0.6em; margin: 0 0.3em 0.3em 0; border: 1px solid #909090; }
figure { margin: 1.5em 0; } figure img { max-width: 100%%; border: 1px solid #D0D0D0; }
"""


def status_html(rows: Sequence[StatusRow], programme: Programme, today: dt.date,
                maps: dict[str, Path] | None = None) -> str:
    """One self-contained page: summary, the coloured table (a row per country), legend, maps inlined."""
    keys, countries = pivot(rows)
    esc = html.escape
    titles = {k: programme.deliverables[k].title if k in programme.deliverables else k for k in keys}
    out = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(programme.name)}: status of submissions</title>",
        f"<style>{CSS % {'overdue': OVERDUE_COLOUR}}</style></head><body>",
        f"<h1>{esc(programme.name)}</h1>",
        f'<p class="asof">Status of submissions as of {today.isoformat()}</p>', "<ul>",
    ]
    out += [f"<li>{esc(s.sentence(titles.get(s.deliverable)))}</li>" for s in status_summary(rows)]
    out += ["</ul>", '<table class="status"><thead><tr><th>ISO3</th><th>Country</th>']
    out += [f"<th>{esc(titles[k])}</th>" for k in keys]
    out += ["</tr></thead><tbody>"]
    for iso3, name, cells in countries:
        tds = []
        for k in keys:
            r = cells[k]
            fill = PALETTE[r.state]
            css = ' class="overdue"' if r.overdue else ""
            tds.append(f'<td{css} data-state="{r.state}" style="background:{fill};color:{text_colour(fill)}">'
                       f"{esc(r.cell())}</td>")
        out.append(f'<tr data-country="{iso3}"><td>{iso3}</td><td>{esc(name)}</td>{"".join(tds)}</tr>')
    out += ["</tbody></table>", '<p class="legend">']
    out += [f'<span style="background:{PALETTE[s]};color:{text_colour(PALETTE[s])}">{STATE_LABELS[s]}</span>'
            for s in STATES]
    out.append("</p>")
    for key, png in (maps or {}).items():
        data = base64.b64encode(Path(png).read_bytes()).decode("ascii")
        out.append(f'<figure><img alt="status map: {esc(titles.get(key, key))}" '
                   f'src="data:image/png;base64,{data}"><figcaption>{esc(titles.get(key, key))}</figcaption></figure>')
    out.append("</body></html>")
    return "\n".join(out)


def _default_boundaries(programme: Programme) -> gpd.GeoDataFrame | None:
    """The programme's reference boundaries, or None (maps then list every member in the caption)."""
    if not programme.reference_boundaries.is_file():
        log.warning("no reference boundaries at %s; status maps will have no countries drawn",
                    programme.reference_boundaries)
        return None
    from atlas.borders.boundaries import load_boundaries

    boundaries, _ = load_boundaries(programme)
    return boundaries


def export_status(
    ledger: Ledger,
    programme: Programme,
    out_dir: Path,
    formats: Iterable[str] = ALL_FORMATS,
    boundaries: gpd.GeoDataFrame | None = None,
    today: dt.date | None = None,
    skip_unchanged: bool = False,
) -> dict[str, list[Path]]:
    """Write the status exports into ``out_dir``; returns the written paths by format (plus the summary).

    With ``skip_unchanged`` (the pipeline's re-runs) nothing is redrawn when the ledger's status rows,
    the day and the formats are those of the last export: the maps alone take seconds.
    """
    formats = [f.lower().lstrip(".") for f in formats]
    unknown = sorted(set(formats) - set(ALL_FORMATS))
    if unknown:
        raise ExportError(f"unknown export format(s) {', '.join(unknown)}; choose from {', '.join(ALL_FORMATS)}")
    today = today or dt.date.today()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = ledger.status_rows(today)
    source = programme.reference_boundaries
    base = f"{source}:{source.stat().st_mtime_ns}" if source.is_file() else "none"
    base = base if boundaries is None else f"given:{len(boundaries)}:{base}"
    fingerprint = ledger_fingerprint(rows, programme, formats, today, base)
    if skip_unchanged:
        previous = _unchanged_exports(out_dir, fingerprint)
        if previous is not None:
            log.info("status exports in %s are up to date with the ledger: not rewritten", out_dir)
            return previous
    written: dict[str, list[Path]] = {}

    map_formats = [f for f in ("png", "svg") if f in formats]
    if map_formats:
        if boundaries is None:
            boundaries = _default_boundaries(programme)
        for key, deliverable in programme.deliverables.items():
            paths = [out_dir / f"{STEM}_map_{key}.{fmt}" for fmt in map_formats]
            tmps = [temp_path(p) for p in paths]  # drawn aside, moved in when complete
            try:
                draw_status_map(rows, key, boundaries, tmps, deliverable.title, today, programme.region_bounds)
                for tmp, path in zip(tmps, paths, strict=True):
                    written.setdefault(path.suffix.lstrip("."), []).append(publish(tmp, path))
            finally:
                for tmp in tmps:
                    tmp.unlink(missing_ok=True)
    if "csv" in formats:
        written["csv"] = [write_csv(rows, out_dir / f"{STEM}.csv")]
    if "xlsx" in formats:
        written["xlsx"] = [write_xlsx(rows, out_dir / f"{STEM}.xlsx", programme, today)]
    if "md" in formats:
        text = status_markdown(rows, title=programme.name, as_of=today.isoformat())
        written["md"] = [_replace_into(out_dir / f"{STEM}.md", lambda p: p.write_text(text, encoding="utf-8"))]
    if "html" in formats:
        maps = {p.stem.removeprefix(f"{STEM}_map_"): p for p in written.get("png", [])}
        page = status_html(rows, programme, today, maps)
        written["html"] = [_replace_into(out_dir / f"{STEM}.html", lambda p: p.write_text(page, encoding="utf-8"))]
    summary = "\n".join([f"{programme.name}: status as of {today.isoformat()}",
                         *(s.sentence(programme.deliverables[s.deliverable].title) for s in status_summary(rows))])
    written["summary"] = [_replace_into(out_dir / "summary.txt",
                                        lambda p: p.write_text(summary + "\n", encoding="utf-8"))]
    # the fingerprint goes last: an export interrupted before it is redone by the next run
    write_text_atomic(out_dir / FINGERPRINT, json.dumps(
        {"fingerprint": fingerprint, "files": {k: [p.name for p in v] for k, v in written.items()}}, indent=2))
    log.info("status exports in %s: %s", out_dir, ", ".join(f"{k} ({len(v)})" for k, v in written.items()))
    return written
