"""Reading a GSSmap metafile: the plain-text key/value file the GSP manual asks for beside each map.

The manual's example (its Figure 6.3) is a Notepad file: a key at the start of a line, its value after a run of
spaces, values running on over indented lines, keys without values, blank lines, CRLF line ends. Nothing in it is
guaranteed, so parsing never fails: what cannot be read is simply absent. Personal data (names, e-mail addresses,
phone numbers) is found here too, so that it can be withheld from everything public.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

MAX_BYTES = 1 << 20  # a metafile is a page of text; anything larger is not one

# The manual's keys, in its order; matched ignoring case and spacing.
KNOWN_KEYS = (
    "Title", "Depth", "Units", "Data points", "Data collection", "Laboratory method", "Projection",
    "Map Resolution", "File format", "Map extent", "Extent", "Map units", "Summary statistics", "Map development",
    "Accuracy statistics", "Data harmonizations", "Citation",
)
_NORMAL = {re.sub(r"[^a-z]", "", k.lower()): k for k in KNOWN_KEYS}
_KEY_VALUE = re.compile(r"^(?P<key>[A-Za-z][A-Za-z .()/_-]*?)\s*(?::\s*|\t+\s*|\s{2,})(?P<value>\S.*)$")

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"(?:\+|\b00)\d[\d ()./-]{6,}\d|\b(?:tel|phone|mobile|fax)\.?\s*:?\s*[\d+][\d ()./-]{5,}\d", re.I)
NAME = re.compile(r"\b(?:Mr|Ms|Mrs|Dr|Prof|Eng)\.?\s+(?:[A-Z][\w'-]+\.?\s?){1,3}|"
                  r"\bcontact(?:\s+person)?\s*:\s*(?:(?:Mr|Ms|Mrs|Dr|Prof)\.?\s+)?(?:[A-Z][\w'-]+\.?\s?){1,3}", re.I)
WITHHELD = "[withheld]"

# Accuracy statistics the manual names (RMSE, ME, r², NSE for property maps; Kappa for the class map).
_STAT = {
    "RMSE": r"RMSE", "ME": r"ME|mean\s+error", "R2": r"r\s*²|r\s*\^?\s*2|R-?squared", "NSE": r"NSE",
    "Kappa": r"kappa", "Accuracy": r"(?:overall\s+)?accuracy",
}
_NUMBER = r"(-?\d+(?:\.\d+)?)\s*(%?)"


@dataclass(frozen=True)
class Metafile:
    """Key -> value text (continuation lines joined with newlines), in file order."""

    path: Path | None
    entries: dict[str, str]
    unknown_keys: tuple[str, ...] = ()
    encoding: str = "utf-8"

    def get(self, key: str) -> str | None:
        return self.entries.get(canonical_key(key) or key)


@dataclass(frozen=True)
class PersonalData:
    """What was found in one entry: counts of each kind; the public copy has it replaced."""

    key: str
    kinds: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        return f"{self.key} ({', '.join(f'{n} {kind}' for kind, n in self.kinds.items())})"


def canonical_key(text: str) -> str | None:
    """The manual's spelling of a key, whatever its case and spacing; None for keys it does not name."""
    return _NORMAL.get(re.sub(r"[^a-z]", "", text.lower()))


def parse_metafile(text: str, path: Path | None = None, encoding: str = "utf-8") -> Metafile:
    """Parse tolerantly: CRLF, tabs, a BOM, values on indented lines, keys without values, blank lines."""
    entries: dict[str, list[str]] = {}
    unknown: list[str] = []
    current: str | None = None
    for raw in text.lstrip("\ufeff").splitlines():
        line = raw.rstrip().expandtabs(4)
        if not line.strip():
            continue
        if line[0].isspace():  # an indented line continues the value above
            if current is not None:
                entries[current].append(line.strip())
            continue
        key, value = _split(line)
        name = canonical_key(key)
        if name is None:
            unknown.append(key)
            name = key
        current = name
        entries.setdefault(name, [])
        if value:
            entries[name].append(value)
    return Metafile(path, {k: "\n".join(v) for k, v in entries.items()}, tuple(unknown), encoding)


def _split(line: str) -> tuple[str, str]:
    """A line into key and value: known keys first (they contain single spaces), then 'key: value' or runs of space."""
    for known in sorted(KNOWN_KEYS, key=len, reverse=True):
        m = re.match(rf"^{re.escape(known)}\b\s*:?\s*(.*)$", line, re.I)
        if m:
            return known, m.group(1).strip()
    if m := _KEY_VALUE.match(line):
        return m["key"].strip(), m["value"].strip()
    return line.strip().rstrip(":"), ""


def read_metafile(path: Path) -> Metafile:
    """Read a metafile from disk (UTF-8, else Windows-1252 as Notepad writes); raises OSError/ValueError if not text."""
    path = Path(path)
    if path.is_symlink():
        raise ValueError("a link, not a file")
    data = path.read_bytes()[: MAX_BYTES + 1]
    if len(data) > MAX_BYTES:
        raise ValueError(f"larger than {MAX_BYTES // 1024} KiB: not a metafile")
    if b"\x00" in data:
        raise ValueError("binary content, not text")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return parse_metafile(data.decode(encoding), path, "utf-8" if encoding == "utf-8-sig" else encoding)
        except UnicodeDecodeError:
            continue
    return parse_metafile(data.decode("latin-1"), path, "latin-1")


