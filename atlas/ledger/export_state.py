"""Whether the status exports on disk are those of the ledger today (light: no drawing libraries imported).

The last export leaves a fingerprint of what it was made from; equal fingerprints, equal exports.
The pipeline skips redrawing on a re-run, and ``atlas run`` checks it before starting Prefect.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from atlas.atomic import write_text_atomic
from atlas.config import Programme
from atlas.config_schema import STATUS_FORMATS
from atlas.ledger.schema import StatusRow
from atlas.ledger.status_table import status_records

FINGERPRINT = ".exports_fingerprint.json"
ALL_FORMATS = STATUS_FORMATS  # what [status] formats and `atlas status export --format` may name
# Raised whenever the exports change their look or content: exports of an older pipeline are redrawn.
EXPORTS_LAYOUT = 4  # 4: days kept with their "d" in the HTML; maps drawn from simplified shapes


def boundaries_identity(programme: Programme) -> str:
    """The map base the exports draw: the programme's reference layer (path and modification time)."""
    source = programme.reference_boundaries
    return f"{source}:{source.stat().st_mtime_ns}" if source.is_file() else "none"


def ledger_fingerprint(rows: Sequence[StatusRow], programme: Programme, formats: Sequence[str],
                       today: dt.date, boundaries_source: str) -> str:
    """What the exports are made of (status rows, day, formats, map base, layout version)."""
    payload = json.dumps({"rows": status_records(rows), "today": today.isoformat(), "formats": sorted(formats),
                          "programme": programme.name, "boundaries": boundaries_source, "layout": EXPORTS_LAYOUT,
                          "deliverables": {k: [d.title, str(d.deadline)] for k, d in programme.deliverables.items()},
                          "members": programme.members},
                         sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _stored(out_dir: Path) -> dict:
    """The last export's own record (FINGERPRINT): its fingerprint, files and maps; {} when missing or unreadable."""
    try:
        stored = json.loads((Path(out_dir) / FINGERPRINT).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return stored if isinstance(stored, dict) else {}


def _files(stored: dict, out_dir: Path) -> dict[str, list[Path]]:
    files = stored.get("files")
    if not isinstance(files, dict):
        return {}
    return {str(kind): [Path(out_dir) / Path(str(name)).name for name in names]
            for kind, names in files.items() if isinstance(names, list)}


def unchanged_exports(out_dir: Path, fingerprint: str) -> dict[str, list[Path]] | None:
    """The files of the last export if it was made from the same fingerprint and all of them still exist."""
    stored = _stored(out_dir)
    if stored.get("fingerprint") != fingerprint:
        return None
    written = _files(stored, out_dir)
    if not all(p.is_file() for paths in written.values() for p in paths):
        return None
    return written


def store_fingerprint(out_dir: Path, fingerprint: str, written: dict[str, list[Path]],
                      maps: dict[str, str] | None = None) -> None:
    """The export's fingerprint, its files and each map's own fingerprint (``map_fingerprint``)."""
    write_text_atomic(Path(out_dir) / FINGERPRINT, json.dumps(
        {"fingerprint": fingerprint, "files": {k: [p.name for p in v] for k, v in written.items()},
         "maps": maps or {}}, indent=2))


def map_fingerprint(content: dict) -> str:
    """What one status map is drawn from (its rows, day, titles, map base...), with the layout version."""
    payload = json.dumps({"layout": EXPORTS_LAYOUT, **content}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def exported_files(out_dir: Path) -> dict[str, list[Path]]:
    """The files the last export recorded writing, by format (empty when there is no record)."""
    return _files(_stored(out_dir), out_dir)


def drawn_maps(out_dir: Path) -> dict[str, str]:
    """The fingerprint of each map file of the last export (file name: fingerprint); empty when unknown."""
    maps = _stored(out_dir).get("maps", {})
    return maps if isinstance(maps, dict) else {}
