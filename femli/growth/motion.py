"""Mesh motion for moving electrodes (ALE): boundary displacement extended into the domain.

Depositing boundaries move by a prescribed nodal displacement. Every other named
boundary is classified once: a planar, axis-aligned one (box walls, a flat
substrate) lets nodes slide tangentially (zero normal component); any other (the
bulk/top boundary, curved passive surfaces) is fixed. The interior displacement solves
``div(k grad u) = 0`` with ``k = V_mean / V_cell`` (small cells are stiffer and keep
their shape). Coordinates are in metres.
"""

from __future__ import annotations

from collections.abc import Sequence

import dolfinx
import dolfinx.fem.petsc
import numpy as np
import ufl
from mpi4py import MPI
from petsc4py import PETSc

from femli.mesh import Domain
from femli.solve.problems import LinearProblem

__all__ = ["DIRECT_LIMIT", "MAX_SLIDE", "MeshMotionError", "MeshMover", "cell_measures"]

#: Largest stretch of a corner node's displacement along a sliding wall (volume-keeping).
MAX_SLIDE = 10.0
#: Mesh-motion problems with fewer unknowns than this are solved with LU (MUMPS).
DIRECT_LIMIT = 300_000


class MeshMotionError(RuntimeError):
    """A mesh update that would invert or flatten cells."""


def cell_measures(mesh: dolfinx.mesh.Mesh) -> tuple[np.ndarray, np.ndarray]:
    """Signed volume (area in 2D) and shape quality in (0, 1] of each local cell."""
    tdim = mesh.topology.dim
    n = mesh.topology.index_map(tdim).size_local + mesh.topology.index_map(tdim).num_ghosts
    nodes = mesh.geometry.x[mesh.geometry.dofmaps[0][:n]][:, :, :tdim]
    edges = nodes[:, 1:] - nodes[:, :1]
    det = np.linalg.det(edges)
    pairs = [(a, b) for a in range(tdim + 1) for b in range(a + 1, tdim + 1)]
    sq = sum(np.sum((nodes[:, a] - nodes[:, b]) ** 2, axis=1) for a, b in pairs)
    if tdim == 2:
        volume = 0.5 * det
        quality = 4.0 * np.sqrt(3.0) * np.abs(volume) / sq
    else:
        volume = det / 6.0
        quality = 12.0 * np.abs(3.0 * volume) ** (2.0 / 3.0) / sq
    return volume, quality


