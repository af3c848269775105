"""Hotspot statistics on surfaces with known answers."""

import numpy as np
import pytest

from femli.outputs.metrics import surface_statistics, weighted_quantile


def test_uniform_surface_has_unit_hotspot_index_and_zero_variation():
    stats = surface_statistics(np.full(50, 3.0), np.full(50, 0.1))
    assert stats["hotspot_index"] == pytest.approx(1.0)
    assert stats["coefficient_of_variation"] == pytest.approx(0.0, abs=1e-12)
    assert stats["area_fraction_above_2x_mean"] == 0.0


def test_statistics_are_area_weighted():
    values = np.array([1.0, 5.0])
    weights = np.array([3.0, 1.0])
    stats = surface_statistics(values, weights)
    assert stats["mean_A_m2"] == pytest.approx(2.0)
    assert stats["hotspot_index"] == pytest.approx(2.5)
    assert stats["area_fraction_above_2x_mean"] == pytest.approx(0.25)
    assert stats["coefficient_of_variation"] == pytest.approx(np.sqrt(3.0) / 2.0)


def test_weighted_quantile_of_uniform_samples():
    x = np.linspace(0.0, 1.0, 1001)
    assert weighted_quantile(x, np.ones_like(x), 0.95) == pytest.approx(0.95, abs=2e-3)
