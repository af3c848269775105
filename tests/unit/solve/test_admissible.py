"""The admissibility check of converged states (femli.solve.acceptance.StateCheck):
a solved state passes; non-finite values, negative concentrations (solved or eliminated
by electroneutrality) and open balances are named."""

from __future__ import annotations

import numpy as np
import pytest
from mpi4py import MPI

from femli.mesh import build_domain
from femli.physics.conditions import Bulk, Electrode
from femli.physics.electrolyte import Electrolyte, Species, binary
from femli.physics.kinetics import ButlerVolmer
from femli.physics.model import CellModel
from femli.solve.acceptance import StateCheck
from femli.solve.newton import Newton


@pytest.fixture(scope="module")
def domain():
    return build_domain("box", MPI.COMM_WORLD, dim=2, h_far=1.0, h_electrode=0.25)[0]


def solved(domain, electrolyte=None) -> tuple[CellModel, Newton]:
    law = ButlerVolmer(30.0, 0.5, 0.5, concentration_dependent=True)
    electrode = Electrode("li", {"electrode": law}, potential=-0.1)
    electrolyte = electrolyte or binary(1000.0, 5e-10, 5e-10)
    model = CellModel(domain, electrolyte, [electrode], [Bulk(("bulk",))])
    model.set_potential(electrode, -0.1)
    newton = Newton(model, "direct")
    assert newton.solve(), newton.failure
    return model, newton


def interior(model) -> np.ndarray:
    """Local dofs not on any Dirichlet condition (owned)."""
    owned = model.space.dofmap.index_map.size_local
    fixed = np.concatenate([bc.dof_indices()[0] for bc in model.bcs])
    return np.setdiff1d(np.arange(owned), fixed)


@pytest.mark.mpi
def test_a_solved_state_passes_and_its_balances_close(domain):
    _, newton = solved(domain)
    assert newton.check() is None and newton.check.closed()
    for name, defect, throughput in newton.check.defects():
        assert abs(defect) <= 1e-9 * throughput, name


@pytest.mark.mpi
def test_non_finite_and_negative_values_are_named(domain):
    model, newton = solved(domain)
    c = model.unknowns[0]
    keep = c.x.array.copy()
    free = interior(model)
    if MPI.COMM_WORLD.rank == 0 and free.size:
        c.x.array[free[0]] = -5.0
    assert newton.check() == "the Li+ concentration is negative (min -5 mol/m^3)"
    if MPI.COMM_WORLD.rank == 0 and free.size:
        c.x.array[free[0]] = np.nan
    assert newton.check() == "the solution holds non-finite values"
    c.x.array[:] = keep
    assert newton.check() is None


@pytest.mark.mpi
def test_an_unbalanced_state_is_named(domain):
    """A potential error of 1e-4 V inside the electrolyte: the charge does not balance."""
    model, newton = solved(domain)
    model.phi.x.array[interior(model)] += 1e-4
    problem = newton.check()
    assert problem is not None and "balance does not close" in problem
    assert not newton.check.closed()


def test_the_eliminated_species_must_stay_non_negative(domain):
    """Three species, the last one eliminated by electroneutrality: c_Na = c_TFSI - c_Li
    goes negative where c_TFSI < c_Li, although both solved ones are >= 0."""
    species = (
        Species("Li+", 1, 5e-10, 1000.0),
        Species("TFSI-", -1, 5e-10, 1100.0),
        Species("Na+", 1, 5e-10, 100.0),
    )
    model, _ = solved(domain, Electrolyte(species, model="tertiary"))
    check = StateCheck(model, [dolfin_form(f) for f in model.residual], model.unknowns, model.bcs)
    assert check() is None
    model.unknowns[1].x.array[:] = 500.0  # fewer anions than Li+: Na+ would be negative
    assert check() == "the Na+ concentration is negative (min -500 mol/m^3)"


def dolfin_form(form):
    import dolfinx

    return dolfinx.fem.form(form)


@pytest.mark.mpi
@pytest.mark.parametrize("preset", ["direct", "iterative"])
def test_the_balances_are_assembled_once_at_the_converged_state(domain, preset):
    """The convergence test finds the balances closed on the accepted iterate; the final
    admissibility check then checks values only (not the same balances again). A check
    on a state the test did not judge assembles them."""
    law = ButlerVolmer(30.0, 0.5, 0.5, concentration_dependent=True)
    electrode = Electrode("li", {"electrode": law}, potential=-0.1)
    model = CellModel(domain, binary(1000.0, 5e-10, 5e-10), [electrode], [Bulk(("bulk",))])
    model.set_potential(electrode, -0.1)
    newton = Newton(model, preset)
    assert newton.check is not None and newton.test is not None
    calls = {"defects": 0, "closed": 0}
    defects, closed = newton.check.defects, newton.check.closed

    def counted_defects():
        calls["defects"] += 1
        return defects()

    def counted_closed():
        calls["closed"] += 1
        return closed()

    newton.check.defects = counted_defects  # type: ignore[method-assign]
    newton.test.closed = counted_closed
    assert newton.solve(), newton.failure
    assert calls["closed"] >= 1 and newton.test.closed_at is not None
    assert calls["defects"] == calls["closed"]  # none more for the final check
    model.phi.x.array[interior(model)] += 1e-4  # a state no test has seen
    assert "balance does not close" in (newton.check() or "")
    assert calls["defects"] == calls["closed"] + 1
