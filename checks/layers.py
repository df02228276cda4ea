"""Which file of a salinity delivery is which layer: the one place that decides (SPEC §2, issue 12).

A file is identified, in this order, by
1. a line of the delivery's ``manifest.csv`` (columns file, layer, depth, legend), which overrides anything else;
2. the canonical name ``{ISO3}_GSSmap_{layer}_{depth}.tif`` (any case, .tif or .tiff);
3. a recognised alias: the names countries and the GSP's own scripts really use (``Top0_30ECse.tif``,
   ``EC0_30_uncertain.tif``, ``Saltaffected0_31.tif``, ``PHL-GSAS-EC-2024-0-30.tif``, ``SD_pH_30-100.tif`` ...),
   taken only where the property and the depth are both unambiguous.
Text files beside the rasters are told apart: the manifest, lookup tables of class codes (R ``write.table`` or
CSV), metafiles (key/value text with the manual's keys), and anything else.

Validation, harmonization and the mosaic all ask ``resolve_layers``; nothing else parses salinity file names.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from atlas.config import SalinitySpec

RASTER_SUFFIXES = (".tif", ".tiff")
TEXT_SUFFIXES = (".txt", ".csv")
MANIFEST_NAME = "manifest.csv"
MANIFEST_COLUMNS = ("file", "layer", "depth", "legend")
PROGRAMME_LEGEND = "programme"  # a manifest legend cell saying the codes follow the programme legend
# keys of the GSP manual's metafile (Figure 6.3); three of them on line starts make a metafile
METAFILE_KEYS = ("title", "depth", "units", "data points", "data collection", "laboratory method", "projection",
                 "map resolution", "file format", "extent", "map units", "summary statistics", "map development",
                 "data harmonizations", "citation")
MAX_TEXT_BYTES = 1 << 20  # a lookup table, manifest or metafile is small; a larger text file is not read

# property words -> programme property; checked on the name with separators removed, longest first
PROPERTY_ALIASES = {
    "saltaffected": "SAS", "saltaffectedsoils": "SAS", "salt": "SAS", "sas": "SAS", "severity": "SAS",
    "gsas": None,  # the product name of later GSP files (PHL-GSAS-EC-...), not a property
    "ece": "ECe", "ecse": "ECe", "ec": "ECe", "ph": "pH", "esp": "ESP",
}
UNCERTAINTY_WORDS = ("uncertainty", "uncertain", "unc", "sd", "std", "stdev", "pi95", "piw")
TOP_WORDS = ("top", "topsoil")
SUB_WORDS = ("sub", "subsoil")


@dataclass(frozen=True)
class LayerFile:
    """One file of a salinity delivery and what it was taken as."""

    path: Path
    kind: str  # layer | manifest | lookup_table | metafile | unknown
    layer: str | None = None
    depth: str | None = None
    source: str = ""  # canonical name | recognised alias | manifest | ambiguous | unrecognised
    iso3: str | None = None
    legend: str | None = None  # manifest legend cell: a lookup-table file name or "programme"
    detail: str = ""  # what was recognised, or why the file is ambiguous / unrecognised
    candidates: tuple[str, str] = ("<layer>", "<depth>")  # for a file not taken: layer(s) and depth(s) read

    @property
    def key(self) -> tuple[str, str] | None:
        return (self.layer, self.depth) if self.kind == "layer" and self.layer and self.depth else None

    def row(self) -> dict:
        """The report's layer-table row of this file."""
        return {"file": self.path.name, "kind": self.kind, "layer": self.layer or "", "depth": self.depth or "",
                "taken_from": self.source, "detail": self.detail}


