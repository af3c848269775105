"""Quantities with units in case files ("10 mA/cm2", "1 M", "0.5 um", "25 degC")."""

from __future__ import annotations

import copy
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import tomli_w
from shared_cases import GROWTH, TINY

from femli.case.checks import load_case, parse_case
from femli.case.quantities import (
    Concentration,
    Conductivity,
    CurrentDensity,
    Density,
    Diffusivity,
    Length,
    MolarMass,
    Potential,
    Temperature,
    Time,
    convert,
    unit_of,
)
from femli.messages import ConfigError

DEMO = Path(__file__).resolve().parents[2] / "femli" / "demo_cases" / "rough_li.toml"


@pytest.mark.parametrize(
    ("quantity", "text", "si"),
    [
        (CurrentDensity, "10 mA/cm2", 100.0),
        (CurrentDensity, "-20 mA/cm^2", -200.0),
        (CurrentDensity, "0.59 mA/cm**2", 5.9),
        (CurrentDensity, "1 A/m2", 1.0),
        (Potential, "-20 mV", -0.02),
        (Diffusivity, "5e-6 cm2/s", 5e-10),
        (Concentration, "1 M", 1000.0),
        (Concentration, "10 mM", 10.0),
        (Concentration, "1 mol/L", 1000.0),
        (Conductivity, "7.68e-5 S/cm", 7.68e-3),
        (Temperature, "25 degC", 298.15),
        (Temperature, "25 °C", 298.15),
        (Time, "2 min", 120.0),
        (Time, "1.5 h", 5400.0),
        (Length, "500 nm", 0.5),
        (Length, "0.5 µm", 0.5),
        (Length, "1e-3 mm", 1.0),
        (MolarMass, "6.94 g/mol", 6.94e-3),
        (Density, "0.534 g/cm3", 534.0),
    ],
)
def test_a_quantity_is_converted_to_the_unit_of_its_key(quantity, text, si):
    meta = unit_of(quantity)
    assert meta is not None
    assert convert(text, meta) == pytest.approx(si, rel=1e-14)


def test_the_same_case_with_units_has_the_same_numbers_and_hash(tmp_path):
    """The demo case written with units: identical configuration and digest."""
    plain = load_case(DEMO)
    data = tomllib.loads(DEMO.read_text())
    data["electrolyte"]["conductivity"] = "7.68e-5 S/cm"
    for species in data["electrolyte"]["species"]:
        species |= {"diffusivity": "2.5e-6 cm2/s", "concentration": "1 M"}
    electrode = data["electrodes"][0]
    electrode["current_density"] = "-20 mA/cm2"
    electrode["kinetics"]["electrode"]["exchange_current"] = "0.59 mA/cm2"
    data["geometry"] |= {"width": "10 um", "height": "0.01 mm", "h_electrode": "80 nm"}
    path = tmp_path / "units.toml"
    path.write_text(tomli_w.dumps(data))
    units = load_case(path)
    assert units.effective() == plain.effective()  # config.toml holds the numbers
    assert units.digest() == plain.digest()


def problems(data: dict) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_case(data)
    return info.value.problems


def test_a_wrong_dimension_is_one_line_naming_key_quantity_and_example():
    data = copy.deepcopy(TINY)
    data["electrodes"][0]["current_density"] = "10 mV"
    data["electrolyte"]["temperature"] = "25 mol"
    data["geometry"]["h_far"] = "2 V"
    assert problems(data) == [  # in the order of the case file's sections
        "geometry.h_far = '2 V': expected a length (um), e.g. '500 nm'",
        "electrolyte.temperature = '25 mol': expected a temperature (K), e.g. '25 degC'",
        "electrodes[0].current_density = '10 mV': expected a current density (A/m2), "
        "e.g. '10 mA/cm2'",
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("10 mA/cmm", "unknown unit 'mA/cmm': expected a current density (A/m2)"),
        ("lots", "not a number with a unit: expected a current density (A/m2)"),
        ("-10", "expected a current density (A/m2), e.g. '10 mA/cm2'"),  # no unit
        (True, "Input should be a valid number (true/false is not a number)"),
        ("1e999 A/m2", "Input should be a finite number"),
    ],
)
def test_what_is_not_a_current_density_is_refused(value, message):
    data = copy.deepcopy(TINY)
    data["electrodes"][0]["current_density"] = value
    (line,) = problems(data)
    assert line.startswith("electrodes[0].current_density = ") and message in line


def test_bounds_hold_after_conversion_and_lists_convert_each_item():
    data = copy.deepcopy(TINY)
    data["electrolyte"]["species"] = [
        {"name": "Li+", "charge": 1, "diffusivity": "-5e-6 cm2/s", "concentration": "1 M"},
        {"name": "X-", "charge": -1, "diffusivity": 5e-10, "concentration": 1000.0},
    ]
    (line,) = problems(data)
    assert line == (
        "electrolyte.species[0].diffusivity = '-5e-6 cm2/s': Input should be greater than 0"
    )
    growth = tomllib.loads(GROWTH)["growth"] | {
        "snapshots": ["1 s", "2000 ms"],
        "max_displacement_um": "50 nm",
        "t_end": "0.1 min",
    }
    config = parse_case(tomllib.loads(GROWTH) | {"growth": growth})
    assert config.growth is not None
    assert config.growth.snapshots == [1.0, 2.0]
    assert (config.growth.max_displacement_um, config.growth.t_end) == (0.05, 6.0)


def test_choices_in_geometry_stay_strings_and_preset_parameters_convert():
    data = copy.deepcopy(TINY)
    data["geometry"] = {"preset": "seed000_ridge", "h_far": "2 um", "surface": "asperities"}
    config = parse_case(data)
    assert config.geometry.params == {"h_far": 2.0, "surface": "asperities"}


def test_the_command_line_exits_2_with_the_line(tmp_path):
    data = copy.deepcopy(TINY)
    data["electrodes"][0]["current_density"] = "10 mV"
    (tmp_path / "case.toml").write_text(tomli_w.dumps(data))
    result = subprocess.run(
        [sys.executable, "-m", "femli", "check", "case.toml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr == (
        "error: case.toml: 1 problem(s)\n  electrodes[0].current_density = '10 mV': "
        "expected a current density (A/m2), e.g. '10 mA/cm2'\n"
    )


def test_bulk_values_take_units_and_stay_expressions_otherwise():
    """[[bulk]] values are numbers, expressions in x, y, z (m) or numbers with units; a
    string of the wrong dimension is refused as such, one that is neither names both."""
    data = copy.deepcopy(TINY)
    bulk = {"boundaries": ["bulk"], "potential": "-20 mV"}
    bulk["concentrations"] = {"Li+": "1 M", "TFSI-": "1000 + 1e7*x"}
    config = parse_case(data | {"bulk": [bulk]})
    assert config.bulk[0].potential == pytest.approx(-0.02)
    assert config.bulk[0].concentrations == {"Li+": 1000.0, "TFSI-": "1000 + 1e7*x"}
    bulk["concentrations"] = {"Li+": "1 mV", "TFSI-": "1000*"}
    wrong, neither = problems(data | {"bulk": [bulk]})
    assert (
        wrong
        == "bulk[0].concentrations.Li+ = '1 mV': expected a concentration (mol/m3), e.g. '1 M'"
    )
    assert "'1000*': not a valid expression" in neither and "e.g. '1 M'" in neither
