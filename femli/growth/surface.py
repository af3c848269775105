"""The electrode surface as an implicit function on a background grid (lengths in um).

A 3D growth run rebuilds its electrolyte mesh from a level set when deposits merge or
the mesh degrades (:mod:`femli.growth.rebuild`). This module makes that level set from
the present mesh's boundary triangles; :mod:`femli.growth.contour` turns it back into
labelled surfaces for Gmsh. No DOLFINx here: plain arrays on one rank.

The domain is a box: planar, axis-aligned boundaries that do not move (:class:`Plane`:
the side walls, a passive flat substrate, the bulk on top) and the *sheet*, every other
boundary triangle (the moving electrode: nuclei, an active substrate). The level set
``phi`` is the signed distance to the sheet, positive in the electrolyte, on a grid whose
nodes sit at cell centres ``(k + 1/2) h`` from the planes (no node on a plane) and which
extends a few layers past each plane, where ``phi`` is the mirror image (the planes are
symmetry planes, as the walls of a cell of a periodic nucleus array are). The sign comes
from the parity of sheet crossings above each node (the metal lies below the sheet).
Distances are exact (to the triangles) in a band around the sheet and clipped outside.

Deposits closer than a gap ``g`` merge by a morphological closing of the metal with a
ball of diameter ``g`` (:func:`close`): gaps narrower than ``g`` fill with a neck, and
concave metal corners get a fillet of radius ``g/2``; closing is idempotent, so a shape
once closed is not changed again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyvista as pv
from scipy import ndimage
from scipy.spatial import cKDTree

__all__ = [
    "Grid",
    "Plane",
    "close",
    "contour",
    "level_set",
    "make_grid",
    "unsigned_distance",
]

#: Mirror layers past each plane (cells).
PAD = 4
#: Exact distances are computed this many cells past the band the caller asks for.
MARGIN = 2.0
#: Grid values this close to the contour level (share of the grid spacing) are pushed
#: to it (:func:`contour`).
NUDGE = 0.05


@dataclass(frozen=True, slots=True)
class Plane:
    """A planar, axis-aligned boundary that does not move: the boundaries ``names`` on
    ``x[axis] = value`` (um); the domain lies on the side ``side`` (+1: above, -1: below)."""

    names: tuple[str, ...]
    axis: int
    value: float
    side: int


@dataclass(frozen=True, slots=True)
class Grid:
    """A uniform grid: node ``(i, j, k)`` at ``origin + (i, j, k) * spacing`` (um).

    ``inner[a]`` is the index range ``[start, stop)`` of the nodes inside the domain on
    axis ``a``; nodes outside it on a side with a plane are the mirror images of inside
    nodes (``mirror[a]``: whether the low / high side mirrors)."""

    origin: np.ndarray
    spacing: np.ndarray
    shape: tuple[int, int, int]
    inner: tuple[tuple[int, int], ...]
    mirror: tuple[tuple[bool, bool], ...]

    def axis(self, a: int) -> np.ndarray:
        """Node coordinates along axis ``a`` (um)."""
        return self.origin[a] + np.arange(self.shape[a]) * self.spacing[a]

    def points(self, index: tuple[np.ndarray, ...] | None = None) -> np.ndarray:
        """Coordinates (n, 3) of the nodes with multi-index ``index`` (all nodes if None)."""
        if index is None:
            index = tuple(g.ravel() for g in np.indices(self.shape))
        return self.origin + np.stack(index, axis=1) * self.spacing

    def image(self, values: np.ndarray, name: str = "f") -> pv.ImageData:
        """``values`` (grid shape) as VTK image data."""
        img = pv.ImageData(dimensions=self.shape, spacing=self.spacing, origin=self.origin)
        img.point_data[name] = np.asarray(values, dtype=float).ravel(order="F")
        return img

    def reflect(self, values: np.ndarray) -> np.ndarray:
        """Fill the mirror layers of ``values`` (grid shape) from the inside nodes."""
        for a, ((start, stop), (low, high)) in enumerate(zip(self.inner, self.mirror, strict=True)):
            index = np.arange(self.shape[a])
            source = index.copy()
            if low:
                source[:start] = 2 * start - 1 - index[:start]
            if high:
                source[stop:] = 2 * stop - 1 - index[stop:]
            values = np.take(values, source, axis=a)
        return values


def make_grid(
    planes: list[Plane], sheet_z: tuple[float, float], h: float, top: float
) -> tuple[Grid, float]:
    """The grid over the box of ``planes`` from below the sheet (``sheet_z``: its lowest
    and highest z, um) to a cut ``PAD`` cells above it, spacing about ``h``. Returns the
    grid and the height of the cut (um), below the top plane ``top``.

    Lateral spacings divide the box exactly; each plane lies halfway between two nodes.
    """
    lo, hi = _bounds(planes)
    origin, spacing, shape, inner, mirror = [], [], [], [], []
    for a in (0, 1):
        n = max(math.ceil((hi[a] - lo[a]) / h - 1e-9), 1)
        step = (hi[a] - lo[a]) / n
        origin.append(lo[a] + (0.5 - PAD) * step)
        spacing.append(step)
        shape.append(n + 2 * PAD)
        inner.append((PAD, PAD + n))
        mirror.append((True, True))
    bottom = [p for p in planes if p.axis == 2 and p.side > 0]
    z0 = bottom[0].value if bottom else sheet_z[0] - PAD * h
    cells = math.ceil((sheet_z[1] - z0) / h) + PAD
    cut = z0 + cells * h
    if cut >= top:
        raise ValueError(
            f"the deposits reach {sheet_z[1]:.4g} um, within {PAD} grid cells ({PAD * h:.3g} "
            f"um) of the bulk boundary at {top:.4g} um: the electrolyte above them is too thin"
        )
    pad_low = PAD if bottom else 0
    origin.append(z0 + (0.5 - pad_low) * h)
    spacing.append(h)
    shape.append(pad_low + cells + PAD)
    inner.append((pad_low, pad_low + cells + PAD))
    mirror.append((bool(bottom), False))
    grid = Grid(
        np.array(origin),
        np.array(spacing),
        (shape[0], shape[1], shape[2]),
        tuple(inner),
        tuple(mirror),
    )
    return grid, cut


def _bounds(planes: list[Plane]) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper lateral plane of the box (um); raises if a side has none."""
    lo, hi = np.full(3, np.nan), np.full(3, np.nan)
    for p in planes:
        (lo if p.side > 0 else hi)[p.axis] = p.value
    if np.isnan(lo[:2]).any() or np.isnan(hi[:2]).any():
        raise ValueError(
            "the 3D level-set rebuild needs a box: a planar, axis-aligned side wall on each "
            "of the four sides (x and y low and high)"
        )
    return lo, hi


