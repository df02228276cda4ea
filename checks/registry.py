"""The registry of named checks: one decorated function per check id.

A check is a function from a context (one opened raster, one soil map, one
document, or one whole submission) to ``Hit`` values; the registry turns hits
into findings carrying the check's id, severity and fix hint, so adding a check
is one function in one place.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from atlas.finding import Finding, Location, Severity, plain
from atlas.intake.findings import ALL_PRODUCTS
from atlas.intake.findings import DEFINITIONS as INTAKE_DEFINITIONS

log = logging.getLogger(__name__)

TARGETS = ("raster", "vector", "document", "table", "submission")


@dataclass(frozen=True)
class Hit:
    """One occurrence a check found; the registry adds id, severity and hint."""

    message: str
    location: Location = field(default_factory=Location)
    observed: Any = None
    expected: Any = None
    severity: Severity | None = None  # only to soften/harden one occurrence; default is the check's


@dataclass(frozen=True)
class Check:
    check_id: str
    severity: Severity
    target: str
    products: tuple[str, ...]
    description: str
    hint: str
    func: Callable[[Any], Iterable[Hit]] | None = field(default=None, compare=False)
    order: int = 0

    @property
    def family(self) -> str:
        return self.check_id.split(".", 1)[0]

    def finding(self, hit: Hit) -> Finding:
        return Finding(self.check_id, hit.severity or self.severity, hit.message, hit.location,
                       plain(hit.observed), plain(hit.expected), self.hint)

    def same_text(self, other: Check) -> bool:
        return (self.severity, self.target, self.products, self.description, self.hint) == (
            other.severity, other.target, other.products, other.description, other.hint)


REGISTRY: dict[str, Check] = {}
_ORDER = itertools.count()  # registration order: the order checks run and report in


def register(check: Check) -> Check:
    """Add one check; an id may come twice only as one declaration (no function) and one function, same text."""
    if check.target not in TARGETS:
        raise ValueError(f"{check.check_id}: unknown target {check.target!r}")
    known = REGISTRY.get(check.check_id)
    if known is not None and known.func is not check.func:
        if None not in (known.func, check.func) or not known.same_text(check):
            raise ValueError(f"check id {check.check_id!r} registered twice (with different text or functions)")
        if check.func is None:
            return known  # the function's registration stands
    REGISTRY[check.check_id] = check
    return check


def check(check_id: str, severity: Severity | str, target: str, products: Iterable[str], description: str,
          hint: str) -> Callable:
    """Decorator registering ``func(ctx) -> Iterable[Hit]`` as the check ``check_id``."""

    def wrap(func: Callable[[Any], Iterable[Hit]]) -> Callable[[Any], Iterable[Hit]]:
        register(Check(check_id, Severity(severity), target, tuple(products), description, hint, func,
                       order=next(_ORDER)))
        return func

    return wrap


def declare(check_id: str, severity: Severity | str, target: str, products: Iterable[str], description: str,
            hint: str) -> Check:
    """Register a check that is emitted by a reader or pass rather than a function of its own."""
    return register(Check(check_id, Severity(severity), target, tuple(products), description, hint, None,
                          order=next(_ORDER)))


def emit(check_id: str, message: str, location: Location | None = None, observed: Any = None,
         expected: Any = None, severity: Severity | None = None) -> Finding:
    """A finding for a registered (usually declared) check id; ids of other modules load their families first."""
    if check_id not in REGISTRY:
        load_all()
    return REGISTRY[check_id].finding(Hit(message, location or Location(), observed, expected, severity))


def checks_for(target: str, product: str | None) -> list[Check]:
    """Registered checks with a function for ``target`` that apply to ``product``."""
    return sorted((c for c in REGISTRY.values() if c.func is not None and c.target == target
                   and (product is None or product in c.products)), key=lambda c: c.order)


def run_checks(target: str, product: str | None, ctx: Any) -> list[Finding]:
    """Run every applicable check on ``ctx``; a check that crashes becomes a finding, never a traceback."""
    findings: list[Finding] = []
    for chk in checks_for(target, product):
        try:
            findings.extend(chk.finding(hit) for hit in chk.func(ctx) or ())
        except Exception as exc:  # a bug in one check must not stop the others
            log.exception("check %s crashed", chk.check_id)
            findings.append(emit("internal.check_crashed", f"check {chk.check_id} could not run: {exc}",
                                 Location(file=getattr(ctx, "name", None)), observed=type(exc).__name__))
    return findings


def load_all() -> dict[str, Check]:
    """Every check family, listed here once, so the registry is complete.

    Intake's findings are declared from intake's own table when this module loads
    (below); each family of checks registers its checks when imported here.
    """
    from checks import (  # noqa: F401
        crosswalk,
        document,
        legend,
        metafile,
        naming,
        pipeline_findings,
        raster,
        raster_values,
        run,
        table,
        vector,
        wrb,
    )

    return REGISTRY


# intake (atlas.intake.findings) returns findings as values; its definitions are checks like any other
for _d in INTAKE_DEFINITIONS.values():
    declare(_d.check_id, _d.severity, _d.target, _d.products, _d.description, _d.hint)

# an error: a file a check could not finish on is not known to be sound, so it is not accepted
declare("internal.check_crashed", Severity.ERROR, "submission", ALL_PRODUCTS,
        "A check failed on unexpected input; the other checks still ran, the file is not accepted.",
        "report this file to the pipeline maintainers; the check needs fixing, not the submission")


def checks_markdown() -> str:
    """docs/CHECKS.md: every registered check id, severity, products, description and fix hint."""
    checks = load_all()
    lines = ["# Validation checks", "",
             "Generated from the registry (`python -m checks.registry > docs/CHECKS.md`); a test keeps it in sync.",
             "Severity: error blocks the submission, warning does not, fixed records a repair, info is for the record.",
             ""]
    for family in sorted({c.family for c in checks.values()}):
        lines += [f"## {family}", "", "| id | severity | products | description | fix hint |", "|---|---|---|---|---|"]
        for c in sorted((c for c in checks.values() if c.family == family), key=lambda c: c.check_id):
            products = ", ".join(c.products)
            lines.append(f"| `{c.check_id}` | {c.severity.value} | {products} | {c.description} | {c.hint} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - writes the documentation table
    from checks.registry import checks_markdown as _render  # the package's registry, not __main__'s

    print(_render())
