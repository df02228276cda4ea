"""Salt-affected soil classes derived from ECe and ESP (SPEC.md section 2).

Codes (programme.toml [salinity.classes]): 0 none, 1 saline, 2 sodic,
3 saline-sodic, with saline = ECe >= ece_saline_dsm and sodic = ESP >=
esp_sodic_pct. pH is not part of the rule (the table notes sodic soils
"usually" have pH >= 8.5); it is only used to count sodic pixels whose pH
contradicts that, so a reviewer can look at them.
"""

from __future__ import annotations

import numpy as np

NONE, SALINE, SODIC, SALINE_SODIC = 0, 1, 2, 3
SODIC_PH_USUAL = 8.5


def derive_classes(
    ece: np.ndarray,
    esp: np.ndarray,
    *,
    ece_saline_dsm: float = 4.0,
    esp_sodic_pct: float = 15.0,
    continuous_nodata: float = -9999.0,
    class_nodata: int = 255,
) -> np.ndarray:
    """Class codes (uint8) from ECe (dS/m) and ESP (%); nodata where either input is missing."""
    ece = np.asarray(ece, dtype="float64")
    esp = np.asarray(esp, dtype="float64")
    missing = ~np.isfinite(ece) | ~np.isfinite(esp) | (ece == continuous_nodata) | (esp == continuous_nodata)
    with np.errstate(invalid="ignore"):
        saline = ece >= ece_saline_dsm
        sodic = esp >= esp_sodic_pct
    codes = saline.astype("uint8") * SALINE + sodic.astype("uint8") * SODIC
    codes[missing] = class_nodata
    return codes


def derive_with_programme(ece: np.ndarray, esp: np.ndarray, salinity) -> np.ndarray:
    """derive_classes with the thresholds and nodata of the programme's salinity settings."""
    return derive_classes(
        ece, esp,
        ece_saline_dsm=salinity.ece_saline_dsm,
        esp_sodic_pct=salinity.esp_sodic_pct,
        continuous_nodata=salinity.continuous_nodata,
        class_nodata=salinity.class_nodata,
    )


def sodic_with_low_ph(classes: np.ndarray, ph: np.ndarray, continuous_nodata: float = -9999.0) -> int:
    """How many sodic / saline-sodic pixels have a pH below the usual 8.5 (for review, not a rule)."""
    ph = np.asarray(ph, dtype="float64")
    valid = np.isfinite(ph) & (ph != continuous_nodata)
    sodic = (classes == SODIC) | (classes == SALINE_SODIC)
    return int((sodic & valid & (ph < SODIC_PH_USUAL)).sum())
