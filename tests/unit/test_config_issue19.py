"""Case-file keys of the concentrated electrolyte ([electrolyte.properties]), bulk values
that vary in space (expressions in x, y, z), r-z geometries (axisymmetric) and 1D cells
(kind "interval"): good files parse, bad values get one clear line each."""

from __future__ import annotations

import copy

import pytest

from femli.case.build import electrolyte, properties
from femli.case.checks import parse_case
from femli.case.preflight import case_problems
from femli.messages import ConfigError
from femli.physics.properties import Table

GOOD = {
    "geometry": {"kind": "box", "h_far": 2.0},
    "electrolyte": {"model": "concentrated", "properties": {"set": "lipf6_valoen_reimers_2005"}},
    "electrodes": [
        {"current_density": -10.0, "kinetics": {"electrode": {"exchange_current": 5.9}}}
    ],
}
ALLOWED = "allowed: numbers, + - * / ** and parentheses, the functions exp, log, log10"


def parsed(mutate=lambda d: None):
    data = copy.deepcopy(GOOD)
    mutate(data)
    return parse_case(data)


def problems(mutate) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parsed(mutate)
    return info.value.problems


def props(**values):
    return lambda d: d["electrolyte"]["properties"].update(values)


def test_a_set_and_overrides():
    config = parsed(props(transference="0.3 + 0.1*c/1000", thermodynamic_factor=1))
    made = properties(config)
    assert made is not None and made.source == "lipf6_valoen_reimers_2005"
    assert made.thermodynamic_factor == 1.0 and made.transference.text == "0.3 + 0.1*c/1000"
    assert made.conductivity.uses("T")  # from the set
    table = parsed(props(diffusivity={"c": [0, 2000], "value": [4e-10, 1e-10]}))
    assert properties(table).diffusivity == Table((0.0, 2000.0), (4e-10, 1e-10))
    assert electrolyte(parsed()).transport.name == "concentrated"
    bare = parsed(lambda d: d["electrolyte"].pop("properties"))  # the species' dilute values
    assert properties(bare) is None and electrolyte(bare).properties is None


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (props(conductivity="c*kappa0"), f"electrolyte.properties.conductivity = 'c*kappa0': "
         f"the name 'kappa0' is not allowed; {ALLOWED}"),
        (props(diffusivity="__import__('os')"), "electrolyte.properties.diffusivity = "),
        (props(transference=True), "electrolyte.properties.transference = true: Input should "
         "be a valid number, an expression in c (mol/m3) and T (K)"),
        (props(thermodynamic_factor={"c": [0, 1], "value": [1]}),
         "electrolyte.properties.thermodynamic_factor: a table needs c and value lists"),
        (props(set="lipf6"), "electrolyte.properties.set = 'lipf6': no such parameter set; "
         "shipped sets: lipf6_valoen_reimers_2005, litfsi_dol_dme_park_kim_2026"),
        (props(kappa=1.0), "unknown key 'electrolyte.properties.kappa'"),
        (props(diffusivity=-1e-10), "electrolyte: at the bulk salt concentration 1000 mol/m3 "
         "and 298.15 K the properties give properties.diffusivity = -1e-10"),
        (lambda d: d["electrolyte"].update(model="supporting", conductivity=1.0),
         '[electrolyte.properties] applies to model = "concentrated" only (model is '
         '"supporting")'),
        (lambda d: d["electrolyte"].update(conductivity=1.0),
         r"electrolyte: the concentrated model reads kappa and t+ from"),
    ],
)  # fmt: skip
def test_bad_properties_one_line_naming_the_key(mutate, expected):
    (line,) = problems(mutate)
    assert expected in line, line


def test_bulk_values_may_vary_in_space():
    config = parsed(
        lambda d: d.update(
            bulk=[{"potential": "1e-3*y/1e-5", "concentrations": {"Li+": "1000 + 1e7*x"}}]
        )
    )
    assert config.bulk[0].potential == "1e-3*y/1e-5"
    assert parsed(lambda d: d.update(bulk=[{"potential": 1}])).bulk[0].potential == 1.0


