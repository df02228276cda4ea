"""The embedded demo programme: a realistic inbox of national submissions, offline.

``generate_demo`` writes a reference boundary layer (Natural Earth 1:110m
admin-0 countries, public domain, shipped with pyogrio), and under the inbox
the deliveries of nine member countries with their real-life troubles: late
and missing deliverables, projected CRSs, odd nodata, a zipped shapefile with
Mac junk, legacy soil codes, outlines that spill over or fall short of the
reference border, and a rejected then resubmitted soil map. Everything planted
is recorded in ``demo_manifest.json`` next to the reference layer, so tests
and the pipeline's reports can be checked against known truths.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyogrio

from atlas.config import Programme
from atlas.demo.boundaries import (
    BoundaryPlan,
    coastline,
    national_boundary,
    reference_layer,
    shared_border,
)
from atlas.demo.documents import chapter_text, profile_text, write_docx, write_pdf
from atlas.demo.salinity import RasterStyle, write_salinity
from atlas.demo.soil import LEGACY_MEANING, SoilStyle, dominant_at, soil_units, write_crosswalk, write_soil_map
from atlas.demo.tables import RD_ITEM, RD_KEY, THREAT_ITEM, THREATS_KEY, write_table_delivery
from atlas.errors import AtlasError
from atlas.intake.inbox import sha256_file
from atlas.natural_earth import LICENCE, SOURCE

log = logging.getLogger(__name__)

DEFAULT_SEED = 20261126
MANIFEST_NAME = "demo_manifest.json"
# Fixes the timestamp GDAL writes into GeoPackages, so the same seed gives the same bytes.
GPKG_DATE = "2026-01-01T00:00:00Z"


@dataclass(frozen=True)
class CountryScenario:
    """One member's part in the demo: what it sends, when, and how."""

    iso3: str
    role: str
    deliveries: tuple[tuple[str, tuple[str, ...]], ...]  # (date, items); items: chapter profile salinity soil ...
    soil_suffix: str = "gpkg"
    soil_crs: str = "EPSG:4326"
    soil_style: SoilStyle = field(default_factory=SoilStyle)
    raster_style: RasterStyle = field(default_factory=RasterStyle)
    boundary_plan: BoundaryPlan = field(default_factory=BoundaryPlan)
    chapter_suffix: str = "docx"


