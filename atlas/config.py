"""The programme configuration (programme.toml) as frozen values."""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from atlas.errors import ConfigError

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "programme.toml"


@dataclass(frozen=True)
class Deliverable:
    key: str
    title: str
    product: str
    kind: str  # raster | vector | document
    deadline: dt.date | None


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

    def file_name(self, iso3: str, layer: str, depth: str) -> str:
        return self.file_pattern.format(iso3=iso3, layer=layer, depth=depth)

    def layer_keys(self) -> list[tuple[str, str]]:
        """Every (layer, depth) pair a complete submission delivers."""
        return [(layer, depth) for depth in self.depths for layer in self.layers]


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
    soil_legacy: str = "correlate"  # [soil_map] legacy: correlate | provisional (SPEC §3, docs/HARMONIZATION.md)
    overlap_rule: str = "longest_boundary"  # [harmonize] overlap_rule: see atlas.borders.overlaps.RULES

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


def _date(value) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise ConfigError(f"deadline {value!r} is not an ISO date (YYYY-MM-DD)") from exc


def load_programme(path: Path | str | None = None) -> Programme:
    """Read programme.toml; relative paths resolve against the file's folder."""
    path = Path(path) if path else DEFAULT_CONFIG
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"configuration file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    root = path.resolve().parent
    try:
        paths = raw["paths"]
        sal = raw["salinity"]
        grid = raw["grid"]
        deliverables = {
            key: Deliverable(key, d["title"], d["product"], d["kind"], _date(d.get("deadline")))
            for key, d in raw["deliverables"].items()
        }
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
            soil_legacy=_choice(raw["soil_map"], "legacy", "correlate", SOIL_LEGACY_MODES, path),
            overlap_rule=_choice(raw["harmonize"], "overlap_rule", "longest_boundary", OVERLAP_RULES, path),
        )
    except KeyError as exc:
        raise ConfigError(f"{path}: missing setting {exc}") from exc
