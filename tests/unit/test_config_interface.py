"""Case-file keys of the interface (side reactions, films, double layer) and temperature:
good files build the physics they say, bad values get one clear line each."""

from __future__ import annotations

import copy
import math

import pytest

from femli.case.build import electrode, electrolyte
from femli.case.checks import parse_case
from femli.messages import ConfigError
from femli.physics.interface import Reaction
from femli.study.expand import expand_study
from femli.units import GAS_CONSTANT

BASE = {
    "name": "planar",
    "geometry": {"preset": "seed000_planar"},
    "electrolyte": {
        "model": "supporting",
        "conductivity": 0.5,
        "species": [
            {"name": "Li+", "charge": 1, "diffusivity": 1e-9, "concentration": 1000.0},
            {"name": "A-", "charge": -1, "diffusivity": 1e-9, "concentration": 1000.0},
        ],
    },
    "electrodes": [
        {
            "name": "li",
            "current_density": -100.0,
            "kinetics": {"electrode": {"exchange_current": 5.9}},
        }
    ],
}

SIDE = {"type": "tafel", "exchange_current": 1e-3, "equilibrium_potential": 0.8, "name": "sei"}


def variant(mutate) -> dict:
    data = copy.deepcopy(BASE)
    mutate(data)
    return data


def problems(mutate) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_case(variant(mutate))
    return info.value.problems


def interface(d: dict) -> dict:
    return d["electrodes"][0]["kinetics"]["electrode"]


def test_new_keys_absent_leave_the_effective_configuration_as_it_was():
    """No default of a new key shows in the effective configuration (digests unchanged)."""
    effective = parse_case(BASE).effective()
    text = str(effective)
    for key in ("side_reactions", "film", "double_layer", "activation", "reference_temp"):
        assert key not in text


def test_a_full_interface_builds_reactions_film_and_double_layer():
    def full(d):
        interface(d).update(side_reactions=[SIDE], film={"thickness": 20e-9, "conductivity": 1e-5})
        d["electrodes"][0]["double_layer_capacitance"] = 0.3
        d["time"] = {"t_end": 1.0}

    config = parse_case(variant(full))
    e = electrode(config.electrodes[0])
    main, side = e.reactions("electrode")
    assert (main.name, main.deposits, side.name, side.deposits) == ("main", True, "sei", False)
    assert e.equilibrium(side) == 0.8 and e.equilibrium(main) == 0.0
    assert e.films["electrode"].initial_resistance == pytest.approx(2e-3)
    assert e.double_layer is not None and e.double_layer.capacitance == 0.3
    plain = electrode(parse_case(BASE).electrodes[0])
    assert not isinstance(plain.kinetics["electrode"], tuple)  # one law: as before


def test_a_temperature_sweep_scales_every_property_by_arrhenius():
    def warm(d):
        d["electrolyte"] |= {"reference_temperature": 298.15, "conductivity_activation_energy": 1e4}
        d["electrolyte"]["species"][0]["diffusivity_activation_energy"] = 2e4
        interface(d).update(
            activation_energy=3e4, film={"resistance": 1e-3, "activation_energy": 4e4}
        )

    axis = {"key": "electrolyte.temperature", "values": [273.15, 298.15, 333.15]}
    study = expand_study({"name": "t", "base": variant(warm), "axes": [axis]})
    assert [c.config.electrolyte.temperature for c in study.cases] == [273.15, 298.15, 333.15]
    for case in study.cases:
        t = case.config.electrolyte.temperature

        def factor(energy, t=t):
            return math.exp(-energy / GAS_CONSTANT * (1 / t - 1 / 298.15))

        made = electrolyte(case.config)
        assert made.temperature == t
        assert made.conductivity == pytest.approx(0.5 * factor(1e4), rel=1e-14)
        assert made.species[0].diffusivity == pytest.approx(1e-9 * factor(2e4), rel=1e-14)
        assert made.species[1].diffusivity == 1e-9  # no activation energy: no scaling
        from femli.case.build import arrhenius

        e = electrode(case.config.electrodes[0], factor=arrhenius(case.config))
        law = e.kinetics["electrode"]
        assert not isinstance(law, tuple | Reaction)
        assert law.exchange_current == pytest.approx(5.9 * factor(3e4), rel=1e-14)
        resistance = e.films["electrode"].initial_resistance
        assert resistance == pytest.approx(1e-3 / factor(4e4), rel=1e-14)
    assert len({c.digest for c in study.cases}) == 3


