"""The level set's distances (femli.growth.surface): exact distances to a triangle soup,
against the closed form for a unit square."""

from __future__ import annotations

import numpy as np

from femli.growth.surface import unsigned_distance


def square_distance(p: np.ndarray) -> np.ndarray:
    """Distance from points to the square [0, 1]^2 in the plane z = 0."""
    dx = np.maximum(np.maximum(-p[:, 0], p[:, 0] - 1.0), 0.0)
    dy = np.maximum(np.maximum(-p[:, 1], p[:, 1] - 1.0), 0.0)
    return np.sqrt(dx**2 + dy**2 + p[:, 2] ** 2)


def test_distances_to_a_triangle_soup_are_exact():
    """The square cut in 2 x 8 x 8 triangles, with a duplicate (mirror images overlap in a
    rebuild) and a far triangle: points above it, beside it, past its corners and far away
    get the closed-form distance."""
    n = 8
    x = np.linspace(0.0, 1.0, n + 1)
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    corner = np.stack([x[i], x[j]], axis=-1).reshape(-1, 2)
    h = 1.0 / n
    right, up = np.array([h, 0.0]), np.array([0.0, h])
    lower = np.stack([corner, corner + right, corner + right + up], axis=1)
    upper = np.stack([corner, corner + right + up, corner + up], axis=1)
    flat = np.concatenate([lower, upper])
    tris = np.concatenate([flat, np.zeros((len(flat), 3, 1))], axis=2)
    far = np.array([[[50.0, 50.0, 50.0], [51.0, 50.0, 50.0], [50.0, 51.0, 50.0]]])
    soup = np.concatenate([tris, tris[:5], far])
    rng = np.random.default_rng(7)
    points = np.concatenate(
        [rng.uniform(-0.5, 1.5, (4000, 3)), rng.uniform(-10.0, 10.0, (200, 3)), [[0.3, 0.7, 0.0]]]
    )
    got = unsigned_distance(points, soup)
    assert np.allclose(got, square_distance(points), rtol=0, atol=1e-12)  # the far one: >= 40
    assert got[-1] == 0.0  # on the square
    assert np.isinf(unsigned_distance(points[:3], soup[:0])).all()
