"""Discovering national submissions in the inbox (data/raw).

Layout: ``data/raw/<ISO3>/<YYYY-MM-DD>[_label]/<files>``. Each dated folder is
one delivery; the files in it are sorted into deliverables by their kind. Files
left loose in a country folder form a delivery dated by their newest file.
A deliverable's version is its rank among the deliveries that carry it.
Junk that copies leave behind (Mac ``._*`` files, Office ``~$*`` lock files) is
ignored anywhere in a country folder. A delivery changed less than ``settle_seconds``
ago is still being copied and is left for a later run.
The inbox is only ever read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from atlas.finding import Finding, Location, Severity

RASTER_SUFFIXES = {".tif", ".tiff"}
VECTOR_SUFFIXES = {".gpkg", ".geojson", ".json", ".fgb", ".zip", ".shp"}
DOCUMENT_SUFFIXES = {".docx", ".doc", ".pdf", ".odt"}
SHAPEFILE_SIDECARS = {".shx", ".dbf", ".prj", ".cpg", ".sbn", ".sbx", ".qix", ".xml", ".aux"}
IGNORED_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini"}
RASTER_SIDECARS = (".aux.xml", ".ovr", ".msk", ".tfw", ".tifw", ".wld")
# AppleDouble ._*, Office lock files ~$*, LibreOffice .~lock.*, editor backups *~, *.bak, *.tmp
JUNK_NAME = re.compile(r"^(\._|~\$|\.~lock\.)|~$|\.(bak|tmp)$", re.IGNORECASE)
# text beside GeoTIFFs: manifest.csv, lookup tables of class codes, metafiles (checks.layers tells them apart)
SALINITY_COMPANIONS = {".txt", ".csv"}
CROSSWALK_NAME = "crosswalk.csv"  # checks.crosswalk.CROSSWALK_NAME (intake does not import checks)
# tables (kind "table"): a workbook or CSV whose name holds the deliverable key, e.g. VNM_soil_threats.xlsx
TABLE_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods", ".csv"}
DATE_FOLDER = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[T_ ].*)?$")


@dataclass(frozen=True)
class Submission:
    """One version of one deliverable from one country."""

    country: str
    deliverable: str
    delivery: str  # the delivery folder's name, e.g. 2026-03-02
    version: int
    folder: Path
    files: tuple[Path, ...]
    received: dt.date
    checksum: str
    # sha256 of each file (None for a link, never followed), computed once at discovery for the ledger
    file_sha256: tuple[tuple[Path, str | None], ...] = ()

    @property
    def key(self) -> str:
        return f"{self.country}/{self.deliverable}/v{self.version}"


def classify(path: Path, tables: tuple[str, ...] = ()) -> str | None:
    """Which deliverable a file belongs to, or None for sidecars and unknown files.

    ``tables``: the keys of the programme's table deliverables; a spreadsheet or CSV whose name holds one
    (letters and digits compared, so ``VNM soil-threats.xlsx`` is ``soil_threats``) belongs to that table.
    """
    suffix = path.suffix.lower()
    name = path.name.lower()
    if tables and suffix in TABLE_SUFFIXES:
        stem = _letters(path.stem)
        table = next((key for key in sorted(tables, key=len, reverse=True) if _letters(key) in stem), None)
        if table is not None:
            return table
    if suffix in RASTER_SUFFIXES:
        return "salinity_map"
    if suffix in VECTOR_SUFFIXES:
        return "soil_map"
    if suffix in DOCUMENT_SUFFIXES:
        return "country_profile" if "profile" in name else "book_chapter"
    return None


def _letters(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def file_sha256(path: Path) -> str | None:
    """The file's sha256, or None for a link (never followed: the intake refuses links)."""
    return None if path.is_symlink() else sha256_file(path)


def checksum_files(files: list[Path], base: Path, digests: dict[Path, str | None] | None = None) -> str:
    """One digest for a set of files: names relative to ``base`` and contents (``digests`` if already known).

    ``base`` is the delivery folder, so the same files sent again in a new dated folder have the same digest.
    """
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(str(path.relative_to(base)).encode())
        sha = digests[path] if digests is not None else file_sha256(path)
        # a link counts by the target it names, so relinking it is a new version
        digest.update(sha.encode() if sha is not None else b"symlink:" + os.fsencode(os.readlink(path)))
    return digest.hexdigest()