SCENARIO: dict[str, CountryScenario] = {
    s.iso3: s
    for s in (
        CountryScenario("BTN", "sends nothing at all", ()),
        CountryScenario(
            "IND", "late: soil map, book chapter and country profile, no salinity map",
            (("2026-07-14", ("chapter", "profile", "soil")),),
            soil_crs="EPSG:7755", boundary_plan=BoundaryPlan(short_of=("BGD", "NPL", "CHN")),
        ),
        CountryScenario(
            "CHN", "late: soil map and book chapter, no salinity map",
            (("2026-08-03", ("chapter", "soil")),),
            soil_style=SoilStyle("name", 2022, palettes={"mountain": ("CM", "RG", "LP", "UM")}),
            boundary_plan=BoundaryPlan(spill_into=("VNM", "LAO", "MMR")),
        ),
        CountryScenario(
            "KHM", "everything in one delivery, salinity at 10 arc-seconds in EPSG:4326 (aggregated onto the 30 "
            "arc-second grid); zipped shapefile with Mac junk and legacy FAO-74/WRB-2006 codes "
            "(soil map v1 not accepted until correlated; v2 sends the same map with its crosswalk.csv)",
            (("2026-02-20", ("chapter", "salinity", "soil:legacy", "threats:csv_latin1")),
             ("2026-04-02", ("soil:crosswalk",))),
            soil_suffix="zip", raster_style=RasterStyle(finer=3),
            soil_style=SoilStyle("code", 2015, palettes={"humid_lowland": ("AC", "PT", "AR", "GL")},
                                 legacy_codes=("Ao", "Jd", "Gh", "AB")),
            boundary_plan=BoundaryPlan(short_of=("VNM", "LAO"), slivers_along=("THA", "LAO"), n_slivers=3),
        ),
        CountryScenario(
            "THA", "chapter early; salinity (float32-lowest nodata) with a metafile per layer holding contact "
            "details, and a UTM 47N soil map with bad shares and two units drawn on top of others without a hole",
            (("2026-02-25", ("chapter", "threats")), ("2026-04-10", ("salinity", "soil", "rd"))),
            soil_crs="EPSG:32647",
            soil_style=SoilStyle("code", 2022, palettes={"humid_lowland": ("LX", "LV", "AC"),
                                                         "upland": ("LV", "CM", "AC")}, share_defects=2,
                                 nested_units=2),
            raster_style=RasterStyle(float_nodata=float(np.finfo(np.float32).min),
                                     metafile_contact=("Dr. Somchai Dee", "somchai.dee@ldd.example", "+66 2 579 0111")),
            boundary_plan=BoundaryPlan(spill_into=("KHM", "LAO", "MMR", "MYS")),
        ),
        CountryScenario(
            "VNM", "soil map v1 rejected (share1 missing), v2 fixes it; a partial salinity map (4 layers), "
            "then one more layer (the other four carry over)",
            (("2026-03-02", ("chapter", "salinity:only=ECe_0-30+pH_0-30+ESP_0-30+SAS_0-30", "soil:defective",
                             "threats:errors")),
             ("2026-05-20", ("soil", "salinity:only=ECe_unc_0-30", "rd:errors"))),
            soil_suffix="geojson",
            # the same lowland legend as Cambodia: the two maps agree across their border
            soil_style=SoilStyle("code", 2015, palettes={"humid_lowland": ("AC", "PT", "AR", "GL")}),
            boundary_plan=BoundaryPlan(spill_into=("LAO", "KHM", "CHN")),
        ),
        CountryScenario(
            "BGD", "salinity in UTM 46N (1000 m pixels), to be reprojected; files named as the GSP scripts name "
                   "them (Top0_30ECse.tif ...), class maps in factor-rank codes with the GSP lookup tables",
            (("2026-02-27", ("chapter", "salinity", "soil", "threats", "rd")),),
            soil_style=SoilStyle("code", 2022),
            raster_style=RasterStyle(crs="EPSG:32646", pixel_m=1000.0, class_legend="lookup_table",
                                     file_names="gsp_script"),
            boundary_plan=BoundaryPlan(spill_into=("IND", "MMR")),
        ),
        CountryScenario(
            "NPL",
            "chapter late; salinity without its subsoil SAS class layer (optional: derived by the pipeline); "
            "FlatGeobuf soil map with names and slivers",
            (("2026-03-15", ("chapter", "salinity", "soil", "rd:old")),),
            soil_suffix="fgb", soil_style=SoilStyle("name", 2015),
            raster_style=RasterStyle(missing=(("SAS", "30-100"),)),
            boundary_plan=BoundaryPlan(slivers_along=("IND", "CHN"), n_slivers=3),
        ),
        CountryScenario(
            "LKA", "PDF chapter; pixel size with noise in the 17th digit; class maps in factor-rank codes without "
                   "their lookup table (salinity map rejected); loosely written group names",
            (("2026-02-10", ("chapter",)), ("2026-06-28", ("salinity", "soil"))),
            soil_style=SoilStyle("mixed", 2022), raster_style=RasterStyle(pixel_size_noise=True, class_legend="none"),
            chapter_suffix="pdf",
        ),
    )
}
# the later VNM delivery also corrects both of its tables (their first versions have errors planted)
RESUBMISSION = ("VNM", "2026-11-20", ("soil:revised", "salinity:revised", THREAT_ITEM, RD_ITEM))
DELIVERABLE_OF_ITEM = {"chapter": "book_chapter", "profile": "country_profile", "salinity": "salinity_map",
                       "soil": "soil_map", THREAT_ITEM: THREATS_KEY, RD_ITEM: RD_KEY}


