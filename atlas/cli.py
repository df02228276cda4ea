"""The ``atlas`` command: what GIS staff type."""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from atlas.config import Programme, find_config, load_programme, resolve_selection
from atlas.errors import AtlasError, ConfigError
from atlas.wording import plural

app = typer.Typer(
    help="Soil Atlas pipeline of the Asian Soil Partnership: ingest national soil and salinity "
    "submissions, validate them, harmonize borders, mosaic regional products and track who sent what.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# the packages of the `pipeline` extra (pyproject.toml): a focal point's light install has none of them
PIPELINE_MODULES = frozenset({"prefect", "prefect_dask", "dask", "distributed", "fastapi", "pyarrow", "xarray",
                              "rioxarray", "rio_cogeo", "pystac", "uvicorn", "itsdangerous", "babel", "multipart",
                              "httptools"})  # openpyxl is core: tables
TRACEBACK_ENV = "ATLAS_TRACEBACK"  # set to 1 to see the Python traceback of an unexpected error

# no envvar here: ./programme.toml comes before $ATLAS_CONFIG (atlas.config.find_config)
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="programme configuration (TOML); default ./programme.toml, else $ATLAS_CONFIG",
                 show_default=False),
]


def _config_path(config: Path | None) -> Path:
    """The configuration file this command reads (--config, else ./programme.toml, else $ATLAS_CONFIG)."""
    try:
        return find_config(config).resolve()
    except AtlasError as exc:
        _fail(f"configuration error: {exc}")


def _programme(config: Path | None) -> Programme:
    try:
        return load_programme(_config_path(config))
    except AtlasError as exc:
        _fail(f"configuration error: {exc}")


def _selection(programme: Programme, country: str | None, deliverable: str | None,
               what: str = "") -> tuple[str | None, str | None]:
    """The ISO3 code (from a code or a name) and the deliverable, or one line naming the nearest valid one."""
    try:
        return resolve_selection(programme, country, deliverable)
    except ConfigError as exc:
        _fail(f"{what}{exc}")


def _fail(message: str) -> None:
    """One red line on stderr, exit status 2: how every error of the command ends."""
    typer.secho(f"atlas: {' '.join(str(message).split())}", fg="red", err=True)
    raise SystemExit(2)


def _quiet_dask(verbose: bool) -> None:
    """Dask and distributed log at WARNING (their cluster chatter hides the pipeline's lines) unless --verbose."""
    level = "info" if verbose else "warning"
    # worker processes read their logging from the environment when they start
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", level)
    for name in ("distributed", "dask", "bokeh", "tornado"):
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.WARNING)


def _quiet_prefect_home(programme: Programme) -> None:
    """Keep Prefect's local database beside the project unless the user points elsewhere."""
    if "PREFECT_API_URL" not in os.environ and "PREFECT_HOME" not in os.environ:
        os.environ["PREFECT_HOME"] = str(programme.root / ".prefect")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")
    # the library's own log lines (per country, per stage) go to the run's log in the Prefect UI too
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "atlas,checks,flows")
    # the secretariat's machines may have no internet: no telemetry calls from the local server
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # the temporary server may start slowly on a busy machine: wait for it rather than fail
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    # the pipeline uses no Prefect blocks: a temporary server need not register their types (~2 s of CPU on a
    # new database); a server started with `prefect server start` still registers them
    os.environ.setdefault("PREFECT_API_BLOCKS_REGISTER_ON_START", "false")


def _start_temporary_server():
    """Prefect's temporary server, started now as a process of its own (atlas/prefect_server.py), or None when
    a server is set or Prefect is already loaded here (the flow call then finds or starts one itself)."""
    from atlas import prefect_server

    if not prefect_server.wanted():
        return None
    try:
        return prefect_server.start(Path(os.environ["PREFECT_HOME"]))
    except (OSError, prefect_server.ServerStartError) as exc:
        _fail(f"could not start Prefect's temporary server: {exc}")


def _server_startup_timeout() -> float:
    try:
        return float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120"))
    except ValueError:
        _fail("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS must be a number of seconds")