# -- distances ---------------------------------------------------------------------------
def unsigned_distance(points: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """Exact distance (um) from ``points`` (n, 3) to the nearest of the triangles ``tris``
    (m, 3, 3), a soup (mirror images may overlap): PyVista's implicit distance (VTK's
    closest point on the cells a locator finds; the sign, unreliable on a soup, is
    dropped)."""
    if not len(tris) or not len(points):
        return np.full(len(points), np.inf)
    corners = np.ascontiguousarray(tris, dtype=np.float64).reshape(-1, 3)
    faces = np.column_stack([np.full(len(tris), 3), np.arange(len(corners)).reshape(-1, 3)])
    soup = pv.PolyData(corners, faces=faces.ravel())
    probe = pv.PointSet(np.ascontiguousarray(points, dtype=np.float64))
    return np.abs(probe.compute_implicit_distance(soup, inplace=True)["implicit_distance"])


# -- sign --------------------------------------------------------------------------------
def crossings_above(grid: Grid, tris: np.ndarray) -> np.ndarray:
    """Number of sheet crossings above each grid node along +z (grid shape), counted on
    vertical lines through the node columns (a watertight top-left rule for lines through
    a shared edge)."""
    x0, y0 = grid.origin[:2]
    hx, hy = grid.spacing[:2]
    a, b, c = tris[:, 0], tris[:, 1], tris[:, 2]
    area = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    keep = area != 0
    a, b, c, area = a[keep], b[keep], c[keep], area[keep]
    flip = area < 0
    b, c = np.where(flip[:, None], c, b), np.where(flip[:, None], b, c)
    xy = np.stack([a, b, c], axis=1)[:, :, :2]
    i0 = np.ceil((xy[:, :, 0].min(axis=1) - x0) / hx).astype(int).clip(0, grid.shape[0])
    i1 = np.floor((xy[:, :, 0].max(axis=1) - x0) / hx).astype(int).clip(-1, grid.shape[0] - 1)
    j0 = np.ceil((xy[:, :, 1].min(axis=1) - y0) / hy).astype(int).clip(0, grid.shape[1])
    j1 = np.floor((xy[:, :, 1].max(axis=1) - y0) / hy).astype(int).clip(-1, grid.shape[1] - 1)
    ni, nj = np.maximum(i1 - i0 + 1, 0), np.maximum(j1 - j0 + 1, 0)
    count = ni * nj
    tri = np.repeat(np.arange(len(count)), count)
    offset = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    ci, cj = i0[tri] + offset // nj[tri], j0[tri] + offset % nj[tri]
    q = np.stack([x0 + ci * hx, y0 + cj * hy], axis=1)
    inside = np.ones(len(tri), dtype=bool)
    weights = []
    for s, e in ((1, 2), (2, 0), (0, 1)):  # edge opposite vertex k: its barycentric weight
        p0, p1 = xy[tri, s], xy[tri, e]
        d = p1 - p0
        value = d[:, 0] * (q[:, 1] - p0[:, 1]) - d[:, 1] * (q[:, 0] - p0[:, 0])
        top_left = (d[:, 1] < 0) | ((d[:, 1] == 0) & (d[:, 0] < 0))
        inside &= (value > 0) | ((value == 0) & top_left)
        weights.append(value)
    w = np.stack(weights, axis=1)[inside] / np.abs(area)[tri[inside]][:, None]
    z = np.einsum("ij,ij->i", w, np.stack([a[:, 2], b[:, 2], c[:, 2]], axis=1)[tri[inside]])
    ci, cj = ci[inside], cj[inside]
    kc = np.ceil((z - grid.origin[2]) / grid.spacing[2]).astype(int).clip(0, grid.shape[2])
    diff = np.zeros((grid.shape[0], grid.shape[1], grid.shape[2] + 1), dtype=np.int32)
    np.add.at(diff, (ci, cj, 0), 1)
    np.add.at(diff, (ci, cj, kc), -1)
    return np.cumsum(diff, axis=2)[:, :, :-1]


# -- the level set -------------------------------------------------------------------------
def level_set(grid: Grid, planes: list[Plane], tris: np.ndarray, band: float) -> np.ndarray:
    """Signed distance (um, grid shape; positive in the electrolyte) to the sheet
    ``tris`` (m, 3, 3) and its mirror images in ``planes``: exact where it is below
    ``band`` in size, clipped to +-``band`` further away."""
    inside = tuple(slice(*r) for r in grid.inner)
    metal = np.zeros(grid.shape, dtype=bool)
    metal[inside] = crossings_above(grid, tris)[inside] % 2 == 1
    metal = grid.reflect(metal)
    h = float(grid.spacing.max())
    near = (
        np.maximum(
            ndimage.distance_transform_edt(metal, sampling=grid.spacing),
            ndimage.distance_transform_edt(~metal, sampling=grid.spacing),
        )
        < band + MARGIN * h
    )
    sheet = _with_mirrors(tris, planes, band + MARGIN * h)
    index = np.nonzero(near)
    phi = np.full(grid.shape, band)
    phi[metal] = -band
    d = np.minimum(unsigned_distance(grid.points(index), sheet), band)
    phi[index] = np.where(metal[index], -d, d)
    return phi


def _with_mirrors(tris: np.ndarray, planes: list[Plane], reach: float) -> np.ndarray:
    """``tris`` and their mirror images in the planes within ``reach`` (um) of them (and
    in pairs of planes at corners)."""
    out = [tris]
    mirrors = [p for p in planes if p.axis < 2 or p.side > 0]
    for p in mirrors:
        near = [_close_to(t, p, reach) for t in out]
        out += [_reflect(t, p) for t in near if len(t)]
    return np.concatenate(out)


def _close_to(tris: np.ndarray, plane: Plane, reach: float) -> np.ndarray:
    gap = np.abs(tris[:, :, plane.axis] - plane.value).min(axis=1)
    return tris[gap < reach]


def _reflect(tris: np.ndarray, plane: Plane) -> np.ndarray:
    out = tris.copy()
    out[:, :, plane.axis] = 2 * plane.value - out[:, :, plane.axis]
    return out


def contour(grid: Grid, values: np.ndarray, level: float = 0.0) -> pv.PolyData:
    """The ``level`` isosurface of grid ``values`` (flying edges), float64 points.

    Values within ``NUDGE`` x the grid spacing of ``level`` are first pushed to that
    distance (keeping their side): an isosurface passing next to a grid node gives
    triangles with edges of a few nm, which Gmsh's reparametrisation turned into
    tetrahedra of quality 0.002 that the next mesh update inverted (seed 003 bare Li,
    17-27 s; 0.16 with the nudge). The surface moves by at most that distance; the
    rebuild restores the volume."""
    shift = NUDGE * float(np.min(grid.spacing))
    offset = values - level
    near = np.abs(offset) < shift
    values = np.where(near, level + np.where(offset >= 0, shift, -shift), values)
    surface = grid.image(values).contour([level], scalars="f", method="flying_edges")
    surface.points = surface.points.astype(np.float64)
    return surface.clean(tolerance=0.0)


def close(
    grid: Grid,
    phi: np.ndarray,
    gap: float,
    band: float,
    near: tuple[np.ndarray, float] | None = None,
) -> np.ndarray:
    """Morphological closing of the metal ``phi < 0`` with a ball of diameter ``gap``
    (um): the distance to the offset surface ``phi = gap/2`` from inside it, shifted back.
    Metal is only added, and with ``near`` = (points (k, 3), reach) only within ``reach``
    (um) of those points (the contacts: a concave corner elsewhere, e.g. a nucleus's foot
    on a depositing substrate, keeps its shape). Returns the closed level set."""
    r = 0.5 * gap
    offset = contour(grid, phi, r)
    if not offset.n_cells or (near is not None and not len(near[0])):
        return phi
    tris = offset.points[offset.regular_faces]
    index = np.nonzero((phi < r) & (phi > -band))
    if near is not None and len(near[0]):
        dist, _ = cKDTree(np.asarray(near[0], dtype=float).reshape(-1, 3)).query(grid.points(index))
        index = tuple(i[dist < near[1]] for i in index)
    closed = r - unsigned_distance(grid.points(index), tris)
    out = phi.copy()
    out[index] = np.minimum(phi[index], np.maximum(closed, -band))
    return grid.reflect(out)
