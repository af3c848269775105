"""femli.growth.labels: names on a rebuilt sheet cut straight across its triangles."""

from __future__ import annotations

import numpy as np
import pytest
import pyvista as pv

from femli.growth.contour import _open_edges, shell_volume
from femli.growth.labels import MARGIN, cut_names


def _areas(points: np.ndarray, tris: np.ndarray) -> np.ndarray:
    a, b, c = (points[tris[:, k]] for k in range(3))
    return 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)


def _sphere(resolution: int) -> tuple[np.ndarray, np.ndarray]:
    s = pv.Sphere(radius=1.0, theta_resolution=resolution, phi_resolution=resolution)
    s = s.triangulate().clean()
    return np.asarray(s.points, dtype=float), s.faces.reshape(-1, 4)[:, 1:].astype(np.int64)


@pytest.fixture(scope="module")
def cut():
    """A unit sphere named after a finer one's triangles: 'a' above z = 0.1, 'b' below
    except 'c' where x > 0.5 (three names meet at two points)."""
    points, tris = _sphere(40)
    old_points, old_tris = _sphere(97)
    centres = old_points[old_tris].mean(axis=1)
    names = np.where(centres[:, 2] > 0.1, "a", "b").astype(object)
    names[(centres[:, 0] > 0.5) & (centres[:, 2] <= 0.1)] = "c"
    return points, tris, cut_names(points, tris, centres, names)


def test_the_cut_sheet_is_the_same_closed_oriented_surface(cut):
    points, tris, (new_points, new_tris, names) = cut
    assert len(new_tris) > len(tris) and len(names) == len(new_tris)
    assert np.array_equal(new_points[: len(points)], points)  # old points keep their index
    assert _open_edges(new_tris) == 0  # conforming: every cut point shared by both sides
    assert _areas(new_points, new_tris).sum() == pytest.approx(_areas(points, tris).sum(), 1e-12)
    assert shell_volume(new_points, new_tris) == pytest.approx(shell_volume(points, tris), 1e-12)
    assert set(names) == {"a", "b", "c"}


def test_the_boundary_crosses_the_triangles_near_the_true_line(cut):
    """Every new triangle lies on its own name's side of z = 0.1 to within the coarse
    sheet's edge length (0.16); the cut points are not at the edges' ends."""
    points, tris, (new_points, new_tris, names) = cut
    z = new_points[new_tris].mean(axis=1)[:, 2]
    assert (z[names == "a"] > 0.1 - 0.16).all() and (z[names != "a"] < 0.1 + 0.16).all()
    cuts = new_points[len(points) :]
    edges = np.linalg.norm(points[tris[:, 1]] - points[tris[:, 0]], axis=1)
    nearest = np.min(np.linalg.norm(cuts[:, None, :] - points[None, :, :], axis=2), axis=1)
    assert nearest.min() >= 0.5 * MARGIN * edges.min()  # no sliver at a corner


def test_fixed_edges_are_not_cut_and_one_name_is_plain_nearest():
    points, tris = _sphere(20)
    centres = points[tris].mean(axis=1)
    names = np.where(centres[:, 2] > 0.0, "a", "b").astype(object)
    fixed = np.ones(len(points), dtype=bool)
    new_points, new_tris, new_names = cut_names(points, tris, centres, names, fixed)
    assert np.array_equal(new_tris, tris) and len(new_points) == len(points)
    assert set(new_names) == {"a", "b"}
    same = np.full(len(centres), "a", dtype=object)
    _, plain, plain_names = cut_names(points, tris, centres, same)
    assert np.array_equal(plain, tris) and set(plain_names) == {"a"}