@dataclass(frozen=True)
class DemoManifest:
    """What the demo wrote and the truths it planted (paths relative to the programme root)."""

    seed: int
    window: tuple[float, float, float, float]
    countries: tuple[str, ...]
    files: tuple[str, ...]
    notes: tuple[str, ...]
    truths: dict
    resubmission: str | None = None
    checksums: dict = field(default_factory=dict)  # sha256 of every file written: what the demo may replace

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True, default=str)

    @classmethod
    def from_json(cls, text: str) -> DemoManifest:
        raw = json.loads(text)
        return cls(raw["seed"], tuple(raw["window"]), tuple(raw["countries"]), tuple(raw["files"]),
                   tuple(raw["notes"]), raw["truths"], raw.get("resubmission"), raw.get("checksums", {}))


class DemoRefused(AtlasError):
    """The demo would replace files it did not write (deliveries placed by hand, a real reference layer)."""


INBOX_OWN_FILES = {"README.md", ".gitkeep"}  # the repository's own notes in data/raw


def _written_before(programme: Programme) -> dict[str, str | None]:
    """Files the previous demo wrote (relative path -> sha256, None where its manifest kept no checksum)."""
    manifest = programme.reference_boundaries.parent / MANIFEST_NAME
    try:
        previous = DemoManifest.from_json(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError):
        return {}
    return {name: previous.checksums.get(name) for name in previous.files}


def foreign_files(programme: Programme) -> list[str]:
    """Files in the inbox, and a reference layer, that the demo did not write (or that changed since)."""
    ours = _written_before(programme)
    candidates = []
    if programme.raw_dir.is_dir():
        candidates += [p for p in sorted(programme.raw_dir.rglob("*"))
                       if (p.is_file() or p.is_symlink()) and not (p.parent == programme.raw_dir
                                                                   and p.name in INBOX_OWN_FILES)]
    if programme.reference_boundaries.exists():
        candidates.append(programme.reference_boundaries)
    foreign = []
    for path in candidates:
        name = _relative(path, programme.root)
        if name not in ours or path.is_symlink():
            foreign.append(name)
        elif ours[name] is not None and sha256_file(path) != ours[name]:
            foreign.append(f"{name} (changed since the demo wrote it)")
    return foreign


def _deliverable_truths(programme: Programme, deliveries: list[tuple[str, tuple[str, ...]]]) -> dict[str, dict]:
    """Per deliverable: versions sent, first and last dates, and whether the first came after the deadline."""
    out: dict[str, dict] = {}
    for date, items in deliveries:
        for item in items:
            key = DELIVERABLE_OF_ITEM[item.partition(":")[0]]
            if key not in programme.deliverables:  # a programme without the demo's tables
                continue
            entry = out.setdefault(key, {"versions": 0, "first": date, "rejected_versions": []})
            entry["versions"] += 1
            entry["last"] = date
            if item.endswith((":defective", ":legacy", ":errors")):  # legacy: not accepted until correlated
                entry["rejected_versions"].append(entry["versions"])
    for key, entry in out.items():
        deadline = programme.deliverables[key].deadline if key in programme.deliverables else None
        entry["deadline"] = deadline.isoformat() if deadline else None
        entry["late"] = bool(deadline and entry["first"] > deadline.isoformat())
    return out


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:  # a data folder configured outside the programme root
        return path.as_posix()


def _remove_previous(programme: Programme, isos: set[str]) -> None:
    """Delete inbox folders a previous demo wrote, and those this run will write."""
    manifest = programme.reference_boundaries.parent / MANIFEST_NAME
    if manifest.is_file():
        try:
            isos = isos | set(json.loads(manifest.read_text(encoding="utf-8")).get("countries", []))
        except (ValueError, OSError):
            log.warning("previous demo manifest %s unreadable; removing only this run's folders", manifest)
    for iso3 in sorted(isos):
        folder = programme.raw_dir / iso3
        if folder.is_dir():
            shutil.rmtree(folder)


