"""WRB Reference Soil Groups, legacy legends, and the checks on soil-map classes.

Our own small tables (SPEC §3): the 32 WRB 2015/2022 groups, FAO-74 one-letter
groups and FAO-90 two-letter groups with the WRB group each most often becomes,
and non-soil units. Legacy values are recognised and reported with a
suggestion, never silently converted.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from atlas.finding import Location, Severity
from atlas.wording import have, plural
from checks.registry import Hit, check

RSG_CODES: dict[str, str] = {
    "AC": "Acrisols", "AL": "Alisols", "AN": "Andosols", "AR": "Arenosols", "AT": "Anthrosols",
    "CH": "Chernozems", "CL": "Calcisols", "CM": "Cambisols", "CR": "Cryosols", "DU": "Durisols",
    "FL": "Fluvisols", "FR": "Ferralsols", "GL": "Gleysols", "GY": "Gypsisols", "HS": "Histosols",
    "KS": "Kastanozems", "LP": "Leptosols", "LV": "Luvisols", "LX": "Lixisols", "NT": "Nitisols",
    "PH": "Phaeozems", "PL": "Planosols", "PT": "Plinthosols", "PZ": "Podzols", "RG": "Regosols",
    "RT": "Retisols", "SC": "Solonchaks", "SN": "Solonetz", "ST": "Stagnosols", "TC": "Technosols",
    "UM": "Umbrisols", "VR": "Vertisols",
}
# FAO-74 (Soil Map of the World) group letter -> (name, suggested WRB group).
FAO74_GROUPS: dict[str, tuple[str, str]] = {
    "A": ("Acrisols", "AC"), "B": ("Cambisols", "CM"), "C": ("Chernozems", "CH"), "D": ("Podzoluvisols", "RT"),
    "E": ("Rendzinas", "LP"), "F": ("Ferralsols", "FR"), "G": ("Gleysols", "GL"), "H": ("Phaeozems", "PH"),
    "I": ("Lithosols", "LP"), "J": ("Fluvisols", "FL"), "K": ("Kastanozems", "KS"), "L": ("Luvisols", "LV"),
    "M": ("Greyzems", "PH"), "N": ("Nitosols", "NT"), "O": ("Histosols", "HS"), "P": ("Podzols", "PZ"),
    "Q": ("Arenosols", "AR"), "R": ("Regosols", "RG"), "S": ("Solonetz", "SN"), "T": ("Andosols", "AN"),
    "U": ("Rankers", "UM"), "V": ("Vertisols", "VR"), "W": ("Planosols", "PL"), "X": ("Xerosols", "CL"),
    "Y": ("Yermosols", "CL"), "Z": ("Solonchaks", "SC"),
}
# FAO-90 groups that are not WRB groups, with their usual WRB successor.
FAO90_ONLY: dict[str, tuple[str, str]] = {"GR": ("Greyzems", "PH"), "PD": ("Podzoluvisols", "RT")}
FAO90_QUALIFIERS: dict[str, str] = {
    "a": "Albic", "c": "Calcaric", "d": "Dystric", "e": "Eutric", "f": "Ferric", "g": "Gleyic", "h": "Haplic",
    "i": "Gelic", "k": "Calcic", "l": "Luvic", "m": "Mollic", "n": "Sodic", "o": "Ferralic", "p": "Plinthic",
    "u": "Humic", "v": "Vertic", "x": "Chromic", "y": "Gypsic", "z": "Salic",
}
WRB2006_ONLY: dict[str, tuple[str, str]] = {"AB": ("Albeluvisols", "RT")}
NON_SOIL_CODES: dict[str, str] = {
    "WR": "water", "WAT": "water", "RK": "rock outcrop", "GG": "glaciers", "ND": "no data", "DS": "dunes/shifting sand",
    "UR": "urban", "IS": "island/no data",
}
# Canonical non-soil units of the regional map (code -> name); delivered spellings map onto these.
NON_SOIL_UNITS: dict[str, str] = {"WR": "Water bodies", "RK": "Rock outcrops", "GG": "Glaciers and ice",
                                  "ND": "No data", "DS": "Dunes and shifting sands", "UR": "Urban areas",
                                  "SF": "Salt flats"}
_NON_SOIL_CANONICAL = {"WAT": "WR", "IS": "ND"}
NON_SOIL_WORDS = ("water", "lake", "river", "reservoir", "sea", "rock", "glacier", "ice", "urban", "no data",
                  "nodata", "shifting sand", "dunes", "salt flat", "built")
_NON_SOIL_WORD_CODE = {"water": "WR", "lake": "WR", "river": "WR", "reservoir": "WR", "sea": "WR", "rock": "RK",
                       "glacier": "GG", "ice": "GG", "urban": "UR", "built": "UR", "no data": "ND", "nodata": "ND",
                       "shifting sand": "DS", "dunes": "DS", "salt flat": "SF"}
# National legacy terms seen in Asian maps: not recognised as WRB, but a hint helps the country.
LEGACY_TERMS: dict[str, str] = {"latosol": "FR", "regur": "VR", "grumusol": "VR", "podzolic": "AC",
                                "hydromorphic": "GL", "alluvial": "FL", "lateritic": "PT", "red-yellow": "AC"}

_NAME_TO_CODE = {name.lower(): code for code, name in RSG_CODES.items()}
_FAO74_NAMES = {name.lower(): (code, letter) for letter, (name, code) in FAO74_GROUPS.items()}
_LEGACY_NAMES = {**{n.lower(): ("legacy_fao90", c) for n, c in FAO90_ONLY.values()},
                 **{n.lower(): ("legacy_wrb2006", c) for n, c in WRB2006_ONLY.values()}}
_FAO74_SYMBOL = re.compile(r"^([A-Z])([a-z])?(\d+.*)?$")  # E, Ao, Ao82-2/3b
_FAO90_CODE = re.compile(r"^([A-Z]{2})([a-z])$")  # ACh
_WORD = re.compile(r"[a-z]+")
LEGEND_NAMES = {"legacy_fao74": "FAO-74", "legacy_fao90": "FAO-90", "legacy_wrb2006": "WRB 2006",
                "legacy_national": "national legend"}
LEGACY_KINDS = tuple(LEGEND_NAMES)
ID_COLUMN = re.compile(r"(^|_)(unit_?)?(id|fid|objectid|code_id)$", re.IGNORECASE)
SOIL_COLUMN_HINTS = ("rsg", "wrb", "soil", "domsoi", "faosoil", "class", "legend", "name", "unit", "taxon")
KINDS = ("wrb_code", "wrb_name", *LEGACY_KINDS, "non_soil", "unknown", "missing")


@dataclass(frozen=True)
class RsgMatch:
    """What a soil-class value is: WRB code, name, legacy code, non-soil unit, unknown or missing."""

    code: str | None
    kind: str
    suggested: str | None
    original: str | None
    non_soil: str | None = None  # canonical non-soil unit (NON_SOIL_UNITS) when kind is non_soil

    @property
    def is_wrb(self) -> bool:
        return self.kind in ("wrb_code", "wrb_name")

    @property
    def is_legacy(self) -> bool:
        return self.kind.startswith("legacy")


def _singular_match(word: str, table: dict) -> str | None:
    for key in (word, word + "s", word.rstrip("s") + "s"):
        if key in table:
            return key
    return None


def normalise_rsg(value: str | None) -> RsgMatch:
    """Recognise a Reference Soil Group code or name, legacy codes included; never converts silently."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return _MISSING
    return _normalise_text(str(value))


