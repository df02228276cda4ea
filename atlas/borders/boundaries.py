"""The reference boundary layer: iso3, name, geometry in EPSG:4326, made valid, ISO codes resolved.

Real boundary layers carry defects (Natural Earth: ISO_A3 "-99" for France, Norway, N. Cyprus;
non-standard ADM0_A3 codes such as CYN or KOS; an invalid Sudan polygon). They are repaired
here, once, and every repair is a Finding.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from atlas.finding import Finding, Location, Severity
from checks.vector import polygonal_part  # noqa: F401 - used here and imported from here by other stages

log = logging.getLogger(__name__)

DEFAULT_ISO_COLUMNS = ("iso_a3", "ISO_A3", "ADM0_A3", "ISO_A3_EH", "adm0_a3")
DEFAULT_NAME_COLUMNS = ("name", "NAME", "ADMIN")
_ISO3 = re.compile(r"^[A-Z]{3}$")
_POINT = re.compile(r"\[\s*(-?[\d.eE+-]+)\s+(-?[\d.eE+-]+)")


def _source(programme_or_path, iso_columns, name_columns) -> tuple[Path, tuple[str, ...], tuple[str, ...]]:
    """Path and column preferences from a Programme or a plain path."""
    if isinstance(programme_or_path, (str, Path)):
        return Path(programme_or_path), tuple(iso_columns or DEFAULT_ISO_COLUMNS), tuple(
            name_columns or DEFAULT_NAME_COLUMNS
        )
    prog = programme_or_path
    return (
        Path(prog.reference_boundaries),
        tuple(iso_columns or prog.iso_columns),
        tuple(name_columns or prog.name_columns),
    )


def _read(path: Path) -> gpd.GeoDataFrame:
    """Layer "countries" where the file has it, else the first layer."""
    layers = [name for name, _ in pyogrio.list_layers(path)] if path.suffix.lower() == ".gpkg" else []
    layer = "countries" if "countries" in layers else None
    return gpd.read_file(path, layer=layer)


def resolve_iso3(frame: pd.DataFrame, iso_columns: tuple[str, ...]) -> pd.Series:
    """First value among iso_columns that is a 3-letter upper-case code other than -99; NA where none."""
    out = pd.Series(pd.NA, index=frame.index, dtype="object")
    for col in iso_columns:
        if col not in frame.columns:
            continue
        values = frame[col].astype("string").str.strip()
        usable = values.str.fullmatch(_ISO3.pattern).fillna(False).astype(bool) & out.isna()
        out[usable] = values[usable]
    return out


def _derived_codes(names: pd.Series, taken: set[str]) -> list[str]:
    """User-assigned ISO 3166 codes (X + two letters of the name) that collide with no real code."""
    codes = []
    for name in names.astype(str):
        letters = re.sub(r"[^A-Z]", "", name.upper()) or "ZZ"
        candidates = [f"X{letters[:2]:Z<2}"] + [f"X{a}{b}" for a in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" for b in
                                                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ"]
        code = next(c for c in candidates if c not in taken)
        taken.add(code)
        codes.append(code)
    return codes


def load_boundaries(
    programme_or_path,
    iso_columns: tuple[str, ...] | None = None,
    name_columns: tuple[str, ...] | None = None,
) -> tuple[gpd.GeoDataFrame, list[Finding]]:
    """Read the reference boundary layer as iso3, name, geometry (EPSG:4326), repaired, with findings."""
    path, iso_columns, name_columns = _source(programme_or_path, iso_columns, name_columns)
    # The programme's own layer (data/reference/boundaries.gpkg) is already normalised to iso3/name.
    iso_columns = ("iso3", *(c for c in iso_columns if c != "iso3"))
    name_columns = ("name", *(c for c in name_columns if c != "name"))
    raw = _read(path)
    findings: list[Finding] = []
    if raw.crs is None:
        findings.append(Finding("boundaries.crs_assumed", Severity.FIXED, f"{path.name} declares no CRS; read as "
                                "EPSG:4326 (GeoJSON default)", Location(file=str(path)), hint="declare the CRS"))
        raw = raw.set_crs("EPSG:4326")
    elif not raw.crs.equals("EPSG:4326"):
        findings.append(Finding("boundaries.reprojected", Severity.FIXED, f"reprojected from {raw.crs.to_string()} "
                                "to EPSG:4326", Location(file=str(path))))
        raw = raw.to_crs("EPSG:4326")

    name_col = next((c for c in name_columns if c in raw.columns), None)
    names = raw[name_col].astype(str) if name_col else pd.Series([f"row {i}" for i in range(len(raw))], index=raw.index)
    iso3 = resolve_iso3(raw, iso_columns)

    # Choice: a country with no usable code is KEPT under a derived user-assigned code (XAA-XZZ is reserved by
    # ISO 3166 for user assignment, so it can never shadow a real country); dropping it would open a hole in the
    # map and break the adjacency of its neighbours.
    missing = iso3.isna()
    if missing.any():
        derived = _derived_codes(names[missing], set(iso3.dropna()))
        iso3[missing] = derived
        for idx, code in zip(raw.index[missing], derived, strict=True):
            pt = raw.geometry[idx].representative_point() if raw.geometry[idx] is not None else None
            found = {c: raw.at[idx, c] for c in iso_columns if c in raw.columns}
            findings.append(Finding(
                "boundaries.iso_missing", Severity.WARNING,
                f"{names[idx]}: no usable ISO 3166 alpha-3 code in {list(found) or list(iso_columns)}; "
                f"kept under the derived user-assigned code {code}",
                Location(file=str(path), feature=str(names[idx]), lon=pt.x if pt else None, lat=pt.y if pt else None),
                observed=found, expected="a 3-letter code other than -99",
                hint="fill ISO_A3 (or ADM0_A3) for this feature in the reference layer",
            ))

    geoms = raw.geometry.values.to_numpy() if hasattr(raw.geometry.values, "to_numpy") else np.asarray(raw.geometry)
    invalid = ~shapely.is_valid(geoms) & ~shapely.is_missing(geoms)
    if invalid.any():
        reasons = shapely.is_valid_reason(geoms[invalid])
        repaired = polygonal_part(shapely.make_valid(geoms[invalid]))
        area_before = gpd.GeoSeries(geoms[invalid], crs="EPSG:4326").to_crs("ESRI:54034").area.to_numpy()
        area_after = gpd.GeoSeries(repaired, crs="EPSG:4326").to_crs("ESRI:54034").area.to_numpy()
        for k, (idx, reason) in enumerate(zip(raw.index[invalid], reasons, strict=True)):
            m = _POINT.search(reason or "")
            lon, lat = (float(m.group(1)), float(m.group(2))) if m else (None, None)
            findings.append(Finding(
                "boundaries.geometry_repaired", Severity.FIXED,
                f"{names[idx]} ({iso3[idx]}): invalid polygon ({reason}) repaired with make_valid",
                Location(file=str(path), feature=str(names[idx]), lon=lon, lat=lat),
                observed={"reason": reason, "area_km2_before": round(area_before[k] / 1e6, 3)},
                expected={"area_km2_after": round(area_after[k] / 1e6, 3)},
                hint="repair the polygon in the reference layer",
            ))
        geoms = geoms.copy()
        geoms[invalid] = repaired

    out = gpd.GeoDataFrame({"iso3": iso3.astype(str).to_numpy(), "name": names.to_numpy()}, geometry=geoms,
                           crs="EPSG:4326")
    out = out[~shapely.is_empty(out.geometry.values) & ~out.geometry.isna()]
    dup = out["iso3"].duplicated(keep=False)
    if dup.any():
        # Several rows under one code (e.g. derived or split features): one territory per code.
        for code in sorted(out.loc[dup, "iso3"].unique()):
            findings.append(Finding("boundaries.duplicate_iso", Severity.FIXED, f"{code}: several features merged "
                                    "into one territory", Location(file=str(path), feature=code)))
        out = out.dissolve(by="iso3", aggfunc="first", as_index=False)[["iso3", "name", "geometry"]]
    log.info("reference boundaries %s: %d territories, %d findings", path.name, len(out), len(findings))
    return out.reset_index(drop=True), findings
