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
    """Each triangle cut along its edges' cut points, the pieces in the triangles' order:
    (triangles, name index of each, the centres (c, 3) added to three-name triangles,
    numbered after ``points``)."""
    cut = where >= 0
    count = cut.sum(axis=1)
    # rotate each triangle: edge 0 its cut edge (one cut), corner 0 the corner between
    # its two cut edges (two cuts: edges 0 and 2)
    first = np.argmax(cut, axis=1)
    lone = np.argmax(cut & np.roll(cut, 1, axis=1), axis=1)
    shift = np.where(count == 2, lone, np.where(count == 1, first, 0))
    rows = np.arange(len(tris))[:, None]
    order = (shift[:, None] + np.arange(3)) % 3
    t, w = tris[rows, order], where[rows, order]
    n = nearest[t]
    pieces = [_whole(t, n, count == 0), _one(t, w, n, count == 1), _two(t, w, n, count == 2)]
    three = np.flatnonzero(count == 3)
    centres = points[tris[three]].mean(axis=1)
    pieces.append(_three(tris, where, nearest, three, len(points)))
    parent = np.concatenate([p for p, _, _ in pieces])
    at = np.argsort(parent, kind="stable")  # pieces of one triangle stay in their order
    out = np.concatenate([q for _, q, _ in pieces])[at]
    kind = np.concatenate([k for _, _, k in pieces])[at]
    return out.reshape(-1, 3), kind, centres.reshape(-1, 3)


def _whole(t, n, mask):
    """Uncut triangles: (parent, triangle, name index: the corners' majority)."""
    i = np.flatnonzero(mask)
    return i, t[i], _majority(n[i])


def _one(t, w, n, mask):
    """Cut point c on edge (t0, t1): (t0, c, t2) and (c, t1, t2)."""
    i = np.flatnonzero(mask)
    t0, t1, t2, c = t[i, 0], t[i, 1], t[i, 2], w[i, 0]
    tri = np.stack([np.stack([t0, c, t2], 1), np.stack([c, t1, t2], 1)], 1).reshape(-1, 3)
    return np.repeat(i, 2), tri, np.stack([n[i, 0], n[i, 1]], 1).ravel()


def _two(t, w, n, mask):
    """Cut points c01, c20 around corner t0: (t0, c01, c20), (c01, t1, t2), (c01, t2, c20)."""
    i = np.flatnonzero(mask)
    t0, t1, t2, c01, c20 = t[i, 0], t[i, 1], t[i, 2], w[i, 0], w[i, 2]
    tri = np.stack(
        [np.stack([t0, c01, c20], 1), np.stack([c01, t1, t2], 1), np.stack([c01, t2, c20], 1)],
        1,
    ).reshape(-1, 3)
    rest = _majority(n[i][:, 1:])
    return np.repeat(i, 3), tri, np.stack([n[i, 0], rest, rest], 1).ravel()


def _three(tris, where, nearest, i, n_points):
    """Three cuts: a centre; per corner j (its cuts before = edge j - 1, after = edge j),
    (t_j, after, centre) and (t_j, centre, before)."""
    centre = n_points + np.arange(len(i))
    out, kind = [], []
    for j in range(3):
        corner, before, after = tris[i, j], where[i, (j - 1) % 3], where[i, j]
        out += [np.stack([corner, after, centre], 1), np.stack([corner, centre, before], 1)]
        kind += [nearest[corner]] * 2
    tri = np.stack(out, 1).reshape(-1, 3)
    return np.repeat(i, 6), tri, np.stack(kind, 1).ravel()


def _majority(values: np.ndarray) -> np.ndarray:
    """Per row of ``values`` (r, 2 or 3), the value most of its entries take (a tie: the
    smallest)."""
    if values.shape[1] == 2:
        return values.min(axis=1)  # equal, or a tie
    a, b, c = values.T
    return np.where((a == b) | (a == c), a, np.where(b == c, b, values.min(axis=1)))
