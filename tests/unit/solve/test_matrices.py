"""Nested Jacobians whose volume blocks share one sparsity computation
(:mod:`femli.solve.matrices`) hold the same matrices as DOLFINx's own."""

from __future__ import annotations

from types import SimpleNamespace

import dolfinx
import dolfinx.fem.petsc
import numpy as np
import pytest
from mpi4py import MPI

from femli.mesh import build_domain
from femli.physics.conditions import Bulk, Electrode
from femli.physics.electrolyte import binary
from femli.physics.kinetics import ButlerVolmer
from femli.physics.model import CellModel
from femli.solve import matrices
from femli.solve.matrices import create_nest, pattern_key
from femli.solve.newton import Newton

GEOMETRY = {"dim": 3, "width": 2.0, "depth": 2.0, "height": 2.0, "diameter": 0.5, "count": 2}


@pytest.mark.mpi
def test_shared_pattern_blocks_assemble_to_dolfinx_matrices(monkeypatch):
    """The tertiary salt-balance Jacobian: three volume blocks (one pattern, made once)
    and the electrode-only coupling block (its own); assembled, every block has DOLFINx's
    rows, columns and values."""
    domain, _ = build_domain("nucleus_array", MPI.COMM_WORLD, refinement=1.0, seed=2, **GEOMETRY)
    kinetics = ButlerVolmer(5.9, 0.5, 0.5, concentration_dependent=True)
    electrode = Electrode("li", {"nuclei": kinetics, "substrate": kinetics}, potential=-0.1)
    model = CellModel(domain, binary(1000.0, 2.5e-10, 2.82e-10), [electrode], [Bulk(("bulk",))])
    model.set_potential(electrode, -0.1)
    made = []  # the patterns made here; DOLFINx's own blocks do not pass through this

    def counted(form):
        made.append(form)
        return dolfinx.cpp.fem.create_sparsity_pattern(form)

    cpp = SimpleNamespace(fem=SimpleNamespace(create_sparsity_pattern=counted), la=dolfinx.cpp.la)
    monkeypatch.setattr(matrices, "_cpp", cpp)
    newton = Newton(model, "iterative")
    assert len(made) == 1  # the problem's nested matrix: one pattern for three blocks
    forms = newton.problem.J
    keys = [[pattern_key(a) for a in row] for row in forms]
    assert keys[0][1] is None  # the salt row couples to phi on the electrodes only
    assert keys[0][0] is not None and keys[0][0] == keys[1][0] == keys[1][1]
    ours = create_nest(forms)
    theirs = dolfinx.fem.petsc.create_matrix(forms, kind="nest")
    for i, row in enumerate(forms):
        for j, form in enumerate(row):
            a, b = ours.getNestSubMatrix(i, j), theirs.getNestSubMatrix(i, j)
            for m in (a, b):
                dolfinx.fem.petsc.assemble_matrix(m, form, bcs=model.bcs)
                m.assemble()
            ia, ja, va = a.getValuesCSR()
            ib, jb, vb = b.getValuesCSR()
            assert np.array_equal(ia, ib) and np.array_equal(ja, jb), (i, j)
            assert np.array_equal(va, vb), (i, j)
            assert a.norm() > 0.0
    assert (
        newton.problem.A.getNestSubMatrix(1, 1).getInfo()["nz_allocated"]
        == (theirs.getNestSubMatrix(1, 1).getInfo()["nz_allocated"])
    )  # the problem's own nested matrix is made this way
    ours.destroy()
    theirs.destroy()


def test_nested_matrix_holds_the_only_reference_to_its_blocks():
    """Destroying femli's nested matrix frees its blocks as DOLFINx's does: a block made
    from a shared pattern was once held twice and never freed (200 MB per tertiary
    problem at 274 k nodes)."""
    domain, _ = build_domain("nucleus_array", MPI.COMM_WORLD, refinement=1.0, seed=2, **GEOMETRY)
    kinetics = ButlerVolmer(5.9, 0.5, 0.5, concentration_dependent=True)
    electrode = Electrode("li", {"nuclei": kinetics, "substrate": kinetics}, potential=-0.1)
    model = CellModel(domain, binary(1000.0, 2.5e-10, 2.82e-10), [electrode], [Bulk(("bulk",))])
    forms = Newton(model, "iterative").problem.J
    ours = create_nest(forms)
    theirs = dolfinx.fem.petsc.create_matrix(forms, kind="nest")
    held = {
        name: [nest.getNestSubMatrix(i, j) for i in range(2) for j in range(2)]
        for name, nest in (("ours", ours), ("theirs", theirs))
    }
    ours.destroy()
    theirs.destroy()
    for a, b in zip(held["ours"], held["theirs"], strict=True):
        assert a.getRefCount() == b.getRefCount() == 1  # only the handle taken here
