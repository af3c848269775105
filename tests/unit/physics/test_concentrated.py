"""The concentrated binary electrolyte: its properties (constants, expressions, tables,
shipped sets), its refusals, and that with the dilute properties it is the dilute binary
(tertiary) model to solver tolerance."""

from __future__ import annotations

import dolfinx
import numpy as np
import pytest
import ufl
from mpi4py import MPI

from femli.mesh import from_mesh
from femli.physics.concentrated import dilute_properties
from femli.physics.conditions import Bulk, Electrode
from femli.physics.electrolyte import Electrolyte, RegionProperties, Species, binary
from femli.physics.kinetics import ButlerVolmer
from femli.physics.model import CellModel
from femli.physics.properties import (
    ConcentratedProperties,
    Table,
    evaluate,
    list_sets,
    load_set,
    make_property,
)
from femli.solve.stationary import StationarySolver

L = 10e-6
LAW = ButlerVolmer(20.0, 0.6, 0.4, concentration_dependent=True)


def test_a_table_is_piecewise_linear_and_constant_beyond_its_ends():
    table = Table((500.0, 1000.0, 2000.0), (1.0, 2.0, 0.0))
    c = np.array([0.0, 500.0, 750.0, 1000.0, 1500.0, 2000.0, 3000.0])
    assert table.evaluate(c) == pytest.approx([1.0, 1.0, 1.5, 2.0, 1.0, 0.0, 0.0], abs=1e-14)
    mesh = dolfinx.mesh.create_unit_interval(MPI.COMM_SELF, 2)
    for value, expected in ((750.0, 1.5), (1500.0, 1.0), (100.0, 1.0), (2500.0, 0.0)):
        form = dolfinx.fem.form(table.evaluate(dolfinx.fem.Constant(mesh, value), "ufl") * ufl.dx)
        assert dolfinx.fem.assemble_scalar(form) == pytest.approx(expected, abs=1e-14)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (True, "Input should be a valid number, an expression in c (mol/m3) and T (K)"),
        ({"c": [1.0], "value": [1.0]}, "2 to 1000 points"),
        ({"c": [1.0, 1.0], "value": [1.0, 2.0]}, "strictly increasing"),
        ({"c": [1.0, "a"], "value": [1.0, 2.0]}, "lists of numbers"),
        ({"c": [1.0, 2.0], "value": [1.0, 2.0], "T": [1]}, "a table { c = [...], value"),
        ("c*q", "the name 'q' is not allowed"),
        (float("nan"), "finite"),
    ],
)
def test_bad_properties_say_what_is_allowed(raw, message):
    with pytest.raises(ValueError) as info:
        make_property(raw)
    assert message in str(info.value)


def test_the_shipped_sets_at_one_molar():
    """The literature values at 1 M and 298.15 K (Valoen & Reimers 2005: kappa 1.194 S/m,
    D 3.223e-10 m2/s, chi = 1.3218 / 0.62; seed 000's constants)."""
    assert list_sets() == ["lipf6_valoen_reimers_2005", "litfsi_dol_dme_park_kim_2026"]
    values = {}
    for name in list_sets():
        props = {k: make_property(v) for k, v in load_set(name).items()}
        values[name] = {k: float(evaluate(p, 1000.0, 298.15)) for k, p in props.items()}
    assert values["lipf6_valoen_reimers_2005"] == pytest.approx(
        {
            "conductivity": 1.19433,
            "diffusivity": 3.22272e-10,
            "transference": 0.38,
            "thermodynamic_factor": 2.13195,
        },
        rel=1e-5,
    )
    assert values["litfsi_dol_dme_park_kim_2026"] == {
        "conductivity": 7.68e-3,
        "diffusivity": 2.5e-10,
        "transference": 0.47,
        "thermodynamic_factor": 1.0,
    }
    with pytest.raises(ValueError, match="no parameter set 'nope'; shipped sets: lipf6"):
        load_set("nope")