def _border_agreement(sending: list[str], geoms: dict, coast, seed: int) -> dict[str, dict]:
    """Share of points along each shared border where both countries' palettes give the same group."""
    out = {}
    for i, a in enumerate(sending):
        for b in sending[i + 1:]:
            if a not in geoms or b not in geoms:
                continue
            line = shared_border(geoms[a], geoms[b])
            if line is None:
                continue
            pts = [line.interpolate(f, normalized=True) for f in np.linspace(0.02, 0.98, 60)]
            lon = np.array([p.x for p in pts])
            lat = np.array([p.y for p in pts])
            same = dominant_at(seed, SCENARIO[a].soil_style, lon, lat, coast) == dominant_at(
                seed, SCENARIO[b].soil_style, lon, lat, coast)
            out[f"{a}-{b}"] = {"agreement": round(float(same.mean()), 3),
                               "border_km_approx": round(line.length * 111, 0)}
    return out


def _write_delivery(
    programme: Programme, sc: CountryScenario, date: str, items: tuple[str, ...], boundary, coast, seed: int,
) -> tuple[list[Path], dict]:
    folder = programme.raw_dir / sc.iso3 / date
    folder.mkdir(parents=True, exist_ok=True)
    country = programme.members.get(sc.iso3, sc.iso3)
    files: list[Path] = []
    truths: dict = {}
    for item in items:
        kind, _, flavour = item.partition(":")
        variant = 1 if flavour == "revised" else 0
        if kind in (THREAT_ITEM, RD_ITEM):
            if DELIVERABLE_OF_ITEM[kind] not in programme.deliverables:
                continue  # a programme without this table: nothing to send
            written, truths[kind] = write_table_delivery(programme, folder, sc.iso3, kind, flavour, seed)
            files.extend(written)
        elif kind == "chapter":
            writer = write_pdf if sc.chapter_suffix == "pdf" else write_docx
            name = f"{sc.iso3}_GSAS_chapter.{sc.chapter_suffix}"
            files.append(writer(folder / name, *chapter_text(country, sc.iso3)))
        elif kind == "profile":
            files.append(write_docx(folder / f"{sc.iso3}_country_profile.docx", *profile_text(country, sc.iso3)))
        elif kind == "salinity":
            only = tuple(flavour[5:].split("+")) if flavour.startswith("only=") else None  # a partial delivery
            written, truths["salinity"] = write_salinity(
                folder, sc.iso3, boundary.full, coast, programme.salinity, seed, sc.raster_style, variant, only)
            files.extend(written)
        elif kind == "soil":
            style = sc.soil_style
            if flavour == "defective":
                style = SoilStyle(**{**asdict(style), "drop_fields": ("share1",)})
            n_units = int(np.clip(round(boundary.truths["reference_km2"] / 800), 40, 600))
            gdf, truths["soil"] = soil_units(sc.iso3, boundary, coast, seed, n_units, style, variant)
            truths["soil"].update(format=sc.soil_suffix, crs=sc.soil_crs)
            files.append(write_soil_map(gdf, folder / f"{sc.iso3}_soil.{sc.soil_suffix}", sc.soil_crs))
            if flavour == "crosswalk":  # the same map again, with the country's correlation of its legacy classes
                files.append(write_crosswalk(folder, sorted(set(truths["soil"]["legacy_units"].values()))))
                truths["soil"]["crosswalk"] = files[-1].name
    return files, truths


