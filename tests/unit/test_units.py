"""Constants and conversions."""

import numpy as np
import pytest

from femli import units


def test_deposition_velocity_one_ma_per_cm2_is_4_85_um_per_hour():
    v = units.deposition_velocity(units.ma_per_cm2(1.0))
    assert units.to_um(v * 3600.0) == pytest.approx(4.85, abs=0.005)


def test_thermal_voltage_at_298_15_k():
    assert units.thermal_voltage() == pytest.approx(0.025693, rel=1e-4)


def test_length_scaling_round_trip():
    assert units.to_um(units.um(3.5)) == pytest.approx(3.5)
    assert units.um(1.0) == 1e-6


def test_areas_volumes_and_arrays_cross_with_the_same_scale():
    """um() and to_um() are the one crossing: powers for areas and volumes, arrays too."""
    assert units.um(2.0, 2) == pytest.approx(2.0e-12, rel=1e-15)
    assert units.to_um(3.0e-18, 3) == pytest.approx(3.0, rel=1e-15)
    coords = np.array([[0.5e-6, 1.5e-6], [2.0e-6, 0.0]])
    np.testing.assert_allclose(units.to_um(coords), [[0.5, 1.5], [2.0, 0.0]], rtol=1e-15)
    np.testing.assert_allclose(units.um(units.to_um(coords)), coords, rtol=1e-15)