@dataclass
class Resolution:
    """Every file of a delivery identified; ``layers`` maps (layer, depth) to the files claiming it."""

    files: list[LayerFile] = field(default_factory=list)
    manifest_problems: list[str] = field(default_factory=list)

    @property
    def layers(self) -> dict[tuple[str, str], list[LayerFile]]:
        out: dict[tuple[str, str], list[LayerFile]] = {}
        for f in self.files:
            if f.key:
                out.setdefault(f.key, []).append(f)
        return out

    def unique(self) -> dict[tuple[str, str], LayerFile]:
        """(layer, depth) -> file, for the keys exactly one file claims."""
        return {key: files[0] for key, files in self.layers.items() if len(files) == 1}

    def of(self, path: Path) -> LayerFile | None:
        return next((f for f in self.files if f.path.name == Path(path).name), None)

    def by_kind(self, kind: str) -> list[LayerFile]:
        return [f for f in self.files if f.kind == kind]


def uncertainty_layer(prop: str, spec: SalinitySpec) -> str | None:
    """The programme layer holding the uncertainty of ``prop`` (``ECe_unc``, or ``ECe_sd`` in older settings)."""
    if prop == spec.class_layer and spec.class_uncertainty_layer in spec.layers:
        return spec.class_uncertainty_layer
    return next((f"{prop}{s}" for s in ("_unc", "_sd") if f"{prop}{s}" in spec.layers), None)


# ------------------------------------------------------------------------------------------- names


def _canonical(name: str, spec: SalinitySpec) -> tuple[str, str, str] | None:
    """(iso3, layer, depth) of a canonical name in any case, .tif or .tiff; ``_sd`` read as the uncertainty layer."""
    stem, suffix = _split(name)
    if suffix not in RASTER_SUFFIXES:
        return None
    m = re.fullmatch(r"([A-Za-z]{3})_GSSmap_(.+)_(\d+-\d+)", stem, flags=re.IGNORECASE)
    if not m or m[3] not in spec.depths:
        return None
    word = m[2].lower()
    for layer in spec.layers:
        if layer.lower() == word:
            return m[1].upper(), layer, m[3]
    prop, _, tail = m[2].partition("_")
    if tail.lower() in ("sd", "unc") and (layer := _property_layer(prop, spec)):
        unc = uncertainty_layer(layer, spec)
        return (m[1].upper(), unc, m[3]) if unc else None
    return None


def _split(name: str) -> tuple[str, str]:
    path = Path(name)
    return path.stem, path.suffix.lower()


def _property_layer(word: str, spec: SalinitySpec) -> str | None:
    layer = PROPERTY_ALIASES.get(word.lower())
    return layer if layer in spec.layers else None


def depths_in(text: str, spec: SalinitySpec) -> set[str]:
    """Programme depths a name states: 0-30, 0_30, 0-30cm, Top0_30, top, 30-100, sub; 0_31 is the GSP's 0-30."""
    found = set()
    for a, b in re.findall(r"(?<!\d)(\d{1,3})\s*(?:-|_|to)\s*(\d{1,3})(?!\d)", text):
        for depth in spec.depths:
            top, bottom = (int(v) for v in depth.split("-"))
            # the manual's Saltaffected0_31.tif: bottoms one off are the same depth written by a script
            if int(a) == top and abs(int(b) - bottom) <= 1:
                found.add(depth)
    for m in re.finditer(r"(?i)map(\d{3,5})(?!\d)", text):  # compact forms of later GSP files: Map030, Map30100
        depth = {"030": "0-30", "30100": "30-100"}.get(m[1])
        if depth in spec.depths:
            found.add(depth)
    words = set(re.findall(r"[a-z]+", text.lower()))
    if words & set(TOP_WORDS) and spec.depths:
        found.add(spec.depths[0])
    if words & set(SUB_WORDS) and len(spec.depths) > 1:
        found.add(spec.depths[1])
    return found