_MISSING = RsgMatch(None, "missing", None, None)


@functools.lru_cache(maxsize=8192)
def _normalise_text(original: str) -> RsgMatch:
    """normalise_rsg of a value's text; cached: a map repeats a few dozen values over thousands of units."""
    text = original.strip()
    if not text or text.upper() in ("NA", "NAN", "NONE", "NULL", "-"):
        return RsgMatch(None, "missing", None, original)
    upper = text.upper()
    if upper in NON_SOIL_CODES:
        return RsgMatch(None, "non_soil", None, original, _NON_SOIL_CANONICAL.get(upper, upper))
    if len(text) == 2 and text.isalpha() and (text.isupper() or text.islower()):
        if upper in RSG_CODES:
            return RsgMatch(upper, "wrb_code", None, original)
        if upper in WRB2006_ONLY:
            return RsgMatch(upper, "legacy_wrb2006", WRB2006_ONLY[upper][1], original)
        if upper in FAO90_ONLY:
            return RsgMatch(upper, "legacy_fao90", FAO90_ONLY[upper][1], original)
    if m := _FAO90_CODE.match(text):
        group = m.group(1)
        if group in RSG_CODES or group in FAO90_ONLY:
            suggested = group if group in RSG_CODES else FAO90_ONLY[group][1]
            return RsgMatch(text, "legacy_fao90", suggested, original)
    if m := _FAO74_SYMBOL.match(text):
        return RsgMatch(m.group(1) + (m.group(2) or ""), "legacy_fao74", FAO74_GROUPS[m.group(1)][1], original)
    lowered = text.lower()
    # national names first: "Red-yellow podzols" is a national class, not the WRB group Podzols
    if national := next((c for term, c in LEGACY_TERMS.items() if term in lowered), None):
        return RsgMatch(None, "legacy_national", national, original)
    words = _WORD.findall(lowered)
    for word in reversed(words):  # the group name comes last, qualifiers in front
        if key := _singular_match(word, _NAME_TO_CODE):
            return RsgMatch(_NAME_TO_CODE[key], "wrb_name", None, original)
        if key := _singular_match(word, _LEGACY_NAMES):
            kind, code = _LEGACY_NAMES[key]
            return RsgMatch(None, kind, code, original)
        if key := _singular_match(word, _FAO74_NAMES):
            code, letter = _FAO74_NAMES[key]
            return RsgMatch(letter, "legacy_fao74", code, original)
    if unit := next((c for w, c in _NON_SOIL_WORD_CODE.items() if w in lowered), None):
        return RsgMatch(None, "non_soil", None, original, unit)
    return RsgMatch(None, "unknown", None, original)


