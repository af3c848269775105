"""Merging deposits that touch: a topology change of a 2D boundary loop (lengths in um).

A loop is a closed polygon ``points`` (n, 2) whose edge k (point k -> k+1) belongs to the
named group ``names[k]``. Growing deposits (the ``moving`` names) close the electrolyte
between them; where a vertex of a moving edge comes within ``gap`` of a segment of a
different piece of the boundary, the loop is cut there by a short *bridge* (a moving
edge) into two loops: the one holding an anchor boundary (the bulk) stays electrolyte,
the other is an enclosed pocket whose area is trapped electrolyte. "A different piece"
means: far along the loop (arc length > ``ratio`` x gap, e.g. two caps touching above a
substrate, or a crevice closing), or with another named boundary in between (a substrate
strip squeezed between two feet, or between a foot and a side wall).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from femli.geometry.loops import Polyline, signed_area

__all__ = [
    "NOTCH_RATIO",
    "Pinch",
    "deposit_seeds",
    "edge_deposits",
    "fuse",
    "loop_arrays",
    "loop_polylines",
    "pinches",
    "runs",
    "split",
]

#: Between two moving sides (a notch between merged deposits) the cut follows any notch
#: narrower than 60 degrees (arc / distance > 1 / sin 30) up to where it is ``gap`` wide:
#: the moving mesh loses volume in sharper notches.
NOTCH_RATIO = 2.0
#: A pocket counts as enclosed electrolyte only with its loop's orientation; pockets with
#: a signed area below this fraction of the loop's (collinear slivers) are accepted too.
_FLAT = 1e-9


@dataclass(slots=True)
class Pinch:
    """A candidate bridge from vertex ``i`` to point ``q`` on segment ``j``; ``gap`` (um)."""

    i: int
    j: int
    q: np.ndarray
    gap: float


def loop_arrays(loop: Sequence[Polyline]) -> tuple[np.ndarray, list[str]]:
    """A loop of polylines as (points (n, 2), edge names (n))."""
    points = np.concatenate([line.points[:-1] for line in loop])
    names = [line.name for line in loop for _ in range(len(line.points) - 1)]
    return points, names


def loop_polylines(points: np.ndarray, names: Sequence[str]) -> list[Polyline]:
    """Split a closed loop into runs of one name, starting at a name change."""
    n = len(names)
    shift = next((k for k in range(n) if names[k] != names[k - 1]), 0)
    order = [(shift + k) % n for k in range(n + 1)]
    runs, begin = [], 0
    for k in range(1, n + 1):
        if k == n or names[order[k]] != names[order[begin]]:
            runs.append(Polyline(names[order[begin]], points[order[begin : k + 1]]))
            begin = k
    return runs


def pinches(
    points: np.ndarray, names: Sequence[str], moving: Sequence[str], gap: float, ratio: float
) -> list[Pinch]:
    """Every moving-edge vertex within ``gap`` of a segment of another piece."""
    n = len(points)
    ends = np.roll(points, -1, axis=0)
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(ends - points, axis=1))])
    moving_edge = np.isin(np.asarray(names), list(moving))
    reach = gap + 0.5 * float(np.linalg.norm(ends - points, axis=1).max())
    tree = cKDTree(0.5 * (points + ends))
    found = []
    for i in np.flatnonzero(moving_edge | np.roll(moving_edge, 1)).tolist():
        for j in tree.query_ball_point(points[i], reach):
            if j in (i, (i - 1) % n):
                continue
            q, d = _project(points[i], points[j], ends[j])
            if d >= gap:
                continue
            along = abs(arc[j] + np.linalg.norm(q - points[j]) - arc[i])
            along = min(along, arc[-1] - along)
            limit = NOTCH_RATIO if moving_edge[j] and moving_edge[i - 1 : i + 1].all() else ratio
            if along > limit * d or _other_between(names, moving, i, j, arc):
                found.append(Pinch(int(i), int(j), q, float(d)))
    return found


def _project(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, float]:
    ab = b - a
    t = float(np.clip(np.dot(p - a, ab) / max(np.dot(ab, ab), 1e-300), 0.0, 1.0))
    q = a + t * ab
    return q, float(np.linalg.norm(p - q))


def _other_between(names, moving, i: int, j: int, arc: np.ndarray) -> bool:
    """Whether the shorter way from vertex i to segment j crosses a boundary named neither
    like segment j nor moving (a squeezed strip of another boundary)."""
    n = len(names)
    forward = (arc[j] - arc[i]) % arc[-1] <= arc[-1] / 2
    k = i if forward else (i - 1) % n
    while k != j:
        if names[k] != names[j] and names[k] not in moving:
            return True
        k = (k + 1) % n if forward else (k - 1) % n
    return False


def split(points: np.ndarray, names: Sequence[str], pinch: Pinch, bridge: str):
    """The two loops made by cutting along ``pinch`` (each: points, names)."""
    n = len(points)
    q_on_vertex = [k for k in (pinch.j, (pinch.j + 1) % n) if np.allclose(points[k], pinch.q)]
    if q_on_vertex:
        k = q_on_vertex[0]
    else:  # insert q into segment j
        points = np.insert(points, pinch.j + 1, pinch.q, axis=0)
        names = [*names[: pinch.j + 1], names[pinch.j], *names[pinch.j + 1 :]]
        k = pinch.j + 1
        n += 1
    i = pinch.i + (1 if not q_on_vertex and pinch.i > pinch.j else 0)
    order = np.roll(np.arange(n), -i)
    pts, nms = points[order], [names[o] for o in order.tolist()]
    k = int((k - i) % n)
    first = (pts[: k + 1], [*nms[:k], bridge])
    second = (np.vstack([pts[k:], pts[:1]]), [*nms[k:], bridge])
    return first, second


def runs(names: Sequence[str], moving: Sequence[str]) -> np.ndarray:
    """Index of the connected run of moving edges each edge is in (-1: not moving)."""
    mov = np.isin(np.asarray(names), list(moving))
    run = np.where(mov, 0, -1)
    if mov.all() or not mov.any():
        return run
    start, r = int(np.flatnonzero(~mov)[0]), -1
    for step in range(1, len(names) + 1):
        k = (start + step) % len(names)
        if mov[k]:
            r += 0 if mov[k - 1] else 1
            run[k] = r
    return run


def deposit_seeds(points: np.ndarray, names: Sequence[str], moving: Sequence[str]):
    """Centres (k, 2) of the runs of moving edges: the initial deposits' positions."""
    run = runs(names, moving)
    return np.array([points[run == r].mean(axis=0) for r in range(run.max() + 1)])


