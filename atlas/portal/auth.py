"""Who is asking: the signed session cookie, CSRF tokens and the login rate limit.

The cookie holds only a random session id, signed with the portal's secret (itsdangerous), HttpOnly and
SameSite=Strict. The session itself lives in the portal's database, so revoking a token ends its sessions at
once. Every state-changing request carries the session's CSRF token (a hidden form field, or the
``X-CSRF-Token`` header for the uploader's requests); the login form, before any session exists, carries a
token that must match a signed cookie set with the form (double submit).

Failed logins are counted in the database (they survive a restart), both per client address and per token
prefix (the first characters of the token tried, from any address); past ``portal.login_failures`` of either
within ``portal.login_window_minutes`` the login gets 429 until the window passes. slowapi was not used: it
limits every request to a route, and only failures should count.
"""

from __future__ import annotations

import secrets

from fastapi import HTTPException, Request
from itsdangerous import BadSignature, URLSafeSerializer

from atlas.portal.i18n import _
from atlas.portal.store import PortalStore, Session

SESSION_COOKIE = "atlas_portal_session"
LOGIN_COOKIE = "atlas_portal_login"
CSRF_HEADER = "X-CSRF-Token"


class NotLoggedIn(HTTPException):
    def __init__(self):
        super().__init__(status_code=401, detail=_("not logged in"))


class Signer:
    def __init__(self, secret: str):
        self._session = URLSafeSerializer(secret, salt="atlas-portal-session")
        self._login = URLSafeSerializer(secret, salt="atlas-portal-login")

    def session_cookie(self, sid: str) -> str:
        return self._session.dumps(sid)

    def session_id(self, cookie: str | None) -> str | None:
        if not cookie:
            return None
        try:
            value = self._session.loads(cookie)
        except BadSignature:
            return None
        return value if isinstance(value, str) else None

    def login_nonce(self) -> tuple[str, str]:
        """(nonce for the form, signed cookie value)."""
        nonce = secrets.token_urlsafe(24)
        return nonce, self._login.dumps(nonce)

    def login_nonce_matches(self, cookie: str | None, form_value: str | None) -> bool:
        if not cookie or not form_value:
            return False
        try:
            nonce = self._login.loads(cookie)
        except BadSignature:
            return False
        return isinstance(nonce, str) and secrets.compare_digest(nonce, form_value)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def current_session(request: Request) -> Session:
    """The request's live session, or 401."""
    store: PortalStore = request.app.state.store
    sid = request.app.state.signer.session_id(request.cookies.get(SESSION_COOKIE))
    session = store.session(sid) if sid else None
    if session is None:
        raise NotLoggedIn()
    return session


def check_csrf(session: Session, supplied: str | None) -> None:
    if not supplied or not secrets.compare_digest(session.csrf, supplied):
        raise HTTPException(status_code=403, detail=_("missing or wrong CSRF token: reload the page and try again"))


def may_see(session: Session, country: str) -> None:
    """403 when the session's country is another one (the secretariat sees all)."""
    if not session.may_see(country):
        raise HTTPException(status_code=403, detail=_("this page belongs to another country"))
