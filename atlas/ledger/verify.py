"""`atlas verify`: does the current release agree with itself, with the ledger and with the national copies?

One line per disagreement (an empty list: verified). The release's own checks are those it passed
before it became current (``atlas.products.release_checks``: checksums against STAC, STAC sources =
build manifest, no empty product, provenance within data); here they are run again, because files
can change after publication, and two more are added: every version's publication state in the ledger
is what the release holds of it (maps and regional tables: published, partly published, else never
published or partly published; a replaced version reads superseded), and sampled product pixels equal the
harmonized national copy of the version (and, for carried-over layers, the earlier version) they come from.
"""

from __future__ import annotations

from pathlib import Path

from atlas import layout
from atlas.config import Programme
from atlas.ledger.schema import PARTLY_PUBLISHED, PUBLISHED, STATE_LABELS
from atlas.ledger.store import Ledger
from atlas.products import release_checks
from atlas.products.regional import salinity_inputs
from atlas.products.release_checks import holdings


def verify_release(programme: Programme, ledger: Ledger, samples: int = 200) -> list[str]:
    """Every disagreement found in the current release, one line each."""
    processed = programme.processed_dir
    name = layout.current_release_name(processed)
    release = layout.current_release(processed)
    if name is None:
        return ["no current release: regional/CURRENT names none (no run has published the products yet)"]
    if not release.is_dir():
        return [f"regional/CURRENT names release {name}, but {release} does not exist"]
    problems = release_checks.check_release(release)
    problems += _ledger_agrees(ledger, release)
    problems += release_checks.sample_national(release, _national_sources(programme, ledger, release), samples)
    return problems


def _ledger_agrees(ledger: Ledger, release: Path) -> list[str]:
    """Each version's publication state in the ledger is what the release holds of it: ``published`` exactly the
    versions its products are built from, ``partly_published`` exactly the earlier versions whose layers they
    carry, and no other version published or partly published (a replaced one reads ``superseded``)."""
    problems = []
    held = holdings(release)
    name = release.name
    states = ledger.version_states()
    for deliverable, holding in sorted(held.items()):  # a version the release holds that the ledger does not know
        for iso3, version in sorted({*holding.held.items(), *holding.carried}):
            if (iso3, deliverable, version) not in states:
                problems.append(f"{holding.product} in release {name} holds {iso3} {deliverable} v{version}; the "
                                "ledger has no such version")
    for (iso3, deliverable, version), state in sorted(states.items()):
        holding = held.get(deliverable)
        if holding is None:
            if state in (PUBLISHED, PARTLY_PUBLISHED):
                problems.append(f"the ledger says {iso3} {deliverable} v{version} is {STATE_LABELS[state]}; release "
                                f"{name} holds no {deliverable} product")
            continue
        where = f"{holding.product} in release {name}"
        current = holding.held.get(iso3)
        if current == version:
            expected, what = PUBLISHED, "is built from it"
        elif (iso3, version) in holding.carried:
            layers = holding.carried[(iso3, version)]
            expected = PARTLY_PUBLISHED
            what = f"holds {len(layers)} of its layers, carried over by v{current}"
        else:
            if state in (PUBLISHED, PARTLY_PUBLISHED):
                holds = f"holds v{current}" if current else f"holds no {iso3} data"
                problems.append(f"the ledger says {iso3} {deliverable} v{version} is {STATE_LABELS[state]}; {where} "
                                f"{holds} and none of v{version}'s data (it should read superseded)")
            continue
        if state != expected:
            problems.append(f"{where} {what} ({iso3} {deliverable} v{version}); the ledger says v{version} is "
                            f"{STATE_LABELS.get(state, state)}, not {STATE_LABELS[expected]}")
    return problems


def _national_sources(programme: Programme, ledger: Ledger, release: Path) -> dict[str, dict[str, Path]]:
    """{iso3: {"ECe_0-30": national copy}} of the versions the salinity product holds, layer by layer."""
    manifest = release_checks.manifests(release).get(layout.SALINITY)
    if not manifest or "unreadable" in manifest:
        return {}
    held = release_checks.included(manifest)
    # each layer from the version whose file holds it, as the product was built (the resolved state's)
    layer_versions = {iso3: layers for iso3, layers in (manifest.get("layers") or {}).items() if iso3 in held}
    for iso3, version in held.items():
        record = next((r for r in ledger.versions(iso3, "salinity_map") if r.version == version), None)
        if iso3 not in layer_versions and record is not None:
            layer_versions[iso3] = ledger.layers(record.id)
    inputs = salinity_inputs(programme, held, layer_versions)
    return {iso3: {f"{layer}_{depth}": path for (layer, depth), path in found.items()}
            for iso3, found in inputs.items()}