@pytest.mark.parametrize(
    ("mutate", "start", "words"),
    [
        (
            lambda d: interface(d).update(film={"resistance": 1e-3, "thickness": 1e-8}),
            "electrodes[0].kinetics.electrode.film:",
            "not both",
        ),
        (
            lambda d: interface(d).update(film={"thickness": 1e-8}),
            "electrodes[0].kinetics.electrode.film:",
            "conductivity (S/m)",
        ),
        (
            lambda d: interface(d).update(film={"resistance": -1.0}),
            "electrodes[0].kinetics.electrode.film.resistance = -1.0:",
            "greater than 0",
        ),
        (
            lambda d: d["electrodes"][0].update(double_layer_capacitance=0.0),
            "electrodes[0].double_layer_capacitance = 0.0:",
            "greater than 0",
        ),
        (
            lambda d: d["electrodes"][0].update(double_layer_capacitance=0.2),
            "electrodes[0].double_layer_capacitance = 0.2:",
            "[time] runs",
        ),
        (
            lambda d: interface(d).update(film={"resistance": 1e-3, "growth": 1e-4}),
            "electrodes[0].kinetics.electrode.film.growth = 0.0001:",
            "[time] runs",
        ),
        (
            lambda d: interface(d).update(side_reactions=[SIDE | {"stoichiometry": {"X+": 1}}]),
            "electrodes[0].kinetics.electrode.side_reactions[0].stoichiometry = {'X+': 1.0}:",
            "names no species",
        ),
        (
            lambda d: interface(d).update(stoichiometry={"Li+": 0.5}),
            "electrodes[0].kinetics.electrode.stoichiometry = {'Li+': 0.5}:",
            "must be 1",
        ),
        (
            lambda d: interface(d).update(side_reactions=[{"type": "tafel"}]),
            "electrodes[0].kinetics.electrode.side_reactions[0]:",
            "exchange_current",
        ),
        (
            lambda d: interface(d).update(activation_energy=-5.0),
            "electrodes[0].kinetics.electrode.activation_energy = -5.0:",
            "greater than or equal to 0",
        ),
        (
            lambda d: interface(d).update(activation_energy=3e4),
            "electrolyte.reference_temperature: missing",
            "electrodes[0].kinetics.electrode.activation_energy",
        ),
        (
            lambda d: d["electrolyte"].update(
                conductivity=None, model="tertiary", conductivity_activation_energy=1e4,
                reference_temperature=298.15,
            ),
            "electrolyte.conductivity_activation_energy = 10000.0:",
            "no conductivity",
        ),
        (
            lambda d: (
                d["electrolyte"].update(
                    model="concentrated", conductivity=None, reference_temperature=298.15,
                    properties={"set": "lipf6_valoen_reimers_2005"},
                ),
                d["electrolyte"]["species"][1].update(diffusivity_activation_energy=2e4),
            ),
            "electrolyte.species[1].diffusivity_activation_energy = 20000.0:",
            "set 'lipf6_valoen_reimers_2005'",
        ),
        (
            lambda d: (
                d["electrolyte"].update(model="primary"),
                interface(d).update(film={"resistance": 1e-3}),
            ),
            "electrodes[0].kinetics.electrode.film:",
            "needs electrode kinetics",
        ),
    ],
)  # fmt: skip
def test_bad_interface_and_temperature_keys_get_one_line(mutate, start, words):
    def apply(d):
        mutate(d)
        d["electrolyte"] = {k: v for k, v in d["electrolyte"].items() if v is not None}

    (message,) = problems(apply)
    assert message.startswith(start), message
    assert words in message, message


def test_growth_needs_a_depositing_reaction():
    def only_sei(d):
        interface(d).update(deposits=False, side_reactions=[SIDE])
        d["growth"] = {"t_end": 1.0}

    (message,) = problems(only_sei)
    assert "deposits = false" in message and "no depositing boundary" in message
