"""What a release's own files must agree on, checked before it becomes current and again by `atlas verify`.

Each check returns one line per disagreement, naming the file and what differs:
- every file a build manifest lists exists;
- every STAC asset exists and has the checksum and size STAC records; every product file is in STAC;
- the STAC sources of a product are the versions its build manifest says it holds;
- no product is empty (a raster without a valid pixel, a vector layer without a feature, a table without a row);
- each regional table's rows name exactly the versions its manifest holds;
- the provenance raster marks only pixels where some salinity layer holds data;
- (``sample_national``) sampled product pixels equal the harmonized national copy they come from.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import rasterio
from rasterio.windows import Window

from atlas import layout
from atlas.intake.inbox import sha256_file
from atlas.products.build_manifest import BUILD_MANIFEST
from atlas.state import Holding
from atlas.wording import plural

PRODUCT_SUFFIXES = (".tif", ".gpkg", ".parquet")
NOT_DATA = ("GSSmap_country_index.tif", "GSSmap_provenance.tif")  # grids of codes, not salinity data


def manifests(release: Path) -> dict[str, dict]:
    """The build manifest of each product folder of a release, by folder name (tables: ``tables/<table>``)."""
    out = {}
    tables = sorted(p.parent.relative_to(release).as_posix()
                    for p in layout.tables_in(release).glob(f"*/{BUILD_MANIFEST}"))
    for folder in (layout.SALINITY, layout.SOIL_ATLAS, *tables):
        path = Path(release) / folder / BUILD_MANIFEST
        if path.is_file():
            try:
                out[folder] = json.loads(path.read_text(encoding="utf-8"))
            except ValueError as exc:
                out[folder] = {"unreadable": str(exc)}
    return out


def included(manifest: dict) -> dict[str, int]:
    """The versions a product holds data of, as its manifest says (given versions minus those left out)."""
    left_out = manifest.get("left_out") or {}
    return {iso3: int(v) for iso3, v in (manifest.get("versions") or {}).items() if iso3 not in left_out}


def holdings(release: Path) -> dict[str, Holding]:
    """{deliverable: Holding}: what each product of a release holds, as its build manifest says: the version of
    each country it is built from, and the earlier versions whose layers are carried into it (with the layers).

    The one reading of "what the release holds" that the ledger's publication states and `atlas verify` share.
    """
    out = {}
    name = Path(release).name
    for manifest in manifests(release).values():
        deliverable, product = manifest.get("deliverable"), manifest.get("product")
        if not deliverable or "unreadable" in manifest:
            continue
        held = included(manifest)
        out[deliverable] = Holding(deliverable, product or deliverable, name, held,
                                   carried_versions(held, manifest.get("sources") or {}),
                                   dict(manifest.get("left_out") or {}))
    return out


def carried_versions(held: dict[str, int], sources: dict[str, list[dict]]) -> dict[tuple[str, int], tuple[str, ...]]:
    """{(iso3, version): layers carried over}: the versions other than the held one whose data is in a product
    (``sources``: per file, the versions whose data it holds), with the layers they give as carried over."""
    carried: dict[tuple[str, int], set[str]] = {}
    for entries in sources.values():
        for e in entries:
            if e["country"] in held and int(e["version"]) != held[e["country"]]:
                layers = carried.setdefault((e["country"], int(e["version"])), set())
                if e.get("how") == "carried" and e.get("layer") not in (None, "", "provenance"):
                    layers.add(str(e["layer"]))
    return {k: tuple(sorted(v)) for k, v in sorted(carried.items())}


def _stac_items(release: Path) -> tuple[list, list[str]]:
    import pystac

    catalog_path = layout.stac_in(release) / "catalog.json"
    if not catalog_path.is_file():
        return [], [f"{_rel(catalog_path, release)}: no STAC catalogue in the release"]
    try:
        return list(pystac.Catalog.from_file(str(catalog_path)).get_items()), []
    except Exception as exc:  # noqa: BLE001 - an unreadable catalogue is a disagreement, not a crash
        return [], [f"{_rel(catalog_path, release)}: unreadable STAC catalogue: {exc}"]


def _rel(path: Path, release: Path) -> str:
    try:
        return Path(path).resolve().relative_to(Path(release).resolve()).as_posix()
    except ValueError:
        return str(path)


def check_files(release: Path) -> list[str]:
    """Manifest files present; STAC assets present with their recorded checksum; every product file in STAC."""
    release = Path(release)
    problems = []
    built = manifests(release)
    if not built:
        problems.append("no product in the release (no build manifest)")
    product_files = set()
    for folder, manifest in built.items():
        if "unreadable" in manifest:
            problems.append(f"{folder}/{BUILD_MANIFEST}: unreadable: {manifest['unreadable']}")
            continue
        for name in manifest.get("files", []):
            path = (release / folder / name).resolve()
            if not path.is_file():
                problems.append(f"{_rel(release / folder / name, release)}: listed in {folder}/{BUILD_MANIFEST} "
                                "but missing")
            elif path.suffix in PRODUCT_SUFFIXES:
                product_files.add(path)
    items, trouble = _stac_items(release)
    problems += trouble
    in_stac = set()
    for item in items:
        for key, asset in item.assets.items():
            path = Path(asset.get_absolute_href()).resolve()
            in_stac.add(path)
            expected = asset.extra_fields.get("atlas:checksum_sha256")
            if not path.is_file():
                problems.append(f"{_rel(path, release)}: in STAC item {item.id} (asset {key}) but missing")
            elif expected and sha256_file(path) != expected:
                problems.append(f"{_rel(path, release)}: checksum {sha256_file(path)[:12]}... differs from STAC "
                                f"item {item.id} ({expected[:12]}...): the file changed after it was published")
    for path in sorted(product_files - in_stac) if items else []:
        problems.append(f"{_rel(path, release)}: a product file that no STAC item lists")
    return problems


def check_sources(release: Path) -> list[str]:
    """The STAC sources of each item are the versions the build manifest says its files hold.

    A manifest with per-file ``sources`` (the versions whose data is in each file: sent, carried over,
    derived) is compared item by item; an older one by product (the versions it holds).
    """
    items, trouble = _stac_items(release)
    if trouble:
        return []  # reported by check_files
    problems = []
    for folder, manifest in manifests(release).items():
        product = manifest.get("product")
        if not product or "unreadable" in manifest:
            continue
        per_file = manifest.get("sources")
        if per_file:
            for item in items:
                names = {Path(a.href).name for a in item.assets.values() if "data" in (a.roles or [])}
                if not names & set(manifest.get("files", [])):
                    continue
                held = {(e["country"], int(e["version"])) for name in names for e in per_file.get(name, [])}
                problems += _differ(held, _item_sources(item, product), f"STAC item {item.id}",
                                    f"{folder}/{BUILD_MANIFEST}", product)
        else:
            stac = set().union(*[_item_sources(item, product) for item in items]) if items else set()
            problems += _differ(set(included(manifest).items()), stac, "STAC", f"{folder}/{BUILD_MANIFEST}",
                                product)
    return problems


def _item_sources(item, product: str) -> set[tuple[str, int]]:
    return {(s["country"], int(s["version"])) for s in item.properties.get("atlas:sources", [])
            if s.get("product") == product}


def _differ(held: set, stac: set, where: str, manifest: str, product: str) -> list[str]:
    return ([f"{where} names {iso3} v{v} as a source of {product}; {manifest} does not" for iso3, v in
             sorted(stac - held)]
            + [f"{manifest} says {product} holds {iso3} v{v} ({where}); STAC does not name it" for iso3, v in
               sorted(held - stac)])


def _valid(src, data: np.ndarray) -> np.ndarray:
    nodata = src.nodata
    if nodata is None:
        return np.ones(data.shape, bool)
    return ~np.isnan(data) if np.isnan(nodata) else data != nodata


def check_rasters(release: Path) -> list[str]:
    """No empty salinity product; provenance pixels only where some layer holds data."""
    folder = layout.salinity_in(release)
    if not (folder / BUILD_MANIFEST).is_file():
        return []
    problems = []
    has_data = None
    for path in sorted(folder.glob("GSSmap_*.tif")):
        with rasterio.open(path) as src:
            valid = _valid(src, src.read(1))
        if path.name not in NOT_DATA:
            has_data = valid if has_data is None else has_data | valid
        if not valid.any():
            problems.append(f"salinity/{path.name}: empty product (0 valid pixels) is published")
    provenance = folder / "GSSmap_provenance.tif"
    if provenance.is_file() and has_data is not None:
        with rasterio.open(provenance) as src:
            marked = _valid(src, src.read(1))
        if marked.shape == has_data.shape:
            extra = marked & ~has_data
            if extra.any():
                row, col = (int(v[0]) for v in np.nonzero(extra))
                problems.append(f"salinity/{provenance.name}: {plural(int(extra.sum()), 'pixel')} credited to a "
                                f"country where no layer holds data (first at row {row}, column {col})")
    return problems


def check_vectors(release: Path) -> list[str]:
    """No empty Soil Atlas layer."""
    import pyogrio

    folder = layout.soil_in(release)
    problems = []
    for path in sorted(folder.glob("*.gpkg")) + sorted(folder.glob("*.parquet")):
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            count = pq.ParquetFile(path).metadata.num_rows
        else:
            count = pyogrio.read_info(path, layer="map_units")["features"]
        if not count:
            problems.append(f"soil_atlas/{path.name}: empty product (0 map units) is published")
    return problems


def check_tables(release: Path) -> list[str]:
    """Each regional table's rows name exactly the versions its build manifest says it holds (country and version
    on every row); no table without a row."""
    import pyarrow.parquet as pq

    problems = []
    for folder, manifest in manifests(release).items():
        if not folder.startswith(f"{layout.TABLES}/") or "unreadable" in manifest:
            continue
        held = set(included(manifest).items())
        found: set[tuple[str, int]] = set()
        rows = 0
        for name in manifest.get("files", []):
            path = Path(release) / folder / name
            if path.suffix != ".parquet" or not path.is_file():
                continue
            try:
                table = pq.read_table(path, columns=["country", "version"]).to_pydict()
            except Exception as exc:  # noqa: BLE001 - an unreadable table is a disagreement, not a crash
                problems.append(f"{folder}/{name}: unreadable table: {str(exc).splitlines()[0]}")
                continue
            rows += len(table["country"])
            found |= {(str(c), int(v)) for c, v in zip(table["country"], table["version"], strict=True)}
        where = f"{folder}/{BUILD_MANIFEST}"
        problems += [f"{folder}: rows of {iso3} v{v}, which {where} does not name" for iso3, v in sorted(found - held)]
        problems += [f"{folder}: {where} names {iso3} v{v}, no row holds it" for iso3, v in sorted(held - found)]
        if not rows:
            problems.append(f"{folder}: empty product (0 rows) is published")
    return problems


def check_release(release: Path) -> list[str]:
    """Every check on a release's own files (no ledger, no national copies): what a release must pass to be current."""
    return (check_files(release) + check_sources(release) + check_rasters(release) + check_vectors(release)
            + check_tables(release))


