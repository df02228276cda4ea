"""Small but valid book chapters and country profiles (.docx, .pdf), built by hand.

No office library is needed: a .docx is an OOXML zip of three parts, a PDF a
few numbered objects and a cross-reference table with exact byte offsets.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

FIXED_ZIP_TIME = (2026, 1, 1, 0, 0, 0)

CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/word/document.xml" \
ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>
</Types>"""

RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" \
Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>
</Relationships>"""

DOCUMENT = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
<w:body>
<w:p><w:r><w:rPr><w:b/></w:rPr><w:t>{title}</w:t></w:r></w:p>
{paragraphs}
<w:sectPr/>
</w:body>
</w:document>"""


def write_docx(path: Path, title: str, paragraphs: list[str]) -> Path:
    """A minimal Word document with a bold title and plain paragraphs (deterministic bytes)."""
    body = "\n".join(f"<w:p><w:r><w:t xml:space=\"preserve\">{escape(p)}</w:t></w:r></w:p>" for p in paragraphs)
    parts = {
        "[Content_Types].xml": CONTENT_TYPES,
        "_rels/.rels": RELS,
        "word/document.xml": DOCUMENT.format(title=escape(title), paragraphs=body),
    }
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in parts.items():
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, text.encode("utf-8"))
    return Path(path)


def _pdf_text(text: str) -> str:
    plain = text.encode("latin-1", "replace").decode("latin-1")
    return plain.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def write_pdf(path: Path, title: str, paragraphs: list[str]) -> Path:
    """A one-page PDF 1.4 with Helvetica text; offsets in the xref table are exact."""
    lines = [f"BT /F1 16 Tf 72 770 Td ({_pdf_text(title)}) Tj ET"]
    y = 740
    for para in paragraphs:
        lines.append(f"BT /F1 11 Tf 72 {y} Td ({_pdf_text(para)}) Tj ET")
        y -= 18
    stream = "\n".join(lines).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{off:010d} 00000 n \n".encode() for off in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    Path(path).write_bytes(bytes(out))
    return Path(path)


def chapter_text(country: str, iso3: str) -> tuple[str, list[str]]:
    """Title and paragraphs of a demo book chapter."""
    return (
        f"Status of salt-affected soils in {country}",
        [
            f"This chapter summarises what is known about saline and sodic soils in {country} ({iso3}).",
            "Salt-affected soils occur mainly in coastal lowlands and deltas, where tidal flooding and "
            "shrimp farming raise the salinity of the topsoil in the dry season.",
            "The national GSSmap layers were produced by digital soil mapping from legacy profiles.",
            "(Synthetic text written by the ASP pipeline demo.)",
        ],
    )


def profile_text(country: str, iso3: str) -> tuple[str, list[str]]:
    """Title and paragraphs of a demo country profile review."""
    return (
        f"Country profile review: {country}",
        [
            f"Reviewed country profile of {country} ({iso3}) for the Soil Atlas of Asia.",
            "Corrections: the extent of Vertisols on the plateau; names of two soil regions.",
            "(Synthetic text written by the ASP pipeline demo.)",
        ],
    )
