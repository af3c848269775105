"""The Newton convergence test on the scaled step (femli.solve.acceptance.StepTest),
driven with hand-made iterates: what it accepts, what it refuses, when it gives up."""

from __future__ import annotations

import pytest
from mpi4py import MPI
from petsc4py import PETSc

from femli.solve.acceptance import INEXACT_FLOOR, StepTest

#: two fields of two entries each: a concentration (scale 1000 mol/m3), a potential
#: (scale RT/F ~ 0.0257 V)
SCALES = (1000.0, 0.0257)


class Iterates:
    """A stand-in for SNES: the iterate x and the Newton direction Y (x_new = x - lam Y)."""

    def __init__(self) -> None:
        self.x = PETSc.Vec().createSeq(4, comm=PETSc.COMM_SELF)
        self.y = self.x.duplicate()
        self.x.setArray([1000.0, 1000.0, 0.0, 0.0])

    def getSolution(self):  # the SNES method names
        return self.x

    def getSolutionUpdate(self):
        return self.y

    def step(self, direction, lam: float = 1.0) -> None:
        self.y.setArray(direction)
        self.x.axpy(-lam, self.y)


def new_test(**kwargs) -> tuple[StepTest, Iterates]:
    test = StepTest([2, 2], SCALES, MPI.COMM_SELF, **kwargs)
    snes = Iterates()
    assert test(snes, 0, (0.0, 0.0, 1.0e12)) == 0  # the first residual, however large
    return test, snes


def test_a_huge_residual_drop_after_a_large_step_is_not_convergence():
    """The false convergence of issue 15: one step from 7.8e12 to 13.9 passed rtol=1e-10."""
    test, snes = new_test()
    snes.step([0.0, -9000.0, 2.0, 0.0])  # c moved by 9 c_ref, phi by 2 V
    assert test(snes, 1, (0.0, 0.0, 13.9)) == 0


def test_a_small_full_step_with_the_residual_reduced_converges():
    test, snes = new_test()
    snes.step([1e-3, 0.0, 0.0, 1e-9])  # 1e-6 c_ref, 4e-8 RT/F
    assert test(snes, 1, (0.0, 0.0, 1.0e3)) == 0  # residual above 1e-10 of the first
    snes.step([1e-6, 0.0, 0.0, 1e-12])  # contraction 1e-3: quadratic, error ~1e-15
    assert test(snes, 2, (0.0, 0.0, 1.0e3)) == 4  # the step estimate alone
    assert test.error == pytest.approx(1e-15, rel=1e-2)  # INEXACT_FLOOR x the step


def test_the_error_estimate_is_quadratic_once_steps_shrink_a_hundredfold():
    """The tertiary benchmark's Newton steps (scaled) 3.2e-2, 2.6e-5, 7.9e-12: the
    second iterate's error (the third step) is 8e-12; the linear-rate bound said 2e-8
    and cost a Newton step."""
    test, snes = new_test()
    snes.step([32.0, 0.0, 0.0, 0.0])  # 3.2e-2 c_ref
    assert test(snes, 1, (0.0, 0.0, 1.0)) == 0
    snes.step([2.6e-2, 0.0, 0.0, 0.0])  # 2.6e-5: theta 8.1e-4
    assert test(snes, 2, (0.0, 0.0, 1.0)) == 4
    assert test.error == pytest.approx(2.6e-11, rel=1e-2)  # max(theta^2, 1e-6) x 2.6e-5
    # theta above QUADRATIC_THETA: the linear-rate bound theta / (1 - theta) x the step
    test, snes = new_test()
    snes.step([1.0, 0.0, 0.0, 0.0])  # 1e-3
    assert test(snes, 1, (0.0, 0.0, 1.0)) == 0
    snes.step([2e-2, 0.0, 0.0, 0.0])  # 2e-5: theta 0.02
    assert test(snes, 2, (0.0, 0.0, 1.0)) == 0
    assert test.error == pytest.approx(0.02 / 0.98 * 2e-5, rel=1e-9)
    # a damped step in between: no contraction estimate at all
    test, snes = new_test()
    snes.step([32.0, 0.0, 0.0, 0.0], lam=0.5)
    assert test(snes, 1, (0.0, 0.0, 1.0)) == 0
    snes.step([2.6e-2, 0.0, 0.0, 0.0])
    assert test(snes, 2, (0.0, 0.0, 1.0)) == 0
    assert test.error == pytest.approx(2.6e-5, rel=1e-9)


