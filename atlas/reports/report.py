"""Validation reports: JSON (schema in report_schema.json), Markdown and HTML from templates, terminal text.

``report.json`` is the single source: the HTML and Markdown reports are rendered
from it (``atlas.reports.view``) with the Jinja2 templates in ``atlas/reports/templates``.
A report opens with the verdict in one sentence and what to fix in order, groups
repeated findings per check, shows a map of the located findings
(``atlas.reports.report_map``) and, on a resubmission, what changed since the previous
version (``atlas.reports.changes``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

from atlas.atomic import write_text_atomic
from atlas.finding import Finding, Severity, counts, verdict
from atlas.reports.changes import compare
from atlas.reports.jinja_env import render
from atlas.reports.report_map import report_map_svg
from atlas.reports.view import group_findings, view
from checks.registry import load_all

log = logging.getLogger(__name__)

SCHEMA_VERSION = "1.2"
SCHEMA_PATH = Path(__file__).with_name("report_schema.json")
ORDER = [Severity.ERROR, Severity.WARNING, Severity.FIXED, Severity.INFO]
VERDICT_TEXT = {"rejected": "REJECTED", "accepted_with_warnings": "ACCEPTED WITH WARNINGS", "accepted": "ACCEPTED",
                "harmonized": "HARMONIZED"}
MAP_FILE = "report_map.svg"
NOT_IN_JSON = ("boundary", "segments")  # geometries passed for the map only


def _sorted(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.severity.rank, f.check_id))


def report_dict(findings: list[Finding], meta: dict, previous: dict | None = None, areas: dict | None = None,
                map_file: str | None = None, carried: dict[str, int] | None = None) -> dict:
    """The machine-readable report (see docs/REPORT_SCHEMA.md).

    ``previous``: the report.json of the previous version (a resubmission), compared in ``changes``.
    ``areas``: ``{"by": "soil group", "rows": [{"name", "area_km2"}]}`` of this version's map, if known.
    ``carried``: the layers this version carries over ({"SAS_0-30": 1}), so their findings are not "resolved".
    """
    ids = sorted({f.check_id for f in findings})
    registry = load_all()  # every family imported, whoever called us
    checks = {i: {"severity": registry[i].severity.value, "description": registry[i].description,
                  "hint": registry[i].hint} for i in ids if i in registry}
    found = [f.to_dict() for f in _sorted(findings)]
    return {
        "schema_version": SCHEMA_VERSION,
        "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "meta": {k: v for k, v in meta.items() if k not in NOT_IN_JSON},
        "verdict": meta.get("verdict") or verdict(findings),
        "counts": counts(findings),
        "findings": found,
        "checks": checks,
        "areas": areas,
        "changes": compare(previous, found, checks, areas, carried) if previous else None,
        "map": map_file,
    }


def _markdown(report: dict, map_file: str | None = None) -> str:
    return render("report.md.j2", **view(report, map_file=map_file))


def _html(report: dict, map_svg: str | None = None) -> str:
    return render("report.html.j2", **view(report, map_svg=map_svg))


def render_markdown(findings: list[Finding], meta: dict, map_file: str | None = None) -> str:
    """report.md of these findings (no map drawn here; ``map_file`` names one written beside it)."""
    return _markdown(report_dict(findings, meta), map_file)


def render_html(findings: list[Finding], meta: dict) -> str:
    """report.html of these findings, without the map (``write_reports`` draws it)."""
    return _html(report_dict(findings, meta))


def _map(report: dict, meta: dict, boundaries, footprint) -> str | None:
    try:
        return report_map_svg(report["findings"], boundaries, meta.get("country"), footprint, meta.get("boundary"),
                              segments=meta.get("segments"))
    except Exception:  # noqa: BLE001 - a map that cannot be drawn must not cost the country its report
        log.exception("report map for %s could not be drawn", meta.get("country"))
        return None


def write_reports(findings: list[Finding], out_dir: Path, meta: dict, boundaries=None, footprint=None,
                  previous: dict | None = None, areas: dict | None = None,
                  carried: dict[str, int] | None = None) -> dict[str, Path]:
    """Write report.json, report.md, report.html (and report_map.svg when a finding has a location).

    ``boundaries``: the reference layer (iso3, name, geometry) for the map; ``footprint``: the submission's
    outline (EPSG:4326); ``previous``/``areas``/``carried``: see ``report_dict``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = report_dict(findings, meta, previous, areas, carried=carried)
    svg = _map(report, meta, boundaries, footprint)
    report["map"] = MAP_FILE if svg else None
    paths = {"json": out_dir / "report.json", "md": out_dir / "report.md", "html": out_dir / "report.html"}
    # each file moved into place whole; report.json last, since its presence marks the version as processed
    if svg:
        paths["svg"] = out_dir / MAP_FILE
        write_text_atomic(paths["svg"], svg)
    elif (out_dir / MAP_FILE).is_file():  # a map of an earlier run of this version that no longer applies
        (out_dir / MAP_FILE).unlink()
    write_text_atomic(paths["md"], _markdown(report, report["map"]))
    write_text_atomic(paths["html"], _html(report, svg))
    write_text_atomic(paths["json"], json.dumps(report, indent=2, default=str, ensure_ascii=False))
    return paths


def count_words(c: dict) -> str:
    """'2 errors, 1 warning, 1 repaired, 0 for the record': counts per severity in words, plurals agreeing."""
    words = {"error": ("error", "errors"), "warning": ("warning", "warnings"), "fixed": ("repaired", "repaired"),
             "info": ("for the record", "for the record")}
    return ", ".join(f"{c.get(s.value, 0)} {words[s.value][c.get(s.value, 0) != 1]}" for s in ORDER)


def render_text(findings: list[Finding], title: str) -> str:
    """The report for the terminal: verdict, counts, findings grouped per check with their fix hints."""
    c = counts(findings)
    result = verdict(findings)
    report = report_dict(findings, {"verdict": result})
    lines = [f"== {title}: {VERDICT_TEXT.get(result, result)} ({count_words(c)})"]
    for sev, groups in group_findings(report).items():
        if not groups:
            continue
        lines.append(f"  {sev.upper()} ({c[sev]})")
        for g in groups:
            lines.append(f"    {g.check_id} ({g.times}): {g.rule}")
            for row in g.rows:
                lines.append(f"      - {row.what}  [{row.where}]")
            if g.more:
                lines.append(f"      ... and {len(g.more)} more")
            if sev in ("error", "warning"):
                lines.append(f"      fix: {g.action}")
    return "\n".join(lines)
