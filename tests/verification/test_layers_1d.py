"""Layered electrolytes in 1D: a coating (secondary) and a porous layer (tertiary).

Secondary: series resistance a/kappa_1 + (L - a)/kappa_2 plus the Butler-Volmer
overpotential. Tertiary with a blocked anion: the Li+ flux is continuous, so c is
piecewise linear with slopes -i/(2 F D+_eff) where D_eff = D porosity / tortuosity.
Both are exact in P1 when the interface is a mesh node.
"""

from __future__ import annotations

import dolfinx
import numpy as np
import pytest
from mpi4py import MPI
from scipy.optimize import brentq

from femli.mesh import from_mesh
from femli.physics.conditions import Bulk, Electrode
from femli.physics.electrolyte import Electrolyte, RegionProperties, Species, binary
from femli.physics.kinetics import ButlerVolmer
from femli.physics.model import CellModel
from femli.solve.stationary import StationarySolver
from femli.units import FARADAY

L, A, C0, I_APP = 10e-6, 3e-6, 1000.0, 40.0
KINETICS = ButlerVolmer(10.0, 0.5, 0.5)


def layered_domain():
    mesh = dolfinx.mesh.create_interval(MPI.COMM_WORLD, 100, [0.0, L])
    return from_mesh(
        mesh,
        {"electrode": lambda x: np.isclose(x[0], 0.0), "bulk": lambda x: np.isclose(x[0], L)},
        {"coating": lambda x: x[0] <= A + 1e-12, "electrolyte": lambda x: x[0] >= A - 1e-12},
    )


def solve(electrolyte):
    electrode = Electrode("li", {"electrode": KINETICS}, current_density=-I_APP)
    model = CellModel(layered_domain(), electrolyte, [electrode], [Bulk(("bulk",))])
    StationarySolver(model).solve()
    return model


def test_coating_adds_its_series_resistance():
    kappa, kappa_coat = 1.0, 0.05
    species = binary(C0, 1e-9, 1e-9).species
    electrolyte = Electrolyte(
        species,
        model="secondary",
        conductivity=kappa,
        regions=(RegionProperties("coating", conductivity=kappa_coat),),
    )
    model = solve(electrolyte)
    eta = brentq(lambda e: KINETICS.current(e, model.f) + I_APP, -1.0, 1.0, xtol=1e-15)
    expected = eta - I_APP * (A / kappa_coat + (L - A) / kappa)
    assert model.potentials["li"].value.item() == pytest.approx(expected, rel=1e-9)


def test_porous_layer_scales_diffusion_by_porosity_over_tortuosity():
    porosity, tortuosity, d_plus = 0.4, 2.5, 1e-9
    layer = RegionProperties("coating", porosity=porosity, tortuosity=tortuosity)
    electrolyte = binary(C0, d_plus, 0.6e-9, regions=(layer,))
    model = solve(electrolyte)
    d_eff = d_plus * porosity / tortuosity
    c_interface = C0 - I_APP * (L - A) / (2 * FARADAY * d_plus)
    c_electrode = c_interface - I_APP * A / (2 * FARADAY * d_eff)
    x = model.space.tabulate_dof_coordinates()[:, 0]
    c = model.unknowns[0].x.array
    expected = np.where(
        x >= A,
        C0 - I_APP * (L - x) / (2 * FARADAY * d_plus),
        c_interface - I_APP * (A - x) / (2 * FARADAY * d_eff),
    )
    assert np.abs(c - expected).max() < 1e-9 * C0
    c_min = model.domain.comm.allreduce(c.min(), op=MPI.MIN)
    assert c_min == pytest.approx(c_electrode, rel=1e-12)


def test_three_species_electrolyte_solves_and_conserves_charge():
    """Li+, TFSI-, NO3- (seed 000's three-species model): current carried by Li+ only."""
    species = (
        Species("Li+", 1, 1e-9, 1000.0),
        Species("TFSI-", -1, 0.8e-9, 900.0),
        Species("NO3-", -1, 1.2e-9, 100.0),
    )
    model = solve(Electrolyte(species))
    c_no3 = dolfinx.fem.Function(model.space)
    c_no3.interpolate(
        dolfinx.fem.Expression(
            model.concentration("NO3-"), model.space.element.interpolation_points
        )
    )
    assert c_no3.x.array.min() > 0
    # steady state with blocking anions: c_anion ~ exp(f phi) profiles, Li+ carries I_APP
    li_flux = model.flux("Li+")
    form = dolfinx.fem.form(li_flux[0] * model.domain.dx())
    mean_flux = model.domain.comm.allreduce(dolfinx.fem.assemble_scalar(form), op=MPI.SUM) / L
    assert mean_flux == pytest.approx(-I_APP / FARADAY, rel=1e-8)
