"""Manufactured solution for Nernst-Planck + electroneutrality with a Butler-Volmer edge.

A binary electrolyte with smooth exact c and phi; the volume sources and the mismatch
between the exact normal fluxes and the boundary conditions (Butler-Volmer with
concentration dependence on the electrode, insulation on the side walls) are added as
sources, the top is a bulk boundary carrying the exact values. P1 errors must fall as
h^2 in L2 and h in H1.
"""

from __future__ import annotations

import itertools

import dolfinx
import numpy as np
import pytest
import ufl
from mpi4py import MPI

from femli.mesh import from_mesh
from femli.physics.conditions import Bulk, Electrode
from femli.physics.electrolyte import binary
from femli.physics.kinetics import ButlerVolmer
from femli.physics.model import CellModel
from femli.solve.stationary import StationaryOptions, StationarySolver
from femli.units import FARADAY

L, C0, PHI0 = 10e-6, 1000.0, 0.01
KINETICS = ButlerVolmer(50.0, 0.7, 0.4, concentration_dependent=True)
E_APPLIED = -0.02


def exact_c(x):
    return C0 * (1.0 + 0.3 * ufl.sin(np.pi * x[0] / L) * ufl.cos(0.5 * np.pi * x[1] / L))


def exact_phi(x):
    return PHI0 * (ufl.cos(np.pi * x[0] / L) * ufl.sin(np.pi * x[1] / L) + x[1] / L)


def numpy_field(expr_fn, model):
    space = model.space
    f = dolfinx.fem.Function(space)
    x = ufl.SpatialCoordinate(model.domain.mesh)
    f.interpolate(dolfinx.fem.Expression(expr_fn(x), space.element.interpolation_points))
    return f


def solve_mms(n: int) -> dict[str, float]:
    mesh = dolfinx.mesh.create_rectangle(MPI.COMM_WORLD, [[0, 0], [L, L]], [n, n])
    domain = from_mesh(
        mesh,
        {
            "electrode": lambda x: np.isclose(x[1], 0.0),
            "bulk": lambda x: np.isclose(x[1], L),
            "walls": lambda x: np.isclose(x[0], 0.0) | np.isclose(x[0], L),
        },
    )
    electrolyte = binary(C0, 1.5e-9, 0.7e-9)
    electrode = Electrode("e", {"electrode": KINETICS}, potential=E_APPLIED)
    # the exact solution is uniform on the top edge: phi = PHI0, c = C0
    top = Bulk(("bulk",), potential=PHI0, concentrations={"Li+": C0})
    model = CellModel(domain, electrolyte, [electrode], [top])
    add_manufactured_sources(model, electrolyte, electrode)
    StationarySolver(model, StationaryOptions(initial_guess="uniform")).solve()
    return errors(model)


def add_manufactured_sources(model, electrolyte, electrode):
    x = ufl.SpatialCoordinate(model.domain.mesh)
    n = ufl.FacetNormal(model.domain.mesh)
    c, phi = exact_c(x), exact_phi(x)
    f = electrolyte.f
    fluxes = [
        -s.diffusivity * ufl.grad(c) - s.charge * s.diffusivity * f * c * ufl.grad(phi)
        for s in electrolyte.species
    ]
    charge_flux = fluxes[0] - fluxes[1]  # i/F for z = +1, -1
    i_loc = KINETICS.current(E_APPLIED - phi, f, c / C0)
    ds_e, ds_w = model.domain.ds("electrode"), model.domain.ds("walls")
    dx = model.domain.dx()
    model.add_source("Li+", ufl.div(fluxes[0]), dx)
    model.add_source("charge", ufl.div(charge_flux), dx)
    # boundary terms: the code imposes N.n = -i_loc/F (electrode) and 0 (walls)
    model.add_source("Li+", -(ufl.dot(fluxes[0], n) + i_loc / FARADAY), ds_e)
    model.add_source("charge", -(ufl.dot(charge_flux, n) + i_loc / FARADAY), ds_e)
    model.add_source("Li+", -ufl.dot(fluxes[0], n), ds_w)
    model.add_source("charge", -ufl.dot(charge_flux, n), ds_w)


def errors(model) -> dict[str, float]:
    x = ufl.SpatialCoordinate(model.domain.mesh)
    out = {}
    for name, u, exact in (("c", model.unknowns[0], exact_c(x)), ("phi", model.phi, exact_phi(x))):
        for norm, integrand in (
            ("L2", (u - exact) ** 2),
            ("H1", ufl.inner(ufl.grad(u - exact), ufl.grad(u - exact))),
        ):
            local = dolfinx.fem.assemble_scalar(
                dolfinx.fem.form(
                    integrand * ufl.dx(domain=model.domain.mesh, metadata={"quadrature_degree": 6})
                )
            )
            out[f"{name}_{norm}"] = np.sqrt(model.domain.comm.allreduce(local, op=MPI.SUM))
    return out


def test_mms_convergence_rates():
    sizes = (8, 16, 32)
    results = [solve_mms(n) for n in sizes]
    for key, expected in (("c_L2", 2.0), ("phi_L2", 2.0), ("c_H1", 1.0), ("phi_H1", 1.0)):
        rates = [np.log2(a[key] / b[key]) for a, b in itertools.pairwise(results)]
        # measured: L2 1.99, H1 1.00 on 16 -> 32
        assert rates[-1] == pytest.approx(expected, abs=0.1), (key, rates)