@app.command()
def demo(
    config: ConfigOption = None,
    seed: Annotated[int, typer.Option(help="seed of the generator; the same seed gives the same files")] = 20261126,
    resubmission: Annotated[
        bool, typer.Option("--resubmission", help="add a later resubmission (a new version)")
    ] = False,
    replace: Annotated[
        bool, typer.Option("--replace", help="replace an inbox or reference layer the demo did not write")
    ] = False,
) -> None:
    """Write the embedded demo programme (national submissions and reference boundaries) into data/raw."""
    from atlas.demo.programme import generate_demo

    programme = _programme(config)
    started = time.perf_counter()
    database = _prepare_prefect_database(programme)  # on the other core, while the demo is written
    try:
        typer.echo(f"writing demo submissions into {programme.raw_dir} ...")
        manifest = generate_demo(programme, seed=seed, resubmission=resubmission, replace=replace)
    except BaseException:
        if database is not None:
            database.kill()
            database.wait()
        raise
    typer.echo(
        f"demo programme written in {time.perf_counter() - started:.1f} s: "
        f"{len(manifest.files)} files for {len(manifest.countries)} countries; "
        f"reference boundaries at {programme.reference_boundaries}"
    )
    if database is not None:
        status = database.wait()
        home = Path(os.environ["PREFECT_HOME"])
        typer.echo(f"Prefect's local database prepared in {home} ({time.perf_counter() - started:.1f} s)" if not status
                   else f"Prefect's local database not prepared (see {home / 'database.log'}): `atlas run` creates it")
    typer.echo("next: `atlas run` processes the inbox")


def _prepare_prefect_database(programme: Programme):
    """The process creating Prefect's database for the first `atlas run` (its migrations take ~10 s of CPU), or
    None: no pipeline install, a server or database of the user's, or the database is there already."""
    from atlas import prefect_server

    _quiet_prefect_home(programme)
    if "PREFECT_HOME" not in os.environ:
        return None
    try:
        return prefect_server.prepare_database(Path(os.environ["PREFECT_HOME"]))
    except OSError:
        return None  # `atlas run` creates it


@app.command()
def run(
    config: ConfigOption = None,
    country: Annotated[str | None, typer.Option(help="only this member country (ISO3, e.g. KHM)")] = None,
    deliverable: Annotated[str | None, typer.Option(help="only this deliverable, e.g. salinity_map")] = None,
    force: Annotated[bool, typer.Option(help="reprocess submissions already processed")] = False,
    dask: Annotated[
        bool,
        typer.Option(
            "--dask", help="per-country tasks on Dask: operations.dask_scheduler, else a local cluster"
        ),
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="also show Dask's and distributed's INFO lines")
    ] = False,
    settle: Annotated[
        bool,
        typer.Option(
            "--settle", help="leave deliveries changed within intake.settle_seconds for later (still being copied)"
        ),
    ] = False,
) -> None:
    """Process what is in data/raw: validate, harmonize, mosaic, and print the status table."""
    started = time.perf_counter()
    config = _config_path(config)
    programme = _programme(config)
    country, deliverable = _selection(programme, country, deliverable)
    from flows.run_log import plural

    if not force:
        from atlas.pending import pending_work

        pending = pending_work(programme, country, deliverable)
        if pending.nothing_new:
            typer.echo(f"nothing new: {plural(pending.versions, 'submission version')} in {programme.raw_dir}, all "
                       f"processed; products and status exports up to date ({time.perf_counter() - started:.1f} s). "
                       "`atlas run --force` reprocesses everything.")
            return
        typer.echo("to do: " + "; ".join(pending.reasons) + (" ..." if len(pending.reasons) >= 3 else ""))
    _quiet_prefect_home(programme)
    _quiet_dask(verbose)
    server = _start_temporary_server()  # first: it starts on the other core while the modules below load
    try:
        from atlas.ledger.status_table import render_status_table
        from atlas.ledger.store import Ledger
        from flows.pipeline import pipeline_flow

        if server is not None:
            from atlas.prefect_server import ServerStartError

            try:
                server.wait_ready(_server_startup_timeout())
            except ServerStartError as exc:
                _fail(str(exc))
        summary = pipeline_flow(programme, dask=dask)(
            config_path=str(config), country=country, deliverable=deliverable, force=force, settle=settle
        )
    except BaseException:
        if server is not None:
            server.stop()
        raise
    typer.echo("")
    typer.echo(render_status_table(Ledger(programme.ledger_path, programme).status_rows(), programme=programme))
    typer.echo("")
    for product, files in summary["products"].items():
        typer.echo(f"{product}: {plural(len(files), 'file')}")
    if summary["failed_countries"]:
        typer.secho(f"pipeline failures for: {', '.join(summary['failed_countries'])}", fg="red")
    for failure in summary.get("failures", []):
        typer.secho(f"  {failure}", fg="red")
    failed_release = "FAILED" in summary.get("release", "")
    typer.secho(summary.get("release", ""), fg="red" if failed_release else None)
    typer.secho(f"verify: {summary.get('verified')}", fg="red" if summary.get("disagreements") else None)
    for line in summary.get("disagreements", []):
        typer.secho(f"  {line}", fg="red")
    typer.echo(f"products in {programme.processed_dir} (run took {time.perf_counter() - started:.1f} s)")
    typer.echo(f"flow run {summary['run_id']}: its artifacts (status table, run summary by country) and logs are "
               f"on this run" + (f": {summary['run_url']}" if summary.get("run_url") else
                                 " (a temporary Prefect server: start `atlas serve` to keep the UI)"))


