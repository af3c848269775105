"""Several reactions on one electrode boundary.

Closed forms (planar electrode, uniform current): two cathodic Tafel reactions at the
interfacial potential difference ``delta`` carry ``i_k = -i0_k exp(-a_k f (delta - E_k))``,
so ``i_1 / i_2 = (i0_1 / i0_2) exp(-a_1 f (delta - E_1) + a_2 f (delta - E_2))`` and, for a
total ``I``, ``delta`` solves ``i_1 + i_2 = I``. Species: in a binary tertiary electrolyte
at steady state both fluxes are uniform, ``N_+ = s_+ i_1 / F`` and ``N_- = s_- i_2 / F``
(a side reaction producing the anion), and Nernst-Planck with electroneutrality gives a
linear profile ``c(0) = c_b + (N_+/D_+ + N_-/D_-) L / 2`` (exact in P1).
"""

from __future__ import annotations

import dolfinx
import numpy as np
import pytest
from mpi4py import MPI
from scipy.optimize import brentq

from femli.growth.solver import GrowthOptions, GrowthSolver
from femli.mesh import from_mesh
from femli.physics.conditions import Bulk, Electrode
from femli.physics.derived import ElectrodeCurrents
from femli.physics.electrolyte import binary
from femli.physics.interface import Reaction
from femli.physics.kinetics import ButlerVolmer, Inert, Tafel
from femli.physics.model import CellModel, ModelError
from femli.solve.stationary import StationarySolver
from femli.units import FARADAY, deposition_velocity

L, C0, D_PLUS, D_MINUS = 10e-6, 1000.0, 1.0e-9, 0.5e-9
I_APPLIED = -40.0  # A/m^2
DEPOSITION = Reaction(Tafel(8.0, 0.5), name="li")
SIDE = Reaction(Tafel(0.004, 0.3), equilibrium_potential=0.6, deposits=False, name="sei")


def interval(cells: int = 40):
    mesh = dolfinx.mesh.create_interval(MPI.COMM_WORLD, cells, [0.0, L])
    return from_mesh(
        mesh, {"left": lambda x: np.isclose(x[0], 0.0), "right": lambda x: np.isclose(x[0], L)}
    )


def node_value(model: CellModel, array: np.ndarray, x: float) -> float:
    """The value of a nodal array at the node at ``x`` (m), from whichever rank has it."""
    at = np.isclose(model.space.tabulate_dof_coordinates()[:, 0], x)
    local = float(array[at][0]) if at.any() else np.inf
    return MPI.COMM_WORLD.allreduce(local, op=MPI.MIN)


def solve(reactions: tuple[Reaction, ...], model: str = "secondary", salt_balance: bool = True):
    kappa = None if model == "concentrated" else 0.4  # (concentrated: the dilute kappa)
    electrolyte = binary(C0, D_PLUS, D_MINUS, model=model, conductivity=kappa)
    electrode = Electrode("li", {"left": reactions}, current_density=I_APPLIED)
    cell = CellModel(
        interval(), electrolyte, [electrode], [Bulk(("right",))], salt_balance=salt_balance
    )
    StationarySolver(cell).solve()
    currents = ElectrodeCurrents(cell)
    delta = cell.potentials["li"].value.item() - node_value(cell, cell.phi.x.array, 0.0)
    return cell, electrode, currents, delta


@pytest.mark.mpi
@pytest.mark.parametrize("model", ["secondary", "concentrated"])
def test_two_tafel_reactions_split_the_current_as_the_closed_form_says(model):
    cell, electrode, currents, delta = solve((DEPOSITION, SIDE), model)
    f = cell.f

    def tafel(r: Reaction, d: float) -> float:
        law = r.kinetics
        return -law.exchange_current * np.exp(-law.alpha * f * (d - electrode.equilibrium(r)))

    exact = brentq(lambda d: tafel(DEPOSITION, d) + tafel(SIDE, d) - I_APPLIED, -2, 2, xtol=1e-15)
    assert delta == pytest.approx(exact, rel=1e-8)
    split = currents.reactions(electrode)  # A/m^2 x unit area in 1D
    assert split["li"] == pytest.approx(tafel(DEPOSITION, exact), rel=1e-8)
    assert split["sei"] == pytest.approx(tafel(SIDE, exact), rel=1e-8)
    ratio = (8.0 / 0.004) * np.exp(-0.5 * f * delta + 0.3 * f * (delta - 0.6))
    assert split["li"] / split["sei"] == pytest.approx(ratio, rel=1e-8)
    assert currents.deposition(electrode) == pytest.approx(split["li"], rel=1e-12)
    assert currents.total(electrode) == pytest.approx(I_APPLIED, rel=1e-8)
    assert 0.5 < split["li"] / I_APPLIED < 0.99  # both reactions matter here


