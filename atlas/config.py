"""The programme configuration (programme.toml) as frozen values.

A new setting is a field with a default on one of these dataclasses. programme.toml is checked
against them before it is read (``atlas.config_schema``): a field of ``SalinitySpec`` is a key of
``[salinity]``, of ``Deliverable`` a key of ``[deliverables.<key>]``; a ``Programme`` field whose
type is a dataclass (``operations: Operations``) is a whole section named after the field, and a
plain ``Programme`` field says where it lives with ``field(metadata={"toml": "section.key"})``.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import tomllib
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path

from atlas.config_schema import STATUS_FORMATS, section, validate_settings
from atlas.countries import resolve_country
from atlas.errors import ConfigError
from atlas.wording import noun

log = logging.getLogger(__name__)

CONFIG_NAME = "programme.toml"
CONFIG_ENV = "ATLAS_CONFIG"  # where the configuration is when the current folder has none
# the example programme shipped beside the package in a checkout (tests and docs read it; never looked up)
DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / CONFIG_NAME


@dataclass(frozen=True)
class Deliverable:
    key: str
    title: str
    product: str
    kind: str  # raster | vector | document | table
    deadline: dt.date | None
    # kind "table": its Frictionless Table Schema (a data package descriptor, JSON), a path relative to
    # programme.toml or the name of a schema shipped in atlas/tables/schemas (docs/TABLES.md)
    schema: str = ""


@dataclass(frozen=True)
class SalinitySpec:
    layers: tuple[str, ...]
    depths: tuple[str, ...]
    file_pattern: str
    class_layer: str
    continuous_nodata: float
    class_nodata: int
    units: dict[str, str]
    ranges: dict[str, tuple[float, float]]
    ece_warn_above: float
    classes: dict[int, str]
    ece_saline_dsm: float
    esp_sodic_pct: float
    # "{layer}_{depth}" keys a submission must hold to be accepted; every other layer is optional (SPEC §2)
    required_layers: tuple[str, ...] = ("ECe_0-30", "pH_0-30", "SAS_0-30")
    class_uncertainty_layer: str = "SAS_unc"
    # derived classes (atlas.products.salinity_classes): "FAO" (pH cut 8.2, alkaline type) or "USDA" (pH 8.5)
    criterion: str = "FAO"
    ph_cut: dict[str, float] = field(default_factory=lambda: {"FAO": 8.2, "USDA": 8.5})
    ece_intensity_dsm: dict[str, tuple[float, ...]] = field(
        default_factory=lambda: {"FAO": (0.75, 2.0, 4.0, 8.0, 15.0), "USDA": (2.0, 4.0, 8.0, 16.0)})
    esp_intensity_pct: tuple[float, ...] = (15.0, 30.0, 50.0, 70.0)
    # a later delivery without some layers keeps them from the last accepted version (the ledger says which)
    carry_over_layers: bool = True
    # a layer whose valid pixels cover less than this share of its country is held back ("hold": an error,
    # not published) or published with a warning ("warn")
    min_coverage_share: float = 0.5
    low_coverage: str = "hold"

    def file_name(self, iso3: str, layer: str, depth: str) -> str:
        return self.file_pattern.format(iso3=iso3, layer=layer, depth=depth)

    def layer_keys(self) -> list[tuple[str, str]]:
        """Every (layer, depth) pair a complete submission delivers."""
        return [(layer, depth) for depth in self.depths for layer in self.layers]

    def is_required(self, layer: str, depth: str) -> bool:
        return f"{layer}_{depth}" in self.required_layers

    def display(self, code: int) -> str:
        """The programme legend's class name for people ('Moderate salinity'); the code itself if unknown."""
        return display_name(self.classes[code]) if code in self.classes else str(code)

    def class_code(self, name: str) -> int | None:
        """The programme legend's code of a class name (case, spaces, hyphens and underscores ignored)."""
        key = class_key(name)
        return next((code for code, label in self.classes.items() if class_key(label) == key), None)


def display_name(label: str) -> str:
    """A legend class as people read it: 'ModerateSalinity' becomes 'Moderate salinity', 'Saline-sodic' stays."""
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", str(label)).split(" ")
    return " ".join([words[0], *(w.lower() if w[1:].islower() else w for w in words[1:])]).strip()


