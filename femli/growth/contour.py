"""The electrolyte's boundary from a level set, as labelled triangle patches for Gmsh
(lengths in um; one rank, no DOLFINx).

From the signed distance ``phi`` of :mod:`femli.growth.surface` (positive in the
electrolyte, mirrored past the planes): the zero set of ``min(phi, box)``, ``box`` a box
a little larger than the domain, is contoured (flying edges) into one closed surface and
clipped by the domain's planes with :class:`vtkClipClosedSurface`, which cuts the
triangles exactly and closes each plane with a polygon face. Thanks to the mirror images
the sheet crosses each plane smoothly, so the cut is exact where MC would chamfer a
corner. Closed shells other than the one reaching the top are electrolyte pockets cut
off by merged deposits (or metal pieces cut loose): they are dropped and their volumes
returned. The grid stops a few cells above the deposits; the box above that cut is added
as plain rectangles. Triangles are labelled with the boundary names of the old mesh:
plane faces with the plane's name, the rest with the name of the nearest old sheet
triangle; patches are split by nearest deposit seed and into connected pieces, so that
Gmsh can reparametrise each (:func:`femli.geometry.triangulation.build_from_surfaces`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyvista as pv
import vtk
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from femli.geometry.core import GeometryError
from femli.geometry.faces import mesh_face
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
#: Shifts (um) of the clipping planes into the domain tried until a capped surface is
#: closed (:func:`_clipped`); all below ``SNAP``.
SHIFTS = (0.0, 1e-7, 1e-8, 3e-7, 1e-6, 3e-8, 3e-6)
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
    points, tris, pockets, islands, volume = _closed_surface(grid, phi, planes, cut)
    flat = np.zeros(len(tris), dtype=bool)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    top = next(p for p in planes if p.axis == 2 and p.side < 0)
    on_plane, essential = _edge_points(points, tris, [*planes, _cut_plane(cut)])
    for p in [*planes, _cut_plane(cut)]:
        on = (points[tris][:, :, p.axis] == p.value).all(axis=1) & ~flat
        flat |= on
        if p is not top and p.names[0]:
            even = [
                _even_edges(loop, points, on_plane, essential, size) for loop in _loops(tris[on])
            ]
            loops = [loop for loop in even if len(loop) >= 3]  # not slivers along an edge
            if p.axis < 2:
                loops = [_raise(loop, p, cut, top.value, size) for loop in loops]
            _refuse_pinched(loops, p)
            face = mesh_face(loops, p.axis, size)
            parts.append((*face, _face_names(face, p, sheet)))
    face = mesh_face([_top_loop(planes, top.value, size)], 2, size)
    parts.append((*face, np.full(len(face[1]), top.names[0], dtype=object)))
    parts.insert(0, (points, tris[~flat], _sheet_names(points, tris[~flat], sheet)))
    offsets = np.cumsum([0] + [len(q) for q, _, _ in parts[:-1]])
    joined = np.concatenate([q for q, _, _ in parts])
    joined_tris = np.concatenate([t + o for (_, t, _), o in zip(parts, offsets, strict=True)])
    joined, joined_tris = _merge_points(joined, joined_tris)
    labels = np.concatenate([n for _, _, n in parts])
    patches = _patches(joined, joined_tris, labels, sheet)
    unsplit = (
        _patches(joined, joined_tris, labels, sheet, by_seed=False) if len(sheet.seeds) else []
    )
    if len(unsplit) == len(patches):  # no deposit spans two seeds: the same partition
        unsplit = []
    return Patches(joined, patches, pockets, islands, unsplit, volume)


def _closed_surface(grid: Grid, phi: np.ndarray, planes: list[Plane], cut: float):
    """The clipped surface (points um, triangles), snapped to the planes, its main shell
    only, the volumes of the pockets and islands dropped, and the whole surface's
    :func:`electrolyte_volume`."""
    surface = _clipped(grid, phi, planes, cut)
    volume = _enclosed(surface)
    points = np.array(surface.points, dtype=np.float64)
    for p in [*planes, _cut_plane(cut)]:
        near = np.abs(points[:, p.axis] - p.value) < SNAP
        points[near, p.axis] = p.value
    points, tris = _merge_points(points, np.asarray(surface.regular_faces))
    tris, pockets, islands = _main_shell(points, tris, cut)
    return points, tris, pockets, islands, volume


def _edge_points(points: np.ndarray, tris: np.ndarray, planes: list[Plane]):
    """Which planes each point lies on ((n, k) booleans), and which points two faces
    sharing a box edge must both keep: vertices of the sheet (triangles on no plane)
    and box corners (points on three planes)."""
    on_plane = np.stack([points[:, p.axis] == p.value for p in planes], axis=1)
    flat = np.zeros(len(tris), dtype=bool)
    for k in range(len(planes)):
        flat |= on_plane[tris, k].all(axis=1)
    essential = on_plane.sum(axis=1) >= 3
    essential[np.unique(tris[~flat])] = True
    return on_plane, essential


def _even_edges(loop, points, on_plane, essential, size: float) -> np.ndarray:
    """A face loop's points (um) with its runs along box edges (points on a second plane)
    made the same for both faces sharing them: the clipping leaves each face its own
    points there (T-junctions Gmsh refuses, clusters of tiny edges), so only the
    essential points are kept and the runs between them evenly subdivided (``size``)."""
    edge = on_plane[loop].sum(axis=1) >= 2
    keep = loop[essential[loop] | ~edge]
    if not len(keep):  # a sliver lying along a box edge
        return np.zeros((0, 3))
    out = []
    for a, b in zip(keep, np.roll(keep, -1), strict=True):
        if (on_plane[a] & on_plane[b]).sum() >= 2:  # both on one box edge
            out.append(_subdivide(points[a], points[b], size))
        else:
            out.append(points[a][None])
    return np.concatenate(out)


def electrolyte_volume(grid: Grid, phi: np.ndarray, planes: list[Plane], cut: float) -> float:
    """Volume (um^3) of the electrolyte ``phi > 0`` inside ``planes`` below the ``cut``,
    pockets included, metal islands excluded (the contoured, clipped surface's)."""
    return _enclosed(_clipped(grid, phi, planes, cut))


def _enclosed(surface: pv.PolyData) -> float:
    """Volume (um^3) a clipped, capped surface encloses (its shells summed, signed)."""
    return abs(shell_volume(np.asarray(surface.points), np.asarray(surface.regular_faces)))


def _loops(tris: np.ndarray) -> list[np.ndarray]:
    """Vertex loops bounding a set of triangles (edges used by one triangle).

    Raises:
        GeometryError: the boundary edges are not closed loops: an odd number of them
            meet at a node (the level set folds onto itself on the plane, e.g. an edge of
            three triangles; seed 003 SCP@Li at 43 s). The caller retries on another grid.
    """
    keys, base = _edge_keys(tris)
    unique, count = np.unique(keys, return_counts=True)
    first, second = np.divmod(unique[count == 1], base)
    odd = np.bincount(np.concatenate([first, second])) % 2
    if odd.any():
        raise GeometryError(
            f"a plane face's boundary is not closed loops: {int(odd.sum())} nodes "
            f"end an odd number of its edges (the surface folds on the plane)"
        )
    free: dict[int, list[int]] = {}
    for a, b in zip(first, second, strict=True):
        free.setdefault(int(a), []).append(int(b))
        free.setdefault(int(b), []).append(int(a))
    loops = []
    while free:
        start = next(iter(free))
        loop, node = [start], start
        while True:
            nxt = free[node].pop()
            free[nxt].remove(node)
            for k in (node, nxt):
                if not free[k]:
                    del free[k]
            if nxt == start:
                break
            loop.append(nxt)
            node = nxt
        loops.append(np.array(loop))
    return loops


def _subdivide(a: np.ndarray, b: np.ndarray, size: float) -> np.ndarray:
    """Points from ``a`` towards ``b`` (``a`` included, bitwise, ``b`` not) at most
    ``size`` apart, bitwise the same for (a, b) and (b, a) reversed."""
    flip = tuple(b) < tuple(a)
    p, q = (b, a) if flip else (a, b)
    n = max(int(np.ceil(np.linalg.norm(q - p) / size)), 1)
    pts = p + np.outer(np.arange(n + 1) / n, q - p)
    pts[0], pts[-1] = p, q  # p + (q - p) need not round to q: the ends stay exact
    return pts[::-1][:-1] if flip else pts[:-1]


def _refuse_pinched(loops: list[np.ndarray], plane: Plane) -> None:
    """Raise :class:`GeometryError` if two loops of a plane face (or one loop twice)
    pass through the same point: merged deposits whose feet touch exactly on the plane
    (their footprints share a vertex: seed 003 SCP@Li at 15 s). Gmsh cannot mesh such a
    face (it failed, and once ran for minutes); the caller retries on another grid."""
    points = np.concatenate(loops) if loops else np.zeros((0, 3))
    unique, count = np.unique(points, axis=0, return_counts=True)
    if (count > 1).any():
        where = ", ".join(f"{x:.4g}" for x in unique[count > 1][0])
        raise GeometryError(f"the face on {plane.names[0] or 'the cut'} is pinched at ({where}) um")


def _raise(loop: np.ndarray, wall: Plane, cut: float, top: float, size: float) -> np.ndarray:
    """A wall loop closed at the cut, lifted to the top: the run along the cut is
    replaced by the wall's sides and top edge."""
    at_cut = loop[:, 2] == cut
    if not at_cut.any():
        return loop
    shift = int(np.argmax(~at_cut & np.roll(at_cut, 1)))  # first point after the run
    loop, at_cut = np.roll(loop, -shift, axis=0), np.roll(at_cut, -shift)
    run = np.flatnonzero(at_cut)
    a, b = loop[run[0]], loop[run[-1]]
    up_a, up_b = a.copy(), b.copy()
    up_a[2] = up_b[2] = top
    path = [_subdivide(a, up_a, size), _subdivide(up_a, up_b, size), _subdivide(up_b, b, size)]
    return np.concatenate([loop[: run[0]], *path, b[None]])


def _top_loop(planes: list[Plane], top: float, size: float) -> np.ndarray:
    """The top face's rectangle at ``top``, edges subdivided as the walls' top edges."""
    lo = {p.axis: p.value for p in planes if p.axis < 2 and p.side > 0}
    hi = {p.axis: p.value for p in planes if p.axis < 2 and p.side < 0}
    corners = [
        np.array(c)
        for c in (
            (lo[0], lo[1], top),
            (hi[0], lo[1], top),
            (hi[0], hi[1], top),
            (lo[0], hi[1], top),
        )
    ]
    return np.concatenate([_subdivide(corners[k], corners[(k + 1) % 4], size) for k in range(4)])


def _cut_plane(cut: float) -> Plane:
    return Plane(("",), 2, cut, -1)


def _clipped(grid: Grid, phi: np.ndarray, planes: list[Plane], cut: float) -> pv.PolyData:
    """The closed surface of ``min(phi, box)`` clipped by the domain planes and the cut.

    VTK's capping (:class:`vtkClipClosedSurface`) sometimes leaves a cap out: seen where
    merged deposits meet a wall, the same surface capped at the wall itself lost 35 cap
    edges and capped 1e-7 um inside it lost none. So the planes are tried at the shifts
    ``SHIFTS`` (um, into the domain) until the result is closed; the caller snaps the
    points back onto the planes. If none is closed, the least open one is returned."""
    lo = grid.origin + 0.5 * grid.spacing  # a box past the planes, halfway between nodes
    hi = grid.origin + (np.array(grid.shape) - 1.5) * grid.spacing
    box = np.full(grid.shape, np.inf)
    for a in range(3):
        x = grid.axis(a)
        shape = [1, 1, 1]
        shape[a] = len(x)
        box = np.minimum(box, np.minimum(x - lo[a], hi[a] - x).reshape(shape))
    surface = contour(grid, np.minimum(phi, box))
    cutting = [*[q for q in planes if not (q.axis == 2 and q.side < 0)], _cut_plane(cut)]
    best: tuple[int, pv.PolyData] | None = None
    for shift in SHIFTS:
        out = _clip(surface, cutting, shift)
        open_edges = _open_edges(np.asarray(out.regular_faces))
        if best is None or open_edges < best[0]:
            best = (open_edges, out)
        if not open_edges:
            break
    assert best is not None
    return best[1]


def _clip(surface: pv.PolyData, planes: list[Plane], shift: float) -> pv.PolyData:
    """``surface`` clipped and capped by ``planes``, each moved ``shift`` (um) inwards."""
    collection = vtk.vtkPlaneCollection()
    for p in planes:
        plane = vtk.vtkPlane()
        origin = [0.0, 0.0, 0.0]
        origin[p.axis] = p.value + p.side * shift
        normal = [0.0, 0.0, 0.0]
        normal[p.axis] = float(p.side)  # vtk keeps the side the normal points to
        plane.SetOrigin(*origin)
        plane.SetNormal(*normal)
        collection.AddItem(plane)
    clip = vtk.vtkClipClosedSurface()
    clip.SetGenerateFaces(True)
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


def _merge_points(points: np.ndarray, tris: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points made equal by snapping become one; triangles left degenerate go."""
    unique, inverse = np.unique(points, axis=0, return_inverse=True)
    tris = inverse.ravel()[tris]
    keep = (tris[:, 0] != tris[:, 1]) & (tris[:, 1] != tris[:, 2]) & (tris[:, 2] != tris[:, 0])
    return unique, tris[keep]


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


def _main_shell(points: np.ndarray, tris: np.ndarray, cut: float):
    """The shell reaching the cut, and the volumes of the other shells: electrolyte
    pockets (oriented like the main shell) and metal islands (the other way)."""
    labels = components(tris, len(points))
    on_cut = (points[tris][:, :, 2] == cut).all(axis=1)
    main = np.bincount(labels[on_cut]).argmax() if on_cut.any() else 0
    volumes = {k: shell_volume(points, tris[labels == k]) for k in np.unique(labels)}
    sign = np.sign(volumes[main])
    pockets = [abs(v) for k, v in volumes.items() if k != main and np.sign(v) == sign]
    islands = [abs(v) for k, v in volumes.items() if k != main and np.sign(v) != sign]
    return tris[labels == main], pockets, islands


def _sheet_names(points: np.ndarray, tris: np.ndarray, sheet: Sheet) -> np.ndarray:
    """Name of each sheet triangle: that of the nearest old sheet triangle."""
    if not len(tris):
        return np.zeros(0, dtype=object)
    _, k = cKDTree(sheet.centres).query(points[tris].mean(axis=1))
    return sheet.names[k]


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
        for half in (piece[below], piece[~below]):
            out += _disks(points, half, depth + 1)
    return out


def _euler(tris: np.ndarray) -> int:
    """V - E + F of a triangle set."""
    return len(np.unique(tris)) - len(np.unique(_edge_keys(tris)[0])) + len(tris)
