"""Where everything lives under data/processed (one place, so nobody guesses)."""

from __future__ import annotations

from pathlib import Path

SOIL_MAP_FILE = "soil_map.gpkg"  # the harmonized national soil map, in its version folder (layer "map_units")


def national_dir(processed: Path, country: str, deliverable: str, version: int) -> Path:
    """Harmonized copy and reports of one submission version."""
    return Path(processed) / "national" / country / deliverable / f"v{version:03d}"


def regional_salinity_dir(processed: Path) -> Path:
    return Path(processed) / "regional" / "salinity"


def regional_soil_dir(processed: Path) -> Path:
    return Path(processed) / "regional" / "soil_atlas"


def borders_dir(processed: Path) -> Path:
    return Path(processed) / "regional" / "borders"


def status_dir(processed: Path) -> Path:
    return Path(processed) / "status"
