"""Test helpers that act like a country sending files (shared by several test modules)."""

from __future__ import annotations

import shutil

import rasterio


def change_salinity(programme, iso3: str, day: str, delta: float) -> None:
    """A new delivery of a country's salinity layers with ECe 0-30 shifted by delta on valid pixels."""
    source = next(f for f in sorted((programme.raw_dir / iso3).iterdir()) if any(f.glob(f"{iso3}_GSSmap_*.tif")))
    target = programme.raw_dir / iso3 / day
    target.mkdir(parents=True)
    for tif in [*source.glob(f"{iso3}_GSSmap_*.tif"), *source.glob("*.csv"), *source.glob("*.txt")]:
        shutil.copy2(tif, target / tif.name)  # with the manifest / lookup tables that give the class maps a legend
    with rasterio.open(target / f"{iso3}_GSSmap_ECe_0-30.tif", "r+") as dst:
        data = dst.read(1)
        data[data != dst.nodata] += delta
        dst.write(data, 1)
