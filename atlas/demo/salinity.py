"""Synthetic GSSmap salinity layers for the demo (one GeoTIFF per layer and depth).

Values come from the regional smooth fields: ECe mostly 0.2-4 dS/m with saline
hot spots near coasts and deltas, pH following ESP, positive uncertainty
layers, and the SAS class derived exactly from the written ECe and ESP.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import rasterio.features
import shapely
from affine import Affine
from pyproj import Transformer

from atlas.config import SalinitySpec
from atlas.demo.fields import coast_distance_grid, deltaness
from atlas.demo.fields import field as smooth_field
from atlas.demo.metafiles import write_metafile
from atlas.grid import ARC_SECONDS_30, Grid


@dataclass(frozen=True)
class RasterStyle:
    """How one country writes its salinity layers."""

    crs: str = "EPSG:4326"
    pixel_m: float = 1000.0  # pixel size when crs is projected
    float_nodata: float | None = None  # None: the programme convention
    pixel_size_noise: bool = False  # pixel size off in the 17th significant digit (still on grid)
    missing: tuple[tuple[str, str], ...] = ()  # (layer, depth) pairs not delivered
    finer: int = 1  # EPSG:4326 pixels this many times finer than 30 arc-seconds (aggregated by the pipeline)
    # what the class maps' codes are and what says so (issue 12): "programme" codes with a manifest.csv line,
    # "lookup_table" factor-rank codes with the GSP script's lookup table, "none" factor-rank codes and nothing
    class_legend: str = "programme"
    file_names: str = "canonical"  # or "gsp_script": the names the GSP manual's scripts write
    metafile_contact: tuple[str, str, str] | None = None  # (name, e-mail, phone): a metafile per layer


def country_grid(boundary: shapely.Geometry, style: RasterStyle) -> tuple[Grid, shapely.Geometry]:
    """The pixel grid of a country's rasters and its outline in the raster CRS."""
    if style.crs == "EPSG:4326":
        grid = Grid.covering(boundary.bounds, ARC_SECONDS_30 / style.finer)
        if style.pixel_size_noise:
            # one ulp larger: the size differs in its last digits, the origin stays on the lattice
            res = np.nextafter(ARC_SECONDS_30, 1.0)
            t = grid.transform
            grid = Grid(grid.crs, Affine(float(res), 0.0, t.c, 0.0, -float(res), t.f), grid.width, grid.height)
        return grid, boundary
    projected = gpd.GeoSeries([boundary], crs="EPSG:4326").to_crs(style.crs).iloc[0]
    west, south, east, north = projected.bounds
    size = style.pixel_m
    x0, y1 = np.floor(west / size) * size, np.ceil(north / size) * size
    width = int(np.ceil((east - x0) / size))
    height = int(np.ceil((y1 - south) / size))
    return Grid(style.crs, Affine(size, 0.0, x0, 0.0, -size, y1), width, height), projected