DEFAULT_API = "http://127.0.0.1:4200/api"


@app.command()
def serve(
    config: ConfigOption = None,
    dask: Annotated[bool, typer.Option("--dask", help="flow runs use Dask (see `atlas run --dask`)")] = False,
    limit: Annotated[int | None, typer.Option(help="at most this many flow runs at once")] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="also show Dask's and distributed's INFO lines")
    ] = False,
) -> None:
    """Serve the pipeline to a Prefect server: an on-demand run for the UI and the scheduled ingestion."""
    config = _config_path(config)
    programme = _programme(config)
    _quiet_dask(verbose)
    os.environ.setdefault("PREFECT_API_URL", DEFAULT_API)
    _quiet_prefect_home(programme)
    api = os.environ["PREFECT_API_URL"]
    if not _api_healthy(api):
        _fail(f"no Prefect server answers at {api}: start one first (in another terminal) with "
              "`.venv/bin/prefect server start --host 127.0.0.1 --port 4200`, or point PREFECT_API_URL at yours")
    from flows.deployments import serve_deployments

    typer.echo(f"serving the soil atlas flows to {api} (Ctrl+C stops); UI: {api.removesuffix('/api')}")
    serve_deployments(config, dask=dask, limit=limit)


def _api_healthy(api: str, timeout_s: float = 5.0) -> bool:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{api.rstrip('/')}/health", timeout=timeout_s) as response:  # noqa: S310
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


@app.command()
def status(
    target: Annotated[
        str | None, typer.Argument(help="an ISO3 code to show that country's history, or `export` to write the exports")
    ] = None,
    config: ConfigOption = None,
    fmt: Annotated[
        list[str] | None,
        typer.Option(
            "--format", "-f", help="with `export`: csv, xlsx, md, html, png or svg (repeatable); all by default"
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="with `export`: output folder (default data/processed/status)")
    ] = None,
) -> None:
    """Print the status table; `atlas status KHM`: a country's history; `atlas status export`: the exports."""
    from atlas.ledger.status_table import render_country_history, render_status_table

    programme = _programme(config)
    if target is not None and target.lower() != "export":
        target, _ = _selection(programme, target, None, what=f"{target} is neither `export` nor a member country: ")
    if fmt and (target is None or target.lower() != "export"):
        _fail("--format and --out go with `atlas status export`")
    from atlas.ledger.store import Ledger
    from atlas.pending import unprocessed_line

    exporting = target is not None and target.lower() == "export"
    waiting = None if exporting else unprocessed_line(programme, target)  # before the ledger is created
    ledger = Ledger(programme.ledger_path, programme)
    if target is None:
        typer.echo(render_status_table(ledger.status_rows(), programme=programme))
    elif exporting:
        _export(programme, ledger, fmt, out)
    else:
        typer.echo(render_country_history(ledger, target))
    if waiting:
        typer.echo("")
        typer.secho(waiting, fg="yellow")


def _export(programme: Programme, ledger, fmt: list[str] | None, out: Path | None) -> None:
    from atlas import layout
    from atlas.ledger.exports import check_formats, export_status

    try:
        check_formats(fmt or ())  # an unknown format is refused before anything is drawn
    except AtlasError as exc:
        _fail(str(exc))
    boundaries = None
    if programme.reference_boundaries.is_file():
        from atlas.borders.boundaries import load_boundaries

        boundaries, _ = load_boundaries(programme)
    formats = tuple(fmt) if fmt else ("csv", "xlsx", "md", "html", "png", "svg")
    target = out or layout.status_dir(programme.processed_dir)
    written = export_status(ledger, programme, target, formats, boundaries=boundaries)
    for kind, paths in written.items():
        for path in paths:
            typer.echo(f"{kind}: {path}")


