"""The programme's state for a run, resolved from the ledger by one ordering rule (docs/LEDGER.md).

The rule, the only one: a country's versions of a deliverable are ordered by **delivery date, then
arrival** (the ledger numbers versions in the order they arrive). A delivery dated after today is refused
(a typo such as 2062): it takes no place in the order and gets an ``inbox.future_delivery`` finding naming
its folder. The **current** version is the last accepted one in that order. Each accepted salinity version
holds the layers it sent plus, with carry-over, the layers of the accepted version before it in the order
that it does not send; a class layer it lacks is derived from its ECe and ESP.

Everything that asks "which version" reads the ``atlas.state.ResolvedState`` this module returns.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from collections.abc import Iterable, Mapping

from atlas import layout
from atlas.config import Programme
from atlas.finding import Finding
from atlas.intake.inbox import future_delivery
from atlas.layout import SOIL_MAP_FILE
from atlas.ledger.schema import ACCEPTED_STATES, SUPERSEDED
from atlas.state import CARRIED, SENT, LayerSource, ResolvedState, VersionState
from checks.metafile import accuracy_rows

SALINITY = "salinity_map"
ACCURACY_CHECK = "metafile.accuracy_recorded"


def order_key(received: dt.date, version: int) -> tuple[dt.date, int]:
    """The ordering rule: delivery date, then arrival (version numbers are given in arrival order)."""
    return received, int(version)


def resolve(ledger, today: dt.date | None = None) -> ResolvedState:
    """The resolved state of the programme of ``ledger`` (an ``atlas.ledger.store.Ledger``) on ``today``."""
    return resolve_db(ledger._db, ledger.programme, today)


def resolve_db(db: sqlite3.Connection, programme: Programme, today: dt.date | None = None) -> ResolvedState:
    """``resolve`` over a ledger's SQLite connection (read only: ``atlas validate`` opens it so)."""
    db.row_factory = sqlite3.Row
    rows = [dict(r) for r in db.execute(
        "SELECT id, country, deliverable, version, delivery, received, state FROM submissions")]
    try:
        own_rows = db.execute("SELECT l.submission_id, l.layer FROM layer_sources l JOIN submissions s "
                              "ON s.id = l.submission_id WHERE l.source_version = s.version").fetchall()
    except sqlite3.OperationalError:  # a ledger written before layer records
        own_rows = []
    own: dict[int, set[str]] = {}
    for r in own_rows:
        own.setdefault(r["submission_id"], set()).add(r["layer"])
    accuracy = _accuracy(db)
    since = _since(db)
    for r in rows:
        r["received"] = dt.date.fromisoformat(r["received"])
        r["own"] = own.get(r["id"], set())
        r["accuracy"] = accuracy.get(r["id"], {})
        r["since"], r["by"] = since.get(r["id"], (None, None))
    return resolve_records(rows, programme, today)


SUPERSEDED_BY = re.compile(r"^superseded by v(\d+)")  # how the ledger's note of a supersession begins


def _since(db: sqlite3.Connection) -> dict[int, tuple[dt.date | None, int | None]]:
    """{submission id: (day of its last change of state, the version that superseded it)} from the history."""
    out: dict[int, tuple[dt.date | None, int | None]] = {}
    for row in db.execute("SELECT submission_id, at, to_state, note FROM events WHERE from_state IS NOT to_state "
                          "AND submission_id IS NOT NULL ORDER BY id"):
        try:
            day = dt.date.fromisoformat(str(row["at"])[:10])
        except ValueError:
            day = None
        match = SUPERSEDED_BY.match(row["note"] or "") if row["to_state"] == SUPERSEDED else None
        out[row["submission_id"]] = (day, int(match.group(1)) if match else None)
    return out


def _accuracy(db: sqlite3.Connection) -> dict[int, dict[str, dict[str, float]]]:
    """{submission id: {layer: {statistic: value}}} from the recorded-accuracy findings of accepted versions."""
    marks = ",".join("?" * len(ACCEPTED_STATES))
    out: dict[int, dict[str, dict[str, float]]] = {}
    for row in db.execute(f"SELECT id, findings FROM submissions WHERE state IN ({marks}) AND findings LIKE ?",
                          (*sorted(ACCEPTED_STATES), f"%{ACCURACY_CHECK}%")):
        try:
            stored = json.loads(row["findings"])
            findings = [Finding.from_dict(f) for f in stored if f.get("check_id") == ACCURACY_CHECK]
        except (ValueError, TypeError, KeyError):
            continue
        for a in accuracy_rows(findings):
            out.setdefault(row["id"], {}).setdefault(f"{a['layer']}_{a['depth']}", {})[a["statistic"]] = a["value"]
    return out


def resolve_records(rows: Iterable[Mapping], programme: Programme, today: dt.date | None = None) -> ResolvedState:
    """The rule over plain records: ``country``, ``deliverable``, ``version``, ``delivery``, ``received`` (date),
    ``state``, ``own`` (the salinity layers the version sent) and ``accuracy`` ({layer: {statistic: value}})."""
    today = today or dt.date.today()
    tracks: dict[tuple[str, str], list[Mapping]] = {}
    refused = []
    for r in rows:
        if r["country"] not in programme.members:
            continue
        if r["received"] > today:
            refused.append(future_delivery(r["country"], r["delivery"] or r["received"].isoformat(), r["received"],
                                           today))
            continue
        tracks.setdefault((r["country"], r["deliverable"]), []).append(r)
    order, current = {}, {}
    carry = programme.salinity.carry_over_layers
    for (iso3, key), records in sorted(tracks.items()):
        previous: dict[str, LayerSource] = {}
        states = []
        for r in sorted(records, key=lambda r: order_key(r["received"], r["version"])):
            accepted = r["state"] in ACCEPTED_STATES
            layers: dict[str, LayerSource] = {}
            if accepted:
                layers = _layers(programme, iso3, key, r, previous if carry else {})
                previous = layers
                current[(iso3, key)] = int(r["version"])
            states.append(VersionState(iso3, key, int(r["version"]), r["delivery"] or r["received"].isoformat(),
                                       r["received"], r["state"], accepted, layers, since=r.get("since"),
                                       by=r.get("by")))
        order[(iso3, key)] = tuple(states)
    return ResolvedState(today, order, current, tuple(refused))


def _layers(programme: Programme, iso3: str, key: str, r: Mapping, previous: dict[str, LayerSource]):
    """A version's effective layers: what it sent, and (salinity, with carry-over) what it keeps from before."""
    version, delivery = int(r["version"]), r["delivery"] or r["received"].isoformat()
    folder = layout.national_dir(programme.processed_dir, iso3, key, version)
    if key != SALINITY:
        path = folder / SOIL_MAP_FILE if programme.deliverables[key].kind == "vector" else None
        return {key: LayerSource(iso3, key, key, version, delivery, SENT, str(path) if path else None)}
    sal = programme.salinity
    layers = {k: LayerSource(s.country, key, k, s.version, s.delivery, CARRIED, s.path, s.accuracy)
              for k, s in previous.items() if k not in r["own"]}
    for name in sorted(r["own"]):
        layer, _, depth = name.rpartition("_")
        layers[name] = LayerSource(iso3, key, name, version, delivery, SENT,
                                   str(folder / sal.file_name(iso3, layer, depth)),
                                   dict(r.get("accuracy", {}).get(name, {})))
    return dict(sorted(layers.items()))
