"""Checks on the metafile beside each GSSmap layer: present, complete, true to its raster, and private data withheld.

A metafile is found per layer by name: the raster's own name with ``.txt`` (``PAK_GSSmap_ECe_0-30.txt``), or with
``_metafile``/``_metadata``/``_meta`` added (``ECtop0_30cm_metafile.txt``). Its statements (projection,
resolution, extent, summary statistics, units) are compared with what the raster itself says; accuracy statistics
are recorded; personal contact details are reported as withheld and never copied anywhere public.
"""

from __future__ import annotations

import math
import re
from functools import cache
from pathlib import Path

from pyproj import CRS
from rasterio.warp import transform_bounds

from atlas.finding import Location, Severity
from checks.metafile_text import (
    Metafile,
    accuracy_statistics,
    looks_like_metafile,
    personal_data,
    read_metafile,
    statements,
)
from checks.naming import parse_salinity_name
from checks.registry import Hit, check

PRODUCTS = ("salinity_map",)
SUFFIXES = ("", "_metafile", "_metadata", "_meta", "-metafile", "-metadata", "-meta", " metafile", " metadata")
KM_PER_DEGREE = 111.32  # along a meridian; good enough to tell 30 m from 1 km
STAT_TOLERANCE = 0.01  # share of the value range a stated statistic may differ by (rounding in the metafile)


def metafile_path(raster: Path) -> Path | None:
    """The metafile beside ``raster``: same name with .txt, or with a metafile suffix; None if there is none."""
    stem = raster.name[: -len(raster.suffix)] if raster.suffix else raster.name
    by_name = {p.name.lower(): p for p in raster.parent.iterdir() if p.is_file() and not p.is_symlink()}
    for suffix in SUFFIXES:
        if found := by_name.get(f"{stem}{suffix}.txt".lower()):
            return found
    return None


@cache
def _read(path: Path, mtime_ns: int) -> tuple[Metafile | None, str | None]:
    """One read per file and version of it, shared by every check (the checks run one after another)."""
    try:
        return read_metafile(path), None
    except (OSError, ValueError) as exc:
        return None, str(exc)


def _metafile(ctx) -> tuple[Path | None, Metafile | None, str | None]:
    if "metafile" not in ctx.extra:
        path = metafile_path(ctx.path)
        meta, error = _read(path, path.stat().st_mtime_ns) if path else (None, None)
        ctx.extra["metafile"] = (path, meta, error)
    return ctx.extra["metafile"]


def _layer_known(ctx) -> bool:
    return ctx.ds is not None and ctx.layer is not None


def _usable(ctx) -> Metafile | None:
    if not _layer_known(ctx):
        return None
    _, meta, _ = _metafile(ctx)
    return meta


def _loc(ctx, path: Path) -> Location:
    """The metafile, named with the layer it describes."""
    return Location(file=path.name, layer=ctx.loc().layer)


def _settings(ctx):
    return ctx.programme.metafile


@check("metafile.missing", Severity.WARNING, "submission", PRODUCTS,
       "Layers delivered without a metafile. The GSP's manual asks for one per map: title, depth, units, "
       "projection, resolution, extent, summary statistics, method and accuracy.",
       "add a plain-text file named like the map with .txt (e.g. {ISO3}_GSSmap_ECe_0-30.txt) holding one 'key  value' "
       "line per item, as in the manual's example metafile")
def check_missing(ctx):
    spec = ctx.programme.salinity
    layers = [p for p in ctx.files if p.suffix.lower() in (".tif", ".tiff") and parse_salinity_name(p.name, spec)]
    without = [p.name for p in layers if metafile_path(p) is None]
    if without:
        yield Hit(f"{len(without)} of {len(layers)} layers have no metafile: {', '.join(without)}",
                  Location(file=without[0]), observed=without, severity=Severity(ctx.programme.metafile.missing))


@check("metafile.unreadable", Severity.WARNING, "raster", PRODUCTS,
       "The metafile could not be read as plain text.",
       "save the metafile as plain text (.txt, UTF-8 or Windows encoding), one 'key  value' line per item")
def check_unreadable(ctx):
    if not _layer_known(ctx):
        return
    path, meta, error = _metafile(ctx)
    if path is not None and meta is None:
        yield Hit(f"{path.name}: {error}", _loc(ctx, path), observed=error)
    elif meta is not None and not looks_like_metafile("\n".join(f"{k}  {v}" for k, v in meta.entries.items())):
        yield Hit(f"{path.name} holds fewer than three of the manual's keys (Title, Depth, Units, Projection, ...)",
                  _loc(ctx, path), observed=sorted(meta.entries)[:10])