def _properties_in(text: str, spec: SalinitySpec) -> set[str]:
    """Properties a name states, matched on words so 'pH' in 'Phil' or 'ec' in 'sec' do not count."""
    found = set()
    # split camel case and digits off words: Top0_30ECse -> top 0 30 ecse, ECtop0_30cm -> ec top 0 30 cm
    spaced = re.sub(r"pH", " ph ", text)  # the one property written in mixed case
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])", " ", spaced)
    spaced = re.sub(r"(?i)(ecse|ece|ec|ph|esp)(top|sub)", r"\1 \2", spaced)
    spaced = re.sub(r"(?i)(top|sub)(ecse|ece|ec|ph|esp|saltaffected|salt)", r"\1 \2", spaced)
    for word in re.findall(r"[A-Za-z]+", spaced):
        w = word.lower()
        if w in PROPERTY_ALIASES and PROPERTY_ALIASES[w]:
            layer = _property_layer(w, spec)
            if layer:
                found.add(layer)
        elif w.startswith("saltaffected"):
            found.add(spec.class_layer)
    return found


def _is_uncertainty(text: str) -> bool:
    words = set(re.findall(r"[a-z0-9]+", re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text).lower()))
    return bool(words & set(UNCERTAINTY_WORDS))


def _alias(name: str, spec: SalinitySpec) -> tuple[str | None, str | None, str]:
    """(layer, depth, why) from a name countries really use; a None says what was missing or ambiguous."""
    stem, _ = _split(name)
    stem = re.sub(r"(?i)gssmap|gsas|gsnmap", " ", stem)
    iso = _iso_prefix(stem)
    body = stem[4:] if iso else stem
    body = re.sub(r"(?<!\d)(19|20)\d{2}(?!\d)", " ", body)  # a year (PHL-GSAS-EC-2024-0-30) is not a depth
    props = _properties_in(body, spec)
    depths = depths_in(body, spec)
    if len(props) != 1 or len(depths) != 1:
        what = (f"property {'/'.join(sorted(props)) or 'not recognised'}, "
                f"depth {'/'.join(sorted(depths)) or 'not recognised'}")
        if _is_uncertainty(body):
            props = {u for p in props if (u := uncertainty_layer(p, spec))}
        return "|".join(sorted(props)) or None, "|".join(sorted(depths)) or None, what
    prop, depth = props.pop(), depths.pop()
    if _is_uncertainty(body):
        unc = uncertainty_layer(prop, spec)
        if unc is None:
            return None, None, f"uncertainty of {prop}, which the programme's layers do not include"
        return unc, depth, f"uncertainty of {prop}, depth {depth}"
    return prop, depth, f"property {prop}, depth {depth}"


# ------------------------------------------------------------------------------------- text files


def read_text(path: Path) -> str | None:
    """A small text file's content (UTF-8, else Windows-1252, BOM dropped), or None if too big or unreadable."""
    try:
        data = Path(path).read_bytes()[: MAX_TEXT_BYTES + 1]
    except OSError:
        return None
    if len(data) > MAX_TEXT_BYTES:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def text_kind(path: Path) -> str:
    """manifest | lookup_table | metafile | unknown, from the file's name and first lines."""
    if Path(path).name.lower() == MANIFEST_NAME:
        return "manifest"
    text = read_text(path)
    if not text:
        return "unknown"
    from checks.legend import looks_like_lookup_table

    if looks_like_lookup_table(text):
        return "lookup_table"
    starts = {line.strip().lower() for line in text.splitlines() if line[:1].strip()}
    hits = {key for key in METAFILE_KEYS for line in starts if line.startswith(key)}
    return "metafile" if len(hits) >= 3 else "unknown"


def read_manifest(path: Path, spec: SalinitySpec) -> tuple[dict[str, dict], list[str]]:
    """manifest.csv rows by file name (lower case), and what is wrong with it (bad layer, depth, columns)."""
    text = read_text(path)
    if text is None:
        return {}, [f"{Path(path).name}: cannot be read as a small text file"]
    sample = text[:2048]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.DictReader(io.StringIO(text), dialect=dialect))
    header = [h.strip().lower() for h in (rows[0].keys() if rows else [])]
    problems = []
    if rows and not {"file", "layer", "depth"} <= set(header):
        return {}, [f"{Path(path).name}: columns {header}; expected {', '.join(MANIFEST_COLUMNS)}"]
    out = {}
    for n, row in enumerate(rows, start=2):
        row = {str(k).strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}
        name, layer, depth = row.get("file", ""), row.get("layer", ""), row.get("depth", "")
        if not name:
            continue
        match = next((x for x in spec.layers if x.lower() == layer.lower()), None)
        if match is None and layer.lower().endswith(("_sd", "_unc")):
            match = uncertainty_layer(_property_layer(layer.rsplit("_", 1)[0], spec) or "", spec)
        if match is None:
            problems.append(f"line {n}: layer {layer!r} is not one of {', '.join(spec.layers)}")
            continue
        depth = depth.replace("_", "-").removesuffix("cm").strip()
        if depth not in spec.depths:
            problems.append(f"line {n}: depth {row.get('depth')!r} is not one of {', '.join(spec.depths)}")
            continue
        out[name.lower()] = {"layer": match, "depth": depth, "legend": row.get("legend") or None}
    return out, problems


