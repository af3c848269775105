"""The interval (1D cell) and annulus (concentric circles, r-z spheres) builders."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import mesh_measure, node_coords

from femli.geometry import GeometryError, build, make_params

pytestmark = pytest.mark.usefixtures("session")


def test_interval_names_cells_and_sizes():
    g = build("interval", length_um=50.0, h_um=0.3, left="anode", right="cathode")
    assert g.dim == 1 and set(g.cell_groups) == {"electrolyte"}
    assert set(g.facet_groups) == {"anode", "cathode"}
    assert g.quality.n_elements == 167 == g.features["cells"]  # ceil(50 / 0.3)
    x = np.sort(node_coords()[:, 0])
    assert x[0] == 0.0 and x[-1] == pytest.approx(50.0) and np.ptp(np.diff(x)) < 1e-9
    assert build("interval").quality.n_elements == 200  # the default


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"cells": 10, "h_um": 1.0}, "give cells or h_um, not both"),
        ({"left": "a", "right": "a"}, "right='a' is not allowed"),
        ({"left": " "}, "left=' ' is not allowed: a non-empty boundary name"),
        ({"h_um": 1e-5}, "h_um=1e-05 is not allowed"),
        ({"cells": 10**8}, "gives 100000000 elements; allowed: 1 to 10000000"),
        ({"dim": 2}, "dim=2 is not allowed: 1 (an interval is 1D)"),
    ],
)
def test_interval_refusals(params, message):
    with pytest.raises(GeometryError) as info:
        make_params("interval", **params)
    assert message in str(info.value)


def test_quarter_annulus_groups_and_measures():
    g = build("annulus", inner_radius=1.0, outer_radius=10.0)
    assert set(g.facet_groups) == {"inner", "outer", "side_start", "side_end"}
    assert g.features["inner_measure"] == pytest.approx(math.pi / 2)
    assert g.features["electrolyte_measure"] == pytest.approx(math.pi * 99 / 4)
    assert mesh_measure(2, "electrolyte") == pytest.approx(math.pi * 99 / 4, rel=2e-3)
    for name in ("side_start", "side_end"):  # the x axis (z = 0) and the y axis (r = 0)
        assert mesh_measure(1, name) == pytest.approx(9.0)
    x = node_coords()
    assert x[:, 0].min() > -1e-9 and x[:, 1].min() > -1e-9  # the quarter x, y >= 0


def test_whole_ring_has_no_sides_and_sectors_refine():
    ring = build("annulus", inner_radius=1.0, outer_radius=2.0, angle_start=0, angle_end=360)
    assert set(ring.facet_groups) == {"inner", "outer"}
    assert ring.features["electrolyte_measure"] == pytest.approx(3 * math.pi)
    coarse = build("annulus", angle_start=-90.0, angle_end=90.0).quality.n_elements
    fine = build("annulus", angle_start=-90.0, angle_end=90.0, refinement=2.0).quality.n_elements
    assert fine > 3 * coarse


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"inner_radius": 2.0, "outer_radius": 1.0}, "outer_radius=1.0 is not allowed"),
        ({"angle_start": 10.0, "angle_end": 10.0}, "angle_end=10.0 is not allowed"),
        ({"angle_start": 0.0, "angle_end": 400.0}, "by at most 360 degrees"),
        ({"h_inner": -1.0}, "h_inner=-1.0 is not allowed"),
    ],
)
def test_annulus_refusals(params, message):
    with pytest.raises(GeometryError) as info:
        make_params("annulus", **params)
    assert message in str(info.value)
