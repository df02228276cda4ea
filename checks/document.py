"""Checks on document deliverables (book chapter, country profile): readable .docx or .pdf."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from atlas.finding import Finding, Location, Severity
from checks.registry import Hit, check, run_checks

PRODUCTS = ("book_chapter", "country_profile")
ACCEPTED = (".docx", ".pdf")
TAIL_BYTES = 2048  # %%EOF sits in the last kilobyte; trailing whitespace or junk is common


@dataclass(frozen=True)
class DocumentContext:
    path: Path
    size: int
    head: bytes
    tail: bytes

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def kind(self) -> str | None:
        """What the bytes say the file is: pdf, zip (docx/odt), ole (old .doc) or None."""
        if self.head.startswith(b"%PDF-"):
            return "pdf"
        if self.head.startswith(b"PK\x03\x04"):
            return "zip"
        if self.head.startswith(b"\xd0\xcf\x11\xe0"):
            return "ole"
        return None


def document_context(path: Path) -> DocumentContext:
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(8)
        fh.seek(max(0, size - TAIL_BYTES))
        tail = fh.read()
    return DocumentContext(path, size, head, tail)


@check("document.empty", Severity.ERROR, "document", PRODUCTS, "The document file is empty.",
       "send the document again; the upload may have failed")
def check_empty(ctx):
    if ctx.size == 0:
        yield Hit("file is empty (0 bytes)", Location(file=ctx.name), observed=0)


@check("document.wrong_extension", Severity.ERROR, "document", PRODUCTS,
       "The document is not a .docx or .pdf, or its content does not match its extension.",
       "save as .docx (Word) or export as PDF")
def check_extension(ctx):
    suffix = ctx.path.suffix.lower()
    if ctx.size == 0:
        return
    if suffix not in ACCEPTED:
        yield Hit(f"{suffix} is not an accepted document format", Location(file=ctx.name), observed=suffix,
                  expected=list(ACCEPTED))
    elif (suffix == ".pdf" and ctx.kind not in ("pdf", None)) or (suffix == ".docx" and ctx.kind not in ("zip", None)):
        yield Hit(f"named {suffix} but the content is {ctx.kind}", Location(file=ctx.name), observed=ctx.kind,
                  expected=suffix[1:])


@check("document.unreadable", Severity.ERROR, "document", PRODUCTS,
       "The document cannot be read (truncated PDF, .docx without word/document.xml).",
       "export the document again and check it opens")
def check_readable(ctx):
    if ctx.size == 0:
        return
    suffix = ctx.path.suffix.lower()
    if suffix == ".pdf" and ctx.kind in ("pdf", None):
        if ctx.kind is None:
            yield Hit("does not start with %PDF-", Location(file=ctx.name), observed=ctx.head[:8].hex())
        elif b"%%EOF" not in ctx.tail:
            yield Hit("PDF has no %%EOF marker: truncated", Location(file=ctx.name), expected="%%EOF")
    elif suffix == ".docx" and ctx.kind in ("zip", None):
        try:
            with zipfile.ZipFile(ctx.path) as zf:
                if "word/document.xml" not in zf.namelist():
                    yield Hit("zip has no word/document.xml: not a Word document", Location(file=ctx.name),
                              expected="word/document.xml")
                elif (bad := zf.testzip()) is not None:
                    yield Hit(f"damaged member {bad}", Location(file=ctx.name), observed=bad)
        except (zipfile.BadZipFile, OSError) as exc:
            yield Hit(f"not a readable .docx: {exc}", Location(file=ctx.name), observed=str(exc))


def document_findings(path: Path) -> list[Finding]:
    """Run every document check on one file."""
    return run_checks("document", None, document_context(Path(path)))
