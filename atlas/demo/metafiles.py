"""Demo metafiles as the GSP manual shows them: key/value text, CRLF, values over indented lines, contact details.

They state what the layer really is (read back from the written raster), so the pipeline's comparison finds
nothing wrong; the contact lines hold made-up personal data that must never reach a public product.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import rasterio
from rasterio.warp import transform_bounds

TITLES = {"ECe": "Electrical conductivity of the saturated paste extract (ECe)", "pH": "Soil pH",
          "ESP": "Exchangeable sodium percentage (ESP)", "SAS": "Salt-affected soil classes"}


def _accuracy(layer: str, seed: int) -> str:
    rng = np.random.default_rng(seed)
    if layer == "SAS":
        return f"Kappa: {rng.uniform(0.45, 0.7):.2f}"
    rmse = rng.uniform(0.5, 3.0)
    return (f"RMSE: {rmse:.2f}  ME: {rng.uniform(-0.2, 0.2):.2f}  R2: {rng.uniform(0.35, 0.7):.2f}  "
            f"NSE: {rng.uniform(0.3, 0.65):.2f}")


def write_metafile(raster: Path, layer: str, depth: str, country: str, units: str, contact: str, email: str,
                   phone: str) -> Path:
    """``<raster stem>.txt`` beside ``raster``, true to its projection, resolution, extent and statistics."""
    with rasterio.open(raster) as ds:
        data = ds.read(1, masked=True)
        west, south, east, north = transform_bounds(ds.crs, "EPSG:4326", *ds.bounds, densify_pts=21)
        epsg = ds.crs.to_epsg()
        res = f"{ds.res[0]:.0f} m" if ds.crs.is_projected else f"1 km ({ds.res[0]:.6f} degrees)"
        width, height = ds.width, ds.height
    valid = data.compressed().astype("float64")
    seed = zlib.crc32(raster.name.encode())
    lines = [
        ("Title", f"{TITLES.get(layer, layer)} map of {country}, {depth} cm"),
        ("Depth", f"{depth} cm"),
        ("Units", units),
        ("Data points", f"{200 + seed % 400} profiles"),
        ("Laboratory method", ["EC on saturated paste extract; pH in water 1:2.5; ESP from exchangeable Na",
                               "National Soil Laboratory",
                               f"{contact} ({email}; Tel: {phone})"]),
        ("Projection", f"EPSG: {epsg}"),
        ("Map Resolution", res),
        ("File format", "GeoTIFF"),
        ("Map extent", ""),
        ("Extent", [f"{west:.6f},{south:.6f}", f"{east:.6f},{north:.6f}", f"Width: {width}", f"Height: {height}"]),
        ("Summary statistics", [f"Maximum value: {valid.max():.4f}", f"Minimum value: {valid.min():.4f}",
                                f"Mean value: {valid.mean():.4f}", f"St. Deviation: {valid.std():.4f}"]),
        ("Map development", ["Method: Digital Soil Mapping", "Model: Random Forest", "Date: March 2026"]),
        ("Accuracy statistics", _accuracy(layer, seed)),
        ("Citation", f"National soil survey (2026). Contact: {contact} ({email})"),
    ]
    text = []
    for key, value in lines:
        values = value if isinstance(value, list) else [value]
        text.append(f"{key:<25}{values[0]}".rstrip())
        text.extend(f"{'':<25}{v}" for v in values[1:])
        if key in ("Map Resolution", "Summary statistics"):
            text.append("")
    path = raster.with_suffix(".txt")
    path.write_bytes(("\r\n".join(text) + "\r\n").encode("utf-8"))
    return path
