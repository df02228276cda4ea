"""The findings intake can report, each defined once, and the one way intake makes a finding.

Intake sits below validation, so it never calls the check registry: it returns
``Finding`` values built from the definitions below (id, severity, what it means,
how to fix it). The registry (``checks.registry``) declares these definitions, so
intake findings appear in docs/CHECKS.md like every other check. Two ids belong to
the raster checks (``raster.unreadable``, ``raster.not_geotiff``): intake reports
them when a file's content already shows it, with the same text, which the
registry verifies when it merges the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from atlas.finding import Finding, Location, Severity, plain

ALL_PRODUCTS = ("salinity_map", "soil_map", "book_chapter", "country_profile")
SOIL = ("soil_map",)
SALINITY = ("salinity_map",)
MAPS = ALL_PRODUCTS[:2]


@dataclass(frozen=True)
class Definition:
    """What one intake finding means: the registry's columns, without a check function."""

    check_id: str
    severity: Severity
    target: str
    products: tuple[str, ...]
    description: str
    hint: str


DEFINITIONS: dict[str, Definition] = {}


def _define(check_id: str, severity: Severity, target: str, products: tuple[str, ...], description: str,
            hint: str) -> None:
    DEFINITIONS[check_id] = Definition(check_id, severity, target, products, description, hint)


def finding(check_id: str, message: str, location: Location | None = None, observed: Any = None,
            expected: Any = None, severity: Severity | None = None) -> Finding:
    """A finding of a defined intake id (``severity`` only to soften or harden one occurrence)."""
    d = DEFINITIONS[check_id]
    return Finding(check_id, severity or d.severity, message, location or Location(), plain(observed),
                   plain(expected), d.hint)


# archives and the inbox's working copy (atlas.intake.archives)
_define("vector.junk_ignored", Severity.FIXED, "vector", SOIL,
        "Junk inside an archive (__MACOSX/, AppleDouble ._ files, backups such as *.dbf~) was ignored.",
        "nothing to do; zip only the shapefile's own files next time")
_define("intake.archive_unsafe_member", Severity.ERROR, "submission", ALL_PRODUCTS,
        "An archive member has an absolute path, '..', or is a link or device file; the archive was not used.",
        "zip only the map's own files, from their folder (no links, no paths)")
_define("intake.archive_too_large", Severity.ERROR, "submission", ALL_PRODUCTS,
        "The archive has too many members, expands beyond the size limit, or compresses implausibly well "
        "(a zip bomb); it was not extracted.", "send the files themselves or a zip of only the map's files")
_define("intake.archive_unreadable", Severity.ERROR, "submission", ALL_PRODUCTS,
        "The archive is damaged, encrypted or not a zip file.", "zip the files again (no password) and resend")
_define("intake.name_normalised", Severity.FIXED, "submission", ALL_PRODUCTS,
        "File names from the archive were normalised (Unicode NFC, spaces and unusual characters to '_').",
        "nothing to do; plain ASCII names without spaces avoid this")
_define("intake.name_collision", Severity.ERROR, "submission", ALL_PRODUCTS,
        "Two archive members have the same name after normalisation (case, Unicode, spaces); the second was dropped.",
        "keep one file per name in the archive")
_define("intake.link_refused", Severity.ERROR, "submission", ALL_PRODUCTS,
        "A file in the inbox is a symbolic link or lies outside the country's folder; it was not read.",
        "copy the file itself into the delivery folder")
_define("intake.unsafe_name", Severity.ERROR, "submission", ALL_PRODUCTS,
        "A country or deliverable name that cannot become a folder name safely was refused.",
        "use the member's ISO3 code (e.g. KHM) as the folder name")
_define("intake.output_unsafe", Severity.ERROR, "submission", ALL_PRODUCTS,
        "The processed folder of this submission is (or passes through) a symbolic link; nothing was written.",
        "the secretariat must replace the link under data/processed by a real folder")

# vetting files before GDAL opens them (atlas.intake.containment)
_define("intake.empty_file", Severity.ERROR, "submission", MAPS, "The file is empty (0 bytes).",
        "send the file again; the upload or copy failed")
_define("intake.content_mismatch", Severity.ERROR, "submission", MAPS,
        "The file's content is not the format its extension names (wrong extension, truncated or another format).",
        "export again in the named format (GeoTIFF .tif, GeoPackage .gpkg, ...) and keep the matching extension")
_define("intake.reference_refused", Severity.ERROR, "submission", MAPS,
        "The file refers to other files or URLs (VRT/XML, a GeoPackage with virtual tables or SQL that reaches "
        "outside); it was not opened.",
        "send the data itself (gdal_translate -of GTiff, ogr2ogr -f GPKG), not a file that points to it")