@app.command()
def validate(
    path: Annotated[Path, typer.Argument(help="a submitted file, a delivery folder, a country folder or the inbox")],
    config: ConfigOption = None,
    country: Annotated[
        str | None, typer.Option(help="ISO3 of the submitting country (else from the inbox path, else file names)")
    ] = None,
    boundaries_file: Annotated[
        Path | None,
        typer.Option("--boundaries", help="reference boundary layer (default: paths.reference_boundaries)"),
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="exit 1 when accepted with warnings")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON (docs/REPORT_SCHEMA.md)")] = False,
    html: Annotated[
        Path | None, typer.Option("--html", help="also write the HTML reports the secretariat sends into this folder")
    ] = None,
) -> None:
    """Check files before sending them: the findings and verdict `atlas run` would record (nothing is changed).

    Exit status: 0 accepted (with warnings too, unless --strict: 1), 3 rejected, 2 usage error or nothing found.

    Needs neither a Prefect server, nor the ledger, nor the inbox.
    """
    # imported here, not at the top: `atlas validate` must not load Prefect (a focal point has no server)
    import dataclasses
    import json

    from atlas.validation import render, result_json, validate_path, write_html

    programme = _programme(config)
    country, _ = _selection(programme, country, None)
    if not path.exists():
        _fail(f"{path} does not exist")
    if boundaries_file is not None:
        if not boundaries_file.is_file():
            _fail(f"--boundaries {boundaries_file} does not exist")
        programme = dataclasses.replace(programme, reference_boundaries=boundaries_file.resolve())
    if html is not None and html.exists() and not html.is_dir():
        _fail(f"--html {html} is a file, not a folder")
    boundaries = _validation_boundaries(programme)
    try:
        result = validate_path(path, programme, boundaries, country=country)
    except OSError as exc:  # a folder that cannot be listed; unreadable files are findings, not errors
        _fail(f"cannot read {path}: {exc.strerror or exc}")
    if html is not None:
        for written in write_html(result, html):
            typer.echo(f"report: {written}", err=as_json)
    if as_json:
        typer.echo(json.dumps(result_json(result), indent=2, default=str, ensure_ascii=False))
    else:
        typer.echo(render(result))
    raise typer.Exit(result.exit_status(strict))


def _validation_boundaries(programme: Programme):
    """The reference boundary layer if it is there (extent and coverage checks need it), else None, said once."""
    if not programme.reference_boundaries.is_file():
        typer.secho(f"no reference boundary layer at {programme.reference_boundaries}: extent and coverage "
                    "checks are not made (--boundaries FILE)", fg="yellow", err=True)
        return None
    from atlas.borders.boundaries import load_boundaries

    try:
        return load_boundaries(programme)[0]
    except Exception as exc:  # noqa: BLE001 - an unreadable layer is reported, the files are still checked
        typer.secho(f"reference boundary layer {programme.reference_boundaries} unreadable: {exc}",
                    fg="yellow", err=True)
        return None


@app.command()
def guide(
    config: ConfigOption = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="folder to write into (default: "
                                             "data/processed/guide)")] = None,
) -> None:
    """Write the submission guide for countries (HTML and Markdown) from the programme configuration."""
    from atlas.reports.guide import write_guide

    programme = _programme(config)
    paths = write_guide(programme, out or programme.processed_dir / "guide")
    for path in paths.values():
        typer.echo(f"wrote {path}")


portal_app = typer.Typer(help="The web portal where countries upload deliveries and see their verdicts.",
                         add_completion=False, pretty_exceptions_enable=False)
