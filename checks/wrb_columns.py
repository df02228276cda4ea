"""The canonical columns of a WRB map: one code and one WRB 2022 name per soil, the delivered values beside.

Every national harmonized copy and the regional map carry, for the dominant soil and the associated soils,
``rsgN_code`` (two-letter WRB code, or a non-soil unit code such as WR), ``rsgN_name`` (WRB 2022 name) and
``rsgN_status``: ``wrb`` (delivered in WRB), ``correlated`` (converted by the country's crosswalk),
``provisional`` (a legacy class published with its suggested group, programme setting
``soil_map.legacy = "provisional"``) or ``non_soil``. The values as delivered stay under ``delivered_*``.
No legacy code is ever written to a code or name column.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from checks.crosswalk import Crosswalk
from checks.wrb import NON_SOIL_UNITS, RSG_CODES, normalise_rsg

SHAPEFILE_FIELD_WIDTH = 10
SOIL_FIELDS = ("rsg1", "rsg2", "rsg3")
CANONICAL_COLUMNS = ["unit_id", "rsg1_code", "rsg1_name", "rsg1_status", "share1", "rsg2_code", "rsg2_name",
                     "rsg2_status", "share2", "rsg3_code", "rsg3_name", "rsg3_status", "share3", "qualifiers",
                     "wrb_version", "delivered_rsg1", "delivered_rsg2", "delivered_rsg3"]
STATUSES = ("wrb", "correlated", "provisional", "non_soil")
# cut names seen in real deliveries beyond the plain 10-character cut (e.g. from a "qualifiers_en" field)
KNOWN_CUTS = {"qualifiere": "qualifiers", "wrb_versio": "wrb_version"}


def restore_field_names(gdf: pd.DataFrame, fields) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """Field names a shapefile cut to 10 characters (``wrb_versio``) renamed to the full names, one column each.

    Where both the cut and the full name are present, the full column is kept and the cut one dropped.
    Returns the frame and the (cut, full) pairs that were found.
    """
    found = []
    lower = {str(c).lower(): c for c in gdf.columns}
    out = gdf
    for full in fields:
        cuts = {c for c, f in KNOWN_CUTS.items() if f == full}
        if len(full) > SHAPEFILE_FIELD_WIDTH:
            cuts.add(full[:SHAPEFILE_FIELD_WIDTH].lower())
        cut = next((lower[c] for c in sorted(cuts) if c in lower), None)
        if cut is None:
            continue
        found.append((str(cut), full))
        out = out.drop(columns=[cut]) if full in out.columns else out.rename(columns={cut: full})
    return out, found


def _canonical(value, legacy: str, crosswalked: bool) -> tuple[str | None, str | None, str | None]:
    """(code, name, status) of one delivered (or crosswalk-converted) value."""
    match = normalise_rsg(value)
    if match.is_wrb:
        return match.code, RSG_CODES[match.code], "correlated" if crosswalked else "wrb"
    if match.kind == "non_soil":
        return match.non_soil, NON_SOIL_UNITS[match.non_soil], "non_soil"
    if match.is_legacy and legacy == "provisional" and match.suggested:
        return match.suggested, RSG_CODES[match.suggested], "provisional"
    return None, None, None


def canonical_units(gdf: gpd.GeoDataFrame, legacy: str = "correlate", crosswalk: Crosswalk | None = None,
                    delivered: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """The map with canonical columns first, delivered values under ``delivered_*``, other attributes after.

    ``gdf`` is the map after the crosswalk was applied (if any); ``delivered`` the map as delivered.
    """
    delivered = gdf if delivered is None else delivered
    n = len(gdf)

    def column(frame, name) -> list:
        """The column's values with None for missing (an absent column is all None)."""
        if name not in frame.columns:
            return [None] * n
        return frame[name].astype(object).where(frame[name].notna(), None).tolist()

    converted = set(crosswalk.targets) if crosswalk else set()
    seen: dict = {}

    def canonical(value, crosswalked: bool):
        """_canonical once per distinct value: a map of 100,000 units holds a few dozen classes."""
        key = (type(value), value, crosswalked)  # by type too: 1 and 1.0 are equal keys but different text
        try:
            return seen[key]
        except KeyError:
            seen[key] = found = _canonical(value, legacy, crosswalked)
            return found
        except TypeError:  # an unhashable value (never from a file reader)
            return _canonical(value, legacy, crosswalked)

    out: dict[str, list] = {"unit_id": column(gdf, "unit_id") if "unit_id" in gdf.columns else list(range(1, n + 1))}
    for i, col in enumerate(SOIL_FIELDS, start=1):
        values = column(gdf, col)
        was = column(delivered, col) if col in delivered.columns else values
        if col not in gdf.columns and col not in delivered.columns:  # an absent field: one value for all units
            triples = [canonical(None, False)] * n
        else:
            triples = [canonical(v, bool(converted) and o is not None and str(o).strip() in converted and v != o)
                       for v, o in zip(values, was, strict=True)]
        out[f"rsg{i}_code"] = [t[0] for t in triples]
        out[f"rsg{i}_name"] = [t[1] for t in triples]
        out[f"rsg{i}_status"] = [t[2] for t in triples]
        out[f"delivered_rsg{i}"] = [None if v is None else str(v) for v in was]
        share = f"share{i}"
        out[share] = (pd.to_numeric(gdf[share], errors="coerce").tolist() if share in gdf.columns else [None] * n)
    out["qualifiers"] = column(gdf, "qualifiers")
    out["wrb_version"] = [None if v is None else str(v).strip().removesuffix(".0") for v in column(gdf, "wrb_version")]
    frame = pd.DataFrame(out)
    rest = [c for c in gdf.columns if c not in (*SOIL_FIELDS, "unit_id", "share1", "share2", "share3", "qualifiers",
                                                "wrb_version", gdf.geometry.name)]
    for c in rest:  # every other column the country sent, its own rsg1_code or delivered_rsg1 included
        name = f"delivered_{c}"
        while name in frame.columns:
            name = f"delivered_{name}"
        frame[name] = gdf[c].to_numpy()
    return gpd.GeoDataFrame(frame[CANONICAL_COLUMNS + [c for c in frame.columns if c not in CANONICAL_COLUMNS]],
                            geometry=gdf.geometry.to_numpy(), crs=gdf.crs)


