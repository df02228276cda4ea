"""Synthetic national WRB soil polygon maps for the demo.

Map units are Voronoi cells of seeded random points clipped to the country's
own outline. The dominant Reference Soil Group follows a regional landscape
(relief, deltas, dry coasts) read through a country's palette, so neighbours
with the same palette agree across their border and others do not.
"""

from __future__ import annotations

import tempfile
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from atlas.demo.boundaries import NationalBoundary
from atlas.demo.fields import coast_distance_points, deltaness, mountain_index, stable_seed
from atlas.demo.fields import field as smooth_field

RSG_NAMES = {
    "AC": "Acrisols", "AL": "Alisols", "AN": "Andosols", "AR": "Arenosols", "AT": "Anthrosols",
    "CL": "Calcisols", "CM": "Cambisols", "FL": "Fluvisols", "FR": "Ferralsols", "GL": "Gleysols",
    "HS": "Histosols", "LP": "Leptosols", "LV": "Luvisols", "LX": "Lixisols", "NT": "Nitisols",
    "PL": "Planosols", "PT": "Plinthosols", "RG": "Regosols", "SC": "Solonchaks", "SN": "Solonetz",
    "UM": "Umbrisols", "VR": "Vertisols",
}
# Landscape class -> plausible groups, in order of a smooth "pick" field.
DEFAULT_PALETTES: dict[str, tuple[str, ...]] = {
    "mountain": ("LP", "CM", "RG", "UM"),
    "upland": ("CM", "AC", "LV"),
    "humid_lowland": ("AC", "FR", "PT", "LX"),
    "plain": ("CM", "LV", "VR", "FL"),
    "delta": ("FL", "GL", "AT"),
    "coastal_saline": ("SC", "GL", "FL"),
}
PRINCIPAL = ("Haplic", "Dystric", "Eutric", "Gleyic", "Ferric", "Skeletic", "Calcaric", "Umbric")
SUPPLEMENTARY = ("Loamic", "Clayic", "Arenic", "Siltic", "Humic", "Ochric")
# Legacy codes planted on purpose: FAO-74 (one capital + subunit) and WRB 2006 Albeluvisols.
LEGACY_MEANING = {"Ao": "Orthic Acrisols (FAO-74)", "Jd": "Dystric Fluvisols (FAO-74)",
                  "Gh": "Humic Gleysols (FAO-74)", "AB": "Albeluvisols (WRB 2006, now Retisols)"}
