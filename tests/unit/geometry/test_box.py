"""Box builder: groups, analytic areas, determinism, errors."""

from __future__ import annotations

import math

import gmsh
import numpy as np
import pytest
from conftest import node_coords

from femli.geometry import BoxParams, GeometryError, build, build_box
from femli.geometry.core import add_regions, new_model

pytestmark = pytest.mark.usefixtures("session")


def test_planar_groups_and_area() -> None:
    g = build("box")
    assert g.dim == 2
    assert set(g.cell_groups) == {"electrolyte"}
    assert set(g.facet_groups) == {"electrode", "bulk", "wall_left", "wall_right"}
    assert g.features["electrolyte_measure"] == pytest.approx(100.0)
    assert g.features["electrode_measure"] == pytest.approx(10.0)
    assert g.quality.min_sicn > 0.3
    assert g.quality.n_elements > 100


def test_groups_of_undeclared_names_are_refused() -> None:
    """A builder makes its physical groups through the names its parameters declare."""
    names = BoxParams().region_names()
    assert "wall_front" not in names.facets  # 2D: the 3D walls are not declared
    new_model("undeclared")
    surface = gmsh.model.occ.addRectangle(0, 0, 0, 1, 1)
    gmsh.model.occ.synchronize()
    curves = [t for _, t in gmsh.model.getBoundary([(2, surface)], oriented=False)]
    cells, facets = add_regions(2, {"electrolyte": [surface]}, {"bulk": curves}, names)
    assert set(cells) == {"electrolyte"} and set(facets) == {"bulk"}
    with pytest.raises(RuntimeError, match=r"facet groups \['top'\] are not among"):
        add_regions(2, {}, {"electrode": [], "top": curves[:1]}, names)
    with pytest.raises(RuntimeError, match="cell groups"):
        add_regions(2, {"solid": [surface]}, {}, names)


@pytest.mark.parametrize("count", [1, 3])
def test_semicircle_area_and_length(count: int) -> None:
    r = 0.8
    g = build("box", surface="asperities", count=count, asperity_height=r, asperity_width=2 * r)
    assert g.features["is_circular"]
    assert g.features["electrolyte_measure"] == pytest.approx(100 - count * math.pi * r**2 / 2)
    length = 10 - count * 2 * r + count * math.pi * r
    assert g.features["electrode_measure"] == pytest.approx(length)


def test_semicircle_is_refined_near_ridge() -> None:
    coarse = build("box", surface="asperities")
    fine = build("box", surface="asperities", refinement=2.0)
    assert fine.quality.n_elements > 3 * coarse.quality.n_elements
    assert fine.features["h_min"] == pytest.approx(coarse.features["h_min"] / 2)


@pytest.mark.parametrize("shape", ["triangle", "gaussian"])
def test_other_shapes_area(shape: str) -> None:
    g = build("box", surface="asperities", count=2, shape=shape, asperity_height=1.0)
    assert g.features["electrolyte_measure"] == pytest.approx(
        g.features["analytic_electrolyte_measure"], rel=1e-5
    )
    if shape == "triangle":
        assert g.features["electrolyte_measure"] == pytest.approx(100 - 2 * 1.0 * 2.0 / 2)


def test_random_spacing_is_deterministic() -> None:
    p = BoxParams(
        surface="asperities",
        count=4,
        spacing="random",
        shape="triangle",
        asperity_width=1.0,
        seed=7,
    )
    a = build_box(p)
    xa = node_coords()
    b = build_box(p)
    assert a.features["asperity_centres"] == b.features["asperity_centres"]
    np.testing.assert_array_equal(xa, node_coords())
    c = build_box(
        BoxParams(surface="asperities", count=4, spacing="random", asperity_width=1.0, seed=8)
    )
    assert c.features["asperity_centres"] != a.features["asperity_centres"]


def test_rough_profile_area_and_roughness() -> None:
    g = build("box", surface="rough", rms=0.3, correlation_length=1.5, seed=3)
    # zero-mean profile: the area is W*H up to spline interpolation error
    assert g.features["electrolyte_measure"] == pytest.approx(100.0, abs=0.05)
    assert g.features["electrode_measure"] > 10.0


def test_3d_extrusion_volume() -> None:
    r = 1.0
    g = build("box", dim=3, depth=2.0, surface="asperities", h_far=2.0, h_electrode=0.4)
    assert set(g.facet_groups) >= {"wall_front", "wall_back", "electrode", "bulk"}
    assert g.features["electrolyte_measure"] == pytest.approx((100 - math.pi * r**2 / 2) * 2)
    assert g.features["electrode_measure"] == pytest.approx((8 + math.pi * r) * 2)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"surface": "asperities", "count": 6, "asperity_width": 2.0}, "count=6"),
        ({"surface": "asperities", "asperity_height": 6.0}, "asperity_height=6.0"),
        ({"surface": "wavy"}, "surface='wavy'"),
        ({"refinement": 0.0}, "refinement=0.0"),
        ({"surface": "asperities", "h_feature": 0.9}, "h_feature=0.9"),
        ({"h_electrode": 1e-5}, "h_electrode"),
    ],
)
def test_impossible_parameters(kwargs: dict, match: str) -> None:
    with pytest.raises(GeometryError, match=match):
        BoxParams(**kwargs)


def test_registry_errors() -> None:
    with pytest.raises(GeometryError, match="did you mean 'box'"):
        build("boxx")
    with pytest.raises(GeometryError, match="did you mean 'height'"):
        build("box", hieght=3.0)


def test_a_new_model_starts_from_default_options() -> None:
    """Options a previous model left behind (a size field's Mesh.MeshSizeMax, or the
    state of a failed HXT run) do not reach the next model; the terminal setting stays."""
    gmsh.option.setNumber("General.Terminal", 0)
    gmsh.option.setNumber("Mesh.MeshSizeMax", 0.5)
    gmsh.option.setNumber("Mesh.ElementOrder", 2)
    new_model("fresh")
    assert gmsh.option.getNumber("Mesh.MeshSizeMax") == 1e22
    assert gmsh.option.getNumber("Mesh.ElementOrder") == 1
    assert gmsh.option.getNumber("Mesh.Algorithm3D") == 10  # femli's own settings
    assert gmsh.option.getNumber("General.Terminal") == 0