def generate_demo(
    programme: Programme,
    countries: list[str] | None = None,
    window: tuple[float, float, float, float] | None = None,
    seed: int = DEFAULT_SEED,
    resubmission: bool = False,
    replace: bool = False,
) -> DemoManifest:
    """Write the demo inbox, reference boundaries and manifest; same seed, same files.

    Refuses (DemoRefused) when the inbox holds a file the demo did not write, or the reference layer
    is not the demo's, unless ``replace``: deliveries placed by hand are never deleted by surprise.
    """
    foreign = [] if replace else foreign_files(programme)
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise DemoRefused(f"the demo would replace files it did not write: {shown}; move them away, or give "
                          "--replace to let the demo overwrite the inbox and the reference layer")
    window = tuple(float(v) for v in (window or programme.region_bounds))
    wanted = [c.upper() for c in countries] if countries else list(SCENARIO)
    notes: list[str] = [f"reference boundaries: {SOURCE}; licence: {LICENCE}"]
    notes += [f"{c}: no demo scenario for this country; skipped" for c in wanted if c not in SCENARIO]
    _remove_previous(programme, {c for c in wanted if c in SCENARIO})

    reference = reference_layer(window)
    geoms = dict(zip(reference["iso3"], reference.geometry, strict=True))
    programme.reference_boundaries.parent.mkdir(parents=True, exist_ok=True)
    if programme.reference_boundaries.exists():
        programme.reference_boundaries.unlink()
    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": GPKG_DATE})
    try:
        reference.to_file(programme.reference_boundaries, layer="countries", driver="GPKG", engine="pyogrio")
        coast = coastline(window)
        written: list[Path] = [programme.reference_boundaries]
        truths: dict = {"reference": {"source": SOURCE, "licence": LICENCE, "layer": "countries",
                                      "countries": list(reference["iso3"]),
                                      "non_members": [c for c in reference["iso3"] if c not in programme.members]},
                        "countries": {}, "legacy_code_meaning": LEGACY_MEANING}
        sending: list[str] = []
        for iso3 in [c for c in wanted if c in SCENARIO]:
            sc = SCENARIO[iso3]
            if iso3 not in geoms:
                notes.append(f"{iso3}: outside the window {window}; skipped")
                continue
            entry: dict = {"role": sc.role, "deliveries": {}}
            truths["countries"][iso3] = entry
            if not sc.deliveries:
                notes.append(f"{iso3}: {sc.role}")
                continue
            boundary = national_boundary(iso3, sc.boundary_plan, geoms, programme.equal_area_crs)
            entry["boundary"] = boundary.truths
            deliveries = list(sc.deliveries)
            if resubmission and iso3 == RESUBMISSION[0]:
                deliveries.append(RESUBMISSION[1:])
            for date, items in deliveries:
                files, delivery_truths = _write_delivery(programme, sc, date, items, boundary, coast, seed)
                written.extend(files)
                entry["deliveries"][date] = {"files": [p.name for p in files], **delivery_truths}
            entry["deliverables"] = _deliverable_truths(programme, deliveries)
            sending.append(iso3)
        truths["borders"] = _border_agreement(sending, geoms, coast, seed)
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})

    resub = RESUBMISSION[0] if resubmission and RESUBMISSION[0] in sending else None
    truths["resubmission"] = {"country": resub, "date": RESUBMISSION[1] if resub else None,
                              "always": {"VNM": ["2026-03-02 soil map rejected (share1 missing)",
                                                 "2026-05-20 soil map fixed"]}}
    manifest = DemoManifest(
        seed=seed,
        window=window,
        countries=tuple(truths["countries"]),
        files=tuple(sorted(_relative(p, programme.root) for p in written)),
        notes=tuple(notes),
        truths=truths,
        resubmission=resub,
        checksums={_relative(p, programme.root): sha256_file(p) for p in written},
    )
    (programme.reference_boundaries.parent / MANIFEST_NAME).write_text(manifest.to_json(), encoding="utf-8")
    log.info("demo: %d files for %d countries under %s", len(written), len(sending), programme.raw_dir)
    return manifest
