"""``atlas portal``: the web application where countries upload deliveries and see their verdicts.

``create_app(programme)`` builds the FastAPI application. Pages are Jinja2 templates (autoescaped, strings
through gettext); the uploader is one small script served by the portal (no CDN). Where things live:
``data/processed/portal/`` holds staging/, reports/, outbox/, runs/ and guide/; the state is
``portal.sqlite`` beside the ledger. Only ``Staging.send`` writes into the inbox.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from python_multipart.exceptions import MultipartParseError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from atlas.config import Programme
from atlas.errors import AtlasError
from atlas.portal import i18n
from atlas.portal.auth import (
    CSRF_HEADER,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    Signer,
    check_csrf,
    client_address,
    current_session,
    may_see,
)
from atlas.portal.form_upload import FormReceiver, receive_form
from atlas.portal.i18n import _, state_word
from atlas.portal.names import BadName, safe_name
from atlas.portal.notify import Notifier
from atlas.portal.runs import is_running, launch_run, runs_dir
from atlas.portal.status import country_status, ledger_report, ledger_states
from atlas.portal.store import SECRETARIAT, PortalStore, Session, utc_now
from atlas.portal.uploads import Staging, UploadRefused, sha256_of
from atlas.portal.verdict import check_delivery, load_reference
from atlas.wording import plural

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
REPORT_FILES = {"report.html": "text/html", "report_map.svg": "image/svg+xml", "report.json": "application/json",
                "report.md": "text/markdown", "crosswalk_template.csv": "text/csv"}
# no script, style or font from anywhere else; pages cannot be framed
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
       "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
SWEEP_EVERY_S = 600


def portal_dir(programme: Programme) -> Path:
    return programme.processed_dir / "portal"


def store_path(programme: Programme) -> Path:
    return programme.ledger_path.parent / "portal.sqlite"


def sweep_abandoned(app: FastAPI) -> int:
    """Remove deliveries staged and untouched for ``portal.abandon_hours``; returns how many."""
    st, staging = app.state.store, app.state.staging
    stale = st.stale_deliveries(app.state.programme.portal.abandon_hours)
    for delivery in stale:
        staging.discard(delivery["id"])
        st.set_delivery(delivery["id"], state="abandoned")
        st.audit("abandoned", "portal", None, delivery["country"],
                 f"delivery {delivery['id']} staged {delivery['created']}, untouched since {delivery['touched']}")
    known = {d["id"] for d in st.deliveries()}
    for orphan in staging.stale(known):  # a folder no delivery knows (a crash between two steps)
        staging.discard(orphan.name)
    return len(stale)


def notify_ledger_changes(app: FastAPI) -> None:
    """Tell the country once when the run publishes or rejects a delivery the portal received."""
    programme, st = app.state.programme, app.state.store
    sent = [d for d in st.deliveries() if d["state"] == "sent" and d["folder"]]
    states = ledger_states(programme)
    for d in sent:
        state = states.get((d["country"], Path(d["folder"]).name))
        if state and state != d["ledger_state"]:
            st.set_delivery(d["id"], ledger_state=state)
            if state in ("published", "rejected"):
                folder, word = Path(d["folder"]).name, state_word(state)
                app.state.notifier.send(
                    d["country"], _("[%(tag)s] delivery %(folder)s: %(state)s", tag=programme.short_name or "atlas",
                                    folder=folder, state=word),
                    _("The pipeline run has %(state)s your delivery %(folder)s.\nThe portal's country page has its "
                      "report.", state=word, folder=folder))
                st.audit(f"run_{state}", "pipeline", None, d["country"], f"delivery {Path(d['folder']).name}")


def create_app(programme: Programme, config_path: Path | None = None, launcher=launch_run) -> FastAPI:
    settings = programme.portal
    base = portal_dir(programme)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        async def housekeeping():
            while True:
                await asyncio.sleep(SWEEP_EVERY_S)
                try:
                    await asyncio.to_thread(sweep_abandoned, app)
                    await asyncio.to_thread(notify_ledger_changes, app)
                except Exception:  # noqa: BLE001 - housekeeping never stops the portal
                    log.exception("portal housekeeping failed")

        staging.clear_partial()  # a form post cut by the last stop of the portal
        sweep_abandoned(app)
        task = asyncio.create_task(housekeeping())
        yield
        task.cancel()

    app = FastAPI(title="Soil Atlas portal", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.programme = programme
    app.state.store = store = PortalStore(store_path(programme))
    app.state.signer = Signer(store.secret())
    app.state.staging = staging = Staging(base / "staging", programme.raw_dir)
    app.state.notifier = notifier = Notifier(settings, base / "outbox")
    app.state.reports_dir = base / "reports"
    app.state.boundaries = None  # loaded at the first verdict
    if not (i18n.LOCALE_DIR / settings.language).is_dir():
        shipped = ", ".join(sorted(p.name for p in i18n.LOCALE_DIR.iterdir() if p.is_dir()))
        raise AtlasError(f"[portal] language = {settings.language!r}: no catalogue in {i18n.LOCALE_DIR}; "
                         f"languages there: {shipped}")  # for the operator starting the portal, in English
    templates = i18n.environment(HERE / "templates", settings.language, i18n.LOCALE_DIR)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    def page(request: Request, template: str, status: int = 200, session: Session | None = None, **values) -> Response:
        notices = store.pop_notices(session.id) if session else []
        html = templates.get_template(template).render(request=request, session=session, programme=programme,
                                                   members=programme.members, notices=notices, **values)
        return HTMLResponse(html, status_code=status)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        if request.url.path.startswith(("/country", "/deliveries", "/secretariat", "/audit", "/api")):
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        try:  # the header keeps its links (and the logout button) for a logged-in visitor
            session = current_session(request)
        except StarletteHTTPException:
            session = None
        return page(request, "error.html.j2", status=exc.status_code, session=session, code=exc.status_code,
                    detail=exc.detail)

    def audit(request: Request, session: Session | None, action: str, country: str | None, detail: str = ""):
        actor = f"token {session.token_id} ({session.label})" if session else "anonymous"
        store.audit(action, actor, session.role if session else None, country, detail, client_address(request))

    def own_delivery(session: Session, did: str) -> dict:
        """The delivery if the session may see it; 404 otherwise (another country's id is not confirmed)."""
        delivery = store.delivery(did)
        if delivery is None or not session.may_see(delivery["country"]):
            raise HTTPException(status_code=404, detail=_("no such delivery"))
        return delivery

    # --- login ------------------------------------------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    def home(request: Request):
        try:
            session = current_session(request)
        except HTTPException:
            return RedirectResponse("/login", status_code=303)
        return RedirectResponse("/secretariat" if session.is_secretariat else f"/country/{session.role}",
                                status_code=303)

    @app.get("/login")
    def login_form(request: Request, error: str = ""):
        nonce, cookie = app.state.signer.login_nonce()
        response = page(request, "login.html.j2", csrf=nonce, error=error)
        response.set_cookie(LOGIN_COOKIE, cookie, httponly=True, samesite="strict", secure=settings.secure_cookie,
                            max_age=3600)
        return response

    @app.post("/login")
    def login(request: Request, token: str = Form(""), csrf: str = Form("")):
        address = client_address(request)
        if not app.state.signer.login_nonce_matches(request.cookies.get(LOGIN_COOKIE), csrf):
            raise HTTPException(status_code=403, detail=_("the login form expired or came from elsewhere: reload it"))
        by_address, by_prefix = store.recent_failures(address, token, settings.login_window_minutes)
        if max(by_address, by_prefix) >= settings.login_failures:
            which = "address" if by_address >= settings.login_failures else "token prefix"
            audit(request, None, "login_blocked", None, f"too many failed logins (by {which})")
            raise HTTPException(status_code=429, detail=_(
                "too many failed logins from your address or with this token: wait %(minutes)s minutes and try "
                "again", minutes=f"{settings.login_window_minutes:g}"))
        found = store.token_for(token) if token else None
        if found is None:
            store.note_failure(address, token)
            audit(request, None, "login_failed", None, "unknown, expired or revoked token")
            nonce, cookie = app.state.signer.login_nonce()
            response = page(request, "login.html.j2", status=401, csrf=nonce,
                            error=_("This token is not valid (unknown, expired or revoked)."))
            response.set_cookie(LOGIN_COOKIE, cookie, httponly=True, samesite="strict",
                                secure=settings.secure_cookie, max_age=3600)
            return response
        session = store.open_session(found, settings.session_hours)
        audit(request, session, "login", None if found.role == SECRETARIAT else found.role)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(SESSION_COOKIE, app.state.signer.session_cookie(session.id), httponly=True,
                            samesite="strict", secure=settings.secure_cookie,
                            max_age=int(settings.session_hours * 3600))
        response.delete_cookie(LOGIN_COOKIE)
        return response

    @app.post("/logout")
    def logout(request: Request, csrf: str = Form(""), session: Session = Depends(current_session)):
        check_csrf(session, csrf)
        store.end_session(session.id)
        audit(request, session, "logout", None)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    # --- pages ------------------------------------------------------------------------------------------------
    @app.get("/country/{iso3}")
    def country_page(request: Request, iso3: str, session: Session = Depends(current_session)):
        if iso3 not in programme.members:
            raise HTTPException(status_code=404, detail=_("no such member country"))
        may_see(session, iso3)
        notify_ledger_changes(app)
        deliveries = store.deliveries(iso3)
        for d in deliveries:
            d["summary"] = json.loads(d["result"]) if d["result"] else None
        runs = store.runs(iso3, limit=1)
        for run in runs:
            run["running"] = is_running(run)
        return page(request, "country.html.j2", session=session, iso3=iso3, name=programme.members[iso3],
                    rows=country_status(programme, iso3), deliveries=deliveries, runs=runs)

    @app.get("/secretariat")
    def secretariat_page(request: Request, session: Session = Depends(current_session)):
        if not session.is_secretariat:
            raise HTTPException(status_code=403, detail=_("for the secretariat only"))
        deliveries = store.deliveries()
        latest = {}
        for d in deliveries:
            latest.setdefault(d["country"], d)
        return page(request, "secretariat.html.j2", session=session, latest=latest, deliveries=deliveries[:50])

    @app.get("/audit")
    def audit_page(request: Request, session: Session = Depends(current_session)):
        if not session.is_secretariat:
            raise HTTPException(status_code=403, detail=_("for the secretariat only"))
        return page(request, "audit.html.j2", session=session, rows=store.audit_rows())

    @app.post("/country/{iso3}/run")
    def start_run(request: Request, iso3: str, csrf: str = Form(""), session: Session = Depends(current_session)):
        check_csrf(session, csrf)
        if not session.is_secretariat:
            raise HTTPException(status_code=403, detail=_("for the secretariat only"))
        if iso3 not in programme.members:
            raise HTTPException(status_code=404, detail=_("no such member country"))
        running = [r for r in store.runs(iso3, limit=5) if is_running(r)]
        if running:
            raise HTTPException(status_code=409, detail=_(
                "a run for %(country)s started at %(started)s is still going: wait for it to end",
                country=iso3, started=running[0]["started"]))
        run_id = launcher(programme, iso3, config_path, store, f"token {session.token_id} ({session.label})")
        audit(request, session, "run_started", iso3, f"atlas run --country {iso3}; run {run_id}")
        store.add_notice(session.id, _("A pipeline run was started for %(name)s (atlas run --country %(iso3)s). "
                                       "This page shows its end and what the run made of each delivery.",
                                       name=programme.members[iso3], iso3=iso3))
        return RedirectResponse(f"/country/{iso3}", status_code=303)

    @app.get("/runs/{run_id}/log")
    def run_log(request: Request, run_id: int, session: Session = Depends(current_session)):
        if not session.is_secretariat:
            raise HTTPException(status_code=403, detail=_("for the secretariat only"))
        run = store.run(run_id)
        path = runs_dir(programme) / run["log"] if run else None
        if path is None or not path.is_file():
            raise HTTPException(status_code=404, detail=_("no such run"))
        audit(request, session, "download", run["country"], f"log of run {run_id}")
        return PlainTextResponse(path.read_text(encoding="utf-8", errors="replace"))

    @app.post("/country/{iso3}/deliveries")
    def new_delivery(request: Request, iso3: str, csrf: str = Form(""), session: Session = Depends(current_session)):
        check_csrf(session, csrf)
        if iso3 not in programme.members:
            raise HTTPException(status_code=404, detail=_("no such member country"))
        may_see(session, iso3)
        did = store.new_delivery(iso3, session.token_id)
        audit(request, session, "delivery_new", iso3, f"delivery {did}")
        return RedirectResponse(f"/deliveries/{did}", status_code=303)

    @app.get("/deliveries/{did}")
    def delivery_page(request: Request, did: str, session: Session = Depends(current_session)):
        delivery = own_delivery(session, did)
        uploads = store.uploads(did)
        for u in uploads:
            u["received"] = staging.offset(did, u["name"]) if delivery["state"] == "staged" else u["size"]
        summary = json.loads(delivery["result"]) if delivery["result"] else None
        return page(request, "delivery.html.j2", session=session, delivery=delivery, uploads=uploads,
                    summary=summary, chunk=settings.chunk_bytes, name=programme.members[delivery["country"]])

    # --- uploads (the uploader's API: JSON, CSRF in a header) -----------------------------------------------
    def staged(session: Session, did: str) -> dict:
        delivery = own_delivery(session, did)
        if delivery["state"] != "staged":
            raise HTTPException(status_code=409, detail=_("this delivery is %(state)s: start a new one",
                                                          state=state_word(delivery["state"])))
        return delivery

    @app.post("/api/deliveries/{did}/uploads")
    async def start_upload(request: Request, did: str, session: Session = Depends(current_session)):
        check_csrf(session, request.headers.get(CSRF_HEADER))
        delivery = staged(session, did)
        try:
            body = await request.json()
            raw_name, size = body["name"], body["size"]
        except (ValueError, KeyError, TypeError):
            raise HTTPException(status_code=400, detail=_("expected JSON with the file's name and size")) from None
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise HTTPException(status_code=400, detail=_("size must be a whole number of bytes"))
        try:
            name = safe_name(raw_name)
        except BadName as exc:
            audit(request, session, "upload_refused", delivery["country"], f"{str(raw_name)[:80]!r}: {exc}")
            raise HTTPException(status_code=400, detail=_("%(name)s: %(reason)s", name=repr(str(raw_name)[:80]),
                                                          reason=str(exc))) from None
        uploads = store.uploads(did)
        same = next((u for u in uploads if u["name"].casefold() == name.casefold()), None)
        if same is not None:
            if same["name"] == name and same["size"] == size:  # the same file again: resume where it stopped
                return {"id": same["id"], "name": name, "offset": staging.offset(did, name), "size": size}
            raise HTTPException(status_code=409, detail=_("%(name)s: a file of that name is already in this "
                                                          "delivery; remove it first to replace it", name=name))
        refusal = None
        if size > settings.max_file_bytes:
            refusal = _("%(name)s is %(size)d bytes; one file may have at most %(limit)d", name=name, size=size,
                        limit=settings.max_file_bytes)
        elif len(uploads) >= settings.max_delivery_files:
            refusal = _("a delivery holds at most %(n)d files", n=settings.max_delivery_files)
        elif sum(u["size"] for u in uploads) + size > settings.max_delivery_bytes:
            refusal = _("the delivery would exceed %(limit)d bytes in all", limit=settings.max_delivery_bytes)
        if refusal:
            audit(request, session, "upload_refused", delivery["country"], refusal)
            raise HTTPException(status_code=413, detail=refusal)
        uid = store.add_upload(did, name, size)
        staging.path(did, name).parent.mkdir(parents=True, exist_ok=True)
        staging.path(did, name).touch()
        audit(request, session, "upload_start", delivery["country"], f"{name} ({size} bytes) in delivery {did}")
        return {"id": uid, "name": name, "offset": 0, "size": size}

    def upload_of(session: Session, uid: str) -> tuple[dict, dict]:
        upload = store.upload(uid)
        if upload is None:
            raise HTTPException(status_code=404, detail=_("no such upload"))
        return upload, own_delivery(session, upload["delivery_id"])

    @app.get("/api/uploads/{uid}")
    def upload_state(uid: str, session: Session = Depends(current_session)):
        upload, delivery = upload_of(session, uid)
        offset = staging.offset(delivery["id"], upload["name"]) if delivery["state"] == "staged" else upload["size"]
        return {"id": uid, "name": upload["name"], "offset": offset, "size": upload["size"]}

    @app.patch("/api/uploads/{uid}")
    async def upload_piece(request: Request, uid: str, session: Session = Depends(current_session)):
        check_csrf(session, request.headers.get(CSRF_HEADER))
        upload, delivery = await run_in_threadpool(upload_of, session, uid)  # the database, off the event loop
        await run_in_threadpool(staged, session, delivery["id"])
        try:
            offset = int(request.headers.get("Upload-Offset", ""))
        except ValueError:
            raise HTTPException(status_code=400, detail=_("the Upload-Offset header is missing")) from None
        declared = request.headers.get("Content-Length")
        if declared and declared.isdigit() and offset + int(declared) > upload["size"]:
            audit(request, session, "upload_refused", delivery["country"], f"{upload['name']}: past its size")
            raise HTTPException(status_code=413, detail=_("%(name)s: this piece goes past the %(size)d bytes "
                                                          "declared; nothing of it was written",
                                                          name=upload["name"], size=upload["size"]))
        try:
            have = await staging.append(delivery["id"], upload["name"], upload["size"], offset, request.stream())
        except ClientDisconnect:  # the connection broke: what arrived stays staged, the browser resumes from it
            log.info("upload %s of %s cut at %d bytes", uid, upload["name"], staging.offset(delivery["id"],
                                                                                               upload["name"]))
            await run_in_threadpool(store.touch, delivery["id"])
            return Response(status_code=400)
        except UploadRefused as exc:
            if exc.status == 413:
                audit(request, session, "upload_refused", delivery["country"], str(exc))
            return JSONResponse({"detail": str(exc), "offset": exc.offset}, status_code=exc.status)
        await run_in_threadpool(finish_piece, request, session, delivery, upload, have)
        return {"id": uid, "offset": have, "size": upload["size"]}

    def finish_piece(request: Request, session: Session, delivery: dict, upload: dict, have: int) -> None:
        store.touch(delivery["id"])
        if have == upload["size"]:
            digest = sha256_of(staging.path(delivery["id"], upload["name"]))
            store.set_upload(upload["id"], received=have, sha256=digest)
            audit(request, session, "upload_done", delivery["country"], f"{upload['name']} sha256 {digest}")

    # --- uploads without JavaScript: the page's form, one multipart POST parsed as it streams -----------------
    @app.post("/deliveries/{did}/files")
    async def upload_form(request: Request, did: str, session: Session = Depends(current_session)):
        delivery = await run_in_threadpool(staged, session, did)
        country = delivery["country"]
        uploads = await run_in_threadpool(store.uploads, did)
        taken = {u["name"].casefold(): u["size"] for u in uploads}
        declared = request.headers.get("Content-Length", "")
        room = settings.max_delivery_bytes - sum(taken.values())
        if declared.isdigit() and int(declared) > room + (1 << 16):  # 64 kB for the form's own parts
            await run_in_threadpool(audit, request, session, "upload_refused", country, f"form of {declared} bytes")
            raise HTTPException(status_code=413, detail=_(
                "these files (%(size)d bytes) would exceed the %(limit)d bytes a delivery may hold in all; "
                "nothing was taken", size=int(declared), limit=settings.max_delivery_bytes))

        def register(name: str, size: int, digest: str) -> None:
            uid = store.add_upload(did, name, size)
            store.set_upload(uid, received=size, sha256=digest)
            audit(request, session, "upload_done", country, f"{name} ({size} bytes, form) sha256 {digest}")

        receiver = FormReceiver(staging, did, session.csrf, settings, taken, register)
        refusal, body = None, request.stream()
        try:
            result = await receive_form(receiver, request.headers.get("Content-Type", ""), body)
        except ClientDisconnect:  # the browser went away: the file it was sending is removed, the others stay
            log.info("form upload to delivery %s cut; %s kept", did, plural(len(receiver.result.staged), "file"))
            await run_in_threadpool(store.touch, did)
            return Response(status_code=400)
        except MultipartParseError:
            raise HTTPException(status_code=400, detail=_("the upload form arrived malformed: send it again")
                                ) from None
        except UploadRefused as exc:
            if exc.status != 413:  # a forged or malformed form: refused whole
                raise HTTPException(status_code=exc.status, detail=str(exc)) from None
            result, refusal = receiver.result, str(exc)
            await run_in_threadpool(audit, request, session, "upload_refused", country, refusal)
            if declared.isdigit():  # read the rest (bounded above) so the browser gets the page, not a reset
                async for _chunk in body:
                    pass
        for name in result.refused:
            await run_in_threadpool(audit, request, session, "upload_refused", country, name)
        notices = [_("Received: %(files)s", files=", ".join(result.staged))] if result.staged else []
        notices += [_("Not taken: %(reason)s", reason=r) for r in [*result.refused, *([refusal] if refusal else [])]]
        for text in notices or [_("No file was chosen.")]:
            await run_in_threadpool(store.add_notice, session.id, text)
        await run_in_threadpool(store.touch, did)
        return RedirectResponse(f"/deliveries/{did}", status_code=303)

    @app.post("/deliveries/{did}/files/{uid}/remove")
    def remove_upload(request: Request, did: str, uid: str, csrf: str = Form(""),
                      session: Session = Depends(current_session)):
        check_csrf(session, csrf)
        delivery = staged(session, did)
        upload = store.upload(uid)
        if upload is None or upload["delivery_id"] != did:
            raise HTTPException(status_code=404, detail=_("no such file in this delivery"))
        staging.remove_file(did, upload["name"])
        store.remove_upload(uid)
        audit(request, session, "upload_removed", delivery["country"], upload["name"])
        return RedirectResponse(f"/deliveries/{did}", status_code=303)

    # --- send, verdict ----------------------------------------------------------------------------------------
    @app.post("/deliveries/{did}/send")
    def send(request: Request, did: str, csrf: str = Form(""), session: Session = Depends(current_session)):
        check_csrf(session, csrf)
        delivery = staged(session, did)
        country = delivery["country"]
        uploads = store.uploads(did)
        missing = [u["name"] for u in uploads if staging.offset(did, u["name"]) != u["size"]]
        if missing:
            raise HTTPException(status_code=409, detail=_("not every file is uploaded yet: %(files)s",
                                                          files=", ".join(missing)))
        try:
            folder = staging.send(did, country)
        except UploadRefused as exc:
            raise HTTPException(status_code=exc.status, detail=str(exc)) from None
        store.set_delivery(did, state="sent", sent=utc_now().isoformat(), folder=str(folder.relative_to(
            programme.raw_dir)))
        audit(request, session, "send", country, f"delivery {did} -> {folder.relative_to(programme.raw_dir)} "
              f"({len(uploads)} files)")
        tag = programme.short_name or "atlas"
        notifier.send(country, _("[%(tag)s] delivery received: %(folder)s", tag=tag, folder=folder.name),
                      _("The portal received delivery %(folder)s from %(country)s:", folder=folder.name,
                        country=programme.members[country]) + "\n" + "\n".join(
                          _("  %(name)s  %(size)d bytes  sha256 %(sha256)s", name=u["name"], size=u["size"],
                            sha256=u["sha256"] or "") for u in uploads))
        summary = give_verdict(did, folder, country)
        audit(request, session, "verdict", country, f"delivery {folder.name}: {summary['verdict']}")
        word = state_word(summary["verdict"])
        notifier.send(country, _("[%(tag)s] verdict on %(folder)s: %(verdict)s", tag=tag, folder=folder.name,
                                 verdict=word),
                      _("The checks of delivery %(folder)s (%(country)s) give: %(verdict)s.", folder=folder.name,
                        country=programme.members[country], verdict=word) + "\n" + "\n".join(
                          _("  %(label)s: %(verdict)s, %(errors)d errors, %(warnings)d warnings", label=s["label"],
                            verdict=state_word(s["verdict"]), errors=s["counts"].get("error", 0),
                            warnings=s["counts"].get("warning", 0)) for s in summary["submissions"]))
        return RedirectResponse(f"/deliveries/{did}", status_code=303)

    def give_verdict(did: str, folder: Path, country: str) -> dict:
        if app.state.boundaries is None:
            app.state.boundaries = load_reference(programme)
        try:
            summary = check_delivery(folder, country, programme, app.state.boundaries, app.state.reports_dir / did)
        except Exception as exc:  # noqa: BLE001 - the delivery is safe in the inbox; the run will check it
            log.exception("checking delivery %s failed", folder)
            summary = {"verdict": None, "submissions": [], "skipped": [],
                       "error": _("the portal could not check the delivery (%(error)s); it is in the inbox and "
                                  "the next run checks it", error=type(exc).__name__)}
        store.set_delivery(did, verdict=summary["verdict"], result=json.dumps(summary))
        return summary

    # --- downloads ----------------------------------------------------------------------------------------
    @app.get("/deliveries/{did}/reports/{folder}/{file}")
    def report_file(request: Request, did: str, folder: str, file: str, session: Session = Depends(current_session)):
        delivery = own_delivery(session, did)
        summary = json.loads(delivery["result"]) if delivery["result"] else {"submissions": []}
        if file not in REPORT_FILES or folder not in {s["folder"] for s in summary["submissions"]}:
            raise HTTPException(status_code=404, detail=_("no such report"))
        path = app.state.reports_dir / did / folder / file
        if not path.is_file():
            raise HTTPException(status_code=404, detail=_("no such report"))
        audit(request, session, "download", delivery["country"], f"{folder}/{file}")
        response = FileResponse(path, media_type=REPORT_FILES[file])
        if file == "report_map.svg":  # an SVG opened on its own runs no script
            response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
        return response

    @app.get("/deliveries/{did}/files/{uid}")
    def download_file(request: Request, did: str, uid: str, session: Session = Depends(current_session)):
        delivery = own_delivery(session, did)
        upload = store.upload(uid)
        if upload is None or upload["delivery_id"] != did:
            raise HTTPException(status_code=404, detail=_("no such file"))
        path = (programme.raw_dir / delivery["folder"] / upload["name"] if delivery["state"] == "sent"
                else staging.path(did, upload["name"]))
        if not path.is_file():
            raise HTTPException(status_code=404, detail=_("no such file"))
        audit(request, session, "download", delivery["country"], upload["name"])
        return FileResponse(path, media_type="application/octet-stream", filename=upload["name"])

    @app.get("/country/{iso3}/versions/{record_id}/report.html")
    def run_report(request: Request, iso3: str, record_id: int, session: Session = Depends(current_session)):
        """The report the pipeline run wrote for one of the country's versions (previous reports)."""
        may_see(session, iso3)
        path = ledger_report(programme, iso3, record_id)
        if path is None:
            raise HTTPException(status_code=404, detail=_("no such report"))
        audit(request, session, "download", iso3, f"run report of ledger version {record_id}")
        return FileResponse(path, media_type="text/html")

    @app.get("/guide")
    def guide(request: Request, session: Session = Depends(current_session)):
        from atlas.reports.guide import write_guide

        path = write_guide(programme, base / "guide")["html"]
        audit(request, session, "download", None if session.is_secretariat else session.role, "submission guide")
        return FileResponse(path, media_type="text/html")

    @app.get("/crosswalk_template.csv")
    def blank_crosswalk(request: Request, session: Session = Depends(current_session)):
        from checks.crosswalk import TEMPLATE_COLUMNS

        audit(request, session, "download", None if session.is_secretariat else session.role, "crosswalk template")
        return Response(",".join(TEMPLATE_COLUMNS) + "\n", media_type="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="crosswalk_template.csv"'})

    @app.get("/healthz", include_in_schema=False)
    def healthz():
        return {"ok": True, "time": dt.datetime.now(dt.UTC).isoformat()}

    return app
