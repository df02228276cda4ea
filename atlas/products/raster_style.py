"""Styles of the regional class rasters: salinity classes (SAS, derived SAS), country index and provenance.

Each class raster opens styled, as the WRB map does (``wrb_style``):

- a GDAL colour table inside the COG (written into the temporary GeoTIFF; GDAL's COG driver keeps it, and
  overviews of a paletted raster are resampled by nearest neighbour);
- category names in GDAL's PAM sidecar ``<raster>.tif.aux.xml``: the GeoTIFF driver of the GDAL that
  rasterio ships (3.10) keeps category names and attribute tables only there (GDAL 3.12 can write a
  raster attribute table into the TIFF itself), and rasterio has no call that writes them, so the sidecar
  is written here, in GDAL's own PAM format; GDAL, and QGIS through it, read it beside the raster;
- a QGIS style ``<raster>.qml`` (paletted renderer, one entry per class with its label), which QGIS loads
  as the layer's default style when it opens the raster.

Salinity colours: yellow to dark red for the salinity classes, light to dark blue for sodicity, after
ColorBrewer's YlOrRd and Blues; Saline-sodic purple, Alkaline olive, None pale green, Not classified grey.
Countries take colours from the 20-colour qualitative palette of matplotlib (``tab20``) in code order; a
country's provenance codes take its country colour, so a country looks the same on both rasters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET
from xml.sax.saxutils import quoteattr

from atlas.atomic import write_text_atomic
from atlas.config import class_key

SAS_COLOURS: dict[str, str] = {
    "none": "#E5F5E0",
    "slightsalinity": "#FFEDA0", "moderatesalinity": "#FEB24C", "strongsalinity": "#FC4E2A",
    "verystrongsalinity": "#BD0026", "extremesalinity": "#67000D",
    "slightsodicity": "#C6DBEF", "moderatesodicity": "#6BAED6", "strongsodicity": "#2171B5",
    "verystrongsodicity": "#08306B",
    "alkaline": "#A6A65A", "salinesodic": "#8856A7", "notclassified": "#BDBDBD",
}
# classes a programme names differently: distinct greys-to-browns, never one of the colours above
OTHER_CLASS_COLOURS = ("#8C510A", "#BF812D", "#DFC27D", "#80CDC1", "#35978F", "#01665E", "#737373")
COUNTRY_COLOURS = (  # matplotlib tab20, as hex
    "#1F77B4", "#AEC7E8", "#FF7F0E", "#FFBB78", "#2CA02C", "#98DF8A", "#D62728", "#FF9896", "#9467BD", "#C5B0D5",
    "#8C564B", "#C49C94", "#E377C2", "#F7B6D2", "#7F7F7F", "#C7C7C7", "#BCBD22", "#DBDB8D", "#17BECF", "#9EDAE5",
)


@dataclass(frozen=True)
class ClassEntry:
    value: int
    label: str
    colour: str  # "#RRGGBB"


def readable(name: str) -> str:
    """'VeryStrongSalinity' -> 'Very strong salinity'; 'Saline-sodic' stays as it is."""
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", str(name)).split(" ")
    return " ".join([words[0], *(w.lower() for w in words[1:])]) if words else str(name)


def salinity_entries(classes: Mapping[int, str]) -> list[ClassEntry]:
    """The programme's salinity classes (``[salinity.classes]``), coloured by name."""
    others = iter(OTHER_CLASS_COLOURS * (1 + len(classes) // len(OTHER_CLASS_COLOURS)))
    return [ClassEntry(int(code), f"{code} {readable(name)}", SAS_COLOURS.get(class_key(name)) or next(others))
            for code, name in sorted(classes.items())]


def country_colour(index: int) -> str:
    return COUNTRY_COLOURS[index % len(COUNTRY_COLOURS)]


def _country_label(iso3: str, members: Mapping[str, str], version: str = "") -> str:
    """'KHM v2 Cambodia'; the code alone for a country the programme does not name."""
    return f"{iso3}{version}" + (f" {members[iso3]}" if iso3 in members else "")


def country_index_entries(codes: Sequence[str], members: Mapping[str, str]) -> list[ClassEntry]:
    """Country index raster: value i (1-based) is ``codes[i - 1]``."""
    return [ClassEntry(i, _country_label(iso3, members), country_colour(i - 1))
            for i, iso3 in enumerate(codes, start=1)]


def provenance_entries(prov_code: Mapping[str, int], versions: Mapping[str, int], codes: Sequence[str],
                       members: Mapping[str, str]) -> list[ClassEntry]:
    """Provenance raster: one code per contributing country, labelled with the submission version."""
    return [ClassEntry(code, _country_label(iso3, members, f" v{int(versions.get(iso3, 0))}"),
                       country_colour(codes.index(iso3) if iso3 in codes else code - 1))
            for iso3, code in sorted(prov_code.items(), key=lambda item: item[1])]


def _rgb(colour: str) -> tuple[int, int, int]:
    h = colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def colormap(entries: Sequence[ClassEntry]) -> dict[int, tuple[int, int, int, int]]:
    """The GDAL colour table of the entries (rasterio ``write_colormap``); other values stay transparent black."""
    return {e.value: (*_rgb(e.colour), 255) for e in entries}


def qml(entries: Sequence[ClassEntry]) -> str:
    """QGIS style XML (QML): a paletted renderer of band 1, one entry per class with its label."""
    palette = "".join(f'<paletteEntry value="{e.value}" color="{e.colour.lower()}" alpha="255" '
                      f"label={quoteattr(e.label)}/>" for e in entries)
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            '<qgis version="3.28.0" styleCategories="Symbology">\n'
            '<pipe><rasterrenderer type="paletted" band="1" opacity="1" alphaBand="-1" nodataColor="">'
            f"<rasterTransparency/><colorPalette>{palette}</colorPalette></rasterrenderer></pipe>\n</qgis>\n")


def pam_xml(entries: Sequence[ClassEntry]) -> str:
    """GDAL PAM sidecar (.aux.xml) holding the band's category names (value i is the i-th name)."""
    names = {e.value: e.label for e in entries}
    dataset = ET.Element("PAMDataset")
    band = ET.SubElement(dataset, "PAMRasterBand", band="1")
    categories = ET.SubElement(band, "CategoryNames")
    for value in range(max(names, default=-1) + 1):
        ET.SubElement(categories, "Category").text = names.get(value, "")
    ET.indent(dataset)
    return ET.tostring(dataset, encoding="unicode") + "\n"


def style_paths(raster: Path) -> tuple[Path, Path]:
    """(QGIS style, GDAL PAM sidecar) beside a raster: ``X.qml`` and ``X.tif.aux.xml``."""
    raster = Path(raster)
    return raster.with_suffix(".qml"), raster.with_name(raster.name + ".aux.xml")


def write_class_style(raster: Path, entries: Sequence[ClassEntry]) -> list[Path]:
    """Write the QGIS style and the category names beside ``raster``; returns both paths."""
    style, pam = style_paths(raster)
    write_text_atomic(style, qml(entries))
    write_text_atomic(pam, pam_xml(entries))
    return [style, pam]
