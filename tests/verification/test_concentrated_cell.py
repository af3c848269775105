"""1D closed Li/Li cell with a concentrated electrolyte at steady state, against an
independent solution of its ODEs (scipy ``solve_bvp``), and manufactured-solution rates.

Steady state, current I through a closed cell of length L: the anion does not move, so
N+ = I/F everywhere and (salt concentration c, phi the potential femli solves for)

    dc/dx   = -(1 - t+(c)) I / (F D(c))
    dphi/dx = -I / kappa(c) + (RT/F) [2 (1 - t+(c)) chi(c) - 1] (dc/dx) / c
    int_0^L c dx = c0 L                     (the cell keeps its salt)

with Butler-Volmer kinetics on both electrodes (anode at 0 V). The reference writes the
properties (Valoen & Reimers 2005, and a variant with a c-dependent t+ and a tabulated
thermodynamic factor) directly in numpy; femli reads them from its shipped set and its
expression and table types. Nothing here is shared with femli but the kinetics law.
"""

from __future__ import annotations

import itertools

import dolfinx
import numpy as np
import pytest
import ufl
from mpi4py import MPI
from scipy.integrate import solve_bvp
from scipy.optimize import brentq

from femli.mesh import from_mesh
from femli.physics.conditions import Bulk, Electrode
from femli.physics.electrolyte import binary
from femli.physics.kinetics import ButlerVolmer
from femli.physics.model import CellModel
from femli.physics.properties import ConcentratedProperties, load_set, make_property
from femli.solve.stationary import StationaryOptions, StationarySolver
from femli.units import FARADAY, GAS_CONSTANT

L, C0, T = 50e-6, 1000.0, 298.15
F_RT = FARADAY / (GAS_CONSTANT * T)
LAW = ButlerVolmer(10.0, 0.5, 0.5, concentration_dependent=True)
I_APPLIED = 1500.0  # A/m2: c falls from ~1900 to ~350 mol/m3 across the cell

# a variant: t+ rising with c, thermodynamic factor tabulated (femli: expression, table)
TABLE_C, TABLE_CHI = [0.0, 800.0, 1600.0, 2400.0], [1.0, 1.4, 2.2, 2.6]
VARIANT = {
    "transference": "0.25 + 0.1*c/1000",
    "thermodynamic_factor": {"c": TABLE_C, "value": TABLE_CHI},
}


def valoen(c):
    """kappa (S/m), D (m2/s), t+, chi of Valoen & Reimers 2005 at salt concentration c (mol/m3)."""
    m = c / 1000
    a = -10.5 + 0.0740 * T - 6.96e-5 * T**2
    b = 0.668 - 0.0178 * T + 2.80e-5 * T**2
    kappa = 0.1 * m * (a + m * b + m**2 * (0.494 - 8.86e-4 * T)) ** 2
    d = 1e-4 * 10 ** (-4.43 - 54 / (T - 229 - 5 * m) - 0.22 * m)
    chi = (0.601 - 0.24 * np.sqrt(m) + 0.982 * (1 - 0.0052 * (T - 294)) * m**1.5) / 0.62
    return kappa, d, 0.38 + 0 * c, chi


def variant(c):
    kappa, d, _, _ = valoen(c)
    return kappa, d, 0.25 + 0.1 * c / 1000, np.interp(c, TABLE_C, TABLE_CHI)


def reference(props) -> tuple:
    """(solution of (c, phi, int c), cathode potential in V) of the ODEs above."""

    def rhs(x, y):
        c = y[0]
        kappa, d, t, chi = props(c)
        dc = -(1 - t) * I_APPLIED / (FARADAY * d)
        dphi = -I_APPLIED / kappa + (2 * (1 - t) * chi - 1) / F_RT * dc / c
        return np.vstack([dc, dphi, c])

    def bc(ya, yb):
        anode = LAW.current(-ya[1], F_RT, ya[0] / C0) - I_APPLIED
        return np.array([ya[2], (yb[2] - C0 * L) / (C0 * L), anode / I_APPLIED])

    x = np.linspace(0.0, L, 50)
    guess = np.vstack([np.full_like(x, C0), np.zeros_like(x), C0 * x])
    sol = solve_bvp(rhs, bc, x, guess, tol=1e-8, max_nodes=100_000)
    assert sol.success, sol.message
    c_l, phi_l = sol.sol(L)[:2]
    eta = brentq(lambda e: LAW.current(e, F_RT, c_l / C0) + I_APPLIED, -3, 3, xtol=1e-15)
    return sol, phi_l + eta


def femli_cell(overrides: dict, cells: int = 200) -> tuple[CellModel, float]:
    mesh = dolfinx.mesh.create_interval(MPI.COMM_WORLD, cells, [0.0, L])
    domain = from_mesh(
        mesh, {"left": lambda x: np.isclose(x[0], 0.0), "right": lambda x: np.isclose(x[0], L)}
    )
    data = load_set("lipf6_valoen_reimers_2005") | overrides
    props = ConcentratedProperties(**{k: make_property(v) for k, v in data.items()})
    electrolyte = binary(C0, 3e-10, 3e-10, model="concentrated", properties=props, temperature=T)
    anode = Electrode("anode", {"left": LAW}, potential=0.0)
    cathode = Electrode("cathode", {"right": LAW}, current_density=-I_APPLIED)
    model = CellModel(domain, electrolyte, [anode, cathode])
    StationarySolver(model).solve()
    return model, model.potentials["cathode"].value.item()


def largest(values: np.ndarray) -> float:
    return MPI.COMM_WORLD.allreduce(float(np.abs(values).max(initial=0.0)), op=MPI.MAX)