def edge_deposits(points, names, moving, seeds: np.ndarray) -> list[tuple[int, ...]]:
    """Deposit ids of each edge: the seeds whose nearest moving run holds the edge."""
    run = runs(names, moving)
    pieces = {int(r): points[run == r] for r in np.unique(run[run >= 0])}
    owner: dict[int, list[int]] = {}
    for s, seed in enumerate(np.asarray(seeds, dtype=float).reshape(-1, 2)):
        if pieces:
            best = min(pieces, key=lambda r: np.linalg.norm(pieces[r] - seed, axis=1).min())
            owner.setdefault(best, []).append(s)
    return [tuple(owner.get(int(r), ())) for r in run]


def fuse(
    loop: Sequence[Polyline],
    moving: Sequence[str],
    anchors: Sequence[str],
    gap: float,
    seeds: np.ndarray,
    ratio: float = 10.0,
) -> tuple[list[Polyline], list[dict]]:
    """Cut every pinch of one loop narrower than ``gap`` (the largest pocket first, until
    none is left: a closing cusp is zipped up to where it is ``gap`` wide).

    Returns the loop that stays electrolyte and one event per cut: the deposits (seed
    ids) at both ends (or the other end's boundary name), the gap and the trapped area
    (um^2).
    """
    points, names = loop_arrays(loop)
    events = []
    for _ in range(len(points)):
        cut = _best_cut(points, names, moving, anchors, gap, ratio)
        if cut is None:
            break
        lost, pinch, keep = cut
        ids = edge_deposits(points, names, moving, seeds)
        mine = ids[pinch.i] if names[pinch.i] in moving else ids[pinch.i - 1]
        events.append(
            {
                "deposits": list(mine),
                "with": list(ids[pinch.j]) if names[pinch.j] in moving else names[pinch.j],
                "point": [float(x) for x in points[pinch.i]],
                "gap": pinch.gap,
                "trapped": lost,
            }
        )
        points, names = keep
    return loop_polylines(points, names), events


def _best_cut(points, names, moving, anchors, gap, ratio):
    """(trapped area, pinch, kept loop) of the cut enclosing the largest pocket, or None."""
    area = signed_area(points)
    best = None
    for pinch in pinches(points, names, moving, gap, ratio):
        bridge = names[pinch.i] if names[pinch.i] in moving else names[pinch.i - 1]
        a, b = split(points, names, pinch, bridge)
        if min(len(a[0]), len(b[0])) < 3:
            continue
        areas = signed_area(a[0]) * np.sign(area), signed_area(b[0]) * np.sign(area)
        if min(areas) < -_FLAT * abs(area):  # the bridge would cross metal
            continue
        keep_a = _anchored(a[1], b[1], anchors, *areas)
        lost = areas[1] if keep_a else areas[0]
        if best is None or lost > best[0]:
            best = (max(lost, 0.0), pinch, a if keep_a else b)
    return best


def _anchored(names_a, names_b, anchors, area_a: float, area_b: float) -> bool:
    """Whether loop a (not b) is the one that stays: it has an anchor, else it is larger."""
    a, b = any(n in anchors for n in names_a), any(n in anchors for n in names_b)
    return a if a != b else area_a >= area_b
