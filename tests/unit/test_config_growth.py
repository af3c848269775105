"""The [growth] electrochemistry keys: defaults, options they build, clear messages."""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import subprocess
import sys

import pytest
import tomli_w
from mpi4py import MPI

from femli.case import checks
from femli.case.build import growth_options
from femli.case.checks import parse_case
from femli.case.preflight import check_case
from femli.checkpoint import physics_digest
from femli.messages import ConfigError

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


def test_remesh_grading_follows_the_builders_refinement_and_split_levels():
    """A remesh grades over the builder's distances: its sizes were divided by the
    refinement and by 2 per split level, its distances were not."""
    assert growth_options(parse_case(case())).refinement == 1.0
    config = case()
    config["geometry"] |= {"refinement": 2.5, "split_levels": 1}
    assert growth_options(parse_case(config)).refinement == 5.0


def test_merge_gap_in_um_in_the_file_si_in_the_options():
    assert growth_options(parse_case(case())).merge_gap is None
    assert growth_options(parse_case(case(merge_gap_um=0.0))).merge_gap is None  # 0: off
    options = growth_options(parse_case(case(merge_gap_um=0.0125)))
    assert options.merge_gap == pytest.approx(0.0125e-6, rel=1e-12)
    found = problems(case(merge_gap_um=-0.01))
    assert len(found) == 1 and "growth.merge_gap_um = -0.01" in found[0], found
    assert ">= 0" in found[0] or "greater than or equal to 0" in found[0], found


@pytest.mark.parametrize("geometry", [{"kind": "box", "dim": 3}, {"preset": "seed003_scp_li"}])
def test_merge_gap_in_3d_is_accepted(tmp_path, geometry):
    """3D deposits merge through a level-set rebuild (issue 17); a geometry that is not a
    box is refused when the growth solver is made (tests/verification/test_growth_merge3d)."""
    data = case(merge_gap_um=0.01) | {"geometry": geometry}
    if "preset" in geometry:
        data["electrodes"][0]["kinetics"] = {"nuclei": {"exchange_current": 5.9}}
    check_case(parse_case(data), tmp_path, comm=MPI.COMM_SELF)
    off = data | {"growth": {"t_end": 1.0, "merge_gap_um": 0.0}}
    check_case(parse_case(off), tmp_path, comm=MPI.COMM_SELF)  # 0: no merging


def test_merge_gap_with_a_3d_mesh_file_is_accepted(tmp_path):
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
    config = parse_case(case(merge_gap_um=0.02) | {"geometry": {"mesh": "box.msh"}})
    check_case(config, tmp_path, comm=MPI.COMM_SELF)  # 3D merges through a rebuild


# -- renamed keys: the old names are still read ----------------------------------------------
@pytest.fixture
def warnings(monkeypatch) -> list[str]:
    """Warnings the femli logger emits (a fresh process as far as warn-once goes)."""
    monkeypatch.setattr(checks, "_WARNED", set())
    found: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: found.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("femli")
    logger.addHandler(handler)
    yield found
    logger.removeHandler(handler)


def test_old_key_names_are_read_with_a_warning_once(warnings):
    """``max_displacement`` and ``merge_gap`` (um) are now ``max_displacement_um`` and
    ``merge_gap_um``: the old names give the same case, and one warning each naming the
    old key, the new key and the unit, once per run however often the case is read."""
    new = parse_case(case(max_displacement_um=0.1, merge_gap_um=0.0125))
    assert warnings == []
    old = parse_case(case(max_displacement=0.1, merge_gap=0.0125), "old.toml")
    assert growth_options(old) == growth_options(new)
    assert old.effective() == new.effective() and old.digest() == new.digest()
    assert {"max_displacement_um", "merge_gap_um"} <= set(old.effective()["growth"])
    assert not {"max_displacement", "merge_gap"} & set(old.effective()["growth"])
    assert warnings == [
        "old.toml: growth.max_displacement is now growth.max_displacement_um: the value is "
        "in micrometres (um); rename the key (the old name is still read for now)",
        "old.toml: growth.merge_gap is now growth.merge_gap_um: the value is in micrometres "
        "(um); rename the key (the old name is still read for now)",
    ]
    parse_case(case(max_displacement=0.1))
    assert len(warnings) == 2  # once per run


def test_old_and_new_name_together_or_wrong_are_one_clear_problem(tmp_path):
    (message,) = problems(case(max_displacement=0.1, max_displacement_um=0.2))
    assert message == (
        "growth: give max_displacement_um (um) only: max_displacement is its old name, and "
        "both are given"
    )
    (message,) = problems(case(max_displacement=-0.1))
    assert message.startswith("growth.max_displacement = -0.1: ")  # the key as written
    (message,) = problems(case(merge_gap=-0.01))
    assert message.startswith("growth.merge_gap = -0.01: ")


def test_digests_keep_the_old_key_names():
    """Checkpoints and results written before the rename hold digests of the effective
    configuration under the old names: the digests still are exactly those."""
    config = parse_case(case(max_displacement_um=0.1, merge_gap_um=0.0125))
    legacy = config.effective()
    legacy["growth"]["max_displacement"] = legacy["growth"].pop("max_displacement_um")
    legacy["growth"]["merge_gap"] = legacy["growth"].pop("merge_gap_um")
    text = json.dumps(legacy, sort_keys=True)
    assert config.digest() == hashlib.sha256(text.encode()).hexdigest()
    physics = json.dumps({k: v for k, v in legacy.items() if k != "output"}, sort_keys=True)
    assert physics_digest(config) == hashlib.sha256(physics.encode()).hexdigest()


@pytest.mark.skipif(MPI.COMM_WORLD.size > 1, reason="serial: runs its own process")
def test_femli_check_mentions_an_old_key_and_passes(tmp_path):
    path = tmp_path / "old.toml"
    path.write_text(tomli_w.dumps(case(max_displacement=0.1)))
    result = subprocess.run(
        [sys.executable, "-m", "femli", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert ": ok (case 'grow'" in result.stdout
    assert result.stderr.count("growth.max_displacement is now growth.max_displacement_um") == 1
    assert "micrometres" in result.stderr
