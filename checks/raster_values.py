"""Value checks on salinity GeoTIFFs (SPEC §2): data type, nodata, value ranges, classes, coverage, statistics.

Split from ``checks.raster`` (which imports this module after its own checks, so the registry order is kept);
every check here reads the shared one-pass statistics ``RasterContext.stats``.
"""

from __future__ import annotations

import math

import numpy as np

from atlas.finding import Severity
from atlas.intake.readers import sidecar_statistics
from checks.raster import COVERAGE_MIN, PRODUCTS, _has_pixels, _opened, _pixel_loc
from checks.registry import Hit, check


def _expected_dtype(ctx) -> str | None:
    if ctx.layer is None:
        return None
    return "uint8" if ctx.is_class_layer else "float32"


def _expected_nodata(ctx) -> float | None:
    if ctx.layer is None:
        return None
    spec = ctx.programme.salinity
    return spec.class_nodata if ctx.is_class_layer else spec.continuous_nodata


@check("raster.dtype", Severity.WARNING, "raster", PRODUCTS,
       "The data type is not the convention (Float32 for continuous layers, Byte for the class layer).",
       "export continuous layers as Float32 and the class layer as Byte")
def check_dtype(ctx):
    expected = _expected_dtype(ctx)
    if _opened(ctx) and expected and ctx.ds.dtypes[0] != expected:
        yield Hit(f"data type {ctx.ds.dtypes[0]}, expected {expected}", ctx.loc(band=1), observed=ctx.ds.dtypes[0],
                  expected=expected)


@check("raster.nodata_missing", Severity.WARNING, "raster", PRODUCTS,
       "No nodata value is declared, so every pixel counts as data.",
       "declare the nodata value (-9999 for continuous layers, 255 for the class layer)")
def check_nodata_missing(ctx):
    if _opened(ctx) and ctx.ds.count and ctx.ds.nodatavals[0] is None:
        yield Hit("no nodata value declared; every pixel is treated as valid", ctx.loc(band=1),
                  expected=_expected_nodata(ctx))


def _nodata(ctx) -> float | None:
    return ctx.ds.nodatavals[0] if _opened(ctx) and ctx.ds.count else None


@check("raster.nodata_nan", Severity.INFO, "raster", PRODUCTS,
       "Nodata is declared as NaN; handled, and normalised to the convention in the processed copy.",
       "nothing to do; -9999 is preferred")
def check_nodata_nan(ctx):
    nd = _nodata(ctx)
    if nd is not None and math.isnan(nd):
        yield Hit(f"nodata is NaN ({ctx.stats.n_nan} NaN pixels)", ctx.loc(band=1), observed="NaN",
                  expected=_expected_nodata(ctx))


@check("raster.nodata_nonstandard", Severity.INFO, "raster", PRODUCTS,
       "A nodata value other than the convention (e.g. float32 lowest -3.4e38); accepted and normalised.",
       "nothing to do; -9999 (continuous) or 255 (class) is preferred")
def check_nodata_nonstandard(ctx):
    nd = _nodata(ctx)
    if nd is None or math.isnan(nd):
        return
    spec = ctx.programme.salinity
    expected = _expected_nodata(ctx)
    allowed = {expected} if expected is not None else {spec.continuous_nodata, float(spec.class_nodata)}
    if nd not in allowed:
        lowest = " (float32 lowest, ArcGIS/R style)" if abs(nd) > 3e38 else ""
        yield Hit(f"nodata {nd:g}{lowest}; normalised to {expected if expected is not None else sorted(allowed)}",
                  ctx.loc(band=1), observed=nd, expected=expected)


@check("raster.nodata_collision", Severity.ERROR, "raster", PRODUCTS,
       "The nodata value is a plausible data value of the layer (or not representable in its type).",
       "choose a nodata value outside the layer's range (-9999 continuous, 255 class)")
def check_nodata_collision(ctx):
    nd = _nodata(ctx)
    if nd is None or math.isnan(nd) or ctx.layer is None:
        return
    dtype = np.dtype(ctx.ds.dtypes[0])
    if dtype.kind in "iu" and not (np.iinfo(dtype).min <= nd <= np.iinfo(dtype).max):
        yield Hit(f"nodata {nd:g} cannot be stored in {dtype}", ctx.loc(band=1), observed=nd, expected=str(dtype))
        return
    spec = ctx.programme.salinity
    if ctx.is_class_layer:
        if int(nd) in spec.classes and nd == int(nd):
            yield Hit(f"nodata {nd:g} is the class code {spec.classes[int(nd)]!r}", ctx.loc(band=1), observed=nd,
                      expected=spec.class_nodata)
    elif (rng := spec.ranges.get(ctx.layer)) and rng[0] <= nd <= rng[1]:
        yield Hit(f"nodata {nd:g} lies inside the plausible {ctx.layer} range {list(rng)}: real values would be "
                  "lost", ctx.loc(band=1), observed=nd, expected=spec.continuous_nodata)


