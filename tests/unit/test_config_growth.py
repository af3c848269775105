"""The [growth] electrochemistry keys: defaults, options they build, clear messages."""

from __future__ import annotations

import copy

import pytest
from mpi4py import MPI

from femli.case.build import growth_options
from femli.case.load import parse_case
from femli.case.messages import ConfigError
from femli.case.preflight import check_case

CASE = {
    "name": "grow",
    "geometry": {"kind": "box"},
    "electrolyte": {"model": "supporting", "conductivity": 7.68e-3},
    "electrodes": [
        {
            "name": "li",
            "current_density": -200.0,
            "kinetics": {"electrode": {"exchange_current": 5.9}},
        }
    ],
    "growth": {"t_end": 6.0},
}


def case(model: str = "supporting", **growth) -> dict:
    data = copy.deepcopy(CASE)
    data["growth"] |= growth
    data["electrolyte"]["model"] = model
    return data


def problems(data: dict) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_case(data)
    return info.value.problems


def test_stationary_by_default_transient_on_request():
    config = parse_case(case())
    assert config.effective()["growth"]["electrochemistry"] == "stationary"
    assert growth_options(config).transient is None
    options = growth_options(parse_case(case(electrochemistry="transient", tolerance=1e-5)))
    assert options.transient is not None
    assert (options.transient.tolerance, options.transient.t_end) == (1e-5, 6.0)
    first = growth_options(parse_case(case(electrochemistry="transient", dt_initial=0.01)))
    assert first.transient.dt_initial == 0.01


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (case(electrochemistry="quasi"), "growth.electrochemistry = 'quasi': Input should be"),
        (case(tolerance=1e-5), 'growth.tolerance applies to electrochemistry = "transient"'),
        (case(dt_initial=0.1), 'growth.dt_initial applies to electrochemistry = "transient"'),
        (
            case("secondary", electrochemistry="transient"),
            'needs a concentration model: electrolyte.model "tertiary" or "supporting"',
        ),
        (case(electrochemistry="transient", tolerance=0.0), "growth.tolerance = 0.0"),
        (case() | {"time": {"t_end": 1.0}}, 'electrochemistry = "transient"'),
    ],
)
def test_bad_growth_electrochemistry_gets_one_clear_message(data, message):
    found = problems(data)
    assert len(found) == 1 and message in found[0], found


def test_merge_gap_in_um_in_the_file_si_in_the_options():
    assert growth_options(parse_case(case())).merge_gap is None
    assert growth_options(parse_case(case(merge_gap=0.0))).merge_gap is None  # 0: off
    options = growth_options(parse_case(case(merge_gap=0.0125)))
    assert options.merge_gap == pytest.approx(0.0125e-6, rel=1e-12)
    found = problems(case(merge_gap=-0.01))
    assert len(found) == 1 and "growth.merge_gap = -0.01" in found[0], found
    assert ">= 0" in found[0] or "greater than or equal to 0" in found[0], found


@pytest.mark.parametrize("geometry", [{"kind": "box", "dim": 3}, {"preset": "seed003_scp_li"}])
def test_merge_gap_in_3d_is_one_clear_error_before_any_mesh(tmp_path, geometry):
    data = case(merge_gap=0.01) | {"geometry": geometry}
    if "preset" in geometry:
        data["electrodes"][0]["kinetics"] = {"nuclei": {"exchange_current": 5.9}}
    config = parse_case(data)  # the dimension is the geometry's: checked with it
    with pytest.raises(ConfigError) as info:
        check_case(config, tmp_path, comm=MPI.COMM_SELF)
    assert info.value.problems == [
        "growth.merge_gap = 0.01: merging deposits is implemented for 2D geometries only, "
        "and this geometry is 3D; allowed in 3D: merge_gap = 0 or no merge_gap"
    ]
    off = data | {"growth": {"t_end": 1.0, "merge_gap": 0.0}}
    check_case(parse_case(off), tmp_path, comm=MPI.COMM_SELF)  # 0: no merging, fine in 3D


def test_merge_gap_with_a_3d_mesh_file_is_refused_from_the_file(tmp_path):
    import gmsh

    from femli.geometry import gmsh_session

    with gmsh_session():
        gmsh.model.add("box")
        gmsh.model.occ.addBox(0, 0, 0, 1, 1, 1)
        gmsh.model.occ.synchronize()
        gmsh.model.addPhysicalGroup(3, [1], name="electrolyte")
        gmsh.model.addPhysicalGroup(2, [5], name="electrode")  # z = 0
        gmsh.model.addPhysicalGroup(2, [6], name="bulk")
        gmsh.option.setNumber("Mesh.MeshSizeMax", 0.5)
        gmsh.model.mesh.generate(3)
        gmsh.write(str(tmp_path / "box.msh"))
        gmsh.model.remove()
    config = parse_case(case(merge_gap=0.02) | {"geometry": {"mesh": "box.msh"}})
    with pytest.raises(ConfigError) as info:
        check_case(config, tmp_path, comm=MPI.COMM_SELF)  # read only for merge_gap
    assert len(info.value.problems) == 1 and "this geometry is 3D" in info.value.problems[0]
