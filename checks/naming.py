"""Which file is which salinity layer, and which layers a submission holds (SPEC §2; ``checks.layers`` decides)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from atlas.config import Programme, SalinitySpec
from atlas.finding import Location, Severity
from checks.layers import LayerFile, Resolution, manifest_line, resolve_layers
from checks.registry import Hit, check

PRODUCTS = ("salinity_map",)
ISO3_PREFIX = re.compile(r"^([A-Za-z]{3})(?=[_\-. ])")


@dataclass(frozen=True)
class SalinityName:
    iso3: str | None
    layer: str
    depth: str
    exact: bool  # True only for the canonical name exactly as the programme writes it
    source: str = "canonical name"  # canonical name | recognised alias | manifest


def salinity_name(lf: LayerFile | None, spec: SalinitySpec) -> SalinityName | None:
    """The SalinityName of a resolved file (None if it is not a recognised layer)."""
    if lf is None or lf.key is None:
        return None
    exact = lf.source == "canonical name" and lf.iso3 is not None and \
        lf.path.name == spec.file_name(lf.iso3, lf.layer, lf.depth)
    return SalinityName(lf.iso3, lf.layer, lf.depth, exact, lf.source)


def parse_salinity_name(name: str, spec: SalinitySpec) -> SalinityName | None:
    """(ISO3, layer, depth) of one file name alone (no manifest): canonical name or recognised alias."""
    return salinity_name(resolve_layers([Path(name)], spec).files[0] if Path(name).suffix.lower() in
                         (".tif", ".tiff") else None, spec)


def country_from_name(name: str, members: dict[str, str]) -> str | None:
    """The member ISO3 code a file name starts with, if any."""
    m = ISO3_PREFIX.match(name)
    return m.group(1).upper() if m and m.group(1).upper() in members else None


def _proposal(ctx, lf: LayerFile | None) -> str:
    """The manifest.csv line to add: what the name said filled in, choices as a|b, the rest as <placeholders>."""
    if lf is None:
        return manifest_line(ctx.name)
    return manifest_line(lf.path.name, *lf.candidates)


@check("naming.file_pattern", Severity.ERROR, "raster", PRODUCTS,
       "The file's layer and depth cannot be told from its name (nor from a manifest.csv line).",
       "rename the file {ISO3}_GSSmap_{layer}_{depth}.tif (e.g. {ISO3}_GSSmap_ECe_0-30.tif), or add a line "
       "'file,layer,depth,legend' for it to the delivery's manifest.csv")
def check_file_pattern(ctx):
    lf = ctx.extra.get("resolved")
    if ctx.parsed is None and (lf is None or lf.source != "ambiguous"):
        why = f" ({lf.detail})" if lf is not None and lf.detail else ""
        yield Hit(f"{ctx.name!r} does not name a GSSmap layer and depth{why}; add to manifest.csv: "
                  f"{_proposal(ctx, lf)}", ctx.loc(), observed=ctx.name, expected=_proposal(ctx, lf))


@check("naming.layer_ambiguous", Severity.ERROR, "raster", PRODUCTS,
       "The file's name names more than one property or depth, so which layer it is stays open.",
       "add a line 'file,layer,depth,legend' for the file to the delivery's manifest.csv")
def check_ambiguous(ctx):
    lf = ctx.extra.get("resolved")
    if lf is not None and lf.source == "ambiguous":
        yield Hit(f"{ctx.name!r} is ambiguous ({lf.detail}); add to manifest.csv: {_proposal(ctx, lf)}",
                  ctx.loc(), observed=lf.detail, expected=_proposal(ctx, lf))


@check("naming.layer_identified", Severity.INFO, "raster", PRODUCTS,
       "How the file was taken as its layer: an alias countries use, a case variant, or a manifest.csv line.",
       "nothing to do; the canonical name {ISO3}_GSSmap_{layer}_{depth}.tif needs no interpretation")
def check_identified(ctx):
    p = ctx.parsed
    if p is not None and not p.exact:
        canonical = ctx.programme.salinity.file_name(p.iso3 or ctx.country or "ISO", p.layer, p.depth)
        yield Hit(f"{ctx.name!r} taken as layer {p.layer}, depth {p.depth} (from {p.source})", ctx.loc(),
                  observed=ctx.name, expected=canonical)


@check("naming.country_mismatch", Severity.ERROR, "raster", PRODUCTS,
       "The ISO3 code in the file name is not the submitting country.",
       "use the submitting country's ISO3 code at the start of the file name")
def check_country(ctx):
    p = ctx.parsed
    if p is not None and p.iso3 and ctx.country and p.source == "canonical name" and p.iso3.upper() != ctx.country:
        yield Hit(f"file name says {p.iso3}, submission is from {ctx.country}", ctx.loc(),
                  observed=p.iso3, expected=ctx.country)


@dataclass(frozen=True)
class SubmissionContext:
    """The files of one salinity submission together."""

    files: tuple[Path, ...]
    programme: Programme
    country: str | None
    name: str = "submission"
    carried: frozenset[str] = frozenset()  # layers ("ECe_0-30") kept from the last accepted version

    @cached_property
    def resolution(self) -> Resolution:
        return resolve_layers(self.files, self.programme.salinity)


def _found_layers(ctx) -> set[tuple[str, str]]:
    return set(ctx.resolution.layers)


@check("naming.layer_missing", Severity.ERROR, "submission", PRODUCTS,
       "A salinity layer the programme requires (layer and depth) is not in the submission.",
       "add the missing GeoTIFFs, one per layer and depth, named {ISO3}_GSSmap_{layer}_{depth}.tif")
def check_layer_missing(ctx):
    spec = ctx.programme.salinity
    found = _found_layers(ctx)
    found |= _carried(ctx)  # layers kept from the last accepted version count (carry-over)
    missing = [f"{layer} {depth}" for layer, depth in spec.layer_keys()
               if spec.is_required(layer, depth) and (layer, depth) not in found]
    if missing:
        carried = f" ({len(ctx.carried)} carried over from the last accepted version)" if ctx.carried else ""
        yield Hit(f"{len(missing)} of {len(spec.required_layers)} required layers missing: {', '.join(missing)}"
                  + carried, Location(file=ctx.country), observed=sorted(f"{a} {b}" for a, b in found),
                  expected=missing)


def _carried(ctx) -> set[tuple[str, str]]:
    """(layer, depth) of the layers this version keeps from the last accepted one."""
    return {tuple(key.rsplit("_", 1)) for key in ctx.carried}


@check("naming.layer_optional_missing", Severity.INFO, "submission", PRODUCTS,
       "Optional layers not in this submission (partial deliveries are normal); products use what arrived.",
       "nothing to do; send the other layers when they are ready")
def check_optional_missing(ctx):
    spec = ctx.programme.salinity
    found = _found_layers(ctx)
    missing = [f"{layer} {depth}" for layer, depth in spec.layer_keys()  # a layer kept from before is not missing
               if not spec.is_required(layer, depth) and (layer, depth) not in found | _carried(ctx)]
    kept = sorted(f"{layer} {depth}" for layer, depth in _carried(ctx) - found)
    if missing and found:
        yield Hit(f"{len(found)} of {len(spec.layer_keys())} layers delivered; optional layers not sent: "
                  f"{', '.join(missing)}" + (f"; kept from the last accepted version: {', '.join(kept)}"
                                             if kept else ""),
                  Location(file=ctx.country), observed=len(found), expected=missing)


@check("naming.class_layer_missing", Severity.WARNING, "submission", PRODUCTS,
       "The salt-affected soil class layer is missing for a depth; the pipeline derives it from ECe and ESP.",
       "send {ISO3}_GSSmap_SAS_{depth}.tif if the country has its own class map; otherwise nothing to do")
def check_class_layer_missing(ctx):
    spec = ctx.programme.salinity
    found = _found_layers(ctx) | _carried(ctx)
    # a required class layer is reported by naming.layer_missing; this note is for depths where it is optional
    # and classes can be derived (ECe and ESP sent or carried over)
    missing = [d for d in spec.depths if (spec.class_layer, d) not in found
               and not spec.is_required(spec.class_layer, d) and ("ECe", d) in found and ("ESP", d) in found]
    if missing:
        yield Hit(f"no {spec.class_layer} class layer for depth {', '.join(missing)}: classes will be derived from "
                  "ECe, ESP and pH with the programme's criterion and marked as derived in the regional product",
                  Location(file=ctx.country, layer=spec.class_layer), observed=None,
                  expected=[spec.file_name(ctx.country or "ISO", spec.class_layer, d) for d in missing])


@check("naming.layer_duplicate", Severity.ERROR, "submission", PRODUCTS,
       "Two files claim the same layer and depth.",
       "keep one file per layer and depth, or say which is which in manifest.csv")
def check_layer_duplicate(ctx):
    for (layer, depth), files in ctx.resolution.layers.items():
        if len(files) > 1:
            names = [f"{f.path.name} ({f.source})" for f in files]
            yield Hit(f"layer {layer} {depth} claimed by {len(files)} files: {', '.join(names)}",
                      Location(file=files[0].path.name, layer=f"{layer} {depth}"), observed=names, expected=1)


@check("naming.manifest_invalid", Severity.ERROR, "submission", PRODUCTS,
       "Lines of manifest.csv name a layer or depth the programme does not have (or the columns are wrong).",
       "write manifest.csv with columns file,layer,depth,legend; layers and depths as in programme.toml")
def check_manifest(ctx):
    for problem in ctx.resolution.manifest_problems:
        yield Hit(f"manifest.csv {problem}", Location(file="manifest.csv"), observed=problem)


@check("naming.text_file_unknown", Severity.INFO, "submission", PRODUCTS,
       "A text file beside the rasters is not a manifest, a lookup table of class codes or a metafile; ignored.",
       "nothing to do if it is a note; a lookup table needs rows of a code and a class name")
def check_text_unknown(ctx):
    for lf in ctx.resolution.by_kind("unknown"):
        yield Hit(f"{lf.path.name}: {lf.detail}; ignored", Location(file=lf.path.name), observed=lf.path.name)