def class_key(name: str) -> str:
    """A class name reduced for matching: 'Saline-sodic', 'saline sodic' and 'SALINE_SODIC' are one name."""
    return "".join(ch for ch in str(name).lower() if ch.isalnum())


@dataclass(frozen=True)
class IntakeSettings:
    """``[intake]``: how the inbox is read."""

    # a delivery changed less than this many seconds ago is still being copied: scheduled runs leave it
    settle_seconds: float = 60.0


@dataclass(frozen=True)
class MetafileSpec:
    """What the programme asks of the metafile beside each GSSmap layer ([salinity.metafile])."""

    missing: str = "warning"  # severity of a layer without metafile: error, warning or info
    required_keys: tuple[str, ...] = ("Title", "Depth", "Units", "Projection", "Map Resolution", "Extent",
                                      "Summary statistics", "Map development")


def _metafile_spec(raw: dict) -> MetafileSpec:
    unknown = sorted(set(raw) - set(MetafileSpec.__dataclass_fields__))
    if unknown:
        raise ConfigError(f"[salinity.metafile] unknown {noun(len(unknown), 'setting')} {', '.join(unknown)}; "
                          f"known: {', '.join(MetafileSpec.__dataclass_fields__)}")
    spec = MetafileSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})
    if spec.missing not in ("error", "warning", "info"):
        raise ConfigError(f"[salinity.metafile] missing = {spec.missing!r}: choose error, warning or info")
    return spec


@dataclass(frozen=True)
class Operations:
    """``[operations]``: schedule of the ingestion, where Dask runs, retries (docs/OPERATIONS.md)."""

    ingest_interval_minutes: float = 60.0
    ingest_cron: str = ""
    ingest_paused: bool = False
    dask_scheduler: str = ""
    dask_workers: int = 2
    retries: int = 3
    retry_delay_seconds: float = 2.0


@dataclass(frozen=True)
class PortalSettings:
    """``[portal]``: the web portal where countries upload deliveries (docs/OPERATIONS.md, ``atlas portal``)."""

    max_file_bytes: int = 8 << 30  # one uploaded file; refused while streaming past this (limits.max_raster_bytes)
    max_delivery_files: int = 200  # files in one delivery
    max_delivery_bytes: int = 16 << 30  # all files of one delivery together
    chunk_bytes: int = 8 << 20  # the browser sends large files in pieces of this size (resumable)
    abandon_hours: float = 72.0  # a delivery staged but not sent for this long is removed
    session_hours: float = 12.0  # a login lasts this long
    login_failures: int = 5  # failed logins from one address within login_window_minutes before it is refused
    login_window_minutes: float = 15.0
    secure_cookie: bool = False  # true behind HTTPS: the session cookie is sent over HTTPS only
    language: str = "en"  # the pages' language: a catalogue in atlas/portal/locale/<language> (English shipped)
    smtp_host: str = ""  # empty: e-mails are written to data/processed/portal/outbox, not sent
    smtp_port: int = 25
    smtp_starttls: bool = False
    mail_from: str = "soil-atlas-portal@localhost"
    secretariat_emails: tuple[str, ...] = ()
    contacts: dict[str, tuple[str, ...]] = field(default_factory=dict)  # ISO3 = ["focal.point@example.org"]


@dataclass(frozen=True)
class ReleaseSettings:
    """``[releases]``: how many published releases of the regional products stay on disk (docs/PRODUCTS.md)."""

    keep: int = 5  # the current release and the newest earlier ones, up to this many in all (at least 1)


@dataclass(frozen=True)
class StatusSettings:
    """``[status]``: how the meeting exports list the member countries."""

    # ISO3 codes in the order the exports list them; members not listed follow by name. Empty: by name.
    country_order: tuple[str, ...] = ()
    # ISO3 = [lon, lat]: where a member too small for the map's outlines (an island state) is drawn as a dot
    map_points: dict[str, tuple[float, float]] = field(default_factory=dict)
    # the exports each run writes (csv, xlsx, md, html, png, svg); `atlas status export --format` writes any of them
    formats: tuple[str, ...] = STATUS_FORMATS


