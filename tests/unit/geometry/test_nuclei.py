"""Nucleus-array builder: groups, cap areas, placement, determinism, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import mesh_measure, node_coords

from femli.geometry import GeometryError, NucleusArrayParams, build, build_nucleus_array

pytestmark = pytest.mark.usefixtures("session")
SMALL = {"width": 2.0, "depth": 2.0, "height": 2.0, "h_far": 0.5, "h_substrate": 0.25}


def test_3d_groups_and_cap_area() -> None:
    g = build("nucleus_array", count=3, diameter=0.5, seed=1, **SMALL)
    assert set(g.cell_groups) == {"electrolyte"}
    expected = {"nuclei", "substrate", "bulk", "wall_left", "wall_right", "wall_front", "wall_back"}
    assert set(g.facet_groups) == expected
    a = 0.25
    cap_area = 3 * 2 * math.pi * a**2  # hemispheres
    assert g.features["nuclei_measure"] == pytest.approx(cap_area)
    assert mesh_measure(2, "nuclei") == pytest.approx(cap_area, rel=0.03)
    assert mesh_measure(2, "substrate") == pytest.approx(4.0 - 3 * math.pi * a**2, rel=0.01)
    vol = 8.0 - 3 * 2 / 3 * math.pi * a**3
    assert mesh_measure(3, "electrolyte") == pytest.approx(vol, rel=0.01)


@pytest.mark.parametrize("angle", [60.0, 120.0])
def test_contact_angle_cap_geometry(angle: float) -> None:
    g = build("nucleus_array", count=2, diameter=0.5, contact_angle=angle, **SMALL)
    a, r = 0.25, 0.25 / math.sin(math.radians(angle))
    h = r * (1 - math.cos(math.radians(angle)))
    assert g.features["cap_height"] == pytest.approx(h)
    assert g.features["contact_angle"] == pytest.approx(angle)
    assert g.features["nuclei_measure"] == pytest.approx(2 * 2 * math.pi * r * h)
    assert mesh_measure(2, "nuclei") == pytest.approx(2 * 2 * math.pi * r * h, rel=0.03)
    assert g.features["analytic_substrate_measure"] == pytest.approx(4.0 - 2 * math.pi * a**2)


def test_cap_height_overrides_angle() -> None:
    g = build("nucleus_array", count=1, diameter=0.5, cap_height=0.1, **SMALL)
    r = (0.25**2 + 0.1**2) / 0.2
    assert g.features["sphere_radius"] == pytest.approx(r)
    assert g.features["electrolyte_measure"] == pytest.approx(
        8.0 - math.pi * 0.1**2 * (3 * r - 0.1) / 3
    )


def test_2d_cross_section() -> None:
    g = build("nucleus_array", dim=2, count=3, diameter=0.5, width=5.0, seed=2)
    assert set(g.facet_groups) == {"nuclei", "substrate", "bulk", "wall_left", "wall_right"}
    assert mesh_measure(1, "nuclei") == pytest.approx(3 * math.pi * 0.25, rel=0.01)
    assert mesh_measure(1, "substrate") == pytest.approx(5.0 - 1.5, rel=1e-9)
    assert g.features["electrolyte_measure"] == pytest.approx(25.0 - 3 * math.pi * 0.25**2 / 2)


def test_density_and_lattice() -> None:
    p = NucleusArrayParams(density=2.0, diameter=0.2, placement="lattice", **SMALL)
    assert p.n == 8
    c = p.centres()
    assert c.shape == (8, 2)
    assert len({tuple(x) for x in np.round(c, 9)}) == 8


def test_random_placement_respects_gap_and_seed() -> None:
    p = NucleusArrayParams(diameter=0.15, count=60, min_gap=0.1, seed=5)
    c = p.centres()
    d = np.linalg.norm(c[:, None] - c[None], axis=-1) + np.eye(len(c)) * 1e9
    assert d.min() >= 0.15 + 0.1 - 1e-12
    assert np.all(c >= 0.075 + 0.1 - 1e-12)
    assert np.all(c <= np.array([5.0, 4.5]) - 0.175 + 1e-12)
    np.testing.assert_array_equal(c, NucleusArrayParams(diameter=0.15, count=60, seed=5).centres())
    assert not np.array_equal(c, NucleusArrayParams(diameter=0.15, count=60, seed=6).centres())


def test_mesh_is_deterministic() -> None:
    p = NucleusArrayParams(count=2, diameter=0.5, seed=4, **SMALL)
    build_nucleus_array(p)
    x = node_coords()
    build_nucleus_array(p)
    np.testing.assert_array_equal(x, node_coords())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"count": 40, "diameter": 0.55}, "count=40"),
        ({"count": 60, "diameter": 0.55, "placement": "lattice"}, "lattice"),
        ({"contact_angle": 170.0}, "contact_angle=170.0"),
        ({"h_nucleus": 0.5}, "h_nucleus=0.5"),
        ({"count": 0}, "count=0"),
        ({"diameter": 6.0, "count": 1}, "diameter=6.0"),
    ],
)
def test_impossible_parameters(kwargs: dict, match: str) -> None:
    with pytest.raises(GeometryError, match=match):
        NucleusArrayParams(**kwargs)
