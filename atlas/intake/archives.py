"""The intake of untrusted submissions: safe archive extraction and the submission's working copy.

Archives are extracted member by member into a fresh folder under the
submission's own processed area (``<national>/<ISO3>/<deliverable>/v<NNN>/intake/``)
with limits on member count, size and compression ratio; absolute paths, ``..``,
links and device files are refused; names are normalised (NFC, spaces to ``_``)
and collisions after case-folding are refused. Files in the inbox that are links
or lie outside the country's own folder are dropped. The inbox is only read.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import stat
import unicodedata
import zipfile
from dataclasses import replace
from pathlib import Path, PurePosixPath

from atlas.finding import Finding, Location, Severity
from atlas.intake.containment import Limits, regular_file_inside
from atlas.intake.findings import finding
from atlas.intake.inbox import Submission
from atlas.wording import plural

log = logging.getLogger(__name__)

ISO3 = re.compile(r"^[A-Z]{3}$")
JUNK = re.compile(r"(^|/)(__MACOSX/|\._)|~$|(^|/)(\.DS_Store|Thumbs\.db|desktop\.ini)$|\.(bak|tmp|lock)$",
                  re.IGNORECASE)
MAP_SUFFIXES = (".shp", ".gpkg", ".geojson", ".json", ".fgb")
INTAKE_DIR = "intake"
COPY_CHUNK = 1 << 20


def sanitise_name(name: str) -> str:
    """One path component made safe and stable: NFC, no control characters, spaces and oddities to '_'."""
    name = unicodedata.normalize("NFC", name)
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = re.sub(r"[\s]+", "_", name.strip())
    # letters, digits and combining marks of any script (Khmer, Thai...) stay; separators and symbols do not
    name = "".join(ch if ch in "._-" or unicodedata.category(ch)[0] in "LNM" else "_" for ch in name)
    name = name.lstrip(".") or "_"
    return name[:200]


def _member_problem(info: zipfile.ZipInfo) -> str | None:
    """Why a member must not be extracted (absolute, '..', link, device), or None."""
    name = info.filename.replace("\\", "/")
    mode = info.external_attr >> 16
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "absolute path"
    if ".." in PurePosixPath(name).parts:
        return "'..' in its path"
    if mode and stat.S_ISLNK(mode):
        return "symbolic link"
    if mode and (stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        return "device or special file"
    return None


def extract_archive(archive: Path, dest: Path, limits: Limits | None = None) -> tuple[list[Path], list[Finding]]:
    """Extract a zip into the fresh folder ``dest``; (extracted files, junk excluded; findings). Never raises.

    Any unsafe member or exceeded limit refuses the whole archive: a partly extracted map would mislead.
    """
    archive, dest = Path(archive), Path(dest)
    limits = limits or Limits()
    loc = Location(file=archive.name)
    findings: list[Finding] = []
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
            refusal = _archive_refusal(archive.name, infos, limits)
            if refusal:
                return [], [refusal]
            junk = [i.filename for i in infos if JUNK.search(i.filename)]
            if junk:
                listed = ", ".join(junk[:6]) + (" ..." if len(junk) > 6 else "")
                findings.append(finding("vector.junk_ignored", f"{plural(len(junk), 'junk file')} in the archive "
                                        f"ignored: {listed}", loc, observed=junk))
            if dest.is_symlink():
                dest.unlink()
            if dest.exists():
                shutil.rmtree(dest)  # a fresh folder: leftovers of an earlier run never mix in
            dest.mkdir(parents=True)
            files, renamed, seen = [], [], {}
            for info in infos:
                if info.filename in junk:
                    continue
                parts = [sanitise_name(p) for p in PurePosixPath(info.filename.replace("\\", "/")).parts]
                rel = "/".join(parts)
                if rel != info.filename:
                    renamed.append((info.filename, rel))
                key = rel.casefold()
                if key in seen:
                    findings.append(finding("intake.name_collision", f"{info.filename!r} and {seen[key]!r} have the "
                                            f"same name once normalised ({rel}); the second was dropped", loc,
                                            observed=[seen[key], info.filename]))
                    continue
                seen[key] = info.filename
                target = dest.joinpath(*parts)
                _extract_member(zf, info, target, dest, limits)
                files.append(target)
            if renamed:
                findings.append(finding("intake.name_normalised", f"{plural(len(renamed), 'name')} normalised, e.g. "
                                        f"{renamed[0][0]!r} -> {renamed[0][1]!r}", loc, observed=dict(renamed[:20])))
            return sorted(files), findings
    except _TooLarge as exc:
        shutil.rmtree(dest, ignore_errors=True)
        return [], findings + [finding("intake.archive_too_large", f"{archive.name}: {exc}", loc)]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError, OSError,
            ValueError) as exc:  # damaged, encrypted (RuntimeError) or an unknown compression method
        shutil.rmtree(dest, ignore_errors=True)
        return [], findings + [finding("intake.archive_unreadable", f"{archive.name}: cannot be extracted: {exc}", loc,
                                       observed=type(exc).__name__)]


class _TooLarge(Exception):
    pass


def _archive_refusal(name: str, infos: list[zipfile.ZipInfo], limits: Limits) -> Finding | None:
    """The finding that refuses the archive from its directory alone (before extracting a byte), or None."""
    loc = Location(file=name)
    bad = [(i.filename, why) for i in infos if (why := _member_problem(i))]
    if bad:
        return finding("intake.archive_unsafe_member", f"{name}: {plural(len(bad), 'unsafe member')}: "
                       + "; ".join(f"{n!r} ({w})" for n, w in bad[:5]), loc, observed=[n for n, _ in bad[:20]])
    if len(infos) > limits.max_archive_members:
        return finding("intake.archive_too_large", f"{name}: {len(infos):,} members > {limits.max_archive_members:,}",
                       loc, observed=len(infos), expected=limits.max_archive_members)
    total = sum(i.file_size for i in infos)
    if total > limits.max_archive_bytes:
        return finding("intake.archive_too_large", f"{name}: expands to {total / 2**20:,.0f} MiB > "
                       f"{limits.max_archive_bytes / 2**20:,.0f} MiB", loc, observed=total,
                       expected=limits.max_archive_bytes)
    for i in infos:
        ratio = i.file_size / max(i.compress_size, 1)
        if i.file_size > COPY_CHUNK and ratio > limits.max_compression_ratio:
            return finding("intake.archive_too_large", f"{name}: member {i.filename!r} expands {ratio:,.0f}-fold "
                           f"({i.compress_size:,} -> {i.file_size:,} bytes; limit {limits.max_compression_ratio:g})",
                           loc, observed=round(ratio, 1), expected=limits.max_compression_ratio)
    return None


def _extract_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, dest: Path, limits: Limits) -> None:
    """Copy one member, never following a link and never writing more than its declared size."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if not os.path.realpath(target.parent).startswith(os.path.realpath(dest)):
        raise _TooLarge(f"member {info.filename!r} would land outside the extraction folder")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    written = 0
    with zf.open(info) as src, os.fdopen(os.open(target, flags, 0o644), "wb") as out:
        while block := src.read(COPY_CHUNK):
            written += len(block)
            if written > info.file_size or written > limits.max_archive_bytes:  # a header that lies
                raise _TooLarge(f"member {info.filename!r} expands beyond its declared {info.file_size:,} bytes")
            out.write(block)


