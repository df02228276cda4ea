"""Releases of the regional products: built aside, checked, then made current in one step.

A run that rebuilds anything starts a new release folder (``regional/releases/.building-<name>``),
seeded with hard links to every file of the current release, so the products it does not rebuild
are carried over without copying. Rebuilt products replace their own files there. When every file,
table and the catalogue are written, the set is checked (``atlas.products.release_checks``); only
then is the folder renamed to ``<name>`` and the pointer file ``regional/CURRENT`` replaced (one
atomic rename each). A failed build or check removes the building folder: the previous release
stays whole and current. The oldest releases beyond ``[releases] keep`` are removed, never the
current one. Layout and reasons: docs/PRODUCTS.md ("Releases").
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
from pathlib import Path

from atlas import layout
from atlas.atomic import sweep_temporaries, write_text_atomic
from atlas.errors import AtlasError
from atlas.wording import plural

log = logging.getLogger(__name__)

BUILDING = ".building-"  # prefix of a release being built (swept when a killed run left one)


class ReleaseRefused(AtlasError):
    """A release's files did not pass the checks: it does not become current."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        shown = "; ".join(self.problems[:3]) + (f" (and {len(self.problems) - 3} more)" if len(problems) > 3 else "")
        super().__init__(f"release refused: {shown}")


def _new_name(releases: Path, now: dt.datetime) -> str:
    base = now.strftime("%Y%m%dT%H%M%SZ")
    name, n = base, 1
    while (releases / name).exists() or (releases / f"{BUILDING}{name}").exists():
        n += 1
        name = f"{base}-{n}"
    return name


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link (no copy, the file is never written again in either release), else a copy."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def begin(processed: Path, run_id: str, now: dt.datetime | None = None) -> Path:
    """A new release folder holding the current release's products (not its catalogue); call under the run lock."""
    releases = layout.releases_dir(processed)
    releases.mkdir(parents=True, exist_ok=True)
    sweep_temporaries(releases)
    name = _new_name(releases, now or dt.datetime.now(dt.UTC))
    staging = releases / f"{BUILDING}{name}"
    staging.mkdir()
    current = layout.current_release(processed)
    if current.is_dir():
        for path in sorted(current.rglob("*")):
            relative = path.relative_to(current)
            hidden = any(part.startswith(".") for part in relative.parts)  # temporaries of a killed build
            if path.is_file() and not hidden and relative.parts[0] != layout.STAC and path.name != layout.RELEASE_FILE:
                _link_or_copy(path, staging / relative)
    log.info("run %s: building release %s", run_id, name)
    return staging


def is_building(release: Path) -> bool:
    return Path(release).name.startswith(BUILDING)


def release_name(release: Path) -> str:
    name = Path(release).name
    return name[len(BUILDING):] if name.startswith(BUILDING) else name


def clear_product(out_dir: Path, listed: list[str]) -> None:
    """Remove a product's carried-over files from a release being built, before it is rebuilt there.

    ``listed``: its files as its build manifest names them (relative to ``out_dir``; border tables with ``../``).
    Refuses any folder outside a release being built: a published release is never changed.
    """
    out_dir = Path(out_dir)
    if not is_building(out_dir.parent):
        raise AtlasError(f"{out_dir}: not in a release being built; published releases are never changed")
    for name in listed:
        (out_dir / name).unlink(missing_ok=True)
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)


def abandon(staging: Path, reason: str) -> None:
    """Remove a release that failed: the current one stays as it was."""
    if is_building(staging):
        shutil.rmtree(staging, ignore_errors=True)
        log.error("release %s not published: %s", release_name(staging), reason)


def commit(processed: Path, staging: Path, run_id: str, keep: int, problems: list[str],
           products: dict | None = None) -> Path:
    """Make a checked release current: rename its folder, then replace the pointer file (atomic each).

    ``problems``: what the checks found (``atlas.products.release_checks.check_release``); any problem refuses
    the release (``ReleaseRefused``, the folder removed). ``products``: what each product holds, for release.json.
    """
    if problems:
        abandon(staging, f"{plural(len(problems), 'problem')}: {problems[0]}")
        raise ReleaseRefused(problems)
    name = release_name(staging)
    previous = layout.current_release_name(processed)
    record = {"name": name, "run_id": run_id, "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
              "previous": previous, "products": products or {}}
    write_text_atomic(staging / layout.RELEASE_FILE, json.dumps(record, indent=2))
    final = layout.releases_dir(processed) / name
    staging.rename(final)
    write_text_atomic(layout.current_pointer(processed), name + "\n")
    log.info("run %s: release %s is current (previous: %s)", run_id, name, previous or "none")
    prune(processed, keep)
    return final


def list_releases(processed: Path) -> list[dict]:
    """Every kept release, newest first: name, run, created, products, and whether it is the current one."""
    current = layout.current_release_name(processed)
    out = []
    releases = layout.releases_dir(processed)
    for folder in sorted(releases.iterdir() if releases.is_dir() else []):
        if not folder.is_dir() or folder.name.startswith("."):
            continue
        try:
            record = json.loads((folder / layout.RELEASE_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            record = {"name": folder.name, "created": None, "run_id": None, "products": {}}
        out.append({**record, "name": folder.name, "path": folder, "current": folder.name == current})
    return sorted(out, key=lambda r: (r.get("created") or "", r["name"]), reverse=True)


def prune(processed: Path, keep: int) -> list[str]:
    """Remove the oldest releases beyond ``keep`` (the current one always stays); returns their names."""
    removed = []
    for record in list_releases(processed)[max(int(keep), 1):]:
        if record["current"]:
            continue
        shutil.rmtree(record["path"], ignore_errors=True)
        removed.append(record["name"])
    if removed:
        log.info("releases removed (more than %d kept): %s", keep, ", ".join(removed))
    return removed
