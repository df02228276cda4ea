"""Class maps bound to their legend (SPEC §2): a delivered class code means nothing without it.

The GSP manual's script writes a class map as the alphabetical rank of each class *name* among the names present
in that country, with a lookup table beside it (R ``write.table``: ``"classcode" "mapvalue"`` then
``3 "ModerateSalinity"``). So a class map is bound to, in this order: the lookup table its ``manifest.csv`` line
names, or the programme legend if that line says ``programme``; a lookup table in the delivery for its depth
(or the only one). Names are matched to the programme legend ignoring case, spaces, hyphens and underscores;
nothing is ever guessed.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from atlas.config import SalinitySpec, class_key
from checks.layers import PROGRAMME_LEGEND, LayerFile, Resolution, depths_in, read_text

MAX_DISTINCT_CODES = 256


_QUOTED = re.compile(r'"(?:[^"\\]|\\.|"")*"')


def _separator(lines: list[str]) -> str:
    """The table's field separator, read outside quoted text: tab, semicolon, comma, else spaces (R write.table)."""
    bare = _QUOTED.sub("", lines[0]) if lines else ""
    return next((sep for sep in ("\t", ";", ",") if sep in bare), " ")


def _rows(text: str) -> list[tuple[int, list[str]]]:
    """(line number, fields) of every non-empty line, split with the csv module's quoting rules.

    R's ``write.table`` quotes text and separates fields by one space, so ``2 "Pond (water, not soil)"`` is a code
    and one name; a comma, semicolon or tab outside quotes makes the whole table that kind of CSV.
    """
    numbered = [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    sep = _separator([line for _, line in numbered])
    options = {"delimiter": sep, "quotechar": '"', "skipinitialspace": True}
    if sep == " ":
        options["escapechar"] = "\\"  # write.table's default qmethod "escape" writes \" inside quotes
    rows = []
    for n, line in numbered:
        try:
            fields = next(csv.reader([line], **options))
        except csv.Error:
            fields = [line]  # left as one field: reported as a malformed line
        rows.append((n, [f.strip() for f in fields if f.strip() or sep != " "]))
    return rows


def _is_int(text: str) -> bool:
    return re.fullmatch(r"[+-]?\d+(\.0+)?", text.strip()) is not None


def parse_lookup_table(text: str) -> tuple[dict[int, str], list[str]]:
    """(code -> class name, problems) of a lookup table: R write.table (with or without row names) or CSV.

    A row is a code (integer) and a name (text); a header row (no integer) is skipped.
    """
    table: dict[int, str] = {}
    problems: list[str] = []
    rows = _rows(text)
    header = rows[0][1] if rows and not any(_is_int(f) for f in rows[0][1]) else None
    for n, row in rows[1:] if header else rows:
        if header and len(row) == len(header) + 1:
            row = row[1:]  # write.table(row.names = TRUE) puts a row name first
        ints = [f for f in row if _is_int(f)]
        names = [f for f in row if f and not _is_int(f)]
        shown = " ".join(row)
        if len(ints) == 1 and len(names) == 1:
            code = int(float(ints[0]))
            if code in table and table[code] != names[0]:
                problems.append(f"line {n}: code {code} given twice ({table[code]!r}, {names[0]!r})")
            table[code] = names[0]
        elif len(ints) == 2 and not names:
            problems.append(f"line {n}: {shown!r} has two numbers and no class name")
        else:
            problems.append(f"line {n}: {shown!r} is not a code and a class name (quote a name that holds spaces "
                            "or commas)")
    return table, problems


def looks_like_lookup_table(text: str) -> bool:
    """Rows of one integer code and one class name, at least one of them, nothing else."""
    table, problems = parse_lookup_table(text)
    # a table with a malformed line is still a table (legend.table_invalid names the line); a note is not
    return bool(table) and (not problems or len(table) > len(problems))


METAFILE_LEGEND_KEYS = ("legend", "class codes", "classes", "class legend", "map legend")
METAFILE_ENTRY = re.compile(r"^\s*(\d+)\s*[=:\-]\s*\"?([A-Za-z][A-Za-z _-]*?)\"?\s*$")


def metafile_legend(text: str) -> dict[int, str]:
    """code -> name from a metafile's legend key ('Legend  1 = None', values running on over indented lines)."""
    table: dict[int, str] = {}
    inside = False
    for line in text.splitlines():
        if line[:1].strip():  # a key line starts at the margin
            key = line.strip().lower()
            inside = key.startswith(METAFILE_LEGEND_KEYS)
            if not inside:
                continue
            for prefix in sorted(METAFILE_LEGEND_KEYS, key=len, reverse=True):
                if key.startswith(prefix):
                    line = line.strip()[len(prefix):]
                    break
        if inside and (m := METAFILE_ENTRY.match(line.strip())):
            table[int(m[1])] = m[2].strip()
    return table


@dataclass(frozen=True)
class Legend:
    """What a class map's codes mean: its source and the mapping onto the programme legend."""

    source: str  # "programme legend (manifest)" or the lookup table's file name
    names: dict[int, str]  # delivered code -> class name as written
    mapping: dict[int, int] = field(default_factory=dict)  # delivered code -> programme code
    outside: dict[int, str] = field(default_factory=dict)  # delivered code -> name not in the programme legend
    problems: tuple[str, ...] = ()

    def lut(self, nodata: int) -> np.ndarray:
        """A 256-entry array: delivered Byte code -> programme code (nodata where unmapped)."""
        out = np.full(256, nodata, dtype="uint8")
        for code, target in self.mapping.items():
            if 0 <= code < 256:
                out[code] = target
        return out

    def describe(self, spec: SalinitySpec) -> dict[str, str]:
        """code -> "'name as written', class 3 Moderate salinity" for reports and the product's legend."""
        return {str(c): (f"{n!r}, class {self.mapping[c]} {spec.display(self.mapping[c])}" if c in self.mapping
                         else f"{n!r}, not in the programme legend") for c, n in sorted(self.names.items())}


# A majority tie on the grid goes to the more severe class (docs/PRODUCTS.md, "Majority ties"), decided in
# programme classes after the country's codes were recoded, so a country's code numbering never decides it.
# Most severe first; at one intensity salinity before sodicity; classes of a legend not named here come after
# these, by code; None, then NotClassified, lose every tie (they say least about salt).
TIE_SEVERITY = ("Saline-sodic", "ExtremeSalinity", "VeryStrongSalinity", "VeryStrongSodicity", "StrongSalinity",
                "StrongSodicity", "ModerateSalinity", "ModerateSodicity", "SlightSalinity", "SlightSodicity",
                "Alkaline")
TIE_LAST = ("None", "NotClassified")


def tie_order(spec: SalinitySpec) -> list[int]:
    """Programme class codes from the one that wins a majority tie to the one that loses every tie."""
    code_of = {class_key(name): code for code, name in spec.classes.items()}
    first = [code_of[class_key(n)] for n in TIE_SEVERITY if class_key(n) in code_of]
    last = [code_of[class_key(n)] for n in TIE_LAST if class_key(n) in code_of]
    return first + [c for c in sorted(spec.classes) if c not in first and c not in last] + last


def tie_priority(spec: SalinitySpec) -> np.ndarray:
    """256 entries, programme code -> priority: of tied classes the higher priority wins (nodata: 0, lowest)."""
    order = tie_order(spec)
    out = np.zeros(256, dtype=np.int64)
    for rank, code in enumerate(order):
        if 0 <= code < 256 and code != spec.class_nodata:
            out[code] = len(order) - rank
    return out


def programme_legend(spec: SalinitySpec) -> Legend:
    return Legend("programme legend (manifest)", dict(spec.classes), {c: c for c in spec.classes})


def legend_from_table(path: Path, spec: SalinitySpec, from_metafile: bool = False) -> Legend:
    text = read_text(path) or ""
    names, problems = (metafile_legend(text), []) if from_metafile else parse_lookup_table(text)
    mapping, outside = {}, {}
    for code, name in names.items():
        target = spec.class_code(name)
        if target is None:
            outside[code] = name
        else:
            mapping[code] = target
    source = f"the legend in metafile {Path(path).name}" if from_metafile else Path(path).name
    return Legend(source, names, mapping, outside, tuple(problems))


@dataclass(frozen=True)
class Binding:
    """The legend of one class map, or why it has none."""

    layer_file: LayerFile
    legend: Legend | None
    why: str  # how the legend was found, or why not


def bind_legends(res: Resolution, spec: SalinitySpec) -> list[Binding]:
    """Each class map of a delivery with its legend (see the module docstring for the order)."""
    tables = {f.path.name.lower(): f for f in res.by_kind("lookup_table")}
    out = []
    for lf in res.files:
        if lf.kind != "layer" or lf.layer != spec.class_layer:
            continue
        if lf.legend:
            if lf.legend.strip().lower() == PROGRAMME_LEGEND:
                out.append(Binding(lf, programme_legend(spec), "manifest.csv says the codes follow the programme "
                                                                "legend"))
            elif (table := tables.get(lf.legend.strip().lower())) is not None:
                out.append(Binding(lf, legend_from_table(table.path, spec), f"manifest.csv names {table.path.name}"))
            else:
                out.append(Binding(lf, None, f"manifest.csv names legend {lf.legend!r}, which is not a file in the "
                                             "delivery"))
            continue
        candidates = [t for t in tables.values() if lf.depth in depths_in(t.path.stem, spec)]
        if not candidates:
            candidates = [t for t in tables.values() if not depths_in(t.path.stem, spec)]
        if len(candidates) == 1:
            out.append(Binding(lf, legend_from_table(candidates[0].path, spec),
                               f"lookup table {candidates[0].path.name} for depth {lf.depth}"))
        elif candidates:
            names = ", ".join(sorted(t.path.name for t in candidates))
            out.append(Binding(lf, None, f"several lookup tables could belong to it ({names})"))
        elif (meta := _metafile_for(lf, res, spec)) is not None:
            out.append(Binding(lf, legend_from_table(meta.path, spec, from_metafile=True),
                               f"the legend in metafile {meta.path.name}"))
        else:
            out.append(Binding(lf, None, "no lookup table, metafile legend or manifest legend"))
    return out


def _metafile_for(lf: LayerFile, res: Resolution, spec: SalinitySpec) -> LayerFile | None:
    """The metafile with a legend belonging to a class map: the only one, or the one named for its depth or stem."""
    with_legend = [m for m in res.by_kind("metafile") if metafile_legend(read_text(m.path) or "")]
    if len(with_legend) == 1:
        return with_legend[0]
    named = [m for m in with_legend if m.path.stem.lower().startswith(lf.path.stem.lower())
             or lf.depth in depths_in(m.path.stem, spec)]
    return named[0] if len(named) == 1 else None


def class_value_counts(path: Path) -> dict[int, int] | None:
    """Pixel count of each valid integer code of band 1, read block by block; None if not integer codes."""
    import rasterio

    counts: dict[int, int] = {}
    with rasterio.open(path) as src:
        nodata = src.nodata
        for _, window in src.block_windows(1):
            block = src.read(1, window=window).astype("float64")
            valid = np.isfinite(block)
            if nodata is not None and not np.isnan(nodata):
                valid &= block != nodata
            values = block[valid]
            if values.size and not np.all(values == np.round(values)):
                return None
            uniq, cnt = np.unique(values.astype("int64"), return_counts=True)
            for u, c in zip(uniq.tolist(), cnt.tolist(), strict=True):
                counts[u] = counts.get(u, 0) + c
            if len(counts) > MAX_DISTINCT_CODES:
                return None
    return counts


# ------------------------------------------------------------------------------------------ checks

from atlas.finding import Location, Severity  # noqa: E402
from checks.registry import Hit, check  # noqa: E402

PRODUCTS = ("salinity_map",)


def _bindings(ctx) -> list[tuple[Binding, dict[int, int] | None]]:
    """Each class map's binding and its pixel counts per code (None if unreadable or not integer codes)."""
    if "legend_bindings" not in ctx.__dict__:
        out = []
        for b in bind_legends(ctx.resolution, ctx.programme.salinity):
            try:
                from atlas.intake.containment import contained

                with contained():
                    counts = class_value_counts(b.layer_file.path)
            except Exception:  # noqa: BLE001 - the raster checks report a file that cannot be read
                counts = None
            out.append((b, counts))
        object.__setattr__(ctx, "legend_bindings", out)
    return ctx.__dict__["legend_bindings"]


def _loc(b: Binding) -> Location:
    return Location(file=b.layer_file.path.name, layer=f"{b.layer_file.layer} {b.layer_file.depth}")


@check("legend.missing", Severity.ERROR, "submission", PRODUCTS,
       "A class map has no legend: its codes are ranks of class names that differ from country to country.",
       "send the lookup table the GSP script writes beside the map (saltaffected_LUT0_30.txt), or add a "
       "manifest.csv line with legend 'programme' if the codes follow the programme legend")
def check_legend_missing(ctx):
    for b, _ in _bindings(ctx):
        if b.legend is None:
            lf = b.layer_file
            line = manifest_line_for(lf)
            yield Hit(f"{lf.path.name}: {b.why}; its class codes cannot be read. Add the lookup table, or to "
                      f"manifest.csv: {line}", _loc(b), observed=b.why, expected=line)


def manifest_line_for(lf: LayerFile) -> str:
    from checks.layers import manifest_line

    return manifest_line(lf.path.name, lf.layer or "<layer>", lf.depth or "<depth>", "<lookup table file>")


@check("legend.table_invalid", Severity.ERROR, "submission", PRODUCTS,
       "Lines of a lookup table are not a code and a class name, or give one code two names.",
       "write the table as the GSP script does: header \"classcode\" \"mapvalue\", then rows like 3 \"None\"")
def check_table_invalid(ctx):
    for b, _ in _bindings(ctx):
        if b.legend is not None and b.legend.problems:
            yield Hit(f"{b.legend.source}: {'; '.join(b.legend.problems[:5])}", _loc(b),
                      observed=list(b.legend.problems))


@check("legend.class_not_in_programme", Severity.ERROR, "submission", PRODUCTS,
       "A class name in the legend is not a salt-affected soil severity class of the programme legend "
       "(e.g. an aquaculture or water mask).",
       "map such areas as nodata, or rename the class to one of the programme legend's names")
def check_class_outside(ctx):
    spec = ctx.programme.salinity
    for b, counts in _bindings(ctx):
        if b.legend is None or not b.legend.outside:
            continue
        detail = ", ".join(f"{c} {n!r}" + (f" ({counts.get(c, 0)} pixels)" if counts is not None else "")
                           for c, n in sorted(b.legend.outside.items()))
        yield Hit(f"{b.layer_file.path.name}: legend {b.legend.source} has classes outside the programme legend: "
                  f"{detail}", _loc(b), observed={str(c): n for c, n in b.legend.outside.items()},
                  expected=list(spec.classes.values()))


@check("legend.code_unlisted", Severity.ERROR, "submission", PRODUCTS,
       "Pixel values of a class map have no entry in its legend.",
       "add the missing codes to the lookup table, or set those pixels to nodata")
def check_code_unlisted(ctx):
    for b, counts in _bindings(ctx):
        if b.legend is None or counts is None:
            continue
        bad = {c: n for c, n in sorted(counts.items()) if c not in b.legend.names}
        if bad:
            detail = ", ".join(f"{c} ({n} pixels)" for c, n in bad.items())
            yield Hit(f"{b.layer_file.path.name}: values {detail} are not in legend {b.legend.source}", _loc(b),
                      observed={str(c): n for c, n in bad.items()}, expected=sorted(b.legend.names))


@check("legend.mapping", Severity.INFO, "submission", PRODUCTS,
       "How a class map's codes map onto the programme legend (recorded in the report and the product's legend).",
       "nothing to do")
def check_mapping(ctx):
    spec = ctx.programme.salinity
    for b, counts in _bindings(ctx):
        if b.legend is None or b.legend.outside or b.legend.problems:
            continue
        desc = b.legend.describe(spec)
        used = {k: v for k, v in desc.items() if counts is None or int(k) in counts}
        yield Hit(f"{b.layer_file.path.name}: codes read with {b.why}: " + "; ".join(f"code {k}: {v}" for k, v in
                                                                                     used.items()),
                  _loc(b), observed=desc, expected=b.legend.source)
