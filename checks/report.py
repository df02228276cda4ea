"""Validation reports: JSON (schema in report_schema.json), Markdown, one-page HTML, terminal text.

Findings are grouped by severity (error, warning, fixed, info), each with its
location and fix hint; a small SVG map shows where located findings are.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from pathlib import Path

from atlas.atomic import write_text_atomic
from checks.finding import Finding, Severity, counts, verdict
from checks.registry import load_all

SCHEMA_VERSION = "1.0"
SCHEMA_PATH = Path(__file__).with_name("report_schema.json")
ORDER = [Severity.ERROR, Severity.WARNING, Severity.FIXED, Severity.INFO]
COLOURS = {"error": "#c0392b", "warning": "#e67e22", "fixed": "#2980b9", "info": "#7f8c8d"}
VERDICT_TEXT = {"rejected": "REJECTED", "accepted_with_warnings": "ACCEPTED WITH WARNINGS", "accepted": "ACCEPTED"}


def _sorted(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.severity.rank, f.check_id))


def _plain_meta(meta: dict) -> dict:
    """Meta without values that do not belong in JSON (geometries)."""
    return {k: v for k, v in meta.items() if k != "boundary"}


def report_dict(findings: list[Finding], meta: dict) -> dict:
    """The machine-readable report (see docs/REPORT_SCHEMA.md)."""
    ids = sorted({f.check_id for f in findings})
    registry = load_all()  # every family imported, whoever called us
    return {
        "schema_version": SCHEMA_VERSION,
        "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "meta": _plain_meta(meta),
        "verdict": meta.get("verdict") or verdict(findings),
        "counts": counts(findings),
        "findings": [f.to_dict() for f in _sorted(findings)],
        "checks": {i: {"severity": registry[i].severity.value, "description": registry[i].description,
                       "hint": registry[i].hint} for i in ids if i in registry},
    }


def _title(meta: dict) -> str:
    parts = [meta.get("country_name") or meta.get("country"), meta.get("deliverable")]
    if meta.get("version") is not None:
        parts.append(f"v{meta['version']}")
    return " / ".join(str(p) for p in parts if p) or "validation report"


def _value(v) -> str:
    if v is None:
        return ""
    text = json.dumps(v, default=str) if not isinstance(v, str) else v
    return text if len(text) <= 80 else text[:77] + "..."


def overview_svg(findings: list[Finding], boundary=None, width: int = 360, height: int = 240) -> str:
    """A small map (SVG) of located findings, coloured by severity, over the country outline if given."""
    pts = [(f.location.lon, f.location.lat, f.severity.value) for f in findings
           if f.location.lon is not None and f.location.lat is not None]
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    if boundary is not None:
        w, s, e, n = boundary.bounds
        xs += [w, e]
        ys += [s, n]
    if not xs:
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="40"><text x="4" y="24" '
                'font-size="12" fill="#555">no finding has a map location</text></svg>')
    pad = max(max(xs) - min(xs), max(ys) - min(ys), 0.02) * 0.08
    w, e, s, n = min(xs) - pad, max(xs) + pad, min(ys) - pad, max(ys) + pad
    scale = min(width / (e - w), height / (n - s))

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return (lon - w) * scale, (n - lat) * scale

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{(e - w) * scale:.0f}" height="{(n - s) * scale:.0f}"'
             f' style="background:#f4f8fb;border:1px solid #ccc">']
    if boundary is not None:
        import shapely

        simple = shapely.simplify(boundary, (e - w) / width)
        for poly in getattr(simple, "geoms", [simple]):
            ring = getattr(poly, "exterior", None)
            if ring is None:
                continue
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(*c[:2]) for c in ring.coords))
            parts.append(f'<polygon points="{path}" fill="#e8efe0" stroke="#888" stroke-width="0.8"/>')
    for lon, lat, sev in sorted(pts, key=lambda p: -Severity(p[2]).rank):
        x, y = xy(lon, lat)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{COLOURS[sev]}" fill-opacity="0.8">'
                     f"<title>{sev} at {lon:.4f}, {lat:.4f}</title></circle>")
    parts.append(f'<text x="4" y="12" font-size="10" fill="#555">{w:.2f}..{e:.2f}°E, {s:.2f}..{n:.2f}°N</text>')
    parts.append("</svg>")
    return "".join(parts)


LAYER_COLUMNS = ("file", "layer", "depth", "taken_from", "detail")


def _layer_table_md(meta: dict) -> list[str]:
    """The report's first table for salinity submissions: which file was taken as which layer, and from what."""
    rows = meta.get("layers") or []
    if not rows:
        return []
    lines = ["", "## Files and layers", "", "| file | layer | depth | taken from | detail |", "|---|---|---|---|---|"]
    for row in rows:
        cells = [row.get(k) or ("(" + row.get("kind", "") + ")" if k == "layer" else "") for k in LAYER_COLUMNS]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return lines


