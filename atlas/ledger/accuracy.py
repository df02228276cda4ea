"""The regional accuracy table: the statistics each country's metafiles state, for meetings and the book.

The statistics (RMSE, ME, r², NSE for property maps; Kappa for the class map) are recorded in the ledger with the
findings of each version; the table lists those of the version each regional product uses (the newest accepted).
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
from atlas.finding import Finding
from checks.metafile import accuracy_rows

COLUMNS = ("country", "country_name", "version", "layer", "depth", "statistic", "value")
STEM = "accuracy_statistics"
STATISTIC_LABELS = {"R2": "r²", "Accuracy": "overall accuracy (%)"}


def accuracy_table(ledger, programme: Programme, deliverable: str = "salinity_map") -> list[dict]:
    """One row per country, layer, depth and statistic, from the version each product uses, in country order."""
    rows = []
    versions = ledger.accepted_versions(deliverable)
    for iso3 in sorted(versions, key=lambda c: programme.members.get(c, c)):
        findings = [Finding.from_dict(f) for f in ledger.version_findings(iso3, deliverable, versions[iso3])]
        for row in accuracy_rows(findings):
            rows.append({"country": iso3, "country_name": programme.members.get(iso3, iso3),
                         "version": versions[iso3], **row})
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
