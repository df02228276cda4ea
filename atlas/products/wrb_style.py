"""The QGIS layer style of the regional WRB map: categorized by ``rsg1_code``, a 32-group legend.

Palette: the colours of ISRIC's published SoilGrids250m WRB legend (``grids/aggregated/TAXNWRB.qml`` in
the ISRICWorldSoil/SoilGrids250m repository), taking for each Reference Soil Group the colour of its Haplic
unit (or, where that legend has none, of the unit named in the comment). Retisols take the colour of
Haplic Albeluvisols (their WRB 2006 predecessor). Anthrosols and Technosols, which that legend lacks, and
the non-soil units are our own choices. Provisional units (programme setting ``soil_map.legacy =
"provisional"``) are drawn hatched, and the legend says so.

The style is written twice: into the GeoPackage's ``layer_styles`` table (which QGIS reads when the layer
is opened) and as a ``.qml`` file beside the GeoPackage.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pandas as pd
import pyogrio

from checks.wrb import NON_SOIL_UNITS, RSG_CODES

PALETTE_SOURCE = "ISRIC SoilGrids250m WRB legend (TAXNWRB.qml), Haplic units"
RSG_COLOURS: dict[str, str] = {
    "AC": "#FE813E", "AL": "#F5EBCC", "AN": "#F5E7CA", "AR": "#FEE3C0", "AT": "#B8860B",  # AT: ours
    "CH": "#E5D15C", "CL": "#FFEF51", "CM": "#FDE260", "CR": "#927D9E", "DU": "#FAEBC6",  # DU: Petric Durisols
    "FL": "#10A9E9", "FR": "#FC9C4D", "GL": "#A087BF", "GY": "#FFF587", "HS": "#7F807A",  # HS: Sapric Histosols
    "KS": "#D28769", "LP": "#988F98", "LV": "#F99491", "LX": "#F7C7CA", "NT": "#CC7B68",  # NT: Haplic (Rhodic)
    "PH": "#D5EADB", "PL": "#F69C69", "PT": "#845851", "PZ": "#6DAA61", "RG": "#FDDA9C",  # PL: Haplic (Eutric);
    "RT": "#F0C85C", "SC": "#E05BB4", "SN": "#F8AADE", "ST": "#73C3F4", "TC": "#4D4D4D",  # PT: Acric; RG: (Eutric)
    "UM": "#8C7E79", "VR": "#A88E99",  # RT: Haplic Albeluvisols; ST: Luvic Stagnosols; TC: ours
}
NON_SOIL_COLOURS: dict[str, str] = {"WR": "#A6CEE3", "RK": "#BDBDBD", "GG": "#F7FBFF", "ND": "#FFFFFF",
                                    "DS": "#FFFFBF", "UR": "#E31A1C", "SF": "#E0E0E0"}
OUTLINE = "110,110,110,255"
STYLE_NAME = "WRB Reference Soil Groups"
PROVISIONAL = "CASE WHEN \"rsg1_status\" = 'provisional' THEN 'b_diagonal' ELSE 'solid' END"


def _rgb(hex_colour: str) -> str:
    h = hex_colour.lstrip("#")
    return ",".join(str(int(h[k:k + 2], 16)) for k in (0, 2, 4)) + ",255"


def legend_entries(provisional_codes=()) -> list[dict]:
    """The legend: 32 groups in code order, then the non-soil units; provisional groups say so."""
    entries = []
    for code, name in sorted(RSG_CODES.items()):
        label = f"{code} {name}" + (" (hatched: provisional)" if code in set(provisional_codes) else "")
        entries.append({"code": code, "label": label, "colour": RSG_COLOURS[code], "kind": "wrb"})
    for code, name in NON_SOIL_UNITS.items():
        entries.append({"code": code, "label": name, "colour": NON_SOIL_COLOURS[code], "kind": "non_soil"})
    return entries


def _symbol(index: int, colour: str) -> str:
    opt = '<Option type="QString" name="{}" value="{}"/>'.format
    return (f'<symbol type="fill" name="{index}" alpha="1" clip_to_extent="1" force_rhr="0">'
            '<layer class="SimpleFill" pass="0" locked="0" enabled="1"><Option type="Map">'
            + opt("color", _rgb(colour)) + opt("outline_color", OUTLINE) + opt("outline_width", "0.1")
            + opt("outline_style", "solid") + opt("style", "solid") +
            '</Option><data_defined_properties><Option type="Map">' + opt("name", "") +
            '<Option type="Map" name="properties"><Option type="Map" name="fillStyle">'
            '<Option type="bool" name="active" value="true"/>'
            f'<Option type="QString" name="expression" value={quoteattr(PROVISIONAL)}/>'
            '<Option type="int" name="type" value="3"/></Option></Option>' + opt("type", "collection") +
            '</Option></data_defined_properties></layer></symbol>')


def qml(provisional_codes=(), field: str = "rsg1_code") -> str:
    """QGIS style XML (QML): a categorized renderer on ``field`` with one category per legend entry."""
    entries = legend_entries(provisional_codes)
    categories = "".join(f'<category symbol="{i}" value={quoteattr(e["code"])} label={quoteattr(e["label"])} '
                         'render="true"/>' for i, e in enumerate(entries))
    symbols = "".join(_symbol(i, e["colour"]) for i, e in enumerate(entries))
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            '<qgis version="3.28.0" styleCategories="Symbology">\n'
            f'<renderer-v2 type="categorizedSymbol" attr={quoteattr(field)} symbollevels="0" enableorderby="0" '
            f'forceraster="0"><categories>{categories}</categories><symbols>{symbols}</symbols>'
            '</renderer-v2>\n</qgis>\n')


def store_layer_styles(gpkg: Path, styles: dict[str, str], default: bool = True) -> None:
    """Add each layer's style (``{layer: qml}``) to the GeoPackage's ``layer_styles`` table, which QGIS reads.

    The table is written through GDAL, as QGIS itself writes it: GDAL registers it in ``gpkg_contents``
    as an attribute table with a ``last_change`` in the format the OGC GeoPackage standard requires
    (``%Y-%m-%dT%H:%M:%fZ``, requirement 15), so the file passes GDAL's ``validate_gpkg.py``.
    """
    now = pd.Timestamp(dt.datetime.now(dt.UTC))
    rows = []
    for layer, style_qml in styles.items():
        geometry = pyogrio.read_info(gpkg, layer=layer).get("geometry_name") or "geom"
        rows.append({"f_table_catalog": "", "f_table_schema": "", "f_table_name": layer,
                     "f_geometry_column": geometry, "styleName": STYLE_NAME, "styleQML": style_qml, "styleSLD": "",
                     "useAsDefault": bool(default),
                     "description": f"Categorized by rsg1_code; palette: {PALETTE_SOURCE}", "owner": "", "ui": "",
                     "update_time": now})
    pyogrio.write_dataframe(pd.DataFrame(rows), gpkg, layer="layer_styles", driver="GPKG",
                            append="layer_styles" in {name for name, _ in pyogrio.list_layers(gpkg)},
                            layer_options={"FID": "id"})
