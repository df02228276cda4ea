"""One value for a pixel grid (CRS, transform, shape), after odc-geo's GeoBox.

The common GSSmap grid is geographic WGS 84 with 30 arc-second pixels whose
edges fall on multiples of 1/120 degree. Every national raster is related to
it through this value, so grid arithmetic is written once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from affine import Affine
from rasterio.windows import Window

from atlas.errors import GridError

ARC_SECONDS_30 = 1.0 / 120.0
# A raster with at least this many pixels per grid cell along each axis is aggregated onto the grid (mean,
# majority for classes); one this many times coarser is resampled with a warning; in between it is warped.
AGGREGATE_FROM_FACTOR = 1.5


@dataclass(frozen=True)
class Grid:
    crs: str
    transform: Affine
    width: int
    height: int

    @property
    def res(self) -> tuple[float, float]:
        return (self.transform.a, -self.transform.e)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self.width)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        west, north = self.transform.c, self.transform.f
        east = west + self.width * self.transform.a
        south = north + self.height * self.transform.e
        return (west, south, east, north)

    @property
    def crosses_antimeridian(self) -> bool:
        return self.bounds[2] > 180.0

    @classmethod
    def covering(
        cls, bounds: tuple[float, float, float, float], res: float = ARC_SECONDS_30, crs: str = "EPSG:4326"
    ) -> Grid:
        """The smallest grid aligned to multiples of ``res`` that covers ``bounds``.

        A west bound greater than the east bound means the box crosses the
        antimeridian; the grid then runs east past 180 degrees.
        """
        west, south, east, north = bounds
        if east < west:
            east += 360.0
        col0 = math.floor(round(west / res, 6))
        col1 = math.ceil(round(east / res, 6))
        row0 = math.floor(round(-north / res, 6))
        row1 = math.ceil(round(-south / res, 6))
        return cls(crs, Affine(res, 0.0, col0 * res, 0.0, -res, -row0 * res), col1 - col0, row1 - row0)

    def window_of(self, other: Grid) -> Window:
        """Where ``other`` (aligned, same resolution) sits in this grid, in pixels.

        The window may reach outside this grid; callers intersect as needed.
        """
        if not self.same_resolution(other):
            raise GridError(f"resolution {other.res} differs from {self.res}")
        col = (other.transform.c - self.transform.c) / self.transform.a
        row = (other.transform.f - self.transform.f) / self.transform.e
        if self.crosses_antimeridian:
            # a raster west of the antimeridian keeps its column; one east of it (longitudes -180..) sits
            # 360 degrees further east: take whichever placement overlaps this grid more
            shifted = col + 360.0 / self.transform.a
            if self._overlap_cols(shifted, other.width) > self._overlap_cols(col, other.width):
                col = shifted
        if abs(col - round(col)) > 1e-3 or abs(row - round(row)) > 1e-3:
            raise GridError(f"grid origin is off by ({col % 1:.4f}, {row % 1:.4f}) pixels")
        return Window(round(col), round(row), other.width, other.height)

    def _overlap_cols(self, col: float, width: int) -> float:
        return max(0.0, min(col + width, self.width) - max(col, 0.0))

    def same_resolution(self, other: Grid, tolerance_px: float = 1e-3) -> bool:
        return all(
            abs(a - b) <= tolerance_px * abs(b) / max(self.width, other.width, 1) or abs(a - b) <= 1e-12
            for a, b in zip(self.res, other.res, strict=True)
        )

    def offset_from_lattice(self, res: float = ARC_SECONDS_30) -> tuple[float, float]:
        """How far (in pixels, signed) the origin is from the nearest lattice node."""
        col = self.transform.c / res
        row = self.transform.f / res
        return (col - round(col), row - round(row))

    def is_aligned(self, res: float = ARC_SECONDS_30, tolerance_px: float = 1e-3) -> bool:
        """True if pixel size and origin match the lattice within the tolerance.

        The tolerance on pixel size is accumulated across the whole raster, so
        a size differing in the 17th digit passes and a real drift does not.
        """
        if self.transform.b != 0 or self.transform.d != 0:
            return False
        size_drift_px = max(abs(self.res[0] - res), abs(self.res[1] - res)) * max(self.width, self.height) / res
        dx, dy = self.offset_from_lattice(res)
        return size_drift_px <= tolerance_px and abs(dx) <= tolerance_px and abs(dy) <= tolerance_px

    def snapped(self, res: float = ARC_SECONDS_30) -> Grid:
        """This grid with its origin and pixel size put exactly on the lattice."""
        west, north = self.transform.c, self.transform.f
        return Grid(
            self.crs,
            Affine(res, 0.0, round(west / res) * res, 0.0, -res, round(north / res) * res),
            self.width,
            self.height,
        )

    def pixel_center(self, row: int, col: int) -> tuple[float, float]:
        x, y = self.transform * (col + 0.5, row + 0.5)
        return (x, y)
