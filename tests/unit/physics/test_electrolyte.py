"""Electrolyte, species and region validation; dilute conductivity."""

import pytest

from femli.physics.electrolyte import Electrolyte, RegionProperties, Species, binary
from femli.units import FARADAY, GAS_CONSTANT


def test_dilute_conductivity_of_a_binary_salt():
    el = binary(1000.0, 5e-10, 5e-10)
    expected = FARADAY**2 / (GAS_CONSTANT * el.temperature) * 2 * 5e-10 * 1000.0
    assert el.bulk_conductivity() == pytest.approx(expected)
    assert el.bulk_conductivity() == pytest.approx(3.75, rel=0.01)  # seeds.md: ~3.8 S/m


def test_three_species_must_be_electroneutral():
    Electrolyte(
        (
            Species("Li+", 1, 1e-9, 1000.0),
            Species("TFSI-", -1, 1e-9, 900.0),
            Species("NO3-", -1, 1e-9, 100.0),
        )
    )
    with pytest.raises(ValueError, match="electroneutral"):
        Electrolyte((Species("Li+", 1, 1e-9, 1000.0), Species("A-", -1, 1e-9, 900.0)))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"diffusivity": -1e-9}, "diffusivity must be > 0"),
        ({"concentration": 0.0}, "concentration must be > 0"),
        ({"charge": 0}, "charge must be a non-zero integer"),
    ],
)
def test_species_rejects_unphysical_values(kwargs, message):
    args = {"name": "Li+", "charge": 1, "diffusivity": 1e-9, "concentration": 1000.0} | kwargs
    with pytest.raises(ValueError, match=message):
        Species(**args)


def test_supporting_model_needs_conductivity():
    with pytest.raises(ValueError, match="needs a conductivity"):
        binary(1000.0, 1e-9, 1e-9, model="supporting")


def test_unknown_model_is_named():
    with pytest.raises(ValueError, match="not one of"):
        binary(1000.0, 1e-9, 1e-9, model="quaternary")


def test_region_factor_and_limits():
    assert RegionProperties("host", porosity=0.5, tortuosity=2.0).factor == pytest.approx(0.25)
    with pytest.raises(ValueError, match="porosity"):
        RegionProperties("host", porosity=0.0)
    with pytest.raises(ValueError, match="tortuosity"):
        RegionProperties("host", tortuosity=0.5)