def looks_like_metafile(text: str) -> bool:
    """At least three of the manual's keys at the start of lines."""
    return len(set(parse_metafile(text).entries) & set(KNOWN_KEYS)) >= 3


def personal_data(meta: Metafile) -> list[PersonalData]:
    """Entries holding e-mail addresses, phone numbers or personal names (titles such as Ms., Dr., 'Contact:')."""
    found = []
    for key, value in meta.entries.items():
        kinds = {kind: len(rx.findall(value)) for kind, rx in
                 (("e-mail address", EMAIL), ("phone number", PHONE), ("name", NAME))}
        kinds = {k: n for k, n in kinds.items() if n}
        if kinds:
            found.append(PersonalData(key, kinds))
    return found


def public_entries(meta: Metafile) -> dict[str, str]:
    """The entries with every e-mail address, phone number and personal name replaced by '[withheld]'."""
    out = {}
    for key, value in meta.entries.items():
        for rx in (EMAIL, PHONE, NAME):
            value = rx.sub(WITHHELD, value)
        out[key] = re.sub(r"(?:\[withheld\][\s;,()]*){2,}", WITHHELD + " ", value).strip()
    return out


def accuracy_statistics(meta: Metafile) -> dict[str, float]:
    """RMSE, ME, R2, NSE, Kappa and overall accuracy (%) stated anywhere in the metafile."""
    text = "\n".join(f"{k}: {v}" for k, v in meta.entries.items() if k != "Summary statistics")
    stats: dict[str, float] = {}
    for name, label in _STAT.items():
        m = re.search(rf"(?<![A-Za-z])(?:{label})(?![A-Za-z])\s*[:=]?\s*{_NUMBER}", text, re.I)
        if m and name not in stats:
            stats[name] = float(m.group(1))
    return stats


@dataclass(frozen=True)
class Statements:
    """What a metafile says about its raster, as numbers; None where it says nothing readable."""

    epsg: int | None = None
    resolution: tuple[float, str] | None = None  # value, unit ('m', 'km', 'deg')
    extent: tuple[float, float, float, float] | None = None  # west, south, east, north
    size: tuple[int, int] | None = None  # width, height
    stats: dict[str, float] = field(default_factory=dict)  # max, min, mean, sd
    units: str | None = None


def statements(meta: Metafile) -> Statements:
    """The checkable statements: projection, resolution, extent, size, summary statistics, units."""
    projection = meta.get("Projection") or ""
    epsg = None
    if m := re.search(r"EPSG\s*:?\s*(\d{4,6})", projection, re.I):
        epsg = int(m.group(1))
    elif re.search(r"WGS\s*-?\s*84", projection, re.I) and re.search(r"geographic|degree|lat", projection, re.I):
        epsg = 4326
    return Statements(epsg, _resolution(meta.get("Map Resolution") or ""), *_extent(meta),
                      _summary(meta.get("Summary statistics") or ""), (meta.get("Units") or "").strip() or None)


def _resolution(text: str) -> tuple[float, str] | None:
    if m := re.search(r"(\d+(?:\.\d+)?)\s*(?:degrees?|deg|°)", text, re.I):
        return float(m.group(1)), "deg"
    if m := re.search(r"(\d+(?:\.\d+)?)\s*(?:arc[- ]?sec(?:onds?)?|″|\")", text, re.I):
        return float(m.group(1)) / 3600, "deg"
    if m := re.search(r"(\d+(?:\.\d+)?)\s*(km|m)\b", text, re.I):
        return float(m.group(1)), m.group(2).lower()
    return None


def _extent(meta: Metafile) -> tuple[tuple[float, float, float, float] | None, tuple[int, int] | None]:
    text = "\n".join(v for k, v in meta.entries.items() if k in ("Extent", "Map extent"))
    numbers = [float(x) for x in re.findall(r"-?\d+\.\d+|-?\d+(?=\s*[,\n]|\s*$)", text.split("Width")[0])]
    extent = tuple(numbers[:4]) if len(numbers) >= 4 else None
    size = None
    w, h = re.search(r"Width\s*:?\s*(\d+)", text, re.I), re.search(r"Height\s*:?\s*(\d+)", text, re.I)
    if w and h:
        size = (int(w.group(1)), int(h.group(1)))
    return extent, size


def _summary(text: str) -> dict[str, float]:
    out = {}
    for name, label in (("max", r"max(?:imum)?"), ("min", r"min(?:imum)?"), ("mean", r"mean"),
                        ("sd", r"st(?:andard)?\.?\s*dev(?:iation)?|sd")):
        if m := re.search(rf"(?<![A-Za-z])(?:{label})(?:\s+value)?\s*[:=]?\s*(-?\d+(?:\.\d+)?)", text, re.I):
            out[name] = float(m.group(1))
    return out
