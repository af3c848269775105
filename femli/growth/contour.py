"""The electrolyte's boundary from a level set, as labelled triangle patches for Gmsh
(lengths in um; one rank, no DOLFINx).

From the signed distance ``phi`` of :mod:`femli.growth.surface` (positive in the
electrolyte, mirrored past the planes): the zero set of ``min(phi, box)``, ``box`` a box
a little larger than the domain, is contoured (flying edges) into one closed surface and
clipped by the domain's planes with :class:`vtkClipClosedSurface`, which cuts the
triangles exactly. Thanks to the mirror images the sheet crosses each plane smoothly, so
the cut is exact where MC would chamfer a corner. Each plane's face is found from the
sheet's cut lines (:mod:`femli.growth.planes`; VTK's own caps are dropped: it left some
out) and meshed by Gmsh. Closed shells other than the one reaching the top are
electrolyte pockets cut off by merged deposits (or metal pieces cut loose): they are
dropped and their volumes returned. The grid stops a few cells above the deposits; the
box above that cut is added as plain rectangles. Triangles are labelled with the
boundary names of the old mesh: plane faces with the plane's name, the rest after the
nearest old sheet triangles, cut straight across where that name changes
(:mod:`femli.growth.labels`); patches are split by nearest deposit seed and
into connected pieces, so that Gmsh can reparametrise each
(:func:`femli.geometry.triangulation.build_from_surfaces`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyvista as pv
import vtk
from scipy.interpolate import RegularGridInterpolator
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from femli.geometry.core import GeometryError
from femli.geometry.faces import mesh_face
from femli.growth.labels import cut_names
from femli.growth.planes import (
    Rectangle,
    edge_points,
    even_edges,
    face_loops,
    loops_area,
    oriented,
    raise_wall,
    rectangles,
    refuse_pinched,
    top_loop,
)
from femli.growth.surface import Grid, Plane, contour

__all__ = [
    "Patches",
    "Sheet",
    "components",
    "electrolyte_patches",
    "electrolyte_volume",
    "shell_volume",
]

#: Vertices closer than this to a plane are put on it (um).
SNAP = 1e-5
#: A patch piece of fewer triangles than this joins its neighbours (:func:`_absorb_crumbs`).
CRUMB = 30


@dataclass(slots=True)
class Sheet:
    """The old mesh's triangles for labelling: sheet centroids (m, 3) in um and names
    (m,), the same for the plane triangles (of planes with several names), and ``seeds``
    (k, 3) deposit centres (um) to split patches by."""

    centres: np.ndarray
    names: np.ndarray
    seeds: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    plane_centres: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    plane_names: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))


@dataclass(slots=True)
class Patches:
    """The new boundary: ``points`` (n, 3) um, ``patches`` (name, (m, 3) triangles),
    the volumes (um^3) of the dropped electrolyte ``pockets`` and metal ``islands``;
    ``unsplit``: the same triangles in patches not split by deposit seed (another
    partition for Gmsh to try: merged deposits cut at their neck can fail), empty when
    it has as many patches (no merged deposit to cut); ``volume``: the
    :func:`electrolyte_volume` of the level set (um^3), from the same surface."""

    points: np.ndarray
    patches: list[tuple[str, np.ndarray]]
    pockets: list[float]
    islands: list[float]
    unsplit: list[tuple[str, np.ndarray]] = field(default_factory=list)
    volume: float = 0.0


def electrolyte_patches(
    grid: Grid, phi: np.ndarray, planes: list[Plane], cut: float, sheet: Sheet, size: float
) -> Patches:
    """The labelled boundary of the electrolyte ``phi > 0`` inside ``planes``, up to the
    top plane (the grid ends above ``cut``, um); plane faces meshed with Gmsh at sizes up
    to ``size`` (um). Needs an initialised gmsh session (replaces the current model)."""
    points, tris, outward, faces = _sheet_and_faces(grid, phi, planes, cut)
    volume = _enclosed(points, tris, outward, faces)
    top = next(p for p in planes if p.axis == 2 and p.side < 0)
    on_plane, essential = edge_points(points, tris, [*planes, _cut_plane(cut)])
    parts = [cut_names(points, tris, sheet.centres, sheet.names, on_plane.any(axis=1))]
    for rectangle, loops in faces:
        p = rectangle.plane
        if not p.names[0]:  # the cut: the walls go up to the top plane instead
            continue
        even = [even_edges(loop, points, on_plane, essential, size) for loop in loops]
        loops = [loop for loop in even if len(loop) >= 3]  # not slivers along an edge
        if p.axis < 2:
            loops = [raise_wall(loop, p, cut, top.value, size) for loop in loops]
        refuse_pinched(loops, p)
        face = oriented(mesh_face(loops, p.axis, size), p, outward)
        parts.append((*face, _face_names(face, p, sheet)))
    face = oriented(mesh_face([top_loop(planes, top.value, size)], 2, size), top, outward)
    parts.append((*face, np.full(len(face[1]), top.names[0], dtype=object)))
    offsets = np.cumsum([0] + [len(q) for q, _, _ in parts[:-1]])
    joined = np.concatenate([q for q, _, _ in parts])
    joined_tris = np.concatenate([t + o for (_, t, _), o in zip(parts, offsets, strict=True)])
    labels = np.concatenate([n for _, _, n in parts])
    joined, joined_tris, keep = _merge_points(joined, joined_tris)
    main, pockets, islands = _main_shell(joined, joined_tris, top, outward)
    joined_tris = joined_tris[main]
    labels = _absorb_name_crumbs(joined_tris, labels[keep][main], sheet)
    patches = _patches(joined, joined_tris, labels, sheet)
    unsplit = (
        _patches(joined, joined_tris, labels, sheet, by_seed=False) if len(sheet.seeds) else []
    )
    if len(unsplit) == len(patches):  # no deposit spans two seeds: the same partition
        unsplit = []
    return Patches(joined, patches, pockets, islands, unsplit, volume)


def _sheet_and_faces(grid: Grid, phi: np.ndarray, planes: list[Plane], cut: float):
    """The clipped sheet (points um, with the box corners; triangles on no plane), its
    orientation (1: normals out of the electrolyte), and the loops of every face below
    the top: the named planes' and the cut's."""
    surface, outward = _clipped(grid, phi, planes, cut)
    points = np.array(surface.points, dtype=np.float64)
    bounding = [*planes, _cut_plane(cut)]
    for p in bounding:
        near = np.abs(points[:, p.axis] - p.value) < SNAP
        points[near, p.axis] = p.value
    points, tris, _ = _merge_points(points, np.asarray(surface.regular_faces))
    flat = np.zeros(len(tris), dtype=bool)  # touching a plane: the face takes them over
    for p in bounding:
        flat |= (points[tris][:, :, p.axis] == p.value).all(axis=1)
    tris = tris[~flat]
    free = _free_edges(points, tris, bounding)
    floor = float(grid.origin[2])  # below the sheet: walls without a substrate plane
    below_top = [p for p in planes if not (p.axis == 2 and p.side < 0)] + [bounding[-1]]
    points, rectangles_ = rectangles(points, below_top, floor)
    phi_at = RegularGridInterpolator([grid.axis(a) for a in range(3)], phi)

    def electrolyte(rectangle: Rectangle) -> Callable[[], bool]:
        return lambda: bool(phi_at(rectangle.centre(points))[0] > 0)

    faces = [(r, face_loops(points, free, r, outward, electrolyte(r))) for r in rectangles_]
    return points, tris, outward, faces


def _free_edges(points: np.ndarray, tris: np.ndarray, planes: list[Plane]) -> np.ndarray:
    """The sheet's free edges (used by one triangle), each as that triangle runs it.

    Raises:
        GeometryError: the sheet ends anywhere but on the planes (an edge of an odd
            number of triangles off them: its faces could not close it; the caller
            retries on another grid).
    """
    keys, _ = _edge_keys(tris)
    _, inverse, count = np.unique(keys, return_inverse=True, return_counts=True)
    uses = count[inverse]
    edges = np.concatenate([tris[:, [0, 1]], tris[:, [1, 2]], tris[:, [2, 0]]])  # as _edges
    a, b = edges[uses % 2 == 1].T
    on = np.zeros(len(a), dtype=bool)
    for p in planes:
        on |= (points[a, p.axis] == p.value) & (points[b, p.axis] == p.value)
    if not on.all():
        where = ", ".join(f"{x:.4g}" for x in points[a[~on][0]])
        raise GeometryError(f"the clipped level set has a hole at ({where}) um")
    return edges[uses == 1]


def _enclosed(points: np.ndarray, sheet: np.ndarray, outward: int, faces: list) -> float:
    """Volume (um^3) inside the sheet and the faces ((rectangle, loops), every plane's):
    (1/3) of the integral of x . n over the closed surface, a face's part from its area."""
    total = outward * shell_volume(points, sheet)
    for rectangle, loops in faces:
        p = rectangle.plane
        total += p.value * -p.side * loops_area(points, loops, p.axis) / 3.0
    return total


def electrolyte_volume(grid: Grid, phi: np.ndarray, planes: list[Plane], cut: float) -> float:
    """Volume (um^3) of the electrolyte ``phi > 0`` inside ``planes`` below the ``cut``,
    pockets included, metal islands excluded (the clipped sheet's with its faces)."""
    return _enclosed(*_sheet_and_faces(grid, phi, planes, cut))


def _cut_plane(cut: float) -> Plane:
    return Plane(("",), 2, cut, -1)


def _clipped(
    grid: Grid, phi: np.ndarray, planes: list[Plane], cut: float
) -> tuple[pv.PolyData, int]:
    """The closed surface of ``min(phi, box)`` clipped by the domain planes and the cut
    (not capped: :mod:`femli.growth.planes` finds the faces), and its orientation: 1 if
    its normals point out of the electrolyte, else -1."""
    lo = grid.origin + 0.5 * grid.spacing  # a box past the planes, halfway between nodes
    hi = grid.origin + (np.array(grid.shape) - 1.5) * grid.spacing
    box = np.full(grid.shape, np.inf)
    for a in range(3):
        x = grid.axis(a)
        shape = [1, 1, 1]
        shape[a] = len(x)
        box = np.minimum(box, np.minimum(x - lo[a], hi[a] - x).reshape(shape))
    surface = contour(grid, np.minimum(phi, box))
    closed = shell_volume(np.asarray(surface.points), np.asarray(surface.regular_faces))
    outward = 1 if closed > 0 else -1
    cutting = [*[q for q in planes if not (q.axis == 2 and q.side < 0)], _cut_plane(cut)]
    return _clip(surface, cutting), outward


def _clip(surface: pv.PolyData, planes: list[Plane]) -> pv.PolyData:
    """``surface`` clipped by ``planes`` (the part on their domain side), not capped."""
    collection = vtk.vtkPlaneCollection()
    for p in planes:
        plane = vtk.vtkPlane()
        origin = [0.0, 0.0, 0.0]
        origin[p.axis] = p.value
        normal = [0.0, 0.0, 0.0]
        normal[p.axis] = float(p.side)  # vtk keeps the side the normal points to
        plane.SetOrigin(*origin)
        plane.SetNormal(*normal)
        collection.AddItem(plane)
    clip = vtk.vtkClipClosedSurface()
    clip.SetGenerateFaces(True)  # (off, VTK 9 returns nothing); the caps are dropped
    clip.SetTolerance(1e-9)
    clip.SetInputData(surface)
    clip.SetClippingPlanes(collection)
    clip.Update()
    out = pv.wrap(clip.GetOutput()).triangulate().clean(tolerance=1e-9, absolute=True)
    out.points = out.points.astype(np.float64)
    return out


def _edges(tris: np.ndarray) -> np.ndarray:
    """Every triangle's three edges as sorted vertex pairs: edge k of triangle j is row
    ``k * len(tris) + j``."""
    return np.sort(np.concatenate([tris[:, [0, 1]], tris[:, [1, 2]], tris[:, [2, 0]]]), axis=1)


def _edge_keys(tris: np.ndarray) -> tuple[np.ndarray, int]:
    """The rows of :func:`_edges` as one integer each, ``a * base + b`` (ordered as the
    pairs are), and ``base``: sorting and counting integers is ~10x faster than rows."""
    base = int(tris.max()) + 1 if len(tris) else 1
    edges = _edges(tris).astype(np.int64)
    return edges[:, 0] * base + edges[:, 1], base


def _open_edges(tris: np.ndarray) -> int:
    """Edges used by one triangle only (0 for a closed surface)."""
    _, count = np.unique(_edge_keys(tris)[0], return_counts=True)
    return int((count == 1).sum())


def _merge_points(points: np.ndarray, tris: np.ndarray):
    """Points made equal by snapping become one; triangles left degenerate go, and so do
    triangles on the same three points twice (a fold: Gmsh stops on "two overlapping
    facets" and its volume mesher once crashed on them; seed 003 BLi 3D with the slow
    substrate at 22.5 s), an odd number of them leaving one. Returns the points, the
    triangles and which of the given triangles were kept."""
    unique, inverse = np.unique(points, axis=0, return_inverse=True)
    tris = inverse.ravel()[tris]
    keep = (tris[:, 0] != tris[:, 1]) & (tris[:, 1] != tris[:, 2]) & (tris[:, 2] != tris[:, 0])
    _, first, which, count = np.unique(
        np.sort(tris, axis=1), axis=0, return_index=True, return_inverse=True, return_counts=True
    )
    which = which.ravel()
    single = np.zeros(len(tris), dtype=bool)
    single[first[count % 2 == 1]] = True
    keep &= (count[which] == 1) | single
    return unique, tris[keep], keep


def shell_volume(points: np.ndarray, tris: np.ndarray) -> float:
    """Signed volume (um^3) enclosed by consistently oriented triangles."""
    a, b, c = points[tris[:, 0]], points[tris[:, 1]], points[tris[:, 2]]
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


def components(tris: np.ndarray, n_points: int) -> np.ndarray:
    """Connected component of each triangle (sharing vertices)."""
    m = len(tris)
    rows = np.repeat(np.arange(m), 3)
    graph = coo_matrix((np.ones(3 * m), (rows, tris.ravel())), shape=(m, n_points)).tocsr()
    _, labels = connected_components(graph @ graph.T, directed=False)
    return labels


def _main_shell(points: np.ndarray, tris: np.ndarray, top: Plane, outward: int):
    """Which triangles are the shell reaching the ``top`` plane, and the volumes (um^3)
    of the other shells: electrolyte pockets (enclosing a positive volume, oriented as
    ``outward`` says) and metal islands (negative)."""
    labels = components(tris, len(points))
    on_top = (points[tris][:, :, top.axis] == top.value).all(axis=1)
    main = np.bincount(labels[on_top]).argmax()
    volumes = {k: outward * shell_volume(points, tris[labels == k]) for k in np.unique(labels)}
    pockets = [v for k, v in volumes.items() if k != main and v > 0]
    islands = [-v for k, v in volumes.items() if k != main and v <= 0]
    return labels == main, pockets, islands


def _face_names(face: tuple[np.ndarray, np.ndarray], plane: Plane, sheet: Sheet) -> np.ndarray:
    """Name of each triangle of a plane face: the plane's (the nearest old triangle's of
    the plane's names when it has several)."""
    points, tris = face
    if len(plane.names) == 1:
        return np.full(len(tris), plane.names[0], dtype=object)
    mine = np.isin(sheet.plane_names, plane.names)
    _, k = cKDTree(sheet.plane_centres[mine]).query(points[tris].mean(axis=1))
    return sheet.plane_names[mine][k]


def _patches(
    points, tris, names, sheet: Sheet, by_seed: bool = True
) -> list[tuple[str, np.ndarray]]:
    """(name, triangles) pieces: each name split by nearest seed (sheet names; unless
    ``by_seed`` is False) and into connected parts."""
    key = np.zeros(len(tris), dtype=np.int64)
    if by_seed and len(sheet.seeds):
        _, nearest = cKDTree(sheet.seeds).query(points[tris].mean(axis=1))
        key = np.where(np.isin(names, np.unique(sheet.names)), nearest, -1)
        key = _absorb_crumbs(tris, names, key)
    out = []
    for name in sorted(set(names)):
        for k in np.unique(key[names == name]):
            mine = tris[(names == name) & (key == k)]
            out += [(str(name), disk) for disk in _disks(points, mine)]
    return out


def _absorb_name_crumbs(tris: np.ndarray, names: np.ndarray, sheet: Sheet) -> np.ndarray:
    """``names`` with each piece of one sheet name smaller than ``CRUMB`` triangles
    renamed after the sheet name it shares most edges with (a few triangles of substrate
    on a nucleus's foot, seed 003 with the slow substrate, became patches of one to
    nine triangles that Gmsh could not reparametrise: "two overlapping facets")."""
    on_sheet = np.isin(names, np.unique(sheet.names))
    kinds, ids = np.unique(names[on_sheet].astype(str), return_inverse=True)
    if len(kinds) < 2:
        return names
    same = np.zeros(int(on_sheet.sum()), dtype=np.int64)  # one "name": pieces by key
    names = names.copy()
    names[on_sheet] = kinds[_absorb_crumbs(tris[on_sheet], same, ids)].astype(object)
    return names


def _absorb_crumbs(tris: np.ndarray, names: np.ndarray, key: np.ndarray) -> np.ndarray:
    """``key`` with crumbs absorbed: a connected piece of one (name, key) smaller than
    ``CRUMB`` triangles takes the key of the neighbours (same name, across an edge) it
    shares most edges with. The nearest-seed split is decided per triangle, so along
    the boundary between two seeds' regions a few triangles land on the other side; as
    patches of their own they made curves a few nm apart and tetrahedra of quality
    0.002 that the next mesh update inverted (seed 003 bare Li, 27 s)."""
    first, second = _neighbours(tris)
    same_name = names[first] == names[second]
    first, second = first[same_name], second[same_name]
    _, name_id = np.unique(names.astype(str), return_inverse=True)
    key = key.copy()
    for _ in range(4):  # absorbing a crumb may leave a smaller one next to it
        _, group = np.unique(np.stack([name_id, key], axis=1), axis=0, return_inverse=True)
        inner = group[first] == group[second]
        graph = coo_matrix(
            (np.ones(inner.sum()), (first[inner], second[inner])), shape=(len(tris),) * 2
        )
        _, label = connected_components(graph, directed=False)
        sizes = np.bincount(label)
        crumbs = np.unique(label[sizes[label] < CRUMB])
        changed = False
        for piece in crumbs:
            inside = label == piece
            outside = np.concatenate(
                [
                    key[second[inside[first] & ~inside[second]]],
                    key[first[inside[second] & ~inside[first]]],
                ]
            )
            outside = outside[outside != key[inside][0]]
            if len(outside):
                values, counts = np.unique(outside, return_counts=True)
                key[inside] = values[np.argmax(counts)]
                changed = True
        if not changed:
            break
    return key


def _neighbours(tris: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of triangles sharing an edge (each pair once)."""
    owner = np.tile(np.arange(len(tris)), 3)
    _, edge_id = np.unique(_edge_keys(tris)[0], return_inverse=True)
    order = np.argsort(edge_id.ravel(), kind="stable")
    ids, owners = edge_id.ravel()[order], owner[order]
    pair = np.flatnonzero(ids[1:] == ids[:-1])
    return owners[pair], owners[pair + 1]


def _disks(points: np.ndarray, tris: np.ndarray, depth: int = 0) -> list[np.ndarray]:
    """``tris`` in connected pieces that are topological disks (Euler characteristic 1):
    a piece that is not (the half of a merged deposit around its neck is an annulus) is
    halved across its longest extent until it is. Gmsh reparametrises a disk directly;
    anything else it partitions with METIS, which was seen to fail and hang."""
    labels = components(tris, len(points))
    out = []
    for j in np.unique(labels):
        piece = tris[labels == j]
        if _euler(piece) == 1 or depth >= 8 or len(piece) < 4:
            out.append(piece)
            continue
        centres = points[piece].mean(axis=1)
        axis = int(np.argmax(np.ptp(centres, axis=0)))
        below = centres[:, axis] <= np.median(centres[:, axis])
        for half in _halves(points, piece, below):
            out += _disks(points, half, depth + 1)
    return out


def _halves(points: np.ndarray, piece: np.ndarray, below: np.ndarray) -> list[np.ndarray]:
    """``piece`` cut in two by the mask ``below``, each half's connected bits of fewer
    than ``CRUMB`` triangles given to the other half (a straight cut through a ragged
    patch left bits of 1-9 triangles, patches Gmsh could not reparametrise: "two
    overlapping facets", seed 003 SCP@Li with the slow substrate)."""
    halves = [piece[below], piece[~below]]
    for k in (0, 1):
        if not len(halves[k]):
            continue
        labels = components(halves[k], len(points))
        small = np.bincount(labels)[labels] < CRUMB
        if small.any() and not small.all():
            halves[1 - k] = np.concatenate([halves[1 - k], halves[k][small]])
            halves[k] = halves[k][~small]
    return [h for h in halves if len(h)]


def _euler(tris: np.ndarray) -> int:
    """V - E + F of a triangle set."""
    return len(np.unique(tris)) - len(np.unique(_edge_keys(tris)[0])) + len(tris)
