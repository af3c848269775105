"""1D binary electrolyte between two Li electrodes at steady state (closed cell).

Closed form (dilute Nernst-Planck, blocked anion): linear c(x) with slope
-i/(2 F D+), phi = (RT/F) ln c + const, limiting current
i_lim = 2 F D_s c0 / ((1 - t+) L) = 4 F D+ c0 / L, and a cell voltage that adds both
Butler-Volmer overpotentials (with the concentration factor) to the electrolyte drop
(RT/F) ln(c_R / c_L), which holds the ohmic and concentration overpotentials.
"""

from __future__ import annotations

import dolfinx
import numpy as np
import pytest
from mpi4py import MPI
from scipy.optimize import brentq

from femli.mesh import from_mesh
from femli.physics.conditions import Electrode
from femli.physics.electrolyte import binary
from femli.physics.kinetics import ButlerVolmer
from femli.physics.model import CellModel
from femli.solve.stationary import StationarySolver
from femli.units import FARADAY

L, C0, D_PLUS, D_MINUS = 10e-6, 1000.0, 1.0e-9, 0.5e-9
KINETICS = ButlerVolmer(20.0, 0.6, 0.4, concentration_dependent=True)


def limiting_current() -> float:
    """i_lim = 2 F D_s c0 / ((1 - t+) L) with the ambipolar D_s and t+ of the salt."""
    d_salt = 2 * D_PLUS * D_MINUS / (D_PLUS + D_MINUS)
    t_plus = D_PLUS / (D_PLUS + D_MINUS)
    return 2 * FARADAY * d_salt * C0 / ((1 - t_plus) * L)


def solve_cell(i_applied: float, cells: int = 200):
    mesh = dolfinx.mesh.create_interval(MPI.COMM_WORLD, cells, [0.0, L])
    domain = from_mesh(
        mesh, {"left": lambda x: np.isclose(x[0], 0.0), "right": lambda x: np.isclose(x[0], L)}
    )
    electrolyte = binary(C0, D_PLUS, D_MINUS)
    anode = Electrode("anode", {"left": KINETICS}, potential=0.0)
    cathode = Electrode("cathode", {"right": KINETICS}, current_density=-i_applied)
    model = CellModel(domain, electrolyte, [anode, cathode])
    solver = StationarySolver(model)
    solver.solve()
    return model, solver, cathode


def closed_form(i: float, f: float) -> dict:
    c_left = C0 + i * L / (4 * FARADAY * D_PLUS)
    c_right = C0 - i * L / (4 * FARADAY * D_PLUS)

    def eta(target, c):
        return brentq(lambda e: KINETICS.current(e, f, c / C0) - target, -2.0, 2.0, xtol=1e-14)

    phi_left = -eta(i, c_left)
    phi_right = phi_left + np.log(c_right / c_left) / f
    return {"c_left": c_left, "c_right": c_right, "voltage": eta(-i, c_right) + phi_right}


@pytest.mark.parametrize("fraction", [0.3, 0.9])
def test_binary_cell_profile_and_voltage(fraction):
    i = fraction * limiting_current()
    model, solver, cathode = solve_cell(i)
    exact = closed_form(i, model.f)
    c = model.unknowns[0]
    x = model.space.tabulate_dof_coordinates()[:, 0]
    c_exact = exact["c_left"] + (exact["c_right"] - exact["c_left"]) * x / L
    err = np.abs(c.x.array - c_exact).max() / C0
    assert MPI.COMM_WORLD.allreduce(err, op=MPI.MAX) < 1e-8  # linear: exact in P1
    voltage = model.potentials["cathode"].value.item()
    # P1 phi against the logarithmic exact profile: O(h^2), ~1e-5 relative at 200 cells
    assert voltage == pytest.approx(exact["voltage"], rel=5e-5)
    assert solver.currents.mean_density(cathode) == pytest.approx(-i, rel=1e-7)


def test_limiting_current_is_where_the_cathode_depletes():
    """c at the cathode falls linearly with i and reaches 0 at i_lim (formula above)."""
    i_lim = limiting_current()
    assert i_lim == pytest.approx(4 * FARADAY * D_PLUS * C0 / L)
    values = []
    for fraction in (0.5, 0.95):
        model, _, _ = solve_cell(fraction * i_lim, cells=50)
        x = model.space.tabulate_dof_coordinates()[:, 0]
        local = model.unknowns[0].x.array[np.isclose(x, L)]
        c_r = MPI.COMM_WORLD.allreduce(float(local[0]) if local.size else np.inf, op=MPI.MIN)
        values.append((fraction, c_r))
    (f1, c1), (f2, c2) = values
    zero_at = f1 - c1 * (f2 - f1) / (c2 - c1)
    assert zero_at == pytest.approx(1.0, rel=1e-6)
