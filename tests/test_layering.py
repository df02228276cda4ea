"""The house rules the import contracts cannot state: the Finding value imports nothing of ours, and
no product or ledger module renders a report (``lint-imports`` in ``make test`` checks the layers)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OURS = ("atlas", "checks", "flows")


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_finding_value_imports_nothing_of_ours():
    ours = {n for n in _imports(ROOT / "atlas" / "finding.py") if n.split(".")[0] in OURS}
    assert not ours, f"atlas/finding.py imports {sorted(ours)}: the shared Finding must import nothing of ours"


def test_the_rules_import_no_rendering_library():
    for path in sorted((ROOT / "checks").glob("*.py")):
        bad = {n for n in _imports(path) if n.split(".")[0] in ("jinja2", "matplotlib")}
        assert not bad, f"{path.name} imports {sorted(bad)}: rendering belongs in atlas.reports"


def test_report_rendering_lives_in_its_own_package():
    assert not (ROOT / "checks" / "templates").exists()
    assert (ROOT / "atlas" / "reports" / "templates" / "report.html.j2").is_file()
    for package in ("products", "ledger", "borders", "intake"):
        for path in sorted((ROOT / "atlas" / package).glob("*.py")):
            assert not {n for n in _imports(path) if n.startswith("atlas.reports")}, f"{path} renders a report"