def classify_values(values: pd.Series) -> pd.DataFrame:
    """One row per distinct value: the match and how many features carry it (vectorised over distinct values)."""
    counts = values.astype("object").where(values.notna(), None).value_counts(dropna=False)
    rows = []
    for value, count in counts.items():
        m = normalise_rsg(value)
        rows.append({"value": value, "count": int(count), "code": m.code, "kind": m.kind, "suggested": m.suggested})
    # object dtype keeps None as None (pandas 3 would infer strings with NaN)
    table = pd.DataFrame(rows, columns=["value", "count", "code", "kind", "suggested"], dtype=object)
    return table.astype({"count": int})


def guess_soil_column(gdf: pd.DataFrame) -> str | None:
    """The text column whose values are best recognised as soil classes (for maps without rsg1)."""
    best, best_share = None, 0.5
    for col in gdf.columns:
        if col == "geometry" or not (gdf[col].dtype == object or pd.api.types.is_string_dtype(gdf[col])):
            continue
        if ID_COLUMN.search(str(col)):  # unit ids such as "S12" read like FAO-74 symbols, and are not classes
            continue
        table = classify_values(gdf[col])
        if table.empty:
            continue
        known = table.loc[~table.kind.isin(["unknown", "missing"]), "count"].sum()
        share = known / table["count"].sum()
        if any(h in str(col).lower() for h in SOIL_COLUMN_HINTS):
            share += 0.3  # a column named like a soil class needs less evidence
        if share > best_share:
            best, best_share = col, share
    return best


def _examples(ctx, value, limit: int = 3) -> list[str]:
    col = ctx.gdf[ctx.soil_column]
    return [str(i) for i in ctx.feature_ids[(col == value).to_numpy()][:limit]]


def _features_of(ctx, values, limit: int = 10) -> str:
    """Feature ids of every listed class (the first ``limit``), so no affected feature goes unnamed."""
    ids = [i for value in values for i in _examples(ctx, value)]
    return ",".join(ids[:limit]) + (f",... {len(ids) - limit} more" if len(ids) > limit else "")


def _by_kind(ctx, kinds: tuple[str, ...]):
    if ctx.gdf is None or ctx.soil_column is None:
        return
    table = ctx.soil_classes
    yield from table[table.kind.isin(kinds)].itertuples()


PRODUCTS = ("soil_map",)


@check("wrb.missing", Severity.ERROR, "vector", PRODUCTS, "A map unit has no dominant Reference Soil Group.",
       "fill rsg1 for every polygon (a WRB code such as CM or a name such as Cambisols)")
def check_missing(ctx):
    for row in _by_kind(ctx, ("missing",)):
        yield Hit(f"{plural(row.count, 'feature')} {have(row.count)} an empty {ctx.soil_column}",
                  Location(file=ctx.name, layer=ctx.layer, feature=",".join(_examples(ctx, row.value))),
                  observed=row.count)


@check("wrb.code_unknown", Severity.ERROR, "vector", PRODUCTS,
       "A soil class is neither a WRB 2015/2022 group (code or name), a known legacy code, nor a non-soil unit.",
       "use the two-letter WRB code or the WRB name (e.g. CM, Cambisols); correlate national classes to WRB")
def check_unknown(ctx):
    for row in _by_kind(ctx, ("unknown",)):
        yield Hit(f"{ctx.soil_column} value {row.value!r} ({row.count} features) is not a WRB group; give its WRB "
                  "group in the crosswalk",
                  Location(file=ctx.name, layer=ctx.layer, feature=",".join(_examples(ctx, row.value))),
                  observed=row.value, expected="one of the 32 WRB Reference Soil Groups")


