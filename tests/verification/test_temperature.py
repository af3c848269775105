"""Temperature: Arrhenius exchange currents, diffusivities and conductivities from a case
file, and the run temperature in f = F/(RT), against closed forms on 1D cells (the case
files' ``kind = "interval"`` geometry).

Each property is given at ``reference_temperature`` and scales as
``p(T) = p(T_ref) exp(-(E_a/R)(1/T - 1/T_ref))``. Closed forms:

- secondary cell, linear kinetics, potential V: ``i = V / (R_ct(T) + L/kappa(T))`` with
  ``R_ct = RT / (F i0(T) (aa + ac))``;
- cathodic Tafel, current i: ``eta = -ln(|i| / i0(T)) RT / (alpha F)``;
- binary tertiary cell, current i, Li+ reacting, bulk at x = L: a linear profile with
  ``c_b - c(0) = |i| L / (2 F D+(T))``, so the depletion at two temperatures has the
  ratio ``D+(T2) / D+(T1)``: the Arrhenius ratio of the diffusivity.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from mpi4py import MPI

from femli.case.build import make_domain, make_model
from femli.case.checks import parse_case
from femli.solve.stationary import StationarySolver
from femli.units import FARADAY, GAS_CONSTANT

L, T_REF = 10e-6, 298.15
E_KINETICS, E_KAPPA, E_D = 30e3, 15e3, 20e3  # J/mol


def arrhenius(energy: float, temperature: float) -> float:
    return math.exp(-energy / GAS_CONSTANT * (1 / temperature - 1 / T_REF))


def case(temperature: float, model: str, kinetics: dict, control: dict) -> dict:
    species = [
        {"name": "Li+", "charge": 1, "diffusivity": 1e-9, "concentration": 1000.0},
        {"name": "A-", "charge": -1, "diffusivity": 1e-9, "concentration": 1000.0},
    ]
    for s in species:
        s["diffusivity_activation_energy"] = E_D
    electrolyte = {
        "model": model,
        "temperature": temperature,
        "reference_temperature": T_REF,
        "species": species,
    }
    if model != "tertiary":
        electrolyte |= {"conductivity": 0.2, "conductivity_activation_energy": E_KAPPA}
    kinetics = kinetics | {"activation_energy": E_KINETICS}
    electrode = {"name": "li", "kinetics": {"left": kinetics}, **control}
    return {
        "geometry": {"kind": "interval", "length_um": L * 1e6, "cells": 40},
        "electrolyte": electrolyte,
        "electrodes": [electrode],
        "bulk": [{"boundaries": ["right"]}],
    }


def solve(data: dict):
    config = parse_case(data)
    domain, _ = make_domain(config, MPI.COMM_WORLD, Path("."))
    model = make_model(config, domain)
    solver = StationarySolver(model)
    solver.solve()
    return model, solver


def left(model, array) -> float:
    at = np.isclose(model.space.tabulate_dof_coordinates()[:, 0], 0.0)
    return MPI.COMM_WORLD.allreduce(float(array[at][0]) if at.any() else np.inf, op=MPI.MIN)


@pytest.mark.parametrize("temperature", [263.15, 298.15, 333.15])
def test_ohmic_and_kinetic_resistances_follow_arrhenius(temperature):
    linear = {"type": "linear", "exchange_current": 5.0}
    model, solver = solve(case(temperature, "secondary", linear, {"potential": -0.05}))
    f = FARADAY / (GAS_CONSTANT * temperature)
    assert model.f == pytest.approx(f, rel=1e-14)  # the run temperature reaches f
    r_ct = 1.0 / (5.0 * arrhenius(E_KINETICS, temperature) * 1.0 * f)
    r_s = L / (0.2 * arrhenius(E_KAPPA, temperature))
    electrode = model.electrodes[0]
    assert solver.currents.total(electrode) == pytest.approx(-0.05 / (r_ct + r_s), rel=1e-10)


@pytest.mark.parametrize("temperature", [263.15, 333.15])
def test_tafel_overpotential_at_temperature(temperature):
    tafel = {"type": "tafel", "exchange_current": 2.0, "alpha": 0.6}
    model, _ = solve(case(temperature, "secondary", tafel, {"current_density": -30.0}))
    i0 = 2.0 * arrhenius(E_KINETICS, temperature)
    eta = -math.log(30.0 / i0) * GAS_CONSTANT * temperature / (0.6 * FARADAY)
    measured = model.potentials["li"].value.item() - left(model, model.phi.x.array)
    assert measured == pytest.approx(eta, rel=1e-8)


def test_the_salt_depletion_has_the_arrhenius_ratio_of_the_diffusivity():
    law = {"type": "butler-volmer", "exchange_current": 20.0}
    depletion = {}
    for temperature in (278.15, 318.15):
        model, _ = solve(case(temperature, "tertiary", law, {"current_density": -20.0}))
        depletion[temperature] = 1000.0 - left(model, model.unknowns[0].x.array)
        d_plus = 1e-9 * arrhenius(E_D, temperature)
        assert depletion[temperature] == pytest.approx(20.0 * L / (2 * FARADAY * d_plus), rel=1e-8)
    ratio = depletion[278.15] / depletion[318.15]
    assert ratio == pytest.approx(arrhenius(E_D, 318.15) / arrhenius(E_D, 278.15), rel=1e-8)
