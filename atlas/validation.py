"""``atlas validate``: a country checks its files before sending, and gets the verdict the run would record.

No Prefect, no ledger, no inbox: the files are grouped into submissions as the inbox discovery groups
them (``checks.run.plan_path``), and each goes through ``stages.check_submission``, the run's own path,
with a temporary folder standing in for the version's processed folder. Nothing under ``path`` changes.
"""

from __future__ import annotations

import logging
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from atlas.config import Programme
from atlas.finding import Finding, counts
from atlas.ledger.layers import carried_read_only
from atlas.ledger.resolve import resolve_records
from atlas.stages import check_submission, report_meta
from atlas.wording import plural
from checks.run import checks_not_made, country_boundary, plan_path, submission_label

log = logging.getLogger(__name__)

EXIT_ACCEPTED = 0  # accepted (or accepted with warnings, without --strict)
EXIT_WARNINGS = 1  # accepted with warnings, with --strict
EXIT_USAGE = 2  # usage error, or nothing in the path to validate
EXIT_REJECTED = 3  # at least one submission would be rejected
VERDICT_ORDER = ("accepted", "accepted_with_warnings", "rejected")
JSON_SCHEMA_VERSION = "1.0"


@dataclass
class ValidatedSubmission:
    """One submission as ``atlas run`` would have recorded it."""

    label: str  # e.g. "NPL soil_map (2026-05-02)"
    meta: dict  # the report's meta, as the run writes it
    findings: list[Finding]
    verdict: str
    country_source: str  # --country, inbox path, file names, or why it is unknown
    not_made: list[str]  # check ids that could not run (no country or no boundary)


@dataclass
class ValidationResult:
    path: Path
    submissions: list[ValidatedSubmission] = field(default_factory=list)
    skipped: list[Finding] = field(default_factory=list)  # files not taken as part of a deliverable, with why
    boundaries: object = field(default=None, repr=False)  # the reference layer used, for the reports' maps

    @property
    def verdict(self) -> str | None:
        """The worst verdict of the submissions; None when nothing was validated."""
        verdicts = [s.verdict for s in self.submissions]
        return max(verdicts, key=VERDICT_ORDER.index) if verdicts else None

    def exit_status(self, strict: bool = False) -> int:
        if self.verdict is None:
            return EXIT_USAGE
        if self.verdict == "rejected":
            return EXIT_REJECTED
        return EXIT_WARNINGS if strict and self.verdict == "accepted_with_warnings" else EXIT_ACCEPTED


def validate_path(path: Path, programme: Programme, boundaries=None, country: str | None = None) -> ValidationResult:
    """Every submission in ``path`` (a file, a delivery, a country folder or an inbox), checked as the run does."""
    path = Path(path)
    plan = plan_path(path, programme, country)
    result = ValidationResult(path, skipped=plan.skipped, boundaries=boundaries)
    checked_in_folder: list[dict] = []  # earlier deliveries of the path, as records of the ordering rule
    done: dict[int, ValidatedSubmission] = {}
    with tempfile.TemporaryDirectory(prefix="atlas-validate-") as tmp:
        # in the resolved order (delivery date, then the order found), so a partial delivery carries over
        for number, sub in sorted(enumerate(plan.submissions), key=lambda item: (item[1].received, item[0])):
            # archives are extracted and the national copy harmonized here, as in data/processed during a run
            carried = _carried(sub, number, checked_in_folder, programme)
            checked = check_submission(sub, programme, boundaries, Path(tmp) / str(number), root=plan.root,
                                       carried=frozenset(carried))
            checked_in_folder.append({
                "country": sub.country, "deliverable": sub.deliverable, "version": number + 1,
                "delivery": sub.delivery, "received": sub.received, "state": checked.verdict,
                "own": {f"{layer}_{depth}" for layer, depth in checked.outputs.get("layers", {})}})
            label = submission_label(sub)
            base = programme.raw_dir if sub.folder.is_relative_to(programme.raw_dir) else plan.root
            not_made = checks_not_made(sub.deliverable, sub.country, country_boundary(boundaries, sub.country))
            if programme.deliverables.get(sub.deliverable) is None or \
                    programme.deliverables[sub.deliverable].kind == "document":
                not_made = []
            # a local check is no submission: no version number, no date received
            meta = {**report_meta(sub, checked, programme, base), "version": None, "received": None,
                    "checked": "locally with atlas validate, before sending"}
            done[number] = ValidatedSubmission(
                label, meta, checked.findings, checked.verdict,
                plan.country_source.get(label, "unknown"), not_made)
    result.submissions = [done[number] for number in sorted(done)]
    return result


