"""The harmonization report's border findings in plain words: a table by neighbour, each segment's two groups.

The JSON keeps segment ids, pair codes and keys for machines; a person reads the neighbour's name, the
kilometres compared and where the soil groups differ, and the group on each side.
"""

from __future__ import annotations

from atlas.reports.values import number
from checks.wrb import NON_SOIL_UNITS, RSG_CODES


def group_name(code) -> str:
    """'LX Lixisols' for a WRB code or non-soil unit, the value as it is otherwise."""
    name = RSG_CODES.get(str(code)) or NON_SOIL_UNITS.get(str(code))
    return f"{code} {name}" if name else str(code)


def border_values(f: dict) -> tuple[str, str] | None:
    """(found, expected) of a border finding in words, or None for any other finding."""
    observed, cid = f.get("observed"), f["check_id"]
    if not isinstance(observed, dict):
        return None
    if cid == "border.mismatch":
        return (f"{group_name(observed.get('group'))} on your side",
                f"{group_name(observed.get('neighbour_group'))} on {observed.get('neighbour')}'s side")
    if cid == "border.mismatch_summary":
        if not observed.get("compared_km"):
            return "nothing compared", ""
        return (f"{number(observed.get('mismatched_km', 0.0))} km differ of {number(observed['compared_km'])} km",
                "the same groups on both sides")
    return None


def neighbour_rows(report: dict) -> list[dict]:
    """One row per neighbour (from border.mismatch_summary): km compared, where the groups differ, what to do.

    A neighbour with no map along the border asks nothing of the country: its row says so.
    """
    names = (report.get("meta") or {}).get("neighbour_names") or {}
    rows = []
    for f in report.get("findings", []):
        o = f.get("observed")
        if f["check_id"] != "border.mismatch_summary" or not isinstance(o, dict):
            continue
        code = str(o.get("neighbour"))
        name = names.get(code, code)
        compared, differs = float(o.get("compared_km") or 0.0), float(o.get("mismatched_km") or 0.0)
        if compared <= 0:
            rows.append({"neighbour": f"{name} ({code})", "compared": "—", "differs": "—", "segments": "—",
                         "action": f"nothing to do: {name} has no map along this border in the Atlas"})
            continue
        share = differs / compared
        rows.append({"neighbour": f"{name} ({code})", "compared": f"{number(compared)} km",
                     "differs": ("all of it" if share > 0.999 else f"{number(differs)} km ({share:.0%})")
                     if differs else "nowhere",
                     "segments": number(int(o.get("segments") or 0)),
                     "action": (f"agree the dominant soil groups along the border with {name}" if differs
                                else "nothing to do")})
    return sorted(rows, key=lambda r: (r["compared"] == "—", r["neighbour"]))
