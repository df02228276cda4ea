"""Checks of the OGC GeoPackage standard (12-128r18) that GDAL's ``validate_gpkg.py`` makes on a file's
tables, ported for tests: the header, ``gpkg_contents`` against the tables, its timestamps, and the R-tree
triggers of the version the file declares. ``gdal_validator`` finds GDAL's own script where the GDAL Python
bindings are installed (any ``python3`` on the PATH that imports ``osgeo_utils``), to run it as well.

Returns one line per violation (empty when the file conforms), naming the requirement like the validator.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

GPKG_APPLICATION_ID = 0x47504B47  # "GPKG"
# Requirement 15: last_change in ISO 8601 as SQLite's strftime('%Y-%m-%dT%H:%M:%fZ') writes it (milliseconds)
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
DATA_TYPES = {"features", "tiles", "attributes", "2d-gridded-coverage"}
# Requirement 75: the R-tree update triggers; GeoPackage 1.4 replaced update1 and update3 by update6 and update7,
# which validators (and GDAL itself) older than 3.9 do not know
RTREE_UPDATES = {False: {1, 2, 3, 4}, True: {2, 4, 5, 6, 7}}  # by "declares 1.4 or later"


def gpkg_violations(path: Path) -> list[str]:
    out = []
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        application_id = db.execute("PRAGMA application_id").fetchone()[0]
        user_version = db.execute("PRAGMA user_version").fetchone()[0]
        if application_id != GPKG_APPLICATION_ID:
            out.append(f"Req 2: application_id is {application_id:#x}, not {GPKG_APPLICATION_ID:#x} ('GPKG')")
        if user_version < 10200:
            out.append(f"Req 2: user_version {user_version} is below 10200 (GeoPackage 1.2)")
        if db.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            out.append("Req 6: PRAGMA integrity_check fails")
        if db.execute("PRAGMA foreign_key_check").fetchall():
            out.append("Req 7: PRAGMA foreign_key_check reports rows")
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
        srs = {srs_id for (srs_id,) in db.execute("SELECT srs_id FROM gpkg_spatial_ref_sys")}
        geometry_tables = {name for (name,) in db.execute("SELECT table_name FROM gpkg_geometry_columns")}
        for table, data_type, last_change, srs_id in db.execute(
                "SELECT table_name, data_type, last_change, srs_id FROM gpkg_contents"):
            if table not in tables:
                out.append(f"Req 14: gpkg_contents names {table!r}, which is no table or view")
            if not TIMESTAMP.match(str(last_change)):
                out.append(f"Req 15: gpkg_contents.last_change of {table!r} is {last_change!r}, "
                           "not in the format %Y-%m-%dT%H:%M:%fZ")
            if data_type not in DATA_TYPES:
                out.append(f"Req 13: data_type {data_type!r} of {table!r} is not a GeoPackage data type")
            if srs_id is not None and srs_id not in srs:
                out.append(f"Req 16: srs_id {srs_id} of {table!r} is not in gpkg_spatial_ref_sys")
            if data_type == "features" and table not in geometry_tables:
                out.append(f"Req 22: features table {table!r} has no row in gpkg_geometry_columns")
        triggers = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        for table, column in db.execute("SELECT table_name, column_name FROM gpkg_geometry_columns"):
            rtree = f"rtree_{table}_{column}"
            if rtree not in tables:
                continue
            found = {int(t.rsplit("_update", 1)[1]) for t in triggers if t.startswith(f"{rtree}_update")}
            expected = RTREE_UPDATES[user_version >= 10400]
            if found != expected:
                out.append(f"Req 75: {rtree} has update triggers {sorted(found)}, GeoPackage "
                           f"{user_version // 10000}.{user_version // 100 % 100} expects {sorted(expected)}")
    return out


def gdal_validator() -> tuple[str, str] | None:
    """(python, script) of GDAL's ``validate_gpkg.py`` from an installed GDAL Python binding, else None."""
    candidates = [sys.executable] + [str(Path(d) / name) for d in os.environ.get("PATH", "").split(os.pathsep)
                                     for name in ("python3", "python3.11") if (Path(d) / name).is_file()]
    for python in dict.fromkeys(candidates):
        try:
            found = subprocess.run([python, "-c", "import osgeo_utils.samples.validate_gpkg as v; print(v.__file__)"],
                                   capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if found.returncode == 0 and found.stdout.strip():
            return python, found.stdout.strip()
    return None


def gdal_validate(path: Path, validator: tuple[str, str]) -> tuple[int, str]:
    """Run GDAL's validator on ``path``: (exit status, its last lines)."""
    python, script = validator
    done = subprocess.run([python, script, str(path)], capture_output=True, text=True, timeout=300)
    return done.returncode, "\n".join((done.stdout + done.stderr).strip().splitlines()[-3:])
