"""The ledger's record of each release attempt of the regional products: published or failed, and why.

A release folder (``atlas.products.release``) says what a published release holds; a failed release
leaves no folder, so its reason is kept here, where `atlas releases` and the run summary find it.
"""

from __future__ import annotations

import sqlite3

PUBLISHED, FAILED = "published", "failed"

RELEASE_SCHEMA = """
CREATE TABLE IF NOT EXISTS releases (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,              -- the release folder's name (regional/releases/<name>)
    run_id TEXT,
    at TEXT NOT NULL,                -- when the attempt ended (UTC)
    outcome TEXT NOT NULL,           -- published | failed
    reason TEXT                      -- why a failed release was not published
)
"""


def record(db: sqlite3.Connection, name: str, run_id: str | None, at: str, outcome: str,
           reason: str | None = None) -> None:
    if outcome not in (PUBLISHED, FAILED):
        raise ValueError(f"release outcome {outcome!r}: expected {PUBLISHED} or {FAILED}")
    db.execute("INSERT INTO releases (name, run_id, at, outcome, reason) VALUES (?, ?, ?, ?, ?)",
               (name, run_id, at, outcome, reason))


def attempts(db: sqlite3.Connection) -> list[dict]:
    """Every release attempt, newest first."""
    rows = db.execute("SELECT name, run_id, at, outcome, reason FROM releases ORDER BY id DESC").fetchall()
    return [dict(r) for r in rows]