@check("metafile.keys_missing", Severity.WARNING, "raster", PRODUCTS,
       "The metafile lacks items the programme requires.",
       "add the missing items, one 'key  value' line each; values may run on over indented lines")
def check_keys(ctx):
    if (meta := _usable(ctx)) is None:
        return
    missing = [k for k in _settings(ctx).required_keys if not (meta.get(k) or "").strip()
               and not (k == "Extent" and (meta.get("Map extent") or "").strip())]
    if missing:
        yield Hit(f"{meta.path.name} has no value for {', '.join(missing)}", _loc(ctx, meta.path),
                  observed=missing, expected=list(_settings(ctx).required_keys))


@check("metafile.projection_mismatch", Severity.WARNING, "raster", PRODUCTS,
       "The projection the metafile states is not the raster's own.",
       "correct the Projection line of the metafile (e.g. 'WGS 84 (EPSG: 4326)') or the raster's CRS")
def check_projection(ctx):
    if (meta := _usable(ctx)) is None or ctx.ds.crs is None:
        return
    stated = statements(meta).epsg
    if stated is None:
        return
    actual = ctx.ds.crs.to_epsg(confidence_threshold=70)
    if actual is not None and actual != stated:
        yield Hit(f"{meta.path.name} says EPSG:{stated}, the raster is EPSG:{actual}",
                  _loc(ctx, meta.path), observed=f"EPSG:{stated}", expected=f"EPSG:{actual}")


def _pixel_km(ctx) -> float | None:
    """The raster's pixel height in km (on the ground, for geographic CRSs along a meridian)."""
    crs = ctx.ds.crs
    if crs is None:
        return None
    size = abs(ctx.ds.transform.e)
    if crs.is_geographic:
        return size * KM_PER_DEGREE
    unit = CRS.from_user_input(crs.to_wkt()).axis_info[0].unit_conversion_factor if crs.is_projected else 1.0
    return size * unit / 1000


@check("metafile.resolution_mismatch", Severity.WARNING, "raster", PRODUCTS,
       "The resolution the metafile states is not the raster's pixel size (more than 10 % apart).",
       "state the resolution of the file delivered (e.g. '1 km (0.008333 degrees)'), not that of an earlier map")
def check_resolution(ctx):
    if (meta := _usable(ctx)) is None or (actual_km := _pixel_km(ctx)) is None:
        return
    stated = statements(meta).resolution
    if stated is None:
        return
    value, unit = stated
    stated_km = value * KM_PER_DEGREE if unit == "deg" else value / 1000 if unit == "m" else value
    if stated_km > 0 and not 0.9 <= actual_km / stated_km <= 1.1:
        yield Hit(f"{meta.path.name} says {_km_text(stated_km)}, the raster's pixels are {_km_text(actual_km)}",
                  _loc(ctx, meta.path), observed=_km_text(stated_km), expected=_km_text(actual_km))


def _km_text(km: float) -> str:
    return f"{km * 1000:.0f} m" if km < 1 else f"{km:.2f} km"


@check("metafile.extent_mismatch", Severity.WARNING, "raster", PRODUCTS,
       "The extent or size the metafile states is not the raster's.",
       "copy the extent (west,south / east,north) and width and height of the delivered file into the metafile")
def check_extent(ctx):
    if (meta := _usable(ctx)) is None or ctx.ds.crs is None:
        return
    said = statements(meta)
    if said.size is not None and said.size != (ctx.ds.width, ctx.ds.height):
        yield Hit(f"{meta.path.name} says {said.size[0]} × {said.size[1]} pixels, the raster has "
                  f"{ctx.ds.width} × {ctx.ds.height}", _loc(ctx, meta.path),
                  observed=list(said.size), expected=[ctx.ds.width, ctx.ds.height])
    if said.extent is None:
        return
    west, south, east, north = transform_bounds(ctx.ds.crs, "EPSG:4326", *ctx.ds.bounds, densify_pts=21)
    stated = said.extent
    tolerance = max(0.01, 2 * (_pixel_km(ctx) or 0) / KM_PER_DEGREE)  # degrees
    if max(abs(a - b) for a, b in zip(stated, (west, south, east, north), strict=True)) > tolerance:
        yield Hit(f"{meta.path.name} says {_box(stated)}, the raster covers {_box((west, south, east, north))}",
                  _loc(ctx, meta.path), observed=[round(v, 4) for v in stated],
                  expected=[round(v, 4) for v in (west, south, east, north)])


def _box(b) -> str:
    return f"{b[0]:.3f}..{b[2]:.3f}°E, {b[1]:.3f}..{b[3]:.3f}°N"


@check("metafile.statistics_mismatch", Severity.WARNING, "raster", PRODUCTS,
       "The summary statistics the metafile states (maximum, minimum, mean) are not those of the raster's pixels.",
       "compute the statistics on the delivered file (e.g. gdalinfo -stats) and copy them into the metafile")
