"""File and layer naming of salinity submissions: {ISO3}_GSSmap_{layer}_{depth}.tif."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from atlas.config import Programme, SalinitySpec
from checks.finding import Location, Severity
from checks.registry import Hit, check

PRODUCTS = ("salinity_map",)
ISO3_PREFIX = re.compile(r"^([A-Za-z]{3})(?=[_\-. ])")


@dataclass(frozen=True)
class SalinityName:
    iso3: str
    layer: str
    depth: str
    exact: bool  # False when only a case-insensitive match


def _pattern(spec: SalinitySpec, flags: int = 0) -> re.Pattern:
    names = [*spec.layers, *spec.layer_aliases()]
    layers = "|".join(sorted(map(re.escape, names), key=len, reverse=True))
    depths = "|".join(map(re.escape, spec.depths))
    regex = re.escape(spec.file_pattern).replace(r"\{iso3\}", r"(?P<iso3>[A-Za-z]{3})")
    regex = regex.replace(r"\{layer\}", f"(?P<layer>{layers})").replace(r"\{depth\}", f"(?P<depth>{depths})")
    return re.compile(f"^{regex}$", flags)


def parse_salinity_name(name: str, spec: SalinitySpec) -> SalinityName | None:
    """(ISO3, layer, depth) from a file name; case variants are recognised but marked not exact."""
    aliases = spec.layer_aliases()
    if m := _pattern(spec).match(name):
        return SalinityName(m["iso3"], aliases.get(m["layer"], m["layer"]), m["depth"], m["layer"] in spec.layers)
    if m := _pattern(spec, re.IGNORECASE).match(re.sub(r"\.tiff$", ".tif", name, flags=re.IGNORECASE)):
        layer = next(x for x in [*spec.layers, *aliases] if x.lower() == m["layer"].lower())
        return SalinityName(m["iso3"].upper(), aliases.get(layer, layer), m["depth"], False)
    return None


def country_from_name(name: str, members: dict[str, str]) -> str | None:
    """The member ISO3 code a file name starts with, if any."""
    m = ISO3_PREFIX.match(name)
    return m.group(1).upper() if m and m.group(1).upper() in members else None


@check("naming.file_pattern", Severity.ERROR, "raster", PRODUCTS,
       "The file name does not follow {ISO3}_GSSmap_{layer}_{depth}.tif, so its layer and depth are unknown.",
       "rename the file, e.g. PAK_GSSmap_ECe_0-30.tif (layers ECe pH ESP SAS ECe_unc pH_unc ESP_unc SAS_unc, "
       "depths 0-30 30-100)")
def check_file_pattern(ctx):
    spec = ctx.programme.salinity
    if ctx.parsed is None:
        yield Hit(f"{ctx.name!r} does not name a GSSmap layer and depth", ctx.loc(), observed=ctx.name,
                  expected=spec.file_pattern)
    elif not ctx.parsed.exact:
        p = ctx.parsed
        yield Hit(f"{ctx.name!r} read as layer {p.layer}, depth {p.depth}; exact name expected",
                  ctx.loc(), observed=ctx.name, expected=spec.file_name(p.iso3, p.layer, p.depth),
                  severity=Severity.WARNING)


@check("naming.country_mismatch", Severity.ERROR, "raster", PRODUCTS,
       "The ISO3 code in the file name is not the submitting country.",
       "use the submitting country's ISO3 code at the start of the file name")
def check_country(ctx):
    if ctx.parsed is not None and ctx.country and ctx.parsed.iso3.upper() != ctx.country:
        yield Hit(f"file name says {ctx.parsed.iso3}, submission is from {ctx.country}", ctx.loc(),
                  observed=ctx.parsed.iso3, expected=ctx.country)


@dataclass(frozen=True)
class SubmissionContext:
    """The files of one salinity submission together."""

    files: tuple[Path, ...]
    programme: Programme
    country: str | None
    name: str = "submission"
    carried: frozenset[str] = frozenset()  # layers ("ECe_0-30") kept from the last accepted version


@check("naming.layer_missing", Severity.ERROR, "submission", PRODUCTS,
       "A required salinity layer ([salinity] required_layers) is not in the submission.",
       "add the missing GeoTIFFs, one per layer and depth, named {ISO3}_GSSmap_{layer}_{depth}.tif")
def check_layer_missing(ctx):
    spec = ctx.programme.salinity
    found = _found_layers(ctx)
    # a required class layer can be derived from ECe and ESP of its depth (naming.class_layer_missing warns)
    found |= {tuple(key.rsplit("_", 1)) for key in ctx.carried}  # kept from the last accepted version
    derivable = {f"{spec.class_layer}_{d}" for d in spec.depths if {("ECe", d), ("ESP", d)} <= found}
    have = {f"{layer}_{depth}" for layer, depth in found}
    missing = [key for key in spec.required_layers if key not in have and key not in derivable]
    if missing:
        carried = f" (carried over from the last accepted version: {', '.join(sorted(ctx.carried))})" \
            if ctx.carried else ""
        yield Hit(f"{len(missing)} of {len(spec.required_layers)} required layers missing: {', '.join(missing)}"
                  + carried, Location(file=ctx.country), observed=sorted(have), expected=missing)


@check("naming.layers_partial", Severity.INFO, "submission", PRODUCTS,
       "A partial delivery: some optional layers are not in it (normal, SPEC §2); with carry-over they are kept "
       "from the last accepted version.",
       "nothing to do; send the other layers when they are ready")
def check_layers_partial(ctx):
    spec = ctx.programme.salinity
    have = {f"{layer}_{depth}" for layer, depth in _found_layers(ctx)}
    absent = [key for key in spec.layer_key_names() if key not in have and key not in spec.required_layers]
    if absent and have:
        kept = sorted(set(absent) & ctx.carried)
        yield Hit(f"{len(have)} of {len(spec.layer_keys())} layers delivered; optional layers not sent: "
                  f"{', '.join(absent)}" + (f"; kept from the last accepted version: {', '.join(kept)}" if kept
                                            else ""),
                  Location(file=ctx.country), observed=sorted(have), expected=absent)


@check("naming.class_layer_missing", Severity.WARNING, "submission", PRODUCTS,
       "The salt-affected soil class layer is missing for a depth; the pipeline derives it from ECe and ESP.",
       "send {ISO3}_GSSmap_SAS_{depth}.tif if the country has its own class map; otherwise nothing to do")
def check_class_layer_missing(ctx):
    spec = ctx.programme.salinity
    found = _found_layers(ctx) | {tuple(key.rsplit("_", 1)) for key in ctx.carried}
    # a class layer is derived only where ECe and ESP of its depth exist (sent or carried over)
    missing = [depth for depth in spec.depths
               if (spec.class_layer, depth) not in found and {("ECe", depth), ("ESP", depth)} <= found]
    if missing:
        yield Hit(f"no {spec.class_layer} class layer for depth {', '.join(missing)}: classes will be derived from "
                  "ECe and ESP with the programme's thresholds and marked as derived in the regional product",
                  Location(file=ctx.country, layer=spec.class_layer), observed=None,
                  expected=[spec.file_name(ctx.country, spec.class_layer, d) for d in missing])


def _found_layers(ctx) -> set[tuple[str, str]]:
    return {(p.layer, p.depth) for f in ctx.files if f.suffix.lower() in (".tif", ".tiff")
            if (p := parse_salinity_name(f.name, ctx.programme.salinity))}


@check("naming.layer_duplicate", Severity.ERROR, "submission", PRODUCTS,
       "Two files claim the same layer and depth.", "keep one file per layer and depth")
def check_layer_duplicate(ctx):
    seen: dict[tuple[str, str], list[str]] = {}
    for f in ctx.files:
        if p := parse_salinity_name(f.name, ctx.programme.salinity):
            seen.setdefault((p.layer, p.depth), []).append(f.name)
    for (layer, depth), names in seen.items():
        if len(names) > 1:
            yield Hit(f"layer {layer} {depth} delivered {len(names)} times: {', '.join(names)}",
                      Location(file=names[0], layer=f"{layer} {depth}"), observed=names, expected=1)
