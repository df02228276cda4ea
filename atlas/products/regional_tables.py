"""Table deliverables: each version's rows as read (the national copy) and the regional tables merged from them.

The national copy (``national/<ISO3>/<table>/v<NNN>/table/<resource>.csv``) holds a version's rows as the
checks read them, whatever its verdict, so "what changed" can compare any two versions. The regional
table merges the accepted versions, with the country and the version on every row, as CSV, print-ready
XLSX and Parquet, and counts them for the meeting (``meeting_counts``). Country text in the CSV and XLSX
is neutralised with ``atlas.cells.safe_cell`` (OWASP "CSV injection"): a cell starting with = + - @ or a tab
or carriage return gets a leading apostrophe, so a spreadsheet shows it as text, never runs it as a formula.
The national copy is written the same way and read back with ``plain_cell``.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from atlas import layout
from atlas.atomic import write_atomic
from atlas.cells import plain_cell, safe_cell
from atlas.config import Programme
from atlas.errors import AtlasError
from atlas.products.build_manifest import BUILD_MANIFEST, mergeable_versions, table_up_to_date
from atlas.tables.schema import TableSpec
from atlas.tables.template import sheet_title

TABLE_COPY_DIR = "table"
ROW_COLUMN = "row"  # the row in the country's spreadsheet, kept in the national copy
KEY_COLUMNS = ("country", "country_name", "version", "received")  # on every row of a regional table


def table_copy_dir(processed: Path, iso3: str, deliverable: str, version: int) -> Path:
    return layout.national_dir(processed, iso3, deliverable, version) / TABLE_COPY_DIR


def write_table_copy(rows: dict[str, list[dict]], spec: TableSpec, out_dir: Path) -> list[Path]:
    """One CSV (UTF-8) per resource of the rows as read; dates in ISO form. Returns the files written."""
    folder = Path(out_dir) / TABLE_COPY_DIR
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for resource in spec.resources:
        if resource.name not in rows:
            continue
        columns = [ROW_COLUMN, *(f.name for f in resource.fields)]
        # our own file, read back with plain_cell; cells through safe_cell since a spreadsheet may open it too
        lines = [columns] + [[r["_row"], *(safe_cell(_text(r.get(f.name))) for f in resource.fields)]
                             for r in rows[resource.name]]
        target = folder / f"{resource.name}.csv"
        write_atomic(target, lambda tmp, lines=lines: _write_csv(tmp, lines))
        written.append(target)
    return written


def _write_csv(path: Path, lines: list[list]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(["" if v is None else v for v in line] for line in lines)


def _text(value):
    """A value as the copy writes it: dates in ISO form, 30.0 as 30 (spreadsheets store every number as a float)."""
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def read_table_copy(folder: Path, spec: TableSpec) -> dict[str, pd.DataFrame]:
    """A version's national copy, every value as text (as the country wrote it), per resource."""
    out = {}
    for resource in spec.resources:
        path = Path(folder) / f"{resource.name}.csv"
        if path.is_file():
            out[resource.name] = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8").map(plain_cell)
    return out


@dataclass
class RegionalTable:
    """What merging one table gave: the files, and which version of each country they hold."""

    deliverable: str
    product: str
    paths: list[Path] = field(default_factory=list)
    versions: dict[str, int] = field(default_factory=dict)
    frames: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)


def tables_root(release: Path) -> Path:
    """``tables/`` of a release: one folder per table deliverable, and the meeting summary of all of them.

    The tables are part of the release like the maps (built aside, made current together, hard-linked into the
    next release when unchanged); before, they were written to ``regional/tables/``, outside any release.
    """
    return layout.tables_in(release)


def regional_tables_dir(release: Path, deliverable: str) -> Path:
    return tables_root(release) / deliverable


def _typed(frame: pd.DataFrame, resource) -> pd.DataFrame:
    """Columns in their schema types (numbers, whole numbers, dates), for Parquet and the XLSX."""
    out = frame.copy()
    for f in resource.fields:
        if f.name not in out:
            continue
        values = out[f.name].replace("", None)
        if f.type == "number":
            out[f.name] = pd.to_numeric(values, errors="coerce")
        elif f.type == "integer":
            out[f.name] = pd.to_numeric(values, errors="coerce").astype("Int64")
        elif f.type == "date":
            out[f.name] = pd.to_datetime(values, errors="coerce").dt.date
        else:
            out[f.name] = values
    return out


def _received(programme: Programme, iso3: str, deliverable: str, version: int) -> str:
    """The version's delivery date, from its report (the ledger's own record of it)."""
    import json

    try:
        report = layout.national_dir(programme.processed_dir, iso3, deliverable, version) / "report.json"
        return str(json.loads(report.read_text(encoding="utf-8"))["meta"].get("received", ""))
    except (OSError, ValueError, KeyError):
        return ""