def check_statistics(ctx):
    if (meta := _usable(ctx)) is None or ctx.stats is None or not ctx.stats.n_valid:
        return
    stated = statements(meta).stats
    actual = {"max": ctx.stats.vmax, "min": ctx.stats.vmin, "mean": ctx.stats.mean}
    spread = max(ctx.stats.vmax - ctx.stats.vmin, abs(ctx.stats.vmax), 1e-9)
    off = {k: (stated[k], actual[k]) for k in actual if k in stated and actual[k] is not None
           and abs(stated[k] - actual[k]) > STAT_TOLERANCE * spread}
    if off:
        text = ", ".join(f"{k} {s:g} stated, {_round(a)} in the pixels" for k, (s, a) in off.items())
        yield Hit(f"{meta.path.name}: {text}", _loc(ctx, meta.path),
                  observed={k: s for k, (s, _) in off.items()}, expected={k: _round(a) for k, (_, a) in off.items()})


def _round(value: float) -> float:
    return float(f"{value:.4g}")


_UNIT_WORDS = {"": "none", "-": "none", "none": "none", "unitless": "none", "phunits": "none", "ph": "none",
               "dsm": "dS/m", "dsm1": "dS/m", "dsm^1": "dS/m", "percent": "%", "%": "%", "class": "class",
               "classes": "class"}


def _unit(text: str | None) -> str | None:
    if text is None:
        return None
    key = re.sub(r"[\s/^·.\-−]|per", "", text.strip().lower().replace("-1", "1"))
    return _UNIT_WORDS.get(key, text.strip())


@check("metafile.units_mismatch", Severity.WARNING, "raster", PRODUCTS,
       "The units the metafile states are not the units of the layer (ECe in dS/m, ESP in %, pH without unit).",
       "state the layer's units in the metafile; if the values are in other units (e.g. µS/cm), convert them")
def check_units(ctx):
    if (meta := _usable(ctx)) is None:
        return
    stated = statements(meta).units
    expected = ctx.programme.salinity.units.get(ctx.layer)
    if stated and expected and _unit(stated) != _unit(expected):
        yield Hit(f"{meta.path.name} says units {stated!r}; layer {ctx.layer} is in {expected}",
                  _loc(ctx, meta.path), observed=stated, expected=expected)


@check("metafile.personal_data_withheld", Severity.INFO, "raster", PRODUCTS,
       "The metafile holds personal contact details; they stay in the secretariat's records and are withheld from "
       "every product, catalogue and export.",
       "nothing to do")
def check_personal_data(ctx):
    if (meta := _usable(ctx)) is None:
        return
    if found := personal_data(meta):
        yield Hit(f"{meta.path.name}: withheld from public products: {'; '.join(p.describe() for p in found)}",
                  _loc(ctx, meta.path), observed=[p.key for p in found])


@check("metafile.accuracy_recorded", Severity.INFO, "raster", PRODUCTS,
       "The accuracy statistics the metafile states were recorded for the regional accuracy table.",
       "nothing to do")
def check_accuracy(ctx):
    if (meta := _usable(ctx)) is None:
        return
    if stats := accuracy_statistics(meta):
        text = ", ".join(f"{k} {v:g}{'%' if k == 'Accuracy' else ''}" for k, v in stats.items())
        yield Hit(f"{meta.path.name}: {text}", _loc(ctx, meta.path), observed=stats)


@check("metafile.accuracy_missing", Severity.WARNING, "raster", PRODUCTS,
       "The metafile states no accuracy statistics (RMSE, ME, r², NSE for property maps; Kappa for the class map).",
       "add a line such as 'Accuracy statistics  RMSE: 1.9  ME: 0.1  R2: 0.54  NSE: 0.52' (or 'Kappa: 0.61')")
def check_accuracy_missing(ctx):
    if (meta := _usable(ctx)) is None:
        return
    if not accuracy_statistics(meta):
        yield Hit(f"{meta.path.name} states no RMSE, ME, r², NSE or Kappa", _loc(ctx, meta.path))


def accuracy_rows(findings) -> list[dict]:
    """(layer, depth, statistic, value) rows from the recorded-accuracy findings of one submission."""
    rows = []
    for f in findings:
        if f.check_id != "metafile.accuracy_recorded" or not isinstance(f.observed, dict):
            continue
        layer, _, depth = (f.location.layer or "").partition(" ")
        for statistic, value in f.observed.items():
            if isinstance(value, (int, float)) and math.isfinite(value):
                rows.append({"layer": layer, "depth": depth, "statistic": statistic, "value": float(value)})
    return rows
