"""National salinity GeoTIFFs onto the common 30 arc-second grid.

Each submitted layer becomes a harmonized copy (Float32 nodata -9999, SAS Byte
nodata 255, tiled, DEFLATE) whose pixel edges fall exactly on the lattice.
Every change made to the data is recorded as a ``fixed`` Finding; a file that
cannot be used becomes a Finding and is skipped. Pixels move block by block so
memory does not grow with the raster's size.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.errors import RasterioError
from rasterio.warp import reproject, transform_bounds
from rasterio.windows import Window

from atlas.atomic import atomic_path, write_text_atomic
from atlas.borders.aggregate import (
    MAJORITY_SHARE_NODATA,
    Aggregation,
    aggregate_majority,
    aggregate_mean,
    linear_factor,
)
from atlas.finding import Finding, Location, Severity
from atlas.grid import AGGREGATE_FROM_FACTOR, Grid
from atlas.intake.containment import Limits, contained, open_raster
from checks.layers import resolve_layers
from checks.legend import bind_legends, tie_priority

log = logging.getLogger(__name__)

CLASS_LEGENDS = "class_legends.json"  # the class maps' codes mapped onto the programme legend, beside the copies
BLOCK = 512  # tile edge of harmonized copies and of the block loop
SHARE_SUFFIX = "_majority_share.tif"  # beside an aggregated class layer: share (%) of its majority class


def parse_name(name: str, salinity) -> tuple[str | None, str, str] | None:
    """(iso3, layer, depth) of one file name by ``checks.layers`` (canonical name or recognised alias), else None."""
    lf = resolve_layers([Path(name)], salinity).files
    if not lf or lf[0].key is None:
        return None
    return lf[0].iso3, lf[0].layer, lf[0].depth


def output_profile(layer: str, grid: Grid, salinity) -> dict:
    """GeoTIFF creation options of a harmonized layer (programme conventions)."""
    is_class = layer == salinity.class_layer
    width, height = grid.width, grid.height
    profile = {
        "driver": "GTiff",
        "dtype": "uint8" if is_class else "float32",
        "nodata": salinity.class_nodata if is_class else salinity.continuous_nodata,
        "count": 1,
        "width": width,
        "height": height,
        "crs": CRS.from_string(grid.crs),
        "transform": grid.transform,
        "compress": "deflate",
        "tiled": True,
        "blockxsize": BLOCK,
        "blockysize": BLOCK,
    }
    if width < BLOCK or height < BLOCK:
        # GTiff tiles must be multiples of 16; tiny rasters use 16-pixel tiles
        profile["blockxsize"] = profile["blockysize"] = 16 if min(width, height) < 256 else 256
    return profile


def block_windows(width: int, height: int, size: int = BLOCK):
    """Windows of at most size x size pixels covering a width x height raster, row by row."""
    for row in range(0, height, size):
        for col in range(0, width, size):
            yield Window(col, row, min(size, width - col), min(size, height - row))


def _normalise(block: np.ndarray, src_nodata, is_class: bool, salinity,
               class_lut: np.ndarray | None = None) -> tuple[np.ndarray, int, int]:
    """Block in the output dtype with nodata normalised; (data, n nodata recoded, n class values out of Byte)."""
    target = salinity.class_nodata if is_class else salinity.continuous_nodata
    data = block.astype("float64", copy=False)
    missing = ~np.isfinite(data)
    if src_nodata is not None and not np.isnan(src_nodata):
        missing |= data == src_nodata
    recoded = int((missing & (data != target)).sum())  # NaN or another nodata value, not already the target
    out_of_byte = 0
    if is_class:
        bad = ~missing & ((data < 0) | (data > 254) | (data != np.round(data)))
        out_of_byte = int(bad.sum())
        missing |= bad
        out = np.where(missing, target, data).astype("uint8")
        if class_lut is not None:  # the country's codes onto the programme legend
            out = class_lut[out]
    else:
        out = np.where(missing, target, data).astype("float32")
    return out, recoded, out_of_byte


def _corner_bounds(src) -> tuple[float, float, float, float]:
    """Bounds of all four corners in the source CRS (correct for rotated transforms)."""
    corners = ((0, 0), (src.width, 0), (0, src.height), (src.width, src.height))
    xs, ys = zip(*(src.transform @ corner for corner in corners), strict=True)
    return (min(xs), min(ys), max(xs), max(ys))


def _copy_on_grid(src, dst_path: Path, layer: str, grid: Grid, salinity, class_lut=None) -> tuple[int, int]:
    """Pixel-for-pixel copy onto a snapped grid; returns (nodata recoded, class values dropped)."""
    is_class = layer == salinity.class_layer
    recoded = dropped = 0
    with rasterio.open(dst_path, "w", **output_profile(layer, grid, salinity)) as dst:
        for win in block_windows(grid.width, grid.height):
            block, n_rec, n_bad = _normalise(src.read(1, window=win), src.nodata, is_class, salinity, class_lut)
            recoded += n_rec
            dropped += n_bad
            dst.write(block, 1, window=win)
    return recoded, dropped


def _reproject_to_grid(src, dst_path: Path, layer: str, grid: Grid, salinity, method: Resampling,
                      class_lut=None) -> None:
    """Warp the source band onto the grid, one output block at a time."""
    is_class = layer == salinity.class_layer
    profile = output_profile(layer, grid, salinity)
    src_nodata = src.nodata
    if src_nodata is None and np.dtype(src.dtypes[0]).kind == "f":
        src_nodata = float("nan")  # NaN is nodata (as validation says), never a value: not class 0 once warped
    with rasterio.open(dst_path, "w", **profile) as dst:
        for win in block_windows(grid.width, grid.height):
            out = np.full((win.height, win.width), profile["nodata"], dtype=profile["dtype"])
            reproject(
                source=rasterio.band(src, 1),
                destination=out,
                src_nodata=src_nodata,
                dst_transform=rasterio.windows.transform(win, grid.transform),
                dst_crs=profile["crs"],
                dst_nodata=profile["nodata"],
                resampling=method,
            )
            if not is_class:
                out[~np.isfinite(out)] = profile["nodata"]
            elif class_lut is not None:
                out = class_lut[out]
            dst.write(out, 1, window=win)


def _count_other_nodata(src, target) -> int:
    """Source pixels whose nodata (declared value or NaN) differs from the convention, counted block by block."""
    declared = src.nodata
    is_float = np.dtype(src.dtypes[0]).kind == "f"
    if (declared is None or declared == target) and not is_float:
        return 0
    count = 0
    for win in block_windows(src.width, src.height):
        block = src.read(1, window=win)
        missing = np.isnan(block) if is_float else np.zeros(block.shape, bool)
        if declared is not None and not np.isnan(declared) and declared != target:
            missing |= block == declared
        count += int(missing.sum())
    return count


def _reprojected(src, path: Path, grid: Grid, programme, loc: Location, method: Resampling, same_crs: bool,
                 factor: float) -> Finding:
    """The finding of a warp at about the grid's resolution (fixed), or from a coarser raster (warning)."""
    why = "a different CRS" if not same_crs else "an off-grid or rotated geotransform"
    coarser = factor <= 1.0 / AGGREGATE_FROM_FACTOR
    text = (f"{path.name}: reprojected from {src.crs.to_string()} ({why}) onto the 30 arc-second grid with "
            f"{method.name} resampling; {src.width}x{src.height} -> {grid.width}x{grid.height} pixels")
    if coarser:
        text = (f"{path.name}: pixels about {1 / factor:.1f} times coarser than 30 arc-seconds, resampled "
                f"({method.name}) onto the grid; {src.width}x{src.height} -> {grid.width}x{grid.height} pixels: "
                "the regional map shows this country at its coarser resolution")
    return Finding(
        "harmonize.resampled_coarser" if coarser else "harmonize.reprojected",
        Severity.WARNING if coarser else Severity.FIXED, text, loc,
        observed={"crs": src.crs.to_string(), "transform": list(src.transform)[:6], "resolution": list(src.res)},
        expected={"crs": programme.crs, "transform": list(grid.transform)[:6], "method": method.name},
        hint="deliver on the GSSmap grid (EPSG:4326, pixel edges on multiples of 1/120 degree) "
             "to avoid resampling")


