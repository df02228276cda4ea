"""Document checks: readable .docx and .pdf, empty files, wrong extensions."""

from __future__ import annotations

import zipfile

import pytest

from checks.document import document_findings


def docx(path, with_body=True):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        if with_body:
            zf.writestr("word/document.xml", "<w:document/>")
    return path


def pdf(path, complete=True):
    path.write_bytes(b"%PDF-1.7\n1 0 obj<<>>endobj\n" + (b"%%EOF\n" if complete else b""))
    return path


FAILING = {
    "document.empty": lambda d: (d / "KHM_chapter.pdf").write_bytes(b"") or d / "KHM_chapter.pdf",
    "document.unreadable": lambda d: pdf(d / "KHM_chapter.pdf", complete=False),
    "document.wrong_extension": lambda d: pdf(d / "KHM_chapter.docx"),
}


@pytest.mark.parametrize("check_id", sorted(FAILING))
@pytest.mark.parametrize("good", ["pdf", "docx"])
def test_document_check_fails_bad_file_and_passes_good_one(check_id, good, tmp_path):
    bad = FAILING[check_id](tmp_path)
    good_path = pdf(tmp_path / "good.pdf") if good == "pdf" else docx(tmp_path / "good.docx")
    assert check_id in {f.check_id for f in document_findings(bad)}
    assert document_findings(good_path) == []


def test_docx_without_body_and_old_doc(tmp_path):
    assert {f.check_id for f in document_findings(docx(tmp_path / "a.docx", with_body=False))} == {
        "document.unreadable"}
    (tmp_path / "b.doc").write_bytes(b"\xd0\xcf\x11\xe0rest")
    assert {f.check_id for f in document_findings(tmp_path / "b.doc")} == {"document.wrong_extension"}