@pytest.mark.parametrize(
    ("species", "properties", "message"),
    [
        ((("Li+", 1, 2.0), ("A-", -1, 1.0), ("B-", -1, 1.0)), None, "exactly two species"),
        ((("Li+", 1, 1.0), ("A-", -1, 1.0)), "A-", "reacting species to be the cation"),
        ((("Li+", 1, 1.0), ("A-", -1, 1.0)), {"diffusivity": -1.0}, "properties.diffusivity = -1"),
        ((("Li+", 1, 1.0), ("A-", -1, 1.0)), {"transference": "0.5 + c/1000"}, "transference"),
        ((("Li+", 1, 1.0), ("A-", -1, 1.0)), {"conductivity": "log(c - 2000)"}, "= nan"),
    ],
)
def test_refusals(species, properties, message):
    """Not a binary salt whose cation reacts, or properties out of range at the bulk
    (``properties``: a string is the reacting species instead)."""
    reacting = properties if isinstance(properties, str) else "Li+"
    properties = None if isinstance(properties, str) else properties
    made = ConcentratedProperties(**{k: make_property(v) for k, v in (properties or {}).items()})
    listed = tuple(Species(n, z, 1e-9, 1000.0 * c) for n, z, c in species)
    with pytest.raises(ValueError) as info:
        Electrolyte(listed, model="concentrated", reacting=reacting, properties=made)
    assert message in str(info.value)


def test_kappa_and_t_plus_belong_in_the_properties():
    with pytest.raises(ValueError, match=r"reads kappa and t\+ from \[electrolyte.properties\]"):
        binary(1000.0, 1e-9, 1e-9, model="concentrated", conductivity=1.0)
    with pytest.raises(ValueError, match='properties apply to model "concentrated"'):
        binary(1000.0, 1e-9, 1e-9, model="tertiary", properties=ConcentratedProperties())


def rectangle(n: int = 24, region: bool = False):
    mesh = dolfinx.mesh.create_rectangle(MPI.COMM_WORLD, [[0, 0], [L, L]], [n, n])
    cells = {"coating": lambda x: x[1] < 0.3 * L + 1e-12} if region else None
    return from_mesh(
        mesh,
        {
            "electrode": lambda x: np.isclose(x[1], 0.0) & (x[0] < 0.5 * L + 1e-12),
            "bulk": lambda x: np.isclose(x[1], L),
        },
        cells,
    )


def solve(electrolyte: Electrolyte, region: bool = False) -> tuple[CellModel, float]:
    electrode = Electrode("e", {"electrode": LAW}, current_density=-3000.0)
    model = CellModel(rectangle(region=region), electrolyte, [electrode], [Bulk(("bulk",))])
    StationarySolver(model).solve()
    return model, model.potentials["e"].value.item()


def largest(values: np.ndarray) -> float:
    return MPI.COMM_WORLD.allreduce(float(np.abs(values).max(initial=0.0)), op=MPI.MAX)


@pytest.mark.mpi
@pytest.mark.parametrize(
    ("cation", "anion", "region"),
    [(1, -1, False), (2, -1, False), (1, -1, True)],
    ids=["1:1", "2:-1", "porous-region"],
)
def test_dilute_properties_give_the_tertiary_model(cation, anion, region):
    """Same concentrations, potential and electrode potential as the dilute binary model
    to solver tolerance (was: no concentrated model); a 2:-1 salt and a porous region
    (porosity / tortuosity) too."""
    c0 = 1000.0
    species = (Species("M+", cation, 1.2e-9, c0), Species("A-", anion, 0.5e-9, c0 * cation))
    regions = (RegionProperties("coating", porosity=0.4, tortuosity=2.0),) if region else ()
    make = lambda model: Electrolyte(species, model, "M+", regions=regions)  # noqa: E731
    dilute, e_dilute = solve(make("tertiary"), region)
    concentrated, e_concentrated = solve(make("concentrated"), region)
    assert e_concentrated == pytest.approx(e_dilute, rel=1e-10)
    c_dilute, c_conc = dilute.unknowns[0].x.array, concentrated.unknowns[0].x.array
    assert largest(c_conc - c_dilute) < 1e-9 * c0
    assert largest(concentrated.phi.x.array - dilute.phi.x.array) < 1e-10 * abs(e_dilute)
    assert largest(c_dilute - c0) > 0.02 * c0  # not a trivial state


def test_the_defaults_are_the_dilute_values():
    electrolyte = binary(1000.0, 1.2e-9, 0.6e-9)
    dilute = dilute_properties(electrolyte)
    assert dilute["transference"] == pytest.approx(2 / 3)
    assert dilute["diffusivity"] == pytest.approx(2 * 1.2e-9 * 0.6e-9 / 1.8e-9)
    assert dilute["conductivity"](1000.0) == pytest.approx(electrolyte.bulk_conductivity())
