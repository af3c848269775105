"""Double-layer capacitance in transient runs: the charging current C_dl d(eta)/dt.

Closed forms (planar electrode, linear kinetics R_ct = 1/(i0 (aa + ac) f), uniform
electrolyte of resistance R_s = L/kappa, starting at rest):

- galvanostatic step ``i``: ``C_dl deta/dt + eta/R_ct = i``, so
  ``eta(t) = i R_ct (1 - exp(-t / (R_ct C_dl)))`` (the ohmic drop ``i R_s`` is instant);
- potentiostatic step ``E``: ``eta(t) = E R_ct/(R_s + R_ct) (1 - exp(-t/tau))`` with
  ``tau = C_dl R_s R_ct / (R_s + R_ct)`` and the current ``(E - eta)/R_s``.
"""

from __future__ import annotations

import math

import dolfinx
import numpy as np
import pytest
from mpi4py import MPI

from femli.mesh import from_mesh
from femli.physics.conditions import Bulk, Electrode
from femli.physics.electrolyte import binary
from femli.physics.interface import DoubleLayer, Film
from femli.physics.kinetics import Linear
from femli.physics.model import CellModel
from femli.solve.transient import TransientOptions, TransientSolver

L, KAPPA, C_DL = 10e-6, 0.05, 0.2  # m, S/m, F/m^2
LAW = Linear(10.0)  # i0 = 10 A/m^2: R_ct = 2.57e-3 ohm m^2 at 298.15 K
I_APPLIED = -20.0  # A/m^2


def interval(cells: int = 20):
    mesh = dolfinx.mesh.create_interval(MPI.COMM_WORLD, cells, [0.0, L])
    return from_mesh(
        mesh, {"left": lambda x: np.isclose(x[0], 0.0), "right": lambda x: np.isclose(x[0], L)}
    )


def square(n: int = 6):
    mesh = dolfinx.mesh.create_rectangle(
        MPI.COMM_WORLD, [[0.0, 0.0], [L, L]], [n, n], dolfinx.mesh.CellType.triangle
    )
    return from_mesh(
        mesh, {"left": lambda x: np.isclose(x[1], 0.0), "right": lambda x: np.isclose(x[1], L)}
    )


def cell(domain, model: str = "secondary", film: Film | None = None, **control):
    """A uniform electrolyte (supporting: D large, kinetics blind to c) and one electrode."""
    kappa = None if model == "concentrated" else KAPPA  # (concentrated: the dilute kappa)
    electrolyte = binary(1000.0, 1e-6, 1e-6, model=model, conductivity=kappa)
    films = {} if film is None else {"left": film}
    e = Electrode("li", {"left": LAW}, double_layer=DoubleLayer(C_DL), films=films, **control)
    return CellModel(domain, electrolyte, [e], [Bulk(("right",))])


def electrode_phi(model: CellModel) -> float:
    """phi at the electrode (V): the same everywhere on a planar one."""
    x = model.space.tabulate_dof_coordinates()
    on = np.isclose(x[:, model.domain.dim - 1], 0.0)
    local = float(model.phi.x.array[on].mean()) if on.any() else np.nan
    values = [v for v in MPI.COMM_WORLD.allgather(local) if not np.isnan(v)]
    return float(np.mean(values))


def march(model: CellModel, t_end: float, tolerance: float = 1e-4):
    """(t, eta, current) at every record (eta = E_s - phi at the electrode)."""
    out = []

    def record(solver, r):
        eta = r["potential"]["li"] - electrode_phi(solver.model)
        out.append((r["t"], eta, r["current"]["li"]))

    options = TransientOptions(t_end=t_end, tolerance=tolerance)
    TransientSolver(model, options).run(callback=record)
    return out


@pytest.mark.parametrize("model", ["secondary", "supporting", "concentrated"])
def test_a_galvanostatic_step_charges_the_double_layer(model):
    cell_ = cell(interval(), model, current_density=I_APPLIED)
    r_ct = LAW.charge_transfer_resistance(cell_.f)
    tau = r_ct * C_DL
    records = march(cell_, 5 * tau)
    assert records[0][1:] == (0.0, 0.0)  # t = 0: at rest, before the current is switched on
    errors = [abs(eta - I_APPLIED * r_ct * (1 - math.exp(-t / tau))) for t, eta, _ in records]
    assert max(errors) < 5e-3 * abs(I_APPLIED) * r_ct  # the 0.5 %; measured 0.06 %
    assert all(c == pytest.approx(I_APPLIED, rel=1e-8) for _, _, c in records[1:])
    tight = march(cell(interval(), model, current_density=I_APPLIED), 5 * tau, tolerance=1e-7)
    errors = [abs(eta - I_APPLIED * r_ct * (1 - math.exp(-t / tau))) for t, eta, _ in tight]
    assert max(errors) < 2e-5 * abs(I_APPLIED) * r_ct  # the error follows the tolerance


@pytest.mark.mpi
def test_a_potentiostatic_step_in_2d_on_any_ranks():
    potential = -0.05
    cell_ = cell(square(), "secondary", potential=potential)
    r_ct, r_s = LAW.charge_transfer_resistance(cell_.f), L / KAPPA
    tau = C_DL * r_s * r_ct / (r_s + r_ct)
    eta_end = potential * r_ct / (r_s + r_ct)
    records = march(cell_, 5 * tau)
    for t, eta, current in records[1:]:
        exact = eta_end * (1 - math.exp(-t / tau))
        assert eta == pytest.approx(exact, abs=5e-3 * abs(eta_end))
        # the total current (per m of depth over an L wide electrode) carries the charging
        assert current / L == pytest.approx((potential - exact) / r_s, rel=5e-3)


def test_a_march_restarted_from_its_state_ends_where_the_whole_one_does():
    """The double layer's delta history and a growing film's charge are in the state."""

    def solver_for():
        film = Film(resistance=1e-3, growth=1e-4)
        model = cell(interval(), "supporting", film, current_density=I_APPLIED)
        tau = LAW.charge_transfer_resistance(model.f) * C_DL
        return TransientSolver(model, TransientOptions(t_end=3 * tau))

    whole = solver_for()
    whole.run()
    first = solver_for()
    first.run(callback=lambda s, r: r["step"] == 12)
    meta, arrays = first.state()
    assert "past_1" in arrays and "film_charge" in arrays
    again = solver_for()
    again.restore(meta, arrays)
    again.run()
    assert [r["t"] for r in again.records] == pytest.approx([r["t"] for r in whole.records])
    for a, b in zip(again.records, whole.records, strict=True):
        assert a["potential"]["li"] == pytest.approx(b["potential"]["li"], rel=1e-10)
