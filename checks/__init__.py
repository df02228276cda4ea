"""Validation of national submissions: named checks that yield findings."""

from atlas.finding import Finding, Location, Severity

__all__ = ["Finding", "Location", "Severity"]
