"""What a person reads first: the verdict in one sentence, what to fix in order, findings grouped by check.

Built from the JSON report (the single source of the data); the HTML and
Markdown templates only lay this out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from atlas.reports.border_rows import border_values, neighbour_rows
from atlas.reports.values import KM2_VALUED, for_people, human, km2, number

ORDER = ("error", "warning", "fixed", "info")
LAYER_COLUMNS = ("file", "layer", "depth", "taken_from", "detail")  # salinity: which file is which layer
FIRST_ROWS = 3  # rows of a group shown before the rest is folded away
SECTION_TITLES = {"error": "Errors: must be fixed", "warning": "Warnings: should be fixed",
                  "fixed": "Repaired by the pipeline", "info": "For the record"}
NOTHING_TO_DO = "nothing to do"
# the badges: "repaired" (by the pipeline) is not "resolved" (a problem gone since the last version)
BADGE_WORDS = {"fixed": "repaired", "info": "for the record"}
CROSSWALK_CHECK = "wrb.crosswalk_template"
OWN_SECTION = (CROSSWALK_CHECK,)  # findings shown in a section of their own, not among the grouped findings


@dataclass
class Row:
    where: str
    what: str
    observed: str
    expected: str


@dataclass
class Group:
    """Every finding of one check at one severity."""

    check_id: str
    severity: str
    count: int
    rule: str  # what the check looks at, in plain words (the registry's description)
    action: str  # what the reader should do
    asks_nothing: bool
    rows: list[Row] = field(default_factory=list)
    more: list[Row] = field(default_factory=list)

    @property
    def times(self) -> str:
        return "once" if self.count == 1 else f"{self.count} times"


def describe_location(loc: dict, country: str | None = None) -> str:
    """A location in words: file, layer, band, features, pixels, coordinates.

    A stage that addresses a finding to a country by naming it as the "feature" says nothing a reader needs:
    the country's own code is left out.
    """
    parts = []
    if loc.get("file") and not (country and str(loc["file"]) == country):
        parts.append(str(loc["file"]))
    if loc.get("sheet"):  # tables: sheet, row, column as the spreadsheet shows them
        parts.append(f"sheet “{loc['sheet']}”")
    if loc.get("row") is not None:
        parts.append(f"row {loc['row']}")
    if loc.get("column"):
        parts.append(f"column “{loc['column']}”")
    if loc.get("layer"):
        parts.append(f"layer {loc['layer']}")
    if loc.get("band") is not None:
        parts.append(f"band {loc['band']}")
    if loc.get("feature") is not None and not (country and str(loc["feature"]) == country):
        ids = [i.strip() for i in str(loc["feature"]).split(",") if i.strip()]
        parts.append(("features " if len(ids) > 1 else "feature ") + ", ".join(ids))
    if loc.get("window") is not None:
        c, r, w, h = loc["window"]
        parts.append(f"pixel column {c}, row {r}" if w == 1 and h == 1
                     else f"pixels columns {c}–{c + w - 1}, rows {r}–{r + h - 1}")
    if loc.get("lon") is not None and loc.get("lat") is not None:
        lon, lat = loc["lon"], loc["lat"]
        parts.append(f"at {abs(lat):.4f}°{'N' if lat >= 0 else 'S'} {abs(lon):.4f}°{'E' if lon >= 0 else 'W'}")
    return ", ".join(parts) or "the whole submission"


def _own(message: str, country: str | None) -> str:
    """A message without the "THA: " a regional stage puts in front to say whose it is (the report says it)."""
    prefix = f"{country}: "
    if not country or not message.startswith(prefix) or len(message) == len(prefix):
        return message
    rest = message[len(prefix):]
    return rest[0].upper() + rest[1:]


def _values(f: dict, key: str) -> tuple[str, str]:
    """(found, expected) in words."""
    return border_values(f) or (human(f.get("observed"), key), human(f.get("expected"), key))


def action_text(severity: str, hint: str | None) -> tuple[str, bool]:
    """(what the reader should do, whether that is nothing); info and fixed rows that ask nothing say so."""
    hint = (hint or "").strip()
    quiet = hint.lower().startswith(NOTHING_TO_DO)
    tip = hint[len(NOTHING_TO_DO):].lstrip(" ;:,.") if quiet else hint
    if severity in ("error", "warning"):
        return (hint or "see the rule above"), False
    if severity == "fixed":
        lead = "No action needed: the pipeline repaired this in its processed copy; your file is unchanged."
        return (f"{lead} Tip: {tip}." if tip else lead), True
    if quiet or not hint:
        return ("No action needed." + (f" Tip: {tip}." if tip else "")), True
    return f"No action needed for acceptance. If this is not intended: {hint}.", True


def group_findings(report: dict) -> dict[str, list[Group]]:
    """Findings grouped per severity, then per check (most frequent first within a severity)."""
    checks = report.get("checks", {})
    country = (report.get("meta") or {}).get("country")
    grouped: dict[str, dict[str, list[dict]]] = {sev: {} for sev in ORDER}
    for f in report.get("findings", []):
        if f["check_id"] in OWN_SECTION:
            continue
        grouped.setdefault(f["severity"], {}).setdefault(f["check_id"], []).append(f)
    out: dict[str, list[Group]] = {}
    for sev in ORDER:
        groups = []
        for cid, items in grouped.get(sev, {}).items():
            entry = checks.get(cid) or {}
            # a finding's own hint can name the neighbour or file; distinct ones are all kept
            hints = list(dict.fromkeys(f["hint"] for f in items if f.get("hint"))) or [entry.get("hint")]
            hint = "; ".join(h for h in hints if h)
            if country:  # a hint's example file name in the country's own code
                hint = hint.replace("{ISO3}", country)
            action, quiet = action_text(sev, hint)
            key = "area_km2" if cid in KM2_VALUED else ""
            rows = [Row(describe_location(f.get("location") or {}, country),
                        for_people(_own(f["message"], country).replace(" km2", " km²")), *_values(f, key))
                    for f in items]
            groups.append(Group(cid, sev, len(items), for_people(entry.get("description") or items[0]["message"]),
                                for_people(action),
                                quiet, rows[:FIRST_ROWS], rows[FIRST_ROWS:]))
        out[sev] = sorted(groups, key=lambda g: (-g.count, g.check_id))
    return out


def counts_of(report: dict, severity: str) -> int:
    """Findings of a severity shown among the grouped findings (the crosswalk has its own section)."""
    own = sum(1 for f in report.get("findings", []) if f["severity"] == severity and f["check_id"] in OWN_SECTION)
    return int((report.get("counts") or {}).get(severity, 0)) - own


def _thing(meta: dict) -> str:
    return meta.get("deliverable_title") or str(meta.get("deliverable") or "submission").replace("_", " ")


def _title(meta: dict) -> str:
    """Heading: 'Viet Nam: National soil classification map in WRB, version 2'."""
    who = meta.get("country_name") or meta.get("country")
    version = f", version {meta['version']}" if meta.get("version") is not None else ""
    return f"{who}: {_thing(meta)}{version}" if who else f"{_thing(meta)}{version}"


def _what(meta: dict) -> str:
    """In a sentence: "version 2 of Viet Nam's national soil classification map in WRB"."""
    thing = _thing(meta)
    thing = thing[0].lower() + thing[1:] if thing[:2] != thing[:2].upper() else thing  # keep acronyms (GSSmap)
    who = meta.get("country_name") or meta.get("country")
    owner = f"{who}'s {thing}" if who else f"the {thing}"
    return f"version {meta['version']} of {owner}" if meta.get("version") is not None else owner


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def verdict_sentence(report: dict) -> str:
    """The verdict in one sentence a focal point can act on."""
    meta, counts, result = report.get("meta", {}), report.get("counts", {}), report.get("verdict")
    what = _what(meta)
    errors, warnings = counts.get("error", 0), counts.get("warning", 0)
    error_checks = len({f["check_id"] for f in report.get("findings", []) if f["severity"] == "error"})
    if meta.get("stage"):
        return (f"This is what the {meta['stage']} changed in {what} where it meets its neighbours; "
                "nothing needs to be sent back unless a border below is wrong.")
    if result == "rejected":
        more = f", and {_n(warnings, 'warning')} should be looked at" if warnings else ""
        return (f"{what[0].upper()}{what[1:]} is not accepted: {_n(errors, 'error')} from {_n(error_checks, 'check')} "
                f"must be fixed and the files sent again{more}.")
    if result == "accepted_with_warnings":
        return (f"{what[0].upper()}{what[1:]} is accepted with {_n(warnings, 'warning')}: it will be used as it is, "
                "and the warnings are worth fixing in the next version.")
    return f"{what[0].upper()}{what[1:]} is accepted: nothing needs fixing."


# The wrong kind of map, in the order they are said: the root problem comes first, and the findings it causes
# (no rsg1, shares, coverage of a map that is not a soil map) are folded into it instead of leading the list.
WRONG_KIND = ("vector.geometry_type", "wrb.no_soil_classes", "vector.outside_territory",
              "raster.values_look_like_classes", "raster.class_values_continuous")
CONSEQUENCES = {
    "vector.geometry_type": ("wrb.no_soil_classes", "vector.field_missing", "wrb.share_sum", "wrb.missing",
                             "wrb.code_unknown", "vector.coverage_gap", "vector.spill", "vector.outside_territory"),
    "wrb.no_soil_classes": ("vector.field_missing", "wrb.share_sum", "wrb.missing", "wrb.code_unknown"),
    "vector.outside_territory": ("vector.coverage_gap", "vector.spill"),
    "raster.values_look_like_classes": ("raster.ece_units_suspect", "raster.ece_probability_suspect",
                                        "raster.range", "raster.ece_high"),
}


def _line(g: Group) -> str:
    rule = g.rule[:1].upper() + g.rule[1:]
    return f"{rule.rstrip('.')} ({g.times}, {g.severity}): {g.action.rstrip('.')}."


def fix_list(groups: dict[str, list[Group]]) -> list[str]:
    """'What to fix, in order': the wrong kind of map first (its consequences folded in), then errors, then
    warnings, one line per check with its count."""
    ordered = [g for sev in ("error", "warning") for g in groups.get(sev, [])]
    roots = sorted((g for g in ordered if g.check_id in WRONG_KIND and g.severity == "error"),
                   key=lambda g: WRONG_KIND.index(g.check_id))
    lines, folded = [], set()
    for root in roots:
        if root.check_id in folded:
            continue
        caused = [g for g in ordered if g.check_id in CONSEQUENCES.get(root.check_id, ()) and g is not root]
        folded |= {root.check_id, *(g.check_id for g in caused)}
        also = (" This also explains: " + "; ".join(f"{g.rule.rstrip('.').lower()} ({g.times})" for g in caused)
                + ". Those go away with the right map.") if caused else ""
        lead = root.rows[0].what if root.count == 1 and root.rows else root.rule  # says what the file is
        lines.append(f"{lead[0].upper()}{lead[1:].rstrip('.')} ({root.times}, error): {root.action.rstrip('.')}."
                     f"{also}")
    lines += [_line(g) for g in ordered if g.check_id not in folded]
    return lines


CHANGE_LABELS = (("resolved", "resolved"), ("new", "new"), ("unchanged", "unchanged"),
                 ("carried", "carried over, unchanged"))


def changes_summary(changes: dict) -> str:
    """'3 findings resolved, 1 new, 2 unchanged; 12 about layers carried over, unchanged (not sent again).'"""
    total = {key: sum(r["count"] for r in changes.get(key) or []) for key, _ in CHANGE_LABELS}
    resolved = f"{_n(total['resolved'], 'finding')} resolved" if total["resolved"] else "Nothing resolved"
    text = f"{resolved} since then; {total['new']} new, {total['unchanged']} unchanged."
    if total["carried"]:
        text += (f" {_n(total['carried'], 'finding')} concern layers this version carries over (not sent again): "
                 "carried over, unchanged.")
    return text


def change_rows(changes: dict) -> list[dict]:
    """One row per check and kind of change, with the change in words."""
    return [{**r, "change": label} for key, label in CHANGE_LABELS for r in changes.get(key) or []]


def area_rows(changes: dict) -> list[dict]:
    """Area table rows with human values and the change in km² and %."""
    rows = []
    for r in changes.get("areas") or []:
        before, after = r.get("before_km2"), r.get("after_km2")
        if before:
            pct = 100 * ((after or 0.0) - before) / before
            rel = f"{'+' if pct >= 0 else ''}{number(round(pct, 1 if abs(pct) >= 0.1 else 2))} %"
        else:
            rel = "new"
        change = r.get("change_km2") or 0.0
        rows.append({"name": r["name"], "before": km2(before) if before is not None else "—",
                     "after": km2(after) if after is not None else "—",
                     "change": ("+" if change > 0 else "") + km2(change) if change else "no change",
                     "relative": rel if change else ""})
    return rows


def crosswalk_section(report: dict) -> dict | None:
    """The crosswalk to fill in, every class with its area, units and suggested group (None if none is asked)."""
    hit = next((f for f in report.get("findings", []) if f["check_id"] == CROSSWALK_CHECK
                and isinstance(f.get("observed"), dict)), None)
    if hit is None:
        return None
    observed = hit["observed"]
    rows = [{"legacy_class": r.get("legacy_class", ""), "legend": r.get("legend", ""),
             "units": number(int(r.get("features") or 0)),
             "area": km2(r["area_km2"]) if r.get("area_km2") else "—",
             "suggested": " ".join(x for x in (r.get("suggested_rsg"), r.get("suggested_name")) if x) or "—"}
            for r in observed.get("rows", [])]
    return {"file": observed.get("file"), "column": observed.get("column") or (observed.get("rows") or [{}])[0].get(
        "map_column"), "map_file": (hit.get("location") or {}).get("file"), "rows": rows}


def view(report: dict, map_svg: str | None = None, map_file: str | None = None) -> dict:
    """Everything the templates need, from the JSON report."""
    groups = group_findings(report)
    meta = report.get("meta", {})
    changes = report.get("changes")
    if meta.get("country_name") and meta.get("country") and meta["country_name"] != meta["country"]:
        meta = {**meta, "country": f"{meta['country_name']} ({meta['country']})"}
    facts = [(label, meta[key]) for key, label in (
        ("country", "Country"), ("deliverable_title", "Deliverable"), ("version", "Version"),
        ("received", "Received"), ("checked", "Checked"), ("checksum", "Checksum (sha256)"))
        if meta.get(key) not in (None, "")]
    if not meta.get("deliverable_title") and meta.get("deliverable"):
        facts.insert(1, ("Deliverable", meta["deliverable"]))
    return {
        "report": report,
        "meta": meta,
        "title": _title(meta),
        "heading": "Harmonization report" if meta.get("stage") else "Validation report",
        "sentence": verdict_sentence(report),
        "verdict": report.get("verdict"),
        "counts": {sev: counts_of(report, sev) for sev in ORDER},
        "fix": fix_list(groups),
        "sections": [(sev, SECTION_TITLES[sev], groups[sev]) for sev in ORDER if groups.get(sev)],
        "facts": facts,
        "files": meta.get("files") or [],
        "layers": [[row.get(k) or (f"({row.get('kind', '')})" if k == "layer" else "") for k in LAYER_COLUMNS]
                   for row in meta.get("layers") or []],
        "map_svg": map_svg,
        "map_file": map_file,
        "changes": changes,
        "area_rows": area_rows(changes) if changes else [],
        "changes_summary": changes_summary(changes) if changes else "",
        "change_rows": change_rows(changes) if changes else [],
        "badges": [(sev, f"{counts_of(report, sev)} {BADGE_WORDS[sev]}" if sev in BADGE_WORDS
                    else _n(counts_of(report, sev), sev)) for sev in ORDER],
        "crosswalk": crosswalk_section(report),
        "neighbours": neighbour_rows(report),
        "areas": report.get("areas"),
        "generated": report.get("generated"),
    }