@pytest.mark.parametrize(
    ("bulk", "expected"),
    [
        ({"potential": "x + c"}, "bulk[0].potential = 'x + c': the name 'c' is not allowed; "
         "allowed: numbers, + - * / ** and parentheses, the functions exp, log, log10, sqrt, "
         "tanh, and the variables x (m), y (m), z (m)"),
        ({"potential": False}, "bulk[0].potential = false: Input should be a valid finite "
         "number or an expression in x, y, z (m)"),
        ({"concentrations": {"Li+": 0}}, "bulk[0].concentrations.Li+ = 0: must be > 0 (mol/m3)"),
        ({"concentrations": {"Li+": "1000*"}}, "bulk[0].concentrations.Li+ = '1000*': not a "
         "valid expression"),
    ],
)  # fmt: skip
def test_bad_bulk_values(bulk, expected):
    (line,) = problems(lambda d: d.update(bulk=[bulk]))
    assert expected in line, line


def test_axisymmetric_is_a_geometry_flag_not_a_builder_parameter():
    config = parsed(lambda d: d["geometry"].update(axisymmetric=True))
    assert config.geometry.axisymmetric and "axisymmetric" not in config.geometry.params
    mesh = parsed(lambda d: d.update(geometry={"mesh": "cell.msh", "axisymmetric": True}))
    assert mesh.geometry.mesh == "cell.msh"
    (line,) = problems(lambda d: d["geometry"].update(axisymmetric="yes"))
    assert line.startswith("geometry.axisymmetric = 'yes'")


def test_growth_in_rz_is_refused():
    def grow(d):
        d["geometry"]["axisymmetric"] = True
        d["growth"] = {"t_end": 1.0}

    (line,) = problems(grow)
    assert "geometry.axisymmetric = true: [growth] is not implemented in r-z" in line


def test_new_keys_leave_old_digests_alone():
    """Absent, the new keys are not in the effective configuration (digests unchanged)."""
    data = copy.deepcopy(GOOD)
    data["electrolyte"] = {"model": "tertiary"}
    effective = parse_case(data).effective()
    assert "axisymmetric" not in effective["geometry"]
    assert "properties" not in effective["electrolyte"]


def interval(**params):
    law = {"exchange_current": 5.9}
    return {
        "geometry": {"kind": "interval", "length_um": 10.0, **params},
        "bulk": [],
        "electrodes": [
            {"name": "a", "potential": 0.0, "kinetics": {"anode": law}},
            {"name": "c", "current_density": -1.0, "kinetics": {"cathode": law}},
        ],
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"left": "anode", "right": "cathode"}, None),
        ({"left": "anode", "right": "cathode", "cells": 50, "h_um": 0.1}, "give cells or h_um"),
        ({"left": "anode", "right": "anode"}, "right='anode' is not allowed: a name other"),
        ({"left": "anode", "right": "cathode", "cells": 0}, "cells=0 is not allowed: gives 0"),
        ({"left": "anode", "right": "cathode", "length_um": 1e-6}, "length_um=1e-06"),
        ({}, "electrodes[0].kinetics: the geometry has no boundary region named 'anode'; it "
         "can have ['left', 'right']"),
    ],
)  # fmt: skip
def test_interval_parameters_and_names(params, expected, tmp_path):
    found = case_problems(parse_case(interval(**params)), tmp_path)
    if expected is None:
        assert found == []
    else:
        assert any(expected in p for p in found), found


def test_growth_of_a_1d_cell_is_refused():
    data = interval(left="anode", right="cathode")
    data["growth"] = {"t_end": 1.0}
    with pytest.raises(ConfigError) as info:
        parse_case(data)
    (line,) = info.value.problems
    assert line.startswith('geometry.kind = "interval": [growth] needs a 2D or 3D geometry')
