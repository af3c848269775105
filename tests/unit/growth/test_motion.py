"""The mesh mover's extension (femli.growth.motion): one scalar problem per component with
an operator kept over moves gives the vector harmonic extension, the boundaries exactly.
"""

from __future__ import annotations

import dolfinx
import dolfinx.fem.petsc
import numpy as np
import pytest
import ufl
from mpi4py import MPI

from femli.growth import motion
from femli.growth.motion import MeshMover
from femli.mesh import from_mesh

pytestmark = pytest.mark.mpi

H = 1.0e-6  # box edge, m


def box_domain(n: int = 6):
    """A unit-um box: bottom depositing, top fixed, four sliding walls."""
    mesh = dolfinx.mesh.create_box(MPI.COMM_WORLD, [[0, 0, 0], [H, H, H]], [n, n, n])
    return from_mesh(
        mesh,
        {
            "top": lambda x: np.isclose(x[2], H),
            "x0": lambda x: np.isclose(x[0], 0.0),
            "x1": lambda x: np.isclose(x[0], H),
            "y0": lambda x: np.isclose(x[1], 0.0),
            "y1": lambda x: np.isclose(x[1], H),
            "bottom": lambda x: np.isclose(x[2], 0.0),
        },
    )


def bump(mover: MeshMover) -> np.ndarray:
    """A smooth upward displacement (m) at every node, with a sideways part."""
    x = mover.space.tabulate_dof_coordinates()
    s = np.sin(np.pi * x[:, 0] / H) * np.sin(np.pi * x[:, 1] / H)
    return 0.02 * H * np.stack([0.5 * s, 0.25 * s, 1.0 + s], axis=1)


