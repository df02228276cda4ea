"""The programme configuration (programme.toml) as frozen values."""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import MISSING, dataclass, field, fields, replace
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
    # layers ("ECe_0-30") a submission must hold to be accepted (SPEC §2 default); the others are optional
    required_layers: tuple[str, ...] = ("ECe_0-30", "pH_0-30", "SAS_0-30")
    # a later delivery without some layers keeps them from the last accepted version (the ledger says which)
    carry_over_layers: bool = True
    # a layer whose valid pixels cover less than this share of its country is held back ("hold": an error,
    # not published) or published with a warning ("warn")
    min_coverage_share: float = 0.5
    low_coverage: str = "hold"

    def file_name(self, iso3: str, layer: str, depth: str) -> str:
        return self.file_pattern.format(iso3=iso3, layer=layer, depth=depth)

    def layer_aliases(self) -> dict[str, str]:
        """Other names of layers: ``X_sd`` for the uncertainty layer ``X_unc`` (SPEC §2)."""
        return {f"{layer[:-4]}_sd": layer for layer in self.layers if layer.endswith("_unc")}

    def layer_key_names(self) -> list[str]:
        """Every layer of a complete submission as "layer_depth" ("ECe_0-30"), depth by depth."""
        return [f"{layer}_{depth}" for layer, depth in self.layer_keys()]

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
    """required_layers, carry_over_layers, min_coverage_share and low_coverage of [salinity], checked."""
    defaults = {f.name: f.default for f in fields(SalinitySpec) if f.default is not MISSING}
    out = {key: sal.get(key, defaults[key]) for key in
           ("required_layers", "carry_over_layers", "min_coverage_share", "low_coverage")}
    out["required_layers"] = tuple(out["required_layers"])
    known = {f"{layer}_{depth}" for layer in sal["layers"] for depth in sal["depths"]}
    unknown = [key for key in out["required_layers"] if key not in known]
    if unknown:
        raise ConfigError(f"{path}: [salinity] required_layers names {unknown}, not layers of the programme "
                          f"(layer_depth, e.g. \"ECe_0-30\"; layers {sal['layers']}, depths {sal['depths']})")
    if out["low_coverage"] not in ("hold", "warn"):
        raise ConfigError(f"{path}: [salinity] low_coverage = {out['low_coverage']!r}; use \"hold\" (not "
                          "published) or \"warn\" (published with a warning)")
    if not 0.0 <= float(out["min_coverage_share"]) <= 1.0:
        raise ConfigError(f"{path}: [salinity] min_coverage_share must be a share between 0 and 1")
    if not isinstance(out["carry_over_layers"], bool):
        raise ConfigError(f"{path}: [salinity] carry_over_layers must be true or false")
    out["min_coverage_share"] = float(out["min_coverage_share"])
    return out


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
        )
    except KeyError as exc:
        raise ConfigError(f"{path}: missing setting {exc}") from exc
