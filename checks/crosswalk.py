"""Correlating legacy soil classes to WRB: the crosswalk a country fills in and sends back.

A map whose classes are not WRB (FAO-74, FAO-90, WRB 2006, national names, or unrecognised text) is
not accepted for the Atlas until it is correlated (SPEC §3). Its report carries the crosswalk: one row per
class with its features, km² and the suggested group. The country fills in ``rsg_code`` and sends the
table back as ``crosswalk.csv`` beside the map; that delivery is converted by it, and the conversion is a
``fixed`` finding. Nothing is converted without the country's table.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from atlas.cells import plain_cell, safe_frame
from atlas.finding import Location, Severity
from atlas.wording import plural
from checks.registry import Hit, check
from checks.wrb import LEGEND_NAMES, RSG_CODES, guess_soil_column, normalise_rsg

CROSSWALK_NAME = "crosswalk.csv"
TEMPLATE_NAME = "crosswalk_template.csv"
TEMPLATE_COLUMNS = ["map_column", "legacy_class", "legend", "features", "area_km2", "suggested_rsg", "suggested_name",
                    "rsg_code"]
SOIL_COLUMNS = ("rsg1", "rsg2", "rsg3")
PRODUCTS = ("soil_map",)


@dataclass(frozen=True)
class Crosswalk:
    """A country's correlation: delivered class -> WRB group code (or non-soil unit code)."""

    source: str
    targets: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def is_crosswalk(path: Path) -> bool:
    return Path(path).name.lower() == CROSSWALK_NAME


def _target(text: str) -> str | None:
    """The WRB group or non-soil code a filled-in cell names (code or name), or None."""
    match = normalise_rsg(text)
    if match.is_wrb:
        return match.code
    if match.kind == "non_soil":
        return match.non_soil
    return None


