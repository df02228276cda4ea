"""What a rendered report must never show a person: arrow chains, e+ numbers, programme class names in CamelCase."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

from atlas.config import load_programme

ARROWS = re.compile(r"(→|->)[^\n|<;,→]{0,80}?(→|->)")  # two arrows in one phrase: "1 → A -> 6 A"
E_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?e[+-]?\d+(?![\w.])", re.IGNORECASE)  # not inside a checksum
QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"|&#39;[^&\n]*&#39;|<code>.*?</code>|`[^`\n]*`")
TAGS = re.compile(r"<style>.*?</style>|<svg.*?</svg>|<[^>]+>", re.DOTALL)


def camel_class_names() -> list[str]:
    """The programme legend's names written in CamelCase (ModerateSalinity): the form people must not read."""
    return [n for n in load_programme().salinity.classes.values() if re.search(r"[a-z][A-Z]", n)]


def problems(text: str) -> list[str]:
    """What is wrong in one rendered report (HTML or Markdown); quoted text is the country's own, not ours."""
    text = TAGS.sub("\n", text)  # a cell ends a phrase
    text = QUOTED.sub(" ", unescape(text))
    found = [f"arrows: {m.group(0)!r}" for m in ARROWS.finditer(text)]
    found += [f"e-number: {text[max(0, m.start() - 20):m.end() + 10]!r}" for m in E_NUMBER.finditer(text)]
    found += [f"CamelCase class name: {name}" for name in camel_class_names() if name in text]
    return found


def scan(folder: Path) -> dict[str, list[str]]:
    """Every report.md and report.html under ``folder`` with what is wrong in it."""
    out = {}
    for path in sorted([*Path(folder).rglob("report.html"), *Path(folder).rglob("report.md")]):
        if found := problems(path.read_text(encoding="utf-8")):
            out[str(path.relative_to(folder))] = found
    return out
