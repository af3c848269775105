"""Transient verification: Sand's time, and salt conservation in a closed cell.

Galvanostatic deposition at current density i from a semi-infinite electrolyte
depletes the electrode surface at Sand's time

    t_s = pi D (c0 F)^2 / (4 (i (1 - t+))^2),

with the surface concentration c_s(t) = c0 (1 - sqrt(t / t_s)) until then. For the
binary tertiary (Nernst-Planck) model D is the ambipolar salt diffusivity
D_s = 2 D+ D- / (D+ + D-) and t+ = D+ / (D+ + D-); for the supporting-electrolyte
model (N = -D grad c + t+ i / F) D and t+ are the given Li+ values. D+ != D- so
the (1 - t+) factor matters (it changes t_s by 1/(1 - t+)^2 = 1.78 here).

The 1D domain is 8 sqrt(D t_s) long (the far-field correction is ~exp(-16)). Kinetics
are Butler-Volmer with the concentration factor, so the electrode potential diverges
as c_s -> 0; the run stops when c_s < EPS c0, which by the formula above happens at
t_s (1 - EPS)^2 (0.2 % before t_s).

Tolerance: 0.5 % on the crossing time. Measured errors are 7e-4 at the solver's
local-error tolerance of 1e-4 and 1.6e-4 at 1e-5 (time-stepping error, which dominates);
refining the mesh 400 -> 1600 cells changes the result by < 2e-5. The bound keeps
headroom for platform and MPI round-off while any missing factor (t+, D_s, a wrong
BDF2 weight) shifts t_s by far more.
"""

from __future__ import annotations

import dolfinx
import numpy as np
import pytest
import ufl
from mpi4py import MPI

from femli.mesh import from_mesh
from femli.physics.conditions import Bulk, Electrode
from femli.physics.electrolyte import binary
from femli.physics.kinetics import ButlerVolmer
from femli.physics.model import CellModel
from femli.solve.transient import TransientOptions, TransientSolver
from femli.units import FARADAY

C0, D_PLUS, D_MINUS, CURRENT = 1000.0, 1.0e-10, 3.0e-10, 100.0  # mol/m3, m2/s, A/m2
T_PLUS_SUPPORTING, KAPPA = 0.4, 1.0  # supporting model: given t+ and S/m
KINETICS = ButlerVolmer(10.0, 0.5, 0.5, concentration_dependent=True)
EPS = 1.0e-3


def sand_parameters(kind: str):
    """(electrolyte, D, t+) for the tertiary or supporting model."""
    if kind == "tertiary":
        d = 2 * D_PLUS * D_MINUS / (D_PLUS + D_MINUS)
        return binary(C0, D_PLUS, D_MINUS), d, D_PLUS / (D_PLUS + D_MINUS)
    electrolyte = binary(
        C0,
        D_PLUS,
        D_MINUS,
        model="supporting",
        conductivity=KAPPA,
        transference=T_PLUS_SUPPORTING,
    )
    return electrolyte, D_PLUS, T_PLUS_SUPPORTING


def sand_time(d: float, t_plus: float) -> float:
    """Sand's time (s)."""
    return np.pi * d * (C0 * FARADAY) ** 2 / (4 * (CURRENT * (1 - t_plus)) ** 2)


def interval(length: float, cells: int, left: str, right: str):
    mesh = dolfinx.mesh.create_interval(MPI.COMM_WORLD, cells, [0.0, length])
    return from_mesh(
        mesh,
        {left: lambda x: np.isclose(x[0], 0.0), right: lambda x: np.isclose(x[0], length)},
    )


def run_sand(kind: str, cells: int = 400, callback=None):
    electrolyte, d, t_plus = sand_parameters(kind)
    t_sand = sand_time(d, t_plus)
    domain = interval(8 * np.sqrt(d * t_sand), cells, "electrode", "bulk")
    electrode = Electrode("li", {"electrode": KINETICS}, current_density=-CURRENT)
    model = CellModel(domain, electrolyte, [electrode], [Bulk(("bulk",))])
    options = TransientOptions(t_end=2 * t_sand, tolerance=1e-4, stop_when_depleted=EPS)
    solver = TransientSolver(model, options)
    return solver, solver.run(callback), t_sand


