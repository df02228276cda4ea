"""Where a country's delivered class map and its own ECe/ESP/pH disagree (SPEC §2, issue 12 point 4).

On the harmonized national copies (same grid, delivered classes already on the programme legend) the classes
are derived again from ECe, ESP and pH with the programme's criterion; for each delivered class the pixels whose
derived class differs are summed as km² (true pixel areas, ``area_stats.row_areas_km2``) and as a share.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import rasterio
from rasterio.windows import Window

from atlas.atomic import write_atomic
from atlas.cells import safe_records
from atlas.config import display_name
from atlas.finding import Finding, Location, Severity
from atlas.products.area_stats import row_areas_km2
from atlas.products.salinity_classes import derive_with_programme

STRIP_ROWS = 512
TABLE = "class_consistency.csv"


def _same_grid(paths: list[Path]) -> bool:
    grids = []
    for path in paths:
        with rasterio.open(path) as src:
            grids.append((src.crs, tuple(src.transform), src.width, src.height))
    return all(g == grids[0] for g in grids)


def disagreement(sas: Path, ece: Path, esp: Path, ph: Path | None, programme) -> dict[int, tuple[float, float]]:
    """Delivered class code -> (km² delivered, km² where the derived class differs), read strip by strip."""
    sal = programme.salinity
    totals: dict[int, list[float]] = {}
    with rasterio.open(sas) as s_src, rasterio.open(ece) as e_src, rasterio.open(esp) as p_src:
        ph_src = rasterio.open(ph) if ph is not None else None
        try:
            areas = row_areas_km2(s_src.transform, s_src.height, programme.equal_area_crs, s_src.crs.to_string())
            for row in range(0, s_src.height, STRIP_ROWS):
                win = Window(0, row, s_src.width, min(STRIP_ROWS, s_src.height - row))
                delivered = s_src.read(1, window=win)
                derived = derive_with_programme(e_src.read(1, window=win), p_src.read(1, window=win), sal,
                                                ph_src.read(1, window=win) if ph_src is not None else None)
                both = (delivered != sal.class_nodata) & (derived != sal.class_nodata)
                weight = np.broadcast_to(areas[row:row + win.height, None], delivered.shape)
                for code in np.unique(delivered[both]).tolist():
                    here = both & (delivered == code)
                    entry = totals.setdefault(int(code), [0.0, 0.0])
                    entry[0] += float(weight[here].sum())
                    entry[1] += float(weight[here & (derived != code)].sum())
        finally:
            if ph_src is not None:
                ph_src.close()
    return {code: (total, off) for code, (total, off) in sorted(totals.items())}


def _share(part: float, total: float) -> str:
    """A share in words: never "0%" for an area that exists."""
    share = part / total if total else 0.0
    return "under 1%" if 0 < share < 0.005 else f"{share:.0%}"


def class_disagreement(layers: dict[tuple[str, str], Path], programme, out_dir: Path) -> list[Finding]:
    """One finding per depth where the class map and ECe/ESP were both delivered, and a CSV of the figures."""
    sal = programme.salinity
    findings: list[Finding] = []
    rows = []
    for depth in sal.depths:
        sas, ece, esp = (layers.get((name, depth)) for name in (sal.class_layer, "ECe", "ESP"))
        if sas is None or ece is None or esp is None:
            continue
        ph = layers.get(("pH", depth))
        paths = [p for p in (sas, ece, esp, ph) if p is not None]
        loc = Location(file=Path(sas).name, layer=f"{sal.class_layer} {depth}")
        if not _same_grid(paths):
            findings.append(Finding("consistency.not_compared", Severity.INFO,
                                    f"class map and ECe/ESP of depth {depth} cover different extents: not compared",
                                    loc))
            continue
        table = disagreement(sas, ece, esp, ph, programme)
        per_class = {}
        for code, (total, off) in table.items():
            name = sal.classes.get(code, str(code))
            share = off / total if total else 0.0
            per_class[display_name(name)] = {"km2": round(total, 1), "disagree_km2": round(off, 1),
                                             "share": round(share, 4)}
            rows.append({"depth": depth, "class_code": code, "class_name": name, "area_km2": round(total, 3),
                         "disagree_km2": round(off, 3), "share": round(share, 4)})
        total = sum(t for t, _ in table.values())
        off = sum(o for _, o in table.values())
        worst = ", ".join(f"{n} {v['disagree_km2']:,.0f} km² ({v['share']:.0%})" for n, v in
                          sorted(per_class.items(), key=lambda kv: -kv[1]["disagree_km2"])[:3]
                          if v["disagree_km2"] >= 0.5)
        derived = f"derived from ECe/ESP{'/pH' if ph else ''} ({sal.criterion} criterion)"
        text = (f"depth {depth}: the delivered classes differ from those {derived} on {off:,.0f} of {total:,.0f} "
                f"km² ({_share(off, total)}); most in {worst}" if worst else
                f"depth {depth}: the delivered classes agree with those {derived} on all {total:,.0f} km²")
        findings.append(Finding(
            "consistency.class_vs_properties", Severity.INFO, text, loc, observed=per_class,
            expected=f"derived classes, {sal.criterion}",
            hint="check the class map against the property maps it should follow; the figures are in "
                 f"{TABLE}"))
    if rows:
        write_atomic(Path(out_dir) / TABLE, lambda tmp: _write_csv(tmp, rows))
    return findings


def _write_csv(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(safe_records(rows))  # legend text never runs as a formula
