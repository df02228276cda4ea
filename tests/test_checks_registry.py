"""The registry: every check well formed and documented; a crashing check becomes a finding."""

from __future__ import annotations

from pathlib import Path

import pytest

from atlas.finding import Severity
from checks.registry import REGISTRY, Check, Hit, checks_markdown, load_all, register, run_checks

DOCS = Path(__file__).resolve().parents[1] / "docs" / "CHECKS.md"
DELIVERABLES = {"salinity_map", "soil_map", "book_chapter", "country_profile",
                "tables"}  # "tables": every deliverable of kind "table" (their keys are the programme's)


def test_every_check_is_well_formed():
    checks = load_all()
    assert len(checks) > 50
    for c in checks.values():
        family, _, name = c.check_id.partition(".")
        assert family and name and c.check_id == c.check_id.lower(), c.check_id
        assert c.description and c.hint and set(c.products) <= DELIVERABLES, c.check_id
        assert isinstance(c.severity, Severity)


def test_docs_list_every_check():
    assert DOCS.read_text(encoding="utf-8").strip() == checks_markdown().strip(), \
        "regenerate: python -m checks.registry > docs/CHECKS.md"


def test_a_crashing_check_is_reported_not_raised():
    def broken(ctx):
        raise ZeroDivisionError("boom")

    def fine(ctx):
        yield Hit("seen", observed=1)

    register(Check("zz.broken", Severity.ERROR, "document", ("book_chapter",), "broken", "none", broken, order=10**6))
    register(Check("zz.fine", Severity.WARNING, "document", ("book_chapter",), "fine", "hint", fine, order=10**6 + 1))
    try:
        findings = [f for f in run_checks("document", "book_chapter", object()) if "zz." in f.check_id + f.message]
    finally:
        REGISTRY.pop("zz.broken")
        REGISTRY.pop("zz.fine")
    assert [f.check_id for f in findings] == ["internal.check_crashed", "zz.fine"]
    assert "boom" in findings[0].message
    assert findings[1].hint == "hint" and findings[1].severity == Severity.WARNING


def test_intake_findings_are_registered_with_their_text():
    """Intake makes Finding values without the registry; the registry declares the same definitions."""
    from atlas.intake.findings import DEFINITIONS, finding

    checks = load_all()
    for d in DEFINITIONS.values():
        c = checks[d.check_id]
        assert (c.severity, c.target, c.products, c.description, c.hint) == (
            d.severity, d.target, d.products, d.description, d.hint), d.check_id
        made = finding(d.check_id, "seen", observed={3}, expected=(1, 2))
        assert (made.severity, made.hint, made.observed, made.expected) == (c.severity, c.hint, [3], [1, 2])


def test_an_id_declared_and_checked_must_have_one_text():
    def func(ctx):
        return ()

    args = ("zz.shared", Severity.ERROR, "document", ("book_chapter",), "what", "how")
    try:
        register(Check(*args))
        register(Check(*args, func))  # a declaration and a function with the same text merge
        assert REGISTRY["zz.shared"].func is func
        register(Check(*args))  # declaring again keeps the function
        assert REGISTRY["zz.shared"].func is func
        with pytest.raises(ValueError, match="registered twice"):
            register(Check(*args[:5], "another hint"))
    finally:
        REGISTRY.pop("zz.shared", None)
