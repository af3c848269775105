"""Volume-exact growth steps: a hemispherical nucleus grown at a constant total current
follows its closed-form radius law and deposits Faraday's volume at the default step.

Closed form: a hemisphere (3D) of radius r growing at total current I deposits
dV/dt = I M / (z F rho) = I vpc, V = (2/3) pi r^3, so r^3 = r0^3 + 3 I vpc t / (2 pi);
a half-disc (2D, per metre of depth I') has V = pi r^2 / 2, so r^2 = r0^2 + 2 I' vpc t / pi.
The current is held over the nucleus's initial area (galvanostatic, fixed reference
area), so I is constant while the deposit grows. The first-order step ``d = v dt n``
sweeps the volume plus a curvature excess of order d / r: +1.6 % (3D) and +0.8 % (2D)
on a 1 um hemisphere at 20 nm steps; the volume-exact step
(:mod:`femli.growth.conserve`) leaves the time integration only.
"""

from __future__ import annotations

import numpy as np
import pytest
from mpi4py import MPI

from femli.growth.solver import GrowthOptions, GrowthSolver, Metal
from femli.mesh import build_domain
from femli.physics.conditions import Bulk, Electrode
from femli.physics.electrolyte import binary
from femli.physics.kinetics import ButlerVolmer
from femli.physics.model import CellModel

R0 = 0.5  # um: a 1 um (diameter) hemisphere
CURRENT_DENSITY = 100.0  # A/m2 over the initial nucleus


def hemisphere(dim: int, t_end: float) -> tuple[GrowthSolver, float]:
    """One nucleus of radius R0 in a box (coarse), held at a constant total current.
    Returns the solver and the total current (A, or A/m in 2D)."""
    sizes = {"h_nucleus": 0.08, "h_substrate": 0.2, "h_far": 0.5} if dim == 3 else {}
    if dim == 2:
        sizes = {"h_nucleus": 0.04, "h_substrate": 0.1, "h_far": 0.4}
    domain, _ = build_domain(
        "nucleus_array",
        MPI.COMM_WORLD,
        dim=dim,
        width=2.4,
        depth=2.4,
        height=2.0,
        diameter=2 * R0,
        count=1,
        placement="lattice",
        **sizes,
    )
    r0 = R0 * 1e-6
    area = 2 * np.pi * r0**2 if dim == 3 else np.pi * r0
    electrode = Electrode(
        "li",
        {"nuclei": ButlerVolmer(30.0, 1.5, 0.5)},
        current_density=-CURRENT_DENSITY,
        reference_area=area,
    )
    model = CellModel(
        domain, binary(1000.0, 5e-10, 5e-10, model="secondary"), [electrode], [Bulk(("bulk",))]
    )
    options = GrowthOptions(t_end=t_end, min_quality=0.05)  # the default 20 nm step
    return GrowthSolver(model, options), CURRENT_DENSITY * area


@pytest.mark.mpi
@pytest.mark.parametrize("dim", [3, 2])
def test_hemisphere_at_constant_current_follows_faraday_and_its_radius_law(dim):
    growth, current = hemisphere(dim, 40.0)
    final = growth.run()[-1]
    t, vpc, r0 = final["t"], Metal().volume_per_charge, R0 * 1e-6
    faraday = current * vpc * t
    assert final["t"] == pytest.approx(40.0)
    assert final["remeshes"] == 0
    assert -final["charge"] * vpc == pytest.approx(faraday, rel=1e-6)  # the current is held
    assert final["deposited_volume"] == pytest.approx(faraday, rel=5e-3)
    if dim == 3:
        radius = (r0**3 + 3 * faraday / (2 * np.pi)) ** (1 / 3)
    else:
        radius = (r0**2 + 2 * faraday / np.pi) ** 0.5
    assert radius - r0 > 0.1e-6  # grew by many steps
    assert final["max_height"] == pytest.approx(radius, rel=5e-3)
