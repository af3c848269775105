"""Growth with transient electrochemistry (ALE): Sand on a moving electrode, a steady
profile kept under mesh motion, Faraday consistency through remeshing, MPI = serial.

Moving-electrode Sand problem. A planar electrode deposits at current density i and
moves into the electrolyte at v = i M / (F rho); the salt obeys dc/dt = D c_yy on
y > v t with D c_y = q = (1 - t+) i / F at the electrode. In the electrode frame
xi = y - v t this is c_t = D c_xixi + v c_xi, whose Laplace transform gives the
surface concentration in closed form (a = v / (2 sqrt D)):

    c_s = c0 - q / sqrt(D) [erf(a sqrt t) / (2a) + a t erf(a sqrt t)
                             + sqrt(t / pi) exp(-a^2 t) - a t],

which tends to Sand's c0 - 2 q sqrt(t / (pi D)) as v -> 0; to first order the moving
electrode raises c_s by q v t / (2 D) (the electrode advances into fresh electrolyte).
At 1 mA/cm2 (c0 = 1 M, D+ = 1e-10, D- = 3e-10 m2/s, t_s = 19 500 s) that is 5.4e-3 c0
at 0.8 t_s, against the 4e-4 c0 the mesh and time steps resolve after the first few
steps: the run must follow the moving-electrode solution, and follows the fixed-domain
one to within that shift. Without the mesh-velocity term the carried nodal values
would solve the fixed-domain problem in the mesh frame instead (measured: 5.6e-3 c0
off the moving solution).
"""

from __future__ import annotations

import dolfinx
import numpy as np
import pytest
from mpi4py import MPI
from scipy.special import erf
from shared_cases import PAIR_GAP, hemisphere_pair, ridge_domain, two_nuclei

from femli.growth.chemistry import surface_concentration
from femli.growth.rebuild import CONTACT
from femli.growth.solver import GrowthOptions, GrowthSolver, Metal
from femli.mesh import from_mesh
from femli.physics.conditions import Bulk, Electrode
from femli.physics.electrolyte import binary
from femli.physics.kinetics import ButlerVolmer
from femli.physics.model import CellModel
from femli.solve.bdf import TransientOptions
from femli.solve.stationary import StationarySolver
from femli.units import FARADAY

C0, D_PLUS, D_MINUS = 1000.0, 1.0e-10, 3.0e-10  # mol/m3, m2/s
BV = ButlerVolmer(10.0, 0.5, 0.5, concentration_dependent=True)


def strip(comm, width: float, height: float, n: tuple[int, int], wave: float = 0.0):
    """Rectangle [0, width] x [0, height] (m), electrode at the bottom (a cosine of
    amplitude ``wave``), bulk at the top, side walls."""
    mesh = dolfinx.mesh.create_rectangle(comm, [[0, 0], [width, height]], list(n))
    x = mesh.geometry.x
    x[:, 1] += wave * np.cos(2 * np.pi * x[:, 0] / width) * (1 - x[:, 1] / height)
    return from_mesh(
        mesh,
        {
            "bulk": lambda x: np.isclose(x[1], height),
            "wall_left": lambda x: np.isclose(x[0], 0.0),
            "wall_right": lambda x: np.isclose(x[0], width),
            "electrode": lambda x: x[1] < 1.01 * wave + 1e-12,
        },
    )


def transient_growth(model: CellModel, t_end: float, **kwargs) -> GrowthSolver:
    steps = {k: kwargs.pop(k) for k in ("dt_initial", "tolerance") if k in kwargs}
    options = GrowthOptions(t_end=t_end, transient=TransientOptions(t_end=t_end, **steps), **kwargs)
    return GrowthSolver(model, options)


def moving_sand(t: np.ndarray, q: float, d: float, v: float) -> np.ndarray:
    """Surface concentration (mol/m3) of the moving-electrode Sand problem."""
    a = v / (2 * np.sqrt(d))
    s = a * np.sqrt(t)
    bracket = erf(s) / (2 * a) + a * t * erf(s) + np.sqrt(t / np.pi) * np.exp(-s * s) - a * t
    return C0 - q / np.sqrt(d) * bracket


def carried_minima(monkeypatch) -> list[tuple[float, float]]:
    """Records, for each new mesh of a growth run (remesh, merge, rebuild), the surface
    concentration minimum just before and just after it (before any step on it)."""
    carried: list[tuple[float, float]] = []
    replace = GrowthSolver.replace_domain

    def recorded(self, domain, **how):
        before = surface_concentration(self.model, self.depositing)[0]
        replace(self, domain, **how)
        carried.append((before, surface_concentration(self.model, self.depositing)[0]))

    monkeypatch.setattr(GrowthSolver, "replace_domain", recorded)
    return carried


def assert_profile_kept(carried: list[tuple[float, float]]) -> None:
    """The depleted profile went over to each new mesh: its surface minimum within a fifth
    of the depletion (the profile relaxes within ms, so a step later a lost one would
    not show)."""
    assert carried
    for before, after in carried:
        assert before < C0 and abs(after - before) < 0.2 * (C0 - before), carried