def pick_map(files: list[Path], archive_name: str) -> tuple[Path | None, list[Finding]]:
    """The soil map among extracted files (first shapefile, else GeoPackage/GeoJSON/FlatGeobuf) and findings."""
    shps = sorted(p for p in files if p.suffix.lower() == ".shp")
    others = sorted(p for p in files if p.suffix.lower() in MAP_SUFFIXES[1:])
    maps = shps + others
    if not maps:
        return None, []
    findings = []
    if len(maps) > 1:
        findings.append(finding("vector.multiple_layers", f"archive holds {len(maps)} maps; read {maps[0].name}",
                                Location(file=archive_name), observed=[p.name for p in maps]))
    return maps[0], findings


def map_with_sidecars(main: Path, files: list[Path]) -> list[Path]:
    """A map file and, for a shapefile, its sidecars (same stem, any case)."""
    stem = main.with_suffix("").name.casefold()
    return [main] + [p for p in files if p != main and p.parent == main.parent
                     and p.with_suffix("").name.casefold() == stem]


def safe_output_dir(out_dir: Path, processed_dir: Path) -> Finding | None:
    """A finding if writing to ``out_dir`` would pass through a symlink or leave ``processed_dir``; else None."""
    out_dir, processed_dir = Path(out_dir), Path(processed_dir)
    try:
        rel = out_dir.relative_to(processed_dir)
    except ValueError:
        rel = None
    bad = rel is None or ".." in rel.parts
    current = processed_dir
    for part in rel.parts if rel else ():
        current = current / part
        bad = bad or current.is_symlink()
    if not bad and out_dir.is_dir():
        bad = any(p.is_symlink() for p in out_dir.iterdir())
    if not bad:
        return None
    return finding("intake.output_unsafe", f"{out_dir} passes through a symbolic link or leaves {processed_dir}; "
                   "nothing written", Location(file=str(rel or out_dir)))


