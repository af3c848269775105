"""Kinetics laws evaluated on numbers."""

import numpy as np
import pytest

from femli.physics.kinetics import ButlerVolmer, Inert, Linear, Tafel

F_RT = 38.92


def test_butler_volmer_is_zero_at_equilibrium_and_asymmetric():
    bv = ButlerVolmer(30.0, 1.5, 0.5)
    assert bv.current(0.0, F_RT) == 0.0
    eta = 0.01
    expected = 30.0 * (np.exp(1.5 * F_RT * eta) - np.exp(-0.5 * F_RT * eta))
    assert bv.current(eta, F_RT) == pytest.approx(expected)


def test_concentration_factor_scales_only_the_cathodic_branch():
    bv = ButlerVolmer(10.0, 0.5, 0.5, concentration_dependent=True)
    assert bv.current(0.0, F_RT, 0.5) == pytest.approx(10.0 * (1 - 0.5))
    assert ButlerVolmer(10.0).current(0.0, F_RT, 0.5) == 0.0


def test_linear_is_the_small_overpotential_limit():
    bv, lin = ButlerVolmer(5.0, 0.7, 0.4), Linear(5.0, 0.7, 0.4)
    eta = 1e-5
    assert lin.current(eta, F_RT) == pytest.approx(bv.current(eta, F_RT), rel=1e-3)
    assert lin.charge_transfer_resistance(F_RT) == pytest.approx(1 / (5.0 * 1.1 * F_RT))


def test_tafel_and_inert():
    assert Tafel(2.0, 0.5).current(-0.1, F_RT) == pytest.approx(-2.0 * np.exp(0.05 * F_RT))
    assert Tafel(2.0, 0.5, "anodic").current(0.1, F_RT) > 0
    assert Inert().current(0.3, F_RT) == 0.0


@pytest.mark.parametrize("bad", [{"exchange_current": 0.0}, {"alpha_a": 0.0}, {"alpha_c": -1}])
def test_invalid_parameters_are_rejected(bad):
    args = {"exchange_current": 1.0} | bad
    with pytest.raises(ValueError):
        ButlerVolmer(**args)