def reference(mover: MeshMover) -> np.ndarray:
    """The vector harmonic extension solved directly (DOLFINx, LU) on the present shape."""
    domain, space = mover.domain, mover.space
    mesh = domain.mesh
    u, v = ufl.TrialFunction(space), ufl.TestFunction(space)
    cells = mesh.topology.index_map(3).size_global
    mean = dolfinx.fem.Constant(mesh, domain.measure(boundary=False) / cells)
    a = mean / ufl.CellVolume(mesh) * ufl.inner(ufl.grad(u), ufl.grad(v)) * ufl.dx
    L = ufl.inner(dolfinx.fem.Constant(mesh, np.zeros(3)), v) * ufl.dx
    zero = np.zeros(3, dtype=dolfinx.default_scalar_type)
    bcs = [dolfinx.fem.dirichletbc(zero, _dofs(space, domain, "top"), space)]
    for name, axis in mover.slip.items():
        sub = space.sub(axis)
        bcs.append(
            dolfinx.fem.dirichletbc(
                np.zeros((), dolfinx.default_scalar_type), _dofs(sub, domain, name), sub
            )
        )
    bcs.append(dolfinx.fem.dirichletbc(mover.prescribed, _dofs(space, domain, "bottom")))
    options = {"ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "mumps"}
    problem = dolfinx.fem.petsc.LinearProblem(
        a, L, bcs=bcs, petsc_options=options, petsc_options_prefix="test_motion_reference_"
    )
    return problem.solve().x.array.copy()


def _dofs(space, domain, name):
    return dolfinx.fem.locate_dofs_topological(space, 2, domain.facets(name))


@pytest.mark.parametrize("direct", [True, False])
def test_extension_is_the_vector_harmonic_extension(direct):
    mover = MeshMover(box_domain(), ["bottom"], ["top"], direct=direct)
    assert mover.slip == {"x0": 0, "x1": 0, "y0": 1, "y1": 1}
    mover.prescribe(bump(mover))
    expected = reference(mover)
    mover.move()
    got = mover.displacement.x.array
    scale = np.abs(expected).max()
    tol = 1e-10 if direct else 1e-4  # CG to MOTION_RTOL
    assert np.abs(got - expected).max() <= tol * scale
    # the boundaries exactly: the depositing nodes' displacement as prescribed (with the
    # corners on the walls made tangential), the walls' normal component zero
    moving = _dofs(mover.space, mover.domain, "bottom")
    d = got.reshape(-1, 3)
    np.testing.assert_array_equal(d[moving], mover.prescribed.x.array.reshape(-1, 3)[moving])
    for name, axis in mover.slip.items():
        assert np.all(d[_dofs(mover.space, mover.domain, name), axis] == 0.0)
    assert np.all(d[_dofs(mover.space, mover.domain, "top")] == 0.0)


def test_operator_is_kept_and_rebuilt():
    mover = MeshMover(box_domain(), ["bottom"], ["top"], direct=True)
    step = 0.1 * bump(mover)
    for _ in range(3):
        mover.prescribe(step)
        mover.move()
    assert mover.operators_built == 1 and mover.age == 3
    # a kept operator (built on the first shape) is what the third move used: not the
    # extension on the present shape, but close to it
    mover.prescribe(step)
    mover._extend()
    kept = mover.displacement.x.array.copy()
    fresh = reference(mover)
    difference = np.abs(kept - fresh).max() / np.abs(fresh).max()
    assert 1e-12 < difference < 1e-2
    mover.rebuild_next()  # a checkpoint: the next move builds on the present shape
    mover.move()
    assert mover.operators_built == 2 and mover.age == 1
    np.testing.assert_allclose(mover.displacement.x.array, fresh, atol=1e-10 * np.abs(fresh).max())
    for _ in range(motion.REFRESH_STEPS - 1):  # small moves: the quality holds
        mover.prescribe(0.01 * step)
        mover.move()
    assert mover.operators_built == 2 and mover.age == motion.REFRESH_STEPS
    mover.prescribe(0.01 * step)
    mover.move()
    assert mover.operators_built == 3 and mover.age == 1


def test_operator_is_rebuilt_when_the_quality_falls(monkeypatch):
    monkeypatch.setattr(motion, "REFRESH_QUALITY", 1.0)  # any loss of quality
    mover = MeshMover(box_domain(), ["bottom"], ["top"], direct=True)
    mover.prescribe(0.1 * bump(mover))  # squeezes the bottom cells: quality falls
    mover.move()
    mover.prescribe(0.1 * bump(mover))
    mover.move()
    assert mover.operators_built == 2 and mover.age == 1
    monkeypatch.setattr(motion, "REFRESH_QUALITY", 0.0)  # never for quality
    mover.prescribe(0.1 * bump(mover))
    mover.move()
    assert mover.operators_built == 2 and mover.age == 2


def test_squeezing_move_is_redone_with_a_fresh_operator(monkeypatch):
    mover = MeshMover(box_domain(), ["bottom"], ["top"], direct=True)
    mover.prescribe(0.1 * bump(mover))
    mover.move()
    tries = []
    original = MeshMover._try_move

    def squeezing_once(self, limit):
        ratio, quality = original(self, limit)
        tries.append(self.age)
        return (0.0, quality) if len(tries) == 1 else (ratio, quality)

    monkeypatch.setattr(MeshMover, "_try_move", squeezing_once)
    mover.move()
    assert tries == [1, 0] and mover.operators_built == 2


def test_failed_multigrid_falls_back_to_lu(monkeypatch):
    mover = MeshMover(box_domain(), ["bottom"], ["top"], direct=False)
    mover.prescribe(bump(mover))
    expected = reference(mover)
    solve = motion._Extension.solve

    def failing_cg(self, component, given, out):
        reason = solve(self, component, given, out)
        return -3 if self.solvers[0].getType() == "cg" else reason

    monkeypatch.setattr(motion._Extension, "solve", failing_cg)
    mover.move()
    assert mover.direct
    scale = np.abs(expected).max()
    assert np.abs(mover.displacement.x.array - expected).max() <= 1e-10 * scale


@pytest.mark.mpi
def test_shift_moves_the_prescribed_nodes_alone_unless_a_cell_would_be_squeezed():
    mover = MeshMover(box_domain(), ["bottom"], ["top"], direct=True)
    x0 = mover.domain.mesh.geometry.x.copy()
    small = 1e-3 * bump(mover)  # 0.04 nm at most: far below the 167 nm cells
    mover.prescribe(small)
    mover.shift()
    assert mover.operators_built == 0  # no extension solve
    moved = np.abs(mover.domain.mesh.geometry.x - x0).max(axis=1) > 0
    bottom = np.isclose(x0[:, 2], 0.0)
    assert moved.any() and not (moved & ~bottom).any()  # the bottom's nodes, no other
    # a shift of a third of the box would flatten the bottom cells: extended instead
    mover.prescribe(15.0 * small / np.abs(small).max() * H / 45)
    quality = mover.shift()
    assert mover.operators_built == 1
    assert (np.abs(mover.domain.mesh.geometry.x - x0).max(axis=1)[~bottom] > 0).any()
    assert quality == pytest.approx(mover.quality())


@pytest.mark.mpi
@pytest.mark.parametrize("dim", [2, 3])
def test_cell_measures_of_the_unit_box_simplices(dim):
    """Closed forms on DOLFINx's unit box of n^dim squares (cubes) cut into right
    triangles (6 tetrahedra around the main diagonal): every cell has |volume| h^dim/dim!
    (they fill the box) and the quality of its shape, sqrt(3)/2 for the right isosceles
    triangle (squared edges 4 h^2) and 12 (h^3/2)^(2/3) / (10 h^2) for the tetrahedron
    (3 legs, 2 face diagonals, 1 body diagonal: 10 h^2); reflecting the mesh flips the
    volumes' sign."""
    import dolfinx
    from mpi4py import MPI

    from femli.growth.motion import cell_measures

    n = 4
    h = 1.0 / n
    if dim == 2:
        mesh = dolfinx.mesh.create_unit_square(MPI.COMM_WORLD, n, n)
        volume, expected = h**2 / 2, np.sqrt(3.0) / 2
    else:
        mesh = dolfinx.mesh.create_unit_cube(MPI.COMM_WORLD, n, n, n)
        volume, expected = h**3 / 6, 12.0 * (h**3 / 2) ** (2.0 / 3.0) / (10 * h**2)
    signed, quality = cell_measures(mesh)
    owned = mesh.topology.index_map(dim).size_local
    assert np.abs(signed) == pytest.approx(np.full(len(signed), volume), rel=1e-12)
    assert quality == pytest.approx(np.full(len(quality), expected), rel=1e-12)
    total = MPI.COMM_WORLD.allreduce(np.abs(signed[:owned]).sum())
    assert total == pytest.approx(1.0, rel=1e-12)
    mesh.geometry.x[:, 0] *= -1.0  # a mirror image: every orientation reverses
    flipped, _ = cell_measures(mesh)
    assert flipped == pytest.approx(-signed, rel=1e-12)
