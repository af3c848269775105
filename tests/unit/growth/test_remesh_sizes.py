"""A remesh keeps the mesh's resolution: the boundaries that do not move keep their
element size and the sizes grade over the builder's distances (at its refinement), so a
fresh mesh of an unmoved shape has about as many nodes as the one the builder made."""

from __future__ import annotations

import numpy as np
import pytest
from mpi4py import MPI

from femli.geometry.core import RemeshSizing
from femli.growth.remesh import edge_lengths, kept_sizes, remesh_domain
from femli.mesh import build_domain

pytestmark = pytest.mark.mpi


def remeshed_ratio(domain, moving: list[str], refinement: float) -> float:
    """Nodes of a remesh of the unmoved ``domain`` over its own nodes."""
    comm = domain.comm
    h_moving = float(np.median(np.concatenate(comm.allgather(edge_lengths(domain, *moving)))))
    every = comm.allgather(edge_lengths(domain, *domain.facet_names))
    h_far = float(np.concatenate(every).max())
    sizing = RemeshSizing(kept_sizes(domain, moving, h_far), refinement)
    new = remesh_domain(domain, moving, h_moving, h_far, sizing)
    return new.num_vertices_global() / domain.num_vertices_global()


@pytest.mark.parametrize("dim", [2, 3])
def test_remesh_of_a_refined_nucleus_array_keeps_its_node_count(dim: int) -> None:
    refinement = 2.0 if dim == 3 else 4.0
    box = {"width": 3.0, "height": 2.0} | ({"depth": 3.0} if dim == 3 else {})
    domain, _ = build_domain(
        "nucleus_array",
        MPI.COMM_WORLD,
        dim=dim,
        diameter=0.6,
        count=2,
        placement="lattice",
        h_substrate=0.2,
        h_far=0.6,
        refinement=refinement,
        **box,
    )
    kept = kept_sizes(domain, ["nuclei"], 0.6 / refinement)
    assert "nuclei" not in kept and "bulk" not in kept  # moving; meshed at h_far
    assert kept["substrate"] <= 1.05 * 0.2 / refinement  # its own size or finer near nuclei
    # sized by the nuclei alone over unrefined distances: 0.3 (3D) of the nodes
    assert 0.8 < remeshed_ratio(domain, ["nuclei"], refinement) < 1.25