def test_a_chord_step_contracts_linearly():
    """A step with the Jacobian of an earlier iterate (Newton.chord) gets the linear
    bound theta / (1 - theta) x the step, not the quadratic one."""
    errors = []
    for built_at in (None, 1, 0):  # every step / at the iterate before / two before
        test, snes = new_test()
        test.jacobian_at = None if built_at is None else 0
        snes.step([32.0, 0.0, 0.0, 0.0])  # 3.2e-2 c_ref
        assert test(snes, 1, (0.0, 0.0, 1.0)) == 0
        test.jacobian_at = built_at
        snes.step([2.6e-2, 0.0, 0.0, 0.0])  # 2.6e-5: theta 8.1e-4
        test(snes, 2, (0.0, 0.0, 1.0))
        errors.append(test.error)
    theta = 2.6e-5 / 3.2e-2
    quadratic = max(theta * theta, INEXACT_FLOOR) * 2.6e-5
    assert errors[0] == errors[1] == pytest.approx(quadratic, rel=1e-9)
    assert errors[2] == pytest.approx(theta / (1 - theta) * 2.6e-5, rel=1e-9)


def test_the_residual_exit_needs_a_full_small_step():
    test, snes = new_test(rtol=1e-10, guard=1e-5)
    snes.step([5e-3, 0.0, 0.0, 0.0], lam=1.0)  # 5e-6 c_ref: within the guard
    assert test(snes, 1, (0.0, 0.0, 50.0)) == 3  # 50 <= 1e-10 x 1e12
    test, snes = new_test(rtol=1e-10, guard=1e-5)
    snes.step([5e-3, 0.0, 0.0, 0.0], lam=0.5)  # damped: no contraction estimate
    assert test(snes, 1, (0.0, 0.0, 50.0)) == 0


def test_open_balances_keep_newton_going_then_the_step_limit_stops_it():
    closed = [False]
    test, snes = new_test(max_it=3, closed=lambda: closed[0])
    for it in (1, 2):
        snes.step([1e-12, 0.0, 0.0, 0.0])
        assert test(snes, it, (0.0, 0.0, 1.0)) == 0
    snes.step([1e-12, 0.0, 0.0, 0.0])
    assert test(snes, 3, (0.0, 0.0, 1.0)) == -5  # DIVERGED_MAX_IT
    closed[0] = True
    snes.step([1e-12, 0.0, 0.0, 0.0])
    assert test(snes, 3, (0.0, 0.0, 1.0)) == 4


def test_a_crawling_line_search_is_a_failure_and_nan_diverges():
    test, snes = new_test()
    reasons = []
    for it in (1, 2, 3):
        snes.step([100.0, 0.0, 0.0, 0.0], lam=1e-5)  # moves 1e-5 of the direction
        reasons.append(test(snes, it, (0.0, 0.0, 1.0e12)))
    assert reasons == [0, 0, -6]  # DIVERGED_LINE_SEARCH after three in a row
    assert test(snes, 4, (0.0, 0.0, float("nan"))) == -4


@pytest.mark.parametrize("scales", [(1.0,), (1.0, 0.0)])
def test_one_positive_scale_per_field(scales):
    with pytest.raises(ValueError, match="one positive scale per field"):
        StepTest([2, 2], scales, MPI.COMM_SELF)


def test_scaled_max_measures_each_field_in_its_unit():
    test = StepTest([2, 2], SCALES, MPI.COMM_SELF)
    vec = PETSc.Vec().createSeq(4, comm=PETSc.COMM_SELF)
    vec.setArray([10.0, -20.0, 0.0, 0.0257e-3])
    assert test.scaled_max(vec) == pytest.approx(0.02)
    vec.setArray([0.0, 0.0, 0.0, -0.0257])
    assert test.scaled_max(vec) == pytest.approx(1.0)
