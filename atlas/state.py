"""The programme's resolved state for a run: which version and delivery each country's data comes from.

One value, computed once per run from the ledger by one ordering rule (``atlas.ledger.resolve``, rule in
docs/LEDGER.md) and passed down to every stage that needs it: the mosaic's inputs, the provenance legend,
the STAC sources, the build manifest, the ledger's published states, the status cells, the accuracy table
and ``atlas validate``. A shared module: plain frozen values, importable by every stage, importing none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from atlas.finding import Finding
from atlas.wording import plural

SENT, CARRIED, DERIVED = "sent", "carried", "derived"  # how a layer of a version is in it
# the ledger's publication states (atlas.ledger.schema takes them from here): what the release holds of a version
PARTLY_PUBLISHED, PUBLISHED, SUPERSEDED = "partly_published", "published", "superseded"
PUBLICATION = frozenset({PARTLY_PUBLISHED, PUBLISHED, SUPERSEDED})


@dataclass(frozen=True)
class LayerSource:
    """Where one layer of a country's deliverable comes from.

    ``layer`` is the layer and depth of a salinity map ("ECe_0-30"), or the deliverable's key for a
    deliverable without layers (a soil map, a document). ``how``: ``sent`` by that version, ``carried``
    over from an earlier delivery (``version`` is the one whose file holds it), or ``derived`` (a class
    layer the programme computes from the ECe, ESP and pH sources, listed in ``inputs``).
    """

    country: str
    deliverable: str
    layer: str
    version: int
    delivery: str
    how: str = SENT
    path: str | None = None  # the harmonized national copy holding the data
    accuracy: Mapping[str, float] = field(default_factory=dict)  # statistics its metafile states
    inputs: tuple[LayerSource, ...] = ()  # derived layers: the layers they are computed from


@dataclass(frozen=True)
class VersionState:
    """One version in the resolved order, with its effective layers (what it sent plus what it carries)."""

    country: str
    deliverable: str
    version: int
    delivery: str
    received: dt.date
    state: str  # the ledger's state of the version
    accepted: bool
    layers: Mapping[str, LayerSource] = field(default_factory=dict)  # layer -> source (accepted versions only)
    since: dt.date | None = None  # when the version got its state (the ledger's last change of it)
    by: int | None = None  # partly published or superseded: the version the current release holds instead
    in_release: tuple[str, ...] = ()  # partly published: its layers the current release holds (carried over)
    product: str | None = None  # the product whose release gave it its publication state

    @property
    def carried(self) -> dict[str, int]:
        """{layer: source version} of the layers this version keeps from earlier deliveries."""
        return {k: s.version for k, s in self.layers.items() if s.how == CARRIED}

    def publication(self) -> str:
        """The publication state in words, as every record says it: "superseded by v3 on 2026-12-03",
        "partly published: 4 layers carried over by v3", "published"; "" before publication."""
        if self.state == SUPERSEDED:
            by = f" by v{self.by}" if self.by else ""
            return f"superseded{by}" + (f" on {self.since.isoformat()}" if self.since else "")
        if self.state == PARTLY_PUBLISHED:
            layers = plural(len(self.in_release), "layer") if self.in_release else "layers"
            return f"partly published: {layers} carried over" + (f" by v{self.by}" if self.by else "")
        return "published" if self.state == PUBLISHED else ""


@dataclass(frozen=True)
class Holding:
    """What the current release holds of one deliverable's versions, as its product's build manifest says.

    ``held``: the version of each country the product is built from; ``carried``: earlier versions whose
    layers the held version carries into the product, with those layers; ``left_out``: why a current version
    is not in the product (no reference polygon, ...).
    """

    deliverable: str
    product: str
    release: str
    held: Mapping[str, int] = field(default_factory=dict)
    carried: Mapping[tuple[str, int], tuple[str, ...]] = field(default_factory=dict)
    left_out: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ResolvedState:
    """Every country x deliverable's versions in the resolved order, and which one is current.

    ``order`` holds every version the rule admits (future-dated deliveries are refused, with a finding in
    ``refused``), oldest first; ``current`` the version each product is built from (the last accepted one).
    """

    today: dt.date
    order: Mapping[tuple[str, str], tuple[VersionState, ...]] = field(default_factory=dict)
    current: Mapping[tuple[str, str], int] = field(default_factory=dict)
    refused: tuple[Finding, ...] = ()
    holdings: Mapping[str, Holding] = field(default_factory=dict)  # by deliverable: set by ``published``

    def published(self, holdings: Mapping[str, Holding], on: dt.date | None = None) -> ResolvedState:
        """This state with the current release's outcome: the one value every record is written from.

        For each deliverable the release holds (``holdings``, from its build manifests), an accepted version
        reads ``published`` if the product is built from it, ``partly_published`` if the held version carries
        some of its layers into the product, and ``superseded`` if it was published before and the release
        holds none of its data now. Nothing is a high-water mark: a version reads what the current release
        holds of it. Versions of deliverables the release does not hold keep their state. ``on``: the day
        (today) a version that changes publication state gets as ``since``.
        """
        on = on or self.today
        order = {}
        for (iso3, key), versions in self.order.items():
            holding = holdings.get(key)
            order[(iso3, key)] = tuple(_publication(v, holding, on) if holding is not None else v for v in versions)
        return replace(self, order=order, holdings=dict(holdings))

    def publication_states(self) -> dict[tuple[str, str, int], str]:
        """{(country, deliverable, version): state} of every version in a publication state."""
        return {(v.country, v.deliverable, v.version): v.state for versions in self.order.values()
                for v in versions if v.state in PUBLICATION}

    def version(self, country: str, deliverable: str, version: int) -> VersionState | None:
        return next((v for v in self.order.get((country, deliverable), ()) if v.version == version), None)

    def current_state(self, country: str, deliverable: str) -> VersionState | None:
        version = self.current.get((country, deliverable))
        return None if version is None else self.version(country, deliverable, version)

    def current_versions(self, deliverable: str) -> dict[str, int]:
        """{iso3: version} the products of ``deliverable`` are built from."""
        return {c: v for (c, d), v in sorted(self.current.items()) if d == deliverable}

    def layer_versions(self, deliverable: str = "salinity_map") -> dict[str, dict[str, int]]:
        """{iso3: {layer: source version}} of the current versions (sent and carried layers)."""
        out = {}
        for iso3, version in self.current_versions(deliverable).items():
            layers = self.effective_layers(iso3, deliverable, version)
            if layers:
                out[iso3] = {k: s.version for k, s in sorted(layers.items())}
        return out

    def effective_layers(self, country: str, deliverable: str, version: int) -> dict[str, LayerSource]:
        """The layers of version ``version`` of ``country``: those it sent plus those it carries over.

        Empty for a version that is not accepted (or not in the ledger). What "what changed" compares.
        """
        found = self.version(country, deliverable, version)
        return dict(found.layers) if found is not None else {}

    def inherited(self, country: str, deliverable: str, version: int) -> dict[str, LayerSource]:
        """The effective layers of the accepted version just before ``version`` in the order: what a
        partial delivery ``version`` would carry over (empty when it comes first)."""
        before = None
        for v in self.order.get((country, deliverable), ()):
            if v.version == version:
                break
            if v.accepted:
                before = v
        return dict(before.layers) if before is not None else {}

    def derived(self, country: str, deliverable: str, class_layer: str, depths) -> dict[str, LayerSource]:
        """The class layers the programme derives for the current version: depths without a class layer
        of their own, with ECe and ESP (and pH where there is one) as ``inputs``."""
        version = self.current.get((country, deliverable))
        if version is None:
            return {}
        layers = self.effective_layers(country, deliverable, version)
        out = {}
        for depth in depths:
            if f"{class_layer}_{depth}" in layers or not {f"ECe_{depth}", f"ESP_{depth}"} <= set(layers):
                continue
            inputs = tuple(layers[k] for k in (f"ECe_{depth}", f"ESP_{depth}", f"pH_{depth}") if k in layers)
            out[f"{class_layer}_derived_{depth}"] = LayerSource(
                country, deliverable, f"{class_layer}_derived_{depth}", version,
                self.current_state(country, deliverable).delivery, DERIVED, inputs=inputs)
        return out

    def versions_in(self, country: str, deliverable: str) -> set[int]:
        """Every version whose files the current version's layers come from (its own and carried ones)."""
        version = self.current.get((country, deliverable))
        if version is None:
            return set()
        return {s.version for s in self.effective_layers(country, deliverable, version).values()} | {version}


def _publication(v: VersionState, holding: Holding, on: dt.date) -> VersionState:
    """One version's publication state from what the release holds (``ResolvedState.published``)."""
    if not v.accepted:
        return v
    held = holding.held.get(v.country)
    if held == v.version:
        state, by, layers = PUBLISHED, None, ()
    elif (v.country, v.version) in holding.carried:
        state, by, layers = PARTLY_PUBLISHED, held, tuple(sorted(holding.carried[(v.country, v.version)]))
    elif v.state in PUBLICATION:  # it was in a release; the current one holds none of its data
        state, by, layers = SUPERSEDED, held, ()
    else:
        return v
    unchanged = state == v.state and v.since is not None
    if unchanged and state == SUPERSEDED and v.by is not None:
        by = v.by  # superseded earlier: by the version the release held then, on that day
    return replace(v, state=state, by=by, in_release=layers, since=v.since if unchanged else on,
                   product=holding.product)
