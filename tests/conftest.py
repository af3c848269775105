"""Shared fixtures: MPI-safe temporary folders and ranks kept in step.

``dolfinx_solver`` is imported first: it loads the MPI and PETSc libraries that
``dolfinx`` and ``petsc4py`` link against.
"""

from __future__ import annotations

import os
import sys
import time
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


#: Seconds a rank waits at the end of a test for the others before aborting the job.
STEP_TIMEOUT = float(os.environ.get("FEMLI_TEST_STEP_TIMEOUT", "300"))


@pytest.fixture(autouse=True)
def _ranks_in_step(request):
    """Barrier after every test so a failing rank cannot leave others mid-collective.

    A rank that finished a test (typically by failing alone) and whose partners do not
    arrive within ``STEP_TIMEOUT`` s aborts the job with the test's name, instead of
    hanging until the CI guard kills it without a word."""
    yield
    comm = MPI.COMM_WORLD
    if comm.size == 1:
        return
    request_ = comm.Ibarrier()
    start = time.monotonic()
    while not request_.Test():
        if time.monotonic() - start > STEP_TIMEOUT:
            capture = request.config.pluginmanager.getplugin("capturemanager")
            with capture.global_and_fixture_disabled():
                sys.stderr.write(
                    f"\nrank {comm.rank}: the other ranks did not finish {request.node.nodeid}"
                    f" within {STEP_TIMEOUT:g} s (one rank failed or left a collective);"
                    " aborting\n"
                )
                sys.stderr.flush()
            comm.Abort(1)
        time.sleep(0.005)


@pytest.fixture(autouse=True)
def _metrics_follow_the_schema(request):
    """Every metrics.json of the current format a test leaves in its temporary folders
    (runs through the API, the command line, sweeps, restarts) fits the published schema
    ``femli/outputs/metrics.schema.json`` (checked on rank 0 after the test). Files of
    earlier versions and hand-made or corrupted ones (no current ``metrics_version``)
    are what the tests that wrote them are about."""
    yield
    if MPI.COMM_WORLD.rank != 0:
        return
    import json

    from femli.outputs.metrics_format import METRICS_VERSION, validate

    for name in ("tmp_path", "mpi_tmp_path"):
        folder = request.node.funcargs.get(name) if hasattr(request.node, "funcargs") else None
        if folder is None or not Path(folder).is_dir():
            continue
        for path in sorted(Path(folder).rglob("metrics.json")):
            try:
                metrics = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if isinstance(metrics, dict) and metrics.get("metrics_version") == METRICS_VERSION:
                validate(metrics)
