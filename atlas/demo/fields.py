"""Smooth, seeded landscape fields for the demo (numpy only, no scipy).

Every field is defined on a fixed lattice over the whole of Asia, so its value
at a place depends only on the seed and the place: neighbouring countries see
the same landscape at their shared border, whatever window the demo is cut to.
"""

from __future__ import annotations

import functools
import zlib

import numpy as np
import shapely

# Fixed lattice extent (west, south, east, north): fields never depend on the demo window.
LATTICE_BOUNDS = (55.0, -15.0, 155.0, 60.0)

# Large river deltas and floodplains (lon, lat, radius in degrees): saline and Fluvisol country.
DELTAS = (
    (90.0, 22.4, 0.9),  # Ganges-Brahmaputra
    (105.8, 9.9, 0.9),  # Mekong
    (106.3, 20.6, 0.5),  # Red River
    (100.5, 14.0, 0.6),  # Chao Phraya
    (95.3, 16.5, 0.7),  # Irrawaddy
    (86.5, 20.3, 0.4),  # Mahanadi
    (81.3, 16.4, 0.5),  # Godavari-Krishna
    (104.0, 12.8, 0.7),  # Tonle Sap floodplain
)


def stable_seed(*parts: object) -> list[int]:
    """A seed sequence from values, stable across processes (unlike hash())."""
    return [zlib.crc32(str(p).encode()) for p in parts]


@functools.lru_cache(maxsize=64)
def _lattice(seed: int, name: str, step: float) -> np.ndarray:
    west, south, east, north = LATTICE_BOUNDS
    rows = int(round((north - south) / step)) + 2
    cols = int(round((east - west) / step)) + 2
    return np.random.default_rng(stable_seed(seed, name, step)).standard_normal((rows, cols))


def bilinear(values: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Sample a 2-D array at fractional (row, col) positions; the arrays broadcast."""
    r0 = np.clip(np.floor(rows).astype(np.int64), 0, values.shape[0] - 2)
    c0 = np.clip(np.floor(cols).astype(np.int64), 0, values.shape[1] - 2)
    fr = np.clip(rows - r0, 0.0, 1.0)
    fc = np.clip(cols - c0, 0.0, 1.0)
    if np.ndim(rows) == 2 and np.shape(rows)[1] == 1 and np.ndim(cols) == 2 and np.shape(cols)[0] == 1:
        # a grid (rows down, columns across): each lattice row interpolated across once, then whole rows
        # picked and blended; the same operations in the same order as below, so the same values, bit for bit
        across = values[:, c0[0]] * (1 - fc[0]) + values[:, c0[0] + 1] * fc[0]
        return across[r0[:, 0]] * (1 - fr) + across[r0[:, 0] + 1] * fr
    top = values[r0, c0] * (1 - fc) + values[r0, c0 + 1] * fc
    bottom = values[r0 + 1, c0] * (1 - fc) + values[r0 + 1, c0 + 1] * fc
    return top * (1 - fr) + bottom * fr


def field(seed: int, name: str, lon: np.ndarray, lat: np.ndarray, steps: tuple[float, ...] = (2.0, 0.5)) -> np.ndarray:
    """A smooth random field, roughly standard normal, summed over lattice octaves.

    Bilinear interpolation of white noise keeps about 44 % of its variance, so
    the sum is rescaled to a standard deviation near one.
    """
    west, _, _, north = LATTICE_BOUNDS
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    total = 0.0
    for step in steps:
        total = total + bilinear(_lattice(seed, name, step), (north - lat) / step, (lon - west) / step)
    return total / np.sqrt(0.44 * len(steps))


def deltaness(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """0..1, how close a place is to one of the large deltas."""
    out = np.zeros(np.broadcast_shapes(np.shape(lon), np.shape(lat)))
    for x, y, radius in DELTAS:
        out = np.maximum(out, np.exp(-((lon - x) ** 2 + (lat - y) ** 2) / radius**2))
    return out


def coast_distance_points(coast: shapely.Geometry, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Distance in degrees from each point to the coastline (vectorised)."""
    if coast is None or coast.is_empty:
        return np.full(np.shape(lon), 99.0)
    return shapely.distance(shapely.points(lon, lat), coast)


def coast_distance_grid(coast: shapely.Geometry, lon: np.ndarray, lat: np.ndarray, every: int = 12) -> np.ndarray:
    """Distance to the coast for a pixel grid, computed every ``every`` pixels and interpolated."""
    shape = np.broadcast_shapes(np.shape(lon), np.shape(lat))
    lon2 = np.broadcast_to(lon, shape)
    lat2 = np.broadcast_to(lat, shape)
    rows = np.unique(np.r_[np.arange(0, shape[0], every), shape[0] - 1])
    cols = np.unique(np.r_[np.arange(0, shape[1], every), shape[1] - 1])
    coarse = coast_distance_points(coast, lon2[np.ix_(rows, cols)], lat2[np.ix_(rows, cols)])
    if coarse.shape[0] < 2 or coarse.shape[1] < 2:
        coarse = np.pad(coarse, ((0, max(0, 2 - coarse.shape[0])), (0, max(0, 2 - coarse.shape[1]))), mode="edge")
    # fractional coarse index of every pixel (the last coarse row/col may be closer than `every`)
    frac_rows = np.interp(np.arange(shape[0]), rows, np.arange(len(rows))) if len(rows) > 1 else np.zeros(shape[0])
    frac_cols = np.interp(np.arange(shape[1]), cols, np.arange(len(cols))) if len(cols) > 1 else np.zeros(shape[1])
    return bilinear(coarse, frac_rows[:, None], frac_cols[None, :])


def mountain_index(seed: int, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """A stand-in for relief: a smooth field plus the Himalayan rise north of about 27 N."""
    himalaya = 3.0 / (1.0 + np.exp(-(lat - 27.3) / 0.5))
    return 0.9 * field(seed, "relief", lon, lat) + himalaya