def _carried(sub, number: int, earlier: list[dict], programme: Programme) -> dict[str, int]:
    """The layers a salinity submission keeps from before it, by the run's ordering rule (atlas.ledger.resolve):
    from the earlier deliveries in the path being validated when one of them is accepted, else from the ledger
    (read only). Numbers in the path's deliveries stand for versions."""
    if sub.deliverable != "salinity_map" or not programme.salinity.carry_over_layers or not sub.country:
        return {}
    mine = {"country": sub.country, "deliverable": sub.deliverable, "version": number + 1,
            "delivery": sub.delivery, "received": sub.received, "state": "received", "own": set()}
    state = resolve_records([*earlier, mine], programme)
    inherited = state.inherited(sub.country, sub.deliverable, number + 1)
    if inherited:
        return {key: source.version for key, source in inherited.items()}
    return carried_read_only(programme.ledger_path, programme, sub.country, sub.deliverable, sub.checksum)


def result_json(result: ValidationResult) -> dict:
    """The machine output of ``atlas validate --json`` (docs/REPORT_SCHEMA.md, atlas/reports/validate_schema.json)."""
    from atlas.reports.report import report_dict

    return {
        "schema_version": JSON_SCHEMA_VERSION,
        "path": str(result.path),
        "verdict": result.verdict,
        "validated": len(result.submissions),
        "submissions": [
            {"label": s.label, "country_source": s.country_source, "checks_not_made": s.not_made,
             "report": report_dict(s.findings, s.meta)}
            for s in result.submissions
        ],
        "skipped": [{"file": f.location.file, "check_id": f.check_id, "reason": f.message} for f in result.skipped],
    }


def write_html(result: ValidationResult, out_dir: Path) -> list[Path]:
    """The reports the secretariat sends (HTML, Markdown, JSON), one folder per submission under ``out_dir``."""
    from atlas.reports.report import write_reports
    from checks.crosswalk import write_template

    written = []
    several = len({s.meta["delivery"] for s in result.submissions}) > 1
    for s in result.submissions:
        name = f"{s.meta['country'] or 'unknown'}_{s.meta['deliverable']}"
        if several:
            name += f"_{s.meta['delivery']}"
        folder = Path(out_dir) / re.sub(r"[^A-Za-z0-9._-]+", "_", name)
        written.append(write_reports(s.findings, folder, s.meta, boundaries=result.boundaries)["html"])
        write_template(s.findings, folder)  # the crosswalk the report links to, beside it
    return written


def render(result: ValidationResult) -> str:
    """The terminal report: each submission's findings, which checks were not made, and every skipped file."""
    from atlas.reports.report import VERDICT_TEXT, count_words, render_text

    blocks = []
    for s in result.submissions:
        files = s.meta["files"]
        listed = ", ".join(files) if len(files) <= 3 else f"{len(files)} files ({', '.join(files[:2])}, ...)"
        lines = [render_text(s.findings, s.label),
                 f"   country: {s.meta['country'] or 'unknown'} (from {s.country_source}); {listed}"]
        if s.not_made:
            why, fix = (("no country known", "give --country ISO3") if s.meta["country"] is None else
                        ("no reference boundary for it", "give --boundaries FILE, the layer the secretariat uses"))
            lines.append(f"   not checked ({why}): {', '.join(s.not_made)}; {fix}")
        blocks.append("\n".join(lines))
    if result.skipped:
        blocks.append(f"== {plural(len(result.skipped), 'file')} not validated:\n"
                      + "\n".join(f"   {f.location.file}: {f.message.split(': ', 1)[-1]}" for f in result.skipped))
    if result.verdict is None:
        blocks.append(f"== nothing validated in {result.path}: no file of any deliverable "
                      "(GeoTIFF salinity layers, a soil map, a .docx/.pdf chapter or profile)")
    else:
        totals = counts([f for s in result.submissions for f in s.findings])
        n = len(result.submissions)
        blocks.append(f"== overall: {VERDICT_TEXT[result.verdict]} ({n} submission{'' if n == 1 else 's'}; "
                      f"{count_words(totals)})")
    return "\n\n".join(blocks)
