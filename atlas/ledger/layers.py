"""Which version each layer of a salinity submission comes from (partial deliveries, SPEC §2).

A later delivery may send only some layers. With carry-over (``[salinity] carry_over_layers``, on by
default) the layers it does not send are kept from the last accepted version: the table ``layer_sources``
records, for every accepted salinity version, each layer ("ECe_0-30") and the version its data comes from.
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


def compose(db: sqlite3.Connection, row: sqlite3.Row, own: Iterable[str], carry_over: bool) -> dict[str, int]:
    """Store and return {layer: source version} of a version: its own layers, plus (with carry-over) the
    layers of the last accepted earlier version that it does not send."""
    layers = {key: int(row["version"]) for key in own}
    if carry_over:
        for key, version in previous_layers(db, row["country"], row["deliverable"], row["version"]).items():
            layers.setdefault(key, version)
    db.execute("DELETE FROM layer_sources WHERE submission_id = ?", (row["id"],))
    db.executemany("INSERT INTO layer_sources (submission_id, layer, source_version) VALUES (?, ?, ?)",
                   [(row["id"], key, version) for key, version in sorted(layers.items())])
    return layers


def previous_layers(db: sqlite3.Connection, country: str, deliverable: str, version: int) -> dict[str, int]:
    """{layer: source version} of the last accepted version before ``version`` that has layer records."""
    marks, states = _accepted()
    rows = db.execute(
        f"SELECT l.layer, l.source_version FROM layer_sources l JOIN submissions s ON s.id = l.submission_id "
        f"WHERE s.country = ? AND s.deliverable = ? AND s.version = (SELECT MAX(p.version) FROM submissions p "
        f"WHERE p.country = ? AND p.deliverable = ? AND p.version < ? AND p.state IN ({marks}) "
        f"AND EXISTS (SELECT 1 FROM layer_sources q WHERE q.submission_id = p.id))",
        (country, deliverable, country, deliverable, version, *states),
    ).fetchall()
    return {r["layer"]: int(r["source_version"]) for r in rows}


def layers_of(db: sqlite3.Connection, submission_id: int) -> dict[str, int]:
    rows = db.execute("SELECT layer, source_version FROM layer_sources WHERE submission_id = ? ORDER BY layer",
                      (submission_id,)).fetchall()
    return {r["layer"]: int(r["source_version"]) for r in rows}


def current_layers(db: sqlite3.Connection, deliverable: str = DELIVERABLE) -> dict[str, dict[str, int]]:
    """{iso3: {layer: source version}} of the newest accepted version of each country that has a record."""
    marks, states = _accepted()
    rows = db.execute(
        f"SELECT s.id, s.country FROM submissions s WHERE s.deliverable = ? AND s.version = (SELECT MAX(p.version) "
        f"FROM submissions p WHERE p.country = s.country AND p.deliverable = s.deliverable AND p.state IN ({marks}))",
        (deliverable, *states),
    ).fetchall()
    return {r["country"]: layers for r in rows if (layers := layers_of(db, r["id"]))}


def backfill(db: sqlite3.Connection, programme) -> int:
    """Migration of a ledger written before layer records: each accepted salinity version gets its layers
    from the file names it stored, carried over as today's setting says. Returns the versions filled."""
    marks, states = _accepted()
    rows = db.execute(
        f"SELECT * FROM submissions WHERE deliverable = ? AND state IN ({marks}) ORDER BY country, version",
        (DELIVERABLE, *states),
    ).fetchall()
    spec = programme.salinity
    for row in rows:
        names = [entry["path"].rsplit("/", 1)[-1] for entry in json.loads(row["files"])]
        own = {f"{p.layer}_{p.depth}" for name in names if (p := parse_salinity_name(name, spec))}
        compose(db, row, own, spec.carry_over_layers)
    return len(rows)


def carried_read_only(ledger_path, country: str, deliverable: str, checksum: str) -> dict[str, int]:
    """{layer: source version} a submission would carry over, read from the ledger file without writing to it
    (``atlas validate`` changes nothing): for a version the ledger knows (by checksum), the layers of the last
    accepted version before it; for a new one, those of the newest accepted version. Empty without a ledger."""
    from pathlib import Path

    path = Path(ledger_path)
    if deliverable != DELIVERABLE or not country or not path.is_file():
        return {}
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return {}
    try:
        db.row_factory = sqlite3.Row
        known = db.execute("SELECT version FROM submissions WHERE country = ? AND deliverable = ? AND checksum = ?",
                           (country, deliverable, checksum)).fetchone()
        return previous_layers(db, country, deliverable, known["version"] if known else 2**31)
    except sqlite3.Error:  # a ledger written before layer records: nothing to carry
        return {}
    finally:
        db.close()