token_app = typer.Typer(help="Access tokens: one per country focal point, or for the secretariat.",
                        no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
portal_app.add_typer(token_app, name="token")
app.add_typer(portal_app, name="portal")
DEMO_ROLES = (("KHM", "demo focal point"), ("THA", "demo focal point"), ("secretariat", "demo secretariat"))


@portal_app.callback(invoke_without_command=True)
def portal(
    ctx: typer.Context,
    config: ConfigOption = None,
    host: Annotated[str, typer.Option(help="address to listen on; put an HTTPS proxy in front for "
                                      "other machines")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8710,
    demo: Annotated[bool, typer.Option("--demo", help="first issue demo tokens for KHM, THA and the "
                                       "secretariat (printed once)")] = False,
) -> None:
    """Serve the portal (http://127.0.0.1:8710 by default); `atlas portal token ...` manages access."""
    if ctx.invoked_subcommand is not None:
        return
    import uvicorn

    from atlas.portal.app import create_app, store_path
    from atlas.portal.store import PortalStore

    programme = _programme(config)
    if demo:
        store = PortalStore(store_path(programme))
        typer.echo("demo tokens (shown once; revoke with `atlas portal token revoke ID`):")
        for role, label in DEMO_ROLES:
            token, row = store.add_token(role, label, expires=_expiry("7d"))
            typer.echo(f"  {role:<12} {token}   (id {row.id}, expires {row.expires})")
    try:
        web = create_app(programme, config_path=_config_path(config).resolve())
    except AtlasError as exc:
        _fail(str(exc))
    typer.echo(f"portal on http://{host}:{port} (Ctrl+C stops); state in {store_path(programme)}")
    uvicorn.run(web, host=host, port=port, log_level="info", proxy_headers=False)


def _expiry(text: str | None):
    """``--expires``: an ISO date (valid through that day, UTC) or a duration such as 90d or 12h."""
    import datetime as dt

    if not text:
        return None
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    unit = text[-1:].lower()
    if unit in ("d", "h") and text[:-1].isdigit():
        return now + dt.timedelta(**{"days" if unit == "d" else "hours": int(text[:-1])})
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        _fail(f"--expires {text!r}: give a date (2027-06-30) or a duration (90d, 12h)")
    if day < now.date():
        _fail(f"--expires {text}: that day has passed")
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


def _portal_store(config: Path):
    from atlas.portal.app import store_path
    from atlas.portal.store import PortalStore

    return PortalStore(store_path(_programme(config)))


@token_app.command("add")
def token_add(
    role: Annotated[str, typer.Argument(help="ISO3 of the member country, or `secretariat`")],
    label: Annotated[str, typer.Option(help="who holds it, e.g. \"focal point\"")],
    expires: Annotated[str | None, typer.Option(help="a date (2027-06-30) or a duration (90d, 12h)")] = None,
    config: ConfigOption = None,
) -> None:
    """Issue a token; it is printed once and stored only as a hash."""
    programme = _programme(config)
    from atlas.portal.store import SECRETARIAT

    role = SECRETARIAT if role.lower() == SECRETARIAT else _selection(programme, role, None)[0]
    if not label.strip():
        _fail("--label: say who holds the token (e.g. \"focal point, Ministry of Agriculture\")")
    token, row = _portal_store(config).add_token(role, label.strip(), expires=_expiry(expires))
    typer.echo(f"token {row.id} for {role} ({row.label}){', expires ' + row.expires if row.expires else ''}:")
    typer.echo(f"  {token}")
    typer.echo("give it to its holder now: it is not stored and cannot be shown again")


@token_app.command("list")
def token_list(config: ConfigOption = None) -> None:
    """Every token: id, role, label, state (active, expired, revoked), first characters, expiry."""
    tokens = _portal_store(config).tokens()
    if not tokens:
        typer.echo("no token issued yet: `atlas portal token add KHM --label \"focal point\"`")
    for t in tokens:
        typer.echo(f"{t.id:>4}  {t.role:<12} {t.state():<8} {t.hint}…  created {t.created}  "
                   f"expires {t.expires or 'never'}  {t.label}")


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="the token's id (see `atlas portal token list`)")],
    config: ConfigOption = None,
) -> None:
    """Revoke a token; its open sessions end at once."""
    row = _portal_store(config).revoke_token(token_id)
    if row is None:
        _fail(f"no token with id {token_id} (see `atlas portal token list`)")
    typer.echo(f"token {row.id} ({row.role}, {row.label}) revoked at {row.revoked}; its sessions are closed")


@app.command()
def verify(
    config: ConfigOption = None,
    samples: Annotated[int, typer.Option(help="pixels sampled per country and salinity layer", min=1)] = 200,
) -> None:
    """Check the current release: checksums against STAC, sources = manifests = ledger, pixels = national copies.

    Prints one line per disagreement and exits with status 1 when there is any.
    """
    programme = _programme(config)
    from atlas import layout
    from atlas.ledger.store import Ledger
    from atlas.ledger.verify import verify_release

    if not programme.ledger_path.is_file():
        _fail(f"no ledger at {programme.ledger_path}: nothing has been published yet (`atlas run` first)")
    with Ledger(programme.ledger_path, programme) as ledger:
        problems = verify_release(programme, ledger, samples)
    name = layout.current_release_name(programme.processed_dir) or "none"
    for line in problems:
        typer.echo(" ".join(line.split()))
    if problems:
        typer.secho(f"release {name}: {plural(len(problems), 'disagreement')}", fg="red", err=True)
        raise typer.Exit(1)
    typer.echo(f"release {name}: verified")


