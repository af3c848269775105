"""Deposition growth: planar velocity, Faraday consistency, remeshing, linear stability.

Closed forms: a planar electrode at uniform current i grows at v = i M / (F rho)
(1 mA/cm2 -> 4.85 um/h); a small sinusoidal perturbation of wavenumber k grows as
exp(sigma t) with sigma = v delta, delta = K / (1 + kappa R_ct K), K = k coth(k H)
(secondary distribution, linear kinetics).
"""

from __future__ import annotations

import dolfinx
import numpy as np
import pytest
from mpi4py import MPI
from shared_cases import ridge_domain

from femli.growth.solver import GrowthOptions, GrowthSolver, Metal
from femli.mesh import from_mesh
from femli.physics.conditions import Bulk, Electrode
from femli.physics.electrolyte import binary
from femli.physics.kinetics import ButlerVolmer, Linear
from femli.physics.model import CellModel
from femli.units import deposition_velocity, ma_per_cm2


def box(width: float, height: float, n: tuple[int, int], amplitude: float = 0.0):
    mesh = dolfinx.mesh.create_rectangle(MPI.COMM_WORLD, [[0, 0], [width, height]], list(n))
    x = mesh.geometry.x
    k = 2 * np.pi / width
    x[:, 1] += amplitude * np.cos(k * x[:, 0]) * (1 - x[:, 1] / height)
    return from_mesh(
        mesh,
        {
            "bulk": lambda x: np.isclose(x[1], height),
            "wall_left": lambda x: np.isclose(x[0], 0.0),
            "wall_right": lambda x: np.isclose(x[0], width),
            "electrode": lambda x: x[1] < 1.01 * amplitude + 1e-12,
        },
    )


@pytest.mark.mpi
def test_planar_electrode_grows_at_the_faraday_velocity():
    i = ma_per_cm2(10.0)
    electrode = Electrode("li", {"electrode": ButlerVolmer(30.0, 1.5, 0.5)}, current_density=-i)
    model = CellModel(
        box(10e-6, 10e-6, (8, 16)),
        binary(1000.0, 5e-10, 5e-10, model="secondary"),
        [electrode],
        [Bulk(("bulk",))],
    )
    growth = GrowthSolver(model, GrowthOptions(t_end=60.0, max_displacement=0.1e-6))
    final = growth.run()[-1]
    assert deposition_velocity(ma_per_cm2(1.0)) * 3600 == pytest.approx(4.85e-6, abs=0.005e-6)
    assert final["mean_height"] == pytest.approx(deposition_velocity(i) * 60.0, rel=1e-9)
    assert final["roughness_rms"] < 1e-12
    assert final["deposited_volume"] == pytest.approx(
        -final["charge"] * Metal().volume_per_charge, rel=1e-9
    )


def ridge_growth(potential: float | None, t_end: float):
    domain = ridge_domain()
    control = {"potential": potential} if potential is not None else {"current_density": -200.0}
    electrode = Electrode("li", {"electrode": ButlerVolmer(5.9, 0.5, 0.5)}, **control)
    electrolyte = binary(1000.0, 5e-10, 5e-10, model="supporting", conductivity=7.68e-3)
    model = CellModel(domain, electrolyte, [electrode], [Bulk(("bulk",))])
    return GrowthSolver(model, GrowthOptions(t_end=t_end, max_displacement=0.05e-6))


@pytest.mark.mpi
def test_ridge_growth_obeys_faraday_through_remeshing():
    growth = ridge_growth(None, 20.0)
    final = growth.run()[-1]
    assert final["remeshes"] >= 1  # the concave corners fill in and squeeze cells
    faraday = -final["charge"] * Metal().volume_per_charge
    assert final["deposited_volume"] == pytest.approx(faraday, rel=5e-3)  # measured 0.2 %
    assert final["max_height"] > 1.5e-6


def test_remeshing_keeps_volume_and_current():
    growth = ridge_growth(-0.3, 10.0)
    growth.run()
    volume = growth.model.domain.measure(boundary=False)
    current = growth.total_current()
    growth.remesh()
    assert growth.model.domain.measure(boundary=False) == pytest.approx(volume, rel=5e-3)
    assert growth.total_current() == pytest.approx(current, rel=5e-3)


def test_sinusoidal_perturbation_grows_at_the_linear_rate():
    wavelength, height, amplitude = 2e-6, 4e-6, 0.01e-6
    k = 2 * np.pi / wavelength
    electrolyte = binary(10.0, 1e-9, 1e-9, model="secondary")
    kappa = electrolyte.bulk_conductivity()
    kinetics = Linear(k / (kappa * electrolyte.f), 0.5, 0.5)  # kappa R_ct K = 1
    electrode = Electrode("li", {"electrode": kinetics}, current_density=-100.0)
    model = CellModel(
        box(wavelength, height, (40, 80), amplitude), electrolyte, [electrode], [Bulk(("bulk",))]
    )
    v_mean = 100.0 * Metal().volume_per_charge
    k_geo = k / np.tanh(k * height)
    sigma = v_mean * k_geo / (1 + kappa * kinetics.charge_transfer_resistance(model.f) * k_geo)
    growth = GrowthSolver(model, GrowthOptions(t_end=0.3 / sigma, max_displacement=2e-9))
    samples = []
    growth.run(callback=lambda g, r: samples.append((r["t"], cosine_amplitude(g, k))))
    t, amp = np.array(samples).T
    rate = np.polyfit(t, np.log(amp), 1)[0]
    assert rate == pytest.approx(sigma, rel=0.03)  # issue asks 10 %; measured 0.2 %


def cosine_amplitude(growth, k: float) -> float:
    _, w, _ = growth.nodal_velocity()
    n = growth.model.space.dofmap.index_map.size_local
    x = growth.model.space.tabulate_dof_coordinates()[:n]
    on = w[:n] > 0
    c = np.cos(k * x[on, 0])
    sums = np.array([(w[:n][on] * x[on, 1] * c).sum(), (w[:n][on] * c * c).sum()])
    total = MPI.COMM_WORLD.allreduce(sums, op=MPI.SUM)
    return total[0] / total[1]
