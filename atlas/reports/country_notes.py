"""What the regional stage changed for each country: a report beside that country's submission."""

from __future__ import annotations

from pathlib import Path

from atlas import layout
from atlas.config import Programme
from atlas.finding import Finding, counts
from atlas.reports.report import write_reports


def write_country_notes(programme: Programme, deliverable: str, versions: dict[str, int],
                        notes: dict[str, list[Finding]], boundaries=None) -> list[Path]:
    """One report per country of ``notes`` (``RegionalOutcome.notes``: empty when nothing was built)."""
    written = []
    for iso3, mine in sorted(notes.items()):
        version = versions[iso3]
        out_dir = layout.national_dir(programme.processed_dir, iso3, deliverable, version) / "harmonization"
        meta = {"country": iso3, "country_name": programme.members.get(iso3, iso3), "deliverable": deliverable,
                "deliverable_title": getattr(programme.deliverables.get(deliverable), "title", deliverable),
                "version": version, "stage": "regional harmonization", "verdict": "harmonized",
                "counts": counts(mine)}
        written += list(write_reports(mine, out_dir, meta, boundaries=boundaries).values())
    return written
