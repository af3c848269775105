"""Mesh motion for moving electrodes (ALE): boundary displacement extended into the domain.

Depositing boundaries move by a prescribed nodal displacement. Every other named
boundary is classified once: a planar, axis-aligned one (box walls, a flat
substrate) lets nodes slide tangentially (zero normal component); any other (the
bulk/top boundary, curved passive surfaces) is fixed. The interior displacement solves
``div(k grad u) = 0`` with ``k = V_mean / V_cell`` (small cells are stiffer and keep
their shape). Coordinates are in metres.

The extension is a smoothing of the interior nodes, not physics: the moving boundaries get
their displacement exactly whatever operator extends it. Its operator is therefore built
on one shape and kept for :data:`REFRESH_STEPS` moves (or until the mesh quality has
fallen by :data:`REFRESH_QUALITY`, or a move with it would squeeze a cell too far), one
scalar problem per displacement component (the vector Laplacian has no coupling between
components; the components differ only in which boundary nodes are held): a move is then
one LU solve (or a few multigrid cycles) per component, with no assembly. The operator is
also rebuilt on the shape a checkpoint saves (:meth:`MeshMover.rebuild_next`), so that a
restarted run moves its mesh exactly as the uninterrupted one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import dolfinx
import dolfinx.fem.petsc
import numpy as np
import ufl
from mpi4py import MPI
from petsc4py import PETSc

from femli.mesh import Domain

log = logging.getLogger(__name__)

__all__ = [
    "DIRECT_LIMIT",
    "MAX_SLIDE",
    "REFRESH_QUALITY",
    "REFRESH_STEPS",
    "MeshMotionError",
    "MeshMover",
    "cell_measures",
]

#: Largest stretch of a corner node's displacement along a sliding wall (volume-keeping).
MAX_SLIDE = 10.0
#: Meshes with fewer nodes than this solve the extension with LU (MUMPS), larger ones with
#: CG and GAMG (one scalar problem per displacement component).
DIRECT_LIMIT = 50_000
#: Moves made with one extension operator before it is rebuilt on the present shape.
REFRESH_STEPS = 10
#: ... or once the mesh's min cell quality has fallen below this fraction of what it was
#: when the operator was built (its stiffness then no longer protects the cells squeezed
#: since).
REFRESH_QUALITY = 0.9
#: Relative tolerance of the CG extension solves (the interior nodes' placement only).
MOTION_RTOL = 1e-6


class MeshMotionError(RuntimeError):
    """A mesh update that would invert or flatten cells."""


def cell_measures(mesh: dolfinx.mesh.Mesh) -> tuple[np.ndarray, np.ndarray]:
    """Signed volume (area in 2D) and shape quality in (0, 1] of each local cell: the
    volume over the squared edge lengths' sum, scaled to 1 for the regular simplex
    (determinants and edge lengths from the edge vectors: 6x faster than
    ``numpy.linalg.det`` on stacked matrices)."""
    tdim = mesh.topology.dim
    n = mesh.topology.index_map(tdim).size_local + mesh.topology.index_map(tdim).num_ghosts
    cells, x = mesh.geometry.dofmaps[0][:n], mesh.geometry.x
    first = x[cells[:, 0], :tdim]
    edges = [x[cells[:, k], :tdim] - first for k in range(1, tdim + 1)]
    if tdim == 3:  # the triple product, written out (numpy.cross is 3x slower)
        (ax, ay, az), (bx, by, bz), (cx, cy, cz) = (e.T for e in edges)
        det = ax * (by * cz - bz * cy) - ay * (bx * cz - bz * cx) + az * (bx * cy - by * cx)
    else:
        det = edges[0][:, 0] * edges[1][:, 1] - edges[0][:, 1] * edges[1][:, 0]
    sq = sum(np.einsum("ij,ij->i", e, e) for e in edges)  # edges from the first vertex
    for a in range(tdim):
        for b in range(a + 1, tdim):  # and between the others
            d = edges[a] - edges[b]
            sq = sq + np.einsum("ij,ij->i", d, d)
    if tdim == 2:
        volume = 0.5 * det
        quality = 4.0 * np.sqrt(3.0) * np.abs(volume) / sq
    else:
        volume = det / 6.0
        quality = 12.0 * np.abs(3.0 * volume) ** (2.0 / 3.0) / sq
    return volume, quality


class _Extension:
    """The extension operator on one shape: the stiffness matrix ``K`` and, per
    displacement component, ``K`` with that component's held rows and columns replaced by
    the identity, with its solver (LU factorisation or multigrid). :meth:`update` puts in
    the present shape (the matrices, their pattern and the LU's analysis are kept).

    Args:
        domain: the mesh (its mean cell volume scales the stiffness).
        space: the scalar P1 space.
        held: per component, the local dofs whose value is given (sorted, unique).
        direct: LU (MUMPS) instead of CG with GAMG.
    """

    def __init__(
        self, domain: Domain, space: dolfinx.fem.FunctionSpace, held: list[np.ndarray], direct: bool
    ):
        mesh = space.mesh
        u, v = ufl.TrialFunction(space), ufl.TestFunction(space)
        mean = domain.measure(boundary=False) / domain.num_cells_global()
        stiffness = dolfinx.fem.Constant(mesh, mean) / ufl.CellVolume(mesh)
        self.form = dolfinx.fem.form(stiffness * ufl.inner(ufl.grad(u), ufl.grad(v)) * ufl.dx)
        self.K = dolfinx.fem.petsc.create_matrix(self.form)
        owned = space.dofmap.index_map.size_local
        self.held = held
        self.rows = [dofs[dofs < owned] for dofs in held]  # each held dof on its owner
        self.matrices: list[PETSc.Mat] = []  # made at the first update (from K)
        self.solvers = [_solver(mesh.comm, direct) for _ in held]
        self.rhs = self.K.createVecLeft()

    def use_direct(self) -> None:
        """LU (MUMPS) from now on; set up at the next :meth:`update`."""
        comm = self.K.getComm().tompi4py()
        for ksp in self.solvers:
            ksp.destroy()
        self.solvers = [_solver(comm, True) for _ in self.held]

    def update(self) -> None:
        """Assemble the operators on the present shape and set up their solvers."""
        self.K.zeroEntries()
        # into the kept matrix (DOLFINx's stubs list only the form-first signature)
        dolfinx.fem.petsc.assemble_matrix(self.K, self.form)  # type: ignore[arg-type]
        self.K.assemble()
        if not self.matrices:
            self.matrices = [self.K.duplicate(copy=False) for _ in self.held]
        for A, rows, ksp in zip(self.matrices, self.rows, self.solvers, strict=True):
            self.K.copy(A, structure=PETSc.Mat.Structure.SAME)  # type: ignore[arg-type]
            A.zeroRowsColumnsLocal(rows, diag=1.0)
            ksp.setOperators(A)
            ksp.setUp()

    def solve(self, component: int, given: dolfinx.fem.Function, out: dolfinx.fem.Function) -> int:
        """``out`` = the extension of ``given``'s values on the held dofs of ``component``
        (``given`` zero elsewhere); returns the KSP's converged reason. Collective."""
        self.K.mult(given.x.petsc_vec, self.rhs)
        self.rhs.scale(-1.0)
        rows = self.rows[component]
        self.rhs.array[rows] = given.x.array[rows]
        ksp = self.solvers[component]
        ksp.solve(self.rhs, out.x.petsc_vec)
        out.x.scatter_forward()
        dofs = self.held[component]
        out.x.array[dofs] = given.x.array[dofs]  # exactly (CG meets them to its tolerance)
        reason: int = ksp.getConvergedReason()  # type: ignore[assignment]  # an int here
        return reason

    def destroy(self) -> None:
        """Free the PETSc objects."""
        for obj in (*self.solvers, *self.matrices, self.K, self.rhs):
            obj.destroy()


def _solver(comm: MPI.Comm, direct: bool) -> PETSc.KSP:
    ksp = PETSc.KSP().create(comm)  # type: ignore[arg-type]  # an mpi4py communicator
    pc = ksp.getPC()
    if direct:
        ksp.setType("preonly")
        pc.setType("lu")
        pc.setFactorSolverType("mumps")
    else:
        ksp.setType("cg")
        ksp.setTolerances(rtol=MOTION_RTOL, max_it=1000)
        ksp.setInitialGuessNonzero(True)  # the component's last displacement
        pc.setType("gamg")
    return ksp


class MeshMover:
    """Moves a domain's mesh given the displacement of its depositing boundaries.

    Args:
        domain: the mesh and its named regions.
        depositing: boundaries whose displacement is given (:meth:`prescribe`).
        fixed: boundaries that do not move (others slide if planar and axis-aligned).
        direct: LU for the extension (default: below :data:`DIRECT_LIMIT` nodes).
    """

    def __init__(
        self,
        domain: Domain,
        depositing: Sequence[str],
        fixed: Sequence[str],
        direct: bool | None = None,
    ) -> None:
        self.domain = domain
        mesh = domain.mesh
        self.gdim = mesh.geometry.dim
        self.fdim = domain.dim - 1
        self.space = dolfinx.fem.functionspace(mesh, ("Lagrange", 1, (self.gdim,)))
        self.scalar = dolfinx.fem.functionspace(mesh, ("Lagrange", 1))
        self.depositing = tuple(depositing)
        self.prescribed = dolfinx.fem.Function(self.space)
        self.displacement = dolfinx.fem.Function(self.space, name="displacement")
        others = [n for n in domain.facet_names if n not in self.depositing]
        axes = {n: self._slip_axis(n) for n in others if n not in fixed}
        self.slip = {n: k for n, k in axes.items() if k is not None}
        self._geometry_map = self._map_geometry()
        self._blocks = self._scalar_blocks()
        self._held, self._moving = self._held_dofs(fixed)
        nodes = self.scalar.dofmap.index_map.size_global
        self.direct = nodes < DIRECT_LIMIT if direct is None else direct
        self._given = dolfinx.fem.Function(self.scalar)
        self._parts = [dolfinx.fem.Function(self.scalar) for _ in range(self.gdim)]
        self._operator: _Extension | None = None
        #: moves made with the present extension operator
        self.age = 0
        #: extension operators built so far (assemblies and factorisations)
        self.operators_built = 0
        self._quality = self._built_quality = 1.0  # min cell quality now / at the build
        #: (coordinates, cell volumes, cell qualities) of the shape last measured
        self._measured: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

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

    def _scalar_blocks(self) -> np.ndarray:
        """The vector space's block (node) of each scalar dof: both follow the cells."""
        blocks = np.empty(
            self.scalar.dofmap.index_map.size_local + self.scalar.dofmap.index_map.num_ghosts,
            dtype=np.int64,
        )
        blocks[self.scalar.dofmap.list.ravel()] = self.space.dofmap.list.ravel()
        return blocks

    def _held_dofs(self, fixed: Sequence[str]) -> tuple[list[np.ndarray], np.ndarray]:
        """Per component, the scalar dofs whose displacement is given (fixed boundaries,
        sliding walls normal to the component, the depositing boundaries); and the
        depositing ones (their values win at corners)."""

        def dofs(*names: str) -> np.ndarray:
            if not names:
                return np.zeros(0, dtype=np.int32)
            facets = self.domain.facets(*names)
            return dolfinx.fem.locate_dofs_topological(self.scalar, self.fdim, facets)

        held_names = [
            n for n in self.domain.facet_names if n not in self.depositing and n not in self.slip
        ]
        moving = dofs(*self.depositing)
        common = np.union1d(dofs(*held_names), moving)
        held = []
        for axis in range(self.gdim):
            walls = [n for n, k in self.slip.items() if k == axis]
            held.append(np.union1d(common, dofs(*walls)).astype(np.int32))
        return held, moving

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
        """Extend the prescribed displacement and move the mesh; returns the new global
        min quality. A move made with an operator built on an earlier shape that would
        squeeze a cell too far is redone with one built on the present shape. Collective.

        Raises:
            MeshMotionError: if a cell would invert or shrink below ``min_volume_ratio``
                of its volume (the mesh is left unchanged), or the extension solve failed.
        """
        worn = self._quality < REFRESH_QUALITY * self._built_quality
        if self._operator is None or self.age >= REFRESH_STEPS or worn:
            self._build()
        ratio, quality = self._try_move(min_volume_ratio)
        if ratio < min_volume_ratio and self.age > 0:
            self._build()
            ratio, quality = self._try_move(min_volume_ratio)
        if ratio < min_volume_ratio:
            raise MeshMotionError(
                f"mesh update would shrink a cell to {ratio:.3g} of its volume "
                f"(limit {min_volume_ratio}); step cut or remesh needed"
            )
        self.age += 1
        self._quality = quality
        return quality

    def shift(self, min_volume_ratio: float = 0.05) -> float:
        """Move only the nodes the prescribed displacement holds, for offsets far below
        the cells' sizes (:meth:`~femli.growth.conserve.VolumeKeeper.settle`): no extension
        solve (with it, 2.8 s at 130 k nodes, the operator's build included). A shift that
        would squeeze a cell below ``min_volume_ratio`` of its volume is extended instead
        (:meth:`move`). Returns the new global min quality. Collective."""
        ratio, quality = self._try_move(min_volume_ratio, extend=False)
        if ratio < min_volume_ratio:
            return self.move(min_volume_ratio)
        self._quality = quality
        return quality

    def rebuild_next(self) -> None:
        """Build the extension operator afresh at the next move (on the shape then)."""
        self.age = REFRESH_STEPS

    def _build(self) -> None:
        """The extension operator on the present shape. Collective."""
        if self._operator is None:
            self._operator = _Extension(self.domain, self.scalar, self._held, self.direct)
        self._operator.update()
        self.operators_built += 1
        self.age = 0
        # measured on the mesh (not the last move's: a failed step puts the shape back),
        # so that a run restarted on this shape decides its rebuilds alike
        self._built_quality = self._quality = self.quality()

    def _extend(self) -> None:
        """The displacement of every node from the prescribed one. Collective."""
        assert self._operator is not None
        given = self.prescribed.x.array.reshape(-1, self.gdim)
        for axis, part in enumerate(self._parts):
            self._given.x.array[:] = 0.0
            self._given.x.array[self._moving] = given[self._blocks[self._moving], axis]
            reason = self._operator.solve(axis, self._given, part)
            if reason <= 0 and not self.direct:  # GAMG failed (squeezed cells): LU from now
                log.info("mesh-motion CG failed (reason %d); LU from now on", reason)
                self.direct = True
                self._operator.use_direct()
                self._build()
                reason = self._operator.solve(axis, self._given, part)
            if reason <= 0:
                raise MeshMotionError(f"mesh-motion solve failed (KSP reason {reason})")
        out = self.displacement.x.array.reshape(-1, self.gdim)
        for axis, part in enumerate(self._parts):
            out[self._blocks, axis] = part.x.array

    def _try_move(self, min_volume_ratio: float, extend: bool = True) -> tuple[float, float]:
        """Move the nodes by the extended displacement (or the depositing nodes by their
        prescribed one alone);
        (smallest volume ratio, min quality) over all ranks. A move below
        ``min_volume_ratio`` is undone."""
        if extend:
            self._extend()
        else:  # the depositing nodes' prescribed displacement, nothing elsewhere
            blocks = self._blocks[self._moving]
            given = self.prescribed.x.array.reshape(-1, self.gdim)
            self.displacement.x.array[:] = 0.0
            self.displacement.x.array.reshape(-1, self.gdim)[blocks] = given[blocks]
        x = self.domain.mesh.geometry.x
        before, _ = self._measures()
        old = x.copy()
        nodes, dofs = self._geometry_map
        x[nodes, : self.gdim] += self.displacement.x.array.reshape(-1, self.gdim)[dofs]
        after, quality = self._measures()
        comm = self.domain.comm
        ratio = comm.allreduce(float(np.min(after / before, initial=np.inf)), op=MPI.MIN)
        if ratio < min_volume_ratio:
            x[:] = old
        return ratio, comm.allreduce(float(quality.min(initial=1.0)), op=MPI.MIN)

    def quality(self) -> float:
        """Global minimum cell quality (1 = equilateral)."""
        _, q = self._measures()
        return self.domain.comm.allreduce(float(q.min(initial=1.0)), op=MPI.MIN)

    def _measures(self) -> tuple[np.ndarray, np.ndarray]:
        """:func:`cell_measures` of the present shape, kept while the coordinates stay
        as they are (a move's result is the next move's start and the recorded quality:
        one measurement per move instead of three, 0.15 s each at 100 k nodes)."""
        x = self.domain.mesh.geometry.x
        if self._measured is None or not np.array_equal(self._measured[0], x):
            self._measured = (x.copy(), *cell_measures(self.domain.mesh))
        return self._measured[1], self._measured[2]