@pytest.mark.mpi
@pytest.mark.parametrize(
    ("overrides", "props"),
    [({}, valoen), (VARIANT, variant)],
    ids=["valoen2005", "variable-t+-tabulated-chi"],
)
def test_steady_cell_matches_the_ode_solution(overrides, props):
    """Concentration, potential and cell voltage within 1e-4 of solve_bvp (measured at
    200 cells: c 7e-6, voltage 2e-7 relative for Valoen's set)."""
    sol, voltage = reference(props)
    model, femli_voltage = femli_cell(overrides)
    x = model.space.tabulate_dof_coordinates()[:, 0]
    c_ref, phi_ref = sol.sol(x)[:2]
    assert largest(model.unknowns[0].x.array - c_ref) < 1e-4 * C0
    assert largest(model.phi.x.array - phi_ref) < 1e-4 * abs(voltage)
    assert femli_voltage == pytest.approx(voltage, rel=1e-4)
    assert sol.sol(0.0)[0] > 1.8 * C0 and sol.sol(L)[0] < 0.4 * C0  # strongly nonlinear


# -- manufactured solution with c-dependent properties ------------------------------------
H, PHI0 = 10e-6, 0.01
MMS_LAW = ButlerVolmer(50.0, 0.7, 0.4, concentration_dependent=True)
E_APPLIED = -0.02
MMS_PROPERTIES = {
    "conductivity": "0.8*(c/1000)*exp(-0.4*c/1000) + 0.05",
    "diffusivity": "4e-10*exp(-0.6*c/1000)",
    "transference": "0.3 + 0.1*c/1000",
    "thermodynamic_factor": "1 + 0.8*(c/1000)**2",
}


def mms_properties(c):
    """The same properties written in UFL by hand (kappa, D, t+, chi)."""
    m = c / 1000
    return (
        0.8 * m * ufl.exp(-0.4 * m) + 0.05,
        4e-10 * ufl.exp(-0.6 * m),
        0.3 + 0.1 * m,
        1 + 0.8 * m**2,
    )


def exact(x):
    """(c, phi): smooth, c = C0 and phi = PHI0 on the top edge."""
    c = C0 * (1.0 + 0.3 * ufl.sin(np.pi * x[0] / H) * ufl.cos(0.5 * np.pi * x[1] / H))
    phi = PHI0 * (ufl.cos(np.pi * x[0] / H) * ufl.sin(np.pi * x[1] / H) + x[1] / H)
    return c, phi


def solve_mms(n: int) -> dict[str, float]:
    mesh = dolfinx.mesh.create_rectangle(MPI.COMM_WORLD, [[0, 0], [H, H]], [n, n])
    domain = from_mesh(
        mesh,
        {
            "electrode": lambda x: np.isclose(x[1], 0.0),
            "bulk": lambda x: np.isclose(x[1], H),
            "walls": lambda x: np.isclose(x[0], 0.0) | np.isclose(x[0], H),
        },
    )
    props = ConcentratedProperties(**{k: make_property(v) for k, v in MMS_PROPERTIES.items()})
    electrolyte = binary(C0, 3e-10, 3e-10, model="concentrated", properties=props, temperature=T)
    electrode = Electrode("e", {"electrode": MMS_LAW}, potential=E_APPLIED)
    model = CellModel(domain, electrolyte, [electrode], [Bulk(("bulk",), potential=PHI0)])
    x = ufl.SpatialCoordinate(mesh)
    c, phi = exact(x)
    kappa, d, t, chi = mms_properties(c)
    current = -kappa * ufl.grad(phi) + kappa / F_RT * (2 * (1 - t) * chi - 1) * ufl.grad(c) / c
    flux = -d * ufl.grad(c) + t * current / FARADAY
    normal = ufl.FacetNormal(mesh)
    i_loc = MMS_LAW.current(E_APPLIED - phi, F_RT, c / C0)
    ds_e, ds_w, dx = domain.ds("electrode"), domain.ds("walls"), domain.dx()
    for equation, vector in (("Li+", flux), ("charge", current / FARADAY)):
        model.add_source(equation, ufl.div(vector), dx)
        model.add_source(equation, -(ufl.dot(vector, normal) + i_loc / FARADAY), ds_e)
        model.add_source(equation, -ufl.dot(vector, normal), ds_w)
    StationarySolver(model, StationaryOptions(initial_guess="uniform")).solve()
    out = {}
    for name, u, u_exact in (("c", model.unknowns[0], c), ("phi", model.phi, phi)):
        for norm, integrand in (
            ("L2", (u - u_exact) ** 2),
            ("H1", ufl.inner(ufl.grad(u - u_exact), ufl.grad(u - u_exact))),
        ):
            measure = ufl.dx(domain=mesh, metadata={"quadrature_degree": 6})
            local = dolfinx.fem.assemble_scalar(dolfinx.fem.form(integrand * measure))
            out[f"{name}_{norm}"] = np.sqrt(MPI.COMM_WORLD.allreduce(local, op=MPI.SUM))
    return out


def test_mms_convergence_rates_with_concentration_dependent_properties():
    """P1: L2 errors fall as h^2, H1 as h (all four properties depend on c)."""
    results = [solve_mms(n) for n in (8, 16, 32)]
    for key, expected in (("c_L2", 2.0), ("phi_L2", 2.0), ("c_H1", 1.0), ("phi_H1", 1.0)):
        rates = [np.log2(a[key] / b[key]) for a, b in itertools.pairwise(results)]
        assert rates[-1] == pytest.approx(expected, abs=0.1), (key, rates)
