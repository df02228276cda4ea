"""Where everything lives under data/processed (one place, so nobody guesses).

Regional products are published as releases (docs/PRODUCTS.md, "Releases"): each build is a folder
``regional/releases/<name>/`` holding the whole set (``salinity/``, ``soil_atlas/``, ``borders/``,
``tables/``, ``stac/``, ``release.json``), and the text file ``regional/CURRENT`` names the release readers use.
A pointer file rather than a symbolic link: it works the same on Windows shares, and replacing it is
one atomic rename. Readers ask ``current_release`` (or the ``regional_*_dir`` helpers) and never
build these paths themselves.
"""

from __future__ import annotations

from pathlib import Path

SOIL_MAP_FILE = "soil_map.gpkg"  # the harmonized national soil map, in its version folder (layer "map_units")
# GeoPackages the pipeline writes are GeoPackage 1.2 files: GDAL from 3.9 writes 1.4 by default, whose R-tree
# triggers GDAL before 3.9 (QGIS 3.22, Debian 12's validate_gpkg.py) does not know; a 1.2 file opens without
# a warning and passes the validator of every GDAL version (docs/PRODUCTS.md)
GPKG_OPTIONS = {"VERSION": "1.2"}
CURRENT_POINTER = "CURRENT"  # regional/CURRENT: one line, the name of the current release
RELEASE_FILE = "release.json"  # in each release folder: its name, run, products and checks
NO_RELEASE = "none-yet"  # the (never created) folder the helpers name while no release is current

# the folders of one release, by product
SALINITY, SOIL_ATLAS, BORDERS, STAC, TABLES = "salinity", "soil_atlas", "borders", "stac", "tables"


def national_dir(processed: Path, country: str, deliverable: str, version: int) -> Path:
    """Harmonized copy and reports of one submission version."""
    return Path(processed) / "national" / country / deliverable / f"v{version:03d}"


def regional_root(processed: Path) -> Path:
    """Where the releases and the pointer to the current one live."""
    return Path(processed) / "regional"


def releases_dir(processed: Path) -> Path:
    return regional_root(processed) / "releases"


def current_pointer(processed: Path) -> Path:
    return regional_root(processed) / CURRENT_POINTER


def current_release_name(processed: Path) -> str | None:
    """The name the pointer file holds, or None before the first release."""
    try:
        name = current_pointer(processed).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return name or None


def current_release(processed: Path) -> Path:
    """The folder of the current release (a folder that does not exist while no release is current)."""
    return releases_dir(processed) / (current_release_name(processed) or NO_RELEASE)


def salinity_in(release: Path) -> Path:
    return Path(release) / SALINITY


def soil_in(release: Path) -> Path:
    return Path(release) / SOIL_ATLAS


def borders_in(release: Path) -> Path:
    return Path(release) / BORDERS


def stac_in(release: Path) -> Path:
    return Path(release) / STAC


def tables_in(release: Path) -> Path:
    """The regional tables of a release: ``tables/<table>/`` and the meeting summary (before: ``regional/tables``)."""
    return Path(release) / TABLES


def regional_salinity_dir(processed: Path) -> Path:
    """The salinity mosaics of the current release."""
    return salinity_in(current_release(processed))


def regional_soil_dir(processed: Path) -> Path:
    """The Soil Atlas layers of the current release."""
    return soil_in(current_release(processed))


def borders_dir(processed: Path) -> Path:
    """The border tables of the current release."""
    return borders_in(current_release(processed))


def stac_dir(processed: Path) -> Path:
    """The STAC catalogue of the current release."""
    return stac_in(current_release(processed))


def tables_dir(processed: Path) -> Path:
    """The regional tables of the current release."""
    return tables_in(current_release(processed))


def status_dir(processed: Path) -> Path:
    return Path(processed) / "status"
