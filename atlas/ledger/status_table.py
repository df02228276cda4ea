"""The status table as text: the state palette, the summary, terminal and markdown renderings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from atlas.finding import Location
from atlas.ledger.schema import ACCEPTED_STATES, NOT_RECEIVED, STATE_LABELS, STATES, StatusRow

# One palette for every export (xlsx, html, maps, terminal): ColorBrewer RdYlGn-like so that
# "further along" reads greener; rejected is the only red.
PALETTE: dict[str, str] = {
    "not_received": "#BDBDBD",
    "received": "#9ECAE1",
    "rejected": "#D7301F",
    "accepted_with_warnings": "#FDAE61",
    "accepted": "#D9EF8B",
    "harmonized": "#66BD63",
    "partly_published": "#3FA650",
    "published": "#1A9850",
    "superseded": "#9DB5A4",  # was published; a later version replaced it in the current release
}
NON_MEMBER_COLOUR = "#F2F2F2"
OVERDUE_COLOUR = "#B2182B"
# The timeliness rule in words, printed with every table export (docs/LEDGER.md, "On time / late").
TIMELINESS_RULE = (
    "On time / late is measured by the first accepted delivery. A delivery completed (all layers) or "
    "updated after the deadline keeps that verdict and shows the date it was completed or updated."
)


def text_colour(fill: str) -> str:
    """Black or white, whichever reads better on ``fill`` (relative luminance)."""
    r, g, b = (int(fill.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4))
    return "#000000" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.45 else "#FFFFFF"


@dataclass(frozen=True)
class DeliverableSummary:
    deliverable: str
    members: int
    submitted: int  # any version arrived
    accepted: int  # some version accepted (or further)
    published: int
    overdue: int
    late: int = 0  # accepted, but the first accepted version arrived after the deadline
    kind: str = ""
    completed_later: int = 0  # delivered, then completed or updated after the deadline (not late for that)

    def sentence(self, title: str | None = None) -> str:
        parts = [f"{self.submitted} of {self.members} countries submitted", f"{self.accepted} accepted"]
        if self.kind != "document":  # documents are accepted, never published into a product
            parts.append(f"{self.published} published")
        if self.late:
            parts.append(f"{self.late} late")
        if self.completed_later:
            parts.append(f"{self.completed_later} completed or updated after the deadline")
        parts.append(f"{self.overdue} overdue")
        return f"{title or self.deliverable}: " + ", ".join(parts)


def status_summary(rows: Sequence[StatusRow]) -> list[DeliverableSummary]:
    """n of N countries submitted (and accepted, published, late, overdue), per deliverable, in row order."""
    keys = list(dict.fromkeys(r.deliverable for r in rows))
    out = []
    for key in keys:
        sel = [r for r in rows if r.deliverable == key]
        out.append(DeliverableSummary(
            deliverable=key,
            members=len(sel),
            submitted=sum(r.versions > 0 or r.state != NOT_RECEIVED for r in sel),
            accepted=sum(r.shown_state in ACCEPTED_STATES for r in sel),
            published=sum(r.published_version is not None for r in sel),
            overdue=sum(r.overdue for r in sel),
            late=sum(r.shown_state in ACCEPTED_STATES and (r.days_late or 0) > 0 for r in sel),
            kind=sel[0].kind if sel else "",
            completed_later=sum(r.completed_later() is not None for r in sel),
        ))
    return out


def states_present(rows: Sequence[StatusRow]) -> list[str]:
    """The states some row is in, in pipeline order: a legend lists only these."""
    present = {r.shown_state for r in rows}
    return [s for s in STATES if s in present]


def pivot(rows: Sequence[StatusRow]) -> tuple[list[str], list[tuple[str, str, dict[str, StatusRow]]]]:
    """Deliverable keys and one (iso3, name, {deliverable: row}) per country, in row order."""
    keys = list(dict.fromkeys(r.deliverable for r in rows))
    countries: dict[str, tuple[str, dict[str, StatusRow]]] = {}
    for r in rows:
        countries.setdefault(r.country, (r.name, {}))[1][r.deliverable] = r
    return keys, [(iso3, name, cells) for iso3, (name, cells) in countries.items()]


def deadline_header(key: str, programme=None) -> str:
    """A column header: the deliverable (title when the programme is known) and its deadline."""
    deliverable = programme.deliverables.get(key) if programme is not None else None
    title = deliverable.title if deliverable else key
    due = deliverable.deadline if deliverable else None
    return f"{title} (due {due.isoformat()})" if due else title


def _ansi(fill: str, text: str) -> str:
    r, g, b = (int(fill.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4))
    fg = "30" if text_colour(fill) == "#000000" else "97"
    return f"\x1b[{fg};48;2;{r};{g};{b}m{text}\x1b[0m"


def render_status_table(rows: Sequence[StatusRow], color: bool = False, programme=None) -> str:
    """The countries x deliverables table for a terminal (ANSI colours when ``color``); deadlines in the header."""
    keys, countries = pivot(rows)
    due = {k: programme.deliverables[k].deadline for k in keys if programme and k in programme.deliverables}
    header = ["ISO3", "Country", *(f"{k} (due {due[k].isoformat()})" if due.get(k) else k for k in keys)]
    body = [[iso3, name, *(cells[k].cell() for k in keys)] for iso3, name, cells in countries]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def line(values: list[str], fills: list[str | None]) -> str:
        parts = []
        for value, width, fill in zip(values, widths, fills, strict=True):
            text = value.ljust(width)
            parts.append(_ansi(fill, text) if (color and fill) else text)
        return " | ".join(parts).rstrip()

    out = [line(header, [None] * len(header)), "-+-".join("-" * w for w in widths)]
    for (_, _, cells), values in zip(countries, body, strict=True):
        out.append(line(values, [None, None, *(PALETTE[cells[k].shown_state] for k in keys)]))
    out.append("")
    out.extend(s.sentence() for s in status_summary(rows))
    return "\n".join(out)


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def status_markdown(rows: Sequence[StatusRow], title: str | None = None, as_of: str | None = None,
                    programme=None) -> str:
    """The status table and summary in Markdown (status.md and the Prefect artifact)."""
    keys, countries = pivot(rows)
    out = []
    if title:
        out += [f"# {title}", ""]
    if as_of:
        out += [f"Status as of {as_of}.", ""]
    titles = {k: programme.deliverables[k].title for k in keys if programme and k in programme.deliverables}
    out += [f"- {s.sentence(titles.get(s.deliverable))}" for s in status_summary(rows)] + [""]
    out.append("| ISO3 | Country | " + " | ".join(_md_escape(deadline_header(k, programme)) for k in keys) + " |")
    out.append("|---|---|" + "---|" * len(keys))
    for iso3, name, cells in countries:
        values = []
        for k in keys:
            r = cells[k]
            text = _md_escape(r.cell())
            values.append(f"**{text}**" if r.overdue else text)
        out.append(f"| {iso3} | {_md_escape(name)} | " + " | ".join(values) + " |")
    out += ["", "States: " + ", ".join(STATE_LABELS[s] for s in states_present(rows)) + "; overdue in bold.",
            "", TIMELINESS_RULE]
    return "\n".join(out) + "\n"


def status_records(rows: Sequence[StatusRow]) -> list[dict]:
    """One flat dict per country x deliverable (CSV rows, Prefect table artifact)."""
    return [
        {
            "country": r.country,
            "name": r.name,
            "deliverable": r.deliverable,
            "state": r.shown_state,
            "version": r.best_version,
            "received": r.best_received.isoformat() if r.best_received else None,
            "timeliness": r.timeliness(),
            "days_late": max(r.days_late, 0) if r.days_late is not None else None,  # on time: 0, never negative
            "delivered_version": r.delivered_version,
            "delivered": r.delivered.isoformat() if r.delivered else None,
            "completion": r.completion(),
            "coverage": r.coverage,
            "later_versions": "; ".join(f"v{v} {STATE_LABELS[s]}" for v, s in r.later),
            "earlier_versions": r.earlier_words(),  # "v1, v2 superseded by v3 on 2026-12-03"
            "newest_version": r.version,
            "newest_state": r.state,
            "versions": r.versions,
            "last_accepted_version": r.last_accepted_version,
            "published_version": r.published_version,
            "deadline": r.deadline.isoformat() if r.deadline else None,
            "overdue": r.overdue,
            "errors": r.errors,
            "warnings": r.warnings,
            "updated": r.updated,
        }
        for r in rows
    ]


def render_country_history(ledger, country: str, today=None, show_info: bool = False) -> str:
    """A country's deliverables, every version and state change, and the findings of its last submissions."""
    iso3 = country.upper()
    programme = ledger.programme
    if iso3 not in programme.members:
        matches = [k for k, v in programme.members.items() if v.lower() == country.lower()]
        if not matches:
            return f"{country}: not a member country (members: {', '.join(programme.members)})"
        iso3 = matches[0]
    state = ledger.published_state(today)  # one state for the rows and the versions below
    rows = [r for r in ledger.status_rows(today, state=state) if r.country == iso3]
    out = [f"{programme.members[iso3]} ({iso3})", ""]
    for r in rows:
        deadline = f" (due {r.deadline.isoformat()})" if r.deadline else ""
        out.append(f"  {r.deliverable:<16} {r.cell()}{deadline}")
    out += ["", "Versions (delivery date, then arrival; what the current release holds of each):"]
    for key in programme.deliverables:
        for v in state.order.get((iso3, key), ()):
            words = v.publication() or _state_words(v.state)
            out.append(f"  {key:<16} v{v.version:<3} {v.received.isoformat()}  {words}")
    out += ["", "History:"]
    events = ledger.history(iso3)
    if not events:
        out.append("  nothing received yet")
    for e in events:
        version = f"v{e['version']}" if e["version"] else ""
        before, after = _state_words(e["from_state"]), _state_words(e["to_state"])
        if e["to_state"] == "received" and (e["version"] or 0) > 1:
            # from_state is the deliverable's state before this version arrived, i.e. the previous version's
            change = f"received (resubmission; v{e['version'] - 1} was {before})"
        elif e["from_state"] == e["to_state"]:
            change = after
        else:
            change = f"{before} -> {after}"
        details = "; ".join(str(x) for x in (e["note"], e["product"] and f"product {e['product']}",
                                             e["run_id"] and f"run {str(e['run_id'])[:8]}") if x)
        out.append(f"  {_when(e['at'])}  {e['deliverable']:<16} {version:<5} {change}" + (f"  ({details})" if details
                                                                                  else ""))
    out += ["", "Findings of the last submissions:"]
    out.extend(_findings_lines(ledger, iso3, show_info) or ["  none"])
    return "\n".join(out)


