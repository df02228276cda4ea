"""Failure drills: make a named step fail on purpose, to see what operators would see (docs/OPERATIONS.md).

``ATLAS_FAILPOINTS=soil_atlas atlas run`` makes the Soil Atlas build fail as a real defect would (a disk
full, a library error): the run records the failed release and the previous release stays current. Names
not set in the variable cost one dictionary look-up; nothing fails unless an operator asks for it.
"""

from __future__ import annotations

import os

ENV = "ATLAS_FAILPOINTS"
NAMES = ("salinity_mosaic", "soil_atlas", "catalogue")  # the steps that can be made to fail


class DrillFailure(RuntimeError):
    """The failure an operator asked for with ATLAS_FAILPOINTS."""


def failpoint(name: str) -> None:
    """Raise DrillFailure when ``name`` is listed (comma-separated) in the ATLAS_FAILPOINTS variable."""
    wanted = {part.strip() for part in os.environ.get(ENV, "").split(",") if part.strip()}
    if name in wanted:
        raise DrillFailure(f"failure drill: {ENV} names {name!r}")
