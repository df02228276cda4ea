"""Cells of tabular exports (CSV, XLSX) that no spreadsheet runs as a formula (OWASP "CSV injection").

Country text (unit ids, class names, file names, legend labels) is data, never code. A text cell that
starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is written with a single quote in front,
so Excel, LibreOffice and Google Sheets show it as text: ``=HYPERLINK("http://x","y")`` is written as
``'=HYPERLINK("http://x","y")``. Numbers stay numbers: a numeric value is never touched, nor text that is
a plain decimal number (``-3.5``, ``+1e3``), which a spreadsheet reads as that number and nothing else.
Every CSV and XLSX writer of the pipeline passes its cells through ``safe_cell`` (docs/PRODUCTS.md,
"Tabular exports"); ``plain_cell`` takes the quote off again where the pipeline reads its own table back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def safe_cell(value):
    """The value as a spreadsheet cell that cannot run: text starting like a formula gets a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def plain_cell(value):
    """The text ``safe_cell`` was given, for a table of ours read back (a crosswalk the country filled in)."""
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_START):
        return value[1:]
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of the table with every text cell and column name through ``safe_cell``; numbers untouched."""
    out = frame.copy()
    for name in out.columns:
        if out[name].dtype == object or pd.api.types.is_string_dtype(out[name].dtype):
            out[name] = out[name].map(safe_cell, na_action="ignore").astype(out[name].dtype)
    return out.rename(columns={c: safe_cell(c) for c in out.columns if isinstance(c, str)})


def safe_records(records: Iterable[dict]) -> list[dict]:
    """Rows for ``csv.DictWriter`` with every text value through ``safe_cell`` (keys are our column names)."""
    return [{k: safe_cell(v) for k, v in r.items()} for r in records]


def safe_workbook(workbook) -> None:
    """Every text cell of every sheet of an openpyxl workbook through ``safe_cell``, before it is saved.

    openpyxl stores a string starting with ``=`` as a formula; after this no cell of the workbook is one.
    """
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and safe_cell(cell.value) != cell.value:
                    cell.value = safe_cell(cell.value)