def test_galvanostatic_surface_concentration_follows_the_moving_sand_solution():
    i = 10.0  # A/m2 = 1 mA/cm2
    d = 2 * D_PLUS * D_MINUS / (D_PLUS + D_MINUS)
    q = (1 - D_PLUS / (D_PLUS + D_MINUS)) * i / FARADAY
    t_sand = np.pi * d * C0**2 / (4 * q**2)
    v = i * Metal().volume_per_charge
    length = 8 * np.sqrt(d * t_sand)  # semi-infinite: the far field is ~exp(-16) away
    domain = strip(MPI.COMM_WORLD, length / 100, length, (1, 400))
    electrode = Electrode("li", {"electrode": BV}, current_density=-i)
    model = CellModel(domain, binary(C0, D_PLUS, D_MINUS), [electrode], [Bulk(("bulk",))])
    growth = transient_growth(model, 0.8 * t_sand, max_displacement=2e-6)
    records = growth.run()
    assert growth.chemistry.newton.stats.jacobians_reused > 0  # chord steps, same answers
    t = np.array([r["t"] for r in records])
    c_s = np.array([r["c_min"] for r in records])
    exact = moving_sand(t, q, d, v)
    fixed = C0 * (1 - np.sqrt(t / t_sand))
    shift = q * v * t / (2 * d)  # first-order moving-electrode correction
    assert np.abs(exact - fixed - shift).max() < 0.02 * shift.max()
    late = t > 0.05 * t_sand  # the first steps resolve sqrt(D t) with a few cells only
    assert np.abs(c_s - exact).max() < 2e-3 * C0  # measured 1.3e-3
    assert np.abs(c_s - exact)[late].max() < 1e-3 * C0  # measured 4.3e-4; 5.6e-3 w/o ALE
    assert np.abs(c_s - fixed).max() < 2e-3 * C0 + shift.max()  # measured 5.1e-3
    final = records[-1]
    assert final["t"] == pytest.approx(0.8 * t_sand, rel=1e-12)
    assert final["mean_height"] == pytest.approx(v * final["t"], rel=1e-7)
    assert final["deposited_volume"] == pytest.approx(
        -final["charge"] * Metal().volume_per_charge, rel=1e-7
    )


def jiggled_strip(width: float, height: float, n: tuple[int, int]):
    """A rectangle with its interior nodes displaced smoothly: the mesh-motion
    stiffness varies from cell to cell, so the motion is not uniform."""
    domain = strip(MPI.COMM_WORLD, width, height, n)
    x = domain.mesh.geometry.x
    bump = np.sin(np.pi * x[:, 0] / width) * np.sin(np.pi * x[:, 1] / height)
    x[:, 0] += 0.3 * (width / n[0]) * bump * np.sin(7 * x[:, 1] / height)
    x[:, 1] += 0.3 * (height / n[1]) * bump * np.cos(5 * x[:, 0] / width)
    return domain


@pytest.mark.parametrize("ale", [True, False], ids=["ale", "without_mesh_velocity"])
def test_mesh_motion_leaves_a_steady_profile_unchanged(ale):
    """Supporting electrolyte at a steady galvanostatic state: c is exactly linear,
    c = c0 - (1 - t+) i (H - y) / (F D), and stays the same Eulerian field while the
    electrode advances (the slope is set by the current, the top value by the bulk).
    The nodes carry their values as they move; the mesh-velocity term makes that exact
    (to solver tolerance). Dropping it reads the carried values as a change in time."""
    width, height, i, t_plus, d = 2e-6, 10e-6, 10.0, 0.4, 1e-11
    electrolyte = binary(C0, d, d, model="supporting", conductivity=1.0, transference=t_plus)
    electrode = Electrode("li", {"electrode": BV}, current_density=-i)
    model = CellModel(
        jiggled_strip(width, height, (4, 12)), electrolyte, [electrode], [Bulk(("bulk",))]
    )
    StationarySolver(model).solve()
    growth = transient_growth(model, 150.0, max_displacement=0.05e-6, dt_initial=5.0)
    if not ale:
        growth.chemistry.solver.before_solve = None  # w stays 0: the term is dropped
    errors = []

    def check(g, record):
        y = g.model.space.tabulate_dof_coordinates()[:, 1]
        exact = C0 - (1 - t_plus) * i * (height - y) / (FARADAY * d)
        err = np.abs(g.model.unknowns[0].x.array - exact).max(initial=0.0)
        errors.append(g.model.domain.comm.allreduce(err, op=MPI.MAX) / C0)

    records = growth.run(check)
    assert records[-1]["mean_height"] > 0.15e-6  # three cells' worth of motion at least
    assert len(records) > 4
    if ale:
        assert max(errors) < 1e-9  # measured 4e-11 (Newton tolerance)
    else:
        assert max(errors) > 1e-6  # measured 3e-5


