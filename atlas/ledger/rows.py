"""Building the status rows (member x deliverable) from the ledger's stored versions."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence

from atlas.config import Programme
from atlas.ledger.schema import ACCEPTED_STATES, NOT_RECEIVED, PUBLISHED, StatusRow


def build_status_rows(
    programme: Programme,
    subs: Mapping[tuple[str, str], Sequence[Mapping]],
    updated: Mapping[tuple[str, str], str],
    today: dt.date,
    layers: Mapping[tuple[str, str], Mapping[str, int]] | None = None,
) -> list[StatusRow]:
    """One row per member x deliverable, in programme order; ``subs`` holds each track's versions, oldest first.

    The row's state is the newest version's; overdue means past the deadline and that state not accepted.
    """
    rows = []
    for iso3, name in programme.members.items():
        for key, deliverable in programme.deliverables.items():
            versions = subs.get((iso3, key), [])
            newest = versions[-1] if versions else None
            state = newest["state"] if newest else NOT_RECEIVED
            accepted = [v["version"] for v in versions if v["state"] in ACCEPTED_STATES]
            published = [v["version"] for v in versions if v["state"] == PUBLISHED]
            counts = json.loads(newest["counts"]) if newest and newest["counts"] else {}
            deadline = deliverable.deadline
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
                    overdue=bool(deadline and today > deadline and state not in ACCEPTED_STATES),
                    errors=int(counts.get("error", 0)),
                    warnings=int(counts.get("warning", 0)),
                    **_salinity_extent(programme, key, (layers or {}).get((iso3, key)), accepted, newest),
                )
            )
    return rows


def _salinity_extent(programme: Programme, key: str, composed, accepted: list[int], newest) -> dict:
    """Layers in use (of the last accepted version) and the covered share (of the newest) for a salinity row."""
    if key != "salinity_map":
        return {}
    out: dict = {"layers_total": len(programme.salinity.layer_keys())}
    if composed and accepted:
        out["layers_in_use"] = len(composed)
        out["layers_carried"] = sum(1 for v in composed.values() if v != max(accepted))
    # sqlite3.Row answers `in` over its values, not its column names: ask keys()
    stored = newest["findings"] if newest is not None and "findings" in newest.keys() else None  # noqa: SIM118
    shares = [f["observed"]["share"] for f in json.loads(stored or "[]")
              if f.get("check_id") in COVERAGE_CHECKS and isinstance(f.get("observed"), dict)
              and "share" in f["observed"]]
    if shares:
        out["coverage_share"] = max(shares)
    return out


COVERAGE_CHECKS = ("raster.coverage", "raster.coverage_low")
