"""Findings the later stages (harmonization, mosaic, reference boundaries, the pipeline) emit, declared here.

Those stages build their ``Finding`` values themselves (they sit above ``checks`` and must
not be imported by it); declaring the ids here gives every report the rule in plain words
and lists them in docs/CHECKS.md with the validation checks.
"""

from __future__ import annotations

from atlas.finding import Severity
from checks.registry import ALL_PRODUCTS, declare

SAL = ("salinity_map",)
SOIL = ("soil_map",)
MAPS = ("salinity_map", "soil_map")
FIX = Severity.FIXED

for check_id, severity, products, description, hint in [
    ("harmonize.unreadable", Severity.ERROR, SAL, "A salinity layer could not be read while putting it on the grid.",
     "export the GeoTIFF again (e.g. gdal_translate) and check it opens in QGIS"),
    ("harmonize.no_crs", Severity.ERROR, SAL, "A salinity layer without a coordinate reference system cannot be "
     "placed on the common grid.", "export the GeoTIFF with its coordinate reference system (EPSG:4326 preferred)"),
    ("harmonize.no_band", Severity.ERROR, SAL, "A salinity layer has no raster band.",
     "export the layer again with its values"),
    ("harmonize.grid_snapped", FIX, SAL, "The layer's pixel grid differed from the 30 arc-second lattice by "
     "floating-point noise only; it was snapped exactly onto it.", "nothing to do"),
    ("harmonize.reprojected", FIX, MAPS, "The layer or map was not in EPSG:4326 (a raster: not on the common "
     "grid); it was reprojected, as each row says.",
     "nothing to do; delivering on the GSSmap grid (EPSG:4326, pixel edges on multiples of 1/120 degree) avoids "
     "resampling"),
    ("harmonize.nodata_normalised", FIX, SAL, "Nodata pixels were recoded to the programme's nodata value "
     "(-9999 for measurements, 255 for classes).", "nothing to do; -9999 / 255 avoid the recoding"),
    ("harmonize.class_out_of_range", FIX, SAL, "Pixels of the class layer whose value is not a class code were "
     "set to nodata.", "use only the legend's class codes; non-soil areas are nodata"),
    ("harmonize.country_mismatch", Severity.WARNING, SAL, "A layer named for another country was harmonized as "
     "the submitting country's.", "start each file name with the submitting country's ISO3 code"),
    ("harmonize.crs_assumed", Severity.WARNING, SOIL, "The soil map declares no coordinate reference system; "
     "EPSG:4326 was assumed.", "declare the CRS of the map"),
    ("harmonize.no_reference", Severity.ERROR, MAPS, "The country has no territory in the reference boundary "
     "layer, so its map could not be fitted to the border.", "check the ISO3 code of the submission and of the "
     "reference layer"),
    ("harmonize.clip_spill", FIX, SOIL, "Parts of the map beyond the country's reference border were cut off at "
     "the border.", "nothing to do; clipping the map to the national border avoids it"),
    ("harmonize.overlap_resolved", FIX, SOIL, "Where the map reaches into a neighbour's reference territory that "
     "the neighbour's map also covers, the area goes to the neighbour.", "agree the border with the neighbour"),
    ("harmonize.gap_filled", FIX, SOIL, "Narrow gaps between the map and the reference border (no wider than the "
     "fill tolerance) were filled from the nearest map unit.", "nothing to do; drawing the map up to the national "
     "border avoids it"),
    ("harmonize.gap_left", Severity.WARNING, SOIL, "Part of the country is not covered by the map and is wider "
     "than the fill tolerance, or farther than it from every map unit (an island or exclave not mapped); it stays "
     "unmapped in the regional map.", "extend the map to the national border"),
    ("harmonize.territory_overlap", Severity.WARNING, SOIL, "Two territories of the reference boundary layer "
     "overlap (a disputed or doubly claimed area); the overlap counts once, for the country first in ISO3 order, as "
     "on the raster grid, and the other country's map is clipped there.", "the secretariat settles the overlap in "
     "the reference boundary layer"),
    ("harmonize.sliver_merged", FIX, SOIL, "Slivers smaller than the sliver size were merged into the neighbouring "
     "unit sharing the longest edge.", "nothing to do; removing digitising leftovers avoids it"),
    ("border.mismatch_summary", Severity.WARNING, SOIL, "Along a border with a neighbour, the dominant soil group "
     "of your map and of the neighbour's map across it are compared (km compared, km where they differ).",
     "agree the dominant groups along the border with the neighbour; both of you receive the same segments"),
    ("border.mismatch", Severity.INFO, SOIL, "A segment of the border where your unit and the neighbour's unit "
     "across it name different dominant soil groups.", "nothing to do unless your side is wrong; the neighbour "
     "sees the same segment"),
    ("mosaic.input_unusable", Severity.ERROR, SAL, "A harmonized layer could not be used for the regional mosaic.",
     "a pipeline problem: the secretariat's GIS team will look at it"),
    ("mosaic.outside_region", Severity.WARNING, SAL, "A layer lies outside the region of the regional products "
     "and was not used.", "check the layer's coordinates and CRS"),
    ("mosaic.no_boundary", Severity.ERROR, SAL, "The country has no polygon in the reference boundaries, so its "
     "layers were not mosaicked.", "the secretariat adds the country to the reference boundary layer"),
    ("mosaic.empty_product", Severity.INFO, SAL, "A regional product that holds no valid pixel (e.g. derived "
     "classes where every country sent its own class map) is not published: no file, no catalogue entry, no rows "
     "in the area tables.", "nothing to do"),
    ("mosaic.clipped_to_border", FIX, SAL, "Pixels of the national layers beyond the country's reference border "
     "were left out of the regional mosaic (the neighbour's own values apply there).", "nothing to do"),
    ("boundaries.crs_assumed", FIX, MAPS, "The reference boundary layer declares no CRS; read as EPSG:4326.",
     "declare the CRS of the reference layer"),
    ("boundaries.reprojected", FIX, MAPS, "The reference boundary layer was reprojected to EPSG:4326.",
     "nothing to do"),
    ("boundaries.iso_missing", Severity.WARNING, MAPS, "A territory of the reference layer has no usable ISO3 "
     "code; a derived code is used.", "fill ISO_A3 (or ADM0_A3) for this feature in the reference layer"),
    ("boundaries.geometry_repaired", FIX, MAPS, "An invalid polygon of the reference layer was repaired.",
     "repair the polygon in the reference layer"),
    ("boundaries.duplicate_iso", FIX, MAPS, "Several features of the reference layer share one code; merged into "
     "one territory.", "nothing to do"),
    ("consistency.class_vs_properties", Severity.INFO, SAL, "Where a country delivers both the class map and "
     "ECe/ESP/pH, the delivered classes are compared with the classes derived from those layers (km² and share "
     "that disagree, per class).", "check the class map against the property maps it should follow"),
    ("consistency.not_compared", Severity.INFO, SAL, "The class map and the ECe/ESP layers of a depth cover "
     "different extents, so they were not compared.", "nothing to do; deliver the layers of a depth on one grid to "
     "have them compared"),
    ("pipeline.internal_error", Severity.ERROR, ALL_PRODUCTS, "A stage of the pipeline failed unexpectedly; what "
     "was found before is kept.", "a pipeline defect, not necessarily a problem in the file: the secretariat's GIS "
     "team will look at it"),
]:
    declare(check_id, severity, "submission", products, description, hint)
