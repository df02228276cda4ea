"""Discovering national submissions in the inbox (data/raw).

Layout: ``data/raw/<ISO3>/<YYYY-MM-DD>[_label]/<files>``. Each dated folder is
one delivery; the files in it are sorted into deliverables by their kind. Files
left loose in a country folder form a delivery dated by their newest file.
A deliverable's version is its rank among the deliveries that carry it.
The inbox is only ever read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from checks.finding import Finding, Location, Severity

RASTER_SUFFIXES = {".tif", ".tiff"}
VECTOR_SUFFIXES = {".gpkg", ".geojson", ".json", ".fgb", ".zip", ".shp"}
DOCUMENT_SUFFIXES = {".docx", ".doc", ".pdf", ".odt"}
SHAPEFILE_SIDECARS = {".shx", ".dbf", ".prj", ".cpg", ".sbn", ".sbx", ".qix", ".xml", ".aux"}
IGNORED_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini"}
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


def classify(path: Path) -> str | None:
    """Which deliverable a file belongs to, or None for sidecars and unknown files."""
    suffix = path.suffix.lower()
    name = path.name.lower()
    if suffix in RASTER_SUFFIXES:
        return "salinity_map"
    if suffix in VECTOR_SUFFIXES:
        return "soil_map"
    if suffix in DOCUMENT_SUFFIXES:
        return "country_profile" if "profile" in name else "book_chapter"
    return None


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
    """One digest for a set of files: names relative to ``base`` and contents (``digests`` if already known)."""
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(str(path.relative_to(base)).encode())
        sha = digests[path] if digests is not None else file_sha256(path)
        # a link counts by the target it names, so relinking it is a new version
        digest.update(sha.encode() if sha is not None else b"symlink:" + os.fsencode(os.readlink(path)))
    return digest.hexdigest()


def _readable(files: list[Path], raw_dir: Path, findings: list[Finding]) -> dict[Path, str | None]:
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
        if (p.is_symlink() or p.is_file()) and p.name not in IGNORED_NAMES and not p.name.startswith("._")
    )


def discover(raw_dir: Path, members: dict[str, str]) -> tuple[list[Submission], list[Finding]]:
    """Every submission in the inbox, plus findings about what could not be placed."""
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
        deliveries: dict[str, list[Path]] = {}
        # links are listed (the intake refuses them with a finding) but never followed
        loose = [p for p in country_dir.iterdir() if (p.is_symlink() or p.is_file()) and p.name not in IGNORED_NAMES]
        for sub in sorted(
            p for p in country_dir.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")
        ):
            deliveries[sub.name] = _visible_files(sub)
        if loose:
            deliveries[""] = sorted(loose)
        versions: dict[str, int] = {}
        ordered = sorted(deliveries.items(), key=lambda kv: (_delivery_date(kv[0], kv[1]), kv[0]))
        for name, files in ordered:
            folder = country_dir / name if name else country_dir
            received = _delivery_date(name, files)
            digests = _readable(files, raw_dir, findings)
            files = [p for p in files if p in digests]
            by_deliverable: dict[str, list[Path]] = {}
            for path in files:
                deliverable = classify(path)
                if path.name.lower() == "crosswalk.csv":  # a soil map's legend correlation travels with it
                    deliverable = "soil_map"
                if deliverable is None:
                    if path.suffix.lower() not in SHAPEFILE_SIDECARS and not path.name.endswith(".aux.xml"):
                        findings.append(
                            Finding(
                                "inbox.unknown_file",
                                Severity.INFO,
                                f"{path.name}: not a file type of any deliverable; ignored",
                                Location(file=str(path.relative_to(raw_dir))),
                                hint="salinity maps are GeoTIFF, soil maps GeoPackage/GeoJSON/FlatGeobuf/zipped "
                                "shapefile, chapters and profiles .docx or .pdf",
                            )
                        )
                    continue
                by_deliverable.setdefault(deliverable, []).append(path)
            for deliverable, dfiles in sorted(by_deliverable.items()):
                if deliverable == "soil_map":
                    # shapefile sidecars travel with their .shp
                    stems = {p.with_suffix("") for p in dfiles if p.suffix.lower() == ".shp"}
                    dfiles = dfiles + [p for p in files if p.with_suffix("") in stems and p not in dfiles]
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
                        checksum=checksum_files(dfiles, country_dir, digests),
                        file_sha256=tuple((p, digests[p]) for p in sorted(dfiles)),
                    )
                )
    return submissions, findings
