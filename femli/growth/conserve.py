"""Volume-exact boundary motion for growth steps (SI: m, m^3, s).

A growth step moves each depositing node ``i`` by ``d_i`` along its surface normal. The
volume the moving boundary sweeps is exactly ``sum_i d_i . Nbar_i``, ``Nbar_i`` the
node's area-weighted normal (``int phi_i n ds``) averaged over the straight node paths:
it is quadratic in the path parameter in 3D (linear in 2D), so Simpson's rule
``(N(0) + 4 N(1/2) + N(1)) / 6`` is exact. Displacements ``d_i = q_i N_i / |N_i|^2``
(the first-order choice) sweep ``q_i`` plus a curvature excess of order ``d / R`` (1.6 %
on a 1 um hemisphere at 20 nm steps).

A first-order rescaling of each node by its own volume was tried and dropped: on a
coarse surface the per-node balances couple strongly (a step of half an edge moves the
neighbours' normals as much as the node's own), and the feet of two hemispheres facing
each other ran 20 % ahead. So the nodes move along ``N_i`` by ``q_i / |N_i|`` and one
factor, found in three passes, makes the total swept volume exact.

The volume of a step is that of the deposition current by the trapezoidal rule in time:
the rates at its start ``r^n`` and those expected at its end, ``r^n`` scaled by the
growth of each node's boundary measure (the same current density on the moved surface,
which is what changes the current of a growing deposit; the same total when the current
is held), plus what the step before owes:
half its step times the end rates it did not foresee. The deposit then equals the
trapezoidal Faraday volume up to the last step's unforeseen half (changes of the current
density only). On a new mesh (a remesh that keeps the enclosed volume) the nodes differ:
the total owed is carried over and spread over the new nodes by their rates
(:meth:`VolumeKeeper.carry`).
"""

from __future__ import annotations

import dolfinx
import numpy as np

from femli.growth.motion import MeshMover
from femli.growth.remesh import oriented_facets

__all__ = ["BoundaryMeasure", "VolumeKeeper"]

#: Passes of the total's factor, and the largest factor one pass may apply.
PASSES = 3
MAX_FACTOR = 2.0


class BoundaryMeasure:
    """Nodal normals ``int phi_i n ds`` and measures ``int phi_i ds`` of named boundaries
    with the boundary nodes displaced, from the facets' own vertices (the cells behind
    them may be inverted by a boundary-only displacement: a facet normal from its cell
    would flip). Facets keep the orientation they have now (outward). Collective."""

    def __init__(self, mover: MeshMover, names: tuple[str, ...]) -> None:
        self.mover = mover
        domain = mover.domain
        nodes, _ = oriented_facets(domain)  # owned, outward, of every named boundary
        owned = domain.facets(*names)
        owned = owned[owned < domain.mesh.topology.index_map(domain.dim - 1).size_local]
        keep = np.isin(_owned_tagged(domain), owned)
        geo, dofs = mover._geometry_map
        to_dof = np.full(domain.mesh.geometry.x.shape[0], -1)
        to_dof[geo] = dofs
        self.vertices = to_dof[nodes[keep]]  # (m, dim) displacement dofs of each facet
        self.n_dofs = len(dofs)
        self.sum = dolfinx.fem.Function(mover.space)

    def at(self, displacement: np.ndarray, s: float) -> tuple[np.ndarray, np.ndarray]:
        """(normals (ndofs, gdim), measures (ndofs,)) with the boundary moved by
        ``s x displacement`` (m)."""
        gdim = self.mover.gdim
        geo, dofs = self.mover._geometry_map
        x = np.zeros((self.n_dofs, gdim))
        x[dofs] = self.mover.domain.mesh.geometry.x[geo, :gdim]
        x += s * displacement.reshape(-1, gdim)
        corners = x[self.vertices]
        if gdim == 2:
            edge = corners[:, 1] - corners[:, 0]
            area = np.column_stack([edge[:, 1], -edge[:, 0]])
        else:
            area = 0.5 * np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
        share = area / gdim
        normals = self._accumulate(np.repeat(share, gdim, axis=0), gdim)
        size = np.linalg.norm(share, axis=1)
        measures = self._accumulate(np.repeat(size, gdim)[:, None] * np.eye(gdim)[:1], gdim)
        return normals, measures[:, 0]

    def _accumulate(self, per_corner: np.ndarray, gdim: int) -> np.ndarray:
        """Sum values (one row per facet corner) into the nodes, over all ranks."""
        acc = np.zeros((self.n_dofs, gdim))
        np.add.at(acc, self.vertices.ravel(), per_corner)
        self.sum.x.array[:] = acc.ravel()
        self.sum.x.scatter_reverse(dolfinx.la.InsertMode.add)
        self.sum.x.scatter_forward()
        return self.sum.x.array.reshape(-1, gdim).copy()


def _owned_tagged(domain) -> np.ndarray:
    """The owned named boundary facets, in the order :func:`oriented_facets` gives them."""
    tags = domain.facet_tags
    owned = domain.mesh.topology.index_map(domain.dim - 1).size_local
    keep = (tags.indices < owned) & np.isin(tags.values, list(domain.facet_names.values()))
    return tags.indices[keep]


