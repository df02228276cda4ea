"""Counts in words for people: "1 feature has", "3 features have", never "feature(s)". Imports nothing of ours."""

from __future__ import annotations


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """'1 file', '3 files', '1,200 classes' (``nouns`` where adding an s is wrong)."""
    return f"{count:,} {noun if count == 1 else (nouns or noun + 's')}"


def have(count: int) -> str:
    """The verb that agrees with a count: 'has' or 'have'."""
    return "has" if count == 1 else "have"


def be(count: int) -> str:
    """The verb that agrees with a count: 'is' or 'are'."""
    return "is" if count == 1 else "are"


def noun(count: int, word: str, words: str | None = None) -> str:
    """The noun alone that agrees with a count: 'setting' or 'settings' (``words`` where adding an s is wrong)."""
    return word if count == 1 else (words or word + "s")
