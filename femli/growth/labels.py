"""Names on a rebuilt electrode sheet, with the boundaries between names cut straight
across the triangles instead of following their edges (lengths in um; one rank).

A level-set rebuild names each new sheet triangle after the nearest old one. Where two
named surfaces meet on the sheet (a nucleus's foot on a depositing substrate, seed 003
with the slow substrate), that boundary then runs along the contour's triangle edges: a
zigzag at the grid's scale, which Gmsh must turn into a curve between two patches it
reparametrises. :func:`cut_names` instead gives every vertex the distance to the nearest
old triangle of each name and cuts each edge whose ends are nearest to different names
where the two distances are equal (linearly along the edge). Each triangle is split
along the cut points of its edges, so the boundary is a polyline crossing the triangles,
the same on both sides of every edge (the sheet stays closed and conforming).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

__all__ = ["MARGIN", "cut_names"]

#: A cut point is kept at least this share of its edge away from either end (no
#: sliver triangles where the equal-distance line passes near a vertex).
MARGIN = 0.15


def cut_names(
    points: np.ndarray,
    tris: np.ndarray,
    centres: np.ndarray,
    names: np.ndarray,
    fixed: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(points, tris, names)``: the sheet ``tris`` (m, 3) on ``points`` (n, 3) split
    where the nearest old name changes, each new triangle named. ``centres`` (k, 3) and
    ``names`` (k,): the old triangles' centroids and names. Edges with both ends
    ``fixed`` (an (n,) mask: on a plane, whose face is traced from the sheet's edges)
    are never cut. The old points keep their indices; cut points follow them. The
    triangles keep their orientation and cover the same surface."""
    kinds = np.unique(names)
    if len(kinds) < 2 or not len(tris):
        return points, tris, _nearest(points, tris, centres, names)
    distance = np.stack(
        [cKDTree(centres[names == kind]).query(points)[0] for kind in kinds], axis=1
    )
    nearest = np.argmin(distance, axis=1)
    cuts, where = _cut_points(points, tris, distance, nearest, fixed)
    new_points = np.concatenate([points, cuts])
    out_tris, out_kind, centres_added = _split(new_points, tris, nearest, where)
    return np.concatenate([new_points, centres_added]), out_tris, kinds[out_kind]


def _nearest(points, tris, centres, names) -> np.ndarray:
    if not len(tris):
        return np.zeros(0, dtype=object)
    _, k = cKDTree(centres).query(points[tris].mean(axis=1))
    return names[k]


def _cut_points(points, tris, distance, nearest, fixed):
    """The cut points (c, 3) and, per triangle edge (m, 3; edge j from corner j to
    corner j + 1), the index into the new points of its cut point or -1."""
    a, b = tris, np.roll(tris, -1, axis=1)
    cut = nearest[a] != nearest[b]
    if fixed is not None:
        cut &= ~(fixed[a] & fixed[b])
    lo, hi = np.minimum(a, b)[cut], np.maximum(a, b)[cut]
    keys, first = np.unique(lo * len(points) + hi, return_index=True)
    lo, hi = lo[first], hi[first]
    ka, kb = nearest[lo], nearest[hi]
    # d(name at lo) - d(name at hi) along the edge: -gap_lo at lo, +gap_hi at hi
    gap_lo = distance[lo, kb] - distance[lo, ka]
    gap_hi = distance[hi, ka] - distance[hi, kb]
    share = np.clip(gap_lo / np.maximum(gap_lo + gap_hi, 1e-300), MARGIN, 1.0 - MARGIN)
    cuts = points[lo] + share[:, None] * (points[hi] - points[lo])
    where = np.full(tris.shape, -1, dtype=np.int64)
    edge_keys = np.minimum(a, b) * len(points) + np.maximum(a, b)
    where[cut] = len(points) + np.searchsorted(keys, edge_keys[cut])
    return cuts, where


def _split(points, tris, nearest, where) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each triangle cut along its edges' cut points: (triangles, name index of each,
    the centres (c, 3) added to three-name triangles, numbered after ``points``)."""
    out: list[list[int]] = []
    kind: list[int] = []
    extra: list[np.ndarray] = []
    n_points = len(points)
    for t, w in zip(tris, where, strict=True):
        count = int((w >= 0).sum())
        if count == 0:
            out.append(list(t))
            kind.append(_majority(nearest[t]))
            continue
        if count == 3:
            centre = n_points + len(extra)
            extra.append(points[t].mean(axis=0))
            for j in range(3):  # corner j, the cuts on its two edges, the centre
                before, after = w[(j - 1) % 3], w[j]
                out += [[t[j], after, centre], [t[j], centre, before]]
                kind += [nearest[t[j]]] * 2
            continue
        j = int(np.flatnonzero(w >= 0)[0] if count == 1 else _lone(w))
        _one_or_two(out, kind, np.roll(t, -j), np.roll(w, -j), nearest, count)
    return (
        np.asarray(out, dtype=np.int64).reshape(-1, 3),
        np.asarray(kind, dtype=np.int64),
        np.asarray(extra, dtype=float).reshape(-1, 3),
    )


def _lone(w: np.ndarray) -> int:
    """The corner both of whose edges are cut (edges j - 1 and j)."""
    return next(j for j in range(3) if w[j] >= 0 and w[(j - 1) % 3] >= 0)


def _one_or_two(out, kind, t, w, nearest, count: int) -> None:
    """Split a triangle rotated so that edge 0 is its cut edge (one cut) or corner 0
    its lone corner (two cuts: edges 0 and 2)."""
    if count == 1:  # cut point c on edge (t0, t1): (t0, c, t2) and (c, t1, t2)
        c = w[0]
        out += [[t[0], c, t[2]], [c, t[1], t[2]]]
        kind += [nearest[t[0]], nearest[t[1]]]
        return
    c01, c20 = w[0], w[2]
    out += [[t[0], c01, c20], [c01, t[1], t[2]], [c01, t[2], c20]]
    kind += [nearest[t[0]], _majority(nearest[t[1:]]), _majority(nearest[t[1:]])]


def _majority(values: np.ndarray) -> int:
    found, counts = np.unique(values, return_counts=True)
    return int(found[np.argmax(counts)])
