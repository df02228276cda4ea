"""The ledger's vocabulary: states, allowed transitions, SQL schema, row values and errors."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from atlas.errors import AtlasError
from atlas.state import PARTLY_PUBLISHED, PUBLICATION, PUBLISHED, SUPERSEDED

SCHEMA_VERSION = 2  # 2: layer_sources (atlas.ledger.layers), filled on migration from 1

NOT_RECEIVED = "not_received"
RECEIVED = "received"
REJECTED = "rejected"
ACCEPTED_WITH_WARNINGS = "accepted_with_warnings"
ACCEPTED = "accepted"
HARMONIZED = "harmonized"
# The publication states (defined with the resolved state, atlas.state): what the current release holds of a
# version, set from the release, never a high-water mark. Partly published: some of its layers are in a product,
# carried over by a later version; superseded: it was published (or partly), and the current release no longer
# holds any of its data.
PUBLICATION_STATES: frozenset[str] = PUBLICATION

# In pipeline order; exports and legends list states in this order.
STATES: tuple[str, ...] = (
    NOT_RECEIVED, RECEIVED, REJECTED, ACCEPTED_WITH_WARNINGS, ACCEPTED, HARMONIZED, PARTLY_PUBLISHED, PUBLISHED,
    SUPERSEDED,
)
VERDICTS: frozenset[str] = frozenset({REJECTED, ACCEPTED_WITH_WARNINGS, ACCEPTED})
# A deliverable in one of these states counts as delivered (not overdue).
ACCEPTED_STATES: frozenset[str] = frozenset({ACCEPTED_WITH_WARNINGS, ACCEPTED, HARMONIZED, PARTLY_PUBLISHED,
                                             PUBLISHED, SUPERSEDED})
# Pipeline stages after validation; marking a stage already passed keeps the higher state.
STAGE_RANK = {HARMONIZED: 1, PARTLY_PUBLISHED: 2, PUBLISHED: 3, SUPERSEDED: 3}

STATE_LABELS = {
    NOT_RECEIVED: "not received",
    RECEIVED: "received",
    REJECTED: "rejected",
    ACCEPTED_WITH_WARNINGS: "accepted with warnings",
    ACCEPTED: "accepted",
    HARMONIZED: "harmonized",
    PARTLY_PUBLISHED: "partly published",
    PUBLISHED: "published",
    SUPERSEDED: "superseded",
}

# Which state a version may move to from which. Re-validation of a validated version is
# allowed (checks improve); a harmonized or published version may be re-validated too,
# and only a rejecting verdict moves it back (see Ledger.record_validation).
TRANSITIONS: dict[str, frozenset[str]] = {
    NOT_RECEIVED: frozenset({RECEIVED}),
    RECEIVED: frozenset(VERDICTS),
    REJECTED: frozenset(VERDICTS),
    ACCEPTED_WITH_WARNINGS: frozenset(VERDICTS | {HARMONIZED, PARTLY_PUBLISHED, PUBLISHED}),
    ACCEPTED: frozenset(VERDICTS | {HARMONIZED, PARTLY_PUBLISHED, PUBLISHED}),
    HARMONIZED: frozenset(VERDICTS | {HARMONIZED, PARTLY_PUBLISHED, PUBLISHED}),
    PARTLY_PUBLISHED: frozenset(VERDICTS | {HARMONIZED, PARTLY_PUBLISHED, PUBLISHED, SUPERSEDED}),
    PUBLISHED: frozenset(VERDICTS | {HARMONIZED, PARTLY_PUBLISHED, PUBLISHED, SUPERSEDED}),
    SUPERSEDED: frozenset(VERDICTS | {HARMONIZED, PARTLY_PUBLISHED, PUBLISHED, SUPERSEDED}),
}


class LedgerError(AtlasError):
    """The ledger cannot do what was asked."""


class InvalidTransition(LedgerError):
    """A state change that makes no sense, e.g. published before accepted."""


class UnknownRecord(LedgerError):
    """No submission version with that id (or country/deliverable) is in the ledger."""


def check_transition(current: str, new: str, what: str) -> None:
    """Raise InvalidTransition unless ``current -> new`` is allowed."""
    if new not in STATES:
        raise InvalidTransition(f"{what}: {new!r} is not a state; states are {', '.join(STATES)}")
    if new not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none"
        raise InvalidTransition(
            f"{what}: cannot go from {current} to {new} (allowed from {current}: {allowed}); "
            "validate a version before harmonizing it, harmonize it before publishing it"
        )


SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS members (iso3 TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deliverables (
    key TEXT PRIMARY KEY, title TEXT NOT NULL, product TEXT, kind TEXT, deadline TEXT
);
CREATE TABLE IF NOT EXISTS tracks (
    country TEXT NOT NULL,
    deliverable TEXT NOT NULL,
    registered_at TEXT NOT NULL,
    PRIMARY KEY (country, deliverable)
);
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    country TEXT NOT NULL,
    deliverable TEXT NOT NULL,
    version INTEGER NOT NULL,
    delivery TEXT,
    received TEXT NOT NULL,          -- delivery date (from the inbox folder)
    recorded_at TEXT NOT NULL,       -- when the ledger first saw it (UTC)
    checksum TEXT NOT NULL,
    folder TEXT,
    files TEXT NOT NULL,             -- JSON [{path, size, sha256}]
    state TEXT NOT NULL,
    verdict TEXT,
    counts TEXT,                     -- JSON {error, warning, info, fixed}
    findings TEXT,                   -- JSON list of Finding dicts
    report_path TEXT,
    validated_at TEXT,
    run_id TEXT,
    UNIQUE (country, deliverable, version),
    UNIQUE (country, deliverable, checksum)
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    submission_id INTEGER REFERENCES submissions (id),
    country TEXT NOT NULL,
    deliverable TEXT NOT NULL,
    version INTEGER,
    from_state TEXT,
    to_state TEXT NOT NULL,
    at TEXT NOT NULL,
    note TEXT,
    run_id TEXT,
    product TEXT
);
CREATE INDEX IF NOT EXISTS events_by_country ON events (country, deliverable, id);
"""


