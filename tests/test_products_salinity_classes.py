"""Derived salt-affected soil classes at each threshold (SPEC.md section 2)."""

from __future__ import annotations

import dataclasses

import numpy as np

from atlas.products.salinity_classes import derive_classes, derive_with_programme, sodic_with_low_ph


def test_hand_computed_cases_at_each_threshold():
    ece = np.array([0.0, 3.999, 4.0, 4.001, 3.999, 4.0, 250.0, 2.0])
    esp = np.array([0.0, 14.999, 14.999, 0.0, 15.0, 15.0, 80.0, 15.001])
    # ECe < 4 & ESP < 15 none; ECe >= 4 saline; ESP >= 15 sodic; both saline-sodic
    np.testing.assert_array_equal(derive_classes(ece, esp), [0, 0, 1, 1, 2, 3, 3, 2])


def test_missing_inputs_give_class_nodata():
    ece = np.array([-9999.0, 5.0, np.nan, 5.0], dtype="float32")
    esp = np.array([20.0, -9999.0, 20.0, 20.0], dtype="float32")
    out = derive_classes(ece, esp)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, [255, 255, 255, 3])


def test_thresholds_come_from_the_programme(programme):
    sal = dataclasses.replace(programme.salinity, ece_saline_dsm=8.0, esp_sodic_pct=6.0)
    np.testing.assert_array_equal(derive_with_programme(np.array([5.0, 8.0]), np.array([7.0, 5.9]), sal), [2, 1])


def test_sodic_pixels_with_low_ph_are_counted_for_review():
    classes = np.array([2, 3, 2, 1, 255], dtype="uint8")
    ph = np.array([7.0, 9.0, 8.49, 6.0, 5.0])
    assert sodic_with_low_ph(classes, ph) == 2
