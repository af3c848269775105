"""The benchmark problem: seed 003 nucleus array, tertiary Li deposition, and the Poisson floor.

Shared by ``case.py`` (one run) and ``crossover.py`` (direct vs iterative sizes), which
import ``dolfinx_solver`` before this module.

Geometry: the ``seed003_bare_li`` preset (six 0.55 um hemispherical Li nuclei on a
5 x 4.5 um anode under 5 um of electrolyte; a 2D cross-section for 2D), meshed with
``refinement`` dividing every mesh size. Physics: 1 M binary Li salt (D+ = 2.5e-10,
D- = 2.82e-10 m^2/s, t+ = 0.47), tertiary model, concentration-dependent Butler-Volmer
(i0 = 5.9 A/m^2, alpha 0.5/0.5) on nuclei and substrate, potentiostatic at -0.2 V
(about -28 mA/cm^2 mean deposition), bulk concentration and potential on top.
"""

from __future__ import annotations

import time

import dolfinx
import dolfinx.fem.petsc
import numpy as np
import ufl
from mpi4py import MPI
from petsc4py import PETSc

from femli.geometry import load_preset
from femli.mesh import Domain, build_domain
from femli.physics.conditions import Bulk, Electrode
from femli.physics.electrolyte import binary
from femli.physics.kinetics import ButlerVolmer
from femli.physics.model import CellModel
from femli.solve import presets

PRESET_3D = "seed003_bare_li"
PRESET_2D = "seed003_bare_li_2d"
POTENTIAL = -0.2  # V
CONCENTRATION = 1000.0  # mol/m^3
D_CATION, D_ANION = 2.5e-10, 2.82e-10  # m^2/s


def domain(
    refinement: float, comm: MPI.Comm = MPI.COMM_WORLD, dim: int = 3, split_levels: int = 0
) -> Domain:
    """The seed 003 nucleus array at ``refinement`` (built on rank 0, distributed; with
    ``split_levels``, meshed coarser and split on all ranks: femli.split)."""
    kind, params = load_preset(PRESET_3D if dim == 3 else PRESET_2D)
    return build_domain(kind, comm, split_levels, **{**params, "refinement": refinement})[0]


def tertiary_model(dom: Domain, model: str = "tertiary") -> tuple[CellModel, Electrode]:
    """Li deposition onto nuclei and substrate (potentiostatic)."""
    kinetics = ButlerVolmer(5.9, 0.5, 0.5, concentration_dependent=True)
    boundaries = {"nuclei": kinetics, "substrate": kinetics}
    electrode = Electrode("li", boundaries, potential=POTENTIAL)
    extra = {"conductivity": 0.768} if model == "secondary" else {}
    electrolyte = binary(CONCENTRATION, D_CATION, D_ANION, model=model, **extra)
    return CellModel(dom, electrolyte, [electrode], [Bulk(("bulk",))]), electrode


#: Poisson floor solvers: CG with PETSc's default GAMG and with the field-block GAMG of
#: the iterative preset; the faster of the two is the floor.
POISSON_SOLVERS: dict[str, dict] = {
    "gamg_default": {"ksp_type": "cg", "ksp_rtol": 1.0e-8, "pc_type": "gamg"},
    "gamg_preset": {"ksp_type": "cg", "ksp_rtol": 1.0e-8, **presets.GAMG},
}


class Poisson:
    """-div grad u = 1, u = 0 on the bulk boundary, P1: the scalar floor on the same mesh."""

    def __init__(self, dom: Domain) -> None:
        self.dom = dom
        space = dolfinx.fem.functionspace(dom.mesh, ("Lagrange", 1))
        u, v = ufl.TrialFunction(space), ufl.TestFunction(space)
        self.a = dolfinx.fem.form(ufl.inner(ufl.grad(u), ufl.grad(v)) * ufl.dx)
        self.L = dolfinx.fem.form(v * ufl.dx)
        dofs = dolfinx.fem.locate_dofs_topological(space, dom.dim - 1, dom.facets("bulk"))
        self.bc = dolfinx.fem.dirichletbc(0.0, dofs, space)
        self.num_dofs = space.dofmap.index_map.size_global

    def solve(self, solver: dict, prefix: str) -> dict:
        """Assemble, set up and solve from scratch (forms already compiled). Collective."""
        comm = self.dom.comm
        comm.barrier()
        start, start_cpu = time.perf_counter(), time.process_time()
        A = dolfinx.fem.petsc.assemble_matrix(self.a, bcs=[self.bc])
        A.assemble()
        b = dolfinx.fem.petsc.assemble_vector(self.L)
        dolfinx.fem.petsc.apply_lifting(b, [self.a], [[self.bc]])
        b.ghostUpdate(PETSc.InsertMode.ADD, PETSc.ScatterMode.REVERSE)
        dolfinx.fem.petsc.set_bc(b, [self.bc])
        assembled = time.perf_counter()
        ksp = PETSc.KSP().create(comm)
        ksp.setOptionsPrefix(prefix)
        opts = PETSc.Options()
        for key, value in solver.items():
            opts[prefix + key] = value
        ksp.setOperators(A)
        ksp.setFromOptions()
        x = b.duplicate()
        ksp.solve(b, x)
        cpu = time.process_time() - start_cpu
        comm.barrier()
        seconds = time.perf_counter() - start
        out = {
            "seconds": comm.allreduce(seconds, op=MPI.MAX),
            "cpu_seconds": comm.allreduce(cpu, op=MPI.MAX),
            "assembly_seconds": comm.allreduce(assembled - start, op=MPI.MAX),
            "iterations": ksp.getIterationNumber(),
            "converged": ksp.getConvergedReason() > 0,
        }
        for key in solver:
            del opts[prefix + key]
        for obj in (ksp, A, b, x):
            obj.destroy()
        return out


def relative_difference(a: np.ndarray, b: np.ndarray, comm: MPI.Comm) -> float:
    """max|a - b| / max|b| over the ranks (owned and ghost entries)."""
    num = comm.allreduce(float(np.abs(a - b).max(initial=0.0)), op=MPI.MAX)
    den = comm.allreduce(float(np.abs(b).max(initial=0.0)), op=MPI.MAX)
    return num / den if den else num