@dataclass(frozen=True)
class SubmissionSettings:
    """``[submission]``: where and how countries send their files, and whom they write to (the guide says it)."""

    # where the files go: a shared folder, a portal address or a postal address
    send_to: str = ""
    # how: one zip per deliverable, the subject line to use, what to write in the message
    how: str = ""
    # who answers the countries' questions at the secretariat
    contact_name: str = ""
    contact_email: str = ""


@dataclass(frozen=True)
class Limits:
    """``[limits]``: size limits for untrusted files (docs/INTAKE.md), each optional."""

    max_archive_members: int = 2000
    max_archive_bytes: int = 4 << 30
    max_compression_ratio: float = 200.0
    max_raster_pixels: int = 1_000_000_000
    max_raster_bands: int = 16
    max_raster_bytes: int = 8 << 30
    max_vector_file_bytes: int = 2 << 30
    max_vector_features: int = 2_000_000
    max_vector_vertices: int = 50_000_000
    max_vertices_per_feature: int = 1_000_000
    max_workbook_bytes: int = 256 << 20  # a table's workbook or CSV, uncompressed (all its XML parts)
    max_table_rows: int = 100_000  # rows of one sheet or CSV of a table deliverable

    @classmethod
    def from_programme(cls, programme) -> Limits:
        """The programme's limits; unknown keys are ignored (load_programme refuses them), missing ones default."""
        raw = (getattr(programme, "extra", None) or {}).get("limits", {}) if programme is not None else {}
        known = {f.name: f.type for f in fields(cls)}
        values = {}
        for key, value in raw.items():
            if key in known:
                values[key] = float(value) if known[key] == "float" else int(value)
            else:
                log.warning("programme.toml [limits]: unknown key %r ignored", key)
        return cls(**values)


@dataclass(frozen=True)
class Programme:
    name: str
    root: Path
    raw_dir: Path
    processed_dir: Path
    reference_boundaries: Path
    ledger_path: Path
    iso_columns: tuple[str, ...]
    name_columns: tuple[str, ...]
    crs: str
    resolution_deg: float
    alignment_tolerance_px: float
    region_bounds: tuple[float, float, float, float]
    equal_area_crs: str
    members: dict[str, str]
    deliverables: dict[str, Deliverable]
    salinity: SalinitySpec
    soil_required_fields: tuple[str, ...]
    soil_optional_fields: tuple[str, ...]
    sliver_max_km2: float
    gap_fill_max_width_km: float
    extra: dict = field(default_factory=dict, compare=False)
    short_name: str = field(default="", metadata={"toml": "programme.short_name"})
    soil_formats: tuple[str, ...] = field(default=(), metadata={"toml": "soil_map.formats"})
    operations: Operations = field(default_factory=Operations)
    limits: Limits = field(default_factory=Limits)
    status: StatusSettings = field(default_factory=StatusSettings)
    portal: PortalSettings = field(default_factory=PortalSettings)
    submission: SubmissionSettings = field(default_factory=SubmissionSettings)
    intake: IntakeSettings = field(default_factory=IntakeSettings)
    releases: ReleaseSettings = field(default_factory=ReleaseSettings)
    metafile: MetafileSpec = field(default_factory=MetafileSpec, metadata={"toml": "salinity.metafile"})
    soil_legacy: str = field(default="correlate", metadata={"toml": "soil_map.legacy"})  # correlate | provisional
    overlap_rule: str = field(default="longest_boundary", metadata={"toml": "harmonize.overlap_rule"})  # RULES

    def table_keys(self) -> tuple[str, ...]:
        """The deliverables of kind ``table`` (the inbox sorts their files by these keys)."""
        return tuple(k for k, d in self.deliverables.items() if d.kind == "table")

    def with_root(self, root: Path) -> Programme:
        """The same programme with its data folders moved under another root."""
        root = Path(root)
        return replace(
            self,
            root=root,
            raw_dir=root / "data" / "raw",
            processed_dir=root / "data" / "processed",
            reference_boundaries=root / "data" / "reference" / "boundaries.gpkg",
            ledger_path=root / "data" / "processed" / "ledger.sqlite",
        )


