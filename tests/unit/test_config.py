"""Case-file validation: good files parse with defaults; bad values get clear messages."""

from __future__ import annotations

import copy

import pytest

from femli.case.checks import load_case, parse_case
from femli.messages import ConfigError

GOOD = {
    "name": "planar",
    "geometry": {"preset": "seed000_planar"},
    "electrodes": [
        {
            "name": "li",
            "current_density": -100.0,
            "kinetics": {"electrode": {"exchange_current": 5.9}},
        }
    ],
}


def problems(mutate) -> list[str]:
    data = copy.deepcopy(GOOD)
    mutate(data)
    with pytest.raises(ConfigError) as info:
        parse_case(data)
    return info.value.problems


def test_good_case_fills_defaults_and_hashes_stably():
    config = parse_case(GOOD)
    effective = config.effective()
    assert effective["electrolyte"]["model"] == "tertiary"
    assert effective["bulk"] == [{"boundaries": ["bulk"], "potential": 0.0, "concentrations": {}}]
    assert effective["electrodes"][0]["kinetics"]["electrode"]["alpha_a"] == 0.5
    assert config.digest() == parse_case(copy.deepcopy(GOOD)).digest()
    assert len(config.digest()) == 64


def test_unknown_key_suggests_the_right_one():
    (msg,) = problems(lambda d: d["electrodes"][0].update(curent_density=-1.0))
    assert "electrodes[0].curent_density" in msg
    assert "Did you mean 'current_density'" in msg


@pytest.mark.parametrize(
    ("mutate", "key", "value"),
    [
        (
            lambda d: d.update(
                electrolyte={
                    "species": [
                        {"name": "Li+", "charge": 1, "diffusivity": -1e-9, "concentration": 1e3}
                    ]
                }
            ),
            "electrolyte.species[0].diffusivity",
            "-1e-09",
        ),
        (
            lambda d: d["electrodes"][0]["kinetics"]["electrode"].update(alpha_c=0.0),
            "electrodes[0].kinetics.electrode.alpha_c",
            "0.0",
        ),
        (
            lambda d: d.update(electrolyte={"model": "quaternary"}),
            "electrolyte.model",
            "'quaternary'",
        ),
        (
            lambda d: d.update(electrolyte={"temperature": "hot"}),
            "electrolyte.temperature",
            "'hot'",
        ),
    ],
)
def test_bad_values_name_key_and_value(mutate, key, value):
    (msg,) = problems(mutate)
    assert msg.startswith(f"{key} = {value}:"), msg


def test_missing_keys_and_cross_field_rules():
    assert problems(lambda d: d.pop("electrodes")) == ["missing required key 'electrodes'"]
    (msg,) = problems(lambda d: d["electrodes"][0].update(potential=-0.1))
    assert "exactly one of potential" in msg
    (msg,) = problems(
        lambda d: d.update(
            electrolyte={
                "species": [
                    {"name": "Li+", "charge": 1, "diffusivity": 1e-9, "concentration": 1000.0},
                    {"name": "A-", "charge": -1, "diffusivity": 1e-9, "concentration": 900.0},
                ]
            }
        )
    )
    assert "not electroneutral" in msg


def test_every_problem_is_reported_at_once():
    def two(d):
        d["electrodes"][0]["kinetics"]["electrode"]["alpha_a"] = -1
        d["solver"] = {"preset": "hypre"}

    assert len(problems(two)) == 2


def test_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_case(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = [unclosed\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_case(bad)


def test_geometry_params_give_a_builder_kind_or_raise_for_a_mesh_file():
    """The builder's kind is always a name: a mesh-file geometry has none to give."""
    from femli.case.build import geometry_params
    from femli.case.schema import GeometryConfig
    from femli.geometry import GeometryError

    assert geometry_params(GeometryConfig(kind="box", width=5.0)) == ("box", {"width": 5.0})
    with pytest.raises(GeometryError, match="mesh file"):
        geometry_params(GeometryConfig(mesh="cell.msh"))