def _pixel_lonlat(grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    cols = np.arange(grid.width) + 0.5
    rows = np.arange(grid.height) + 0.5
    t = grid.transform
    xs = t.c + cols * t.a
    ys = t.f + rows * t.e
    if grid.crs == "EPSG:4326":
        return xs[None, :], ys[:, None]
    to_geo = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
    lon, lat = to_geo.transform(*np.meshgrid(xs, ys))
    return lon, lat


def salinity_values(
    seed: int, lon: np.ndarray, lat: np.ndarray, coast: shapely.Geometry, spec: SalinitySpec, variant: int = 0
) -> dict[tuple[str, str], np.ndarray]:
    """Every layer at every depth for pixel centres (float32; SAS uint8), before masking."""
    delta = deltaness(lon, lat)
    coastal = np.exp(-((coast_distance_grid(coast, lon, lat) / 0.2) ** 2))
    base = np.exp(-0.25 + 0.75 * smooth_field(seed, "ece", lon, lat))
    hot = np.maximum(coastal, delta) * np.clip(smooth_field(seed, "hot", lon, lat) + 0.3, 0, None)
    spot = smooth_field(seed, "spot", lon, lat, steps=(0.25, 0.1))
    ece = base + 9.0 * hot**2
    # a few extreme pans (> 100 dS/m) on the coast, as real maps show in shrimp-farm areas
    ece = np.where((spot > 2.8) & (coastal > 0.5), 100.0 + 40.0 * (spot - 2.8), ece)
    if variant:
        ece = ece * (1.0 + 0.05 * np.tanh(smooth_field(seed + variant, "revision", lon, lat)))
    esp = np.clip(4.0 + 6.0 * smooth_field(seed, "esp", lon, lat) + 3.0 * np.log1p(ece) + 12.0 * delta * coastal, 0, 60)
    ph = np.clip(6.0 + 0.06 * esp + 0.5 * smooth_field(seed, "ph", lon, lat), 4.5, 9.5)
    sd_noise = np.abs(smooth_field(seed, "sd", lon, lat))
    class_unc = np.broadcast_to(np.clip(15.0 + 25.0 * sd_noise, 0, 100), delta.shape).astype(np.float32)
    out: dict[tuple[str, str], np.ndarray] = {}
    for depth, factor in zip(spec.depths, (1.0, 1.25, 1.4), strict=False):
        e = np.broadcast_to(ece * factor, delta.shape).astype(np.float32)
        s = np.broadcast_to(np.clip(esp * (0.9 + 0.2 * factor), 0, 60), delta.shape).astype(np.float32)
        values = {
            "ECe": e,
            "pH": np.broadcast_to(np.clip(ph + 0.2 * (factor - 1), 4.5, 9.5), delta.shape).astype(np.float32),
            "ESP": s,
            "ECe_unc": (0.1 + 0.2 * e * (0.7 + 0.3 * sd_noise)).astype(np.float32),
            "pH_unc": np.broadcast_to(0.15 + 0.1 * sd_noise * factor, delta.shape).astype(np.float32),
            "ESP_unc": (0.5 + 0.15 * s * (0.8 + 0.2 * sd_noise)).astype(np.float32),
            "SAS_unc": class_unc,  # e.g. 100 - probability of the mapped class, in %
        }
        values["SAS"] = sas_class(values["ECe"], values["ESP"], spec, values["pH"])
        for layer in spec.layers:
            out[(layer, depth)] = values[layer.replace("_sd", "_unc")]
    return out


def sas_class(ece: np.ndarray, esp: np.ndarray, spec: SalinitySpec, ph: np.ndarray | None = None) -> np.ndarray:
    """Severity class (programme legend codes) from ECe, ESP and pH with the programme's criterion."""
    from atlas.products.salinity_classes import derive_with_programme

    return derive_with_programme(ece, esp, spec, ph)


def gsp_script_name(layer: str, depth: str, spec: SalinitySpec) -> str:
    """The file name the GSP manual's scripts give a layer (Top0_30ECse.tif, EC0_30_uncertain.tif, ...)."""
    d = depth.replace("-", "_")
    top = "Top" if depth == spec.depths[0] else "Sub"
    prop, _, unc = layer.partition("_")
    word = {"ECe": "ECse", "pH": "pH", "ESP": "ESP", "SAS": "saltaffected"}[prop]
    if unc:
        return f"{'EC' if prop == 'ECe' else 'Saltaffected' if prop == 'SAS' else prop}{d}_uncertain.tif"
    return f"{top}{d}{word}.tif"


def factor_ranks(codes: np.ndarray, spec: SalinitySpec) -> tuple[np.ndarray, dict[int, str]]:
    """The class map as the GSP script writes it: each class's alphabetical rank among the names present."""
    present = sorted({int(c) for c in np.unique(codes) if c != spec.class_nodata}, key=lambda c: spec.classes[c])
    lut = np.full(256, spec.class_nodata, dtype=np.uint8)
    table = {}
    for rank, code in enumerate(present, start=1):
        lut[code] = rank
        table[rank] = spec.classes[code]
    return lut[codes], table


def lookup_table_text(table: dict[int, str]) -> str:
    """R write.table(classLUT(...), row.names = FALSE) as the manual's script writes it."""
    return '"classcode" "mapvalue"\n' + "".join(f'{code} "{name}"\n' for code, name in sorted(table.items()))


def write_salinity(
    folder: Path, iso3: str, boundary: shapely.Geometry, coast: shapely.Geometry, spec: SalinitySpec,
    seed: int, style: RasterStyle, variant: int = 0, only: tuple[str, ...] | None = None,
) -> tuple[list[Path], dict]:
    """Write a country's salinity layers into ``folder`` (``only``: these "layer_depth" keys, a partial
    delivery); return the files and their truths."""
    grid, outline = country_grid(boundary, style)
    lon, lat = _pixel_lonlat(grid)
    mask = rasterio.features.rasterize(
        [(outline, 1)], out_shape=grid.shape, transform=grid.transform, fill=0, dtype="uint8"
    ).astype(bool)
    values = salinity_values(seed, lon, lat, coast, spec, variant)
    float_nodata = spec.continuous_nodata if style.float_nodata is None else style.float_nodata
    written: list[Path] = []
    manifest_lines: list[str] = []
    legends: dict[str, dict] = {}
    for (layer, depth), array in values.items():
        if (layer, depth) in style.missing or (only is not None and f"{layer}_{depth}" not in only):
            continue
        is_class = layer == spec.class_layer
        nodata = spec.class_nodata if is_class else float_nodata
        data = np.where(mask, array, np.array(nodata, dtype=array.dtype))
        name = gsp_script_name(layer, depth, spec) if style.file_names == "gsp_script" else \
            spec.file_name(iso3, layer, depth)
        path = Path(folder) / name
        if is_class and style.class_legend == "programme":
            manifest_lines.append(f"{name},{layer},{depth},programme")
        elif is_class:
            data, table = factor_ranks(data, spec)
            legends[depth] = {str(k): v for k, v in table.items()}
            if style.class_legend == "lookup_table":  # the manual's name: saltaffected_LUT0_30.txt
                lut = Path(folder) / f"saltaffected_LUT{depth.replace('-', '_')}.txt"
                lut.write_text(lookup_table_text(table), encoding="utf-8")
                written.append(lut)
        profile = dict(
            driver="GTiff", width=grid.width, height=grid.height, count=1, crs=grid.crs, transform=grid.transform,
            dtype="uint8" if is_class else "float32", nodata=nodata, tiled=True, blockxsize=256, blockysize=256,
            compress="deflate",
        )
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(data, 1)
        written.append(path)
        if style.metafile_contact:
            written.append(write_metafile(path, layer, depth, iso3, spec.units.get(layer, ""),
                                          *style.metafile_contact))
    if manifest_lines:
        manifest = Path(folder) / "manifest.csv"
        manifest.write_text("file,layer,depth,legend\n" + "\n".join(manifest_lines) + "\n", encoding="utf-8")
        written.append(manifest)
    ece = values[("ECe", spec.depths[0])][mask]
    truths = {
        "crs": grid.crs,
        "width": grid.width,
        "height": grid.height,
        "pixel_size": list(grid.res),
        "float_nodata": float_nodata,
        "valid_pixels": int(mask.sum()),
        "missing_layers": [f"{layer} {depth}" for layer, depth in style.missing],
        "file_names": style.file_names,
        "class_legend": style.class_legend,
        "class_codes_factor_rank": legends,
        "ece_topsoil_max": round(float(ece.max()), 2) if ece.size else None,
        "ece_topsoil_pixels_over_100": int((ece > 100).sum()),
        "ece_topsoil_share_saline": round(float((ece >= spec.ece_saline_dsm).mean()), 4) if ece.size else None,
    }
    return written, truths
