"""Void-contact builder: groups, contact fraction, determinism, errors."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import mesh_measure, node_coords

from femli.geometry import GeometryError, VoidContactParams, build, build_void_contact

pytestmark = pytest.mark.usefixtures("session")


def test_2d_groups_and_contact_fraction() -> None:
    g = build("void_contact", contact_fraction=0.6, seed=1)
    assert set(g.cell_groups) == {"lithium", "electrolyte"}
    assert set(g.facet_groups) == {
        "contact",
        "void",
        "collector",
        "bulk",
        "wall_left",
        "wall_right",
    }
    assert mesh_measure(1, "contact") == pytest.approx(6.0, rel=1e-9)
    assert mesh_measure(1, "collector") == pytest.approx(10.0)
    assert mesh_measure(2, "electrolyte") == pytest.approx(50.0, rel=1e-9)
    # Li lost the half-ellipse voids: area pi/4 * w * d summed
    sizes = np.array(g.features["void_sizes"])
    lost = np.sum(np.pi / 4 * sizes * 0.5 * sizes / 2 * 2)
    assert mesh_measure(2, "lithium") == pytest.approx(20.0 - lost / 2, rel=2e-3)


def test_interlayer_and_full_contact() -> None:
    g = build("void_contact", interlayer_thickness=1.0, contact_fraction=0.95)
    assert set(g.cell_groups) == {"lithium", "interlayer", "electrolyte"}
    assert "li_interlayer" in g.facet_groups
    assert g.features["contact_fraction"] == pytest.approx(0.95)
    full = build("void_contact", contact_fraction=1.0)
    assert "void" not in full.facet_groups
    assert full.features["n_voids"] == 0


def test_3d_contact_fraction() -> None:
    g = build(
        "void_contact",
        dim=3,
        width=3.0,
        depth=3.0,
        se_thickness=2.0,
        contact_fraction=0.85,
        void_size=0.8,
        h_far=1.0,
    )
    assert {"wall_front", "wall_back", "contact", "void"} <= set(g.facet_groups)
    assert g.features["contact_fraction"] == pytest.approx(0.85, abs=2e-3)
    assert mesh_measure(2, "contact") == pytest.approx(0.85 * 9.0, rel=0.02)


def test_deterministic() -> None:
    p = VoidContactParams(seed=4)
    build_void_contact(p)
    x = node_coords()
    build_void_contact(p)
    np.testing.assert_array_equal(x, node_coords())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"dim": 3, "contact_fraction": 0.074, "void_size": 2.0}, "contact_fraction=0.074"),
        ({"contact_fraction": 0.0}, "contact_fraction=0.0"),
        ({"void_aspect": 8.0}, "void_aspect=8.0"),
        ({"h_interface": 0.5, "void_size": 0.5}, "h_interface=0.5"),
    ],
)
def test_impossible_parameters(kwargs: dict, match: str) -> None:
    with pytest.raises(GeometryError, match=match):
        VoidContactParams(**kwargs)
