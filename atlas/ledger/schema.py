"""The ledger's vocabulary: states, allowed transitions, SQL schema, row values and errors."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from atlas.errors import AtlasError

SCHEMA_VERSION = 2  # 2: layer_sources (atlas.ledger.layers), filled on migration from 1

NOT_RECEIVED = "not_received"
RECEIVED = "received"
REJECTED = "rejected"
ACCEPTED_WITH_WARNINGS = "accepted_with_warnings"
ACCEPTED = "accepted"
HARMONIZED = "harmonized"
PUBLISHED = "published"

# In pipeline order; exports and legends list states in this order.
STATES: tuple[str, ...] = (
    NOT_RECEIVED, RECEIVED, REJECTED, ACCEPTED_WITH_WARNINGS, ACCEPTED, HARMONIZED, PUBLISHED,
)
VERDICTS: frozenset[str] = frozenset({REJECTED, ACCEPTED_WITH_WARNINGS, ACCEPTED})
# A deliverable in one of these states counts as delivered (not overdue).
ACCEPTED_STATES: frozenset[str] = frozenset({ACCEPTED_WITH_WARNINGS, ACCEPTED, HARMONIZED, PUBLISHED})
# Pipeline stages after validation; marking a stage already passed keeps the higher state.
STAGE_RANK = {HARMONIZED: 1, PUBLISHED: 2}

STATE_LABELS = {
    NOT_RECEIVED: "not received",
    RECEIVED: "received",
    REJECTED: "rejected",
    ACCEPTED_WITH_WARNINGS: "accepted with warnings",
    ACCEPTED: "accepted",
    HARMONIZED: "harmonized",
    PUBLISHED: "published",
}

# Which state a version may move to from which. Re-validation of a validated version is
# allowed (checks improve); a harmonized or published version may be re-validated too,
# and only a rejecting verdict moves it back (see Ledger.record_validation).
TRANSITIONS: dict[str, frozenset[str]] = {
    NOT_RECEIVED: frozenset({RECEIVED}),
    RECEIVED: frozenset(VERDICTS),
    REJECTED: frozenset(VERDICTS),
    ACCEPTED_WITH_WARNINGS: frozenset(VERDICTS | {HARMONIZED, PUBLISHED}),
    ACCEPTED: frozenset(VERDICTS | {HARMONIZED, PUBLISHED}),
    HARMONIZED: frozenset(VERDICTS | {HARMONIZED, PUBLISHED}),
    PUBLISHED: frozenset(VERDICTS | {HARMONIZED, PUBLISHED}),
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
    """The state of one member country x deliverable, as shown at meetings."""

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
    overdue: bool
    errors: int = 0
    warnings: int = 0
    layers_in_use: int | None = None  # salinity: layers of the last accepted version, carried-over ones included
    layers_total: int | None = None  # salinity: layers of a complete delivery (16 by default)
    layers_carried: int = 0  # of layers_in_use, kept from earlier versions
    coverage_share: float | None = None  # salinity: largest share of the country covered by a layer of the newest

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]

    def layers_text(self) -> str:
        """", all 16 layers" for a complete salinity delivery, ", 5 of 16 layers (2 carried over)" for a
        partial one, and the covered share of the country where measured."""
        parts = []
        if self.layers_in_use is not None and self.layers_total:
            text = (f"all {self.layers_total} layers" if self.layers_in_use >= self.layers_total
                    else f"{self.layers_in_use} of {self.layers_total} layers")
            if self.layers_carried:
                text += f" ({self.layers_carried} carried over)"
            parts.append(text)
        if self.coverage_share is not None:
            parts.append(f"covers {self.coverage_share:.0%}" if self.coverage_share >= 0.01
                         else f"covers {self.coverage_share:.1%}")
        return "".join(f", {p}" for p in parts)

    def cell(self) -> str:
        """Short text for a table cell: state, version and date."""
        if self.version is None:
            text = self.label
        else:
            text = f"{self.label} v{self.version} {self.received.isoformat() if self.received else ''}".strip()
            if self.state == REJECTED and self.last_accepted_version:
                text += f" (v{self.last_accepted_version} accepted)"
            text += self.layers_text()
        return text + (" OVERDUE" if self.overdue else "")