def _aggregate(src, tmp: Path, path: Path, dst_name: str, layer: str, grid: Grid, programme, loc: Location,
               factor: float, class_lut: np.ndarray | None = None) -> tuple[Aggregation, Finding]:
    """Mean (continuous) or majority with its share (classes, then recoded through ``class_lut``) of a finer
    raster, and the fixed finding."""
    sal = programme.salinity
    profile = output_profile(layer, grid, sal)
    is_class = layer == sal.class_layer
    with rasterio.open(tmp, "w", **profile) as dst:
        if is_class:
            share_path = majority_share_path(Path(tmp).parent, dst_name)
            share_profile = {**profile, "nodata": MAJORITY_SHARE_NODATA}
            with atomic_path(share_path) as share_tmp, rasterio.open(share_tmp, "w", **share_profile) as share:
                share.set_band_description(1, f"share (%) of the majority class of {path.name} in each cell")
                # ties decided in programme classes, the more severe winning (docs/PRODUCTS.md)
                done = aggregate_majority(src, grid, dst, share, sal.class_nodata, class_lut, tie_priority(sal))
        else:
            done = aggregate_mean(src, grid, dst, sal.continuous_nodata)
    rule = "majority class (its share in %, per cell, kept beside it)" if is_class else "mean of valid pixels"
    src_res = _resolution_text(src)
    text = (f"{path.name}: aggregated from {src_res} ({src.crs.to_string()}, {src.width}x{src.height} pixels) "
            f"to 30 arc-seconds ({grid.width}x{grid.height} pixels) by {rule}; "
            f"{done.mean_pixels_per_cell:.1f} source pixels per cell on average")
    if done.mean_majority_share is not None:
        text += f", mean majority share {done.mean_majority_share:.0%}"
    return done, Finding("harmonize.aggregated", Severity.FIXED, text, loc,
                    observed={"crs": src.crs.to_string(), "resolution": list(src.res), "size": [src.width, src.height],
                              "factor": round(factor, 2)},
                    expected={"crs": programme.crs, "resolution": [grid.res[0], grid.res[1]],
                              "method": "majority" if is_class else "mean",
                              "mean_majority_share": done.mean_majority_share},
                    hint="nothing to do: finer maps are welcome; the regional product is at 30 arc-seconds")


