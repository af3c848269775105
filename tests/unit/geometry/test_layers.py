"""Layered-stack builder: groups, layer areas, optional layers, the resolved porous layer,
errors."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import mesh_measure, node_coords

from femli.geometry import GeometryError, LayeredStackParams, build, build_layered_stack

#: Every name the builder may create (declared once, on its parameter class).
CELL_NAMES = LayeredStackParams.REGION_NAMES.cells
FACET_NAMES = LayeredStackParams.REGION_NAMES.facets

pytestmark = pytest.mark.usefixtures("session")


def test_seed002_groups_and_areas() -> None:
    g = build("layered_stack")
    assert set(g.cell_groups) == {"substrate", "porous_layer", "top_layer", "electrolyte"}
    assert set(g.facet_groups) == {
        "collector",
        "substrate_porous",
        "porous_top",
        "electrode",
        "bulk",
        "wall_left",
        "wall_right",
    }
    for name, t in [("substrate", 4.5), ("porous_layer", 4.0), ("top_layer", 0.2)]:
        assert mesh_measure(2, name) == pytest.approx(10 * t)
    assert mesh_measure(1, "electrode") == pytest.approx(10.0)
    assert g.features["electrode_height"] == pytest.approx(8.7)


def test_without_porous_layer_and_3d() -> None:
    g = build("layered_stack", porous_thickness=0.0)
    assert "porous_layer" not in g.cell_groups
    assert "substrate_top" in g.facet_groups
    g3 = build(
        "layered_stack",
        dim=3,
        width=2.0,
        depth=2.0,
        substrate_thickness=1.0,
        porous_thickness=1.0,
        top_thickness=0.4,
        electrolyte_height=2.0,
    )
    assert {"wall_front", "wall_back"} <= set(g3.facet_groups)
    assert mesh_measure(3, "top_layer") == pytest.approx(4 * 0.4)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"top_thickness": -1.0}, "top_thickness=-1.0"),
        ({"h_electrode": 0.5}, "h_electrode=0.5"),
        ({"porosity": 1.0}, "porosity=1.0"),
        ({"porous_mode": "particles"}, "porous_mode='particles'"),
        ({"porous_mode": "resolved", "dim": 3}, "dim=3"),
        ({"porous_mode": "resolved", "top_coverage": 1.0, "porosity": 0.7}, "top_coverage=1.0"),
        ({"porous_mode": "resolved", "porosity": 0.3}, "porosity=0.3"),
        ({"porous_mode": "resolved", "silver_diameter": 0.6, "porosity": 0.8}, "silver_diameter"),
        ({"porous_mode": "resolved", "porous_thickness": 0.5}, "porous_thickness=0.5"),
        ({"porous_mode": "resolved", "top_coverage": 0.99, "porosity": 0.8}, "top_coverage=0.99"),
    ],
)
def test_impossible_parameters(kwargs: dict, match: str) -> None:
    with pytest.raises(GeometryError, match=match):
        LayeredStackParams(**kwargs)


#: A small resolved stack: 4 um wide, 2 um porous layer, 3 um of electrolyte.
SMALL = {
    "porous_mode": "resolved",
    "width": 4.0,
    "substrate_thickness": 1.0,
    "porous_thickness": 2.0,
    "top_thickness": 0.2,
    "electrolyte_height": 3.0,
    "porosity": 0.7,
    "min_gap": 0.03,
    "h_far": 0.5,
    "seed": 1,
}


def test_resolved_parts_and_measures() -> None:
    g = build("layered_stack", **SMALL)
    assert set(g.cell_groups) == {"electrolyte"}
    parts = {"copper", "carbon", "silver_particles", "silver_top"}
    assert set(g.facet_groups) == parts | {"bulk", "wall_left", "wall_right"}
    f = g.features
    assert f["n_carbon"] >= 5 and f["n_silver_particles"] == 3 * f["n_carbon"]
    assert f["silver_share_of_solid"] == pytest.approx(0.057, abs=0.01)
    assert f["porosity"] == pytest.approx(0.7, abs=0.03)
    # the Cu surface is reached everywhere (particles keep min_gap from it)
    assert mesh_measure(1, "copper") == pytest.approx(4.0, rel=1e-6)
    # 8 grains of 0.8 x 0.5 um: four sides each
    assert f["n_grains"] == 8
    assert f["part_measure"]["silver_top"] == pytest.approx(8 * 2 * (0.4 + 0.2), rel=1e-9)
    assert mesh_measure(1, "silver_top") == pytest.approx(9.6, rel=1e-6)
    # carbon rims with Ag bumps: longer than the bare rims would be, shorter than whole discs
    rims = np.pi * 0.5 * f["n_carbon"]
    assert 0.6 * rims < f["part_measure"]["carbon"] < rims
    assert mesh_measure(1, "carbon") == pytest.approx(f["part_measure"]["carbon"], rel=2e-3)
    # the meshed electrolyte: box above the Cu surface minus the solids
    box = 4.0 * (2.0 + 0.2 + 3.0)
    solids = box - mesh_measure(2, "electrolyte")
    carbon = f["n_carbon"] * np.pi * 0.25**2
    assert carbon + 8 * 0.4 * 0.2 < solids < carbon * 1.1 + 8 * 0.4 * 0.2


def test_resolved_bare_and_dense_film() -> None:
    bare = build("layered_stack", **(SMALL | {"porous_thickness": 0.0, "top_thickness": 0.0}))
    assert set(bare.facet_groups) == {"copper", "bulk", "wall_left", "wall_right"}
    assert mesh_measure(2, "electrolyte") == pytest.approx(4.0 * 3.0, rel=1e-9)
    film = build("layered_stack", **(SMALL | {"porous_thickness": 0.0, "top_coverage": 1.0}))
    assert set(film.facet_groups) == {"silver_top", "bulk", "wall_left", "wall_right"}
    assert mesh_measure(1, "silver_top") == pytest.approx(4.0, rel=1e-9)
    assert mesh_measure(2, "electrolyte") == pytest.approx(4.0 * 3.0, rel=1e-9)
    agc = build("layered_stack", **(SMALL | {"top_thickness": 0.0}))
    assert "silver_top" not in agc.facet_groups and "carbon" in agc.facet_groups


def test_resolved_deterministic_and_names_listed() -> None:
    p = LayeredStackParams(**SMALL)
    g = build_layered_stack(p)
    x = node_coords()
    build_layered_stack(p)
    np.testing.assert_array_equal(x, node_coords())
    assert set(g.facet_groups) <= set(FACET_NAMES)
    assert set(g.cell_groups) <= set(CELL_NAMES)
    h = build("layered_stack")
    assert set(h.facet_groups) <= set(FACET_NAMES)
    assert set(h.cell_groups) <= set(CELL_NAMES)
