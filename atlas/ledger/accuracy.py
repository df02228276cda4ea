"""The regional accuracy table: the statistics each country's metafiles state, for meetings and the book.

The statistics (RMSE, ME, r², NSE for property maps; Kappa for the class map) are recorded in the ledger with the
findings of each version; the table lists, for each layer of the product, those of the version the layer comes
from in the run's resolved state (``atlas.ledger.resolve``).
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

from atlas.atomic import write_atomic
from atlas.cells import safe_records, safe_workbook
from atlas.config import Programme
from atlas.state import ResolvedState

COLUMNS = ("country", "country_name", "version", "layer", "depth", "statistic", "value")
STEM = "accuracy_statistics"
STATISTIC_LABELS = {"R2": "r²", "Accuracy": "overall accuracy (%)"}


def accuracy_table(state, programme: Programme, deliverable: str = "salinity_map") -> list[dict]:
    """One row per country, layer, depth and statistic, in country order: the statistics of the metafile of the
    version each layer of the product comes from (a partial delivery's carried-over layers keep theirs).

    ``state``: the run's ``atlas.state.ResolvedState`` (or a ledger, whose state is resolved here).
    """
    if not isinstance(state, ResolvedState):
        state = state.state()
    rows = []
    versions = state.current_versions(deliverable)
    keys = [f"{layer}_{depth}" for layer, depth in programme.salinity.layer_keys()]
    for iso3 in sorted(versions, key=lambda c: programme.members.get(c, c)):
        layers = state.effective_layers(iso3, deliverable, versions[iso3])
        for key in sorted(layers, key=lambda k: keys.index(k) if k in keys else len(keys)):
            layer, _, depth = key.rpartition("_")
            for statistic, value in layers[key].accuracy.items():
                rows.append({"country": iso3, "country_name": programme.members.get(iso3, iso3),
                             "version": layers[key].version, "layer": layer, "depth": depth,
                             "statistic": statistic, "value": value})
    return rows


def write_accuracy_table(rows: list[dict], out_dir: Path, today: dt.date | None = None) -> list[Path]:
    """accuracy_statistics.csv and .xlsx in ``out_dir``, written atomically."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, xlsx_path = out_dir / f"{STEM}.csv", out_dir / f"{STEM}.xlsx"

    def write_csv(tmp: Path) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, COLUMNS)
            writer.writeheader()
            writer.writerows(safe_records({k: r[k] for k in COLUMNS} for r in rows))

    def write_xlsx(tmp: Path) -> None:
        wb = Workbook()
        ws = wb.active
        ws.title = "accuracy"
        ws.append([f"Accuracy statistics stated by the countries (as of {(today or dt.date.today()).isoformat()})"])
        ws["A1"].font = Font(bold=True, size=13)
        ws.append(["Country", "ISO3", "Version", "Layer", "Depth (cm)", "Statistic", "Value"])
        for cell in ws[2]:
            cell.font = Font(bold=True)
        for r in rows:
            ws.append([r["country_name"], r["country"], r["version"], r["layer"], r["depth"],
                       STATISTIC_LABELS.get(r["statistic"], r["statistic"]), round(r["value"], 4)])
        ws.freeze_panes = "A3"
        for col, width in zip("ABCDEFG", (22, 7, 8, 8, 11, 20, 10), strict=True):
            ws.column_dimensions[col].width = width
        safe_workbook(wb)  # country text never runs as a formula
        wb.save(tmp)

    write_atomic(csv_path, write_csv)
    write_atomic(xlsx_path, write_xlsx)
    return [csv_path, xlsx_path]