# How the country correlates them when the report asks (the crosswalk.csv it sends back).
LEGACY_CORRELATION = {"Ao": "AC", "Jd": "FL", "Gh": "GL", "AB": "RT"}
FIXED_ZIP_TIME = (2026, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class SoilStyle:
    """How one country writes its soil map."""

    code_style: str = "code"  # code | name | mixed
    wrb_version: int = 2015
    palettes: dict = field(default_factory=dict)  # overrides of DEFAULT_PALETTES
    legacy_codes: tuple[str, ...] = ()
    share_defects: int = 0  # units whose shares do not sum to 100
    nested_units: int = 0  # small units drawn on top of another unit without a hole in it (overlaps)
    drop_fields: tuple[str, ...] = ()


def landscape_class(seed: int, lon: np.ndarray, lat: np.ndarray, coast: shapely.Geometry) -> np.ndarray:
    """The landscape class of each point, from the regional fields."""
    relief = mountain_index(seed, lon, lat)
    delta = deltaness(lon, lat)
    dry = smooth_field(seed, "dry", lon, lat)
    near_coast = coast_distance_points(coast, lon, lat) < 0.25
    return np.select(
        [relief > 1.6, delta > 0.45, near_coast & (dry > 0.4), relief > 0.7, lat < 24.0],
        ["mountain", "delta", "coastal_saline", "upland", "humid_lowland"],
        default="plain",
    )


def _seed_points(boundary: shapely.Geometry, n: int, rng: np.random.Generator) -> np.ndarray:
    west, south, east, north = boundary.bounds
    shapely.prepare(boundary)
    found = np.empty((0, 2))
    while len(found) < n:
        xy = np.column_stack([rng.uniform(west, east, 4 * n), rng.uniform(south, north, 4 * n)])
        found = np.vstack([found, xy[shapely.contains_xy(boundary, xy[:, 0], xy[:, 1])]])
    return found[:n]


def _written(codes: np.ndarray, style: str, rng: np.random.Generator) -> np.ndarray:
    """Codes as the country writes them: codes, qualified names, or loose name variants."""
    if style == "code":
        return codes
    valid = np.array([c is not None for c in codes])
    names = np.array([RSG_NAMES.get(c, c) if c is not None else "" for c in codes], dtype=object)
    if style == "name":
        qualifier = rng.choice(PRINCIPAL[:3], len(codes))
        out = np.array([f"{q} {n}" for q, n in zip(qualifier, names, strict=True)], dtype=object)
    else:
        variant = rng.integers(0, 4, len(codes))
        out = np.array(
            [[n, n[:-1], n.upper(), n.lower()][v] for n, v in zip(names, variant, strict=True)], dtype=object
        )
    return np.where(valid, out, None)


def soil_units(
    iso3: str, boundary: NationalBoundary, coast: shapely.Geometry, seed: int, n_units: int,
    style: SoilStyle, variant: int = 0,
) -> tuple[gpd.GeoDataFrame, dict]:
    """The soil map of one country (EPSG:4326) and what was planted in it."""
    rng = np.random.default_rng(stable_seed(seed, "soil", iso3))
    main = boundary.main
    xy = _seed_points(main, n_units, rng)
    west, south, east, north = main.bounds
    frame = shapely.box(west - 1, south - 1, east + 1, north + 1)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=frame, ordered=True))
    geoms = shapely.intersection(cells, main)
    # a clip can leave a collection (a cell touching the outline in a point); keep its polygons
    collections = shapely.get_type_id(geoms) == 7
    if collections.any():
        geoms[collections] = [
            shapely.union_all([p for p in shapely.get_parts(g) if p.area > 0]) for g in geoms[collections]
        ]
    ok = ~shapely.is_empty(geoms) & (shapely.area(geoms) > 0)
    geoms, xy = geoms[ok], xy[ok]
    n = len(geoms)

    classes = landscape_class(seed, xy[:, 0], xy[:, 1], coast)
    pick = smooth_field(seed, "soilpick", xy[:, 0], xy[:, 1], steps=(1.0, 0.25))
    quantile = np.clip((np.tanh(pick) + 1) / 2, 0, 0.999)
    rsg1 = np.empty(n, dtype=object)
    rsg2 = np.empty(n, dtype=object)
    rsg3 = np.empty(n, dtype=object)
    for cls in np.unique(classes):
        palette = np.array(style.palettes.get(cls, DEFAULT_PALETTES[cls]), dtype=object)
        sel = classes == cls
        idx = (quantile[sel] * len(palette)).astype(int)
        rsg1[sel] = palette[idx]
        rsg2[sel] = palette[(idx + 1) % len(palette)]
        rsg3[sel] = palette[(idx + 2) % len(palette)]

    share1 = 5 * rng.integers(8, 18, n)  # 40..85
    rest = 100 - share1
    has3 = rng.random(n) < 0.4
    share2 = np.where(has3, np.clip(5 * np.round(rest * rng.uniform(0.5, 0.8, n) / 5), 5, rest - 5), rest)
    share3 = np.where(has3, rest - share2, 0)
    rsg3 = np.where(has3, rsg3, None)
    qualifiers = [
        f"{a}, {b}" for a, b in zip(rng.choice(PRINCIPAL, n), rng.choice(SUPPLEMENTARY, n), strict=True)
    ]
    unit_ids = np.arange(1, n + 1)
    truths: dict = {"legacy_units": {}, "share_defect_units": [], "changed_units": []}

    if variant:
        # a later version re-labels a few units: the associated group becomes dominant
        changed = rng.choice(n, size=max(1, n // 20), replace=False)
        rsg1[changed], rsg2[changed] = rsg2[changed].copy(), rsg1[changed].copy()
        truths["changed_units"] = sorted(int(u) for u in unit_ids[changed])
    if style.legacy_codes:
        where = rng.choice(n, size=min(n, len(style.legacy_codes)), replace=False)
        rsg1[where] = list(style.legacy_codes)[: len(where)]
        truths["legacy_units"] = {int(unit_ids[i]): code for i, code in zip(where, style.legacy_codes, strict=False)}
    if style.share_defects:
        legacy_rows = [int(u) - 1 for u in truths["legacy_units"]]
        bad = rng.choice(np.setdiff1d(np.arange(n), legacy_rows), size=style.share_defects, replace=False)
        share2[bad] = share2[bad] + 10  # shares now sum to 110
        truths["share_defect_units"] = sorted(int(unit_ids[i]) for i in bad)

    legacy = np.isin(rsg1, list(LEGACY_MEANING))
    written1 = np.where(legacy, rsg1, _written(rsg1, style.code_style, rng))
    gdf = gpd.GeoDataFrame(
        {
            "unit_id": unit_ids.astype(np.int32),
            "rsg1": written1,
            "share1": share1.astype(np.int32),
            "rsg2": _written(rsg2, style.code_style, rng),
            "share2": share2.astype(np.int32),
            "rsg3": _written(rsg3, style.code_style, rng),
            "share3": pd.array(np.where(has3, share3, 0), dtype="Int32"),
            "qualifiers": qualifiers,
            "wrb_version": np.full(n, style.wrb_version, dtype=np.int32),
        },
        geometry=geoms,
        crs="EPSG:4326",
    )
    gdf.loc[~has3, "share3"] = pd.NA

    if boundary.slivers:
        # slivers carry the group of the nearest unit, as a digitising leftover would
        slivers = np.array(boundary.slivers)
        tree = shapely.STRtree(gdf.geometry.values)
        nearest = tree.nearest(slivers)
        extra = gdf.iloc[nearest].copy()
        extra["unit_id"] = np.arange(n + 1, n + 1 + len(slivers), dtype=np.int32)
        extra = extra.set_geometry(slivers)
        truths["sliver_units"] = [int(u) for u in extra["unit_id"]]
        gdf = pd.concat([gdf, extra], ignore_index=True)
    if style.nested_units:
        gdf, truths["nested_units"] = _nest_units(gdf, n, style.nested_units, rng)
    gdf = gdf.drop(columns=list(style.drop_fields))
    truths.update(
        n_units=len(gdf),
        rsg1_counts={str(k): int(v) for k, v in pd.Series(rsg1).value_counts().sort_index().items()},
        code_style=style.code_style,
        wrb_version=style.wrb_version,
        dropped_fields=list(style.drop_fields),
    )
    return gdf, truths


def _nest_units(gdf: gpd.GeoDataFrame, n: int, count: int, rng: np.random.Generator):
    """Inclusions drawn on top of a unit without cutting a hole in it: the overlap a real map often has."""
    hosts = rng.choice(n, size=count, replace=False)
    geoms = gdf.geometry.values[hosts]
    squares = shapely.buffer(shapely.point_on_surface(geoms), 0.03, cap_style="square")
    extra = gdf.iloc[hosts].copy()
    extra["rsg1"] = extra["rsg2"].to_numpy()  # the associated soil, mapped as its own small unit
    extra["unit_id"] = np.arange(len(gdf) + 1, len(gdf) + 1 + count, dtype=np.int32)
    extra = extra.set_geometry(shapely.intersection(squares, geoms))
    nested = {int(u): int(h) for u, h in zip(extra["unit_id"], gdf["unit_id"].to_numpy()[hosts], strict=True)}
    return pd.concat([gdf, extra], ignore_index=True), nested


def dominant_at(seed: int, style: SoilStyle, lon: np.ndarray, lat: np.ndarray, coast: shapely.Geometry) -> np.ndarray:
    """The dominant group (code) a country's palette gives at given points."""
    classes = landscape_class(seed, lon, lat, coast)
    quantile = np.clip((np.tanh(smooth_field(seed, "soilpick", lon, lat, steps=(1.0, 0.25))) + 1) / 2, 0, 0.999)
    out = np.empty(len(classes), dtype=object)
    for cls in np.unique(classes):
        palette = np.array(style.palettes.get(cls, DEFAULT_PALETTES[cls]), dtype=object)
        sel = classes == cls
        out[sel] = palette[(quantile[sel] * len(palette)).astype(int)]
    return out


def write_soil_map(gdf: gpd.GeoDataFrame, path: Path, crs: str = "EPSG:4326") -> Path:
    """Write the map in the format its suffix names (.gpkg, .geojson, .fgb, .zip = zipped shapefile)."""
    path = Path(path)
    out = gdf.to_crs(crs) if crs != "EPSG:4326" else gdf
    suffix = path.suffix.lower()
    if suffix == ".zip":
        return _write_zipped_shapefile(out, path)
    driver = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".fgb": "FlatGeobuf"}[suffix]
    kwargs = {"layer": path.stem} if driver == "GPKG" else {}
    out.to_file(path, driver=driver, engine="pyogrio", **kwargs)
    return path


def _write_zipped_shapefile(gdf: gpd.GeoDataFrame, path: Path) -> Path:
    """A zipped shapefile as a Mac user would send it: .cpg included, __MACOSX junk member."""
    stem = path.stem
    with tempfile.TemporaryDirectory() as tmp:
        shp = Path(tmp) / f"{stem}.shp"
        with warnings.catch_warnings():
            # the shapefile format truncates wrb_version to wrb_versio: a real-life trouble, kept on purpose
            warnings.simplefilter("ignore")
            gdf.to_file(shp, driver="ESRI Shapefile", engine="pyogrio", encoding="UTF-8")
        members = sorted(Path(tmp).iterdir())
        with zipfile.ZipFile(path, "w") as zf:
            for member in members:
                info = zipfile.ZipInfo(member.name, date_time=FIXED_ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, member.read_bytes())
            # an AppleDouble resource fork, as macOS Finder adds to archives
            info = zipfile.ZipInfo(f"__MACOSX/._{stem}.shp", date_time=FIXED_ZIP_TIME)
            zf.writestr(info, b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + bytes(8))
    return path


def write_crosswalk(folder: Path, legacy_codes) -> Path:
    """The crosswalk.csv a country sends back: each legacy class of its map with the WRB group it chose."""
    rows = [{"legacy_class": code, "rsg_code": LEGACY_CORRELATION[code]} for code in legacy_codes
            if code in LEGACY_CORRELATION]
    path = Path(folder) / "crosswalk.csv"
    pd.DataFrame(rows, columns=["legacy_class", "rsg_code"]).to_csv(path, index=False, lineterminator="\n")
    return path