def _resolution_text(src) -> str:
    if src.crs is not None and src.crs.is_geographic:
        return f"{abs(src.res[0]) * 3600:.3g} x {abs(src.res[1]) * 3600:.3g} arc-seconds"
    return f"{abs(src.res[0]):.4g} x {abs(src.res[1]):.4g} {src.crs.linear_units if src.crs else 'units'}"


def majority_share_path(out_dir: Path, name: str) -> Path:
    """Where the majority share of an aggregated class layer goes: beside its harmonized copy."""
    return Path(out_dir) / (Path(name).stem + SHARE_SUFFIX)


def other_nodata_from_stats(stats, src, target) -> int | None:
    """``_count_other_nodata`` from validation's one-pass statistics (None when they are incomplete).

    The scan counted NaN pixels and valid ones; what is neither equals the declared nodata value.
    """
    if stats is None or stats.read_errors or stats.stopped_early or stats.n_pixels != src.width * src.height:
        return None
    declared = src.nodata
    is_float = np.dtype(src.dtypes[0]).kind == "f"
    count = stats.n_nan if is_float else 0
    if declared is not None and not np.isnan(declared) and declared != target:
        count += stats.n_pixels - stats.n_valid - stats.n_nan
    return int(count)


def harmonize_file(path: Path, layer: str, programme, out_dir: Path, dst_name: str | None = None,
                   class_lut: np.ndarray | None = None, limits: Limits | None = None,
                   stats=None) -> tuple[Path | None, list[Finding]]:
    """One submitted layer onto the common grid as ``dst_name``; (output path or None, findings).

    ``class_lut``: for the class layer, the country's codes onto the programme legend (``checks.legend``).
    ``stats``: validation's ``RasterStats`` of this file, which spare a second counting pass when reprojecting.
    """
    sal = programme.salinity
    res = programme.resolution_deg
    tol = programme.alignment_tolerance_px
    loc = Location(file=path.name, layer=layer, band=1)
    findings: list[Finding] = []
    dst_path = Path(out_dir) / (dst_name or path.name)
    ds, refused, error = open_raster(path, limits or Limits.from_programme(programme))
    if refused:
        return None, refused
    if error:
        return None, [Finding(
            "harmonize.unreadable", Severity.ERROR, f"{path.name}: cannot be read: {error}", loc,
            hint="re-export the GeoTIFF (e.g. gdal_translate) and check it opens in QGIS")]
    try:
        with contained(), ds as src:
            if src.crs is None:
                return None, [Finding(
                    "harmonize.no_crs", Severity.ERROR, f"{path.name}: no CRS declared; cannot place it on the grid",
                    loc, observed=None, expected=programme.crs,
                    hint="export the GeoTIFF with its coordinate reference system (EPSG:4326 preferred)")]
            if src.count < 1:
                return None, [Finding("harmonize.no_band", Severity.ERROR, f"{path.name}: no raster band", loc)]
            is_class = layer == sal.class_layer
            target_nodata = sal.class_nodata if is_class else sal.continuous_nodata
            src_grid = Grid(src.crs.to_string(), src.transform, src.width, src.height)
            same_crs = src.crs == CRS.from_string(programme.crs)
            if same_crs and src_grid.is_aligned(res, tol):
                grid = src_grid.snapped(res)
                grid = Grid(programme.crs, grid.transform, grid.width, grid.height)
                with atomic_path(dst_path) as tmp:  # a killed run never leaves half a layer
                    recoded, dropped = _copy_on_grid(src, tmp, layer, grid, sal, class_lut)
                if tuple(grid.transform) != tuple(src.transform):
                    dx, dy = src_grid.offset_from_lattice(res)
                    findings.append(Finding(
                        "harmonize.grid_snapped", Severity.FIXED,
                        f"{path.name}: geotransform snapped exactly to the 30 arc-second lattice "
                        f"(origin off by {dx:.2e}, {dy:.2e} px; pixel size {src.res[0]!r})",
                        loc, observed=list(src.transform)[:6], expected=list(grid.transform)[:6]))
            else:
                bounds = transform_bounds(src.crs, programme.crs, *_corner_bounds(src), densify_pts=21)
                grid = Grid.covering(bounds, res, programme.crs)
                factor = linear_factor(src, grid)
                if factor >= AGGREGATE_FROM_FACTOR:  # finer than the grid: aggregated, whatever the CRS
                    with atomic_path(dst_path) as tmp:
                        done, finding = _aggregate(src, tmp, path, dst_path.name, layer, grid, programme, loc,
                                                   factor, class_lut)
                    findings.append(finding)
                    recoded, dropped = done.other_nodata, done.not_class_codes
                else:
                    method = Resampling.nearest if is_class else Resampling.bilinear
                    with atomic_path(dst_path) as tmp:
                        _reproject_to_grid(src, tmp, layer, grid, sal, method, class_lut)
                    recoded = other_nodata_from_stats(stats, src, target_nodata)
                    if recoded is None:
                        recoded = _count_other_nodata(src, target_nodata)
                    dropped = 0
                    findings.append(_reprojected(src, path, grid, programme, loc, method, same_crs, factor))
            src_nodata = src.nodata
    except (RasterioError, OSError, ValueError) as exc:
        dst_path.unlink(missing_ok=True)
        return None, [Finding(
            "harmonize.unreadable", Severity.ERROR, f"{path.name}: cannot be read: {exc}", loc,
            hint="re-export the GeoTIFF (e.g. gdal_translate) and check it opens in QGIS")]
    if recoded:
        findings.append(Finding(
            "harmonize.nodata_normalised", Severity.FIXED,
            f"{path.name}: {recoded} pixels of nodata {src_nodata!r} recoded to {target_nodata!r}",
            loc, observed=None if src_nodata is None else float(src_nodata), expected=target_nodata))
    if dropped:
        findings.append(Finding(
            "harmonize.class_out_of_range", Severity.FIXED,
            f"{path.name}: {dropped} pixels with values that are not a Byte class code set to nodata {target_nodata}",
            loc, observed=dropped, expected=sorted(sal.classes)))
    log.info("harmonized %s -> %s", path.name, dst_path)
    return dst_path, findings


