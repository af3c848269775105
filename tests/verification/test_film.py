"""Surface film (SEI) in series with the kinetics: eta = E_s - phi - E_eq - i R_film.

Closed forms: on a planar electrode carrying a uniform current density i the film
shifts the electrode potential by exactly i R_film (galvanostatic: the electrolyte and
the kinetics see the same current with or without the film); with a resistance that
grows with the passed charge, R(t) = R_0 + g |i| t (the charge density q = |i| t is
advanced by backward Euler, exact for a constant current).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import dolfinx
import numpy as np
import pytest
from mpi4py import MPI
from shared_cases import GROWTH

from femli.case.build import growth_options, make_domain, make_model
from femli.case.checks import parse_case
from femli.growth.solver import GrowthSolver
from femli.mesh import from_mesh
from femli.physics.conditions import Bulk, Electrode
from femli.physics.electrolyte import binary
from femli.physics.interface import Film
from femli.physics.kinetics import ButlerVolmer, Tafel
from femli.physics.model import CellModel, ModelError
from femli.solve.stationary import StationaryOptions, StationarySolver
from femli.solve.transient import TransientOptions, TransientSolver

L = 10e-6
I_APPLIED = -30.0  # A/m^2, deposition
LAW = ButlerVolmer(10.0, 0.5, 0.5, concentration_dependent=True)


def interval(cells: int = 40):
    mesh = dolfinx.mesh.create_interval(MPI.COMM_WORLD, cells, [0.0, L])
    return from_mesh(
        mesh, {"left": lambda x: np.isclose(x[0], 0.0), "right": lambda x: np.isclose(x[0], L)}
    )


def square(n: int = 8):
    mesh = dolfinx.mesh.create_rectangle(
        MPI.COMM_WORLD, [[0.0, 0.0], [L, L]], [n, n], dolfinx.mesh.CellType.triangle
    )
    return from_mesh(
        mesh,
        {"electrode": lambda x: np.isclose(x[1], 0.0), "bulk": lambda x: np.isclose(x[1], L)},
    )


def cell(domain, boundary: str, film: Film | None, model: str, law=LAW):
    kappa = None if model == "concentrated" else 0.5  # (concentrated: the dilute kappa)
    electrolyte = binary(1000.0, 1e-9, 0.5e-9, model=model, conductivity=kappa)
    films = {boundary: film} if film is not None else {}
    e = Electrode("li", {boundary: law}, current_density=I_APPLIED, films=films)
    bulk = "right" if boundary == "left" else "bulk"
    return CellModel(domain, electrolyte, [e], [Bulk((bulk,))]), e


def potential(domain, boundary: str, film: Film | None, model: str, preset: str = "direct"):
    model_, electrode = cell(domain, boundary, film, model)
    solver = StationarySolver(model_, StationaryOptions(preset))
    solver.solve()
    assert solver.currents.mean_density(electrode) == pytest.approx(I_APPLIED, rel=1e-8)
    return model_.potentials["li"].value.item(), model_


@pytest.mark.parametrize("model", ["tertiary", "supporting", "secondary", "concentrated"])
def test_a_film_shifts_a_planar_electrode_by_i_r(model):
    bare, _ = potential(interval(), "left", None, model)
    for film in (Film(resistance=2e-3), Film(thickness=20e-9, conductivity=1e-5)):
        shifted, solved = potential(interval(), "left", film, model)
        r = film.initial_resistance
        assert shifted - bare == pytest.approx(I_APPLIED * r, rel=1e-8, abs=1e-12)
        drop = solved.film.x.array[np.isclose(solved.space.tabulate_dof_coordinates()[:, 0], 0)]
        assert np.allclose(drop, I_APPLIED * r, rtol=1e-8)  # the unknown is the film drop


@pytest.mark.mpi
@pytest.mark.parametrize("preset", ["direct", "iterative"])
def test_a_film_shifts_a_planar_electrode_in_2d_on_any_ranks(preset):
    bare, _ = potential(square(), "electrode", None, "tertiary", preset)
    shifted, solved = potential(square(), "electrode", Film(resistance=1e-3), "tertiary", preset)
    assert shifted - bare == pytest.approx(I_APPLIED * 1e-3, rel=1e-8)
    # zero wherever there is no film: the Dirichlet condition on every other node
    y = solved.space.tabulate_dof_coordinates()[:, 1]
    off = solved.film.x.array[~np.isclose(y, 0.0)]
    assert MPI.COMM_WORLD.allreduce(float(np.abs(off).max(initial=0.0)), op=MPI.MAX) == 0.0


@pytest.mark.mpi
def test_a_film_shifts_a_disk_electrode_in_r_z_by_i_r():
    """r-z (x = r): a disk electrode at z = 0 under a bulk at z = L, insulating wall and
    axis: a planar electrode, whose film row and current both carry 2 pi r."""
    shifts = []
    for film in (None, Film(resistance=1e-3)):
        domain = square().make_axisymmetric()
        model_, electrode = cell(domain, "electrode", film, "tertiary")
        solver = StationarySolver(model_)
        solver.solve()
        area = np.pi * L**2  # the disk: the total current is 3D, in A
        assert solver.currents.total(electrode) == pytest.approx(I_APPLIED * area, rel=1e-8)
        shifts.append(model_.potentials["li"].value.item())
    assert shifts[1] - shifts[0] == pytest.approx(I_APPLIED * 1e-3, rel=1e-8)


def test_a_film_on_tafel_kinetics_is_solved_exactly():
    """Cathodic Tafel with a film: eta = -ln(|i|/i0)/(alpha f), E_s = eta + i R + phi(0)."""
    law = Tafel(5.0, 0.5)
    model_, _ = cell(interval(), "left", Film(resistance=5e-3), "secondary", law)
    StationarySolver(model_).solve()
    eta = -np.log(abs(I_APPLIED) / 5.0) / (0.5 * model_.f)
    ohmic = I_APPLIED * L / 0.5  # phi(0) - phi(L) < 0: the current flows towards x = 0
    expected = eta + I_APPLIED * 5e-3 + ohmic
    assert model_.potentials["li"].value.item() == pytest.approx(expected, rel=1e-9)


def test_a_growing_film_follows_the_passed_charge():
    """R = R_0 + g q with q = |i| t: E_s(t) - E_s(bare) = i (R_0 + g |i| t) at every step."""
    bare, _ = potential(interval(), "left", None, "secondary")
    film = Film(resistance=1e-3, growth=2e-5)
    model_, _ = cell(interval(), "left", film, "secondary")
    solver = TransientSolver(model_, TransientOptions(t_end=10.0, dt_initial=0.5, dt_max=2.0))
    records = solver.run()
    assert len(records) > 5
    for r in records:
        resistance = 1e-3 + 2e-5 * abs(I_APPLIED) * r["t"]
        assert r["potential"]["li"] - bare == pytest.approx(I_APPLIED * resistance, rel=1e-8)
    charge = model_.interface.film_charge.x.array
    x = model_.space.tabulate_dof_coordinates()[:, 0]
    assert np.allclose(charge[np.isclose(x, 0.0)], abs(I_APPLIED) * 10.0, rtol=1e-8)


def test_a_film_needs_electrode_kinetics():
    e = Electrode("li", {"left": LAW}, potential=-0.1, films={"left": Film(resistance=1e-3)})
    with pytest.raises(ModelError, match="need electrode kinetics"):
        CellModel(interval(), binary(1000.0, 1e-9, 1e-9, model="primary"), [e], [Bulk(("right",))])


@pytest.mark.mpi
def test_a_remesh_carries_the_film_charge_without_overshoot():
    """A growing film's passed charge lives on the boundary nodes (zero one node inside);
    interpolated as it is onto the remeshed shape it read 562-675 C/m^2 from nodes holding
    600-650. Its boundary values extended into the domain first, the range is kept."""
    data = tomllib.loads(GROWTH)
    data["growth"]["electrochemistry"] = "transient"
    data["electrodes"][0]["kinetics"]["electrode"]["film"] = {"resistance": 1e-3, "growth": 1e-5}
    config = parse_case(data)
    domain, _ = make_domain(config, MPI.COMM_WORLD, Path("."))
    growth = GrowthSolver(make_model(config, domain), growth_options(config))

    def electrode_charge(model) -> tuple[np.ndarray, np.ndarray]:
        dofs = dolfinx.fem.locate_dofs_topological(model.space, 1, model.domain.facets("electrode"))
        return dofs, model.space.tabulate_dof_coordinates()[dofs, 0]

    dofs, x = electrode_charge(growth.model)
    growth.model.interface.film_charge.x.array[dofs] = 600.0 + 5e6 * x  # C/m^2, 600-650
    growth.remesh()
    dofs, _ = electrode_charge(growth.model)
    charge = growth.model.interface.film_charge.x.array[dofs]
    low = MPI.COMM_WORLD.allreduce(float(charge.min(initial=np.inf)), op=MPI.MIN)
    high = MPI.COMM_WORLD.allreduce(float(charge.max(initial=-np.inf)), op=MPI.MAX)
    assert low >= 600.0 - 1e-9 and high <= 650.0 + 1e-9
    assert high - low > 40.0  # the variation itself is carried over
