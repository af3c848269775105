"""Void-contact builder: groups, contact fraction, islands (inverted) mode, meshed regions,
determinism, errors."""

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
        ({"dim": 3, "contact_fraction": 0.074, "void_size": 2.0}, "mode='islands'"),
        ({"mode": "islands", "contact_fraction": 1.0}, "contact_fraction=1.0"),
        ({"dim": 3, "mode": "islands", "contact_fraction": 0.6}, "contact_fraction=0.6"),
        ({"mode": "inverted"}, "mode='inverted'"),
        ({"region": "lithium"}, "region='lithium'"),
        ({"placement": "grid"}, "placement='grid'"),
        ({"count": 0}, "count=0"),
        (
            {"mode": "islands", "count": 2, "placement": "regular", "contact_fraction": 0.99},
            "placement='regular'",
        ),
        ({"mode": "islands", "void_aspect": 3.9, "contact_fraction": 0.3}, "void_aspect=3.9"),
        ({"h_edge": 1e-4}, "h_edge=0.0001"),
        ({"contact_fraction": 0.0}, "contact_fraction=0.0"),
        ({"void_aspect": 8.0}, "void_aspect=8.0"),
        ({"h_interface": 0.5, "void_size": 0.5}, "h_interface=0.5"),
    ],
)
def test_impossible_parameters(kwargs: dict, match: str) -> None:
    with pytest.raises(GeometryError, match=match):
        VoidContactParams(**kwargs)


def test_islands_2d_groups_and_contact() -> None:
    g = build("void_contact", mode="islands", contact_fraction=0.3, void_size=1.0, seed=2)
    assert set(g.cell_groups) == {"lithium", "electrolyte"}
    assert g.features["mode"] == "islands"
    n = g.features["n_islands"]
    assert n == len(g.features["void_sizes"]) >= 2
    assert mesh_measure(1, "contact") == pytest.approx(3.0, rel=1e-9)
    # the SE keeps its full area; Li lost the gap slab except under the islands
    gap = g.features["gap_depth"]
    assert gap == pytest.approx(0.5 * np.mean(g.features["void_sizes"]) / 2)
    assert mesh_measure(2, "electrolyte") == pytest.approx(50.0, rel=1e-9)
    assert mesh_measure(2, "lithium") == pytest.approx(20.0 - 0.7 * 10.0 * gap, rel=1e-6)
    # void: SE bottom over the gap, gap floor in Li, two pillar sides per island
    assert mesh_measure(1, "void") == pytest.approx(2 * 7.0 + 2 * n * gap, rel=1e-6)
    assert g.features["contact_edge_measure"] == 2 * n  # contact | void edge points


def test_islands_3d_reach_low_contact() -> None:
    """The paper's 7.4 % contact, out of reach for separate voids, with islands."""
    g = build(
        "void_contact",
        dim=3,
        width=5.0,
        depth=5.0,
        se_thickness=2.0,
        mode="islands",
        contact_fraction=0.074,
        void_size=1.0,
        h_far=1.0,
    )
    assert {"contact", "void", "collector", "bulk", "wall_front"} <= set(g.facet_groups)
    assert g.features["contact_fraction"] == pytest.approx(0.074, abs=1e-3)
    assert mesh_measure(2, "contact") == pytest.approx(0.074 * 25.0, rel=0.02)
    # pillar tops are discs: the contact | void edges are circles of the island diameters
    perimeter = np.pi * np.sum(g.features["void_sizes"])
    assert g.features["contact_edge_measure"] == pytest.approx(perimeter, rel=1e-6)


def test_single_regular_island_is_centred() -> None:
    d, w = 2.0, 10.0
    g = build(
        "void_contact",
        dim=3,
        width=w,
        depth=w,
        mode="islands",
        count=1,
        placement="regular",
        contact_fraction=np.pi * d * d / 4 / w**2,
        void_size=d,
        region="electrolyte",
        h_interface=0.5,
        h_edge=0.1,
        h_far=2.0,
    )
    assert g.features["void_sizes"] == pytest.approx([d])
    np.testing.assert_allclose(g.features["void_centres"], [[5.0, 5.0]])
    assert g.features["h_min"] == pytest.approx(0.1)


def test_regions_electrolyte_and_metal() -> None:
    kw = {"contact_fraction": 0.7, "void_size": 1.0, "seed": 3}
    se = build("void_contact", region="electrolyte", **kw)
    assert set(se.cell_groups) == {"electrolyte"}
    assert set(se.facet_groups) == {"contact", "void", "bulk", "wall_left", "wall_right"}
    assert mesh_measure(2, "electrolyte") == pytest.approx(50.0, rel=1e-9)
    assert mesh_measure(1, "contact") == pytest.approx(7.0, rel=1e-9)
    assert mesh_measure(1, "void") == pytest.approx(3.0, rel=1e-9)  # flat SE side only
    li = build("void_contact", region="metal", **kw)
    assert set(li.cell_groups) == {"lithium"}
    assert set(li.facet_groups) == {"contact", "void", "collector", "wall_left", "wall_right"}
    assert mesh_measure(1, "contact") == pytest.approx(7.0, rel=1e-9)
    assert li.features["void_measure"] > 3.0  # curved metal side of the voids
    full = build("void_contact", region="metal", contact_fraction=1.0, interlayer_thickness=1.0)
    assert set(full.cell_groups) == {"lithium", "interlayer"}
    assert set(full.facet_groups) == {
        "contact",
        "collector",
        "li_interlayer",
        "wall_left",
        "wall_right",
    }


def test_defaults_unchanged_by_new_options() -> None:
    """Explicit defaults of the new options give the same mesh as before."""
    build_void_contact(VoidContactParams(seed=4))
    x = node_coords()
    p = VoidContactParams(seed=4, mode="voids", region="all", placement="random", count=None)
    build_void_contact(p)
    np.testing.assert_array_equal(x, node_coords())
