"""Hostile and odd table files are refused before a parser expands them, with a finding that says why."""

from __future__ import annotations

import zipfile

from table_helpers import GOOD_THREATS, rewrite_parts, workbook

from atlas.config import Limits
from atlas.intake.workbooks import read_table_file


def _refused(path, limits=None):
    table, findings = read_table_file(path, limits or Limits())
    assert table is None, "the file was opened"
    assert len(findings) == 1
    return findings[0]


def test_padded_xml_zip_bomb_is_refused_from_the_zip_directory(programme, tmp_path):
    path = workbook(programme, "soil_threats", {"threats": GOOD_THREATS}, tmp_path)
    padding = b" " * (8 << 20)  # 8 MiB of blanks compress about a thousand-fold

    def pad(name, data):
        return data.replace(b"</worksheet>", padding + b"</worksheet>") if name.endswith("sheet2.xml") else data
    rewrite_parts(path, pad)
    f = _refused(path)
    assert f.check_id == "table.too_large" and "expands" in f.message and f.observed > 200


def test_workbook_larger_than_the_limit(programme, tmp_path):
    path = workbook(programme, "soil_threats", {"threats": GOOD_THREATS}, tmp_path)
    f = _refused(path, Limits(max_workbook_bytes=10_000))
    assert f.check_id == "table.too_large" and f.expected == 10_000


def test_external_links_are_refused(programme, tmp_path):
    path = workbook(programme, "soil_threats", {"threats": GOOD_THREATS}, tmp_path)
    link = (b'<?xml version="1.0" encoding="UTF-8"?><externalLink xmlns="http://schemas.openxmlformats.org/'
            b'spreadsheetml/2006/main"><externalBook r:id="rId1" xmlns:r="x"/></externalLink>')
    rewrite_parts(path, lambda name, data: data, {"xl/externalLinks/externalLink1.xml": link})
    f = _refused(path)
    assert f.check_id == "table.links_refused" and "externalLink1.xml" in f.message


def test_xml_entities_are_refused(programme, tmp_path):
    path = workbook(programme, "soil_threats", {"threats": GOOD_THREATS}, tmp_path)
    laughs = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'

    def doctype(name, data):
        return laughs + data.split(b"?>", 1)[-1] if name == "xl/worksheets/sheet2.xml" else data
    rewrite_parts(path, doctype)
    f = _refused(path)
    assert f.check_id == "table.links_refused" and "DOCTYPE" in f.message


def test_old_xls_and_other_files_are_named(tmp_path):
    xls = tmp_path / "VNM_soil_threats.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600 + "Workbook".encode("utf-16-le"))
    assert _refused(xls).check_id == "table.format"
    ods = tmp_path / "VNM_soil_threats.ods"
    with zipfile.ZipFile(ods, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    assert "OpenDocument" in _refused(ods).message
    junk = tmp_path / "VNM_soil_threats.xlsx"
    junk.write_bytes(b"not a workbook at all")
    assert _refused(junk).check_id == "table.format"
    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    assert _refused(empty).check_id == "table.unreadable"


def test_a_zip_that_is_not_a_workbook(tmp_path):
    path = tmp_path / "VNM_soil_threats.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("hello.txt", "hello")
    f = _refused(path)
    assert f.check_id == "table.format" and "xl/workbook.xml" in f.message


def test_too_many_rows(programme, tmp_path):
    path = workbook(programme, "soil_threats", {"threats": GOOD_THREATS}, tmp_path)
    table, findings = read_table_file(path, Limits(max_table_rows=2))
    refused = {f.location.sheet for f in findings if f.check_id == "table.too_large"}
    assert "Soil threats" in refused and "Soil threats" not in table.sheets
