"""Which version each layer of a salinity submission comes from (partial deliveries, SPEC §2).

A later delivery may send only some layers. With carry-over (``[salinity] carry_over_layers``, on by
default) the layers it does not send are kept from the accepted version before it in the resolved order
(``atlas.ledger.resolve``): the table ``layer_sources`` records, for every accepted salinity version, each
layer ("ECe_0-30") and the version its data came from when it was processed.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable

from atlas.ledger.schema import ACCEPTED_STATES
from checks.naming import parse_salinity_name

DELIVERABLE = "salinity_map"

LAYER_SCHEMA = """
CREATE TABLE IF NOT EXISTS layer_sources (
    submission_id INTEGER NOT NULL REFERENCES submissions (id),
    layer TEXT NOT NULL,             -- layer and depth, e.g. "ECe_0-30"
    source_version INTEGER NOT NULL, -- the version of the same country whose file holds this layer
    PRIMARY KEY (submission_id, layer)
)
"""


def _accepted(marks: Iterable[str] = ACCEPTED_STATES) -> tuple[str, tuple[str, ...]]:
    states = tuple(sorted(marks))
    return ",".join("?" * len(states)), states


def compose(db: sqlite3.Connection, row: sqlite3.Row, own: Iterable[str], inherited: dict[str, int]) -> dict[str, int]:
    """Store and return {layer: source version} of a version: its own layers, plus the ``inherited`` ones
    (the effective layers of the accepted version before it in the resolved order, ``atlas.ledger.resolve``)
    that it does not send. A record of what the version held when it was processed; the resolved state
    recomputes carry-over from the own layers (``source_version`` = the version) by the ordering rule."""
    layers = {key: int(row["version"]) for key in own}
    for key, version in inherited.items():
        layers.setdefault(key, int(version))
    db.execute("DELETE FROM layer_sources WHERE submission_id = ?", (row["id"],))
    db.executemany("INSERT INTO layer_sources (submission_id, layer, source_version) VALUES (?, ?, ?)",
                   [(row["id"], key, version) for key, version in sorted(layers.items())])
    return layers


def layers_of(db: sqlite3.Connection, submission_id: int) -> dict[str, int]:
    rows = db.execute("SELECT layer, source_version FROM layer_sources WHERE submission_id = ? ORDER BY layer",
                      (submission_id,)).fetchall()
    return {r["layer"]: int(r["source_version"]) for r in rows}


def backfill(db: sqlite3.Connection, programme) -> int:
    """Migration of a ledger written before layer records: each accepted salinity version gets the layers
    it sent, from the file names it stored (carry-over is the resolved state's). Returns the versions filled."""
    marks, states = _accepted()
    rows = db.execute(
        f"SELECT * FROM submissions WHERE deliverable = ? AND state IN ({marks}) ORDER BY country, version",
        (DELIVERABLE, *states),
    ).fetchall()
    spec = programme.salinity
    for row in rows:
        names = [entry["path"].rsplit("/", 1)[-1] for entry in json.loads(row["files"])]
        own = {f"{p.layer}_{p.depth}" for name in names if (p := parse_salinity_name(name, spec))}
        compose(db, row, own, {})
    return len(rows)


def carried_read_only(ledger_path, programme, country: str, deliverable: str, checksum: str,
                      today=None) -> dict[str, int]:
    """{layer: source version} a submission would carry over, read from the ledger file without writing to it
    (``atlas validate`` changes nothing), by the resolved order: for a version the ledger knows (by checksum),
    what the accepted version before it holds; for a new one, what the current version holds. Empty without
    a ledger or with carry-over off."""
    from pathlib import Path

    from atlas.ledger.resolve import resolve_db

    path = Path(ledger_path)
    if deliverable != DELIVERABLE or not country or not path.is_file() or not programme.salinity.carry_over_layers:
        return {}
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return {}
    try:
        db.row_factory = sqlite3.Row
        known = db.execute("SELECT version FROM submissions WHERE country = ? AND deliverable = ? AND checksum = ?",
                           (country, deliverable, checksum)).fetchone()
        state = resolve_db(db, programme, today)
        if known is not None:
            return {k: s.version for k, s in state.inherited(country, deliverable, known["version"]).items()}
        current = state.current_state(country, deliverable)
        return {k: s.version for k, s in current.layers.items()} if current is not None else {}
    except sqlite3.Error:  # an unreadable ledger: nothing to carry
        return {}
    finally:
        db.close()
