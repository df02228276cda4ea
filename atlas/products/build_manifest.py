"""Which national versions a regional product was built from (its build manifest), without loading the product."""

from __future__ import annotations

import json
from pathlib import Path

BUILD_MANIFEST = "build_manifest.json"


def is_up_to_date(out_dir: Path, versions: dict[str, int]) -> bool:
    """True if the product in out_dir was built from exactly these national versions and its files exist."""
    manifest = Path(out_dir) / BUILD_MANIFEST
    if not manifest.is_file():
        return False
    try:
        built = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    files_ok = all((Path(out_dir) / name).is_file() for name in built.get("files", []))
    return files_ok and built.get("versions") == {k: int(v) for k, v in sorted(versions.items())}