def read_crosswalk(path: Path) -> Crosswalk:
    """Read a filled-in crosswalk.csv (UTF-8 or cp1252; comma or semicolon); never raises."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return Crosswalk(path.name, problems=[f"cannot be read: {exc}"])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    try:
        dialect = csv.Sniffer().sniff(text.splitlines()[0] if text else ",", delimiters=",;\t")
        rows = list(csv.DictReader(io.StringIO(text), dialect=dialect))
    except csv.Error as exc:
        return Crosswalk(path.name, problems=[f"not a CSV table: {exc}"])
    if not rows or not {"legacy_class", "rsg_code"} <= {(k or "").strip() for k in rows[0]}:
        return Crosswalk(path.name, problems=["needs the columns legacy_class and rsg_code (see the report's "
                                              f"{TEMPLATE_NAME})"])
    targets, problems = {}, []
    for n, row in enumerate(rows, start=2):
        # a cell of our template starting like a formula was written with a quote in front (atlas.cells)
        row = {(k or "").strip(): plain_cell((v or "").strip()) for k, v in row.items()}
        legacy, given = row.get("legacy_class", ""), row.get("rsg_code", "")
        if not legacy or not given:
            continue  # a row left empty is not a correlation
        code = _target(given)
        if code is None:
            problems.append(f"line {n}: {given!r} for {legacy!r} is not a WRB group or a non-soil unit")
        else:
            targets[legacy] = code
    return Crosswalk(path.name, targets, problems)


def apply_crosswalk(gdf: pd.DataFrame, crosswalk: Crosswalk, columns=SOIL_COLUMNS) -> tuple[pd.DataFrame, dict]:
    """The map with its legacy classes replaced by the country's WRB groups, and what was converted.

    Only values that are not already WRB groups are replaced; the delivered values are the caller's to keep.
    """
    out = gdf.copy()
    converted: dict[str, dict] = {}
    for col in (c for c in columns if c in out.columns):
        raw = out[col].astype(object).where(out[col].notna(), None)
        text = raw.map(lambda v: None if v is None else str(v).strip())
        hit = text.isin(list(crosswalk.targets)).to_numpy() & ~text.map(
            lambda v: normalise_rsg(v).is_wrb).to_numpy(dtype=bool)
        if hit.any():
            out.loc[hit, col] = text[hit].map(crosswalk.targets).to_numpy()
            for value, count in text[hit].value_counts().items():
                entry = converted.setdefault(value, {"to": crosswalk.targets[value], "features": 0})
                entry["features"] += int(count)
    return out, converted


@dataclass(frozen=True)
class Correlation:
    """What a crosswalk did to a map: the column it was applied to, and each converted class."""

    column: str | None  # the map's column of legacy classes (rsg1, or e.g. Dominant_S in a SOTER map)
    converted: dict = field(default_factory=dict)  # delivered class -> {"to": code, "features": n}
    unmatched: list[str] = field(default_factory=list)  # crosswalk classes the column does not hold
    left: list[str] = field(default_factory=list)  # legacy classes of the column the crosswalk leaves empty
    written_as_rsg1: bool = False  # the converted column was written as rsg1 (the map had none)

    @property
    def groups(self) -> int:
        return len({v["to"] for v in self.converted.values()})

    @property
    def features(self) -> int:
        return sum(v["features"] for v in self.converted.values())


def legacy_column(gdf: pd.DataFrame) -> str | None:
    """The column a crosswalk applies to: rsg1, else the column whose values read best as soil classes."""
    return "rsg1" if "rsg1" in gdf.columns else guess_soil_column(gdf)


def correlate(gdf: pd.DataFrame, crosswalk: Crosswalk) -> tuple[pd.DataFrame, Correlation]:
    """The map with the country's crosswalk applied to its column of legacy classes.

    A map without rsg1 (a SOTER-style map keeps its classes in e.g. ``Dominant_S``) gets the converted column as
    rsg1, so the programme's required field exists; the delivered column is kept as it was.
    """
    column = legacy_column(gdf)
    if column is None:
        return gdf, Correlation(None)
    columns = SOIL_COLUMNS if column == "rsg1" else (column,)
    out, converted = apply_crosswalk(gdf, crosswalk, columns)
    present = {str(v).strip() for v in gdf[column].dropna()}
    unmatched = sorted(k for k in crosswalk.targets if k not in present)
    left = sorted(v for v in present if v not in crosswalk.targets and normalise_rsg(v).is_legacy)
    written = False
    if column != "rsg1" and converted:
        out = out.copy()
        out["rsg1"] = out[column]
        out[column] = gdf[column]
        written = True
    return out, Correlation(column, converted, unmatched, left, written)


def template_rows(gdf: pd.DataFrame, soil_column: str, areas_km2: np.ndarray | None) -> list[dict]:
    """One crosswalk row per class that is not a WRB group or a non-soil unit, most widespread first."""
    columns = [soil_column] + [c for c in ("rsg2", "rsg3") if c in gdf.columns and soil_column == "rsg1"]
    rows: dict[str, dict] = {}
    area = np.zeros(len(gdf)) if areas_km2 is None else np.nan_to_num(np.asarray(areas_km2, dtype=float))
    for col in columns:
        values = gdf[col].astype(object).where(gdf[col].notna(), None)
        for value in pd.unique(values):
            match = normalise_rsg(value)
            if match.is_wrb or match.kind in ("non_soil", "missing"):
                continue
            key = str(value).strip()
            sel = (values == value).to_numpy()
            row = rows.setdefault(key, {"map_column": str(col), "legacy_class": key,
                                        "legend": LEGEND_NAMES.get(match.kind, "unrecognised"),
                                        "features": 0, "area_km2": 0.0, "suggested_rsg": match.suggested or "",
                                        "suggested_name": RSG_CODES.get(match.suggested or "", ""), "rsg_code": ""})
            row["features"] += int(sel.sum())
            if col == soil_column:  # km² where the class is the dominant soil
                row["area_km2"] = round(row["area_km2"] + float(area[sel].sum()), 3)
    return sorted(rows.values(), key=lambda r: (-r["area_km2"], -r["features"], r["legacy_class"]))


def template_csv(rows: list[dict]) -> str:
    """The crosswalk as CSV text, ready for the country to fill in the rsg_code column."""
    frame = safe_frame(pd.DataFrame(rows, columns=TEMPLATE_COLUMNS))  # a class name never runs as a formula
    return frame.to_csv(index=False, lineterminator="\n")


@check("wrb.crosswalk_template", Severity.INFO, "vector", PRODUCTS,
       "The crosswalk of the map's non-WRB classes (features, km², suggested group), to be filled in.",
       f"fill in rsg_code (a WRB code such as CM, or a non-soil unit such as WR) in {TEMPLATE_NAME} and send it "
       f"back as {CROSSWALK_NAME} beside the map")
def check_crosswalk_template(ctx):
    if ctx.gdf is None or ctx.soil_column is None:
        return
    rows = template_rows(ctx.gdf, ctx.soil_column, ctx.areas_km2)
    if rows:
        legends = sorted({r["legend"] for r in rows})
        yield Hit(f"{plural(len(rows), 'class', 'classes')} in column {ctx.soil_column!r} to correlate "
                  f"({', '.join(legends)}): see the section \"Fill in this crosswalk\" and {TEMPLATE_NAME}",
                  Location(file=ctx.name, layer=ctx.layer),
                  observed={"columns": TEMPLATE_COLUMNS, "rows": rows, "file": TEMPLATE_NAME,
                            "column": str(ctx.soil_column)},
                  expected=f"{CROSSWALK_NAME} with rsg_code filled in")


@check("wrb.crosswalk_applied", Severity.FIXED, "vector", PRODUCTS,
       "Legacy classes converted to WRB groups by the country's crosswalk.csv.", "nothing to do")
def check_crosswalk_applied(ctx):
    done = ctx.correlation
    if done is None or not done.converted:
        return
    into = " (written as rsg1, the column as delivered kept)" if done.written_as_rsg1 else ""
    left = (f"; {plural(len(done.left), 'class', 'classes')} left without rsg_code: {', '.join(done.left[:8])}"
            if done.left else "")
    yield Hit(f"{ctx.crosswalk.source} applied to column {done.column!r}{into}: "
              f"{plural(len(done.converted), 'class', 'classes')} to {plural(done.groups, 'group')} on "
              f"{plural(done.features, 'unit')}{left}", Location(file=ctx.name, layer=ctx.layer),
              observed={"column": done.column, "classes": len(done.converted), "groups": done.groups,
                        "units": done.features, "converted": {k: v["to"] for k, v in done.converted.items()}})


@check("wrb.crosswalk_invalid", Severity.ERROR, "vector", PRODUCTS,
       "The crosswalk.csv sent with the map cannot be used as it is.",
       "give every class a WRB group code or name (e.g. CM or Cambisols) or a non-soil unit (WR, RK, GG, ND)")
def check_crosswalk_invalid(ctx):
    if ctx.crosswalk is None:
        return
    for problem in ctx.crosswalk.problems[:20]:
        yield Hit(f"{ctx.crosswalk.source}: {problem}", Location(file=ctx.crosswalk.source), observed=problem)
    done = ctx.correlation
    if ctx.gdf is None or not len(ctx.gdf) or done is None or not ctx.crosswalk.targets:
        return
    where = Location(file=ctx.crosswalk.source)
    if done.column is None:
        yield Hit(f"{ctx.crosswalk.source} cannot be applied: {ctx.name} has no column of soil classes (neither "
                  "rsg1 nor a column whose values read as soil classes)", where,
                  observed=[str(c) for c in ctx.gdf.columns if c != ctx.gdf.geometry.name], expected="rsg1")
    elif not done.converted:
        listed = ", ".join(repr(c) for c in done.unmatched[:6])
        yield Hit(f"{ctx.crosswalk.source} cannot be applied: none of its classes ({listed}) occurs in column "
                  f"{done.column!r} of {ctx.name}; legacy_class must be written exactly as in the map", where,
                  observed=done.unmatched[:20], expected=f"the classes of column {done.column!r}")


def write_template(findings, out_dir: Path) -> Path | None:
    """The crosswalk a report asks the country to fill in, as CSV beside the report (None if none is needed)."""
    hit = next((f for f in findings if f.check_id == "wrb.crosswalk_template" and isinstance(f.observed, dict)), None)
    if hit is None:
        return None
    from atlas.atomic import write_text_atomic

    path = Path(out_dir) / TEMPLATE_NAME
    write_text_atomic(path, template_csv(hit.observed["rows"]))
    return path