@pytest.mark.parametrize("kind", ["tertiary", "supporting"])
def test_sand_time(kind):
    solver, records, t_sand = run_sand(kind)
    assert solver.stop_reason == "depleted"
    assert solver.depletion_time == pytest.approx(t_sand * (1 - EPS) ** 2, rel=5e-3)
    # the current is held, and the surface concentration follows c0 (1 - sqrt(t/t_s))
    currents = np.array([r["current"]["li"] for r in records])
    assert np.allclose(currents, -CURRENT, rtol=1e-6)
    t = np.array([r["t"] for r in records])
    c_s = np.array([r["c_min"]["li"] for r in records])
    assert np.abs(c_s - C0 * (1 - np.sqrt(t / t_sand))).max() < 3e-3 * C0
    # concentration-dependent kinetics: the potential runs away at depletion
    potentials = np.array([r["potential"]["li"] for r in records])
    assert np.all(np.diff(potentials) < 0)
    assert potentials[-1] < potentials[0] - 0.3


def test_initial_potential_is_the_ohmic_and_kinetic_jump():
    """t = 0+: uniform c, so E = eta_BV(i) - i L / kappa exactly (before any depletion)."""
    solver, records, _ = run_sand("supporting", cells=50, callback=lambda s, r: True)
    assert solver.stop_reason == "callback" and len(records) == 1
    length = solver.model.domain.measure(boundary=False)
    eta = 2 / solver.model.f * np.arcsinh(-CURRENT / (2 * KINETICS.exchange_current))
    expected = eta - CURRENT * length / KAPPA
    assert records[0]["t"] == 0.0
    assert records[0]["potential"]["li"] == pytest.approx(expected, rel=1e-8)


@pytest.mark.mpi
def test_closed_cell_conserves_salt_and_reaches_steady_state():
    """Two Li electrodes, no bulk: int c dx is constant to solver tolerance at every
    step, and the profile relaxes to the linear steady state c = c0 - i (x - L/2)/(2 F D+)."""
    length, cells = 100e-6, 100
    d_salt = 2 * D_PLUS * D_MINUS / (D_PLUS + D_MINUS)
    i_lim = 2 * FARADAY * d_salt * C0 / ((1 - D_PLUS / (D_PLUS + D_MINUS)) * length)
    current = 0.4 * i_lim
    domain = interval(length, cells, "left", "right")
    anode = Electrode("anode", {"left": KINETICS}, potential=0.0)
    cathode = Electrode("cathode", {"right": KINETICS}, current_density=-current)
    model = CellModel(domain, binary(C0, D_PLUS, D_MINUS), [anode, cathode])
    c = model.unknowns[0]
    amount = dolfinx.fem.form(c * ufl.dx(domain=domain.mesh))
    totals = []

    def total(solver, record):
        local = dolfinx.fem.assemble_scalar(amount)
        totals.append(domain.comm.allreduce(local, op=MPI.SUM))

    t_end = 5 * length**2 / d_salt  # slowest mode decays as exp(-pi^2 D_s t / L^2)
    solver = TransientSolver(model, TransientOptions(t_end=t_end, tolerance=1e-4))
    records = solver.run(callback=total)
    assert solver.stop_reason == "t_end"
    assert records[-1]["t"] == pytest.approx(t_end, rel=1e-12)
    drift = np.abs(np.array(totals) / (C0 * length) - 1).max()
    assert drift < 1e-10
    assert records[-1]["current"]["anode"] == pytest.approx(current, rel=1e-7)
    x = model.space.tabulate_dof_coordinates()[:, 0]
    steady = C0 - current * (x - length / 2) / (2 * FARADAY * D_PLUS)
    err = np.abs(c.x.array - steady).max(initial=0.0) / C0
    assert domain.comm.allreduce(err, op=MPI.MAX) < 1e-6
    assert min(records[-1]["c_min"].values()) < 0.8 * C0  # the profile did move