@check("wrb.legacy_code", Severity.ERROR, "vector", PRODUCTS,
       "A soil class uses a legacy legend (FAO-74, FAO-90, WRB 2006, national names): not accepted for the Atlas "
       "until each class is correlated to a WRB group (unless the programme publishes such units provisionally).",
       "correlate each legacy class to WRB 2022: fill in the crosswalk (the report's section \"Fill in this "
       "crosswalk\", and crosswalk_template.csv beside the report) and send it back as crosswalk.csv beside the "
       "map; the suggestion is a starting point, not a conversion")
def check_legacy(ctx):
    if ctx.gdf is None or ctx.soil_column is None:
        return
    table = ctx.soil_classes
    provisional = getattr(ctx.programme, "soil_legacy", "correlate") == "provisional"
    for kind in LEGACY_KINDS:
        rows = table[table.kind == kind].sort_values("count", ascending=False)
        if rows.empty:
            continue
        legend = LEGEND_NAMES[kind]
        listed = ", ".join(f"{r.value} ({r.count}, suggested {r.suggested or 'none'})"
                           for r in rows.head(12).itertuples())
        more = f", ... {len(rows) - 12} more" if len(rows) > 12 else ""
        outcome = ("published provisionally with the suggested group, flagged provisional" if provisional
                   else "not accepted for the Atlas until correlated (crosswalk in this report)")
        n, k = int(rows["count"].sum()), len(rows)
        yield Hit(f"{n} feature{'s' if n != 1 else ''} carr{'y' if n != 1 else 'ies'} {k} {legend} "
                  f"class{'es' if k != 1 else ''} in {ctx.soil_column}: "
                  f"{listed}{more}; {outcome}",
                  Location(file=ctx.name, layer=ctx.layer, feature=_features_of(ctx, rows.value)),
                  observed=[{"value": r.value, "count": r.count, "suggested": r.suggested} for r in rows.itertuples()],
                  expected="WRB 2022 Reference Soil Groups",
                  severity=Severity.WARNING if provisional else None)


@check("wrb.name_variant", Severity.INFO, "vector", PRODUCTS,
       "A WRB group is written as a name variant (singular, case, qualifiers in front); recognised.",
       "nothing to do; the two-letter code is clearer")
def check_variant(ctx):
    rows = [row for row in _by_kind(ctx, ("wrb_name", "wrb_code"))
            if str(row.value).strip() not in (row.code, RSG_CODES[row.code])]
    if rows:
        listed = ", ".join(f"{r.value!r}->{r.code} ({r.count})" for r in rows[:12])
        more = f", ... {len(rows) - 12} more" if len(rows) > 12 else ""
        yield Hit(f"{plural(len(rows), 'name variant')} recognised: {listed}{more}",
                  Location(file=ctx.name, layer=ctx.layer),
                  observed={str(r.value): r.code for r in rows}, expected="two-letter WRB codes or plural WRB names")


@check("wrb.non_soil", Severity.INFO, "vector", PRODUCTS, "Non-soil units (water, rock, glaciers, no data).",
       "nothing to do; they are kept as non-soil units")
def check_non_soil(ctx):
    for row in _by_kind(ctx, ("non_soil",)):
        yield Hit(f"{row.value!r} ({row.count} features) is a non-soil unit", Location(file=ctx.name, layer=ctx.layer),
                  observed=row.value)


@check("wrb.share_sum", Severity.WARNING, "vector", PRODUCTS, "Shares of the soils of a map unit do not sum to 100.",
       "make share1 + share2 + share3 equal 100 for every map unit")
def check_share_sum(ctx):
    gdf = ctx.gdf
    if gdf is None or "share1" not in gdf.columns:
        return
    cols = [c for c in ("share1", "share2", "share3") if c in gdf.columns]
    shares = gdf[cols].apply(pd.to_numeric, errors="coerce")
    total = shares.fillna(0).sum(axis=1).to_numpy()
    soil = ~ctx.soil_classes_per_feature.isin(["non_soil", "missing"]).to_numpy()
    bad = soil & (np.abs(total - 100.0) > 0.5)
    if bad.any():
        ids = ctx.feature_ids[bad]
        yield Hit(f"{plural(int(bad.sum()), 'map unit')} {have(int(bad.sum()))} shares summing to other than 100 "
                  f"(e.g. {total[bad][0]:g} at feature {ids[0]})",
                  Location(file=ctx.name, layer=ctx.layer, feature=",".join(map(str, ids[:5]))),
                  observed=sorted({float(t) for t in total[bad]})[:10], expected=100)