def merge_table(programme: Programme, spec: TableSpec, versions: dict[str, int],
                received: dict[str, str] | None = None) -> dict[str, pd.DataFrame]:
    """Every accepted version's rows, per resource, with country, country name, version and received date."""
    merged: dict[str, list[pd.DataFrame]] = {r.name: [] for r in spec.resources}
    for iso3, version in sorted(versions.items(), key=lambda kv: programme.members.get(kv[0], kv[0])):
        copy = read_table_copy(table_copy_dir(programme.processed_dir, iso3, spec.key, version), spec)
        for name, frame in copy.items():
            frame = frame.drop(columns=[ROW_COLUMN], errors="ignore")
            frame.insert(0, "received", (received or {}).get(iso3) or _received(programme, iso3, spec.key, version))
            frame.insert(0, "version", version)
            frame.insert(0, "country_name", programme.members.get(iso3, iso3))
            frame.insert(0, "country", iso3)
            merged[name].append(frame)
    out = {}
    for resource in spec.resources:
        columns = [*KEY_COLUMNS, *(f.name for f in resource.fields)]
        frames = merged[resource.name]
        frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
        out[resource.name] = _typed(frame.reindex(columns=columns), resource)
    return out


# BUILD_MANIFEST (build_manifest.json, as the maps'): which version of each country the files hold; a run with the
# same ones skips, and the ledger's published states, STAC and `atlas verify` read it


def mergeable(programme: Programme, key: str, versions: dict[str, int]) -> dict[str, int]:
    """The accepted versions whose rows were written (a version processed before tables had a copy is left out)."""
    return mergeable_versions(programme.processed_dir, key, versions)


def is_current(programme: Programme, key: str, versions: dict[str, int], release: Path) -> bool:
    """The regional table in ``release`` already holds exactly these versions, and all its files are there."""
    return table_up_to_date(release, key, versions)


def build_regional_table(programme: Programme, spec: TableSpec, versions: dict[str, int],
                         received: dict[str, str] | None = None, *, release: Path,
                         run_id: str | None = None) -> RegionalTable:
    """The regional table of one table deliverable in ``release`` (a release being built): CSV and Parquet per
    resource, one print-ready XLSX, and its build manifest (versions, files, the versions in each file)."""
    import json
    import shutil

    if (Path(release) / layout.RELEASE_FILE).exists():
        raise AtlasError(f"{release}: a published release is never changed; build the table into a new one")
    out_dir = regional_tables_dir(release, spec.key)
    shutil.rmtree(out_dir, ignore_errors=True)  # the previous release's files (hard links) make way, none stale
    out_dir.mkdir(parents=True, exist_ok=True)
    versions = mergeable(programme, spec.key, versions)
    frames = merge_table(programme, spec, versions, received)
    product = programme.deliverables[spec.key].product
    result = RegionalTable(spec.key, product, versions=dict(versions), frames=frames)
    for name, frame in frames.items():
        csv_path = out_dir / f"{spec.key}_{name}.csv"
        safe = frame.map(lambda v: None if _missing(v) else safe_cell(v))
        write_atomic(csv_path, lambda tmp, safe=safe: safe.to_csv(tmp, index=False, encoding="utf-8"))
        parquet = out_dir / f"{spec.key}_{name}.parquet"
        write_atomic(parquet, lambda tmp, frame=frame: frame.to_parquet(tmp, index=False))
        result.paths += [csv_path, parquet]
    xlsx = out_dir / f"{spec.key}.xlsx"
    write_atomic(xlsx, lambda tmp: _write_xlsx(tmp, spec, frames, programme))
    result.paths.append(xlsx)
    held = [{"country": iso3, "version": int(v), "layer": spec.key, "how": "sent"}
            for iso3, v in sorted(versions.items())]
    manifest = json.dumps({"product": product, "deliverable": spec.key, "versions": versions,
                           "files": sorted(p.name for p in result.paths), "left_out": {}, "run_id": run_id,
                           "sources": {p.name: held for p in sorted(result.paths)}}, indent=1, sort_keys=True)
    write_atomic(out_dir / BUILD_MANIFEST, lambda tmp: Path(tmp).write_text(manifest, encoding="utf-8"))
    return result


