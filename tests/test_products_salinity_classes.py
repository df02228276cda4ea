"""Derived salt-affected severity classes at each threshold (SPEC.md section 2)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from atlas.products.salinity_classes import DEFAULT_LEGEND, derive_classes, derive_with_programme, sodic_with_low_ph

CODE = {name: code for code, name in DEFAULT_LEGEND.items()}


def names(codes):
    return [DEFAULT_LEGEND.get(int(c), "nodata") for c in codes]


def test_programme_legend_is_the_soilassessment_severity_legend(programme):
    assert programme.salinity.classes == DEFAULT_LEGEND
    assert programme.salinity.classes[1] == "None" and programme.salinity.classes[13] == "NotClassified"


def test_fao_ece_intensity_value_at_threshold_belongs_to_the_higher_class():
    ece = np.array([0.0, 0.7499, 0.75, 1.99, 2.0, 3.999, 4.0, 7.99, 8.0, 14.99, 15.0, 250.0])
    esp = np.zeros_like(ece)
    assert names(derive_classes(ece, esp)) == [
        "None", "None", "SlightSalinity", "SlightSalinity", "ModerateSalinity", "ModerateSalinity",
        "StrongSalinity", "StrongSalinity", "VeryStrongSalinity", "VeryStrongSalinity", "ExtremeSalinity",
        "ExtremeSalinity"]


def test_usda_ece_intensity_has_no_extreme_class_and_no_alkaline_type():
    ece = np.array([1.99, 2.0, 4.0, 8.0, 16.0, 1.0])
    ph = np.array([7.0, 7.0, 7.0, 7.0, 7.0, 9.0])
    assert names(derive_classes(ece, np.zeros_like(ece), ph, criterion="USDA")) == [
        "None", "SlightSalinity", "ModerateSalinity", "StrongSalinity", "VeryStrongSalinity", "None"]


def test_sodicity_by_esp_and_saline_sodic_where_both():
    ece = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 4.0, 3.999])
    esp = np.array([14.999, 15.0, 30.0, 50.0, 70.0, 15.0, 15.0])
    assert names(derive_classes(ece, esp)) == [
        "SlightSalinity", "SlightSodicity", "ModerateSodicity", "StrongSodicity", "VeryStrongSodicity",
        "Saline-sodic", "SlightSodicity"]


def test_fao_alkaline_at_ph_8_2_without_high_ece_or_esp():
    ece = np.array([1.0, 1.0, 5.0, 1.0])
    esp = np.array([5.0, 5.0, 5.0, 20.0])
    ph = np.array([8.19, 8.2, 9.0, 9.0])
    assert names(derive_classes(ece, esp, ph)) == ["SlightSalinity", "Alkaline", "StrongSalinity", "SlightSodicity"]


def test_missing_inputs_give_class_nodata_and_missing_ph_skips_only_the_alkaline_test():
    ece = np.array([-9999.0, 5.0, np.nan, 5.0, 1.0], dtype="float32")
    esp = np.array([20.0, -9999.0, 20.0, 20.0, 1.0], dtype="float32")
    ph = np.array([9.0, 9.0, 9.0, 9.0, -9999.0], dtype="float32")
    out = derive_classes(ece, esp, ph)
    assert out.dtype == np.uint8
    assert names(out) == ["nodata", "nodata", "nodata", "Saline-sodic", "SlightSalinity"]


def test_thresholds_and_criterion_come_from_the_programme(programme):
    sal = dataclasses.replace(programme.salinity, ece_saline_dsm=8.0, esp_sodic_pct=6.0, criterion="USDA")
    out = derive_with_programme(np.array([5.0, 8.0]), np.array([7.0, 5.9]), sal, np.array([9.0, 9.0]))
    assert names(out) == ["SlightSodicity", "StrongSalinity"]


def test_unknown_criterion_is_refused():
    with pytest.raises(ValueError, match="criterion"):
        derive_classes(np.array([1.0]), np.array([1.0]), criterion="Amrhein")


def test_sodic_pixels_with_low_ph_are_counted_for_review():
    classes = np.array([CODE["SlightSodicity"], CODE["Saline-sodic"], CODE["StrongSodicity"], CODE["None"], 255],
                       dtype="uint8")
    ph = np.array([7.0, 9.0, 8.49, 6.0, 5.0])
    assert sodic_with_low_ph(classes, ph) == 2
