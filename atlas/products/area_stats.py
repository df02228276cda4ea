"""Area statistics in an equal-area computation: km2 of salinity classes and of dominant soil groups.

Raster areas: every 30 arc-second pixel of a row has the same true area; it is
computed once per row as the area of the pixel's outline (densified edges)
projected to the programme's equal-area CRS (ESRI:54034 by default), so the
sum over pixels is an equal-area sum, not a count of degree cells. Vector areas
are measured after reprojecting to the same CRS.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio
from pyproj import Transformer
from rasterio.windows import Window

from atlas.cells import safe_frame, safe_workbook

log = logging.getLogger(__name__)

STRIP_ROWS = 512
REGION = "REGION"
REGION_NAME = "Region (all members)"
# Decimals in the workbook meant for reading (the CSV files keep full precision for scripts).
XLSX_DECIMALS = {"area_km2": 1, "share_pct": 1}
EDGE_POINTS = 16


def row_areas_km2(transform, height: int, equal_area_crs: str, src_crs: str = "EPSG:4326") -> np.ndarray:
    """True area (km2) of one pixel in each row of a geographic grid, via an equal-area projection."""
    to_ea = Transformer.from_crs(src_crs, equal_area_crs, always_xy=True)
    res_x, res_y = transform.a, transform.e
    x0 = transform.c  # area does not depend on longitude for a regular lon/lat grid
    top = transform.f + np.arange(height)[:, None] * res_y
    t = np.linspace(0.0, 1.0, EDGE_POINTS)[None, :]
    ones = np.ones_like(top)
    # ring: top edge west->east, east edge, bottom edge east->west, west edge
    xs = np.concatenate([x0 + t * res_x * ones, (x0 + res_x) * ones * np.ones_like(t),
                         x0 + (1 - t) * res_x * ones, x0 * ones * np.ones_like(t)], axis=1)
    ys = np.concatenate([top * np.ones_like(t), top + t * res_y, (top + res_y) * np.ones_like(t),
                         top + (1 - t) * res_y], axis=1)
    px, py = to_ea.transform(xs, ys)
    area_m2 = 0.5 * np.abs(np.sum(px * np.roll(py, -1, axis=1) - np.roll(px, -1, axis=1) * py, axis=1))
    return area_m2 / 1e6


def _read_rows(source, row: int, nrows: int) -> np.ndarray:
    if isinstance(source, np.ndarray):
        return source[row:row + nrows]
    with rasterio.open(source) as src:
        return src.read(1, window=Window(0, row, src.width, nrows))


def _key_parts(key: str, depths) -> tuple[str, str]:
    """(source, depth) of a product key like SAS_0-30 or SAS_derived_30-100."""
    depth = next((d for d in depths if key.endswith(d)), "")
    source = "derived" if "derived" in key else "delivered"
    return source, depth


def salinity_class_areas(class_paths: dict[str, Path], country_raster, codes, programme) -> pd.DataFrame:
    """km2 of each salinity class by country, depth and source (delivered / derived), plus the region's totals.

    ``country_raster``: array or raster path of the country index (1-based into ``codes``) on the class
    rasters' grid. Read strip by strip.
    """
    sal = programme.salinity
    rows = []
    for key, path in sorted(class_paths.items()):
        source, depth = _key_parts(key, sal.depths)
        with rasterio.open(path) as src:
            areas = row_areas_km2(src.transform, src.height, programme.equal_area_crs, src.crs.to_string())
            n_countries = len(codes) + 1
            totals = np.zeros(n_countries * 256)
            for row in range(0, src.height, STRIP_ROWS):
                nrows = min(STRIP_ROWS, src.height - row)
                cls = src.read(1, window=Window(0, row, src.width, nrows)).astype("int64")
                idx = _read_rows(country_raster, row, nrows).astype("int64")
                weight = np.broadcast_to(areas[row:row + nrows, None], cls.shape)
                valid = (cls != sal.class_nodata) & (idx > 0)
                totals += np.bincount(idx[valid] * 256 + cls[valid], weights=weight[valid],
                                      minlength=n_countries * 256)
        table = totals.reshape(n_countries, 256)
        for k in range(1, n_countries):
            for code, name in sorted(sal.classes.items()):
                if table[k].sum() > 0:
                    rows.append({"product": key, "source": source, "depth": depth, "iso3": codes[k - 1],
                                 "class_code": code, "class_name": name, "area_km2": float(table[k, code])})
        for code, name in sorted(sal.classes.items()):
            rows.append({"product": key, "source": source, "depth": depth, "iso3": REGION,
                         "class_code": code, "class_name": name, "area_km2": float(table[1:, code].sum())})
    frame = pd.DataFrame(rows, columns=["product", "source", "depth", "iso3", "class_code", "class_name", "area_km2"])
    if not frame.empty:
        totals = frame.groupby(["product", "iso3"])["area_km2"].transform("sum")
        frame["share_pct"] = np.where(totals > 0, 100 * frame["area_km2"] / totals.where(totals > 0, 1), 0.0)
    return _with_country_names(frame, programme)


def _with_country_names(frame: pd.DataFrame, programme) -> pd.DataFrame:
    """The country's name in a column next to its ISO3 code (the region's total named as such)."""
    names = {**getattr(programme, "members", {}), REGION: REGION_NAME}
    frame.insert(frame.columns.get_loc("iso3") + 1, "country", frame["iso3"].map(names).fillna(frame["iso3"]))
    return frame


def _rsg_code(value) -> str:
    """A delivered value as a comparable code, for frames without canonical columns (WRB groups only)."""
    from checks.wrb import normalise_rsg

    match = normalise_rsg(value)
    if match.is_wrb:
        return match.code
    if match.kind == "non_soil":
        return match.non_soil
    return "unclassified"  # never a legacy code in a WRB column


def rsg_areas(region_gdf, programme, rsg_column: str = "rsg1_code", country_column: str = "iso3") -> pd.DataFrame:
    """km2 of each dominant group by country, plus the region's totals (equal-area CRS).

    Rows: iso3, rsg (WRB code or non-soil unit), provisional (units published with a suggested group),
    area_km2, share_pct. Each country's rows sum to its mapped area (each place counts once upstream).
    """
    gdf = region_gdf[~region_gdf.geometry.is_empty & region_gdf.geometry.notna()]
    area = gdf.geometry.to_crs(programme.equal_area_crs).area / 1e6
    codes = gdf[rsg_column] if rsg_column in gdf.columns else gdf["rsg1"].map(_rsg_code)
    provisional = (gdf["rsg1_status"].eq("provisional") if "rsg1_status" in gdf.columns
                   else pd.Series(False, index=gdf.index))
    frame = pd.DataFrame({"iso3": gdf[country_column].to_numpy(), "rsg": codes.fillna("unclassified").to_numpy(),
                          "provisional": provisional.to_numpy(dtype=bool), "area_km2": area.to_numpy()})
    keys = ["rsg", "provisional"]
    by_country = frame.groupby(["iso3", *keys], as_index=False)["area_km2"].sum()
    region = frame.groupby(keys, as_index=False)["area_km2"].sum().assign(iso3=REGION)
    out = pd.concat([by_country, region[["iso3", *keys, "area_km2"]]], ignore_index=True)
    totals = out.groupby("iso3")["area_km2"].transform("sum")
    out["share_pct"] = 100 * out["area_km2"] / totals
    out = out.sort_values(["iso3", "area_km2"], ascending=[True, False], ignore_index=True)
    out.insert(out.columns.get_loc("rsg") + 1, "rsg_name", out["rsg"].map(_rsg_name))
    return _with_country_names(out, programme)


def _rsg_name(code: str) -> str:
    """The group's name, or the non-soil unit's ("WR": "Water bodies"), as the regional map names it."""
    try:
        from checks.wrb import NON_SOIL_UNITS, RSG_CODES
    except ImportError:  # the WRB checks are optional here
        return ""
    return RSG_CODES.get(code) or NON_SOIL_UNITS.get(code, "")


def write_area_tables(frames: dict[str, pd.DataFrame], out_dir: Path) -> dict[str, Path]:
    """One CSV per table and one workbook (area_statistics.xlsx) with a sheet per table."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name, frame in frames.items():
        paths[name] = out_dir / f"{name}.csv"
        safe_frame(frame).to_csv(paths[name], index=False)  # country text never runs as a formula
    xlsx = out_dir / "area_statistics.xlsx"
    with pd.ExcelWriter(xlsx, engine="openpyxl") as writer:
        for name, frame in frames.items():
            shown = safe_frame(frame.round({k: v for k, v in XLSX_DECIMALS.items() if k in frame.columns}))
            shown.to_excel(writer, sheet_name=name[:31], index=False)  # Excel caps sheet names at 31
            _format_sheet(writer.sheets[name[:31]], list(shown.columns))
        safe_workbook(writer.book)
    paths["xlsx"] = xlsx
    return paths


def _format_sheet(ws, columns: list[str]) -> None:
    """Bold frozen header, widths that fit, thousands separators, landscape fit to the page width."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    for i, name in enumerate(columns, start=1):
        letter = get_column_letter(i)
        values = [len(str(c.value)) for c in ws[letter][:200] if c.value is not None]
        ws.column_dimensions[letter].width = min(max([len(name), *values]) + 2, 40)
        if name in XLSX_DECIMALS:
            for cell in ws[letter][1:]:
                cell.number_format = "#,##0." + "0" * XLSX_DECIMALS[name]
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