def readable_digests(files: list[Path], raw_dir: Path, findings: list[Finding]) -> dict[Path, str | None]:
    """sha256 of every file that can be read; an unreadable one gets a finding and is left out."""
    digests: dict[Path, str | None] = {}
    for path in files:
        try:
            digests[path] = file_sha256(path)
        except OSError as exc:
            findings.append(
                Finding(
                    "inbox.unreadable_file",
                    Severity.WARNING,
                    f"{path.name}: cannot be read ({exc.strerror or exc}); left out of the submission",
                    Location(file=str(path.relative_to(raw_dir))),
                    hint="check the file's permissions on the shared drive and copy it into the inbox again",
                )
            )
    return digests


def _delivery_date(name: str, files: list[Path]) -> dt.date:
    match = DATE_FOLDER.match(name)
    if match:
        try:
            return dt.date.fromisoformat(match.group(1))
        except ValueError:
            pass
    newest = max((f.lstat().st_mtime for f in files), default=0.0)
    return dt.datetime.fromtimestamp(newest, tz=dt.UTC).date()


def _visible_files(folder: Path) -> list[Path]:
    """Files of a delivery; links are listed (for the intake to refuse) but never followed."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_symlink() or p.is_file()  # junk too: sort_delivery lists it as skipped
    )


def last_change(folder: Path, files: list[Path], recursive: bool = True) -> float:
    """Newest modification time of a delivery: its files and its folders (adding a file changes the folder)."""
    folders = [folder] + ([p for p in folder.rglob("*") if p.is_dir() and not p.is_symlink()] if recursive else [])
    return max((p.lstat().st_mtime for p in [*files, *folders]), default=0.0)


def _still_copying(folder: Path, raw_dir: Path, age_s: float, settle_seconds: float) -> Finding:
    return Finding(
        "inbox.still_copying",
        Severity.INFO,
        f"{folder.relative_to(raw_dir)}: changed {age_s:.0f} s ago, less than the settle time of "
        f"{settle_seconds:g} s; taken as still being copied and left for a later run",
        Location(file=str(folder.relative_to(raw_dir))),
        hint="nothing to do if a copy is under way; otherwise run again later, or run by hand "
        "(manual runs do not wait unless asked to: [intake] settle_seconds in programme.toml)",
    )


def discover(
    raw_dir: Path, members: dict[str, str], settle_seconds: float = 0.0, now: float | None = None,
    tables: tuple[str, ...] = (),
) -> tuple[list[Submission], list[Finding]]:
    """Every submission in the inbox, plus findings about what could not be placed.

    A delivery whose files or folders changed less than ``settle_seconds`` before ``now`` (default: the
    clock) is skipped with an ``inbox.still_copying`` finding: a half-copied file is not a submission.
    """
    now = time.time() if now is None else now
    submissions: list[Submission] = []
    findings: list[Finding] = []
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        findings.append(
            Finding(
                "inbox.missing",
                Severity.ERROR,
                f"inbox folder {raw_dir} does not exist",
                hint="create it or point paths.raw in programme.toml at the inbox",
            )
        )
        return submissions, findings
    for country_dir in sorted(p for p in raw_dir.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        if country_dir.is_symlink():  # a linked folder could make us read anywhere on the machine
            findings.append(
                Finding(
                    "inbox.link_refused",
                    Severity.WARNING,
                    f"folder {country_dir.name!r} is a link; links are never followed, its files were skipped",
                    Location(file=country_dir.name),
                    hint="copy the delivery into the inbox instead of linking to it",
                )
            )
            continue
        iso3 = country_dir.name.upper()
        if iso3 not in members:
            findings.append(
                Finding(
                    "inbox.unknown_country",
                    Severity.WARNING,
                    f"folder {country_dir.name!r} is not the ISO3 code of a member country; its files were skipped",
                    Location(file=country_dir.name),
                    observed=country_dir.name,
                    expected=sorted(members),
                    hint="rename the folder to the member's ISO 3166-1 alpha-3 code (e.g. KHM)",
                )
            )
            continue
        submissions += discover_country(country_dir, iso3, raw_dir, findings, settle_seconds, now, tables)
    return submissions, findings


FUTURE_DELIVERY = "inbox.future_delivery"


def future_delivery(country: str, delivery: str, received: dt.date, today: dt.date) -> Finding:
    """A delivery folder dated after today (a typo such as 2062): refused, so it never orders the others."""
    return Finding(
        FUTURE_DELIVERY, Severity.ERROR,
        f"delivery folder {country}/{delivery} is dated {received.isoformat()}, after today ({today.isoformat()}); "
        "refused: a delivery cannot come from the future, and taking it would place it after every later delivery",
        Location(file=f"{country}/{delivery}"), observed=received.isoformat(), expected=f"on or before {today}",
        hint=f"rename the folder to the day the files were delivered (YYYY-MM-DD, e.g. {today.isoformat()})",
    )


def discover_country(country_dir: Path, iso3: str, raw_dir: Path, findings: list[Finding],
                     settle_seconds: float = 0.0, now: float | None = None,
                     tables: tuple[str, ...] = ()) -> list[Submission]:
    """The submissions in one country's inbox folder: one delivery per dated sub-folder, loose files another.

    A delivery changed less than ``settle_seconds`` before ``now`` is left for later (``inbox.still_copying``).
    """
    now = time.time() if now is None else now
    deliveries: dict[str, list[Path]] = {}
    # links are listed (the intake refuses them with a finding) but never followed
    loose = [p for p in country_dir.iterdir() if p.is_symlink() or p.is_file()]
    for sub in sorted(
        p for p in country_dir.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")
    ):
        deliveries[sub.name] = _visible_files(sub)
    if loose:
        deliveries[""] = sorted(loose)
    submissions: list[Submission] = []
    versions: dict[str, int] = {}
    # a delivery without a dated folder is dated by its newest file; junk (a fresh .DS_Store) does not count
    ordered = sorted(deliveries.items(), key=lambda kv: (_delivery_date(kv[0], _not_junk(kv[1])), kv[0]))
    for name, files in ordered:
        folder = country_dir / name if name else country_dir
        if settle_seconds > 0:
            age_s = now - last_change(folder, files, recursive=bool(name))
            if age_s < settle_seconds:
                findings.append(_still_copying(folder, raw_dir, age_s, settle_seconds))
                continue
        received = _delivery_date(name, _not_junk(files))
        today = dt.date.fromtimestamp(now)
        if received > today:  # the ordering rule (docs/LEDGER.md) refuses dates after today
            findings.append(future_delivery(iso3, name or received.isoformat(), received, today))
            continue
        digests = readable_digests(files, raw_dir, findings)
        by_deliverable, skipped = sort_delivery([p for p in files if p in digests], raw_dir, tables)
        findings += skipped
        for deliverable, dfiles in sorted(by_deliverable.items()):
            versions[deliverable] = versions.get(deliverable, 0) + 1
            submissions.append(
                Submission(
                    country=iso3,
                    deliverable=deliverable,
                    delivery=name or received.isoformat(),
                    version=versions[deliverable],
                    folder=folder,
                    files=tuple(sorted(dfiles)),
                    received=received,
                    checksum=checksum_files(dfiles, folder, digests),
                    file_sha256=tuple((p, digests[p]) for p in sorted(dfiles)),
                )
            )
    return submissions


def skip_reason(path: Path, files: list[Path], tables: tuple[str, ...] = ()) -> tuple[str, str] | None:
    """Why a file of a delivery is not part of any deliverable, as (finding id, reason); None if it is.

    ``files`` are the delivery's other files: a shapefile sidecar belongs to the .shp of the same stem,
    a raster sidecar (``.aux.xml``, ``.ovr``...) to its GeoTIFF.
    """
    if is_junk(path):
        return "inbox.junk_ignored", "junk (system or backup file), not part of any deliverable"
    name = path.name.lower()
    raster_sidecar = next((s for s in RASTER_SIDECARS if name.endswith(s)), None)
    if raster_sidecar:
        main = path.name[: -len(raster_sidecar)]
        tifs = {p.name.lower() for p in files if p.suffix.lower() in RASTER_SUFFIXES}
        if main.lower() in tifs or any(main.lower() + s in tifs for s in RASTER_SUFFIXES):
            return "inbox.sidecar_ignored", f"sidecar of {main}: not validated on its own (sidecars are never trusted)"
        return "inbox.lone_sidecar", f"raster sidecar without its GeoTIFF ({main}); not read"
    if classify(path, tables) is not None:
        return None
    if is_crosswalk(path, files):
        return None  # the correlation of a soil map's legacy classes: travels with the soil map
    if path.suffix.lower() in SALINITY_COMPANIONS and any(classify(p) == "salinity_map" for p in files):
        return None  # manifest, lookup table or metafile: travels with the salinity map
    if tables and path.suffix.lower() in TABLE_SUFFIXES and path.suffix.lower() != ".csv":
        return "inbox.unknown_file", (f"a spreadsheet whose name names no table ({', '.join(tables)}); ignored: "
                                      f"name it <ISO3>_<table>.xlsx as the template is")
    if path.suffix.lower() in SHAPEFILE_SIDECARS:
        if _shapefile_stem(path) in {p.with_suffix("") for p in files if p.suffix.lower() == ".shp"}:
            return None  # travels with its .shp
        if path.suffix.lower() != ".xml":
            return "inbox.lone_sidecar", (f"shapefile sidecar without its .shp ({_shapefile_stem(path).name}.shp); "
                                          "not read: send the .shp, .shx, .dbf and .prj together (or zipped)")
    return "inbox.unknown_file", "not a file type of any deliverable; ignored"


def is_crosswalk(path: Path, files: list[Path]) -> bool:
    """A ``crosswalk.csv`` delivered with a soil map (docs/HARMONIZATION.md: legacy classes)."""
    return path.name.lower() == CROSSWALK_NAME and any(classify(p) == "soil_map" for p in files)


def is_junk(path: Path) -> bool:
    """macOS, Windows and Office leftovers: never a deliverable (``__MACOSX/``, ``._*``, ``~$*``, ``*~``, .DS_Store)."""
    return "__MACOSX" in path.parts or path.name in IGNORED_NAMES or bool(JUNK_NAME.search(path.name))


def _not_junk(files: list[Path]) -> list[Path]:
    return [p for p in files if not is_junk(p)] or files


def _shapefile_stem(path: Path) -> Path:
    return path.with_suffix("").with_suffix("") if path.name.lower().endswith(".shp.xml") else path.with_suffix("")


def sort_delivery(files: list[Path], base: Path,
                  tables: tuple[str, ...] = ()) -> tuple[dict[str, list[Path]], list[Finding]]:
    """A delivery's files sorted into deliverables, and an info finding for every file left out (with why).

    Shapefile sidecars join their .shp in the soil map; ``base`` is what file names in findings are relative to.
    """
    by_deliverable: dict[str, list[Path]] = {}
    skipped: list[Finding] = []
    for path in files:
        why = skip_reason(path, files, tables)
        if why is not None:
            check_id, reason = why
            where = Location(file=_relative(path, base))
            skipped.append(Finding(check_id, Severity.INFO, f"{path.name}: {reason}", where, hint=SKIP_HINTS[check_id]))
            continue
        deliverable = classify(path, tables)
        if deliverable is not None:
            by_deliverable.setdefault(deliverable, []).append(path)
    if "soil_map" in by_deliverable:  # shapefile sidecars travel with their .shp, a crosswalk.csv with the map
        stems = {p.with_suffix("") for p in by_deliverable["soil_map"] if p.suffix.lower() == ".shp"}
        by_deliverable["soil_map"] += [p for p in files if classify(p) is None and not is_junk(p)
                                       and p.suffix.lower() in SHAPEFILE_SIDECARS and _shapefile_stem(p) in stems]
        by_deliverable["soil_map"] += [p for p in files if is_crosswalk(p, files)]
    if "salinity_map" in by_deliverable:  # text beside the GeoTIFFs: checks.layers tells them apart
        by_deliverable["salinity_map"] += [p for p in files if classify(p, tables) is None and not is_junk(p)
                                           and p.suffix.lower() in SALINITY_COMPANIONS and not is_crosswalk(p, files)]
    return by_deliverable, skipped


def _relative(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return path.name


SKIP_HINTS = {
    "inbox.unknown_file": "salinity maps are GeoTIFF, soil maps GeoPackage/GeoJSON/FlatGeobuf/zipped shapefile, "
    "chapters and profiles .docx or .pdf, tables the XLSX template named <ISO3>_<table>.xlsx (or one CSV per sheet)",
    "inbox.lone_sidecar": "a sidecar is read with its main file: send both together",
    "inbox.sidecar_ignored": "nothing to do; the GeoTIFF itself must carry its georeferencing and nodata",
    "inbox.junk_ignored": "nothing to do; leave system and backup files out of the delivery next time",
}
