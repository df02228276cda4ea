"""The submission guide the secretariat sends to countries, written from programme.toml and the check registry.

Everything in the guide is read from the configuration and from the registered
checks, so it changes when they change and never disagrees with the pipeline.
The guide is a list of sections (paragraphs, bullet lists, tables) that one HTML
and one Markdown template lay out.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from atlas.atomic import write_text_atomic
from atlas.config import Programme
from atlas.reports.jinja_env import render
from atlas.reports.values import number
from checks.registry import load_all

LAYER_MEANINGS = {
    "ECe": "electrical conductivity of the saturated paste extract",
    "pH": "soil pH",
    "ESP": "exchangeable sodium percentage",
    "SAS": "salt-affected soil class map (severity classes)",
}
FORMAT_NAMES = {"gpkg": "GeoPackage (.gpkg, preferred)", "geojson": "GeoJSON (.geojson)", "fgb": "FlatGeobuf (.fgb)",
                "zip": "zipped shapefile (.zip)", "shp": "shapefile (.shp with its .shx, .dbf, .prj, .cpg)",
                "json": "GeoJSON (.json)"}
FIELD_MEANINGS = {
    "unit_id": "map unit identifier", "rsg1": "dominant Reference Soil Group: WRB code (CM) or name (Cambisols)",
    "share1": "share of the dominant soil in the unit, %", "rsg2": "second (associated) soil group",
    "share2": "its share, %", "rsg3": "third soil group", "share3": "its share, %",
    "qualifiers": "WRB qualifiers as free text, e.g. \"Calcaric, Loamic\"", "wrb_version": "2015 or 2022",
}
METAFILE_KEYS = ("Title", "Depth", "Units", "Data points", "Data collection", "Laboratory method", "Projection",
                 "Map Resolution", "File format", "Extent (west,south / east,north; width, height)", "Map units",
                 "Summary statistics (maximum, minimum, mean, standard deviation)",
                 "Map development (method, model, accuracy, date)", "Data harmonizations", "Citation")
KIND_PRODUCTS = {"raster": "salinity_map", "vector": "soil_map", "table": "tables"}
TEMPLATES_DIR = "templates"  # beside the guide: every member's template of every table
SEVERITY_MEANING = {"error": "blocks acceptance", "warning": "accepted, please fix next time",
                    "fixed": "repaired by the pipeline in its copy", "info": "for the record, nothing to do"}


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]
    caption: str = ""


@dataclass
class Section:
    key: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


def _date(value: dt.date | None) -> str:
    return value.strftime("%-d %B %Y") if value else "no date set"


def _raw(programme: Programme, *keys, default=None):
    """A value of the TOML as written (settings other helpers add show up without code here)."""
    node = programme.extra
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return default
        node = node[key]
    return node


def _pairs(entries, programme: Programme) -> set[tuple[str, str]]:
    """(layer, depth) pairs from config entries like "ECe_0-30", "ECe 0-30", "ECe" or {layer=..., depth=...}."""
    sal = programme.salinity
    out = set()
    for entry in entries or ():
        if isinstance(entry, dict):
            depths = [entry["depth"]] if entry.get("depth") else list(sal.depths)
            out |= {(entry.get("layer"), d) for d in depths}
        elif isinstance(entry, (list, tuple)) and len(entry) == 2:
            out.add((entry[0], entry[1]))
        else:
            match = re.fullmatch(r"(.+?)[ _:/]+(\d+-\d+)(?: ?cm)?", str(entry))
            out |= {(match.group(1), match.group(2))} if match else {(str(entry), d) for d in sal.depths}
    return out


def layer_requirements(programme: Programme) -> dict[tuple[str, str], str]:
    """'required' or 'optional' for every (layer, depth) of the salinity map, as the configuration says.

    Read from ``[salinity] required`` (or ``required_layers``) when the programme sets it; otherwise
    the pipeline's default: every layer required except the class layer, which is derived when absent.
    """
    sal = programme.salinity
    if hasattr(sal, "is_required"):  # the configuration says it itself
        return {key: ("required" if sal.is_required(*key) else "optional") for key in sal.layer_keys()}
    configured = (getattr(sal, "required_layers", None) or getattr(sal, "required", None)
                  or _raw(programme, "salinity", "required_layers") or _raw(programme, "salinity", "required"))
    required = _pairs(configured, programme) if configured else {
        (layer, depth) for layer, depth in sal.layer_keys() if layer != sal.class_layer}
    return {key: ("required" if key in required else "optional") for key in sal.layer_keys()}


def _layer_meaning(layer: str) -> str:
    base, _, suffix = layer.partition("_")
    meaning = LAYER_MEANINGS.get(base, base)
    return f"uncertainty of {base} ({meaning})" if suffix in ("sd", "unc") else meaning


def _deliverables(programme: Programme) -> Section:
    what = {"raster": "GeoTIFF layers (see the salinity map section)", "vector": "a vector map (see the WRB map "
            "section)", "document": "a Word (.docx) or PDF document",
            "table": "the table's XLSX template filled in (see the tables section)"}
    rows = [[d.title, d.product, what.get(d.kind, d.kind), _date(d.deadline)] for d in programme.deliverables.values()]
    return Section("deliverables", "What to send, and by when", [
        "Each member country sends the deliverables below. A deliverable past its date and not accepted is shown as "
        "overdue in the status table presented at the partnership meetings."],
        tables=[Table(["deliverable", "product", "what arrives", "deadline"], rows)])


def _sending(programme: Programme) -> Section:
    sub = programme.submission
    ask = "ask the secretariat"
    contact = ", ".join(x for x in (sub.contact_name, sub.contact_email) if x) or f"not set in this programme: {ask}"
    return Section("sending", "How to send", [
        f"Where: {sub.send_to or f'not set in this programme: {ask}'}.",
        f"How: {sub.how or 'send the files of one deliverable together, as they are'}.",
        f"Contact for any question about the files, the report or a deadline: {contact}.",
    ], bullets=[
        "Send the files as they are (a zip of several files is fine). The secretariat files every delivery under "
        "its arrival date; the files you send are never modified.",
        "Sending again is normal: a changed file is a new version with its own report, every version is kept, and "
        "the report of a new version says what changed since the previous one.",
        "Every submission gets a validation report: the verdict in one sentence, what to fix in order, and a map "
        "of where the problems are. Errors must be fixed before the submission is accepted; warnings do not "
        "block it.",
    ])


def _limit(key: str, value) -> str:
    if not isinstance(value, (int, float)):
        return str(value)
    if key.endswith("_bytes"):
        return f"{number(round(value / 2**30, 2))} GiB" if value >= 2**30 else f"{number(round(value / 2**20, 1))} MiB"
    return number(value)


def _formats(programme: Programme) -> Section:
    vector = [FORMAT_NAMES.get(f, f) for f in _raw(programme, "soil_map", "formats", default=["gpkg"])]
    rows = [["salinity map layers", "GeoTIFF (.tif), one single-band file per layer and depth"],
            ["soil map in WRB", "; ".join(vector) + ". Polygons or multipolygons, any declared CRS"],
            ["book chapter, country profile", "Word (.docx) or PDF (.pdf); a file whose name contains \"profile\" "
             "is the country profile"]]
    return Section("formats", "Accepted file formats", [
        "Files are checked before they are opened: links, files that point to other files or to the internet "
        "(VRT, sidecars), encrypted or damaged zips and files whose content does not match their extension are "
        "refused, with a finding in the report."], tables=[Table(["what", "format"], rows)])


def _limits(programme: Programme) -> Section:
    limits = _raw(programme, "limits", default={}) or {}
    bullets = [f"{key.replace('_', ' ').replace(' bytes', ' size')}: {_limit(key, value)}"
               for key, value in limits.items()]
    return Section("limits", "Size limits", ["Larger files are refused before they are read:"] if bullets else
                   ["No size limits are set."], bullets=bullets)


def _degrees(res: float) -> str:
    """1/120 rather than 0.00833 when the pixel size is a whole fraction of a degree."""
    inverse = 1 / res
    return f"1/{round(inverse)}" if abs(inverse - round(inverse)) < 1e-6 else number(res)


def _salinity(programme: Programme) -> Section:
    sal = programme.salinity
    need = layer_requirements(programme)
    rows = []
    for layer in sal.layers:
        low_high = sal.ranges.get(layer)
        plausible = f"{number(low_high[0])} to {number(low_high[1])}" if low_high else (
            "the codes of its lookup table (see the class legend)" if layer == sal.class_layer else "")
        per_depth = ", ".join(f"{d} cm: {need[(layer, d)]}" for d in sal.depths)
        rows.append([layer, _layer_meaning(layer), sal.units.get(layer, ""), plausible, per_depth])
    grid_arcsec = programme.resolution_deg * 3600
    paragraphs = [
        f"Grid: {programme.crs} (WGS 84 geographic), pixels of {number(round(grid_arcsec, 3))} arc-seconds "
        f"({_degrees(programme.resolution_deg)} degree), pixel edges on multiples of the pixel size. Finer or "
        "projected rasters are accepted and put on this grid by the pipeline (recorded in the report); coarser "
        "ones are resampled with a warning.",
        f"Data type and nodata: Float32 with nodata {number(sal.continuous_nodata)} for measurements, Byte with "
        f"nodata {sal.class_nodata} for the class layer. Other nodata values are accepted and normalised.",
        f"ECe above {number(sal.ece_warn_above)} dS/m is rare and gets a warning (check the units: dS/m, not mS/m "
        "or µS/cm). A missing required layer is an error; a missing optional layer is not.",
    ]
    return Section("salinity", "National soil salinity map (GSSmap)", paragraphs,
                   tables=[Table(["layer", "what it is", "unit", "plausible values", "required?"], rows)])


def _naming(programme: Programme) -> Section:
    sal = programme.salinity
    iso3 = next(iter(programme.members), "ISO")
    examples = [sal.file_name(iso3, layer, sal.depths[0]) for layer in sal.layers[:3]]
    manifest = _raw(programme, "salinity", "manifest", default=None)
    pattern = sal.file_pattern.replace("{iso3}", "{ISO3}")  # placeholders in braces read the same in HTML and Markdown
    return Section("naming", "File names and manifest.csv", [
        f"Name each layer {pattern}, with the layer and depth codes of the table above, "
        f"for example {', '.join(examples)}.",
        "Names in the style of the GSP manual (ECtop0_30cm.tif, Top0_30saltaffected.tif) are recognised where the "
        "layer and depth are unambiguous. For any other names, add a manifest.csv to the delivery: one line per "
        "file with the columns file, layer, depth (e.g. Top0_30ECse.tif,ECe,0-30). A manifest line can also state "
        "that a class map's codes follow the programme legend. The report says which file was taken as which layer.",
    ] + ([f"This programme's manifest setting: {manifest}."] if manifest else []))


def _criterion(sal) -> str:
    criterion = getattr(sal, "criterion", None)
    cut = (getattr(sal, "ph_cut", None) or {}).get(criterion) if criterion else None
    return f" ({criterion} criterion" + (f", pH cut {number(cut)}" if cut else "") + ")" if criterion else ""


def _legend(programme: Programme) -> Section:
    sal = programme.salinity
    rows = [[str(code), name] for code, name in sorted(sal.classes.items())]
    return Section("legend", "Class legend and lookup tables", [
        f"The regional class product uses this legend. Classes the pipeline derives where no class map came follow "
        f"the programme's thresholds{_criterion(sal)}: saline when ECe > {number(sal.ece_saline_dsm)} dS/m, sodic "
        f"when ESP > {number(sal.esp_sodic_pct)} %.",
        "A delivered class map is only meaningful with its lookup table: the GSP manual's script writes the class "
        "codes as the rank of each class name among the names present in the country, so codes differ from "
        "country to country. Send the lookup table beside the class map as the script writes it (e.g. "
        "saltaffected_LUT0_30.txt: a header \"classcode\" \"mapvalue\", then one row per code such as "
        "3 \"ModerateSalinity\"), or a legend in the metafile, or a manifest.csv line stating that the codes follow "
        "the programme legend. A class map without one, or a value missing from its legend, is an error; no code "
        "is ever guessed.",
    ], tables=[Table(["code", "class"], rows, "programme legend")])


def _metafiles(programme: Programme) -> Section:
    return Section("metafiles", "Metafiles", [
        "Each product (a property map, its uncertainty map, the class map) comes with a plain-text metafile of two "
        "columns, a key and a value (values may run on over indented lines), as in the GSP manual. Its statements "
        "(projection, resolution, extent, statistics, units) can be checked against the raster. Keys:",
    ], bullets=list(METAFILE_KEYS) + [
        "Contact details (names, e-mails, phone numbers) stay in the secretariat's records and never go into a "
        "public product or catalogue."])


def _soil_map(programme: Programme) -> Section:
    from checks.wrb import RSG_CODES

    required, optional = programme.soil_required_fields, programme.soil_optional_fields
    rows = [[f, "required" if f in required else "optional", FIELD_MEANINGS.get(f, "")] for f in (*required,
                                                                                                  *optional)]
    groups = [[code, name] for code, name in sorted(RSG_CODES.items())]
    crosswalk = _raw(programme, "soil_map", "crosswalk", default=None) or _raw(programme, "wrb", "crosswalk")
    paragraphs = [
        "Polygons in any declared coordinate reference system; a map unit's shares sum to 100. Shapefile field "
        "names cut to 10 characters (wrb_versio) are recognised.",
        "Soil groups are the 32 Reference Soil Groups of WRB 2015/2022, as code or name (singular or plural, any "
        "case, qualifiers in front are fine). Legacy legends (FAO-74, FAO-90, WRB 2006, national names) are "
        "recognised, in rsg1 or in the column that holds them (e.g. Dominant_S in a SOTER map), and reported with "
        "a suggested WRB group; nothing is converted without your crosswalk. Non-soil units (water, rock outcrop, "
        "glaciers, no data) are kept as non-soil units.",
        "A map whose attributes hold no soil classification (fertility, land capability, land use) is not a soil "
        "map; points or lines are the wrong kind of data.",
        ("Crosswalk: " + str(crosswalk)) if crosswalk else
        "Crosswalk: the report of a map with legacy or national classes has a section \"Fill in this crosswalk\" "
        "listing every class with its map units, area and suggested group, and links crosswalk_template.csv, "
        "written beside the report. Fill in its rsg_code column (a WRB code such as CM, or WR, RK, GG, ND for "
        "non-soil units), save it as crosswalk.csv and send it with the same map: the classes are then converted "
        "and the report says so.",
    ]
    return Section("soil_map", "National soil classification map in WRB", paragraphs, tables=[
        Table(["attribute", "required?", "meaning"], rows, "attributes"),
        Table(["code", "Reference Soil Group"], groups, "WRB Reference Soil Groups")])


def _borders(programme: Programme) -> Section:
    return Section("borders", "Borders with the neighbours", bullets=[
        "Maps are fitted to the programme's reference boundary layer: parts beyond the border are cut off, and "
        "where two maps overlap across a border the area goes to the country whose reference territory holds it.",
        f"Gaps along the border no wider than {number(programme.gap_fill_max_width_km)} km are filled from the "
        "nearest map unit; wider gaps stay unmapped and are reported.",
        f"Polygons smaller than {number(programme.sliver_max_km2)} km² (slivers) are merged into the neighbouring "
        "unit sharing the longest edge.",
        "Salinity pixels belong to the country covering the pixel's centre; nothing is averaged across a border.",
        "Where neighbours name a different soil group across the border, both countries receive the list.",
    ])


def _tables(programme: Programme) -> Section:
    """Each table: its template, its sheets and their columns with the rule of each."""
    from atlas.tables import load_table_spec, table_deliverables
    from atlas.tables.template import field_rule, sheet_title

    keys = list(table_deliverables(programme))
    if not keys:
        return Section("tables", "Tables", ["This programme asks for no table."])
    paragraphs = [
        f"Each table is filled in on its XLSX template, made for your country: {TEMPLATES_DIR}/<ISO3>_<table>.xlsx "
        "beside this guide (the secretariat also sends it on request). Its Instructions sheet says "
        "what each column holds; the drop-down lists, number and date formats guide the entry. Keep the file name "
        "and send the file as it is (no password), or one CSV file in UTF-8 per sheet named "
        "<ISO3>_<table>_<sheet>.csv.",
        "Enter values, not formulas; do not merge cells, rename or add columns; numbers without units or % sign; "
        "dates as dates. Choose list values from the drop-downs (the lists are in English).",
    ]
    tables = []
    for key in keys:
        spec = load_table_spec(programme, key)
        rows = [[sheet_title(r), f.title, field_rule(f), "; ".join(f.enum)] for r in spec.resources for f in r.fields]
        tables.append(Table(["sheet", "column", "rule", "allowed values"], rows,
                            caption=f"{spec.title} (template version {spec.version}; due "
                                    f"{programme.deliverables[key].deadline or 'see the calendar'})"))
    return Section("tables", "Tables", paragraphs, tables=tables)


def write_templates(programme: Programme, out_dir: Path) -> list[Path]:
    """Every member's template of every table, in ``out_dir`` (the guide's ``templates`` folder)."""
    from atlas.tables import load_table_spec, table_deliverables
    from atlas.tables.template import template_name, write_template

    written = []
    for key, deliverable in table_deliverables(programme).items():
        spec = load_table_spec(programme, key)
        for iso3, name in programme.members.items():
            written.append(write_template(spec, iso3, name, Path(out_dir) / template_name(iso3, spec),
                                          deliverable.deadline))
    return written


# checks about the secretariat's own data and machinery (the reference layer, internal failures, the regional
# mosaic): nothing a country can act on, so the guide does not list them
SECRETARIAT_ONLY = ("boundaries.", "pipeline.", "internal.", "mosaic.", "checks.boundary_missing",
                    "harmonize.no_reference", "intake.output_unsafe", "intake.unsafe_name")


def country_can_act(check_id: str) -> bool:
    return not check_id.startswith(SECRETARIAT_ONLY)


def configured_severity(check, programme: Programme) -> str:
    """The severity this programme gives a check whose severity is a setting (low coverage, legacy classes)."""
    if check.check_id == "raster.coverage_low" and programme.salinity.low_coverage == "hold":
        return "error"
    if check.check_id == "wrb.legacy_code" and programme.soil_legacy == "provisional":
        return "warning"
    return check.severity.value


def _checks(programme: Programme) -> list[Section]:
    registry = load_all()
    sections = []
    for deliverable in programme.deliverables.values():
        product = KIND_PRODUCTS.get(deliverable.kind, deliverable.key)
        applicable = [c for c in registry.values() if (product in c.products or deliverable.key in c.products)
                      and country_can_act(c.check_id)]
        severity = {c.check_id: configured_severity(c, programme) for c in applicable}
        order = ("error", "warning", "fixed", "info")
        rows = [[c.description, f"{severity[c.check_id]} ({SEVERITY_MEANING[severity[c.check_id]]})", c.hint,
                 c.check_id] for c in sorted(applicable, key=lambda c: (order.index(severity[c.check_id]),
                                                                        c.check_id))]
        sections.append(Section(f"checks-{deliverable.key}", f"What is checked: {deliverable.title}",
                                tables=[Table(["what the check looks at", "severity", "how to fix", "check"], rows)]))
    return sections


def guide_sections(programme: Programme) -> list[Section]:
    parts = (_deliverables, _sending, _formats, _limits, _salinity, _naming, _legend, _metafiles, _soil_map, _borders,
             _tables)
    return [part(programme) for part in parts] + _checks(programme)


def guide_values(programme: Programme) -> dict:
    members = sorted(([iso3, name] for iso3, name in programme.members.items()), key=lambda m: m[1])
    return {"programme": programme.name, "generated": dt.date.today().isoformat(), "members": members,
            "sections": guide_sections(programme)}


def write_guide(programme: Programme, out_dir: Path) -> dict[str, Path]:
    """Write submission_guide.html and submission_guide.md into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    values = guide_values(programme)
    paths = {"html": out_dir / "submission_guide.html", "md": out_dir / "submission_guide.md"}
    write_text_atomic(paths["html"], render("guide.html.j2", **values))
    write_text_atomic(paths["md"], render("guide.md.j2", **values))
    if programme.table_keys():  # the templates the guide points to, one per member and table
        write_templates(programme, out_dir / TEMPLATES_DIR)
        paths["templates"] = out_dir / TEMPLATES_DIR
    return paths
