"""Observed and expected values written for people: km², %, rounded numbers, never raw JSON.

The JSON report keeps the exact values; these functions only decide how a
person reads them in the HTML and Markdown reports.
"""

from __future__ import annotations

import math
import re
from typing import Any

MAX_ITEMS = 6  # list items shown before "and N more"

# how a key of an observed/expected dict is read (the unit is added by _number_with_unit)
LABELS = {
    "area_km2": "area", "share": "share", "share_pct": "share", "count": "count", "crs": "CRS", "datum": "datum",
    "res": "pixel size", "offset_px": "offset (pixels)", "method": "resampling", "reason": "reason",
    "area_km2_before": "area before", "area_km2_after": "area after", "area_before_km2": "area before",
    "area_after_km2": "area after", "transform": "pixel grid", "km2": "area", "disagree_km2": "disagreeing",
    "valid_km2": "valid area", "rule": "rule", "pairs": "pairs",
}


SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
_SCIENTIFIC = re.compile(r"(?<![\w.])(-?\d+(?:\.\d+)?)[eE]([+-]?\d+)(?![\w.])")
_COUNT = re.compile(r"(?<![\w.,/-])(\d{5,})(?= (?:pixels?|features?|units?|cells?|km²|polygons?)\b)")


def scientific(value: float) -> str:
    """A very large or small number as people write it: -3.4 × 10³⁸ (never 3.4028234663852886e+38)."""
    mantissa, exponent = f"{value:.2e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa} × 10{str(int(exponent)).translate(SUPERSCRIPT)}"


def for_people(text: str) -> str:
    """A finding's message made readable: numbers in scientific notation and long counts formatted, one arrow.

    Messages are written by the checks (plain f-strings); this is the one place their numbers are put in the
    form a focal point reads, so "-3.4028234663852886e+38" and "1125336 pixels" never reach a report.
    """
    text = _SCIENTIFIC.sub(lambda m: scientific(float(f"{m[1]}e{m[2]}")), str(text))
    text = _COUNT.sub(lambda m: f"{int(m[1]):,}", text)
    return text.replace(" -> ", " → ").replace("->", "→")


def number(value: float) -> str:
    """A number rounded for reading: thousands separated, about three significant digits."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if not math.isfinite(value):
        return str(value)
    if abs(value) >= 1e12:  # e.g. the float32 lowest value used as nodata: -3.4 × 10³⁸, not 39 digits
        return scientific(value)
    if value == int(value):
        return f"{int(value):,}"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 1:
        return f"{value:,.1f}".rstrip("0").rstrip(".") if magnitude >= 10 else f"{value:.2f}".rstrip("0").rstrip(".")
    if magnitude >= 0.001:
        return f"{value:.3g}"
    return "less than 0.001" if value > 0 else "more than -0.001"


def km2(value: float) -> str:
    return f"{number(value)} km²"


def percent(share: float) -> str:
    """A share (0..1) as a percentage; tiny non-zero shares say so instead of showing 0 %."""
    pct = 100 * share
    if 0 < pct < 0.01:
        return "under 0.01 %"
    return f"{number(round(pct, 2))} %"


def _number_with_unit(key: str, value: Any) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return human(value, key)
    if "km2" in key:
        return km2(value)
    if key == "share":
        return percent(value)
    if key.endswith("_pct"):
        return f"{number(value)} %"
    return number(value)


def _transform(values: list) -> str:
    """An affine geotransform (a, b, c, d, e, f) as pixel size and origin."""
    a, _, c, _, e, f = values[:6]
    return f"pixels {number(abs(a))} × {number(abs(e))}, origin {number(c)}, {number(f)}"


# checks whose observed/expected value is a bare number of km² (the unit is in their message only)
KM2_VALUED = ("harmonize.clip_spill", "harmonize.overlap_resolved", "harmonize.gap_filled")


def human(value: Any, key: str = "") -> str:
    """Any observed/expected value as a short phrase."""
    if value is None:
        return ""
    if isinstance(value, str):
        return for_people(value)
    if isinstance(value, (bool, int, float)):
        return _number_with_unit(key, value)
    if isinstance(value, dict):
        if {"value", "count"} <= set(value):  # one class of a legend with its count (and a suggestion)
            suggested = f" → {value['suggested']}" if value.get("suggested") else ""
            return f"{value['value']}{suggested} ({number(value['count'])})"
        parts = []
        for k, v in list(value.items())[:MAX_ITEMS]:
            is_transform = k == "transform" and isinstance(v, list) and len(v) >= 6
            text = _transform(v) if is_transform else _number_with_unit(k, v)
            if k == "share" and v == 0 and (value.get("area_km2") or 0) > 0:  # rounded away, but not nothing
                text = "under 0.01 %"
            if isinstance(v, dict):  # one entry of a table, e.g. per class: "None (area …, share …)"
                parts.append(f"{k} ({human(v).replace('; ', ', ')})")
            elif k in LABELS:
                parts.append(f"{LABELS[k]} {text}")
            elif not isinstance(v, str):  # e.g. a count per layer
                parts.append(f"{k.replace('_', ' ')}: {text}")
            else:  # a mapping such as a value as written -> the code it was read as
                parts.append(f"{k} → {text}")
        more = f"; and {len(value) - MAX_ITEMS} more" if len(value) > MAX_ITEMS else ""
        return "; ".join(parts) + more
    if isinstance(value, (list, tuple)):
        numbers = all(isinstance(v, (int, float)) for v in value)
        if len(value) == 6 and numbers and value[1] == 0 and value[3] == 0 and value[0] != 0:  # a geotransform
            return _transform(list(value))
        if len(value) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            joint = " × " if key in ("res", "offset_px") else " to "  # a pixel size pair, else a range
            return f"{number(value[0])}{joint}{number(value[1])}"
        shown = [human(v, key) for v in value[:MAX_ITEMS]]
        more = f" and {len(value) - MAX_ITEMS} more" if len(value) > MAX_ITEMS else ""
        return ", ".join(shown) + more
    return str(value)
