"""The Finding: what is wrong (or was fixed), where, and how to fix it.

Checks return findings, they never raise; only the flow decides what a
finding means for the run (after rio-cogeo's ``cog_validate``).
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

log = logging.getLogger(__name__)


class Severity(StrEnum):
    ERROR = "error"  # blocks the submission
    WARNING = "warning"  # accepted, but the country should look at it
    INFO = "info"  # for the record
    FIXED = "fixed"  # the pipeline repaired this in the processed copy

    @property
    def rank(self) -> int:
        return ["error", "warning", "fixed", "info"].index(self.value)


@dataclass(frozen=True)
class Location:
    """Where a finding applies; every part is optional."""

    file: str | None = None
    layer: str | None = None
    band: int | None = None
    feature: str | None = None
    window: tuple[int, int, int, int] | None = None  # col_off, row_off, width, height
    lon: float | None = None
    lat: float | None = None
    # tables (spreadsheets, CSV): the sheet, the row as the spreadsheet numbers it, the column's header
    sheet: str | None = None
    row: int | None = None
    column: str | None = None

    def describe(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file)
        if self.sheet:
            parts.append(f"sheet {self.sheet!r}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column!r}")
        if self.layer:
            parts.append(f"layer {self.layer}")
        if self.band is not None:
            parts.append(f"band {self.band}")
        if self.feature is not None:
            parts.append(f"feature {self.feature}")
        if self.window is not None:
            c, r, w, h = self.window
            if w == 1 and h == 1:
                parts.append(f"pixel col {c}, row {r}")
            else:
                parts.append(f"pixels col {c}..{c + w - 1}, row {r}..{r + h - 1}")
        if self.lon is not None and self.lat is not None:
            parts.append(f"at {self.lon:.5f}, {self.lat:.5f}")
        return ", ".join(parts) or "whole submission"


def plain(value: Any) -> Any:
    """JSON-friendly copy of observed/expected values (numpy scalars, tuples, sets)."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if value == value else "NaN"
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return [plain(v) for v in items]
    if hasattr(value, "item"):  # numpy scalar
        return plain(value.item())
    return str(value)


@dataclass(frozen=True)
class Finding:
    check_id: str
    severity: Severity
    message: str
    location: Location = field(default_factory=Location)
    observed: Any = None
    expected: Any = None
    hint: str | None = None

    def to_dict(self) -> dict:
        data = asdict(self)
        data["severity"] = self.severity.value
        data["location"] = {k: v for k, v in asdict(self.location).items() if v is not None}
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Finding:
        loc = dict(data.get("location") or {})
        if loc.get("window") is not None:
            loc["window"] = tuple(loc["window"])
        return cls(
            check_id=data["check_id"],
            severity=Severity(data["severity"]),
            message=data["message"],
            location=Location(**loc),
            observed=data.get("observed"),
            expected=data.get("expected"),
            hint=data.get("hint"),
        )


def verdict(findings: list[Finding]) -> str:
    """rejected if any error, accepted_with_warnings if any warning, else accepted."""
    severities = {f.severity for f in findings}
    if Severity.ERROR in severities:
        return "rejected"
    if Severity.WARNING in severities:
        return "accepted_with_warnings"
    return "accepted"


def counts(findings: list[Finding]) -> dict[str, int]:
    out = {s.value: 0 for s in Severity}
    for f in findings:
        out[f.severity.value] += 1
    return out


def internal_error(sub: Any, stage: str, exc: BaseException) -> Finding:
    """A bug or an unforeseen failure in a pipeline stage (``sub``: the submission, or None for the region),
    turned into a finding so the run goes on."""
    key = getattr(sub, "key", None)
    detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    log.error("%s failed for %s: %s\n%s", stage, key or "region", detail, traceback.format_exc())
    return Finding(
        "pipeline.internal_error",
        Severity.ERROR,
        f"the {stage} stage failed unexpectedly: {detail}",
        Location(file=key),
        hint="a pipeline defect, not necessarily a problem in the file: report it to the secretariat's GIS team",
    )
