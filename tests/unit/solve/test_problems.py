"""PETSc problems freed by Python at a different moment on each rank (garbage collector,
reference cycles) are destroyed collectively later, never inside one rank's ``__del__``."""

from __future__ import annotations

import gc
import time

import dolfinx
import numpy as np
import pytest
import ufl
from mpi4py import MPI

from femli.solve.problems import LinearProblem, NonlinearProblem, pending, release

LU = {"ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "mumps"}


def solved_problems(mesh) -> list:
    """A solved nonlinear and linear problem (MUMPS factors: collective to destroy)."""
    space = dolfinx.fem.functionspace(mesh, ("Lagrange", 1))
    u, v, w = dolfinx.fem.Function(space), ufl.TestFunction(space), ufl.TrialFunction(space)
    residual = (ufl.inner(ufl.grad(u), ufl.grad(v)) + (u**3 - 1.0) * v) * ufl.dx
    u.x.array[:] = 0.5  # u = 1 solves it (natural boundary conditions)
    nonlinear = NonlinearProblem(residual, u, petsc_options_prefix="t_nl_", petsc_options=LU)
    nonlinear.solve()
    assert nonlinear.solver.getConvergedReason() > 0 and np.allclose(u.x.array, 1.0)
    a = (ufl.inner(ufl.grad(w), ufl.grad(v)) + w * v) * ufl.dx
    linear = LinearProblem(a, v * ufl.dx, petsc_options_prefix="t_l_", petsc_options=LU)
    x = linear.solve()
    assert np.allclose(x.x.array, 1.0)  # -lap x + x = 1 with natural BCs: x = 1
    return [nonlinear, linear]


def flushed(comm: MPI.Comm) -> int:
    """Free what earlier tests left (cycles, problems freed everywhere) on every rank;
    returns this rank's count of problems still kept aside (the baseline)."""
    gc.collect()
    release(comm)
    return pending(comm)


def on_all_ranks(comm: MPI.Comm, ok: bool, what: str) -> None:
    """Assert on every rank at once, so that no rank fails alone and leaves the others
    waiting in the next collective."""
    verdicts = comm.allgather(bool(ok))
    assert all(verdicts), f"{what}: ranks {[r for r, v in enumerate(verdicts) if not v]}"


def in_step(comm: MPI.Comm, capture, seconds: float = 60.0) -> None:
    """Barrier that aborts the job (instead of hanging) when a rank does not arrive."""
    request, start = comm.Ibarrier(), time.monotonic()
    while not request.Test():
        if time.monotonic() - start > seconds:
            with capture.disabled():
                print(f"rank {comm.rank}: another rank is stuck (destroying a problem alone?)")
            comm.Abort(1)
        time.sleep(0.01)


@pytest.mark.mpi
def test_a_problem_freed_by_one_rank_alone_waits_for_the_others(capfd):
    comm = MPI.COMM_WORLD
    mesh = dolfinx.mesh.create_unit_square(comm, 8, 8)
    base = flushed(comm)
    problems = solved_problems(mesh)
    for p in problems:
        p.cycle = p  # only the garbage collector frees these
    del problems, p
    gc.disable()
    try:
        if comm.rank == 0:
            gc.collect()  # rank 0 alone, as an automatic collection would
        in_step(comm, capfd)
        expected = 2 if comm.size > 1 and comm.rank == 0 else 0
        # kept aside on rank 0 (destroyed at once on one process)
        on_all_ranks(comm, pending(comm) - base == expected, "kept aside after rank 0's gc")
        released = release(comm)  # not freed on the other ranks yet: nothing destroyed
        on_all_ranks(comm, released == 0, "release before the others freed them")
        gc.collect()
        both = 2 if comm.size > 1 else 0
        on_all_ranks(comm, pending(comm) - base == both, "kept aside after every rank's gc")
        on_all_ranks(comm, release(comm) == both, "released once freed everywhere")
        on_all_ranks(comm, pending(comm) == base, "nothing left")
    finally:
        gc.enable()


@pytest.mark.mpi
def test_creating_a_problem_destroys_the_ones_freed_before():
    comm = MPI.COMM_WORLD
    mesh = dolfinx.mesh.create_unit_square(comm, 8, 8)
    base = flushed(comm)
    del solved_problems(mesh)[:]  # freed at once (no cycle)
    freed = pending(comm) - base
    on_all_ranks(comm, freed == (2 if comm.size > 1 else 0), f"kept aside: {freed}")
    problems = solved_problems(mesh)
    on_all_ranks(comm, pending(comm) <= base, "destroyed at the next problem creation")
    del problems
    release(comm)