def harmonize_salinity(sub, programme, out_dir: Path, reads=None) -> tuple[dict[tuple[str, str], Path], list[Finding]]:
    """Harmonized copies of every salinity layer of a submission, keyed by (layer, depth).

    Which file is which layer is decided by ``checks.layers`` (the same resolver validation used); each copy is
    written under the canonical name ``{ISO3}_GSSmap_{layer}_{depth}.tif`` whatever the delivered name was, so
    the mosaic finds every accepted layer. Class maps are recoded onto the programme legend through their own.
    ``reads`` (``atlas.intake.readers.Reads``): the submission's limits and validation's raster statistics.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sal = programme.salinity
    outputs: dict[tuple[str, str], Path] = {}
    findings: list[Finding] = []
    resolution = resolve_layers(sub.files, sal)
    bindings = bind_legends(resolution, sal)
    legends = {b.layer_file.path: b.legend for b in bindings}
    recorded = {f"{b.layer_file.layer}_{b.layer_file.depth}": {
        "file": b.layer_file.path.name, "legend": b.legend.source, "how": b.why, "codes": b.legend.describe(sal)}
        for b in bindings if b.legend is not None and not b.legend.outside}
    if recorded:  # the mosaic copies this into the product's legend (GSSmap_legend.json, country_codes)
        write_text_atomic(out_dir / CLASS_LEGENDS, json.dumps(recorded, indent=2))
    for (layer, depth), lf in sorted(resolution.unique().items()):
        if lf.iso3 and lf.iso3 != sub.country and lf.source == "canonical name":
            findings.append(Finding(
                "harmonize.country_mismatch", Severity.WARNING,
                f"{lf.path.name}: named for {lf.iso3} but delivered by {sub.country}; harmonized as {sub.country}",
                Location(file=lf.path.name, layer=layer), observed=lf.iso3, expected=sub.country))
        class_lut = None
        if layer == sal.class_layer:
            legend = legends.get(lf.path)
            if legend is None or legend.outside:  # a class code without its meaning never reaches a product
                findings.append(Finding(
                    "harmonize.layer_left_out", Severity.ERROR,
                    f"{lf.path.name}: class map without a usable legend; not harmonized, so the submission is not "
                    "published", Location(file=lf.path.name, layer=f"{layer} {depth}"),
                    hint="send the class map's lookup table (see legend.* findings)"))
                continue
            class_lut = legend.lut(sal.class_nodata)
            if any(code != target for code, target in legend.mapping.items()):
                findings.append(Finding(
                    "harmonize.classes_recoded", Severity.FIXED,
                    f"{lf.path.name}: class codes mapped onto the programme legend through {legend.source}",
                    Location(file=lf.path.name, layer=f"{layer} {depth}"), observed=legend.describe(sal),
                    expected={str(k): sal.display(k) for k in sal.classes}))
        stats = reads.raster_stats.get(Path(lf.path)) if reads else None
        out, file_findings = harmonize_file(lf.path, layer, programme, out_dir,
                                            sal.file_name(sub.country, layer, depth), class_lut,
                                            reads and reads.limits, stats)
        findings.extend(file_findings)
        if out is not None:
            outputs[(layer, depth)] = out
    return outputs, findings
