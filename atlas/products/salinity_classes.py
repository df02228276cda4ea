"""Salt-affected soil severity classes derived from ECe, ESP and pH (SPEC.md section 2).

The classes are those of ``soilassessment`` 1.3 (``saltSeverity``; names from ``classCode(..., "saltseverity")``),
coded by the programme legend (``[salinity.classes]``, codes 1-13 by default). Rules, with a value at a
threshold in the higher class (the package tests ``ec < 4``, so ECe = 4 is saline):

- ECe >= ``ece_saline_dsm`` and ESP >= ``esp_sodic_pct``: Saline-sodic;
- ESP >= ``esp_sodic_pct`` (ECe below): sodicity by ESP (Abrol: 15-30 slight, 30-50 moderate, 50-70 strong,
  >= 70 very strong);
- otherwise, with the FAO criterion, pH >= the FAO cut (8.2) and ECe below the saline threshold: Alkaline;
- otherwise salinity intensity by ECe: FAO 2008 (< 0.75 none, 0.75-2 slight, 2-4 moderate, 4-8 strong, 8-15 very
  strong, >= 15 extreme) or USDA (< 2, 2-4, 4-8, 8-16, >= 16; no extreme class, no alkaline type).

Sodicity is read from ESP whatever the pH (Richards' "pH usually above 8.5" is a tendency, not a test); sodic
pixels with a low pH are counted for review (``sodic_with_low_ph``). Pixels missing ECe or ESP are nodata; a pixel
missing only pH is classed without the alkaline test. These classes are *derived*: they are written apart from the
classes countries deliver.
"""

from __future__ import annotations

import numpy as np

SEVERITY_CLASSES = ("None", "SlightSalinity", "ModerateSalinity", "StrongSalinity", "VeryStrongSalinity",
                    "ExtremeSalinity", "SlightSodicity", "ModerateSodicity", "StrongSodicity", "VeryStrongSodicity",
                    "Alkaline", "Saline-sodic", "NotClassified")
DEFAULT_LEGEND = {i + 1: name for i, name in enumerate(SEVERITY_CLASSES)}
SALINITY_NAMES = SEVERITY_CLASSES[:6]
SODICITY_NAMES = SEVERITY_CLASSES[6:10]
FAO_ECE_DSM = (0.75, 2.0, 4.0, 8.0, 15.0)
USDA_ECE_DSM = (2.0, 4.0, 8.0, 16.0)
ESP_PCT = (15.0, 30.0, 50.0, 70.0)
PH_CUT = {"FAO": 8.2, "USDA": 8.5}


def _code(legend: dict[int, str], name: str) -> int:
    from atlas.config import class_key

    for code, label in legend.items():
        if class_key(label) == class_key(name):
            return code
    raise ValueError(f"class {name!r} is not in the programme legend {sorted(legend.values())}")


def _valid(values: np.ndarray, nodata: float) -> np.ndarray:
    return np.isfinite(values) & (values != nodata)


def derive_classes(
    ece: np.ndarray,
    esp: np.ndarray,
    ph: np.ndarray | None = None,
    *,
    criterion: str = "FAO",
    ece_saline_dsm: float = 4.0,
    esp_sodic_pct: float = 15.0,
    ph_cut: float | None = None,
    ece_intensity_dsm: tuple[float, ...] | None = None,
    esp_intensity_pct: tuple[float, ...] = ESP_PCT,
    legend: dict[int, str] | None = None,
    continuous_nodata: float = -9999.0,
    class_nodata: int = 255,
) -> np.ndarray:
    """Severity class codes (uint8, programme legend) from ECe (dS/m), ESP (%) and optionally pH."""
    if criterion not in PH_CUT:
        raise ValueError(f"criterion {criterion!r}: expected one of {sorted(PH_CUT)}")
    legend = legend or DEFAULT_LEGEND
    ece = np.asarray(ece, dtype="float64")
    esp = np.asarray(esp, dtype="float64")
    thresholds = ece_intensity_dsm or (FAO_ECE_DSM if criterion == "FAO" else USDA_ECE_DSM)
    salinity_codes = np.array([_code(legend, n) for n in SALINITY_NAMES[:len(thresholds) + 1]], dtype="uint8")
    sodicity_codes = np.array([_code(legend, n) for n in SODICITY_NAMES[:len(esp_intensity_pct)]], dtype="uint8")
    present = _valid(ece, continuous_nodata) & _valid(esp, continuous_nodata)
    with np.errstate(invalid="ignore"):
        saline = ece >= ece_saline_dsm
        sodic = esp >= esp_sodic_pct
        # searchsorted(side="right"): a value equal to a threshold goes to the class above it
        codes = salinity_codes[np.searchsorted(thresholds, np.where(present, ece, 0.0), side="right")]
        if criterion == "FAO" and ph is not None:
            ph = np.asarray(ph, dtype="float64")
            cut = PH_CUT["FAO"] if ph_cut is None else ph_cut
            alkaline = _valid(ph, continuous_nodata) & (ph >= cut) & ~saline & ~sodic
            codes = np.where(alkaline, _code(legend, "Alkaline"), codes)
        level = np.clip(np.searchsorted(esp_intensity_pct, np.where(present, esp, 0.0), side="right") - 1, 0, None)
        codes = np.where(sodic & ~saline, sodicity_codes[np.clip(level, 0, len(sodicity_codes) - 1)], codes)
        codes = np.where(sodic & saline, _code(legend, "Saline-sodic"), codes)
    codes = codes.astype("uint8")
    codes[~present] = class_nodata
    return codes


def derive_with_programme(ece: np.ndarray, esp: np.ndarray, salinity, ph: np.ndarray | None = None) -> np.ndarray:
    """derive_classes with the criterion, thresholds, legend and nodata of the programme's salinity settings."""
    return derive_classes(
        ece, esp, ph,
        criterion=salinity.criterion,
        ece_saline_dsm=salinity.ece_saline_dsm,
        esp_sodic_pct=salinity.esp_sodic_pct,
        ph_cut=salinity.ph_cut.get(salinity.criterion),
        ece_intensity_dsm=tuple(salinity.ece_intensity_dsm[salinity.criterion]),
        esp_intensity_pct=tuple(salinity.esp_intensity_pct),
        legend=salinity.classes,
        continuous_nodata=salinity.continuous_nodata,
        class_nodata=salinity.class_nodata,
    )


def sodic_with_low_ph(classes: np.ndarray, ph: np.ndarray, continuous_nodata: float = -9999.0,
                      legend: dict[int, str] | None = None, ph_usual: float = PH_CUT["USDA"]) -> int:
    """How many sodic / saline-sodic pixels have a pH below the usual 8.5 (for review, not a rule)."""
    legend = legend or DEFAULT_LEGEND
    ph = np.asarray(ph, dtype="float64")
    sodic_codes = [_code(legend, n) for n in (*SODICITY_NAMES, "Saline-sodic")]
    sodic = np.isin(classes, sodic_codes)
    return int((sodic & _valid(ph, continuous_nodata) & (ph < ph_usual)).sum())
