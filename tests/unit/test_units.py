"""Constants and conversions."""

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
