"""What a run would have to do, found without starting Prefect: new submissions, stale products or exports.

``atlas run`` asks this first; when nothing is pending it says so and exits in well under two seconds
instead of starting a Prefect server to find out. Only light modules are imported here (no GDAL
readers, no drawing): the answer must come faster than the imports of the pipeline itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from atlas import layout
from atlas.config import Programme
from atlas.intake.inbox import discover
from atlas.ledger.export_state import boundaries_identity, ledger_fingerprint, unchanged_exports
from atlas.ledger.schema import RECEIVED
from atlas.ledger.store import Ledger
from atlas.products.build_manifest import is_up_to_date, product_settings, tables_outdated
from atlas.products.release_checks import holdings
from atlas.state import PUBLICATION

# The regional products and the deliverable each is built from (as in flows.pipeline._regional).
REGIONAL = (("salinity_map", "GSSmap", layout.regional_salinity_dir), ("soil_map", "Soil Atlas WRB",
                                                                        layout.regional_soil_dir))


@dataclass
class Pending:
    """The inbox's submission versions and the reasons a run has work to do (none: nothing new)."""

    versions: int = 0
    reasons: list[str] = field(default_factory=list)

    @property
    def nothing_new(self) -> bool:
        return not self.reasons


def pending_work(programme: Programme, country: str | None = None, deliverable: str | None = None,
                 today: dt.date | None = None) -> Pending:
    """Why a run of the pipeline (with this selection) would do anything; stops at the first few reasons."""
    if not programme.ledger_path.is_file():
        return Pending(reasons=[f"no ledger yet at {programme.ledger_path}"])
    subs, _ = discover(programme.raw_dir, programme.members, tables=programme.table_keys())
    subs = [s for s in subs if (country is None or s.country == country.upper())
            and (deliverable is None or s.deliverable == deliverable)]
    out = Pending(versions=len(subs))
    with Ledger(programme.ledger_path, programme) as ledger:
        for sub in subs:
            record = ledger.find(sub.country, sub.deliverable, sub.checksum)
            if record is None:
                out.reasons.append(f"new: {sub.country}/{sub.deliverable} delivery {sub.delivery}")
            elif record.state == RECEIVED:
                out.reasons.append(f"not yet validated: {sub.country}/{sub.deliverable} v{record.version}")
            elif not (layout.national_dir(programme.processed_dir, sub.country, sub.deliverable, record.version)
                      / "report.json").is_file():
                out.reasons.append(f"no report yet: {sub.country}/{sub.deliverable} v{record.version}")
            if len(out.reasons) >= 3:
                return out
        published = ledger.published_versions()
        state = ledger.state(today)  # the run's resolved state: which version (and layer) each product holds
        for key, product, folder in REGIONAL:
            versions = state.current_versions(key)
            layers = state.layer_versions(key) if key == "salinity_map" else None
            if versions and not is_up_to_date(folder(programme.processed_dir), versions,
                                              product_settings(programme, key), layers):
                out.reasons.append(f"{product} to rebuild")
            elif any(published.get((iso3, key)) != v for iso3, v in versions.items()):
                out.reasons.append(f"{product}: versions to mark published")
        current = layout.current_release(programme.processed_dir)
        if tables_outdated(programme, state.current_versions, current):
            out.reasons.append("regional tables to merge into a release")
        # the ledger's publication states against what the current release holds (a ledger of before "superseded")
        published_state = state.published(holdings(current) if current.is_dir() else {})
        said = {k: s for k, s in ledger.version_states().items() if s in PUBLICATION}
        if said != published_state.publication_states():
            out.reasons.append("ledger states to bring in line with the current release")
        today = today or dt.date.today()
        fingerprint = ledger_fingerprint(ledger.status_rows(today), programme, programme.status.formats, today,
                                         boundaries_identity(programme))
    if unchanged_exports(layout.status_dir(programme.processed_dir), fingerprint) is None:
        out.reasons.append("status exports to redraw (ledger, day or [status] formats changed)")
    return out


def unprocessed(programme: Programme, country: str | None = None) -> int:
    """How many submission versions in the inbox no run has validated yet (all of them before the first run)."""
    subs, _ = discover(programme.raw_dir, programme.members, tables=programme.table_keys())  # as the run finds them
    subs = [s for s in subs if country is None or s.country == country]
    if not programme.ledger_path.is_file():
        return len(subs)
    with Ledger(programme.ledger_path, programme) as ledger:
        records = (ledger.find(s.country, s.deliverable, s.checksum) for s in subs)
        return sum(1 for record in records if record is None or record.state == RECEIVED)


def unprocessed_line(programme: Programme, country: str | None = None) -> str | None:
    """The sentence `atlas status` adds when the inbox holds work no run has done yet, else None."""
    count = unprocessed(programme, country)
    if not count:
        return None
    where = f"for {country} " if country else ""
    return (f"{count} submission{'s' if count != 1 else ''} in the inbox {where}({programme.raw_dir}) "
            f"{'are' if count != 1 else 'is'} not processed yet: `atlas run` validates "
            f"{'them' if count != 1 else 'it'} and updates the status.")