SOIL_LEGACY_MODES = ("correlate", "provisional")
OVERLAP_RULES = ("longest_boundary", "smaller_unit", "first_feature")  # atlas.borders.overlaps.RULES


def _choice(table: dict, key: str, default: str, allowed: tuple[str, ...], path) -> str:
    """A setting that takes one of a few names; a mistyped one is refused, never ignored."""
    value = table.get(key, default)
    if value not in allowed:
        raise ConfigError(f"{path}: {key} = {value!r} is not one of {', '.join(allowed)}")
    return value


def resolve_selection(programme: Programme, country: str | None,
                      deliverable: str | None) -> tuple[str | None, str | None]:
    """The member's ISO3 code (from its code or name) and the deliverable key; a near miss is refused with a
    suggestion (``atlas.countries``). Empty text selects everything (None)."""
    import difflib

    country = (country or "").strip() or None
    deliverable = (deliverable or "").strip() or None
    iso3 = resolve_country(programme.members, country) if country is not None else None
    if deliverable is not None and deliverable not in programme.deliverables:
        near = difflib.get_close_matches(deliverable, list(programme.deliverables), n=1)
        hint = f"did you mean {near[0]}? " if near else ""
        raise ConfigError(f"deliverable {deliverable!r} is not in the programme: {hint}deliverables are "
                          f"{', '.join(programme.deliverables)}")
    return iso3, deliverable


def check_selection(programme: Programme, country: str | None, deliverable: str | None) -> None:
    """Refuse a country or deliverable the programme does not have, naming the nearest one."""
    resolve_selection(programme, country, deliverable)


KINDS = ("raster", "vector", "document", "table")
SHIPPED_SCHEMAS = Path(__file__).resolve().parent / "tables" / "schemas"


def schema_file(root: Path, value: str) -> Path:
    """Where a table deliverable's schema lives: relative to programme.toml, else shipped with the package."""
    own = Path(root) / value
    return own if own.is_file() or not (SHIPPED_SCHEMAS / value).is_file() else SHIPPED_SCHEMAS / value


def _deliverable(key: str, d: dict, root: Path, path: Path) -> Deliverable:
    """One [deliverables.<key>] table; an unknown kind or a table without its schema file is refused."""
    kind = d["kind"]
    if kind not in KINDS:
        raise ConfigError(f"{path}: [deliverables.{key}] kind = {kind!r} is not one of {', '.join(KINDS)}")
    schema = str(d.get("schema", ""))
    if kind == "table" and not schema:
        raise ConfigError(f"{path}: [deliverables.{key}] is a table: give its schema (a Table Schema JSON file)")
    if schema and not schema_file(root, schema).is_file():
        raise ConfigError(f"{path}: [deliverables.{key}] schema {schema!r} not found beside programme.toml nor in "
                          f"the shipped schemas ({', '.join(sorted(p.name for p in SHIPPED_SCHEMAS.glob('*.json')))})")
    return Deliverable(key, d["title"], d["product"], kind, _date(d.get("deadline")), schema)


def _date(value) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise ConfigError(f"deadline {value!r} is not an ISO date (YYYY-MM-DD)") from exc


def _partial_delivery_settings(sal: dict, path: Path) -> dict:
    """carry_over_layers, min_coverage_share and low_coverage of [salinity], checked."""
    defaults = {f.name: f.default for f in fields(SalinitySpec) if f.default is not MISSING}
    out = {key: sal.get(key, defaults[key]) for key in ("carry_over_layers", "min_coverage_share", "low_coverage")}
    if out["low_coverage"] not in ("hold", "warn"):
        raise ConfigError(f"{path}: [salinity] low_coverage = {out['low_coverage']!r}; use \"hold\" (not "
                          "published) or \"warn\" (published with a warning)")
    if isinstance(out["min_coverage_share"], bool) or not 0.0 <= float(out["min_coverage_share"]) <= 1.0:
        raise ConfigError(f"{path}: [salinity] min_coverage_share must be a share between 0 and 1")
    if not isinstance(out["carry_over_layers"], bool):
        raise ConfigError(f"{path}: [salinity] carry_over_layers must be true or false")
    out["min_coverage_share"] = float(out["min_coverage_share"])
    return out


