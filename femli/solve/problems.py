"""DOLFINx PETSc problems that Python may free on any rank at any time.

DOLFINx's ``NonlinearProblem`` and ``LinearProblem`` destroy their SNES / KSP, matrices
and vectors in ``__del__``. On several processes that is collective (MUMPS frees its
distributed factorisation, for one), but *when* ``__del__`` runs is up to each rank:
Python's cyclic garbage collector runs when this rank's allocation count says so, and a
reference cycle that holds the solver on one rank only (a traceback kept, say) moves
the last reference elsewhere. One rank then waits in MUMPS for ranks that wait in
another collective, for ever (the MPI hang of ``tests/robustness/test_solver_failure.py``:
rank 0 freed a solver while plotting, rank 1 was meshing the next case).

So the classes here never destroy a parallel problem in ``__del__``: they keep its PETSc
objects aside, and :func:`release` destroys them where every rank calls it, only those
freed on every rank, in creation order. Every problem creation calls it (collective
anyway). A problem on one process is destroyed at once, as in DOLFINx.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import dolfinx.fem.petsc
from mpi4py import MPI
from petsc4py import PETSc

__all__ = ["LinearProblem", "NonlinearProblem", "pending", "release"]

#: World ranks of a communicator -> creation number -> PETSc objects of a freed problem.
_pending: dict[tuple[int, ...], dict[int, list]] = {}
#: World ranks of a communicator -> problems created on it so far.
_created: dict[tuple[int, ...], int] = {}


def _members(comm: MPI.Comm) -> tuple[int, ...]:
    """The world ranks of ``comm``'s processes (the same key on each). Collective."""
    return tuple(comm.allgather(MPI.COMM_WORLD.rank))


def pending(comm: MPI.Comm) -> int:
    """Freed parallel problems on ``comm``'s processes not yet destroyed (this rank)."""
    return len(_pending.get(_members(comm), {})) if comm.size > 1 else 0


def release(comm: MPI.Comm) -> int:
    """Destroy the PETSc objects of problems freed on every rank of ``comm``, and PETSc's
    garbage (petsc4py objects freed) on it. Collective; returns how many problems."""
    if comm.size == 1:
        return 0
    members = _members(comm)
    kept = _pending.get(members, {})
    common = set.intersection(*(set(keys) for keys in comm.allgather(list(kept))))
    for number in sorted(common):
        objects = kept.pop(number)
        PETSc.garbage_cleanup(objects[0].comm)  # e.g. wrappers of its matrices, its KSP
        for obj in objects:
            obj.destroy()
    PETSc.garbage_cleanup(comm)
    return len(common)


class _Collective:
    """``__del__`` that keeps a parallel problem's PETSc objects for :func:`release`."""

    _petsc_names: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs) -> None:
        """The DOLFINx problem's own arguments; then :meth:`_register`. Collective."""
        super().__init__(*args, **kwargs)
        self._register()

    def _register(self) -> None:
        """Number the problem on its communicator; release earlier ones. Collective."""
        u = self._u[0] if isinstance(self._u, Sequence) else self._u
        comm = u.function_space.mesh.comm
        if comm.size > 1:
            members = _members(comm)
            self._key = (members, _created.get(members, 0))
            _created[members] = self._key[1] + 1
        release(comm)

    def __del__(self) -> None:
        objects = [getattr(self, name, None) for name in self._petsc_names]
        objects = [obj for obj in objects if obj is not None]
        key = getattr(self, "_key", None)
        if key is not None and objects:  # parallel: destroyed collectively by release()
            _pending.setdefault(key[0], {})[key[1]] = objects
        elif key is None and hasattr(self, "_u") and not sys.is_finalizing():
            for obj in objects:  # one process (or left to petsc4py if set-up failed)
                if obj.comm.size == 1:
                    obj.destroy()


class NonlinearProblem(_Collective, dolfinx.fem.petsc.NonlinearProblem):
    """:class:`dolfinx.fem.petsc.NonlinearProblem` that any rank may free at any time.

    Creation is collective; it also destroys the problems freed before (:func:`release`)."""

    _petsc_names = ("_snes", "_A", "_b", "_x", "_P_mat")


class LinearProblem(_Collective, dolfinx.fem.petsc.LinearProblem):
    """:class:`dolfinx.fem.petsc.LinearProblem` that any rank may free at any time.

    Creation is collective; it also destroys the problems freed before (:func:`release`)."""

    _petsc_names = ("_solver", "_A", "_b", "_x", "_P_mat")
