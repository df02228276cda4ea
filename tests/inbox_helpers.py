"""Test helpers that act like a country sending files, and the programme settings several test modules share."""

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


# Runs whose tests are about products, the ledger or operations write the status table without its maps
# ([status] formats): the seven maps, drawn as PNG and SVG, take about 6 s of CPU a run. The maps have their
# own tests (test_ledger_exports.py), and the end-to-end flow (test_flow_e2e.py) writes every format.
STATUS_TABLES_ONLY = ("csv", "md")
ALL_STATUS_FORMATS_TOML = 'formats = ["csv", "xlsx", "md", "html", "png", "svg"]'


def status_tables_only(programme_toml: str) -> str:
    """The text of a programme.toml whose runs write the status exports in STATUS_TABLES_ONLY."""
    assert ALL_STATUS_FORMATS_TOML in programme_toml, "the [status] formats line of programme.toml changed"
    return programme_toml.replace(ALL_STATUS_FORMATS_TOML, f"formats = {list(STATUS_TABLES_ONLY)}".replace("'", '"'))


def without_status_maps(programme):
    """The programme (a Programme) whose runs write the status exports in STATUS_TABLES_ONLY."""
    from dataclasses import replace

    return replace(programme, status=replace(programme.status, formats=STATUS_TABLES_ONLY))