_define("intake.path_refused", Severity.ERROR, "submission", MAPS,
        "A network or virtual-file path (/vsi*, URL, UNC) was refused; only files in the submission are read.",
        "place the file itself in the submission folder")
_define("intake.sidecar_refused", Severity.WARNING, "submission", SALINITY,
        "A sidecar beside a GeoTIFF (.aux.xml, .ovr, .msk) points at other files or URLs or is not what its name "
        "says; it was ignored (the pipeline never reads sidecars).",
        "delete the sidecar before sending; the GeoTIFF must hold everything itself")
_define("intake.raster_too_large", Severity.ERROR, "submission", SALINITY,
        "The raster's header announces more pixels, bands or bytes than the programme's size limits allow; no pixel "
        "was read.",
        "check the file's size and extent (a national map at 30 arc-seconds is a few million pixels)")
_define("intake.vector_too_large", Severity.ERROR, "submission", SOIL,
        "The vector file has more bytes, features or vertices (per feature or in total) than the programme's size "
        "limits allow.",
        "simplify or split the map; a national soil map needs far fewer vertices")
# reported by the raster checks too (checks.raster); the text must stay identical
_define("raster.unreadable", Severity.ERROR, "raster", SALINITY, "The file cannot be opened as a raster.",
        "export the layer again as a GeoTIFF and check it opens in QGIS")
_define("raster.not_geotiff", Severity.ERROR, "raster", SALINITY, "The raster is not a GeoTIFF.",
        "export as GeoTIFF (gdal_translate -of GTiff)")

# opening tables: workbooks and CSV files (atlas.intake.workbooks)
TABLES = ("tables",)  # every deliverable of kind "table"
_define("table.unreadable", Severity.ERROR, "table", TABLES, "The table file is empty, damaged or cannot be read.",
        "open the file in Excel or LibreOffice, save it again as .xlsx and send it again")
_define("table.format", Severity.ERROR, "table", TABLES,
        "The table is not an Excel workbook (.xlsx) or a CSV file (an old .xls, an OpenDocument or other file).",
        "fill in the template the secretariat sent and save it as .xlsx (Excel Workbook), or one CSV (UTF-8) per "
        "sheet")
_define("table.encrypted", Severity.ERROR, "table", TABLES,
        "The workbook is protected with a password (encrypted), so it cannot be read.",
        "save a copy without password (Excel: File > Info > Protect Workbook > Encrypt with Password, clear the "
        "password) and send that copy")
_define("table.too_large", Severity.ERROR, "table", TABLES,
        "The workbook or CSV is larger, has more parts or rows, or expands more than the programme's limits allow "
        "(zip bombs, padded XML); it was not opened.",
        "send only the template's sheets with their rows; remove pictures, pasted objects and unused sheets")
_define("table.links_refused", Severity.ERROR, "table", TABLES,
        "The workbook links to other workbooks or data sources, or declares XML entities; it was not opened.",
        "copy the sheets and paste them as values into the template, then send the template (Excel: Data > Edit "
        "Links > Break Link)")
_define("table.encoding", Severity.WARNING, "table", TABLES,
        "The CSV file is not UTF-8; it was read as Windows-1252 (Latin-1).",
        "save CSV files as 'CSV UTF-8' (Excel: Save As > CSV UTF-8), or send the XLSX template")

# reading soil maps (atlas.intake.readers)
_define("vector.unreadable", Severity.ERROR, "vector", SOIL, "The soil map cannot be opened or read.",
        "export the map again as a GeoPackage (preferred), GeoJSON, FlatGeobuf or zipped shapefile")
_define("vector.format", Severity.ERROR, "vector", SOIL, "The file is not an accepted soil-map format.",
        "send a GeoPackage (preferred), GeoJSON, FlatGeobuf or a zipped shapefile")
_define("vector.encoding", Severity.INFO, "vector", SOIL, "The attribute encoding declared in a .cpg was honoured.",
        "nothing to do; UTF-8 is preferred")
_define("vector.encoding_undeclared", Severity.WARNING, "vector", SOIL,
        "A shapefile has no .cpg and its text is not valid UTF-8; read as Windows-1252.",
        "add a .cpg file stating the encoding (UTF-8) or export as GeoPackage")
_define("vector.encoding_mismatch", Severity.WARNING, "vector", SOIL,
        "The .cpg declares an encoding the attribute text does not decode with; read as Windows-1252.",
        "write the .cpg that matches the data (or export as GeoPackage, which is always UTF-8)")
_define("vector.multiple_layers", Severity.WARNING, "vector", SOIL,
        "The file holds several layers or shapefiles; only the first polygon layer was read.",
        "send one soil map per file")
_define("vector.geometry_repaired", Severity.FIXED, "vector", SOIL,
        "Invalid geometries were repaired with make_valid in the processed copy (area change measured).",
        "fix the geometries at source so the repair is not needed")
