"""What the ledger says about a country, read only: deliverables, deadlines, versions, publication state.

The portal never creates the ledger: before the first run there is none, and the page says "not received".
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from atlas.config import Programme


def country_status(programme: Programme, iso3: str) -> list[dict]:
    """One row per deliverable: title, deadline, state, versions, published version, and its versions."""
    rows, versions = {}, {}
    if programme.ledger_path.is_file():
        from atlas.ledger.store import Ledger

        ledger = Ledger(programme.ledger_path, programme)
        try:
            rows = {r.deliverable: r for r in ledger.status_rows() if r.country == iso3}
            for record in ledger.versions(iso3):
                versions.setdefault(record.deliverable, []).append(record)
        finally:
            ledger.close()
    out = []
    for key, deliverable in programme.deliverables.items():
        row = rows.get(key)
        out.append({
            "key": key, "title": deliverable.title, "deadline": deliverable.deadline,
            "state": (row.best_state or row.state) if row else "not_received",
            "versions": row.versions if row else 0,
            "published_version": row.published_version if row else None,
            "overdue": bool(row.overdue) if row else False,
            "history": [{"version": r.version, "delivery": r.delivery, "state": r.state, "verdict": r.verdict,
                         "id": r.id, "report": bool(r.report_path)}
                        for r in sorted(versions.get(key, []), key=lambda r: r.version, reverse=True)],
        })
    return out


def ledger_states(programme: Programme) -> dict[tuple[str, str], str]:
    """(country, delivery folder) -> the furthest state of that delivery's submissions in the ledger."""
    if not programme.ledger_path.is_file():
        return {}
    # a delivery's furthest state; a version published once and then replaced (superseded) or carried in part by
    # a later one (partly published) went as far as one published
    rank = {"rejected": 0, "received": 1, "accepted_with_warnings": 2, "accepted": 3, "harmonized": 4, "published": 5,
            "partly_published": 5, "superseded": 5}
    db = sqlite3.connect(f"file:{programme.ledger_path}?mode=ro", uri=True, timeout=30)
    try:
        found: dict[tuple[str, str], str] = {}
        for country, delivery, state in db.execute("SELECT country, delivery, state FROM submissions"):
            key = (country, delivery)
            if key not in found or rank.get(state, -1) > rank.get(found[key], -1):
                found[key] = state
        return found
    except sqlite3.Error:
        return {}
    finally:
        db.close()


def ledger_report(programme: Programme, iso3: str, record_id: int) -> Path | None:
    """The run's report.html of one of ``iso3``'s versions, if it is under data/processed; else None."""
    if not programme.ledger_path.is_file():
        return None
    db = sqlite3.connect(f"file:{programme.ledger_path}?mode=ro", uri=True, timeout=30)
    try:
        row = db.execute("SELECT report_path FROM submissions WHERE id = ? AND country = ?",
                         (record_id, iso3)).fetchone()
    except sqlite3.Error:
        return None
    finally:
        db.close()
    if not row or not row[0]:
        return None
    path = Path(row[0])
    path = path if path.is_absolute() else programme.processed_dir / path
    path = path.resolve()
    path = path / "report.html" if path.is_dir() else path.with_name("report.html")  # the ledger keeps report.json
    inside = path.is_relative_to(programme.processed_dir.resolve())
    return path if inside and path.name == "report.html" and path.is_file() else None