class MeshMover:
    """Moves a domain's mesh given the displacement of its depositing boundaries."""

    def __init__(self, domain: Domain, depositing: Sequence[str], fixed: Sequence[str]) -> None:
        self.domain = domain
        mesh = domain.mesh
        self.gdim = mesh.geometry.dim
        self.fdim = domain.dim - 1
        self.space = dolfinx.fem.functionspace(mesh, ("Lagrange", 1, (self.gdim,)))
        self.depositing = tuple(depositing)
        self.prescribed = dolfinx.fem.Function(self.space)
        self.displacement = dolfinx.fem.Function(self.space, name="displacement")
        others = [n for n in domain.facet_names if n not in self.depositing]
        axes = {n: self._slip_axis(n) for n in others if n not in fixed}
        self.slip = {n: k for n, k in axes.items() if k is not None}
        self._geometry_map = self._map_geometry()
        self.problem = self._extension_problem()

    def _slip_axis(self, name: str) -> int | None:
        """The axis a planar, axis-aligned boundary is normal to (None otherwise)."""
        facets = self.domain.facets(name)
        mesh = self.domain.mesh
        local = np.zeros(self.gdim)
        if facets.size:
            nodes = mesh.geometry.x[dolfinx.mesh.entities_to_geometry(mesh, self.fdim, facets)]
            spread = np.ptp(nodes[:, :, : self.gdim].reshape(-1, self.gdim), axis=0)
            local = spread
        spread = np.zeros_like(local)
        self.domain.comm.Allreduce(local, spread, op=MPI.MAX)
        scale = self.domain.comm.allreduce(
            float(np.ptp(mesh.geometry.x[:, : self.gdim], axis=0).max()), op=MPI.MAX
        )
        flat = np.flatnonzero(spread < 1e-9 * scale)
        return int(flat[0]) if flat.size == 1 else None

    def _map_geometry(self) -> tuple[np.ndarray, np.ndarray]:
        """(geometry node, displacement dof) pairs: P1 dofs follow the cell vertex order."""
        geo = self.domain.mesh.geometry.dofmaps[0].ravel()
        dofs = self.space.dofmap.list.ravel()
        nodes, first = np.unique(geo, return_index=True)
        return nodes, dofs[first]

    def _extension_problem(self) -> LinearProblem:
        mesh = self.domain.mesh
        u, v = ufl.TrialFunction(self.space), ufl.TestFunction(self.space)
        mean = dolfinx.fem.Constant(
            mesh, self.domain.measure(boundary=False) / self.domain.num_cells_global()
        )
        stiffness = mean / ufl.CellVolume(mesh)
        a = stiffness * ufl.inner(ufl.grad(u), ufl.grad(v)) * ufl.dx
        zero = dolfinx.fem.Constant(mesh, np.zeros(self.gdim))
        L = ufl.inner(zero, v) * ufl.dx
        dofs = self.space.dofmap.index_map.size_global * self.gdim
        options: dict[str, str | float | bool]
        if dofs < DIRECT_LIMIT:  # LU: robust when remeshed or squeezed cells upset AMG
            options = {"ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "mumps"}
        else:
            options = {"ksp_type": "cg", "pc_type": "gamg", "ksp_rtol": 1e-10}
        options["ksp_error_if_not_converged"] = True
        return LinearProblem(
            a,
            L,
            bcs=self._conditions(),
            u=self.displacement,
            petsc_options=options,
            petsc_options_prefix=f"femli_motion_{id(self)}_",
        )

    def _conditions(self) -> list:
        bcs = []
        fixed_names = [
            n for n in self.domain.facet_names if n not in self.depositing and n not in self.slip
        ]
        zero = np.zeros(self.gdim, dtype=dolfinx.default_scalar_type)
        if fixed_names:
            dofs = dolfinx.fem.locate_dofs_topological(
                self.space, self.fdim, self.domain.facets(*fixed_names)
            )
            bcs.append(dolfinx.fem.dirichletbc(zero, dofs, self.space))
        for name, axis in self.slip.items():
            sub = self.space.sub(axis)
            dofs = dolfinx.fem.locate_dofs_topological(sub, self.fdim, self.domain.facets(name))
            bcs.append(
                dolfinx.fem.dirichletbc(np.zeros((), dolfinx.default_scalar_type), dofs, sub)
            )
        dofs = dolfinx.fem.locate_dofs_topological(
            self.space, self.fdim, self.domain.facets(*self.depositing)
        )
        bcs.append(dolfinx.fem.dirichletbc(self.prescribed, dofs))  # last: wins at corners
        return bcs

    def prescribe(self, nodal: np.ndarray) -> None:
        """Set the depositing nodes' displacement (array (ndofs, gdim), m), keeping
        corner nodes on sliding walls on their wall.

        A corner node's displacement is along its surface normal; on the wall it keeps
        only the tangential part, stretched by |d|^2 / |d_t|^2 (at most
        :data:`MAX_SLIDE`) so that it sweeps the same volume (d . N unchanged), e.g. where
        a deposit meets a wall at an acute angle after merging with it."""
        values = nodal.copy()
        for name, axis in self.slip.items():
            blocks = dolfinx.fem.locate_dofs_topological(
                self.space, self.fdim, self.domain.facets(name)
            )
            d = values[blocks]
            full = np.einsum("ij,ij->i", d, d)
            d[:, axis] = 0.0
            kept = np.einsum("ij,ij->i", d, d)
            stretch = np.divide(full, kept, out=np.ones_like(full), where=kept > 0)
            values[blocks] = d * np.minimum(stretch, MAX_SLIDE)[:, None]
        self.prescribed.x.array[:] = values.ravel()
        self.prescribed.x.scatter_forward()

    def move(self, min_volume_ratio: float = 0.05) -> float:
        """Solve the extension and move the mesh; returns the new global min quality.

        Raises:
            MeshMotionError: if a cell would invert or shrink below ``min_volume_ratio``
                of its volume (the mesh is left unchanged).
        """
        try:
            self.problem.solve()
        except PETSc.Error as err:
            code = err.ierr  # type: ignore[attr-defined]  # petsc4py stubs: set in __init__
            raise MeshMotionError(f"mesh-motion solve failed (PETSc error {code})") from err
        self.displacement.x.scatter_forward()
        x = self.domain.mesh.geometry.x
        before, _ = cell_measures(self.domain.mesh)
        old = x.copy()
        nodes, dofs = self._geometry_map
        step = self.displacement.x.array.reshape(-1, self.gdim)[dofs]
        x[nodes, : self.gdim] += step
        after, quality = cell_measures(self.domain.mesh)
        ratio = np.min(after / before, initial=np.inf)
        ratio = self.domain.comm.allreduce(ratio, op=MPI.MIN)
        if ratio < min_volume_ratio:
            x[:] = old
            raise MeshMotionError(
                f"mesh update would shrink a cell to {ratio:.3g} of its volume "
                f"(limit {min_volume_ratio}); step cut or remesh needed"
            )
        return self.domain.comm.allreduce(float(quality.min(initial=1.0)), op=MPI.MIN)

    def quality(self) -> float:
        """Global minimum cell quality (1 = equilateral)."""
        _, q = cell_measures(self.domain.mesh)
        return self.domain.comm.allreduce(float(q.min(initial=1.0)), op=MPI.MIN)
