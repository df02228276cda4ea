"""Building the status rows (member x deliverable) from the ledger's stored versions."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence

from atlas.config import Programme
from atlas.ledger.schema import (
    ACCEPTED_STATES,
    NOT_RECEIVED,
    PARTLY_PUBLISHED,
    PUBLISHED,
    STATE_LABELS,
    SUPERSEDED,
    StatusRow,
)
from atlas.state import CARRIED, ResolvedState


def country_order(programme: Programme) -> list[str]:
    """Members in the configured order ([status] country_order), the others after them by name."""
    configured = [c for c in programme.status.country_order if c in programme.members]
    rest = sorted((c for c in programme.members if c not in configured), key=lambda c: programme.members[c].casefold())
    return configured + rest


def _coverage(version: Mapping) -> float | None:
    """Covered share of the country: the largest share a layer of the version covers, from its coverage
    findings (``raster.coverage`` / ``raster.coverage_low``), else None."""
    keys = version.keys() if hasattr(version, "keys") else ()  # sqlite3.Row: `in` looks at values, not names
    if "coverage" in keys and version["coverage"] is not None:  # a ledger that records it as a column
        return float(version["coverage"])
    stored = version["findings"] if "findings" in keys else None
    try:
        findings = json.loads(stored) if stored else []
    except (TypeError, ValueError):
        return None
    shares = [f["observed"]["share"] for f in findings if isinstance(f, dict)
              and f.get("check_id") in COVERAGE_CHECKS and isinstance(f.get("observed"), dict)
              and isinstance(f["observed"].get("share"), int | float)]
    return float(max(shares)) if shares else None


def build_status_rows(
    programme: Programme,
    subs: Mapping[tuple[str, str], Sequence[Mapping]],
    updated: Mapping[tuple[str, str], str],
    today: dt.date,
    resolved: ResolvedState | None = None,
) -> list[StatusRow]:
    """One row per member x deliverable, countries by name (or configured order); ``subs``: versions in the
    resolved order (delivery date, then arrival).

    The version that counts is the resolved state's current one (the last accepted in that order); with none
    accepted, the newest. Overdue means past the deadline with no version accepted.
    """
    rows = []
    for iso3 in country_order(programme):
        name = programme.members[iso3]
        for key, deliverable in programme.deliverables.items():
            versions = subs.get((iso3, key), [])
            newest = versions[-1] if versions else None
            current = resolved.current.get((iso3, key)) if resolved is not None else None
            best = next((v for v in versions if v["version"] == current), newest)
            state = newest["state"] if newest else NOT_RECEIVED
            accepted = [v["version"] for v in versions if v["state"] in ACCEPTED_STATES]
            published = [v["version"] for v in versions if v["state"] == PUBLISHED]
            counts = json.loads(newest["counts"]) if newest and newest["counts"] else {}
            deadline = deliverable.deadline
            overdue = bool(deadline and today > deadline and not accepted)
            best_received = dt.date.fromisoformat(best["received"]) if best else None
            first = first_accepted(versions)
            delivered = dt.date.fromisoformat(first["received"]) if first is not None else None
            days_late = None
            if deadline and delivered is not None:
                days_late = (delivered - deadline).days
            elif overdue:
                days_late = (today - deadline).days
            # the versions after the one that counts, in the resolved order
            later = tuple((v["version"], v["state"]) for v in versions[versions.index(best) + 1:]) if best else ()
            # the versions before it that were published: what the current release still holds of them, if anything
            earlier = tuple((v["version"], v["state"], v.get("publication") or STATE_LABELS[v["state"]])
                            for v in versions[:versions.index(best)] if v["state"] in (PARTLY_PUBLISHED, SUPERSEDED)
                            ) if best else ()
            rows.append(
                StatusRow(
                    country=iso3,
                    name=name,
                    deliverable=key,
                    state=state,
                    version=newest["version"] if newest else None,
                    received=dt.date.fromisoformat(newest["received"]) if newest else None,
                    updated=updated.get((iso3, key)),
                    versions=len(versions),
                    last_accepted_version=max(accepted) if accepted else None,
                    published_version=max(published) if published else None,
                    deadline=deadline,
                    overdue=overdue,
                    errors=int(counts.get("error", 0)),
                    warnings=int(counts.get("warning", 0)),
                    best_state=best["state"] if best else None,
                    best_version=best["version"] if best else None,
                    best_received=best_received,
                    later=later,
                    earlier=earlier,
                    days_late=days_late,
                    coverage=_coverage(best) if best is not None else None,
                    kind=deliverable.kind,
                    delivered_version=first["version"] if first is not None else None,
                    delivered=delivered,
                    **_salinity_layers(programme, key, resolved.current_state(iso3, key) if resolved else None),
                )
            )
    return rows


def first_accepted(versions: Sequence[Mapping]) -> Mapping | None:
    """The version that delivered the deliverable: the earliest-dated accepted one (on time / late is its)."""
    accepted = [v for v in versions if v["state"] in ACCEPTED_STATES]
    return min(accepted, key=lambda v: (v["received"], v["version"])) if accepted else None


def _salinity_layers(programme: Programme, key: str, current) -> dict:
    """Layers in use (of the current version, carried-over ones included) for a salinity row."""
    if key != "salinity_map":
        return {}
    out: dict = {"layers_total": len(programme.salinity.layer_keys())}
    if current is not None and current.layers:
        out["layers_in_use"] = len(current.layers)
        out["layers_carried"] = sum(1 for s in current.layers.values() if s.how == CARRIED)
    return out


COVERAGE_CHECKS = ("raster.coverage", "raster.coverage_low")