@dataclass(frozen=True)
class FileEntry:
    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class SubmissionRecord:
    """One stored version of one deliverable from one country."""

    id: int
    country: str
    deliverable: str
    version: int
    delivery: str | None
    received: dt.date
    recorded_at: str
    checksum: str
    files: tuple[FileEntry, ...]
    state: str
    verdict: str | None = None
    counts: dict[str, int] = field(default_factory=dict, compare=False)
    report_path: str | None = None
    is_new: bool = True


@dataclass(frozen=True)
class StatusRow:
    """The state of one member country x deliverable, as shown at meetings.

    ``state``/``version``/``received`` are the newest version's, as stored. Meetings see the best
    version instead (``shown_state``): a rejected resubmission never hides a published version.
    """

    country: str
    name: str
    deliverable: str
    state: str
    version: int | None  # the newest version (the one the state belongs to)
    received: dt.date | None  # delivery date of that version
    updated: str | None  # when the state last changed (UTC, ISO)
    versions: int  # how many versions are stored
    last_accepted_version: int | None
    published_version: int | None
    deadline: dt.date | None
    overdue: bool  # deadline passed and no version accepted
    errors: int = 0
    warnings: int = 0
    note: str | None = None  # why a product holds none of the best version's data (no reference polygon, ...)
    best_state: str | None = None  # state of the version that counts (furthest along); None: nothing received
    best_version: int | None = None
    best_received: dt.date | None = None
    later: tuple[tuple[int, str], ...] = ()  # (version, state) of versions newer than the best one
    # (version, state, in words) of earlier versions that were published: partly published or superseded
    earlier: tuple[tuple[int, str, str], ...] = ()
    days_late: int | None = None  # delivered: first accepted arrival - deadline (<= 0 on time); else days overdue
    coverage: float | None = None  # share of the country covered by the best version (partial deliveries), 0-1
    kind: str = ""  # raster | vector | document (documents are accepted, never published)
    layers_in_use: int | None = None  # salinity: layers of the last accepted version, carried-over ones included
    layers_total: int | None = None  # salinity: layers of a complete delivery (16 by default)
    layers_carried: int = 0  # of layers_in_use, kept from earlier versions
    delivered_version: int | None = None  # the first version accepted (by delivery date): when it was delivered
    delivered: dt.date | None = None  # its delivery date, which on time / late is measured by

    @property
    def shown_state(self) -> str:
        return self.best_state or self.state

    @property
    def label(self) -> str:
        return STATE_LABELS[self.shown_state]

    @property
    def accepted(self) -> bool:
        return self.best_state in ACCEPTED_STATES

    def completed_later(self) -> dt.date | None:
        """The delivery date of the version that counts, where it came after the deadline and after the
        first accepted delivery (a partial delivery completed, or a map replaced, late); else None."""
        if (self.accepted and self.deadline and self.best_received and self.delivered
                and self.best_version != self.delivered_version
                and self.best_received > max(self.deadline, self.delivered)):
            return self.best_received
        return None

    def timeliness(self) -> str:
        """"on time", "14 d late", "overdue 32 d", or "" (no deadline, or not yet due).

        Timeliness belongs to the first accepted delivery: completing or replacing it after the deadline
        does not make an on-time delivery late; ``completion`` says when that happened.
        """
        if self.deadline is None or self.days_late is None:
            return ""
        if self.accepted:
            text = "on time" if self.days_late <= 0 else f"{self.days_late} d late"
            if self.completed_later() and self.delivered:
                return f"delivered {text} (v{self.delivered_version} {self.delivered.isoformat()})"
            return text
        return f"overdue {self.days_late} d" if self.overdue else ""

    def completion(self) -> str:
        """"completed 2026-11-20" (now all layers) or "updated 2026-11-20": the version that counts came
        after the deadline and after the first accepted delivery; "" otherwise."""
        date = self.completed_later()
        if date is None:
            return ""
        complete = bool(self.layers_total and self.layers_in_use and self.layers_in_use >= self.layers_total)
        word = "completed" if complete else "updated"
        return f"{word} {date.isoformat()}"

    def cell(self, with_date: bool = True) -> str:
        """Short text for a table cell: best state, version, date, timeliness, coverage, later versions."""
        if self.best_version is None:
            parts = [self.label]
        else:
            date = f" {self.best_received.isoformat()}" if with_date and self.best_received else ""
            parts = [f"{self.label} v{self.best_version}{date}" + (f" ({self.note})" if self.note else "")]
        if self.layers_in_use is not None and self.layers_total:  # complete or partial salinity delivery
            layers = (f"all {self.layers_total} layers" if self.layers_in_use >= self.layers_total
                      else f"{self.layers_in_use} of {self.layers_total} layers")
            parts.append(layers + (f" ({self.layers_carried} carried over)" if self.layers_carried else ""))
        if self.coverage is not None and self.coverage < 0.9995:  # 0.1% rather than 0% for a sliver of a country
            parts.append(f"{self.coverage:.0%} covered" if self.coverage >= 0.01 else f"{self.coverage:.1%} covered")
        if self.timeliness():
            parts.append(self.timeliness())
        if self.completion():
            parts.append(self.completion())
        parts += [f"v{v} {STATE_LABELS[s]}" for v, s in self.later]
        if self.earlier:
            parts.append(self.earlier_words())
        return " · ".join(parts)

    def earlier_words(self) -> str:
        """The earlier published versions in words, versions with the same words together:
        "v1, v2 superseded by v3 on 2026-12-03"; "" when there are none."""
        groups: dict[str, list[int]] = {}
        for version, _, words in self.earlier:
            groups.setdefault(words, []).append(version)
        return "; ".join(f"{', '.join(f'v{v}' for v in versions)} {words}" for words, versions in groups.items())
