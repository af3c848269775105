"""femli.ufl_traversers: a freed model's functions and mesh are freed (CPython 3.12.0-3.12.8
and 3.13.0-3.13.1 kept every UFL traverser, and with it every model, alive)."""

from __future__ import annotations

import functools
import gc
import weakref

from mpi4py import MPI
from ufl.corealg.dag_traverser import DAGTraverser

from femli.mesh import build_domain
from femli.physics.conditions import Bulk, Electrode
from femli.physics.electrolyte import binary
from femli.physics.kinetics import ButlerVolmer
from femli.physics.model import CellModel
from femli.solve.newton import Newton
from femli.ufl_traversers import _subclasses, disable_method_caches


def _freed_after_newton() -> bool:
    domain, _ = build_domain("box", MPI.COMM_WORLD, dim=2, h_far=1.0, h_electrode=0.25)
    kinetics = ButlerVolmer(5.9, 0.5, 0.5)
    electrode = Electrode("li", {"electrode": kinetics}, potential=-0.05)
    model = CellModel(domain, binary(1000.0, 2.5e-10, 2.82e-10), [electrode], [Bulk(("bulk",))])
    newton = Newton(model, "iterative")  # UFL derivatives of the residual: traversers
    space = weakref.ref(model.unknowns[0].function_space)
    del model, newton, domain, electrode
    gc.collect()
    return space() is None


def test_a_freed_problem_frees_its_function_spaces():
    assert _freed_after_newton()


def test_no_traverser_method_keeps_a_cache():
    assert disable_method_caches() == 0  # already off since femli.mesh imported this
    for cls in (DAGTraverser, *_subclasses(DAGTraverser)):
        for method in vars(cls).values():
            if isinstance(method, functools.singledispatchmethod):
                assert getattr(method, "_method_cache", None) is None, cls
