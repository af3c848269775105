"""Nested (block) Jacobian matrices whose blocks share one sparsity computation.

DOLFINx builds each block of a nested matrix from its own sparsity pattern. The blocks
of femli's field-split Jacobians mostly have the same one: every block whose form has a
cell integral over every cell (and no interior-facet integral) between the same test and
trial dofmaps couples exactly the nodes of each cell, whatever else (exterior-facet
terms) it integrates, since a facet's nodes are nodes of its cell. Such a block is made
from the first one's sparsity pattern (computing a pattern is what creating a block
costs: 0.19 of 0.21 s at 1.3 M cells, the PETSc matrix from it 0.003 s); the others
(the salt balance's electrode-only coupling block, say) get their own pattern. At
1.15 M nodes creating the tertiary problem's nested matrix took 9 s (py-spy).

:func:`shared_patterns` makes DOLFINx's ``NonlinearProblem`` create its nested matrix
this way (DOLFINx offers no argument for it).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import dolfinx
import dolfinx.fem.petsc
from dolfinx import cpp as _cpp
from dolfinx.fem import IntegralType
from petsc4py import PETSc

__all__ = ["create_nest", "pattern_key", "shared_patterns"]

_create_matrix = dolfinx.fem.petsc.create_matrix  # DOLFINx's own, for single blocks


def pattern_key(form: dolfinx.fem.Form) -> tuple | None:
    """What fixes the sparsity pattern of ``form`` when it is the cell pattern of its
    test and trial dofmaps (a cell integral over every owned cell, no interior-facet
    integral): the dofmaps' identities; None when the pattern is the form's own."""
    if IntegralType.interior_facet in form.integral_types:
        return None
    if IntegralType.cell not in form.integral_types:
        return None
    cpp = form._cpp_object
    owned = form.mesh.topology.index_map(form.mesh.topology.dim).size_local
    cells = (
        cpp.domains(IntegralType.cell, k) for k in range(cpp.num_integrals(IntegralType.cell, 0))
    )
    if not any(len(c) == owned for c in cells):
        return None
    return tuple(
        (V.dofmap.map().__array_interface__["data"][0], V.dofmap.index_map.size_local, V.dofmap.bs)
        for V in cpp.function_spaces
    )


def create_nest(forms: Sequence[Sequence[dolfinx.fem.Form | None]]) -> PETSc.Mat:
    """A nested matrix for the rectangular array ``forms`` (``None``: an empty block),
    the blocks of one :func:`pattern_key` made from one sparsity pattern."""
    patterns: dict[tuple, object] = {}
    blocks: list[list[PETSc.Mat | None]] = []
    comm = None
    for row in forms:
        blocks.append([])
        for form in row:
            if form is None:
                blocks[-1].append(None)
                continue
            comm = form.mesh.comm
            key = pattern_key(form)
            if key is None:
                blocks[-1].append(_create_matrix(form))
                continue
            if key not in patterns:
                pattern = _cpp.fem.create_sparsity_pattern(form._cpp_object)
                pattern.finalize()
                patterns[key] = pattern
            blocks[-1].append(_cpp.la.petsc.create_matrix(comm, patterns[key], None))
    if comm is None:
        raise ValueError("a nested matrix needs at least one form")
    # petsc4py takes None for an empty block; its stubs do not say so
    nest = PETSc.Mat().createNest(blocks, comm=comm)  # type: ignore[arg-type]
    # The nest holds its own reference to each block; drop ours, as DOLFINx's
    # create_matrix_nest does. A Mat from _cpp.la.petsc.create_matrix is otherwise
    # never destroyed (its Python wrapper is never freed): every solver leaked its
    # blocks, 200 MB per tertiary problem at 274 k nodes.
    for row_blocks in blocks:
        for block in row_blocks:
            if block is not None:
                block.destroy()
    return nest


def _create_matrix_sharing(a, kind=None):
    """``dolfinx.fem.petsc.create_matrix`` with :func:`create_nest` for nested kinds."""
    nested = isinstance(a, Sequence) and not isinstance(a, dolfinx.fem.Form)
    if kind == "nest" and nested:
        return create_nest(a)
    return _create_matrix(a, kind=kind)


@contextmanager
def shared_patterns(active: bool = True) -> Iterator[None]:
    """While the block runs (if ``active``), DOLFINx's ``create_matrix`` makes nested
    matrices with :func:`create_nest`; the original afterwards, whatever happens."""
    if not active:
        yield
        return
    dolfinx.fem.petsc.create_matrix = _create_matrix_sharing
    try:
        yield
    finally:
        dolfinx.fem.petsc.create_matrix = _create_matrix