def manifest_line(file: str, layer: str = "<layer>", depth: str = "<depth>", legend: str = "") -> str:
    """The manifest.csv line to add for a file (layer and depth filled in where known)."""
    return f"{file},{layer},{depth},{legend}"


# -------------------------------------------------------------------------------------- resolution


def resolve_layers(files, spec: SalinitySpec) -> Resolution:
    """Identify every file of one salinity delivery; never raises on what it finds."""
    paths = [Path(f) for f in files]
    res = Resolution()
    manifest: dict[str, dict] = {}
    for path in paths:
        if path.name.lower() == MANIFEST_NAME:
            rows, problems = read_manifest(path, spec)
            manifest.update(rows)
            res.manifest_problems += problems
    legends = {str(row["legend"]).strip().lower() for row in manifest.values() if row.get("legend")}
    for path in paths:
        suffix = path.suffix.lower()
        if suffix in TEXT_SUFFIXES:
            kind = text_kind(path)
            if kind != "manifest" and path.name.lower() in legends:  # the manifest says it is one: read it as one
                kind = "lookup_table"
                res.files.append(LayerFile(path, kind, source="manifest", detail=_text_detail(kind)))
                continue
            res.files.append(LayerFile(path, kind, source="content", detail=_text_detail(kind)))
            continue
        if suffix not in RASTER_SUFFIXES:
            continue
        res.files.append(_resolve_raster(path, spec, manifest))
    return res


def _text_detail(kind: str) -> str:
    return {"manifest": "the delivery's manifest (file, layer, depth, legend)",
            "lookup_table": "a lookup table of class codes and names",
            "metafile": "a metafile (key/value text of the GSP manual)"}.get(kind, "not a manifest, lookup table "
                                                                                "or metafile")


def _resolve_raster(path: Path, spec: SalinitySpec, manifest: dict[str, dict]) -> LayerFile:
    if row := manifest.get(path.name.lower()):
        return LayerFile(path, "layer", row["layer"], row["depth"], "manifest", legend=row["legend"],
                         detail=f"manifest.csv line: layer {row['layer']}, depth {row['depth']}")
    if parsed := _canonical(path.name, spec):
        iso3, layer, depth = parsed
        return LayerFile(path, "layer", layer, depth, "canonical name", iso3=iso3,
                         detail=spec.file_name(iso3, layer, depth))
    layer, depth, why = _alias(path.name, spec)
    if layer and depth and "|" not in layer + depth:
        return LayerFile(path, "layer", layer, depth, "recognised alias", iso3=_iso_prefix(path.name), detail=why)
    # not taken; what was read of the name fills the manifest line proposed to the country
    return LayerFile(path, "layer", None, None, "ambiguous" if "/" in why else "unrecognised", detail=why,
                     candidates=(layer or "<layer>", depth or "<depth>"))


def _iso_prefix(name: str) -> str | None:
    """An ISO3-like prefix (KHM_, PHL-) that is not itself a property or depth word."""
    m = re.match(r"^([A-Za-z]{3})[-_ ]", name)
    if not m or m[1].lower() in PROPERTY_ALIASES or m[1].lower() in TOP_WORDS + SUB_WORDS:
        return None
    return m[1].upper()
