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

Nested Jacobian assembly that keeps the state-independent part of a block.

A Jacobian block whose volume terms do not depend on the unknowns (the salt balance's
``D_amb grad . grad`` and storage terms, say) is the same matrix at every Newton step
and time step with the same ``dt``. :class:`NestJacobian` assembles such a block's
state-independent integrals once into a copy of the block, and at each evaluation
copies them back (a copy of the values, same sparsity) and adds the state-dependent
integrals (the electrode terms). The copy is reassembled when anything it was built
from changes: a constant (``dt``, potentials), a coefficient field, or the mesh
geometry (moving boundaries). It costs one block's memory per kept block.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import dolfinx
import dolfinx.fem.petsc
import numpy as np
import ufl
from dolfinx.fem import DirichletBC, bcs_by_block
from dolfinx.fem.petsc import assemble_matrix, assemble_vector, assign, set_bc
from dolfinx.la.petsc import _ghost_update, _zero_vector
from mpi4py import MPI
from petsc4py import PETSc
from ufl.algorithms import expand_derivatives
from ufl.algorithms.analysis import extract_coefficients, extract_constants

import femli.ufl_traversers  # noqa: F401  (switches off CPython's leaking method cache)
from femli.solve.matrices import shared_patterns

__all__ = [
    "LinearProblem",
    "NestJacobian",
    "NonlinearProblem",
    "ghost_update",
    "nest_residual",
    "pending",
    "release",
    "split_state_independent",
]


#: World ranks of a communicator -> creation number -> PETSc objects of a freed problem.
_pending: dict[tuple[int, ...], dict[int, list]] = {}
#: World ranks of a communicator -> problems created on it so far.
_created: dict[tuple[int, ...], int] = {}


def ghost_update(x: PETSc.Vec, insert: int, scatter: int) -> None:
    """DOLFINx's ghost update of ``x`` (each block of a nested one), with petsc4py's
    ``InsertMode`` and ``ScatterMode`` values."""
    # DOLFINx annotates the modes as the petsc4py classes; their values are ints
    _ghost_update(x, insert, scatter)  # type: ignore[arg-type]


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
    PETSc.garbage_cleanup(comm)  # type: ignore[arg-type]  # petsc4py stubs: mpi4py's too
    return len(common)


class _Collective:
    """``__del__`` that keeps a parallel problem's PETSc objects for :func:`release`."""

    _petsc_names: tuple[str, ...] = ()
    _u: dolfinx.fem.Function | Sequence[dolfinx.fem.Function]  # the DOLFINx problem's

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
        objects = [
            obj for name in self._petsc_names if (obj := getattr(self, name, None)) is not None
        ]
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

    def __init__(self, *args, **kwargs) -> None:
        """DOLFINx's arguments; a nested Jacobian's blocks of one sparsity pattern are
        made once (:func:`femli.solve.matrices.shared_patterns`). Collective."""
        with shared_patterns(kwargs.get("kind") == "nest"):
            super().__init__(*args, **kwargs)


class LinearProblem(_Collective, dolfinx.fem.petsc.LinearProblem):
    """:class:`dolfinx.fem.petsc.LinearProblem` that any rank may free at any time.

    Creation is collective; it also destroys the problems freed before (:func:`release`)."""

    _petsc_names = ("_solver", "_A", "_b", "_x", "_P_mat")


def split_state_independent(
    form: ufl.Form, unknowns: Sequence
) -> tuple[ufl.Form | None, ufl.Form | None]:
    """``(independent, dependent)`` integrals of ``form`` (derivatives expanded).

    ``independent`` holds the integrals whose integrand has none of ``unknowns`` among
    its coefficients; either part may be ``None`` (empty).
    """
    unknown_ids = {id(u) for u in unknowns}
    independent: list[ufl.Integral] = []
    dependent: list[ufl.Integral] = []
    for integral in expand_derivatives(form).integrals():
        coefficients = extract_coefficients(integral.integrand())
        part = dependent if any(id(c) in unknown_ids for c in coefficients) else independent
        part.append(integral)
    return (
        ufl.Form(independent) if independent else None,
        ufl.Form(dependent) if dependent else None,
    )


