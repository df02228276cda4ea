"""What the regional stage changed for each country: a report beside that country's submission."""

from __future__ import annotations

from pathlib import Path

from atlas import layout
from atlas.config import Programme
from atlas.finding import Finding, counts
from atlas.reports.report import write_reports


def write_country_notes(programme: Programme, deliverable: str, versions: dict[str, int],
                        notes: dict[str, list[Finding]], boundaries=None, segments=None) -> list[Path]:
    """One report per country of ``notes`` (``RegionalOutcome.notes``: empty when nothing was built).

    ``segments``: the border segments where neighbours name different soil groups (columns a, b and line
    geometries, EPSG:4326), drawn on each country's map.
    """
    written = []
    names = _names(programme, boundaries)
    for iso3, mine in sorted(notes.items()):
        version = versions[iso3]
        out_dir = layout.national_dir(programme.processed_dir, iso3, deliverable, version) / "harmonization"
        meta = {"country": iso3, "country_name": programme.members.get(iso3, iso3), "deliverable": deliverable,
                "deliverable_title": getattr(programme.deliverables.get(deliverable), "title", deliverable),
                "version": version, "stage": "regional harmonization", "verdict": "harmonized",
                "counts": counts(mine), "neighbour_names": names}
        if segments is not None and len(segments):
            meta["segments"] = segments[(segments["a"] == iso3) | (segments["b"] == iso3)].geometry.to_numpy()
        written += list(write_reports(mine, out_dir, meta, boundaries=boundaries).values())
    return written


def _names(programme: Programme, boundaries) -> dict[str, str]:
    """ISO3 -> name of every member and every territory of the reference layer (neighbours named in words)."""
    names = {}
    if boundaries is not None and len(boundaries) and {"iso3", "name"} <= set(boundaries.columns):
        names.update({str(k): str(v) for k, v in zip(boundaries["iso3"], boundaries["name"], strict=True)})
    names.update(programme.members)
    return names