@pytest.mark.mpi
def test_faraday_consistency_through_remeshing():
    domain = ridge_domain()
    electrode = Electrode("li", {"electrode": BV}, current_density=-200.0)
    electrolyte = binary(C0, 5e-10, 5e-10, model="supporting", conductivity=7.68e-3)
    model = CellModel(domain, electrolyte, [electrode], [Bulk(("bulk",))])
    records = transient_growth(model, 10.0, max_displacement=0.05e-6).run()
    final = records[-1]
    assert final["remeshes"] >= 1
    faraday = -final["charge"] * Metal().volume_per_charge
    assert final["deposited_volume"] == pytest.approx(faraday, rel=5e-3)  # measured 0.11 %
    density = np.array([r["current"] / r["area"] for r in records])
    assert np.allclose(density, -200.0, rtol=1e-6)  # galvanostatic: held on the growing area
    assert min(r["c_min"] for r in records) < 0.97 * C0  # the concentration did move


def wavy_potentiostatic(comm) -> list[dict]:
    electrode = Electrode("li", {"electrode": BV}, potential=-0.1)
    domain = strip(comm, 4e-6, 4e-6, (12, 12), wave=0.2e-6)
    model = CellModel(domain, binary(100.0, D_PLUS, D_MINUS), [electrode], [Bulk(("bulk",))])
    return transient_growth(model, 10.0, max_displacement=0.02e-6).run()


@pytest.mark.mpi
def test_potentiostatic_transient_growth_on_two_ranks_equals_serial():
    """The same run on COMM_WORLD and on each rank alone (serial): same steps, same
    numbers to round-off (measured 3e-13)."""
    together = wavy_potentiostatic(MPI.COMM_WORLD)
    alone = wavy_potentiostatic(MPI.COMM_SELF)
    assert len(together) == len(alone) > 10
    for key in ("t", "charge", "max_height", "deposited_volume", "c_min", "c_tip"):
        a, b = (np.array([r[key] for r in run]) for run in (together, alone))
        assert np.allclose(a, b, rtol=1e-9, atol=1e-12 * np.abs(b).max()), key
    final = together[-1]
    assert final["c_tip"] > final["c_min"]  # the crest sees more Li+ than the trough
    assert final["max_height"] > 0.25e-6  # from 0.2 um


def test_transient_growth_goes_on_through_merges_and_remeshes(monkeypatch):
    """Two nuclei grow together (tertiary): the concentrations go over to every new mesh
    (merges and remeshes) and Faraday still holds (measured 0.016 %)."""
    domain, electrode = two_nuclei()
    model = CellModel(domain, binary(C0, 5e-10, 5e-10), [electrode], [Bulk(("bulk",))])
    growth = transient_growth(
        model, 18.0, max_displacement=0.02e-6, min_quality=0.3, merge_gap=0.05e-6
    )
    carried = carried_minima(monkeypatch)
    records = growth.run()
    final = records[-1]
    assert final["t"] == pytest.approx(18.0)
    assert final["merges"] >= 1 and final["remeshes"] >= 2
    faraday = -final["charge"] * Metal().volume_per_charge
    assert final["deposited_volume"] == pytest.approx(faraday, rel=5e-3)
    c_min = np.array([r["c_min"] for r in records])
    assert c_min[0] == C0 and 0.99 * C0 < c_min.min() < C0  # starts uniform, depletes
    assert len(carried) == final["remeshes"]
    assert_profile_kept(carried)


@pytest.mark.mpi
def test_transient_growth_goes_on_through_a_3d_merge(monkeypatch):
    """Two 0.25 um hemispheres with feet 0.1 um apart (3D, tertiary, 10 mA/cm2 held; the
    current stays uniform: hotspot index 1.0001) touch when geometry says, between
    (gap - CONTACT x merge_gap) / (2 v) and gap / (2 v) (measured 3.13 s in
    [2.23, 3.71] s), and merge through a level-set rebuild. The concentrations go over to
    the rebuilt mesh (:func:`assert_profile_kept`; measured 0.05 and 0.02 of a depletion
    of 1.05 and 1.07 mol/m3), the run reaches t_end, and the deposit is Faraday's volume
    (measured 4e-10: the rebuild encloses it)."""
    carried = carried_minima(monkeypatch)
    model = CellModel(
        hemisphere_pair(),
        binary(C0, 5e-10, 5e-10),
        [Electrode("li", {"nuclei": BV}, current_density=-100.0)],
        [Bulk(("bulk",))],
    )
    merge_gap = 0.05e-6
    growth = transient_growth(model, 4.5, min_quality=0.1, merge_gap=merge_gap)
    records = growth.run()
    final = records[-1]
    assert final["t"] == pytest.approx(4.5)
    assert final["merges"] >= 1 and final["trapped_volume"] > 0
    v = 100.0 * Metal().volume_per_charge
    touch = growth.merges[0]["t"]
    assert (PAIR_GAP - CONTACT * merge_gap) / (2 * v) <= touch <= PAIR_GAP / (2 * v)
    assert final["deposited_volume"] == pytest.approx(final["faraday_volume"], rel=1e-6)
    assert len(carried) == final["remeshes"]
    assert_profile_kept(carried)
