"""The portal's state in one SQLite file next to the ledger: tokens, sessions, deliveries, uploads, audit.

Tokens are stored only as SHA-256 hashes (they are 256-bit random strings, so a plain hash is enough);
the token itself is printed once when issued. Every connection is short-lived: uvicorn serves requests
from several threads, and SQLite in WAL mode lets them read while one writes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SECRETARIAT = "secretariat"  # the role that sees every country; a country token's role is its ISO3 code
TOKEN_PREFIX = "atp_"
HINT_CHARS = 10  # the first characters of a token: listed to recognise it, and the login rate limit's key

SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    id INTEGER PRIMARY KEY, role TEXT NOT NULL, label TEXT NOT NULL, hash TEXT NOT NULL UNIQUE,
    hint TEXT NOT NULL, created TEXT NOT NULL, expires TEXT, revoked TEXT);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY, token_id INTEGER NOT NULL REFERENCES tokens(id), csrf TEXT NOT NULL,
    created TEXT NOT NULL, expires TEXT NOT NULL, ended TEXT);
CREATE TABLE IF NOT EXISTS deliveries (
    id TEXT PRIMARY KEY, country TEXT NOT NULL, state TEXT NOT NULL, created TEXT NOT NULL,
    touched TEXT NOT NULL, sent TEXT, folder TEXT, verdict TEXT, result TEXT, created_by INTEGER,
    ledger_state TEXT);
CREATE TABLE IF NOT EXISTS uploads (
    id TEXT PRIMARY KEY, delivery_id TEXT NOT NULL REFERENCES deliveries(id), name TEXT NOT NULL,
    size INTEGER NOT NULL, received INTEGER NOT NULL DEFAULT 0, sha256 TEXT, created TEXT NOT NULL,
    UNIQUE (delivery_id, name));
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, role TEXT, action TEXT NOT NULL,
    country TEXT, detail TEXT, address TEXT);
CREATE TABLE IF NOT EXISTS login_failures (address TEXT NOT NULL, at TEXT NOT NULL, prefix TEXT);
CREATE TABLE IF NOT EXISTS notices (session_id TEXT NOT NULL, at TEXT NOT NULL, text TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, country TEXT NOT NULL, started TEXT NOT NULL, ended TEXT, exit_code INTEGER,
    log TEXT NOT NULL, pid INTEGER, started_by TEXT);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def iso(when: dt.datetime | None) -> str | None:
    return when.isoformat() if when else None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Token:
    id: int
    role: str
    label: str
    hint: str  # the first characters, so a listed token can be recognised without being stored
    created: str
    expires: str | None
    revoked: str | None

    def state(self, now: dt.datetime | None = None) -> str:
        now = now or utc_now()
        if self.revoked:
            return "revoked"
        if self.expires and dt.datetime.fromisoformat(self.expires) <= now:
            return "expired"
        return "active"


@dataclass(frozen=True)
class Session:
    id: str
    role: str  # ISO3 or "secretariat"
    label: str
    token_id: int
    csrf: str

    @property
    def is_secretariat(self) -> bool:
        return self.role == SECRETARIAT

    def may_see(self, country: str) -> bool:
        return self.is_secretariat or self.role == country


class PortalStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
            columns = {r["name"] for r in db.execute("PRAGMA table_info(login_failures)")}
            if "prefix" not in columns:  # a portal.sqlite of an earlier version
                db.execute("ALTER TABLE login_failures ADD COLUMN prefix TEXT")

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA synchronous=NORMAL")  # with WAL: durable at checkpoints, never corrupt
        try:
            with db:
                yield db
        finally:
            db.close()

    # --- tokens -------------------------------------------------------------------------------------------
    def add_token(self, role: str, label: str, expires: dt.datetime | None = None) -> tuple[str, Token]:
        """A new token for ``role``; the token is returned once and only its hash is kept."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.connect() as db:
            cur = db.execute(
                "INSERT INTO tokens (role, label, hash, hint, created, expires) VALUES (?, ?, ?, ?, ?, ?)",
                (role, label, hash_token(token), token[:HINT_CHARS], iso(utc_now()), iso(expires)))
            return token, self._token(db, cur.lastrowid)

    @staticmethod
    def _token(db, token_id: int) -> Token:
        row = db.execute("SELECT id, role, label, hint, created, expires, revoked FROM tokens WHERE id = ?",
                         (token_id,)).fetchone()
        return Token(**dict(row))

    def tokens(self) -> list[Token]:
        with self.connect() as db:
            rows = db.execute("SELECT id, role, label, hint, created, expires, revoked FROM tokens ORDER BY id")
            return [Token(**dict(r)) for r in rows]

    def revoke_token(self, token_id: int) -> Token | None:
        """Revoke a token and end its sessions at once; None when there is no such token."""
        now = iso(utc_now())
        with self.connect() as db:
            if db.execute("SELECT 1 FROM tokens WHERE id = ?", (token_id,)).fetchone() is None:
                return None
            db.execute("UPDATE tokens SET revoked = COALESCE(revoked, ?) WHERE id = ?", (now, token_id))
            db.execute("UPDATE sessions SET ended = ? WHERE token_id = ? AND ended IS NULL", (now, token_id))
            return self._token(db, token_id)

    def token_for(self, token: str) -> Token | None:
        """The active token matching ``token``, or None (unknown, revoked or expired)."""
        with self.connect() as db:
            row = db.execute("SELECT id FROM tokens WHERE hash = ?", (hash_token(token.strip()),)).fetchone()
            found = self._token(db, row["id"]) if row else None
        return found if found and found.state() == "active" else None

    # --- sessions -----------------------------------------------------------------------------------------
    def open_session(self, token: Token, hours: float) -> Session:
        sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = utc_now()
        with self.connect() as db:
            db.execute("INSERT INTO sessions (id, token_id, csrf, created, expires) VALUES (?, ?, ?, ?, ?)",
                       (sid, token.id, csrf, iso(now), iso(now + dt.timedelta(hours=hours))))
        return Session(sid, token.role, token.label, token.id, csrf)

    def session(self, sid: str) -> Session | None:
        """The live session ``sid``: not ended, not expired, its token neither revoked nor expired."""
        now = utc_now()
        with self.connect() as db:
            row = db.execute(
                "SELECT s.id, s.csrf, s.expires, s.ended, t.id AS token_id, t.role, t.label, t.revoked, "
                "t.expires AS token_expires FROM sessions s JOIN tokens t ON t.id = s.token_id WHERE s.id = ?",
                (sid,)).fetchone()
        if row is None or row["ended"] or row["revoked"] or dt.datetime.fromisoformat(row["expires"]) <= now:
            return None
        if row["token_expires"] and dt.datetime.fromisoformat(row["token_expires"]) <= now:
            return None
        return Session(row["id"], row["role"], row["label"], row["token_id"], row["csrf"])

    def end_session(self, sid: str) -> None:
        with self.connect() as db:
            db.execute("UPDATE sessions SET ended = ? WHERE id = ?", (iso(utc_now()), sid))

    # --- login failures (the rate limit) ------------------------------------------------------------------
    def note_failure(self, address: str, token: str = "") -> None:
        """Count a failed login against the client address and the first characters of the token tried."""
        prefix = token.strip()[:HINT_CHARS] or None
        with self.connect() as db:
            db.execute("INSERT INTO login_failures (address, at, prefix) VALUES (?, ?, ?)",
                       (address, iso(utc_now()), prefix))

    def recent_failures(self, address: str, token: str, minutes: float) -> tuple[int, int]:
        """Failed logins within ``minutes``: (from this address, with this token prefix from any address)."""
        since = iso(utc_now() - dt.timedelta(minutes=minutes))
        prefix = token.strip()[:HINT_CHARS]
        with self.connect() as db:
            db.execute("DELETE FROM login_failures WHERE at < ?", (since,))
            by_address = db.execute("SELECT COUNT(*) FROM login_failures WHERE address = ? AND at >= ?",
                                    (address, since)).fetchone()[0]
            by_prefix = db.execute("SELECT COUNT(*) FROM login_failures WHERE prefix = ? AND at >= ?",
                                   (prefix, since)).fetchone()[0] if prefix else 0
        return by_address, by_prefix

    # --- notices: one-time messages shown on the next page of a session ----------------------------------
    def add_notice(self, sid: str, text: str) -> None:
        with self.connect() as db:
            db.execute("INSERT INTO notices (session_id, at, text) VALUES (?, ?, ?)", (sid, iso(utc_now()), text))

    def pop_notices(self, sid: str) -> list[str]:
        with self.connect() as db:
            rows = [r["text"] for r in db.execute("SELECT text FROM notices WHERE session_id = ? ORDER BY rowid",
                                                  (sid,))]
            db.execute("DELETE FROM notices WHERE session_id = ?", (sid,))
        return rows

    # --- pipeline runs started from the portal -------------------------------------------------------------
    def add_run(self, country: str, log: str, started_by: str = "") -> int:
        with self.connect() as db:
            return db.execute("INSERT INTO runs (country, started, log, started_by) VALUES (?, ?, ?, ?)",
                              (country, iso(utc_now()), log, started_by)).lastrowid

    def set_run(self, run_id: int, **values) -> None:
        cols = ", ".join(f"{k} = ?" for k in values)
        with self.connect() as db:
            db.execute(f"UPDATE runs SET {cols} WHERE id = ?", (*values.values(), run_id))  # noqa: S608

    def runs(self, country: str | None = None, limit: int = 20) -> list[dict]:
        with self.connect() as db:
            if country:
                rows = db.execute("SELECT * FROM runs WHERE country = ? ORDER BY id DESC LIMIT ?", (country, limit))
            else:
                rows = db.execute("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,))
            return [dict(r) for r in rows]

    def run(self, run_id: int) -> dict | None:
        with self.connect() as db:
            row = db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return dict(row) if row else None

    # --- audit --------------------------------------------------------------------------------------------
    def audit(self, action: str, actor: str, role: str | None = None, country: str | None = None,
              detail: str = "", address: str | None = None) -> None:
        with self.connect() as db:
            db.execute("INSERT INTO audit (at, actor, role, action, country, detail, address) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)", (iso(utc_now()), actor, role, action, country, detail, address))

    def audit_rows(self, limit: int = 500, country: str | None = None) -> list[dict]:
        with self.connect() as db:
            if country:
                rows = db.execute("SELECT * FROM audit WHERE country = ? ORDER BY id DESC LIMIT ?", (country, limit))
            else:
                rows = db.execute("SELECT * FROM audit ORDER BY id DESC LIMIT ?", (limit,))
            return [dict(r) for r in rows]

    # --- settings (the cookie-signing secret) -------------------------------------------------------------
    def secret(self) -> str:
        """The key that signs session cookies, made on first use and kept (sessions survive a restart)."""
        with self.connect() as db:
            row = db.execute("SELECT value FROM settings WHERE key = 'secret'").fetchone()
            if row:
                return row["value"]
            value = secrets.token_urlsafe(48)
            db.execute("INSERT OR IGNORE INTO settings (key, value) VALUES ('secret', ?)", (value,))
            return db.execute("SELECT value FROM settings WHERE key = 'secret'").fetchone()["value"]

    # --- deliveries and uploads ---------------------------------------------------------------------------
    def new_delivery(self, country: str, token_id: int) -> str:
        did = secrets.token_hex(8)
        now = iso(utc_now())
        with self.connect() as db:
            db.execute("INSERT INTO deliveries (id, country, state, created, touched, created_by) "
                       "VALUES (?, ?, 'staged', ?, ?, ?)", (did, country, now, now, token_id))
        return did

    def delivery(self, did: str) -> dict | None:
        with self.connect() as db:
            row = db.execute("SELECT * FROM deliveries WHERE id = ?", (did,)).fetchone()
        return dict(row) if row else None

    def deliveries(self, country: str | None = None) -> list[dict]:
        with self.connect() as db:
            if country:
                rows = db.execute("SELECT * FROM deliveries WHERE country = ? ORDER BY created DESC", (country,))
            else:
                rows = db.execute("SELECT * FROM deliveries ORDER BY created DESC")
            return [dict(r) for r in rows]

    def touch(self, did: str) -> None:
        with self.connect() as db:
            db.execute("UPDATE deliveries SET touched = ? WHERE id = ?", (iso(utc_now()), did))

    def set_delivery(self, did: str, **values) -> None:
        cols = ", ".join(f"{k} = ?" for k in values)
        with self.connect() as db:
            db.execute(f"UPDATE deliveries SET {cols} WHERE id = ?", (*values.values(), did))  # noqa: S608

    def add_upload(self, did: str, name: str, size: int) -> str:
        uid = secrets.token_hex(8)
        with self.connect() as db:
            db.execute("INSERT INTO uploads (id, delivery_id, name, size, created) VALUES (?, ?, ?, ?, ?)",
                       (uid, did, name, size, iso(utc_now())))
            db.execute("UPDATE deliveries SET touched = ? WHERE id = ?", (iso(utc_now()), did))
        return uid

    def upload(self, uid: str) -> dict | None:
        with self.connect() as db:
            row = db.execute("SELECT * FROM uploads WHERE id = ?", (uid,)).fetchone()
        return dict(row) if row else None

    def uploads(self, did: str) -> list[dict]:
        with self.connect() as db:
            return [dict(r) for r in db.execute("SELECT * FROM uploads WHERE delivery_id = ? ORDER BY name", (did,))]

    def set_upload(self, uid: str, **values) -> None:
        cols = ", ".join(f"{k} = ?" for k in values)
        with self.connect() as db:
            db.execute(f"UPDATE uploads SET {cols} WHERE id = ?", (*values.values(), uid))  # noqa: S608

    def remove_upload(self, uid: str) -> None:
        with self.connect() as db:
            db.execute("DELETE FROM uploads WHERE id = ?", (uid,))

    def stale_deliveries(self, hours: float) -> list[dict]:
        before = iso(utc_now() - dt.timedelta(hours=hours))
        with self.connect() as db:
            rows = db.execute("SELECT * FROM deliveries WHERE state = 'staged' AND touched < ?", (before,))
            return [dict(r) for r in rows]