def is_canonical_copy(gdf: pd.DataFrame) -> bool:
    """Whether a frame is a national copy that ``canonical_copy`` wrote: every canonical column present.

    Only for copies read back from data/processed (written by the pipeline alone); a delivered map always
    goes through ``canonical_copy``, which moves any column the country named like a canonical one to
    ``delivered_*``, so no delivery reaches data/processed with its own canonical columns.
    """
    return set(CANONICAL_COLUMNS) <= set(gdf.columns)


def canonical_copy(gdf: gpd.GeoDataFrame, programme, crosswalk_path=None) -> gpd.GeoDataFrame:
    """The national harmonized copy's attributes: field names restored, crosswalk applied, canonical columns.

    The canonical columns are always computed from the delivered soil fields: a column the country sends
    is never canonical, even named ``rsg1_code``; it is kept under ``delivered_*`` (``delivered_rsg1_code``).
    """
    from checks.crosswalk import correlate, read_crosswalk

    fields = (*getattr(programme, "soil_required_fields", ("unit_id", "rsg1", "share1")),
              *getattr(programme, "soil_optional_fields", ("qualifiers", "wrb_version")))
    gdf, _ = restore_field_names(gdf, fields)
    delivered, crosswalk = gdf, None
    if crosswalk_path is not None:
        crosswalk = read_crosswalk(crosswalk_path)
        gdf, done = correlate(gdf, crosswalk)
        if done.written_as_rsg1:  # the delivered classes of the converted column stand as delivered_rsg1
            delivered = delivered.assign(rsg1=delivered[done.column])
    return canonical_units(gdf, getattr(programme, "soil_legacy", "correlate"), crosswalk, delivered)
