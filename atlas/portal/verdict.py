"""The verdict of a sent delivery: ``atlas validate``'s own code path (atlas.validation), reports and map included.

The delivery is checked where the ingestion will find it (``data/raw/<ISO3>/<day>``), with the country the
session belongs to, so the verdict is the one the run will record. Reports go to
``data/processed/portal/reports/<delivery id>/<n>/`` (report.html with its map, report.json, and the crosswalk
template a legacy soil map needs); the portal's own page summarises them.
"""

from __future__ import annotations

import logging
from pathlib import Path

from atlas.config import Programme
from atlas.finding import counts
from atlas.validation import validate_path, write_html
from checks.crosswalk import TEMPLATE_NAME, write_template

log = logging.getLogger(__name__)


def load_reference(programme: Programme):
    """The reference boundaries (extent checks and the reports' maps), or None when there is no layer."""
    if not programme.reference_boundaries.is_file():
        log.warning("no reference boundary layer at %s: extent checks are not made", programme.reference_boundaries)
        return None
    from atlas.borders.boundaries import load_boundaries

    try:
        return load_boundaries(programme)[0]
    except Exception as exc:  # noqa: BLE001 - an unreadable layer: the files are still checked
        log.warning("reference boundary layer %s unreadable: %s", programme.reference_boundaries, exc)
        return None


def to_fix(findings, limit: int = 8) -> list[dict]:
    """Errors, then warnings, one line per check (how often, one example): the page's short list."""
    groups: dict[str, dict] = {}
    for f in findings:
        if f.severity.value not in ("error", "warning"):
            continue
        group = groups.setdefault(f.check_id, {"check_id": f.check_id, "severity": f.severity.value, "times": 0,
                                               "example": f.message, "file": f.location.file})
        group["times"] += 1
    ordered = sorted(groups.values(), key=lambda g: (g["severity"] != "error", g["check_id"]))
    return ordered[:limit]


def check_delivery(folder: Path, country: str, programme: Programme, boundaries, out_dir: Path) -> dict:
    """Validate the delivery folder as ``atlas validate`` does; the summary the portal stores and shows."""
    result = validate_path(folder, programme, boundaries, country=country)
    reports = write_html(result, out_dir)
    submissions = []
    for number, (sub, html) in enumerate(zip(result.submissions, reports, strict=True)):
        template = write_template(sub.findings, html.parent)
        submissions.append({
            "number": number, "label": sub.label, "deliverable": sub.meta["deliverable"], "verdict": sub.verdict,
            "counts": counts(sub.findings), "folder": html.parent.name,
            "map": (html.parent / "report_map.svg").is_file(),
            "crosswalk_template": TEMPLATE_NAME if template else None,
            "to_fix": to_fix(sub.findings),
        })
    return {"verdict": result.verdict, "submissions": submissions,
            "skipped": [{"file": f.location.file, "reason": f.message} for f in result.skipped]}