def sample_national(release: Path, sources: dict[str, dict[str, Path]], samples: int = 200, seed: int = 0) -> list[str]:
    """Sampled pixels of each salinity layer equal the harmonized national copy they come from.

    ``sources``: {iso3: {"ECe_0-30": path of the national copy}}; pixels are sampled where the product
    credits the country (country index) and its copy holds data.
    """
    folder = layout.salinity_in(release)
    legend_path = folder / "GSSmap_legend.json"
    if not legend_path.is_file():
        return []
    codes = json.loads(legend_path.read_text(encoding="utf-8"))["country_index"]["codes"]
    index_of = {iso3: int(code) for code, iso3 in codes.items()}
    rng = np.random.default_rng(seed)
    problems = []
    with rasterio.open(folder / "GSSmap_country_index.tif") as cidx_src:
        for iso3, layers in sorted(sources.items()):
            for key, national in sorted(layers.items()):
                product = folder / f"GSSmap_{key}.tif"
                if not product.is_file() or not Path(national).is_file() or iso3 not in index_of:
                    continue
                with rasterio.open(national) as nat, rasterio.open(product) as out:
                    col = round((nat.transform.c - out.transform.c) / out.transform.a)  # both on the common grid
                    row = round((nat.transform.f - out.transform.f) / out.transform.e)
                    window = Window(col, row, nat.width, nat.height).intersection(Window(0, 0, out.width, out.height))
                    nat_window = Window(window.col_off - col, window.row_off - row, window.width, window.height)
                    values, mine = nat.read(1, window=nat_window), out.read(1, window=window)
                    owned = (cidx_src.read(1, window=window) == index_of[iso3]) & _valid(nat, values)
                    rows, cols = np.nonzero(owned)
                    if not len(rows):
                        continue
                    pick = rng.choice(len(rows), size=min(samples, len(rows)), replace=False)
                    differ = [i for i in pick if mine[rows[i], cols[i]] != values[rows[i], cols[i]]]
                    if differ:
                        i = differ[0]
                        problems.append(
                            f"salinity/{product.name}: {len(differ)} of {len(pick)} sampled {iso3} pixels differ "
                            f"from {Path(national).name} (first at row {int(rows[i] + window.row_off)}, column "
                            f"{int(cols[i] + window.col_off)}: {mine[rows[i], cols[i]]} instead of "
                            f"{values[rows[i], cols[i]]})")
    return problems
