"""Nearest points on triangles, segments and named triangulated surfaces
(:mod:`femli.geometry.closest`), against brute force and shapes with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from femli.geometry.closest import SurfaceProjector, closest_on_segments, closest_on_triangles


def brute_force(point: np.ndarray, corners: np.ndarray, n: int = 400) -> float:
    """Distance from ``point`` to a dense barycentric sampling of the triangle."""
    u, v = np.meshgrid(np.linspace(0, 1, n), np.linspace(0, 1, n))
    keep = u + v <= 1
    u, v = u[keep], v[keep]
    samples = (
        corners[0] + u[:, None] * (corners[1] - corners[0]) + v[:, None] * (corners[2] - corners[0])
    )
    return float(np.linalg.norm(samples - point, axis=1).min())


def test_closest_on_triangles_matches_brute_force_in_every_region():
    rng = np.random.default_rng(3)
    corners = np.array([[0.0, 0.0, 0.0], [1.0, 0.2, 0.1], [0.3, 0.9, -0.2]])
    points = rng.uniform(-1.0, 2.0, size=(60, 3))  # face, edge and vertex regions alike
    found = closest_on_triangles(points, np.broadcast_to(corners, (60, 3, 3)))
    dist = np.linalg.norm(found - points, axis=1)
    expected = np.array([brute_force(p, corners) for p in points])
    assert np.all(dist <= expected + 1e-12)  # never farther than any point of the triangle
    assert dist == pytest.approx(expected, abs=5e-3)  # (the sampling's spacing)


def test_closest_on_triangles_known_cases():
    corners = np.array([[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]] * 3)
    points = np.array([[0.2, 0.3, 0.5], [0.5, -1.0, 2.0], [-1.0, -2.0, 0.0]])
    found = closest_on_triangles(points, corners)
    assert found == pytest.approx(np.array([[0.2, 0.3, 0], [0.5, 0, 0], [0, 0, 0]]))


def test_closest_on_segments_clamps_to_the_ends():
    a, b = np.zeros((3, 3)), np.tile([1.0, 0.0, 0.0], (3, 1))
    points = np.array([[0.4, 1.0, 0.0], [-2.0, 0.0, 1.0], [3.0, 0.0, 0.0]])
    found = closest_on_segments(points, a, b)
    assert found == pytest.approx(np.array([[0.4, 0, 0], [0, 0, 0], [1, 0, 0]]))


def uv_sphere(rings: int = 12, sectors: int = 24) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A unit sphere triangulated by latitude rings (one at z = 0), its two halves named."""
    theta = np.linspace(0, np.pi, 2 * rings + 1)[1:-1]
    phi = np.linspace(0, 2 * np.pi, sectors, endpoint=False)
    ring = np.stack(
        [np.outer(np.sin(theta), np.cos(phi)), np.outer(np.sin(theta), np.sin(phi)),
         np.outer(np.cos(theta), np.ones_like(phi))], axis=-1,
    ).reshape(-1, 3)  # fmt: skip
    nodes = np.vstack([[0, 0, 1.0], ring, [0, 0, -1.0]])
    south, per = len(nodes) - 1, sectors

    def at(i: int, j: int) -> int:
        return 1 + i * per + j % per

    top, bottom = [], []
    for j in range(per):
        top.append([0, at(0, j), at(0, j + 1)])
        bottom.append([south, at(len(theta) - 1, j + 1), at(len(theta) - 1, j)])
    for i in range(len(theta) - 1):
        for j in range(per):
            quad = [
                [at(i, j), at(i + 1, j), at(i + 1, j + 1)],
                [at(i, j), at(i + 1, j + 1), at(i, j + 1)],
            ]
            (top if i < rings - 1 else bottom).extend(quad)
    return nodes, {"top": np.array(top), "bottom": np.array(bottom)}


def test_projector_puts_points_on_their_group_and_shared_points_on_the_common_edges():
    nodes, triangles = uv_sphere()
    tags = [7, 9]
    projector = SurfaceProjector(nodes, triangles, {"top": 7, "bottom": 9}, tags)
    assert projector.has_curved(7) and projector.has_curved(9)
    rng = np.random.default_rng(1)
    # points just off the upper half: each lands on a top triangle, closer than it was
    direction = rng.normal(size=(200, 3))
    direction[:, 2] = np.abs(direction[:, 2]) + 0.2
    direction /= np.linalg.norm(direction, axis=1)[:, None]
    points = direction * rng.uniform(0.97, 1.03, size=(200, 1))
    found = projector.project(points, np.full(200, 0b01))
    corners = nodes[triangles["top"]]
    nearest = np.array([min(brute_force(p, c, 80) for c in corners) for p in points[:10]])
    moved = np.linalg.norm(found[:10] - points[:10], axis=1)
    assert np.all(moved <= nearest + 1e-12)  # as near as any point of the top half
    assert moved == pytest.approx(nearest, abs=0.01)  # (the sampling's spacing)
    on = [min(brute_force(p, c, 80) for c in corners) for p in found[:10]]
    assert max(on) < 0.01  # and on it
    # points on both halves (the equator's chords, pushed out): onto the equator polyline
    equator = nodes[1 + 11 * 24 : 1 + 12 * 24]
    assert equator[:, 2] == pytest.approx(0.0, abs=1e-15)
    mid = 0.5 * (equator + np.roll(equator, -1, axis=0))
    out = mid * 1.01 + np.array([0.0, 0.0, 0.004])
    found = projector.project(out, np.full(len(out), 0b11))
    assert found == pytest.approx(mid, abs=1e-12)
    # a node of neither group stays
    assert projector.project(out[:3], np.zeros(3, dtype=np.int64)) == pytest.approx(out[:3])


def test_a_plane_group_needs_no_projection():
    nodes = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0.5, 0.5, 1.0]], dtype=float)
    triangles = {
        "floor": np.array([[0, 1, 2], [0, 2, 3]]),
        "roof": np.array([[0, 1, 4], [1, 2, 4], [2, 3, 4], [3, 0, 4]]),
    }
    projector = SurfaceProjector(nodes, triangles, {"floor": 1, "roof": 2}, [1, 2])
    assert not projector.has_curved(1)
    assert projector.has_curved(2)
    assert not projector.has_curved(5)  # a tag it does not know