@check("raster.nan_undeclared", Severity.WARNING, "raster", PRODUCTS,
       "NaN pixels are present but nodata is not NaN; they are treated as nodata.",
       "declare a nodata value and write it in place of NaN")
def check_nan_undeclared(ctx):
    nd = _nodata(ctx)
    if _opened(ctx) and ctx.stats.n_nan and not (nd is not None and math.isnan(nd)):
        yield Hit(f"{ctx.stats.n_nan} NaN pixels, nodata is {nd}", ctx.loc(band=1), observed=ctx.stats.n_nan,
                  expected=0)


@check("raster.all_nodata", Severity.ERROR, "raster", PRODUCTS, "Every pixel is nodata.",
       "export the layer again with its values")
def check_all_nodata(ctx):
    if _opened(ctx) and not ctx.stats.read_errors and ctx.stats.n_pixels and ctx.stats.n_valid == 0:
        yield Hit(f"all {ctx.stats.n_pixels} pixels are nodata", ctx.loc(band=1), observed=0,
                  expected="some valid pixels")


@check("raster.value_range", Severity.ERROR, "raster", PRODUCTS,
       "Values outside the layer's plausible range (ECe 0-300, pH 2-12, ESP 0-100, uncertainties >= 0).",
       "check units (dS/m, %, pH units) and the nodata value; values must be in the layer's range")
def check_value_range(ctx):
    if not _has_pixels(ctx) or ctx.layer is None or ctx.is_class_layer or not ctx.stats.n_out_of_range:
        return
    stats, rng = ctx.stats, ctx.programme.salinity.ranges.get(ctx.layer)
    yield Hit(f"{stats.n_out_of_range} pixels outside {list(rng)} (min {stats.vmin:g}, max {stats.vmax:g}); first "
              f"{stats.first_out_of_range[2]:g}", _pixel_loc(ctx, stats.first_out_of_range),
              observed={"count": stats.n_out_of_range, "min": stats.vmin, "max": stats.vmax}, expected=list(rng))


@check("raster.ece_high", Severity.WARNING, "raster", PRODUCTS, "ECe above the rare-value threshold (100 dS/m).",
       "confirm these very saline values are real (units dS/m, not mS/m or µS/cm)")
def check_ece_high(ctx):
    if _has_pixels(ctx) and ctx.stats.n_above_warn:
        yield Hit(f"{ctx.stats.n_above_warn} pixels above {ctx.programme.salinity.ece_warn_above:g} dS/m "
                  f"(max {ctx.stats.vmax:g})", _pixel_loc(ctx, ctx.stats.first_above_warn),
                  observed=ctx.stats.n_above_warn, expected=f"<= {ctx.programme.salinity.ece_warn_above:g}")


@check("raster.class_legend_unconfirmed", Severity.WARNING, "raster", PRODUCTS,
       "A layer of integer classes with no embedded legend whose name does not say it is the class layer.",
       "name the file as the SAS layer and use the programme's class codes, or embed a legend (colour table/RAT)")
def check_class_legend(ctx):
    if not _has_pixels(ctx) or ctx.layer is not None or not ctx.stats.value_counts:
        return
    if len(ctx.stats.value_counts) > 16:
        return
    try:
        ctx.ds.colormap(1)
        return  # a colour table is a legend of sorts
    except ValueError:
        pass
    counts = {int(k): v for k, v in sorted(ctx.stats.value_counts.items())}
    sal = ctx.programme.salinity
    legend = {code: sal.display(code) for code in sal.classes}
    listed = ", ".join(f"{code} {name}" for code, name in legend.items())
    shown = ", ".join(f"{k} ({v:,} pixels)" for k, v in counts.items())
    yield Hit(f"integer class values {shown} with no legend; the programme legend is {listed}", ctx.loc(band=1),
              observed=counts, expected=legend)


def _coverage_share(ctx) -> float | None:
    if not _opened(ctx) or ctx.land is None or not ctx.country_km2 or ctx.stats.read_errors:
        return None
    return ctx.stats.valid_land_km2 / ctx.country_km2


