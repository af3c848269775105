"""Constriction (spreading) resistance of one circular Li | solid-electrolyte contact.

Geometry: void_contact in ``islands`` mode with one centred contact island of diameter d on
the bottom of a W x W x H solid-electrolyte box (``region = "electrolyte"``: the metal is
not meshed, "contact" is an equipotential Dirichlet boundary, the rest of the interface is
void, i.e. insulating; the top is the counter electrode at phi = 0, the walls are mirrors).
Primary current distribution with conductivity sigma (single-ion conductor).

Analytic: a circular contact on a half-space has R = 1/(2 sigma d) (Holm / Maxwell). The
mirror walls make the box a flux channel of the same area; with the equal-area radius
b = W / sqrt(pi) and eps = (d/2)/b, the constriction part is R_s = psi(eps) / (2 sigma d)
with Roess's series for an isothermal contact in a circular flux tube,
psi = 1 - 1.40925 eps + 0.29591 eps^3 + 0.05254 eps^5 + 0.02105 eps^7 + 0.01107 eps^9,
and the total is R = H / (sigma W^2) + R_s (the uniform-flow resistance of the channel: the
constriction field decays as exp(-3.83 z / b), < 1e-3 at the top for H >= 1.8 b). The
half-space limit is psi -> 1; psi = 0.752 (eps = 0.18) and 0.875 (0.089) below, so the
two boxes also check the finite-domain correction (they differ by 16 %).

Tolerance: 2 % on R_s, 1 % on R. Quadratic elements with the mesh graded to h = d/40 at the
contact edge (the current density there is singular, ~ r^-1/2); measured deviations
-0.5 % (eps = 0.18) and -0.6 % (eps = 0.089) on R_s: the discrete conductance of a Dirichlet
problem converges from above, so R is approached from below. Linear elements on the same
mesh give -5 % (slow O(h) convergence of the edge singularity), hence degree 2 here.
"""

from __future__ import annotations

import math

import pytest
from mpi4py import MPI
from shared_cases import load_example

from femli.mesh import build_domain
from femli.physics.conditions import Bulk, Electrode
from femli.physics.electrolyte import Electrolyte, Species
from femli.physics.kinetics import Inert
from femli.physics.model import CellModel
from femli.solve.stationary import StationarySolver

SIGMA = 0.3  # S/m (Li6PS5Cl-like solid electrolyte, ~3 mS/cm)
VOLTS = 0.01
D_UM = 2.0  # contact diameter, um


#: Roess's constriction factor (the series in the module docstring).
psi = load_example("seed004_voids", "constriction").psi


def single_contact_resistance(width_um: float, height_um: float) -> float:
    """Ohmic resistance (ohm) of one centred circular contact, quadratic elements."""
    fraction = math.pi * D_UM**2 / 4 / width_um**2
    domain, summary = build_domain(
        "void_contact",
        MPI.COMM_WORLD,
        dim=3,
        width=width_um,
        depth=width_um,
        se_thickness=height_um,
        mode="islands",
        count=1,
        placement="regular",
        contact_fraction=fraction,
        void_size=D_UM,
        region="electrolyte",
        h_interface=0.5,
        h_edge=D_UM / 40,
        h_far=width_um / 5,
    )
    assert summary["features"]["n_islands"] == 1
    assert summary["features"]["void_sizes"][0] == pytest.approx(D_UM)
    electrolyte = Electrolyte((Species("Li+", 1, 1e-12, 1000.0),), "primary", conductivity=SIGMA)
    electrode = Electrode("li", {"contact": Inert()}, potential=VOLTS)
    model = CellModel(domain, electrolyte, [electrode], [Bulk(("bulk",))], degree=2)
    solver = StationarySolver(model)
    solver.solve()
    return VOLTS / solver.currents.total(electrode)


@pytest.mark.mpi
@pytest.mark.parametrize("width_um", [10.0, 20.0])
def test_single_contact_spreading_resistance(width_um):
    height_um = width_um
    r = single_contact_resistance(width_um, height_um)
    d, w, h = D_UM * 1e-6, width_um * 1e-6, height_um * 1e-6
    eps = (d / 2) / (w / math.sqrt(math.pi))
    r_bulk = h / (SIGMA * w**2)
    r_half_space = 1 / (2 * SIGMA * d)  # the analytic spreading resistance
    r_spread = psi(eps) * r_half_space
    assert r - r_bulk == pytest.approx(r_spread, rel=0.02)
    assert r == pytest.approx(r_bulk + r_spread, rel=0.01)
    assert r - r_bulk < r_half_space  # the finite channel spreads less than a half-space