def _salinity_options(sal: dict, path: Path) -> dict:
    """The optional [salinity] settings of issue 12 (layer set, derived-class criterion), checked."""
    out: dict = {}
    layers, depths = list(sal["layers"]), list(sal["depths"])
    if "required_layers" in sal:
        keys = [f"{layer}_{depth}" for depth in depths for layer in layers]
        bad = [k for k in sal["required_layers"] if k not in keys]
        if bad:
            raise ConfigError(f"{path}: [salinity] required_layers {bad} are not layer_depth keys of "
                              f"layers x depths (e.g. {keys[0]!r})")
        out["required_layers"] = tuple(sal["required_layers"])
    if "class_uncertainty_layer" in sal:
        out["class_uncertainty_layer"] = str(sal["class_uncertainty_layer"])
    th = sal.get("thresholds", {})
    criterion = str(th.get("criterion", "FAO"))
    if criterion not in ("FAO", "USDA"):
        raise ConfigError(f"{path}: [salinity.thresholds] criterion {criterion!r} must be 'FAO' or 'USDA'")
    out["criterion"] = criterion
    if "ph_cut_fao" in th or "ph_cut_usda" in th:
        out["ph_cut"] = {"FAO": float(th.get("ph_cut_fao", 8.2)), "USDA": float(th.get("ph_cut_usda", 8.5))}
    if "ece_intensity_fao_dsm" in th or "ece_intensity_usda_dsm" in th:
        out["ece_intensity_dsm"] = {
            "FAO": tuple(float(v) for v in th.get("ece_intensity_fao_dsm", (0.75, 2.0, 4.0, 8.0, 15.0))),
            "USDA": tuple(float(v) for v in th.get("ece_intensity_usda_dsm", (2.0, 4.0, 8.0, 16.0)))}
    if "esp_intensity_pct" in th:
        out["esp_intensity_pct"] = tuple(float(v) for v in th["esp_intensity_pct"])
    return out

def _releases(table: dict) -> ReleaseSettings:
    """``[releases]`` with its defaults; keep must be 1 or more (the current release is always kept)."""
    settings = section(ReleaseSettings, table)
    if settings.keep < 1:
        raise ConfigError(f"[releases] keep = {settings.keep}: expected 1 or more (the current release is kept)")
    return settings


# [portal] numbers and the least each may be: a 0 or negative value would refuse every upload, end sessions at
# once, or remove a delivery a country is still uploading (abandon_hours)
PORTAL_MINIMA = {"max_file_bytes": 1, "max_delivery_files": 1, "max_delivery_bytes": 1, "chunk_bytes": 64 << 10,
                 "abandon_hours": 1, "session_hours": 0.1, "login_failures": 1, "login_window_minutes": 1,
                 "smtp_port": 1}


def _portal(table: dict) -> PortalSettings:
    """``[portal]`` with its defaults; a mistyped key (by the schema) or a value below its least is refused."""
    settings = section(PortalSettings, table)
    for key, least in PORTAL_MINIMA.items():
        value = getattr(settings, key)
        if value < least:
            raise ConfigError(f"[portal] {key} = {value!r}: expected {least} or more")
    return settings


def _intake(table: dict) -> IntakeSettings:
    """``[intake]`` with its defaults; an unknown key or a wrong value is refused, never ignored."""
    unknown = sorted(set(table) - {"settle_seconds"})
    if unknown:
        raise ConfigError(f"[intake]: unknown {noun(len(unknown), 'setting')} {', '.join(unknown)}; "
                          "known: settle_seconds")
    settle = table.get("settle_seconds", IntakeSettings.settle_seconds)
    if isinstance(settle, bool) or not isinstance(settle, int | float) or settle < 0:
        raise ConfigError(f"[intake] settle_seconds = {settle!r}: expected a number of seconds, 0 or more")
    return IntakeSettings(settle_seconds=float(settle))


