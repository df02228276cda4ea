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
                )
            )
    return rows