class VolumeKeeper:
    """Displacements of the depositing nodes that sweep the Faraday volume of a step.

    Args:
        mover: the mesh mover (its vector P1 space, its sliding walls).
        depositing: the depositing boundaries' names.
        fixed_total: the total current is held (galvanostatic over a fixed reference
            area): the expected end rates keep the total, not the current density.
    """

    def __init__(self, mover: MeshMover, depositing: tuple[str, ...], fixed_total: bool = False):
        self.mover, self.measure = mover, BoundaryMeasure(mover, depositing)
        self.fixed_total = fixed_total
        self.expected: np.ndarray | None = None  # nodal end rates the last step assumed
        self.last_dt = 0.0
        self.carried = 0.0  # m^3 owed by the last step on the mesh before this one

    def pending(self, rates: np.ndarray) -> np.ndarray:
        """Volumes (m^3) the last step owes: half its step times the end rates it did not
        foresee (``rates``: the rates now, m^3/s), or the volume carried from the last
        mesh spread in proportion to ``rates``. Collective."""
        total = self._sum(rates)  # (collective: on every rank, before any branch)
        if self.expected is None or self.expected.shape != rates.shape:
            if self.carried == 0.0 or total == 0.0:  # nothing owed, or nowhere to put it
                return np.zeros_like(rates)
            return rates * (self.carried / total)
        return 0.5 * (rates - self.expected) * self.last_dt

    def owed(self, rates: np.ndarray) -> float:
        """The total volume (m^3) the last step owes (:meth:`pending`). Collective."""
        return self._sum(self.pending(rates))

    def carry(self, volume: float) -> None:
        """Owe ``volume`` (m^3; the :meth:`owed` of the keeper on the mesh this one
        replaces) until the next accepted step."""
        self.carried = volume

    def accept(self, expected: np.ndarray, dt: float) -> None:
        """A step of ``dt`` (s) was taken assuming the end rates ``expected`` (what was
        carried is paid)."""
        self.expected, self.last_dt, self.carried = expected.copy(), dt, 0.0

    def settle(self, volume: float) -> np.ndarray:
        """Prescribe (on the mover) one common normal offset of the depositing nodes that
        sweeps ``volume`` (m^3; growth positive) exactly: what a new mesh of the shape
        lacks of the deposit (a split remesh's chords). Returns the displacement (m).
        Collective."""
        zero = np.zeros((self.measure.n_dofs, self.mover.gdim))
        normals, _ = self.measure.at(zero, 0.0)
        lengths = np.linalg.norm(normals, axis=1)
        inward = -np.divide(normals, lengths[:, None], out=zero.copy(), where=lengths[:, None] > 0)
        total = self._sum(lengths)
        d = inward * (volume / total if total else 0.0)
        for _ in range(PASSES):
            self.mover.prescribe(d)
            d = self.mover.prescribed.x.array.reshape(d.shape).copy()
            mid, _ = self.measure.at(d, 0.5)
            end, _ = self.measure.at(d, 1.0)
            swept = self._sum(-np.einsum("ij,ij->i", d, (normals + 4 * mid + end) / 6.0))
            d *= np.clip(volume / swept, 1 / MAX_FACTOR, MAX_FACTOR) if swept else 1.0
        self.mover.prescribe(d)
        return d

    def _sum(self, values: np.ndarray) -> float:
        owned = self.mover.space.dofmap.index_map.size_local
        return self.mover.domain.comm.allreduce(float(values[:owned].sum()))

    def displacement(self, rates: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
        """Prescribe nodal displacements (on the mover) for a step ``dt`` (s) from the
        nodal rates ``rates`` (m^3/s, growth positive), along the nodes' inward normals.
        The step deposits the trapezoidal volume of the rates at its start and those
        expected at its end (the same current density on the moved surface's nodal
        measures), plus what the last step owes. Returns the displacement (m) and the
        expected end rates. Collective."""
        zero = np.zeros((len(rates), self.mover.gdim))
        normals, weights = self.measure.at(zero, 0.0)
        density = np.divide(rates, weights, out=np.zeros_like(rates), where=weights > 0)
        owed = self.pending(rates)
        norm2 = np.einsum("ij,ij->i", normals, normals)
        q = rates * dt + owed
        d = -np.divide(q, norm2, out=np.zeros_like(q), where=norm2 > 0)[:, None] * normals
        expected = rates
        for _ in range(PASSES):
            self.mover.prescribe(d)
            d = self.mover.prescribed.x.array.reshape(d.shape).copy()
            mid, _ = self.measure.at(d, 0.5)
            end, moved = self.measure.at(d, 1.0)
            expected = density * moved
            if self.fixed_total:
                now = self._sum(expected)
                expected *= self._sum(rates) / now if now else 1.0
            swept = self._sum(-np.einsum("ij,ij->i", d, (normals + 4 * mid + end) / 6.0))
            target = self._sum(0.5 * (rates + expected) * dt + owed)
            d *= np.clip(target / swept, 1 / MAX_FACTOR, MAX_FACTOR) if swept else 1.0
        self.mover.prescribe(d)
        return d, expected