def find_config(path: Path | str | None = None) -> Path:
    """The configuration to read: ``path`` if given, else ./programme.toml, else ``$ATLAS_CONFIG``.

    Never a file inside the installed package: an installed ``atlas`` run in a folder holding
    programme.toml reads that file, as a person expects. The error names both places looked at.
    """
    if path:
        return Path(path)
    here = Path.cwd() / CONFIG_NAME
    if here.is_file():
        return here
    env = os.environ.get(CONFIG_ENV, "").strip()
    if env:
        if not Path(env).is_file():
            raise ConfigError(f"configuration file not found: {CONFIG_ENV}={env} names no file, and the current "
                              f"folder ({Path.cwd()}) has no {CONFIG_NAME}")
        return Path(env)
    raise ConfigError(f"no configuration: the current folder ({Path.cwd()}) has no {CONFIG_NAME} and {CONFIG_ENV} "
                      "is not set; run in the programme's folder, set ATLAS_CONFIG, or give --config FILE")


def load_programme(path: Path | str | None = None) -> Programme:
    """Read programme.toml (``find_config`` says which); relative paths resolve against the file's folder."""
    path = find_config(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"configuration file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    validate_settings(raw, Programme, path)  # the schema is built from these dataclasses
    root = path.resolve().parent
    try:
        paths = raw["paths"]
        sal = raw["salinity"]
        grid = raw["grid"]
        deliverables = {key: _deliverable(key, d, root, path) for key, d in raw["deliverables"].items()}
        salinity = SalinitySpec(
            layers=tuple(sal["layers"]),
            depths=tuple(sal["depths"]),
            file_pattern=sal["file_pattern"],
            class_layer=sal["class_layer"],
            continuous_nodata=float(sal["continuous_nodata"]),
            class_nodata=int(sal["class_nodata"]),
            units=dict(sal["units"]),
            ranges={k: tuple(v) for k, v in sal["ranges"].items() if isinstance(v, list)},
            ece_warn_above=float(sal["ranges"].get("ECe_warn_above", 100.0)),
            classes={int(k): v for k, v in sal["classes"].items()},
            ece_saline_dsm=float(sal["thresholds"]["ece_saline_dsm"]),
            esp_sodic_pct=float(sal["thresholds"]["esp_sodic_pct"]),
            **_salinity_options(sal, path),
            **_partial_delivery_settings(sal, path),
        )
        return Programme(
            name=raw["programme"]["name"],
            root=root,
            raw_dir=root / paths["raw"],
            processed_dir=root / paths["processed"],
            reference_boundaries=root / paths["reference_boundaries"],
            ledger_path=root / paths["ledger"],
            iso_columns=tuple(raw["reference"]["iso_columns"]),
            name_columns=tuple(raw["reference"]["name_columns"]),
            crs=grid["crs"],
            resolution_deg=float(grid["resolution_deg"]),
            alignment_tolerance_px=float(grid["alignment_tolerance_px"]),
            region_bounds=tuple(float(v) for v in raw["region"]["bounds"]),
            equal_area_crs=raw["region"]["equal_area_crs"],
            members=dict(raw["members"]),
            deliverables=deliverables,
            salinity=salinity,
            soil_required_fields=tuple(raw["soil_map"]["required_fields"]),
            soil_optional_fields=tuple(raw["soil_map"]["optional_fields"]),
            sliver_max_km2=float(raw["harmonize"]["sliver_max_km2"]),
            gap_fill_max_width_km=float(raw["harmonize"]["gap_fill_max_width_km"]),
            extra=raw,
            short_name=str(raw["programme"].get("short_name", "")),
            soil_formats=tuple(raw["soil_map"].get("formats", ())),
            operations=section(Operations, raw.get("operations", {})),
            limits=section(Limits, raw.get("limits", {})),
            status=section(StatusSettings, raw.get("status", {})),
            portal=_portal(raw.get("portal", {})),
            submission=section(SubmissionSettings, raw.get("submission", {})),
            intake=_intake(raw.get("intake", {})),
            releases=_releases(raw.get("releases", {})),
            metafile=_metafile_spec(sal.get("metafile", {})),
            soil_legacy=_choice(raw["soil_map"], "legacy", "correlate", SOIL_LEGACY_MODES, path),
            overlap_rule=_choice(raw["harmonize"], "overlap_rule", "longest_boundary", OVERLAP_RULES, path),
        )
    except KeyError as exc:
        raise ConfigError(f"{path}: missing setting {exc}") from exc
