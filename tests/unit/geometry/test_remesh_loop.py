"""Boundary resampling for remeshing keeps the enclosed area."""

import numpy as np
import pytest

from femli.geometry.loops import Polyline, resample, resample_loop, signed_area


def ridge_loop(n: int = 40) -> list[Polyline]:
    theta = np.linspace(np.pi, 0.0, n)
    arc = np.column_stack([5 + np.cos(theta), np.sin(theta)])
    electrode = np.vstack([[0, 0], [4, 0], arc[1:-1], [6, 0], [10, 0]])
    return [
        Polyline("electrode", electrode),
        Polyline("wall_right", np.array([[10.0, 0], [10, 10]])),
        Polyline("bulk", np.array([[10.0, 10], [0, 10]])),
        Polyline("wall_left", np.array([[0.0, 10], [0, 0]])),
    ]


def test_resample_is_uniform_and_keeps_ends():
    pts = resample(np.array([[0.0, 0.0], [3.0, 0.0], [3.0, 4.0]]), 1.0)
    steps = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    assert len(pts) == 8 and np.allclose(pts[[0, -1]], [[0, 0], [3, 4]])
    assert steps.max() < 1.0 + 1e-12


def test_resampled_loop_keeps_area_within_1e_6():
    loop = ridge_loop()
    before = signed_area(np.concatenate([line.points[:-1] for line in loop]))
    new = resample_loop(loop, ["electrode"], 0.7, 2.0)
    chords = [
        resample(line.points, 0.7) if line.name == "electrode" else line.points for line in loop
    ]
    plain = signed_area(np.concatenate([p[:-1] for p in chords]))
    after = signed_area(np.concatenate([p[:-1] for p in new]))
    assert abs(plain - before) > 1e-3  # chords alone lose area on the ridge
    assert after == pytest.approx(before, rel=1e-6)
    assert np.allclose(new[1], loop[1].points)  # passive walls untouched
