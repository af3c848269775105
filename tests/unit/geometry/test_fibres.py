"""Fibre-mat builder: groups, porosity, Ag tagging, determinism, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import mesh_measure, node_coords

from femli.geometry import FibreMatParams, GeometryError, build, build_fibre_mat

pytestmark = pytest.mark.usefixtures("session")
SMALL3D = {"dim": 3, "width": 2.0, "depth": 2.0, "height": 4.0, "silver_density": 0.3}


def test_2d_groups_porosity_and_areas() -> None:
    g = build("fibre_mat", seed=2)
    assert set(g.cell_groups) == {"electrolyte", "host", "particle_layer"}
    assert set(g.facet_groups) >= {"electrode", "fibre_surface", "silver", "bulk", "wall_left"}
    assert g.features["porosity"] == pytest.approx(0.8, abs=0.01)
    assert g.features["total_thickness"] == pytest.approx(3.5)
    assert mesh_measure(2, "particle_layer") == pytest.approx(10.0, rel=1e-9)
    assert mesh_measure(2, "electrolyte") == pytest.approx(65.0, rel=1e-9)
    assert mesh_measure(2, "host") == pytest.approx(25 * g.features["porosity"], rel=5e-3)
    assert mesh_measure(1, "electrode") == pytest.approx(10.0)
    # every fibre keeps its full perimeter minus the Ag caps: lower bound on the length
    n, r = g.features["n_fibres"], 0.25
    assert 0.8 * n * 2 * math.pi * r < g.features["fibre_surface_measure"] < n * 2 * math.pi * r
    assert g.features["n_silver"] > 0 and g.features["silver_measure"] > 0


def test_count_overrides_porosity() -> None:
    g = build("fibre_mat", count=5, silver_density=0.0)
    assert g.features["n_fibres"] == 5
    assert "silver" not in g.facet_groups
    assert g.features["porosity"] == pytest.approx(1 - 5 * math.pi * 0.25**2 / 25)


def test_3d_crossed_layers() -> None:
    g = build("fibre_mat", **SMALL3D)
    assert set(g.facet_groups) >= {"wall_front", "wall_back", "fibre_surface", "silver"}
    assert g.features["porosity"] == pytest.approx(0.8, abs=0.03)
    assert mesh_measure(3, "host") == pytest.approx(10 * g.features["porosity"], rel=0.01)
    axes = {axis for axis, _, _ in FibreMatParams(**SMALL3D).layout()}
    assert axes == {0, 1}


def test_deterministic() -> None:
    p = FibreMatParams(seed=9, width=5.0)
    build_fibre_mat(p)
    x = node_coords()
    build_fibre_mat(p)
    np.testing.assert_array_equal(x, node_coords())
    assert FibreMatParams(seed=10, width=5.0).layout() != p.layout()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"porosity": 0.4}, "porosity=0.4"),
        ({"count": 200}, "count=200"),
        ({"porosity": 1.2}, "porosity=1.2"),
        ({"min_gap": 0.1}, "min_gap=0.1"),
        ({"fibre_diameter": 2.4}, "fibre_diameter=2.4"),
        ({"height": 3.0}, "height=3.0"),
        ({"dim": 3, "porosity": 0.3, "width": 3.0, "depth": 3.0}, "porosity=0.3"),
    ],
)
def test_impossible_parameters(kwargs: dict, match: str) -> None:
    with pytest.raises(GeometryError, match=match):
        FibreMatParams(**kwargs)