@check("wrb.version", Severity.WARNING, "vector", PRODUCTS, "wrb_version is neither 2015 nor 2022.",
       "set wrb_version to 2022 (or 2015) for every feature")
def check_version(ctx):
    gdf = ctx.gdf
    if gdf is None or "wrb_version" not in gdf.columns:
        return
    versions = gdf["wrb_version"].astype(str).str.strip().str.replace(r"\.0$", "", regex=True)
    bad = sorted(set(versions[~versions.isin(["2015", "2022"])]))
    if bad:
        yield Hit(f"wrb_version values {bad} are not 2015 or 2022", Location(file=ctx.name, layer=ctx.layer),
                  observed=bad, expected=["2015", "2022"])


COMPUTED_COLUMNS = tuple(f"rsg{i}_{part}" for i in (1, 2, 3) for part in ("code", "name", "status"))


@check("wrb.own_canonical_columns", Severity.INFO, "vector", PRODUCTS,
       "The map brings its own columns named like the programme's computed ones (rsg1_code, rsg1_name, "
       "rsg1_status, ...): they are kept as delivered_* and never published as canonical (a warning where its "
       "codes contradict rsgN).",
       "nothing to do where they agree: the programme computes rsgN_code, rsgN_name and rsgN_status from rsgN; "
       "where they contradict it, correct rsgN or the map's own codes")
def check_own_canonical_columns(ctx):
    gdf = ctx.gdf
    if gdf is None:
        return
    own = [c for c in gdf.columns if str(c).lower() in COMPUTED_COLUMNS]
    for col in own:
        note, where = "", None
        if str(col).lower().endswith("_code") and str(col)[:4].lower() in gdf.columns:
            derived = gdf[str(col)[:4].lower()].map(lambda v: normalise_rsg(v).code or normalise_rsg(v).non_soil)
            sent = gdf[col].astype(object).where(gdf[col].notna(), None).map(
                lambda v: None if v is None else str(v).strip().upper())
            differ = (sent.to_numpy() != derived.to_numpy())
            if differ.any():
                note = f"; it disagrees with the code computed from {str(col)[:4].lower()} in " \
                       f"{plural(int(differ.sum()), 'feature')}"
                ids = [str(i) for i in ctx.feature_ids[differ]]
                where = ",".join(ids[:10]) + (f",... {len(ids) - 10} more" if len(ids) > 10 else "")
        yield Hit(f"column {col!r} is the map's own, kept as 'delivered_{col}'; the published {str(col).lower()} is "
                  f"computed from the delivered soil fields{note}", Location(file=ctx.name, layer=ctx.layer,
                                                                             feature=where),
                  observed=str(col), expected=f"delivered_{col}",
                  severity=Severity.WARNING if note else None)  # a map contradicting itself is worth fixing


def examined_column(gdf: pd.DataFrame) -> str | None:
    """The text column a reader would take for the map's legend: a soil-like name first, else the fewest values."""
    text = [c for c in gdf.columns if c != "geometry" and (gdf[c].dtype == object or pd.api.types.is_string_dtype(
        gdf[c])) and gdf[c].notna().any()]
    if not text:
        return None
    named = [c for c in text if any(h in str(c).lower() for h in SOIL_COLUMN_HINTS)]
    return min(named or text, key=lambda c: gdf[c].nunique())


@check("wrb.no_soil_classes", Severity.ERROR, "vector", PRODUCTS,
       "The map's attributes hold no soil classification (a fertility, land-capability or land-use map?).",
       "send the soil classification map: each polygon with its WRB Reference Soil Group in rsg1")
def check_no_soil_classes(ctx):
    gdf = ctx.gdf
    if gdf is None or not len(gdf) or ctx.soil_column is not None:
        return
    column = examined_column(gdf)
    if column is None:
        yield Hit("the map has no text attribute at all: no soil classification to read",
                  Location(file=ctx.name, layer=ctx.layer), observed=[c for c in gdf.columns if c != "geometry"],
                  expected="rsg1 with WRB groups")
        return
    values = gdf[column].dropna().astype(str).value_counts()
    listed = ", ".join(f"{v!r} ({n})" for v, n in values.head(8).items())
    more = f", ... {len(values) - 8} more" if len(values) > 8 else ""
    yield Hit(f"this is not a soil classification map: column {column!r} holds {listed}{more}, none of them a WRB "
              "group, a legacy soil class or a soil name; no rsg1 field", Location(file=ctx.name, layer=ctx.layer),
              observed={"column": str(column), "values": [str(v) for v in values.index[:20]]},
              expected="rsg1 with WRB Reference Soil Groups")
