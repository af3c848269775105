"""The level-set contour and its patches for the 3D rebuild (femli.growth.surface,
femli.growth.contour): no needle triangles where the surface grazes a grid node, no
patch crumbs along the line between two seeds' regions."""

from __future__ import annotations

import numpy as np
import pytest
import pyvista as pv

from femli.geometry import GeometryError
from femli.growth.contour import CRUMB, _absorb_crumbs
from femli.growth.planes import refuse_pinched
from femli.growth.surface import Grid, Plane, contour


def sphere_grazing_nodes(h: float = 0.05) -> tuple[Grid, np.ndarray]:
    """A grid and the signed distance of a sphere of radius 10 h passing 1e-6 h from
    its nodes on the three axes through its centre."""
    n = 31
    grid = Grid(np.zeros(3), np.full(3, h), (n, n, n), ((0, n),) * 3, ((False, False),) * 3)
    centre = grid.points((np.array([15]),) * 3)[0]
    x = grid.points().reshape(n, n, n, 3, order="F")
    phi = np.linalg.norm(x - centre, axis=-1) - (10 + 1e-6) * h
    return grid, phi


def edge_lengths(surface) -> np.ndarray:
    tris = surface.points[surface.regular_faces]
    return np.linalg.norm(tris - np.roll(tris, 1, axis=1), axis=2).ravel()


def test_an_isosurface_grazing_grid_nodes_has_no_needle_edges():
    grid, phi = sphere_grazing_nodes()
    surface = contour(grid, phi)
    h = float(grid.spacing[0])
    assert edge_lengths(surface).min() > 0.02 * h  # ~1e-6 h without the nudge
    r = np.linalg.norm(surface.points - surface.points.mean(axis=0), axis=1)
    assert np.abs(r - 10 * h).max() < 0.1 * h  # the surface moved by at most the nudge


def strip(n: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """A flat strip of 2 n triangles (pairs over n squares) and its points."""
    points = np.array([(i, j, 0.0) for i in range(n + 1) for j in range(2)])
    tris = []
    for i in range(n):
        a, b, c, d = 2 * i, 2 * i + 1, 2 * i + 2, 2 * i + 3
        tris += [(a, c, b), (b, c, d)]
    return points, np.array(tris)


def test_a_crumb_of_another_seed_joins_its_neighbours():
    _, tris = strip(2 * CRUMB)
    names = np.full(len(tris), "nuclei", dtype=object)
    key = np.repeat([0, 1], len(tris) // 2)
    key[10:12] = 1  # a crumb of seed 1 inside seed 0's region
    out = _absorb_crumbs(tris, names, key)
    assert (out[:12] == 0).all() and (out[-len(tris) // 2 :] == 1).all()


def test_pieces_of_other_names_and_large_pieces_keep_their_key():
    _, tris = strip(2 * CRUMB)
    names = np.full(len(tris), "nuclei", dtype=object)
    names[10:12] = "substrate"  # another boundary: not a crumb of nuclei
    key = np.repeat([0, 1], len(tris) // 2)
    key[10:12] = 1
    assert (_absorb_crumbs(tris, names, key) == key).all()


def test_a_face_whose_holes_touch_is_refused_before_gmsh_sees_it():
    """Two deposit footprints touching at one point of the substrate: Gmsh cannot mesh
    that face (it failed, and once ran for minutes); the rebuild is told why instead."""

    def square(x0: float) -> np.ndarray:
        return np.array([[x0, 0, 0], [x0 + 1, 0, 0], [x0 + 1, 1, 0], [x0, 1, 0]], float)

    outer = np.array([[-1, -1, 0], [4, -1, 0], [4, 2, 0], [-1, 2, 0]], float)
    substrate = Plane(("substrate",), 2, 0.0, 1)
    refuse_pinched([outer, square(0.0), square(1.5)], substrate)  # apart: fine
    with pytest.raises(GeometryError, match=r"substrate is pinched at \(1, 0, 0\)"):
        refuse_pinched([outer, square(0.0), square(1.0)], substrate)


def test_a_cut_patch_leaves_no_crumbs():
    """A 10 x 10 square of 200 triangles cut at x = 5, one triangle beyond the cut
    flagged with the near half: that lone triangle goes back to the far half (as a
    patch of its own, Gmsh's reparametrisation failed with "two overlapping facets")."""
    from femli.growth.contour import _halves, components

    grid = pv.Plane(i_size=10, j_size=10, i_resolution=10, j_resolution=10).triangulate()
    points = np.asarray(grid.points, dtype=float)
    tris = grid.faces.reshape(-1, 4)[:, 1:].astype(np.int64)
    x = points[tris].mean(axis=1)[:, 0]
    below = x < 0.0
    lone = int(np.argmax(x))  # a corner triangle far beyond the cut
    below[lone] = True
    halves = _halves(points, tris, below)
    assert sum(len(h) for h in halves) == len(tris)
    for half in halves:
        assert np.bincount(components(half, len(points))).max() == len(half)  # one piece
        assert len(half) >= CRUMB
    (far,) = [h for h in halves if points[h].mean(axis=(0, 1))[0] > 0.0]
    assert tris[lone].tolist() in far.tolist()


def test_a_few_triangles_of_another_sheet_name_join_their_surroundings():
    """Two triangles of 'substrate' inside 'nuclei' (a vertex nearest the other name)
    become 'nuclei'; a large 'substrate' region and the plane names stay."""
    from femli.growth.contour import Sheet, _absorb_name_crumbs

    grid = pv.Plane(i_size=10, j_size=10, i_resolution=10, j_resolution=10).triangulate()
    points = np.asarray(grid.points, dtype=float)
    tris = grid.faces.reshape(-1, 4)[:, 1:].astype(np.int64)
    x = points[tris].mean(axis=1)
    names = np.where(x[:, 0] < 0.0, "nuclei", "substrate").astype(object)
    names[x[:, 1] > 4.0] = "wall_back"  # a plane's name: never renamed
    island = np.flatnonzero(np.hypot(x[:, 0] + 2.5, x[:, 1] + 2.5) < 0.45)
    assert 1 <= len(island) < CRUMB
    names[island] = "substrate"
    sheet = Sheet(x[:5], np.array(["nuclei", "substrate"] * 2 + ["nuclei"], dtype=object))
    out = _absorb_name_crumbs(tris, names, sheet)
    assert set(out[island]) == {"nuclei"}
    rest = np.setdiff1d(np.arange(len(tris)), island)
    assert np.array_equal(out[rest], names[rest])
