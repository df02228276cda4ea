"""The harmonization report is for people: a map of the mismatched segments, a table by neighbour in plain words,
actions only where a neighbour can act, no internal ids or key→value strings."""

from __future__ import annotations

import re
from html import unescape

import geopandas as gpd
import shapely
from test_borders_edges import halves

from atlas.borders.adjacency import adjacency
from atlas.borders.edges import border_feedback, border_mismatches
from atlas.borders.vector import harmonize_region
from atlas.reports.country_notes import write_country_notes


def test_harmonization_report_by_neighbour_with_the_segments_on_its_map(programme):
    bnd = gpd.GeoDataFrame({"iso3": ["AAA", "BBB", "CCC"], "name": ["Aland", "Bland", "Cland"]},
                           geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1), shapely.box(0, 1, 2, 2)],
                           crs="EPSG:4326")
    maps = {"AAA": halves(0, 1, "CM", "LP"), "BBB": halves(1, 2, "CM", "FL")}  # CCC sends no map
    res = harmonize_region(maps, bnd, programme)
    seg, summary = border_mismatches(res.region, bnd, adjacency(bnd), programme)
    notes = border_feedback(seg, summary)
    paths = write_country_notes(programme, "soil_map", {"AAA": 1}, {"AAA": notes["AAA"] + list(res.findings)},
                                bnd, segments=seg)
    page = unescape(next(p for p in paths if p.suffix == ".html").read_text())
    table = page.split("Your borders, neighbour by neighbour")[1].split("</table>")[0]
    assert "Bland (BBB)" in table and "agree the dominant soil groups along the border with Bland" in table
    assert "Cland (CCC)" in table and "nothing to do: Cland has no map along this border" in table
    assert "border where the soil groups differ (1 segment)" in page  # the segment drawn on the map
    assert "LP Leptosols on your side" in page and "FL Fluvisols on BBB's side" in page
    assert "AAA-BBB#1" not in page and "AAA-BBB" not in page  # no internal segment or pair ids
    assert not re.search(r"\w → \w+;", page)  # no key → value strings
    assert "feature AAA" not in page
    text = next(p for p in paths if p.suffix == ".md").read_text()
    assert "| Cland (CCC) |" in text
    # an action is asked only where a neighbour can act: the border with CCC asks nothing
    actions = re.findall(r"How to fix:</strong> ([^<]*)", page)
    assert actions and all("CCC" not in a and "Cland" not in a for a in actions)
