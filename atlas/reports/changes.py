"""What changed since the previous version: findings resolved, new, unchanged or carried over; areas.

Both sides are a version's effective state: what it sent plus the layers it carries over from earlier
versions. A finding of the previous version about a layer this version does not send again is "carried
over, unchanged", never "resolved"; the area tables are made from the effective class layers
(``atlas.products.national_summary``). "Resolved" (a problem gone since the last version) is a different
word from "repaired" (a change the pipeline made in its own copy).

The previous version's ``report.json`` (in its processed folder) and the layers this version carries
over are the only inputs besides the current report, so a resubmission's report can be rebuilt at any time.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from atlas import layout


def previous_report(processed: Path, country: str, deliverable: str, version: int) -> dict | None:
    """The report.json of the newest earlier version that has one, or None (first version, or none readable)."""
    for earlier in range(int(version) - 1, 0, -1):
        path = layout.national_dir(processed, country, deliverable, earlier) / "report.json"
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
    return None


def finding_key(f: dict) -> tuple:
    """What makes two versions' findings 'the same problem': the check and where (file names may change)."""
    loc = f.get("location") or {}
    lon, lat = loc.get("lon"), loc.get("lat")
    return (f["check_id"], loc.get("layer"), loc.get("feature"), loc.get("band"), tuple(loc.get("window") or ()),
            None if lon is None else round(lon, 3), None if lat is None else round(lat, 3))


def coarse_key(f: dict) -> tuple:
    """The same check in the same layer: a problem still there whose example pixel or feature moved."""
    return (f["check_id"], (f.get("location") or {}).get("layer"))


def match(previous: list[dict], current: list[dict]) -> tuple[list[dict], list[dict], list[dict]]:
    """(fixed, new, unchanged): exact places first, then the same check in the same layer."""
    fixed, new = list(previous), []
    unchanged = []
    for key in (finding_key, coarse_key):
        pool: dict[tuple, list[dict]] = {}
        for f in fixed:
            pool.setdefault(key(f), []).append(f)
        still_new = []
        for f in (current if key is finding_key else new):
            candidates = pool.get(key(f))
            if candidates:
                fixed.remove(candidates.pop(0))
                unchanged.append(f)
            else:
                still_new.append(f)
        new = still_new
    return fixed, new, unchanged


def _per_check(findings: list[dict], checks: dict) -> list[dict]:
    counted = Counter((f["check_id"], f["severity"]) for f in findings)
    rows = [{"check_id": cid, "severity": sev, "count": n,
             "description": (checks.get(cid) or {}).get("description", "")} for (cid, sev), n in counted.items()]
    order = ["error", "warning", "fixed", "info"]
    return sorted(rows, key=lambda r: (order.index(r["severity"]) if r["severity"] in order else 9, r["check_id"]))


def _area_rows(before: dict | None, after: dict | None) -> list[dict]:
    old = {r["name"]: r["area_km2"] for r in (before or {}).get("rows", [])}
    new = {r["name"]: r["area_km2"] for r in (after or {}).get("rows", [])}
    names = list(dict.fromkeys([*new, *old]))  # this version's order (by area, or by depth and class)
    return [{"name": k, "before_km2": old.get(k), "after_km2": new.get(k),
             "change_km2": round(new.get(k, 0.0) - old.get(k, 0.0), 3)} for k in names]


def _layer_key(location: dict, files: dict[str, str]) -> str | None:
    """The layer ("ECe_0-30") a finding is about: by its file (the version's layer table) or its layer name."""
    if (key := files.get(str(location.get("file") or "").lower())) is not None:
        return key
    layer = str(location.get("layer") or "")
    return layer.replace(" ", "_") if layer else None


def split_carried(previous: dict, carried: set[str]) -> tuple[list[dict], list[dict]]:
    """(findings about layers this version carries over, the others) of the previous report."""
    files = {str(r.get("file", "")).lower(): f"{r['layer']}_{r['depth']}"
             for r in (previous.get("meta") or {}).get("layers") or []
             if r.get("file") and r.get("layer") and r.get("depth")}
    kept, rest = [], []
    for f in previous.get("findings", []):
        (kept if carried and _layer_key(f.get("location") or {}, files) in carried else rest).append(f)
    return kept, rest


def compare(previous: dict, findings: list[dict], checks: dict, areas: dict | None,
            carried: dict[str, int] | None = None) -> dict:
    """The 'changes' section of a report: per check, findings resolved, new, unchanged and carried over; areas.

    ``carried``: {"ECe_0-30": 1}, the layers this version keeps from earlier versions (see ``carried_layers``).
    """
    kept, sent = split_carried(previous, set(carried or {}))
    resolved, new, unchanged = match(sent, findings)
    all_checks = {**previous.get("checks", {}), **checks}
    prev_meta = previous.get("meta", {})
    prev_areas = previous.get("areas")
    return {
        "since_version": prev_meta.get("version"),
        "previous_verdict": previous.get("verdict"),
        "previous_counts": previous.get("counts"),
        "resolved": _per_check(resolved, all_checks),
        "carried": _per_check(kept, all_checks),
        "new": _per_check(new, all_checks),
        "unchanged": _per_check(unchanged, all_checks),
        "areas_by": (areas or prev_areas or {}).get("by"),
        "areas": _area_rows(prev_areas, areas) if (prev_areas or areas) else [],
        "areas_note": _areas_note(prev_areas, areas, prev_meta.get("version")),
    }


def _areas_note(before: dict | None, after: dict | None, since: int | None) -> str | None:
    if before is None and after is None:
        return None
    if before is None:
        return f"version {since}'s report has no area table, so there is nothing to compare this version's with"
    if after is None:
        return ("this version has no area table: none of its class maps, sent or carried over, could be read "
                "or derived")
    return None


def carried_layers(ledger, country: str, deliverable: str, version: int) -> dict[str, int]:
    """The layers a version carries over from earlier ones ({"SAS_0-30": 1}): the one place reports ask.

    Asked of ``Ledger.carried_layers``, which reads the run's one resolved state (``atlas.ledger.resolve``:
    the layers of the accepted version before this one in the resolved order); this is the only place the
    reports ask, so "what changed", the areas and the layer table agree with the products.
    """
    if ledger is None or deliverable != "salinity_map":
        return {}
    return dict(ledger.carried_layers(country, version, deliverable))
