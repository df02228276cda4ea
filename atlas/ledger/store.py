"""The submission ledger: every version of every country's deliverables and its state, in SQLite.

SQLite in WAL mode with a busy timeout; every change is one ``BEGIN IMMEDIATE`` transaction,
so two processes (a flow run and ``atlas status``) can write at once without losing a version.
The ledger, not the inbox, numbers versions: a new checksum for a country x deliverable
becomes previous max + 1, and the same checksum again is the same version.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from atlas.config import Programme
from atlas.intake.inbox import Submission, file_sha256
from atlas.ledger import layers, releases
from atlas.ledger.resolve import order_key, resolve
from atlas.ledger.rows import build_status_rows
from atlas.ledger.schema import (
    NOT_RECEIVED,
    PUBLICATION_STATES,
    PUBLISHED,
    RECEIVED,
    REJECTED,
    SCHEMA,
    SCHEMA_VERSION,
    STAGE_RANK,
    STATES,
    VERDICTS,
    FileEntry,
    InvalidTransition,
    LedgerError,
    StatusRow,
    SubmissionRecord,
    UnknownRecord,
    check_transition,
)

__all__ = [
    "InvalidTransition", "Ledger", "LedgerError", "STATES", "StatusRow", "SubmissionRecord", "UnknownRecord",
]

log = logging.getLogger(__name__)
# a verdict's counts in the history, as the reports and the terminal say them: "2 errors, 1 warning, 3 repaired"
SEVERITY_WORDS = {"error": ("error", "errors"), "warning": ("warning", "warnings"), "fixed": ("repaired", "repaired"),
                  "info": ("for the record", "for the record")}

BUSY_TIMEOUT_MS = 60_000
NOT_PUBLISHED_NOTE = "not published in "  # how a product's reason for leaving a version out begins


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _finding_dict(item) -> dict:
    return item.to_dict() if hasattr(item, "to_dict") else dict(item)


class Ledger:
    """The submission ledger of one programme, stored in one SQLite file."""

    def __init__(self, path: Path, programme: Programme, clock: Callable[[], str] = _utc_now):
        self.path = Path(path)
        self.programme = programme
        self._clock = clock  # injectable so tests can give events known times
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Prefect may call tasks from worker threads: allow that, and serialise writes with a lock
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        self._db.row_factory = sqlite3.Row
        self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":  # e.g. a network file system; still correct, only less concurrent
            log.warning("ledger %s: journal mode is %s, not WAL", self.path, mode)
        self._db.execute("PRAGMA synchronous = NORMAL")  # durable at every commit in WAL mode except on power loss
        self._db.execute("PRAGMA foreign_keys = ON")
        self._create_schema()
        self._register(programme)

    # -- plumbing -------------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; IMMEDIATE takes the write lock up front so reads inside it are current."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _create_schema(self) -> None:
        # executescript would COMMIT on its own; run the statements one by one inside a transaction
        with self._transaction() as db:
            for statement in [*SCHEMA.split(";"), layers.LAYER_SCHEMA, releases.RELEASE_SCHEMA]:
                if statement.strip():
                    db.execute(statement)
            db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
            stored = int(db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])
            if stored == 1:  # migration 1 -> 2: layer records (table created above) filled from stored file names
                filled = layers.backfill(db, self.programme)
                db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))
                log.info("ledger %s: migrated to schema 2 (layer sources of %d versions)", self.path, filled)
        stored = int(self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])
        if stored != SCHEMA_VERSION:
            raise LedgerError(f"ledger {self.path} has schema version {stored}; this pipeline reads {SCHEMA_VERSION}")

    def _register(self, programme: Programme) -> None:
        """Register (or refresh) members, deliverables and every member x deliverable track."""
        now = self._clock()
        with self._transaction() as db:
            db.executemany(
                "INSERT INTO members (iso3, name) VALUES (?, ?) ON CONFLICT (iso3) DO UPDATE SET name = excluded.name",
                sorted(programme.members.items()),
            )
            db.executemany(
                "INSERT INTO deliverables (key, title, product, kind, deadline) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET title = excluded.title, product = excluded.product, "
                "kind = excluded.kind, deadline = excluded.deadline",
                [
                    (d.key, d.title, d.product, d.kind, d.deadline.isoformat() if d.deadline else None)
                    for d in programme.deliverables.values()
                ],
            )
            db.executemany(
                "INSERT OR IGNORE INTO tracks (country, deliverable, registered_at) VALUES (?, ?, ?)",
                [(iso3, key, now) for iso3 in programme.members for key in programme.deliverables],
            )

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @staticmethod
    def _record(row: sqlite3.Row, is_new: bool = False) -> SubmissionRecord:
        return SubmissionRecord(
            id=row["id"],
            country=row["country"],
            deliverable=row["deliverable"],
            version=row["version"],
            delivery=row["delivery"],
            received=dt.date.fromisoformat(row["received"]),
            recorded_at=row["recorded_at"],
            checksum=row["checksum"],
            files=tuple(FileEntry(**f) for f in json.loads(row["files"])),
            state=row["state"],
            verdict=row["verdict"],
            counts=json.loads(row["counts"]) if row["counts"] else {},
            report_path=row["report_path"],
            is_new=is_new,
        )

    def _row(self, record_id: int) -> sqlite3.Row:
        row = self._db.execute("SELECT * FROM submissions WHERE id = ?", (record_id,)).fetchone()
        if row is None:
            raise UnknownRecord(f"no submission with id {record_id} in the ledger {self.path}")
        return row

    def _event(self, db, row, from_state: str | None, to_state: str, note=None, run_id=None, product=None) -> None:
        db.execute(
            "INSERT INTO events (submission_id, country, deliverable, version, from_state, to_state, at, note, "
            "run_id, product) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (row["id"], row["country"], row["deliverable"], row["version"], from_state, to_state, self._clock(),
             note, run_id, product),
        )

    # -- writing --------------------------------------------------------------------------------

    def record_submission(self, sub: Submission, run_id: str | None = None) -> SubmissionRecord:
        """Store a submission as a new version (state received), or return the version with its checksum."""
        if sub.country not in self.programme.members:
            raise LedgerError(f"{sub.country} is not a member country of {self.programme.name}")
        if sub.deliverable not in self.programme.deliverables:
            raise LedgerError(
                f"{sub.deliverable!r} is not a deliverable; deliverables are {', '.join(self.programme.deliverables)}"
            )
        find = "SELECT * FROM submissions WHERE country = ? AND deliverable = ? AND checksum = ?"
        key = (sub.country, sub.deliverable, sub.checksum)
        existing = self._db.execute(find, key).fetchone()
        if existing is not None:
            self._note_resent(existing, sub, run_id)
            return self._record(existing, is_new=False)
        # per-file hashes come from discovery; hashed here (outside the write lock) only if not given
        known = dict(sub.file_sha256)
        files = [
            {"path": _relative(p, sub.folder), "size": p.lstat().st_size,
             "sha256": known[p] if p in known else file_sha256(p)}
            for p in sub.files
        ]
        with self._transaction() as db:
            existing = db.execute(find, key).fetchone() or _same_files(db, sub, files)
            if existing is not None:  # another process was quicker, or a ledger from before the checksum change
                self._note_resent(existing, sub, run_id, db)
                return self._record(existing, is_new=False)
            newest = db.execute(
                "SELECT version, state FROM submissions WHERE country = ? AND deliverable = ? "
                "ORDER BY version DESC LIMIT 1",
                (sub.country, sub.deliverable),
            ).fetchone()
            version = newest["version"] + 1 if newest else 1
            if version != sub.version:
                log.info("%s/%s: inbox proposed v%s, ledger numbers it v%s",
                         sub.country, sub.deliverable, sub.version, version)
            cursor = db.execute(
                "INSERT INTO submissions (country, deliverable, version, delivery, received, recorded_at, checksum, "
                "folder, files, state, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (sub.country, sub.deliverable, version, sub.delivery, sub.received.isoformat(), self._clock(),
                 sub.checksum, str(sub.folder), json.dumps(files), RECEIVED, run_id),
            )
            row = db.execute("SELECT * FROM submissions WHERE id = ?", (cursor.lastrowid,)).fetchone()
            note = f"delivery {sub.delivery}, {len(files)} file{'s' if len(files) != 1 else ''}"
            self._event(db, row, newest["state"] if newest else NOT_RECEIVED, RECEIVED, note, run_id)
        log.info("ledger: %s/%s v%d received (%s)", sub.country, sub.deliverable, version, sub.delivery)
        return self._record(row, is_new=True)

    def _note_resent(self, row: sqlite3.Row, sub: Submission, run_id: str | None, db=None) -> None:
        """History entry (once per delivery folder) when a known version arrives again in another delivery."""
        if row["delivery"] == sub.delivery:
            return
        note = f"re-sent: delivery {sub.delivery} holds the same files; same version, nothing reprocessed"
        if db is None:
            with self._transaction() as tx:
                self._note_resent(row, sub, run_id, tx)
            return
        seen = db.execute("SELECT 1 FROM events WHERE submission_id = ? AND note = ?", (row["id"], note)).fetchone()
        if seen is None:
            self._event(db, row, row["state"], row["state"], note, run_id)
            log.info("ledger: %s/%s v%d re-sent in %s", sub.country, sub.deliverable, row["version"], sub.delivery)

    def record_validation(
        self,
        record_id: int,
        verdict: str,
        counts: dict[str, int],
        report_path: Path | None,
        findings: list[dict] | None = None,
    ) -> None:
        """Store a version's validation verdict, finding counts, report and findings.

        Validating again with the same verdict only refreshes the details. A harmonized or
        published version that is re-validated as accepted keeps its stage; rejected moves it back.
        """
        if verdict not in VERDICTS:
            raise InvalidTransition(f"verdict {verdict!r} is not one of {', '.join(sorted(VERDICTS))}")
        with self._transaction() as db:
            row = self._row(record_id)
            current = row["state"]
            what = f"{row['country']}/{row['deliverable']} v{row['version']}"
            check_transition(current, verdict, what)
            new_state = current if (current in STAGE_RANK and verdict != REJECTED) else verdict
            db.execute(
                "UPDATE submissions SET state = ?, verdict = ?, counts = ?, findings = ?, report_path = ?, "
                "validated_at = ? WHERE id = ?",
                (new_state, verdict, json.dumps(dict(counts)),
                 json.dumps([_finding_dict(f) for f in findings or []], default=str),
                 str(report_path) if report_path else None, self._clock(), record_id),
            )
            if new_state != current or verdict != row["verdict"]:
                note = ", ".join(f"{n} {SEVERITY_WORDS.get(k, (k, k))[n != 1]}" for k, n in counts.items() if n) \
                    or "no findings"
                if row["verdict"] is not None:
                    note = f"re-validated: {note}"
                self._event(db, row, current, new_state, note)

    def mark(
        self,
        record_id: int,
        state: str,
        note: str | None = None,
        run_id: str | None = None,
        product: str | None = None,
    ) -> None:
        """Move a version to a later stage (harmonized, published); ``product`` names the product that used it.

        Marking a stage the version already passed (harmonized when published) keeps the higher
        state but still records which product used the version.
        """
        if state in VERDICTS:
            raise InvalidTransition(f"use record_validation to set the verdict {state!r}")
        with self._transaction() as db:
            row = self._row(record_id)
            current = row["state"]
            check_transition(current, state, f"{row['country']}/{row['deliverable']} v{row['version']}")
            new_state = state
            if current in STAGE_RANK and STAGE_RANK[current] >= STAGE_RANK[state]:
                new_state = current
            if new_state != current:
                db.execute("UPDATE submissions SET state = ? WHERE id = ?", (new_state, record_id))
                self._event(db, row, current, new_state, note, run_id, product)
            elif product is not None:
                used = db.execute(  # once per product, whichever of the two states the entry was recorded as
                    "SELECT 1 FROM events WHERE submission_id = ? AND to_state IN (?, ?) AND product = ?",
                    (record_id, state, current, product),
                ).fetchone()
                if used is None:
                    self._event(db, row, current, current, note or f"{state} again, in {product}", run_id, product)

    def mark_version(
        self,
        country: str,
        deliverable: str,
        version: int,
        state: str,
        note: str | None = None,
        run_id: str | None = None,
        product: str | None = None,
    ) -> None:
        """``mark`` addressed by (country, deliverable, version), as products know their inputs."""
        row = self._version_row(self._db, country, deliverable, version)
        self.mark(row["id"], state, note=note, run_id=run_id, product=product)

    def _version_row(self, db: sqlite3.Connection, country: str, deliverable: str, version: int) -> sqlite3.Row:
        """The ledger's row of one version; UnknownRecord when it has none."""
        row = db.execute(
            "SELECT * FROM submissions WHERE country = ? AND deliverable = ? AND version = ?",
            (country.upper(), deliverable, int(version)),
        ).fetchone()
        if row is None:
            raise UnknownRecord(f"{country}/{deliverable} v{version} is not in the ledger {self.path}")
        return row

    def set_publication(
        self,
        country: str,
        deliverable: str,
        version: int,
        state: str,
        note: str | None = None,
        run_id: str | None = None,
        product: str | None = None,
    ) -> bool:
        """Set a version's publication state to what the current release holds of it (published, partly
        published, superseded), up or down: unlike ``mark``, not a high-water mark. Returns True if it changed.

        Written from the run's resolved state after publishing (``stages.record_publication``), never guessed.
        """
        if state not in PUBLICATION_STATES:
            raise InvalidTransition(f"{state!r} is not a publication state ({', '.join(sorted(PUBLICATION_STATES))})")
        with self._transaction() as db:
            row = self._version_row(db, country, deliverable, version)
            current = row["state"]
            if current == state:
                return False
            check_transition(current, state, f"{row['country']}/{row['deliverable']} v{row['version']}")
            db.execute("UPDATE submissions SET state = ? WHERE id = ?", (state, row["id"]))
            self._event(db, row, current, state, note, run_id, product)
        return True

    def note_version(
        self, country: str, deliverable: str, version: int, note: str, run_id: str | None = None,
        product: str | None = None,
    ) -> None:
        """A history entry for a version without a change of state (e.g. why a product left it out).

        Not repeated while it is the latest entry of that version for that product, so re-runs add nothing.
        """
        with self._transaction() as db:
            row = self._version_row(db, country, deliverable, version)
            last = db.execute(
                "SELECT note FROM events WHERE submission_id = ? AND product IS ? ORDER BY id DESC LIMIT 1",
                (row["id"], product),
            ).fetchone()
            if last is None or last["note"] != note:
                self._event(db, row, row["state"], row["state"], note, run_id, product)

    # -- reading --------------------------------------------------------------------------------

    def get(self, record_id: int) -> SubmissionRecord:
        return self._record(self._row(record_id))

    def versions(self, country: str, deliverable: str | None = None) -> list[SubmissionRecord]:
        """Every stored version of a country's deliverables, oldest first."""
        sql = "SELECT * FROM submissions WHERE country = ?"
        args: tuple = (country.upper(),)
        if deliverable:
            sql, args = sql + " AND deliverable = ?", args + (deliverable,)
        rows = self._db.execute(sql + " ORDER BY deliverable, version", args).fetchall()
        return [self._record(r) for r in rows]

    def find(self, country: str, deliverable: str, checksum: str) -> SubmissionRecord | None:
        """The stored version with this content, or None (a look-up that records nothing)."""
        row = self._db.execute(
            "SELECT * FROM submissions WHERE country = ? AND deliverable = ? AND checksum = ?",
            (country.upper(), deliverable, checksum),
        ).fetchone()
        return self._record(row, is_new=False) if row is not None else None

    def current(self, country: str, deliverable: str) -> SubmissionRecord | None:
        """The newest version by the ordering rule (delivery date, then arrival), or None if nothing arrived.

        An older delivery filed late gets a higher version number but is not the current one.
        """
        versions = self.versions(country, deliverable)
        return max(versions, key=lambda r: order_key(r.received, r.version)) if versions else None

    def state(self, today: dt.date | None = None):
        """The programme's resolved state (``atlas.state.ResolvedState``, rule in ``atlas.ledger.resolve``)."""
        return resolve(self, today)

    def published_state(self, today: dt.date | None = None):
        """The resolved state with what the current release holds (``ResolvedState.published``), read only:
        what a command outside a run (``atlas status``, exports) shows. A run passes its own state instead."""
        from atlas import layout
        from atlas.products.release_checks import holdings

        release = layout.current_release(self.programme.processed_dir)
        return self.state(today).published(holdings(release) if release.is_dir() else {})

    def filed_before_with_later_date(self, country: str, deliverable: str, version: int) -> SubmissionRecord | None:
        """The latest-dated version recorded before ``version`` but delivered after it: ``version`` was filed late.

        None when ``version`` arrived in order (an older delivery that simply came first is not late).
        """
        records = self.versions(country, deliverable)
        mine = next((r for r in records if r.version == version), None)
        if mine is None:
            return None
        earlier = [r for r in records if r.version < version and r.received > mine.received]
        return max(earlier, key=lambda r: (r.received, r.version)) if earlier else None

    def status_rows(self, today: dt.date | None = None, state=None) -> list[StatusRow]:
        """One row per member x deliverable (programme order), including those not received.

        ``state``: the run's resolved state (``Ledger.state``), resolved here when not given.
        """
        today = today or (state.today if state is not None else dt.date.today())
        state = state or self.published_state(today)
        subs: dict[tuple[str, str], list[dict]] = {}
        # in the resolved order (delivery date, then arrival); refused (future-dated) deliveries take no place;
        # each version's state is the resolved state's (after publishing: what the current release holds of it)
        for row in self._db.execute("SELECT * FROM submissions ORDER BY received, version"):
            if dt.date.fromisoformat(row["received"]) <= state.today:
                resolved = state.version(row["country"], row["deliverable"], row["version"])
                subs.setdefault((row["country"], row["deliverable"]), []).append(
                    {**dict(row), "state": resolved.state if resolved is not None else row["state"],
                     "publication": resolved.publication() if resolved is not None else ""})
        updated = {
            (r["country"], r["deliverable"]): r["at"]
            for r in self._db.execute(
                "SELECT country, deliverable, MAX(at) AS at FROM events WHERE from_state IS NOT to_state "
                "GROUP BY country, deliverable"
            )
        }
        rows = build_status_rows(self.programme, subs, updated, today, state)
        notes = self._not_published_notes()
        # the note belongs to the version the row shows: the best one
        return [replace(r, note=notes.get((r.country, r.deliverable, r.best_version))) if r.best_version else r
                for r in rows]

    def _not_published_notes(self) -> dict[tuple[str, str, int], str]:
        """Why a product left a version out, where that is the latest word of a product on it."""
        rows = self._db.execute(
            "SELECT country, deliverable, version, note FROM events WHERE id IN "
            "(SELECT MAX(id) FROM events WHERE product IS NOT NULL GROUP BY submission_id, product) ORDER BY id"
        ).fetchall()
        notes: dict[tuple[str, str, int], str] = {}
        for r in rows:
            if (r["note"] or "").startswith(NOT_PUBLISHED_NOTE):
                key = (r["country"], r["deliverable"], r["version"])
                notes[key] = f"{notes[key]}; {r['note']}" if key in notes else r["note"]
        return notes

    def history(self, country: str) -> list[dict]:
        """Every state change of a country's deliverables, oldest first."""
        rows = self._db.execute(
            "SELECT e.at, e.deliverable, e.version, e.from_state, e.to_state, e.note, e.run_id, e.product, "
            "s.delivery, s.received, s.checksum FROM events e LEFT JOIN submissions s ON s.id = e.submission_id "
            "WHERE e.country = ? ORDER BY e.id",
            (country.upper(),),
        ).fetchall()
        return [dict(r) for r in rows]

    def last_findings(self, country: str, deliverable: str | None = None) -> list[dict]:
        """Findings of the newest validated version (of each deliverable when none is named)."""
        keys = [deliverable] if deliverable else list(self.programme.deliverables)
        out: list[dict] = []
        for key in keys:
            row = self._db.execute(
                "SELECT version, findings FROM submissions WHERE country = ? AND deliverable = ? "
                "AND verdict IS NOT NULL ORDER BY received DESC, version DESC LIMIT 1",
                (country.upper(), key),
            ).fetchone()
            if row is not None:
                out.extend({**f, "deliverable": key, "version": row["version"]} for f in json.loads(row["findings"]))
        return out

    def version_findings(self, country: str, deliverable: str, version: int) -> list[dict]:
        """The stored findings of one version (empty before it is validated)."""
        row = self._db.execute(
            "SELECT findings FROM submissions WHERE country = ? AND deliverable = ? AND version = ?",
            (country.upper(), deliverable, version),
        ).fetchone()
        return json.loads(row["findings"]) if row is not None and row["findings"] else []

    def version_states(self) -> dict[tuple[str, str, int], str]:
        """{(country, deliverable, version): state} of every stored version."""
        rows = self._db.execute("SELECT country, deliverable, version, state FROM submissions").fetchall()
        return {(r["country"], r["deliverable"], int(r["version"])): r["state"] for r in rows}

    def published_versions(self) -> dict[tuple[str, str], int]:
        """The newest published version of every (country, deliverable) that has one."""
        rows = self._db.execute(
            "SELECT country, deliverable, MAX(version) AS version FROM submissions WHERE state = ? "
            "GROUP BY country, deliverable",
            (PUBLISHED,),
        ).fetchall()
        return {(r["country"], r["deliverable"]): r["version"] for r in rows}

    def accepted_versions(self, deliverable: str, today: dt.date | None = None) -> dict[str, int]:
        """The current version of every country (``ResolvedState.current_versions``): the last accepted one
        by delivery date, then arrival. This is what regional products are built from: a rejected
        resubmission leaves the last accepted version in use, and an older delivery filed late replaces nothing.
        """
        return self.state(today).current_versions(deliverable)

    def record_layers(self, record_id: int, own: list[str], run_id: str | None = None) -> dict[str, int]:
        """Record the layers ("ECe_0-30") a salinity version delivered and, with carry-over, those it keeps
        from the accepted version before it in the resolved order; returns {layer: source version}."""
        row = self._row(record_id)
        inherited = self.carried_layers(row["country"], row["version"], row["deliverable"])
        with self._transaction() as db:
            row = self._row(record_id)
            composed = layers.compose(db, row, own, inherited)
            carried = sorted({v for v in composed.values() if v != row["version"]})
            note = f"{len(composed)} of {len(self.programme.salinity.layer_keys())} layers"
            if carried:
                n = sum(1 for v in composed.values() if v != row["version"])
                note += f" ({n} carried over from v{', v'.join(map(str, carried))})"
            self._event(db, row, row["state"], row["state"], note, run_id)
        return composed

    def layer_versions(self, deliverable: str = "salinity_map",
                       today: dt.date | None = None) -> dict[str, dict[str, int]]:
        """{iso3: {layer: source version}} of the current version of each country (``ResolvedState``)."""
        return self.state(today).layer_versions(deliverable)

    def carried_layers(self, country: str, version: int, deliverable: str = "salinity_map") -> dict[str, int]:
        """{layer: source version} a version carries over: the layers of the accepted version before it in the
        resolved order (empty when carry-over is off)."""
        if not self.programme.salinity.carry_over_layers:
            return {}
        inherited = self.state().inherited(country.upper(), deliverable, int(version))
        return {key: source.version for key, source in inherited.items()}

    def layers(self, record_id: int) -> dict[str, int]:
        """{layer: source version} recorded for one version (empty if none)."""
        return layers.layers_of(self._db, record_id)

    def record_release(self, name: str, run_id: str | None, outcome: str, reason: str | None = None) -> None:
        """Record a release attempt of the regional products: ``published``, or ``failed`` with the reason."""
        with self._transaction() as db:
            releases.record(db, name, run_id, self._clock(), outcome, reason)

    def release_attempts(self) -> list[dict]:
        """Every release attempt (name, run_id, at, outcome, reason), newest first."""
        return releases.attempts(self._db)

    def product_versions(self, product: str) -> dict[tuple[str, str], int]:
        """Which version of each (country, deliverable) the named product used most recently."""
        rows = self._db.execute(
            "SELECT country, deliverable, version FROM events WHERE product = ? ORDER BY id", (product,)
        ).fetchall()
        return {(r["country"], r["deliverable"]): r["version"] for r in rows}


def _same_files(db, sub: Submission, files: list[dict]) -> sqlite3.Row | None:
    """A stored version of the same country x deliverable with exactly these files (names and contents)."""
    wanted = sorted((f["path"], f["sha256"]) for f in files)
    for row in db.execute(
        "SELECT * FROM submissions WHERE country = ? AND deliverable = ? ORDER BY version",
        (sub.country, sub.deliverable),
    ):
        if sorted((f["path"], f["sha256"]) for f in json.loads(row["files"])) == wanted:
            return row
    return None


def _relative(path: Path, folder: Path) -> str:
    try:
        return str(Path(path).relative_to(folder))
    except ValueError:
        return str(path)
