"""Shared fixtures: MPI-safe temporary folders and ranks kept in step.

``dolfinx_solver`` is imported first: it loads the MPI and PETSc libraries that
``dolfinx`` and ``petsc4py`` link against.
"""

from __future__ import annotations

import os
from pathlib import Path

import dolfinx_solver  # noqa: F401
import pytest
from mpi4py import MPI

os.environ.setdefault("PYVISTA_OFF_SCREEN", "true")


@pytest.fixture
def mpi_tmp_path(request, tmp_path_factory) -> Path:
    """A temporary folder shared by all ranks (made on rank 0, name broadcast)."""
    comm = MPI.COMM_WORLD
    path = None
    if comm.rank == 0:
        safe = "".join(ch if ch.isalnum() else "_" for ch in request.node.name)[:40]
        path = tmp_path_factory.mktemp(safe)
    path = comm.bcast(path, root=0)
    comm.barrier()
    return Path(path)


@pytest.fixture(autouse=True)
def _ranks_in_step():
    """Barrier after every test so a failing rank cannot leave others mid-collective."""
    yield
    MPI.COMM_WORLD.barrier()