@app.command()
def releases(config: ConfigOption = None) -> None:
    """List the kept releases of the regional products (newest first, * = current) and failed attempts."""
    programme = _programme(config)
    from atlas import layout
    from atlas.ledger.store import Ledger
    from atlas.products.release import list_releases

    kept = list_releases(programme.processed_dir)
    if not kept:
        typer.echo("no release yet: `atlas run` publishes the regional products as the first one")
    for record in kept:
        products = "; ".join(f"{product}: " + ", ".join(f"{iso3} v{v}" for iso3, v in held["versions"].items())
                             for product, held in (record.get("products") or {}).items())
        typer.echo(f"{'*' if record['current'] else ' '} {record['name']}  {record.get('created') or '?'}  "
                   f"run {record.get('run_id') or '?'}  {products or '(no products listed)'}")
    failures = []
    if programme.ledger_path.is_file():
        with Ledger(programme.ledger_path, programme) as ledger:
            failures = [a for a in ledger.release_attempts() if a["outcome"] == "failed"]
    for attempt in failures:
        typer.echo(f"  {attempt['name']}  {attempt['at']}  run {attempt['run_id'] or '?'}  FAILED, not published: "
                   + " ".join(str(attempt["reason"]).split()))
    typer.echo(f"{plural(len(kept), 'release')} kept ([releases] keep = {programme.releases.keep}); "
               f"folders in {layout.releases_dir(programme.processed_dir)}")


@app.command()
def template(
    country: Annotated[str, typer.Argument(help="ISO3 code of the member country (or 'all' for every member)")],
    deliverable: Annotated[str, typer.Argument(help="a table deliverable of the programme, e.g. soil_threats")],
    config: ConfigOption = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="folder to write into (default: "
                                             "data/processed/templates)")] = None,
    force: Annotated[bool, typer.Option("--force", help="replace a template file already there")] = False,
) -> None:
    """Write the XLSX template of a table deliverable for a country: instructions, one sheet per part of the
    table with drop-downs, input messages and formats, and the country filled in."""
    from atlas.tables import load_table_spec
    from atlas.tables.template import template_name, write_template

    programme = _programme(config)
    countries = (list(programme.members) if country.lower() == "all"
                 else [_selection(programme, country, deliverable)[0]])  # a code, a name or a near miss
    try:
        spec = load_table_spec(programme, deliverable)
    except ConfigError as exc:
        _fail(str(exc))
    folder = out or programme.processed_dir / "templates"
    if folder.exists() and not folder.is_dir():
        _fail(f"--out {folder} is a file, not a folder")
    for iso3 in (c.upper() for c in countries):
        target = folder / template_name(iso3, spec)
        if target.exists() and not force:
            _fail(f"{target} exists (it may hold a country's rows); pass --force to replace it")
        folder.mkdir(parents=True, exist_ok=True)
        write_template(spec, iso3, programme.members[iso3], target, programme.deliverables[deliverable].deadline)
        typer.echo(f"wrote {target}")


def main(argv: list[str] | None = None) -> None:
    """Console entry: every error ends as one line on stderr and exit status 2, never a traceback."""
    # Prefect configures its own console logging for flow runs; the library's warnings
    # outside a flow reach stderr through Python's last-resort handler
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="atlas", standalone_mode=False)
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:
        _fail("interrupted")
    except typer.TyperException as exc:  # a mistyped command, option or value
        if type(exc).__name__ == "NoArgsIsHelpError":  # `atlas` alone: the help, not an error
            typer.echo(exc.format_message())
            raise SystemExit(0) from None
        ctx = getattr(exc, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        _fail(f"{exc.format_message()}{hint}")
    except AtlasError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted")
    except Exception as exc:  # noqa: BLE001 - a defect: one line, the traceback on request
        if isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] in PIPELINE_MODULES:
            _fail(f"this command needs the secretariat's pipeline packages ({exc.name} is not installed): "
                  'pip install "soil-atlas-pipeline[pipeline]"; `atlas validate` and `atlas guide` need only the core')
        if os.environ.get(TRACEBACK_ENV):
            raise
        _fail(f"unexpected {type(exc).__name__}: {exc} (a pipeline defect; {TRACEBACK_ENV}=1 shows the traceback)")
    if isinstance(code, int) and code:  # a command's own exit status (validate: 1 when errors were found)
        sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
