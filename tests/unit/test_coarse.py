"""The coarse mesh of a split mesh (femli.coarse): prolongation is P1 interpolation on
the nested meshes, a moved fine mesh no longer matches, and the secondary initial guess
of a split domain is solved on the coarse mesh without changing the result."""

from __future__ import annotations

import dolfinx
import numpy as np
import pytest
from mpi4py import MPI

import femli.solve.stationary as stationary
from femli.coarse import Coarse
from femli.mesh import Domain, build_domain
from femli.split import split

pytestmark = pytest.mark.mpi
NO_GHOSTS = dolfinx.mesh.GhostMode.none


def split_pair(comm: MPI.Comm, dim: int, levels: int = 1) -> tuple[Domain, Coarse]:
    """A unit square/cube split ``levels`` times, and its coarse mesh."""
    if dim == 2:
        mesh = dolfinx.mesh.create_unit_square(comm, 3, 4, ghost_mode=NO_GHOSTS)
    else:
        mesh = dolfinx.mesh.create_unit_cube(comm, 2, 3, 2, ghost_mode=NO_GHOSTS)
    fine, _, _, parents = split(mesh, None, None, {}, levels)
    domain = Domain(fine, None, None)
    coarse = Coarse(Domain(mesh, None, None), parents, fine.geometry.x.copy())
    return domain, coarse


def p1(domain: Domain, f=None) -> dolfinx.fem.Function:
    u = dolfinx.fem.Function(dolfinx.fem.functionspace(domain.mesh, ("Lagrange", 1)))
    if f is not None:
        u.interpolate(f)
    return u


@pytest.mark.parametrize("dim,levels", [(2, 1), (3, 1), (3, 2)])
def test_prolongation_reproduces_a_linear_field_and_averages_along_edges(dim, levels):
    fine, coarse = split_pair(MPI.COMM_WORLD, dim, levels)

    def linear(x):
        return 1.0 + 2.0 * x[0] - 3.0 * x[1] + 0.5 * x[2]

    target = p1(fine)
    coarse.prolong(p1(coarse.domain, linear), target)
    assert np.allclose(target.x.array, linear(target.function_space.tabulate_dof_coordinates().T))
    # a field that is not linear: its coarse P1 interpolant, which is what the fine
    # nodes get (at coarse vertices the values, at edge midpoints the means)
    bumpy = p1(coarse.domain, lambda x: np.sin(3 * x[0]) * np.cos(2 * x[1]) + x[2] ** 2)
    coarse.prolong(bumpy, target)
    points = target.function_space.tabulate_dof_coordinates()
    tree = dolfinx.geometry.bb_tree(coarse.domain.mesh, dim)
    cells = dolfinx.geometry.compute_colliding_cells(
        coarse.domain.mesh, dolfinx.geometry.compute_collisions_points(tree, points), points
    )
    first = np.array([cells.links(i)[0] for i in range(len(points))])
    expected = bumpy.eval(points, first).ravel()
    assert np.allclose(target.x.array, expected, atol=1e-12)
    exact = np.sin(3 * points[:, 0]) * np.cos(2 * points[:, 1]) + points[:, 2] ** 2
    assert not np.allclose(target.x.array, exact)  # (the interpolant, not the field)


def test_a_moved_fine_mesh_no_longer_matches():
    fine, coarse = split_pair(MPI.COMM_WORLD, 2)
    assert coarse.matches(fine)
    if MPI.COMM_WORLD.rank == 0 and fine.mesh.geometry.x.shape[0]:
        fine.mesh.geometry.x[0, 0] += 1e-9
    assert not coarse.matches(fine)  # on every rank


def test_parents_are_checked():
    _, coarse = split_pair(MPI.COMM_SELF, 2)
    with pytest.raises(ValueError, match="parents"):
        Coarse(coarse.domain, -np.ones(3, dtype=np.int32), coarse.x)


