"""Non-map deliverables (book chapter, country profile): format and readability checks, then the ledger."""

from __future__ import annotations

import logging
import re
import zipfile
from pathlib import Path

from atlas.inbox import DOCUMENT_SUFFIXES, Submission
from atlas.ledger import Ledger
from atlas.ledger_schema import SubmissionRecord
from checks.finding import Finding, Location, Severity, counts, verdict

log = logging.getLogger(__name__)

OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")  # legacy .doc (Word 97-2003)
HINT_FORMAT = "send the chapter or profile as .docx or .pdf (File > Save As in the word processor)"


def _words_in_xml(data: bytes) -> int:
    text = re.sub(rb"<[^>]+>", b" ", data)
    return len(text.split())


def check_document(path: Path) -> list[Finding]:
    """Is this a readable .docx, .odt, .pdf or .doc file? Empty list when it is."""
    path = Path(path)
    where = Location(file=path.name)
    suffix = path.suffix.lower()
    if suffix not in DOCUMENT_SUFFIXES:
        return [Finding("document.format", Severity.ERROR, f"{path.name}: {suffix or 'no extension'} is not a "
                        "document format the programme accepts", where, observed=suffix,
                        expected=sorted(DOCUMENT_SUFFIXES), hint=HINT_FORMAT)]
    size = path.stat().st_size
    if size == 0:
        return [Finding("document.empty", Severity.ERROR, f"{path.name}: the file is empty (0 bytes)", where,
                        hint="the upload was probably interrupted; send the file again")]
    with open(path, "rb") as fh:
        head = fh.read(8)
    if suffix == ".pdf":
        return _check_pdf(path, head, size, where)
    if suffix == ".doc":
        if head != OLE_MAGIC:
            return [Finding("document.unreadable", Severity.ERROR, f"{path.name}: not a Word 97-2003 document "
                            "(its first bytes are not the OLE signature)", where, hint=HINT_FORMAT)]
        return [Finding("document.legacy_format", Severity.WARNING, f"{path.name}: legacy Word 97-2003 format",
                        where, observed=".doc", expected=[".docx", ".pdf"], hint=HINT_FORMAT)]
    return _check_zip_document(path, suffix, where)


def _check_pdf(path: Path, head: bytes, size: int, where: Location) -> list[Finding]:
    if not head.startswith(b"%PDF-"):
        return [Finding("document.unreadable", Severity.ERROR, f"{path.name}: does not start with %PDF-, so it "
                        "is not a PDF", where, observed=head[:5].decode("latin-1"), expected="%PDF-",
                        hint=HINT_FORMAT)]
    with open(path, "rb") as fh:
        fh.seek(max(0, size - 2048))
        tail = fh.read()
    if b"%%EOF" not in tail:
        return [Finding("document.truncated", Severity.ERROR, f"{path.name}: the PDF has no end-of-file marker; "
                        "it was cut off", where, hint="export the PDF again and send the complete file")]
    return []


def _check_zip_document(path: Path, suffix: str, where: Location) -> list[Finding]:
    body = "word/document.xml" if suffix == ".docx" else "content.xml"
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
            if bad is not None:
                return [Finding("document.unreadable", Severity.ERROR, f"{path.name}: damaged part {bad}", where,
                                hint=HINT_FORMAT)]
            if body not in zf.namelist():
                return [Finding("document.unreadable", Severity.ERROR, f"{path.name}: no {body} inside, so it is "
                                f"not a {suffix} document", where, hint=HINT_FORMAT)]
            words = _words_in_xml(zf.read(body))
    except zipfile.BadZipFile:
        return [Finding("document.unreadable", Severity.ERROR, f"{path.name}: not a {suffix} file (not a valid "
                        "zip container)", where, hint=HINT_FORMAT)]
    if words == 0:
        return [Finding("document.no_text", Severity.WARNING, f"{path.name}: the document has no text", where,
                        hint="check that the right file was sent")]
    return [Finding("document.words", Severity.INFO, f"{path.name}: {words} words", where, observed=words)]


def record_document(ledger: Ledger, sub: Submission, run_id: str | None = None,
                    report_path: Path | None = None) -> tuple[SubmissionRecord, list[Finding]]:
    """Record a book chapter or country profile and its verdict in the ledger (validated once per version)."""
    record = ledger.record_submission(sub, run_id=run_id)
    findings = [f for path in sub.files for f in check_document(path)]
    if record.is_new or record.verdict is None:
        ledger.record_validation(record.id, verdict(findings), counts(findings), report_path, findings)
    return ledger.get(record.id), findings