def render_markdown(findings: list[Finding], meta: dict, map_file: str | None = None) -> str:
    result = meta.get("verdict") or verdict(findings)
    c = counts(findings)
    lines = [f"# Validation report: {_title(meta)}", "",
             f"**Verdict: {VERDICT_TEXT.get(result, result)}** — "
             + ", ".join(f"{c[s.value]} {s.value}" for s in ORDER),
             ""]
    for key in ("country", "deliverable", "version", "delivery", "received", "checksum"):
        if meta.get(key) is not None:
            lines.append(f"- {key}: `{meta[key]}`")
    if meta.get("files"):
        lines.append("- files: " + ", ".join(f"`{f}`" for f in meta["files"]))
    lines += _layer_table_md(meta)
    if map_file:
        lines += ["", f"![where the problems are]({map_file})"]
    for sev in ORDER:
        group = [f for f in _sorted(findings) if f.severity == sev]
        if not group:
            continue
        lines += ["", f"## {sev.value.capitalize()} ({len(group)})", "",
                  "| check | where | what | observed | expected |", "|---|---|---|---|---|"]
        for f in group:
            cells = [f"`{f.check_id}`", f.location.describe(), f.message, _value(f.observed), _value(f.expected)]
            lines.append("| " + " | ".join(str(x).replace("|", "\\|").replace("\n", " ") for x in cells) + " |")
        hints = {f.check_id: f.hint for f in group if f.hint}
        if hints:
            lines += ["", "How to fix:"] + [f"- `{k}`: {v}" for k, v in sorted(hints.items())]
    if not findings:
        lines += ["", "No findings."]
    return "\n".join(lines) + "\n"


def render_html(findings: list[Finding], meta: dict) -> str:
    result = meta.get("verdict") or verdict(findings)
    c = counts(findings)
    esc = html.escape
    out = ["<!doctype html><html><head><meta charset='utf-8'>", f"<title>{esc(_title(meta))}</title>",
           "<style>body{font-family:sans-serif;margin:1.5em;max-width:70em}table{border-collapse:collapse;"
           "width:100%;font-size:0.9em}td,th{border:1px solid #ddd;padding:3px 6px;text-align:left;"
           "vertical-align:top}h2{margin-top:1.2em}.badge{display:inline-block;padding:2px 8px;border-radius:4px;"
           "color:#fff;margin-right:4px}code{font-size:0.95em}</style></head><body>",
           f"<h1>Validation report: {esc(_title(meta))}</h1>",
           f"<p><strong>Verdict: {esc(VERDICT_TEXT.get(result, result))}</strong></p><p>"]
    out += [f"<span class='badge' style='background:{COLOURS[s.value]}'>{c[s.value]} {s.value}</span>" for s in ORDER]
    out.append("</p><ul>")
    for key in ("country", "deliverable", "version", "delivery", "received", "checksum"):
        if meta.get(key) is not None:
            out.append(f"<li>{key}: <code>{esc(str(meta[key]))}</code></li>")
    if meta.get("files"):
        out.append("<li>files: " + ", ".join(f"<code>{esc(str(f))}</code>" for f in meta["files"]) + "</li>")
    out.append("</ul>")
    if meta.get("layers"):
        out.append("<h2>Files and layers</h2><table><tr><th>file</th><th>layer</th><th>depth</th>"
                   "<th>taken from</th><th>detail</th></tr>")
        for row in meta["layers"]:
            cells = [row.get(k) or ("(" + row.get("kind", "") + ")" if k == "layer" else "") for k in LAYER_COLUMNS]
            out.append("<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in cells) + "</tr>")
        out.append("</table>")
    out.append("<h2>Where the problems are</h2>")
    out.append(overview_svg(findings, meta.get("boundary")))
    for sev in ORDER:
        group = [f for f in _sorted(findings) if f.severity == sev]
        if not group:
            continue
        out.append(f"<h2 style='color:{COLOURS[sev.value]}'>{sev.value.capitalize()} ({len(group)})</h2><table>"
                   "<tr><th>check</th><th>where</th><th>what</th><th>observed</th><th>expected</th><th>fix</th></tr>")
        for f in group:
            cells = [f"<code>{esc(f.check_id)}</code>", esc(f.location.describe()), esc(f.message),
                     esc(_value(f.observed)), esc(_value(f.expected)), esc(f.hint or "")]
            out.append("<tr>" + "".join(f"<td>{x}</td>" for x in cells) + "</tr>")
        out.append("</table>")
    if not findings:
        out.append("<p>No findings.</p>")
    out.append("</body></html>")
    return "\n".join(out)


def write_reports(findings: list[Finding], out_dir: Path, meta: dict) -> dict[str, Path]:
    """Write report.json, report.md (+ report_map.svg) and report.html into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "report.json", "md": out_dir / "report.md", "html": out_dir / "report.html",
             "svg": out_dir / "report_map.svg"}
    # each file moved into place whole; report.json last, since its presence marks the version as processed
    write_text_atomic(paths["svg"], overview_svg(findings, meta.get("boundary")))
    write_text_atomic(paths["md"], render_markdown(findings, meta, paths["svg"].name))
    write_text_atomic(paths["html"], render_html(findings, meta))
    write_text_atomic(paths["json"], json.dumps(report_dict(findings, meta), indent=2, default=str, ensure_ascii=False))
    return paths


def render_text(findings: list[Finding], title: str) -> str:
    """The report for the terminal: verdict, counts, findings grouped by severity with their fix hints."""
    c = counts(findings)
    result = verdict(findings)
    lines = [f"== {title}: {VERDICT_TEXT.get(result, result)} (" +
             ", ".join(f"{c[s.value]} {s.value}" for s in ORDER) + ")"]
    for sev in ORDER:
        group = [f for f in _sorted(findings) if f.severity == sev]
        if not group:
            continue
        lines.append(f"  {sev.value.upper()} ({len(group)})")
        hinted: set[str] = set()
        for f in group:
            lines.append(f"    {f.check_id}: {f.message}  [{f.location.describe()}]")
            if f.hint and f.check_id not in hinted and sev in (Severity.ERROR, Severity.WARNING):
                lines.append(f"      fix: {f.hint}")
                hinted.add(f.check_id)
    return "\n".join(lines)