def prepare_submission(sub: Submission, programme, out_dir: Path,
                       root: Path | None = None, limits: Limits | None = None) -> tuple[Submission, list[Finding]]:
    """The submission with only safe files: inbox links dropped, archives extracted into ``out_dir/intake``.

    ``root``: the folder every file must lie inside; by default the country's inbox folder. ``atlas validate``
    passes the folder it was given (outside the inbox, the country may be unknown: nothing is named after it).
    ``limits``: the submission's ``[limits]`` (built once per submission by the caller).
    """
    limits = limits or Limits.from_programme(programme)
    findings: list[Finding] = []
    if root is None and (not ISO3.match(sub.country or "") or sub.country not in programme.members) \
            or sub.deliverable not in programme.deliverables:
        return replace(sub, files=()), [finding("intake.unsafe_name", f"country {sub.country!r} / deliverable "
                                                f"{sub.deliverable!r} refused as a folder name",
                                                Location(file=str(sub.country)), observed=sub.country)]
    raw_dir = Path(programme.raw_dir)
    try:  # the country's own inbox folder, as spelled on disk (a folder "khm" holds KHM's deliveries)
        country_root = Path(root) if root is not None else raw_dir / Path(sub.folder).relative_to(raw_dir).parts[0]
    except (ValueError, IndexError):
        country_root = raw_dir / sub.country
    kept: list[Path] = []
    for path in map(Path, sub.files):
        if not regular_file_inside(path, country_root):
            findings.append(finding("intake.link_refused", f"{path.name} is a link or lies outside {sub.country}'s "
                                    "inbox folder; not read", Location(file=path.name)))
            continue
        if path.suffix.lower() != ".zip" or sub.deliverable != "soil_map":
            kept.append(path)
            continue
        dest = Path(out_dir) / INTAKE_DIR / sanitise_name(path.stem)
        files, notes = extract_archive(path, dest, limits)
        findings += notes
        refused = any(f.severity == Severity.ERROR for f in notes)
        main, notes = pick_map(files, path.name)
        findings += notes
        if main is None:
            if not refused:
                findings.append(finding("vector.unreadable", f"{path.name}: the archive holds no shapefile or "
                                        "GeoPackage/GeoJSON/FlatGeobuf", Location(file=path.name)))
            continue
        kept += map_with_sidecars(main, files)
    return replace(sub, files=tuple(kept)), findings
