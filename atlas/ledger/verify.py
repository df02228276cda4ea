"""`atlas verify`: does the current release agree with itself, with the ledger and with the national copies?

One line per disagreement (an empty list: verified). The release's own checks are those it passed
before it became current (``atlas.products.release_checks``: checksums against STAC, STAC sources =
build manifest, no empty product, provenance within data); here they are run again, because files
can change after publication, and two more are added: the ledger's published versions are the ones
the manifests say each product holds, and sampled product pixels equal the harmonized national copy
of the version (and, for carried-over layers, the earlier version) they come from.
"""

from __future__ import annotations

from pathlib import Path

from atlas import layout
from atlas.config import Programme
from atlas.ledger.schema import PARTLY_PUBLISHED, PUBLISHED
from atlas.ledger.store import Ledger
from atlas.products import release_checks
from atlas.products.regional import salinity_inputs


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
    """The ledger says published exactly the versions each product's build manifest says it holds, and
    partly published the earlier versions whose layers it carries."""
    problems = []
    published = ledger.published_versions()
    for folder, manifest in release_checks.manifests(release).items():
        deliverable, product = manifest.get("deliverable"), manifest.get("product")
        if not deliverable:
            continue
        held = release_checks.included(manifest)
        where = f"{folder}/build_manifest.json"
        for iso3, version in sorted(held.items()):
            if published.get((iso3, deliverable)) != version:
                said = published.get((iso3, deliverable))
                problems.append(f"{product} holds {iso3} v{version} ({where}); the ledger's published "
                                f"{deliverable} of {iso3} is {f'v{said}' if said else 'none'}")
        for (iso3, key), version in sorted(published.items()):
            if key == deliverable and iso3 not in held:
                problems.append(f"the ledger says {iso3} {deliverable} v{version} is published; {product} holds "
                                f"no {iso3} data ({where})")
        carried = {(e["country"], int(e["version"])) for entries in (manifest.get("sources") or {}).values()
                   for e in entries if e["country"] in held and int(e["version"]) != held[e["country"]]}
        for iso3, version in sorted(carried):
            state = next((r.state for r in ledger.versions(iso3, deliverable) if r.version == version), None)
            if state not in (PARTLY_PUBLISHED, PUBLISHED):
                problems.append(f"{product} holds layers of {iso3} v{version}, carried over ({where}); the ledger "
                                f"says v{version} is {state or 'unknown'}, not partly published")
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