class _KeptBlock:
    """A block's state-independent part, assembled into its own matrix when stale.

    Its integrals include a cell integral over the whole mesh, so their sparsity is the
    block's: the first evaluation assembles them into the block and keeps a copy.
    """

    def __init__(self, form: ufl.Form, mesh: dolfinx.mesh.Mesh) -> None:
        self.form = dolfinx.fem.form(form)
        self.constants = extract_constants(form)
        self.coefficients = extract_coefficients(form)
        self.mesh = mesh
        self.matrix: PETSc.Mat | None = None
        self._built_from: list[np.ndarray] = []

    def _inputs(self) -> list[np.ndarray]:
        values = [np.atleast_1d(np.asarray(c.value)) for c in self.constants]
        values += [c.x.array for c in self.coefficients]
        return [*values, self.mesh.geometry.x]

    def _stale(self, inputs: list[np.ndarray]) -> bool:
        """Whether any rank's inputs changed (collective: reassembly is collective, and
        a moving boundary may move only one rank's nodes)."""
        changed = any(
            a.shape != b.shape or not np.array_equal(a, b)
            for a, b in zip(inputs, self._built_from, strict=True)
        )
        return self.mesh.comm.allreduce(changed, op=MPI.LOR)

    def assemble(self, block: PETSc.Mat, bcs: Sequence[DirichletBC]) -> None:
        """Put this part into ``block`` (zeroed), reassembling it first if stale."""
        inputs = self._inputs()
        if self.matrix is None:
            _assemble_into(block, self.form, bcs)
            block.assemble()
            self.matrix = block.duplicate(copy=True)
            self._built_from = [a.copy() for a in inputs]
            return
        if self._stale(inputs):
            self.matrix.zeroEntries()
            _assemble_into(self.matrix, self.form, bcs)
            self.matrix.assemble()
            self._built_from = [a.copy() for a in inputs]  # copied only when they change
        same = PETSc.Mat.Structure.SAME_NONZERO_PATTERN  # an int; the stubs want the class
        self.matrix.copy(block, structure=same)  # type: ignore[arg-type]


def _assemble_into(matrix: PETSc.Mat, form: dolfinx.fem.Form, bcs: Sequence[DirichletBC]) -> None:
    """DOLFINx's ``assemble_matrix`` into ``matrix`` (Dirichlet rows and columns zeroed,
    1 on the diagonal)."""
    # the variant into a matrix is registered on functools.singledispatch: mypy sees only
    # the base signature
    assemble_matrix(matrix, form, bcs, diag=1.0)  # type: ignore[arg-type, misc]


def _whole_mesh_volume(form: ufl.Form) -> bool:
    """True if ``form`` has a cell integral over every cell."""
    return any(
        i.subdomain_id() in ("everywhere", "otherwise") for i in form.integrals_by_type("cell")
    )


class NestJacobian:
    """SNES Jacobian callback for a nested matrix, one block at a time.

    Dirichlet rows and columns are zeroed with 1 on the diagonal. Blocks with
    state-independent cell integrals keep them (:class:`_KeptBlock`); the others, and
    the state-dependent integrals, are assembled at every call. Only one block's
    packed coefficients are alive at a time.
    """

    def __init__(
        self, residual: Sequence[ufl.Form], unknowns: Sequence, bcs: Sequence[DirichletBC]
    ) -> None:
        self.unknowns, self.bcs = list(unknowns), bcs
        self.forms: list[list] = []
        self.kept: dict[tuple[int, int], _KeptBlock] = {}
        mesh = self.unknowns[0].function_space.mesh
        for i, F in enumerate(residual):
            row = []
            for j, u in enumerate(self.unknowns):
                trial = ufl.TrialFunction(u.function_space)
                independent, dependent = split_state_independent(
                    ufl.derivative(F, u, trial), unknowns
                )
                if (
                    independent is not None
                    and _whole_mesh_volume(independent)
                    and (dependent is None or not dependent.integrals_by_type("interior_facet"))
                ):
                    self.kept[i, j] = _KeptBlock(independent, mesh)
                else:
                    dependent = _sum(independent, dependent)
                row.append(None if dependent is None else dolfinx.fem.form(dependent))
            self.forms.append(row)

    def __call__(self, _snes, x: PETSc.Vec, A: PETSc.Mat, _P) -> None:
        ghost_update(x, PETSc.InsertMode.INSERT, PETSc.ScatterMode.FORWARD)
        # assign(Vec, functions) is registered on functools.singledispatch: mypy sees only
        # assign(functions, Vec)
        assign(x, self.unknowns)  # type: ignore[arg-type]
        A.zeroEntries()
        for i, row in enumerate(self.forms):
            for j, form in enumerate(row):
                if (i, j) in self.kept:
                    self.kept[i, j].assemble(A.getNestSubMatrix(i, j), self.bcs)
                if form is not None:
                    _assemble_into(A.getNestSubMatrix(i, j), form, self.bcs)
        A.assemble()


def _sum(a: ufl.Form | None, b: ufl.Form | None) -> ufl.Form | None:
    if a is None or b is None:
        return a if b is None else b
    return a + b


def nest_residual(_snes, x, b, u, residual, bcs) -> None:
    """Residual at ``x`` into the nested vector ``b``, one field block at a time.

    The unknowns satisfy the Dirichlet conditions (imposed before each solve; Newton
    corrections vanish there), so there is no lifting: constrained rows get ``x - g``.
    Each block packs its own coefficients: one block's packed data alive at a time.
    """
    ghost_update(x, PETSc.InsertMode.INSERT, PETSc.ScatterMode.FORWARD)
    assign(x, u)
    _zero_vector(b)
    for form, b_sub in zip(residual, b.getNestSubVecs(), strict=True):
        assemble_vector(b_sub, form)
    ghost_update(b, PETSc.InsertMode.ADD, PETSc.ScatterMode.REVERSE)
    spaces = [form.function_spaces[0] for form in residual]
    set_bc(b, bcs_by_block(spaces, bcs), x0=x, alpha=-1.0)
    ghost_update(b, PETSc.InsertMode.INSERT, PETSc.ScatterMode.FORWARD)