SEVERITY_ORDER = ("error", "warning", "fixed", "info")


def _findings_lines(ledger, iso3: str, show_info: bool) -> list[str]:
    """Per deliverable: the newest validated version, its errors, warnings and fixes (info only counted)."""
    out = []
    for key in ledger.programme.deliverables:
        findings = ledger.last_findings(iso3, key)
        validated = [v for v in ledger.versions(iso3, key) if v.verdict is not None]
        if not validated:
            continue
        record = validated[-1]
        report = f", report {_readable_report(record.report_path)}" if record.report_path else ""
        out.append(f"  {key} v{record.version}: {_state_words(record.verdict)}{report}")
        findings.sort(key=lambda f: SEVERITY_ORDER.index(f["severity"]) if f["severity"] in SEVERITY_ORDER else 9)
        hidden = {"fixed": 0, "info": 0}
        for f in findings:
            if f["severity"] in hidden and not show_info:  # repairs and notes: counted, listed in the report
                hidden[f["severity"]] += 1
                continue
            loc = _where(f.get("location"))
            out.append(f"    [{f['severity']}] {f['check_id']}: {f['message']}" + (f" ({loc})" if loc else ""))
            if f.get("hint"):
                out.append(f"        fix: {f['hint']}")
        if any(hidden.values()):
            counted = [f"{n} {'fix' if kind == 'fixed' else 'note'}{'es' if kind == 'fixed' and n != 1 else ''}"
                       f"{'s' if kind == 'info' and n != 1 else ''}" for kind, n in hidden.items() if n]
            out.append(f"    and {' and '.join(counted)} made or noted by the pipeline, listed in the report")
    return out


def _readable_report(report_path) -> str:
    """The report a person opens (report.html beside the stored report.json), else the stored path."""
    html = Path(report_path).with_name("report.html")
    return str(html) if html.is_file() else str(report_path)


def _where(location: dict | None) -> str:
    """A finding's place in words (file, layer, pixel rows and columns, lon/lat to 5 decimals), as reports say it."""
    if not location:
        return ""
    loc = dict(location)
    if loc.get("window") is not None:
        loc["window"] = tuple(loc["window"])
    known = {k: v for k, v in loc.items() if k in Location.__dataclass_fields__}
    return Location(**known).describe()


def _state_words(state: str | None) -> str:
    """'accepted_with_warnings' -> 'accepted with warnings' (the words of the status table)."""
    return STATE_LABELS.get(state, str(state).replace("_", " ")) if state else "none"


def _when(stamp: str) -> str:
    """'2026-12-03T10:55:29+00:00' -> '2026-12-03 10:55 UTC' (the ledger stores UTC)."""
    text = str(stamp)
    return f"{text[:10]} {text[11:16]} UTC" if len(text) >= 16 and text[10] == "T" else text