def _coverage_text(ctx, share: float) -> str:
    if share >= 1:  # coastal pixels reach past the boundary: "all of it", never "100.4 % of the land"
        return (f"valid pixels cover all of {ctx.country}'s land ({ctx.country_km2:,.0f} km², areas on the "
                f"ellipsoid; pixels along the coast reach a little past the boundary)")
    return (f"valid pixels cover {ctx.stats.valid_land_km2:,.0f} km² = {share:.1%} of {ctx.country}'s land "
            f"({ctx.country_km2:,.0f} km², areas on the ellipsoid)")


@check("raster.coverage_low", Severity.WARNING, "raster", PRODUCTS,
       "Valid pixels cover too little of the country's land (share of the reference boundary's area): below the "
       "programme's minimum share (50 % by default) the layer is not published (an error, or a warning where the "
       "programme accepts partial coverage), below 90 % a warning.",
       "deliver the whole country; areas without an estimate are nodata")
def check_coverage(ctx):
    share = _coverage_share(ctx)
    if share is None:
        return
    spec = ctx.programme.salinity
    observed = {"valid_km2": round(ctx.stats.valid_land_km2, 1), "share": round(share, 4)}
    if share < spec.min_coverage_share:
        hold = spec.low_coverage == "hold"
        yield Hit(f"{_coverage_text(ctx, share)}: less than the programme's minimum {spec.min_coverage_share:.0%}"
                  + ("; not published as the country's map" if hold else "; published anyway (low_coverage = warn)"),
                  ctx.loc(band=1), observed=observed, expected=f">= {spec.min_coverage_share:.0%}",
                  severity=Severity.ERROR if hold else Severity.WARNING)
    elif share < COVERAGE_MIN:
        yield Hit(_coverage_text(ctx, share), ctx.loc(band=1), observed=observed, expected=f">= {COVERAGE_MIN:.0%}")


@check("raster.coverage", Severity.INFO, "raster", PRODUCTS,
       "The share of the country's land the layer's valid pixels cover (shown in the status table).",
       "nothing to do")
def check_coverage_share(ctx):
    share = _coverage_share(ctx)
    if share is not None and share >= COVERAGE_MIN:
        yield Hit(_coverage_text(ctx, share), ctx.loc(band=1),
                  observed={"valid_km2": round(ctx.stats.valid_land_km2, 1), "share": round(share, 4)})


@check("raster.stale_statistics", Severity.WARNING, "raster", PRODUCTS,
       "Statistics stored beside or inside the file (.aux.xml, GDAL metadata) disagree with the pixels; ignored.",
       "delete the .aux.xml (or recompute statistics) before sending; the pipeline uses its own")
def check_stale_statistics(ctx):
    if not _has_pixels(ctx):
        return
    stored = sidecar_statistics(ctx.path, ctx.ds)
    if stored is None:
        return
    source, values = stored
    stats = ctx.stats
    computed = {"STATISTICS_MINIMUM": stats.vmin, "STATISTICS_MAXIMUM": stats.vmax, "STATISTICS_MEAN": stats.mean}
    off = {k: (values[k], computed[k]) for k in computed if k in values and computed[k] is not None
           and not math.isclose(values[k], computed[k], rel_tol=1e-4, abs_tol=1e-6)}
    if off or not values:
        detail = ", ".join(f"{k[11:].lower()} {a:g} vs {b:g}" for k, (a, b) in off.items()) or "unreadable"
        yield Hit(f"stored statistics in {source} are stale ({detail}); ignored", ctx.loc(band=1),
                  observed={k: a for k, (a, _) in off.items()}, expected={k: b for k, (_, b) in off.items()})


# ------------------------------------------------------- values that are not what their slot says (issue 12)

FEW_VALUES = 10  # a continuous layer with this few distinct integers is a class or mask map
MIN_PIXELS_FOR_SHAPE = 1000  # below this a layer is too small to judge what its values look like
MANY_VALUES = 1000  # a class layer with this many distinct values holds measurements
ECE_UNIT_MEAN = 100.0  # mean ECe at or above this (dS/m) is µS/cm or mS/m, not dS/m
DISTINCT_SAMPLE_PIXELS = 1 << 22


def _is_continuous(ctx) -> bool:
    return ctx.layer is not None and not ctx.is_class_layer