def nucleus_cell(comm: MPI.Comm):
    """Three nuclei on a split mesh, galvanostatic (-20 A/m2): the domain and a model maker."""
    from femli.physics.conditions import Bulk, Electrode
    from femli.physics.electrolyte import binary
    from femli.physics.kinetics import ButlerVolmer
    from femli.physics.model import CellModel

    params = {"width": 2.0, "depth": 2.0, "height": 1.5, "h_far": 0.5, "h_substrate": 0.25}
    params.update(count=3, diameter=0.6, seed=2, refinement=1.0)
    domain, _ = build_domain("nucleus_array", comm, 1, **params)
    kinetics = ButlerVolmer(5.9, 0.5, 0.5, concentration_dependent=True)
    electrode = Electrode("li", {"nuclei": kinetics, "substrate": kinetics}, current_density=-20.0)

    def model():
        electrolyte = binary(1000.0, 2.5e-10, 2.82e-10)
        return CellModel(domain, electrolyte, [electrode], [Bulk(("bulk",))]), electrode

    return domain, model


def test_the_guess_of_a_split_domain_is_solved_on_the_coarse_mesh(monkeypatch):
    domain, make = nucleus_cell(MPI.COMM_WORLD)
    assert domain.coarse is not None and domain.coarse.matches(domain)

    def solve():
        model, electrode = make()
        solver = stationary.StationarySolver(model, stationary.StationaryOptions("iterative"))
        solver.solve()
        steps = solver.newton.stats.as_dict()["newton_iterations"]
        return solver.currents.total(electrode), model.potentials["li"].value.item(), steps

    built: list[int] = []
    original = stationary.CellModel

    def recording(dom, *args, **kwargs):
        built.append(dom.num_cells_global())
        return original(dom, *args, **kwargs)

    monkeypatch.setattr(stationary, "CellModel", recording)
    on_coarse = solve()
    assert built == [domain.coarse.domain.num_cells_global()]
    assert built[0] * 8 == domain.num_cells_global()
    domain.coarse = None
    on_fine = solve()
    assert built[1] == domain.num_cells_global()
    assert on_coarse[:2] == pytest.approx(on_fine[:2], rel=1e-7)
    assert on_coarse[2] == on_fine[2]  # the same Newton steps


def test_the_coarse_guess_is_close_to_the_fine_one():
    """The prolonged potential differs from the guess solved on the fine mesh by a few %
    of its range (measured 2.5 %; a lost prolongation, phi = 0, is 100 %)."""
    domain, make = nucleus_cell(MPI.COMM_WORLD)

    def guess():
        model, electrode = make()
        stationary.StationarySolver(
            model, stationary.StationaryOptions("iterative")
        )._secondary_guess()
        owned = model.phi.x.array[: model.phi.function_space.dofmap.index_map.size_local]
        return owned.copy(), model.potentials[electrode.name].value.item()

    (coarse_phi, coarse_e), kept = guess(), domain.coarse
    domain.coarse = None
    fine_phi, fine_e = guess()
    comm = MPI.COMM_WORLD
    error = comm.allreduce(float(np.abs(coarse_phi - fine_phi).max(initial=0.0)), op=MPI.MAX)
    low = comm.allreduce(float(fine_phi.min(initial=np.inf)), op=MPI.MIN)
    high = comm.allreduce(float(fine_phi.max(initial=-np.inf)), op=MPI.MAX)
    assert kept is not None and high - low > 0
    assert error < 0.1 * (high - low)
    assert coarse_e == pytest.approx(fine_e, rel=1e-4)


def test_names_and_axisymmetry_reach_the_coarse_domain():
    fine, coarse = split_pair(MPI.COMM_WORLD, 2)
    fine.coarse = coarse
    fine.add_empty_regions(["film"])
    assert coarse.domain.facet_names == fine.facet_names == {"film": 1}
    fine.make_axisymmetric()
    assert coarse.domain.axisymmetric
