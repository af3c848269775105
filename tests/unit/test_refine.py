"""Uniform refinement (femli.refine): 4 / 8 children per cell that tile their parent,
the midpoints as new nodes, parent facets recorded, the same mesh on any number of ranks,
and children no worse shaped than DOLFINx's own refinement."""

from __future__ import annotations

import dolfinx
import numpy as np
import pytest
import ufl
from mpi4py import MPI

from femli.refine import refine

pytestmark = pytest.mark.mpi
NO_GHOSTS = dolfinx.mesh.GhostMode.none


def unstructured(comm: MPI.Comm, dim: int) -> dolfinx.mesh.Mesh:
    """A unit square/cube with its interior nodes shaken (no two cells alike)."""
    if dim == 2:
        mesh = dolfinx.mesh.create_unit_square(comm, 4, 3, ghost_mode=NO_GHOSTS)
    else:
        mesh = dolfinx.mesh.create_unit_cube(comm, 3, 2, 3, ghost_mode=NO_GHOSTS)
    x = mesh.geometry.x
    inside = np.all((x[:, :dim] > 1e-9) & (x[:, :dim] < 1 - 1e-9), axis=1)
    shake = 0.08 * np.sin(17.0 * x[:, :dim] + 3.0 * np.arange(dim))  # same on every rank
    x[inside, :dim] += shake[inside]
    return mesh


def volumes(mesh: dolfinx.mesh.Mesh) -> np.ndarray:
    """Signed-free cell volumes (areas) of the owned cells."""
    d = mesh.topology.dim
    nodes = mesh.geometry.x[mesh.geometry.dofmaps[0]][:, :, :d]
    edges = nodes[:, 1:] - nodes[:, :1]
    return np.abs(np.linalg.det(edges)) / (2 if d == 2 else 6)


def barycentric(corners: np.ndarray, points: np.ndarray) -> np.ndarray:
    d = corners.shape[1] - 1
    edges = np.transpose(corners[:, 1:, :d] - corners[:, :1, :d], (0, 2, 1))
    local = np.linalg.solve(edges, (points[:, :d] - corners[:, 0, :d])[:, :, None])[:, :, 0]
    return np.column_stack([1 - local.sum(axis=1), local])


@pytest.mark.parametrize("dim", [2, 3])
def test_children_tile_their_parent_and_the_new_nodes_are_midpoints(dim):
    coarse = unstructured(MPI.COMM_WORLD, dim)
    fine, parent_cell, parent_facet = refine(coarse)
    count = 2**dim
    tmap, cmap = fine.topology.index_map(dim), coarse.topology.index_map(dim)
    assert tmap.size_global == count * cmap.size_global
    coarse.topology.create_entities(1)
    n_edges = coarse.topology.index_map(1).size_global
    assert (
        fine.topology.index_map(0).size_global == coarse.topology.index_map(0).size_global + n_edges
    )
    assert np.bincount(parent_cell, minlength=cmap.size_local).tolist() == [count] * cmap.size_local
    summed = np.bincount(parent_cell, weights=volumes(fine), minlength=cmap.size_local)
    assert np.allclose(summed, volumes(coarse), rtol=1e-12)
    # every child node is a vertex or an edge midpoint of its parent
    corners = coarse.geometry.x[coarse.geometry.dofmaps[0]][parent_cell]
    for node in range(dim + 1):
        weights = barycentric(corners, fine.geometry.x[fine.geometry.dofmaps[0][:, node]])
        assert np.all(np.isclose(weights, 0) | np.isclose(weights, 0.5) | np.isclose(weights, 1))
    # a child facet on a parent facet: its nodes have no weight on the opposite vertex
    for j in range(dim + 1):
        others = [k for k in range(dim + 1) if k != j]
        centre = fine.geometry.x[fine.geometry.dofmaps[0][:, others]].mean(axis=1)
        weights = barycentric(corners, centre)
        on = parent_facet[:, j] >= 0
        rows = np.flatnonzero(on)
        assert np.allclose(weights[rows, parent_facet[on, j]], 0, atol=1e-12)
        assert np.all(weights[~on] > 1e-9)  # inside: no parent facet holds it


def test_the_same_mesh_on_any_number_of_ranks():
    world = refine(unstructured(MPI.COMM_WORLD, 3)).mesh
    alone = refine(unstructured(MPI.COMM_SELF, 3)).mesh
    assert world.topology.index_map(0).size_global == alone.topology.index_map(0).size_global

    def moment(mesh):
        x = ufl.SpatialCoordinate(mesh)
        local = dolfinx.fem.assemble_scalar(dolfinx.fem.form(x[0] * x[1] ** 2 * x[2] * ufl.dx))
        return mesh.comm.allreduce(local, op=MPI.SUM)

    assert moment(world) == pytest.approx(moment(alone), rel=1e-13)
    # each node once over the ranks (shared midpoints are not duplicated)
    owned = world.geometry.x[: world.geometry.index_map().size_local]
    every = np.concatenate(MPI.COMM_WORLD.allgather(owned))
    assert np.array_equal(
        np.unique(np.round(every, 12), axis=0), np.unique(np.round(alone.geometry.x, 12), axis=0)
    )
    assert len(every) == len(alone.geometry.x)


def quality(mesh: dolfinx.mesh.Mesh) -> float:
    """Smallest volume / longest edge^3 (area / edge^2 in 2D) over the mesh."""
    d = mesh.topology.dim
    nodes = mesh.geometry.x[mesh.geometry.dofmaps[0]][:, :, :d]
    pairs = [(a, b) for a in range(d + 1) for b in range(a + 1, d + 1)]
    longest = np.max([np.linalg.norm(nodes[:, a] - nodes[:, b], axis=1) for a, b in pairs], axis=0)
    local = float((volumes(mesh) / longest**d).min())
    return mesh.comm.allreduce(local, op=MPI.MIN)


def test_children_are_no_worse_than_dolfinx_refinement():
    coarse = unstructured(MPI.COMM_WORLD, 3)
    ours = refine(coarse).mesh
    theirs, _, _ = dolfinx.mesh.refine(coarse, partitioner=None)
    assert quality(ours) >= 0.99 * quality(theirs)


def test_meshes_it_cannot_refine_are_refused():
    ghosted = dolfinx.mesh.create_unit_square(MPI.COMM_WORLD, 2, 2)
    if MPI.COMM_WORLD.size > 1:
        with pytest.raises(ValueError, match="ghost"):
            refine(ghosted)
    quads = dolfinx.mesh.create_unit_square(
        MPI.COMM_WORLD, 2, 2, dolfinx.mesh.CellType.quadrilateral, ghost_mode=NO_GHOSTS
    )
    with pytest.raises(ValueError, match="triangles or tetrahedra"):
        refine(quads)


def test_a_single_precision_mesh_stays_single_precision():
    coarse = dolfinx.mesh.create_unit_square(
        MPI.COMM_WORLD, 2, 3, ghost_mode=NO_GHOSTS, dtype=np.float32
    )
    fine = refine(coarse).mesh
    assert fine.geometry.x.dtype == np.float32
    local = dolfinx.fem.assemble_scalar(
        dolfinx.fem.form(dolfinx.fem.Constant(fine, np.float32(1.0)) * ufl.dx, dtype=np.float32)
    )
    assert MPI.COMM_WORLD.allreduce(float(local), op=MPI.SUM) == pytest.approx(1.0, rel=1e-6)