def _distinct_sample(ctx) -> tuple[int, list[float]]:
    """Distinct valid values in the first ~4 Mpx of band 1 (count, a few examples)."""
    from rasterio.windows import Window

    rows = max(1, min(ctx.ds.height, DISTINCT_SAMPLE_PIXELS // max(ctx.ds.width, 1)))
    data = ctx.ds.read(1, window=Window(0, 0, ctx.ds.width, rows)).astype("float64")
    valid = np.isfinite(data)
    if (nd := ctx.ds.nodata) is not None and not math.isnan(nd):
        valid &= data != nd
    uniq = np.unique(data[valid])
    return len(uniq), [round(float(v), 4) for v in uniq[:: max(1, len(uniq) // 5)][:5]]


def _looks_like_classes(ctx) -> bool:
    """A continuous layer holding a few distinct integers: a class or mask map in the wrong slot (one diagnosis:
    its values are then not judged as measurements, e.g. as ECe in the wrong unit)."""
    if not _has_pixels(ctx) or not _is_continuous(ctx) or ctx.stats.n_valid < MIN_PIXELS_FOR_SHAPE:
        return False
    counts = ctx.stats.value_counts
    return bool(ctx.stats.integer_valued and counts is not None and len(counts) <= FEW_VALUES)


@check("raster.values_look_like_classes", Severity.ERROR, "raster", PRODUCTS,
       "A continuous layer (ECe, pH, ESP or an uncertainty) holds only a few distinct integers: a class or mask "
       "map delivered in the wrong place, not a measurement.",
       "deliver the measured values (Float32) in this layer; a class map goes in the SAS layer with its legend")
def check_values_look_like_classes(ctx):
    if _looks_like_classes(ctx):
        counts = ctx.stats.value_counts
        shown = {int(k): int(v) for k, v in sorted(counts.items())}
        yield Hit(f"{ctx.layer} holds only the integers {sorted(shown)} (pixels per value {shown}): this looks like "
                  f"a class or mask map, not {ctx.layer} in {ctx.programme.salinity.units.get(ctx.layer, '')}",
                  ctx.loc(band=1), observed=shown, expected=f"continuous {ctx.layer} values")


@check("raster.class_values_continuous", Severity.ERROR, "raster", PRODUCTS,
       "The class layer holds non-integer values (often thousands of them): measurements, not class codes.",
       "put the measurements in their property layer; the class layer holds integer codes with a lookup table")
def check_class_values_continuous(ctx):
    if not _has_pixels(ctx) or not ctx.is_class_layer or ctx.stats.integer_valued:
        return
    n, examples = _distinct_sample(ctx)
    many = f"{n:,}" + ("+" if n >= MANY_VALUES else "")
    yield Hit(f"class layer holds {many} distinct non-integer values (e.g. {examples}; min {ctx.stats.vmin:g}, "
              f"max {ctx.stats.vmax:g}): measurements, not class codes", ctx.loc(band=1),
              observed={"distinct_values": n, "examples": examples}, expected="integer class codes")


@check("raster.ece_units_suspect", Severity.ERROR, "raster", PRODUCTS,
       "ECe values typically in the hundreds or thousands: the layer looks like µS/cm (or mS/m), not dS/m.",
       "convert to dS/m (µS/cm / 1000, mS/m / 100) and send the layer again")
def check_ece_units(ctx):
    if not _has_pixels(ctx) or ctx.layer != "ECe" or ctx.stats.mean is None or _looks_like_classes(ctx):
        return
    if ctx.stats.mean >= ECE_UNIT_MEAN:
        yield Hit(f"ECe mean {ctx.stats.mean:,.1f} (min {ctx.stats.vmin:g}, max {ctx.stats.vmax:g}): values in the "
                  f"hundreds and thousands look like µS/cm (mean / 1000 = {ctx.stats.mean / 1000:.3g} dS/m) or mS/m",
                  ctx.loc(band=1), observed={"mean": round(ctx.stats.mean, 3), "max": ctx.stats.vmax},
                  expected=f"mean below {ECE_UNIT_MEAN:g} dS/m")


@check("raster.ece_probability_suspect", Severity.WARNING, "raster", PRODUCTS,
       "Every ECe value lies between 0 and 1 with fractions: the layer may be a 0-1 probability, not dS/m.",
       "confirm the layer is ECe in dS/m; a probability of salinity is not a GSSmap layer")
def check_ece_probability(ctx):
    if not _has_pixels(ctx) or ctx.layer != "ECe" or ctx.stats.n_valid < MIN_PIXELS_FOR_SHAPE:
        return
    if ctx.stats.vmin >= 0.0 and ctx.stats.vmax <= 1.0 and not ctx.stats.integer_valued:
        yield Hit(f"all ECe values lie in [{ctx.stats.vmin:.3g}, {ctx.stats.vmax:.3g}] (mean {ctx.stats.mean:.3g}): "
                  "this looks like a 0-1 probability, not dS/m", ctx.loc(band=1),
                  observed={"min": ctx.stats.vmin, "max": ctx.stats.vmax}, expected="ECe in dS/m")