@pytest.mark.parametrize("salt_balance", [True, False])
def test_each_reaction_exchanges_its_own_species(salt_balance):
    """Li+ deposition and a side reaction producing the anion (stoichiometry A- = -1,
    written anodically: A- -> S + e-): the salt profile takes both fluxes."""
    anion = Reaction(Tafel(0.5, 0.5), stoichiometry={"A-": -1.0}, deposits=False, name="anion")
    cell, electrode, currents, _ = solve((DEPOSITION, anion), "tertiary", salt_balance)
    split = currents.reactions(electrode)
    n_plus, n_minus = split["li"] / FARADAY, -split["anion"] / FARADAY
    c_left = C0 + (n_plus / D_PLUS + n_minus / D_MINUS) * L / 2
    assert node_value(cell, cell.unknowns[0].x.array, 0.0) == pytest.approx(c_left, rel=1e-8)
    assert split["anion"] < 0 and split["li"] < 0  # both cathodic


def test_a_bare_law_is_the_one_reaction_femli_always_had():
    """A law, a one-reaction tuple and a stated default stoichiometry give one result."""
    law = ButlerVolmer(10.0, 0.6, 0.4, concentration_dependent=True)
    results = []
    for entry in (law, (Reaction(law),), (Reaction(law, stoichiometry={"Li+": 1.0}),)):
        electrolyte = binary(C0, D_PLUS, D_MINUS)
        e = Electrode("li", {"left": entry}, current_density=I_APPLIED)
        cell = CellModel(interval(), electrolyte, [e], [Bulk(("right",))])
        StationarySolver(cell).solve()
        results.append((cell.potentials["li"].value.item(), cell.unknowns[0].x.array.copy()))
    for potential, c in results[1:]:
        assert potential == pytest.approx(results[0][0], rel=1e-10)
        assert np.allclose(c, results[0][1], rtol=1e-10)


def test_a_reaction_must_conserve_charge_and_name_species():
    electrolyte = binary(C0, D_PLUS, D_MINUS)
    for stoichiometry, words in (({"Li+": 2.0}, "elementary charges"), ({"X": 1.0}, "no species")):
        bad = Reaction(Inert(), stoichiometry=stoichiometry, name="bad")
        e = Electrode("li", {"left": (DEPOSITION, bad)}, potential=-0.1)
        with pytest.raises(ModelError, match=words):
            CellModel(interval(), electrolyte, [e], [Bulk(("right",))])


def test_growth_moves_the_surface_with_the_depositing_reaction_only():
    """Deposition plus an SEI reaction on a planar electrode: the surface advances at the
    Faraday velocity of the deposition current, not of the total."""
    mesh = dolfinx.mesh.create_rectangle(MPI.COMM_WORLD, [[0, 0], [L, L]], [8, 16])
    domain = from_mesh(
        mesh,
        {"bulk": lambda x: np.isclose(x[1], L), "electrode": lambda x: np.isclose(x[1], 0.0)},
    )
    electrolyte = binary(C0, D_PLUS, D_MINUS, model="secondary", conductivity=0.4)
    electrode = Electrode("li", {"electrode": (DEPOSITION, SIDE)}, current_density=I_APPLIED)
    cell = CellModel(domain, electrolyte, [electrode], [Bulk(("bulk",))])
    growth = GrowthSolver(cell, GrowthOptions(t_end=30.0, max_displacement=0.1e-6))
    final = growth.run()[-1]
    deposition = growth.currents.deposition(electrode) / L  # A/m^2
    assert 0.5 < deposition / I_APPLIED < 0.95
    assert final["mean_height"] == pytest.approx(deposition_velocity(-deposition) * 30.0, rel=1e-8)
