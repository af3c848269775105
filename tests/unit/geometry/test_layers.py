"""Layered-stack builder: groups, layer areas, optional layers, errors."""

from __future__ import annotations

import pytest
from conftest import mesh_measure

from femli.geometry import GeometryError, LayeredStackParams, build

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
    ],
)
def test_impossible_parameters(kwargs: dict, match: str) -> None:
    with pytest.raises(GeometryError, match=match):
        LayeredStackParams(**kwargs)