def read_table_manifest(release: Path, key: str) -> dict | None:
    """The build manifest of a regional table in a release, or None (not built there)."""
    import json

    try:
        return json.loads((regional_tables_dir(release, key) / BUILD_MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_xlsx(path: Path, spec: TableSpec, frames: dict[str, pd.DataFrame], programme: Programme) -> None:
    """One sheet per resource: bold frozen header, filters, A4 landscape fitted to the width, titles repeated."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                         "strings_to_numbers": False})
    head = wb.add_format({"bold": True, "bg_color": "#1F4E78", "font_color": "#FFFFFF", "text_wrap": True,
                          "valign": "top", "border": 1})
    cell = wb.add_format({"text_wrap": True, "valign": "top", "border": 1})
    date = wb.add_format({"num_format": "yyyy-mm-dd", "valign": "top", "border": 1})
    whole = wb.add_format({"num_format": "#,##0", "valign": "top", "border": 1})
    decimal = wb.add_format({"num_format": "#,##0.0##", "valign": "top", "border": 1})
    for resource in spec.resources:
        frame = frames[resource.name]
        ws = wb.add_worksheet(sheet_title(resource))
        titles = {"country": "ISO3", "country_name": "Country", "version": "Version", "received": "Received",
                  **{f.name: f.title for f in resource.fields}}
        years = {f.name for f in resource.fields if "year" in f.name}  # no thousands separator in 2,024
        lines = [1] * (len(frame) + 1)  # wrapped lines per row: xlsxwriter does not fit row heights
        for c, column in enumerate(frame.columns):
            title = titles.get(column, column)
            texts = [str(v) for v in frame[column].tolist() if not _missing(v)]
            width = min(45, max(8, len(title) // 2 + 2, *(len(t) + 2 for t in texts)))
            ws.set_column(c, c, width)
            ws.write_string(0, c, title, head)
            lines[0] = max(lines[0], -(-len(title) // width))
            for r, text in enumerate(frame[column].tolist(), start=1):
                if not _missing(text):
                    lines[r] = max(lines[r], -(-len(str(text)) // width))
            for r, value in enumerate(frame[column].tolist(), start=1):
                if _missing(value):
                    ws.write_blank(r, c, None, cell)
                elif isinstance(value, dt.date):
                    ws.write_datetime(r, c, dt.datetime(value.year, value.month, value.day), date)
                elif isinstance(value, int | float) and not isinstance(value, bool):
                    plain = column == "version" or (column in years and 1900 <= value <= 2100)
                    ws.write_number(r, c, value, cell if plain else whole if float(value).is_integer() else decimal)
                else:
                    ws.write_string(r, c, str(safe_cell(str(value))), cell)
        for r, n in enumerate(lines):
            if n > 1:
                ws.set_row(r, 13 * n + 2)
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, max(len(frame), 1), max(len(frame.columns) - 1, 0))
        ws.set_landscape()
        ws.set_paper(9)
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(0)
        ws.set_header(f"&L{programme.name.replace('&', '&&')[:60]}&R{spec.title.replace('&', '&&')[:60]}")
        ws.set_footer(f"&L{sheet_title(resource)}&CPage &P of &N&R{dt.date.today().isoformat()}")
    wb.close()


def _missing(value) -> bool:
    """None, NaN, NaT or pandas' NA (a scalar test: strings and numbers are never missing)."""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def meeting_counts(spec: TableSpec, frames: dict[str, pd.DataFrame]) -> dict:
    """Counts for the meeting: rows per country of each sheet, and the first two drop-down columns crossed."""
    sheets = []
    for resource in spec.resources:
        frame = frames.get(resource.name, pd.DataFrame(columns=["country_name"]))
        per_country = frame.groupby("country_name").size().sort_index() if len(frame) else pd.Series(dtype=int)
        enums = [f for f in resource.fields if f.enum and f.name in frame]
        cross = None
        if len(enums) >= 2 and len(frame):
            a, b = enums[0], enums[1]
            table = pd.crosstab(frame[a.name], frame[b.name]).reindex(index=list(a.enum), columns=list(b.enum),
                                                                      fill_value=0)
            # one row per country and threat: the counts are countries; otherwise they are rows (projects)
            unit = "countries" if tuple(resource.primary_key) == (a.name,) else sheet_title(resource).lower()
            cross = {"row_title": a.title, "column_title": b.title, "columns": list(b.enum), "unit": unit,
                     "rows": [[label, *[int(v) for v in table.loc[label]], int(table.loc[label].sum())]
                              for label in a.enum]}
        sheets.append({"title": sheet_title(resource), "rows": len(frame), "unit": sheet_title(resource).lower(),
                       "per_country": [[k, int(v)] for k, v in per_country.items()], "cross": cross})
    countries = sorted(set().union(*(set(f["country_name"]) for f in frames.values() if len(f))))
    return {"deliverable": spec.key, "title": spec.title, "sheets": sheets, "countries": countries}


def table_outcome(programme: Programme, release: Path, key: str):
    """What a release holds of one table deliverable, as its build manifest says (a ``RegionalOutcome``, as the
    maps' products: files, versions, the versions in each file), or None when the release holds no such table."""
    from atlas.products.regional import RegionalOutcome

    built = read_table_manifest(release, key)
    if built is None:
        return None
    folder = regional_tables_dir(release, key)
    return RegionalOutcome(built.get("product") or programme.deliverables[key].product,
                           paths=[folder / name for name in built.get("files", [])],
                           versions={k: int(v) for k, v in (built.get("versions") or {}).items()},
                           up_to_date=True, sources=dict(built.get("sources") or {}))
