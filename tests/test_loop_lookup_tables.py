"""Lookup tables as R's write.table writes them: quoted names (commas inside), malformed lines named."""

from __future__ import annotations

from test_checks_legend import by_id, ranks, submission_checks, tif

from checks.legend import parse_lookup_table

R_TABLE = ('"classcode" "mapvalue"\n1 "ModerateSalinity"\n2 "Aquaculture pond (water mask, not soil)"\n'
           '3 "None"\n')
CSV_TABLE = 'classcode,mapvalue\n1,ModerateSalinity\n2,"Aquaculture pond (water mask, not soil)"\n3,None\n'


def test_r_write_table_with_a_quoted_comma_is_one_code_and_one_name():
    table, problems = parse_lookup_table(R_TABLE)
    assert problems == []
    assert table == {1: "ModerateSalinity", 2: "Aquaculture pond (water mask, not soil)", 3: "None"}
    assert parse_lookup_table('"a" "b"\n4 "Say \\"hi\\""\n\t5\t"Tab, separated"\n')[0][4] == 'Say "hi"'


def test_r_table_gets_the_same_finding_as_the_csv_table(tmp_path, programme):
    """Both spellings of one table say the same: a class name outside the programme legend."""
    seen = []
    for name, text in (("r", R_TABLE), ("csv", CSV_TABLE)):
        folder = tmp_path / name
        folder.mkdir()
        sas = tif(folder / "Saltaffected0_30.tif", ranks() % 3 + 1)
        lut = folder / "saltaffected_LUT0_30.txt"
        lut.write_text(text)
        findings = submission_checks([sas, lut], programme)
        assert not by_id(findings, "naming.text_file_unknown")  # it is a lookup table
        outside = by_id(findings, "legend.class_not_in_programme")
        assert outside and "Aquaculture pond (water mask, not soil)" in outside[0].message
        seen.append(outside[0].message)
    assert seen[0] == seen[1]


def test_a_malformed_line_is_named_by_legend_table_invalid(tmp_path, programme):
    sas = tif(tmp_path / "Saltaffected0_30.tif", ranks() % 2 + 1)
    lut = tmp_path / "saltaffected_LUT0_30.txt"
    lut.write_text('"classcode" "mapvalue"\n1 "ModerateSalinity"\n2 "None"\n3 Strong Salinity here\n')
    findings = submission_checks([sas, lut], programme)
    invalid = by_id(findings, "legend.table_invalid")
    assert invalid and "line 4" in invalid[0].message and "Strong Salinity here" in invalid[0].message
    assert not by_id(findings, "naming.text_file_unknown")


def test_a_table_the_manifest_names_is_read_as_one_even_when_it_is_malformed(tmp_path, programme):
    sas = tif(tmp_path / "classes.tif", ranks() % 2 + 1)
    lut = tmp_path / "my_legend.txt"
    lut.write_text("code name\n1 ModerateSalinity\n2 None extra words\n")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("file,layer,depth,legend\nclasses.tif,SAS,0-30,my_legend.txt\n")
    findings = submission_checks([sas, lut, manifest], programme)
    assert not [f for f in findings if "not a lookup table" in f.message]
    invalid = by_id(findings, "legend.table_invalid")
    assert invalid and "line 3" in invalid[0].message
