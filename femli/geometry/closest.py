"""Nearest points on a triangulated surface made of named groups (lengths in um).

A remesh that builds a coarse mesh and splits it (:func:`femli.split.split`) leaves the new
boundary nodes on the coarse triangles' chords. :class:`SurfaceProjector` puts them back
on the surface the remesh started from: a node of one group onto that group's nearest
triangle, a node where two groups meet onto their common edges (the foot of a deposit
stays on its substrate's plane), so the split mesh interpolates the old boundary as a
direct fine remesh does. It has the interface :func:`femli.split.snap` projects with.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.spatial import cKDTree

__all__ = ["SurfaceProjector", "closest_on_segments", "closest_on_triangles"]

#: Candidate triangles (or edges) per point: the nearest by centre.
CANDIDATES = 12

#: Edges as (start points (m, 3), end points (m, 3), a tree of their midpoints).
_Edges = tuple[np.ndarray, np.ndarray, cKDTree]


def closest_on_segments(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The nearest point of segment ``a[i] b[i]`` to ``points[i]`` (arrays (..., 3))."""
    ab = b - a
    length2 = np.einsum("...j,...j->...", ab, ab)
    s = np.einsum("...j,...j->...", points - a, ab) / np.where(length2 > 0, length2, 1.0)
    return a + np.clip(s, 0.0, 1.0)[..., None] * ab


def closest_on_triangles(points: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """The nearest point of triangle ``corners[i]`` ((..., 3, 3)) to ``points[i]``: the
    foot on its plane when it falls inside, else the nearest point of its edges."""
    a, b, c = corners[..., 0, :], corners[..., 1, :], corners[..., 2, :]
    normal = np.cross(b - a, c - a)
    n2 = np.einsum("...j,...j->...", normal, normal)
    safe = np.where(n2 > 0, n2, 1.0)
    foot = points - (np.einsum("...j,...j->...", points - a, normal) / safe)[..., None] * normal
    # barycentric weights of the foot: signed areas of the sub-triangles
    inside = n2 > 0
    for p, q in ((b, c), (c, a), (a, b)):
        inside &= np.einsum("...j,...j->...", np.cross(q - p, foot - p), normal) >= 0
    edges = np.stack(
        [closest_on_segments(points, p, q) for p, q in ((a, b), (b, c), (c, a))], axis=-2
    )
    dist = np.linalg.norm(edges - points[..., None, :], axis=-1)
    nearest_edge = np.take_along_axis(edges, dist.argmin(axis=-1)[..., None, None], axis=-2)
    return np.where(inside[..., None], foot, nearest_edge[..., 0, :])


def _nearest_of(points: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Per point, the candidate (points (n, 3), candidates (n, k, 3)) nearest to it."""
    dist = np.linalg.norm(candidates - points[:, None, :], axis=2)
    return candidates[np.arange(len(points)), dist.argmin(axis=1)]


class SurfaceProjector:
    """Nearest points on the named triangle groups of a closed surface.

    Args:
        nodes: (n, 3) node coordinates (um).
        triangles: group name -> (m, 3) indices into ``nodes``.
        groups: group name -> the physical tag the projected mesh knows the group by.
        tags: the physical tags in the order of the masks' bits (:meth:`project`).
    """

    def __init__(
        self,
        nodes: np.ndarray,
        triangles: Mapping[str, np.ndarray],
        groups: Mapping[str, int],
        tags: list[int],
    ) -> None:
        self.nodes = np.asarray(nodes, dtype=float)
        self.names = {groups[n]: n for n in triangles if n in groups}
        self.tags = list(tags)
        self.triangles = {n: np.asarray(t, dtype=np.int64) for n, t in triangles.items()}
        self._trees: dict[str, cKDTree] = {}
        self._edges = self._shared_edges()

    def has_curved(self, tag: int) -> bool:
        """Whether the group of physical tag ``tag`` is not one plane (its chords may
        leave it)."""
        name = self.names.get(tag)
        return name is not None and not self._planar(name)

    def project(self, points: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """``points`` (n, 3) moved onto the surface: bit k of ``masks`` marks the node as
        on the group of physical tag ``tags[k]``. One group: its nearest point; two: the
        nearest point of their common edges; none known, or more: as they are."""
        new = points.copy()
        groups = [
            tuple(self.names[t] for k, t in enumerate(self.tags) if m >> k & 1 and t in self.names)
            for m in masks.tolist()
        ]
        by_groups: dict[tuple[str, ...], list[int]] = {}
        for i, key in enumerate(groups):
            by_groups.setdefault(tuple(sorted(key)), []).append(i)
        for key, members in by_groups.items():
            rows = np.asarray(members)
            if len(key) == 1:
                new[rows] = self._on_group(key[0], points[rows])
            elif len(key) == 2 and key in self._edges:
                new[rows] = self._on_edges(key, points[rows])
        return new

    def _planar(self, name: str) -> bool:
        x = self.nodes[np.unique(self.triangles[name])]
        if len(x) < 4:
            return True
        centred = x - x.mean(axis=0)
        spread = np.linalg.svd(centred, compute_uv=False)
        return bool(spread[-1] <= 1e-9 * max(spread[0], 1e-300))

    def _on_group(self, name: str, points: np.ndarray) -> np.ndarray:
        corners = self.nodes[self.triangles[name]]  # (m, 3, 3)
        if name not in self._trees:
            self._trees[name] = cKDTree(corners.mean(axis=1))
        k = min(CANDIDATES, len(corners))
        _, near = self._trees[name].query(points, k=k)
        near = np.reshape(near, (len(points), k))
        found = closest_on_triangles(np.repeat(points[:, None, :], k, axis=1), corners[near])
        return _nearest_of(points, found)

    def _on_edges(self, key: tuple[str, ...], points: np.ndarray) -> np.ndarray:
        a, b, tree = self._edges[key]
        k = min(CANDIDATES, len(a))
        _, near = tree.query(points, k=k)
        near = np.reshape(near, (len(points), k))
        found = closest_on_segments(np.repeat(points[:, None, :], k, axis=1), a[near], b[near])
        return _nearest_of(points, found)

    def _shared_edges(self) -> dict[tuple[str, ...], _Edges]:
        """Per pair of groups (sorted names), the edges one triangle of each shares."""
        names = sorted(self.triangles)
        sides = [(0, 1), (1, 2), (2, 0)]
        pairs = [np.sort(self.triangles[n][:, side], axis=1) for n in names for side in sides]
        owners = [np.full(len(self.triangles[n]), k) for k, n in enumerate(names) for _ in sides]
        if not pairs:
            return {}
        edges, owner = np.concatenate(pairs), np.concatenate(owners)
        _, inverse, counts = np.unique(edges, axis=0, return_inverse=True, return_counts=True)
        order = np.argsort(inverse.ravel(), kind="stable")
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])[counts == 2]
        first, second = order[starts], order[starts + 1]
        crossing = owner[first] != owner[second]
        first, second = first[crossing], second[crossing]
        low = np.minimum(owner[first], owner[second])
        high = np.maximum(owner[first], owner[second])
        result: dict[tuple[str, ...], _Edges] = {}
        for lo, hi in set(zip(low.tolist(), high.tolist(), strict=True)):
            ends = edges[first[(low == lo) & (high == hi)]]
            a, b = self.nodes[ends[:, 0]], self.nodes[ends[:, 1]]
            result[(names[lo], names[hi])] = (a, b, cKDTree(0.5 * (a + b)))
        return result
