"""Which national versions (and settings) a regional product was built from, without loading the product."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from atlas import layout
from atlas.config import Programme

BUILD_MANIFEST = "build_manifest.json"


def product_settings(programme: Programme, deliverable: str) -> dict:
    """The settings a regional product is built with, as JSON values: a change to any of them makes it stale."""
    common = {"crs": programme.crs, "resolution_deg": programme.resolution_deg,
              "alignment_tolerance_px": programme.alignment_tolerance_px,
              "region_bounds": list(programme.region_bounds), "equal_area_crs": programme.equal_area_crs}
    if deliverable == "salinity_map":
        settings = {**common, "salinity": asdict(programme.salinity)}
    else:
        settings = {**common, "soil_required_fields": list(programme.soil_required_fields),
                    "soil_optional_fields": list(programme.soil_optional_fields),
                    "sliver_max_km2": programme.sliver_max_km2,
                    "gap_fill_max_width_km": programme.gap_fill_max_width_km,
                    "soil_legacy": programme.soil_legacy, "overlap_rule": programme.overlap_rule,
                    # settings tables read straight from programme.toml by the soil stages
                    **{key: programme.extra[key] for key in ("soil_map", "harmonize", "wrb") if key in programme.extra}}
    return json.loads(json.dumps(settings, default=str))  # as the manifest stores them (tuples become lists)


def _read_manifest(out_dir: Path) -> dict | None:
    try:
        return json.loads((Path(out_dir) / BUILD_MANIFEST).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def layers_json(layers: dict[str, dict[str, int]] | None) -> dict:
    """{iso3: {layer: source version}} as the manifest stores it."""
    return {iso3: {k: int(v) for k, v in sorted(lv.items())} for iso3, lv in sorted((layers or {}).items())}


def is_up_to_date(out_dir: Path, versions: dict[str, int], settings: dict | None = None,
                  layers: dict[str, dict[str, int]] | None = None) -> bool:
    """True if the product in out_dir was built from exactly these national versions and its files exist.

    With ``settings`` (see product_settings), they must also be the settings it was built with; with ``layers``
    (the resolved state's layer sources), the version each layer came from.
    """
    built = _read_manifest(out_dir)
    if built is None:
        return False
    files_ok = all((Path(out_dir) / name).is_file() for name in built.get("files", []))
    same_settings = settings is None or built.get("settings") == settings
    same_layers = layers is None or built.get("layers") == layers_json(layers)
    return files_ok and same_settings and same_layers and \
        built.get("versions") == {k: int(v) for k, v in sorted(versions.items())}


def table_up_to_date(release: Path, key: str, versions: dict[str, int]) -> bool:
    """The regional table ``key`` of a release holds exactly these versions, and all its files are there (light:
    JSON only, so ``atlas run`` can ask it before starting Prefect)."""
    folder = layout.tables_in(release) / key
    built = _read_manifest(folder)
    if built is None:
        return False
    return built.get("versions") == versions and all((folder / name).is_file() for name in built.get("files", []))


def mergeable_versions(processed: Path, key: str, versions: dict[str, int]) -> dict[str, int]:
    """The versions of a table whose rows were written (a version processed before tables had a copy is left out)."""
    return {iso3: v for iso3, v in versions.items()
            if (layout.national_dir(processed, iso3, key, v) / "table").is_dir()}


SUMMARY_FILE = "meeting_summary.html"  # the meeting summary of every table, beside them in the release


def tables_outdated(programme: Programme, current, release: Path) -> bool:
    """Some regional table of ``release`` does not hold the current versions (``current(key)`` -> {iso3: version},
    the resolved state's ``current_versions``), or the meeting summary is missing; False when nothing is accepted."""
    wanted = {key: mergeable_versions(programme.processed_dir, key, current(key)) for key in programme.table_keys()}
    if not any(wanted.values()):
        return False
    if not (layout.tables_in(release) / SUMMARY_FILE).is_file():
        return True
    return any(not table_up_to_date(release, key, versions) for key, versions in wanted.items() if versions)
