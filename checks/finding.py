"""The Finding: what is wrong (or was fixed), where, and how to fix it.

Checks return findings, they never raise; only the flow decides what a
finding means for the run (after rio-cogeo's ``cog_validate``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


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

    def describe(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file)
        if self.layer:
            parts.append(f"layer {self.layer}")
        if self.band is not None:
            parts.append(f"band {self.band}")
        if self.feature is not None:
            parts.append(f"feature {self.feature}")
        if self.window is not None:
            c, r, w, h = self.window
            parts.append(f"pixels col {c}..{c + w - 1}, row {r}..{r + h - 1}")
        if self.lon is not None and self.lat is not None:
            parts.append(f"at {self.lon:.5f}, {self.lat:.5f}")
        return ", ".join(parts) or "whole submission"


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
