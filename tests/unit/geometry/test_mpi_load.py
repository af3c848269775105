"""Parallel load: build on rank 0, distribute with dolfinx.io.gmsh.model_to_mesh.

Run with ``mpiexec -n 2 python -m pytest -m mpi --with-mpi tests/unit/geometry``
(pytest-mpi skips ``mpi``-marked tests without ``--with-mpi``); also passes serially.
"""

from __future__ import annotations

import gmsh
import numpy as np
import pytest

from femli.geometry import build, gmsh_session

CASES = [
    ("box", {"surface": "asperities"}),
    ("box", {"dim": 3, "depth": 2.0, "surface": "asperities", "h_far": 2.0, "h_electrode": 0.5}),
    ("nucleus_array", {"count": 2, "width": 2.0, "depth": 2.0, "height": 2.0, "seed": 1}),
    ("fibre_mat", {"width": 4.0, "count": 4, "seed": 1}),
    ("void_contact", {"width": 4.0, "contact_fraction": 0.7, "seed": 1}),
    ("layered_stack", {}),
]


def _group_element_counts(dim: int, groups: dict[str, int]) -> dict[str, int]:
    """Number of gmsh elements of dimension ``dim`` in each physical group."""
    counts = {}
    for name, tag in groups.items():
        n = 0
        for ent in gmsh.model.getEntitiesForPhysicalGroup(dim, tag):
            _, elems, _ = gmsh.model.mesh.getElements(dim, ent)
            n += sum(len(e) for e in elems)
        counts[name] = n
    return counts


@pytest.mark.mpi
@pytest.mark.parametrize(("kind", "params"), CASES)
def test_distribute_from_rank0(kind: str, params: dict) -> None:
    import dolfinx_solver  # noqa: F401  (must precede dolfinx)
    from dolfinx.io.gmsh import model_to_mesh
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    with gmsh_session():
        info = None
        if comm.rank == 0:
            geo = build(kind, **params)
            facets = _group_element_counts(geo.dim - 1, geo.facet_groups)
            info = (geo.dim, geo.quality.n_elements, facets, geo.cell_groups)
        dim, n_cells, facet_counts, cell_groups = comm.bcast(info, root=0)
        data = model_to_mesh(gmsh.model, comm, 0, gdim=dim)
    mesh = data.mesh
    assert mesh.topology.index_map(dim).size_global == n_cells
    assert set(cell_groups) | set(facet_counts) <= set(data.physical_groups)
    mesh.topology.create_connectivity(dim - 1, dim)
    n_owned = mesh.topology.index_map(dim - 1).size_local
    for name, expected in facet_counts.items():
        group = data.physical_groups[name]
        assert group.dim == dim - 1
        local = data.facet_tags.find(group.tag)
        owned = int(np.count_nonzero(local < n_owned))
        assert comm.allreduce(owned, op=MPI.SUM) == expected, name
    for name, group in ((n, data.physical_groups[n]) for n in cell_groups):
        owned = np.count_nonzero(
            data.cell_tags.find(group.tag) < mesh.topology.index_map(dim).size_local
        )
        assert comm.allreduce(int(owned), op=MPI.SUM) > 0, name
