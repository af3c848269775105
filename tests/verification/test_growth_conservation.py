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

import dolfinx
import numpy as np
import pytest
from mpi4py import MPI

from femli.growth.solver import GrowthOptions, GrowthSolver, Metal
from femli.mesh import build_domain, from_mesh
from femli.physics.conditions import Bulk, Electrode
from femli.physics.electrolyte import binary
from femli.physics.kinetics import ButlerVolmer
from femli.physics.model import CellModel
from femli.units import deposition_velocity, ma_per_cm2

R0 = 0.5  # um: a 1 um (diameter) hemisphere
CURRENT_DENSITY = 100.0  # A/m2 over the initial nucleus


def hemisphere(
    dim: int, t_end: float, density: float = CURRENT_DENSITY
) -> tuple[GrowthSolver, float]:
    """One nucleus of radius R0 in a box (coarse), held at a constant total current
    (``density`` A/m2 over its initial area: deposition > 0, stripping < 0). Returns the
    solver and the total current (A, or A/m in 2D; deposition positive)."""
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
        current_density=-density,
        reference_area=area,
    )
    model = CellModel(
        domain, binary(1000.0, 5e-10, 5e-10, model="secondary"), [electrode], [Bulk(("bulk",))]
    )
    options = GrowthOptions(t_end=t_end, min_quality=0.05)  # the default 20 nm step
    return GrowthSolver(model, options), density * area


@pytest.mark.mpi
@pytest.mark.parametrize(
    ("dim", "density", "t_end"),
    [
        pytest.param(3, CURRENT_DENSITY, 40.0, id="3d"),
        pytest.param(2, CURRENT_DENSITY, 40.0, id="2d"),
        pytest.param(3, -CURRENT_DENSITY, 6.0, id="3d_stripping"),  # 0.5 -> 0.40 um
        pytest.param(2, -CURRENT_DENSITY, 6.0, id="2d_stripping"),
    ],
)
def test_hemisphere_at_constant_current_follows_faraday_and_its_radius_law(dim, density, t_end):
    """Measured: volume within 1e-6 (3D: -9e-7 deposition, -4e-6 stripping), radius
    within 0.3 % (the chords of the coarse surface)."""
    growth, current = hemisphere(dim, t_end, density)
    final = growth.run()[-1]
    t, vpc, r0 = final["t"], Metal().volume_per_charge, R0 * 1e-6
    faraday = current * vpc * t
    assert final["t"] == pytest.approx(t_end)
    assert final["remeshes"] == 0
    assert -final["charge"] * vpc == pytest.approx(faraday, rel=1e-6)  # the current is held
    assert final["deposited_volume"] == pytest.approx(faraday, rel=5e-3)
    if dim == 3:
        radius = (r0**3 + 3 * faraday / (2 * np.pi)) ** (1 / 3)
    else:
        radius = (r0**2 + 2 * faraday / np.pi) ** 0.5
    assert abs(radius - r0) > 0.08e-6  # moved by many steps
    assert final["max_height"] == pytest.approx(radius, rel=5e-3)


def test_planar_3d_electrode_grows_at_the_faraday_velocity():
    """Planar growth at uniform current in 3D: thickness = i M t / (F rho) exactly
    (1 mA/cm2 -> 4.85 um/h)."""
    i = ma_per_cm2(10.0)
    mesh = dolfinx.mesh.create_box(
        MPI.COMM_WORLD,
        [[0, 0, 0], [4e-6, 4e-6, 5e-6]],
        [3, 3, 4],
        dolfinx.mesh.CellType.tetrahedron,
    )
    walls = {
        f"wall_{a}{k}": (lambda x, a=a, v=v: np.isclose(x[a], v))
        for a in (0, 1)
        for k, v in enumerate((0.0, 4e-6))
    }
    domain = from_mesh(
        mesh,
        {"bulk": lambda x: np.isclose(x[2], 5e-6), "electrode": lambda x: np.isclose(x[2], 0.0)}
        | walls,
    )
    electrode = Electrode("li", {"electrode": ButlerVolmer(30.0, 1.5, 0.5)}, current_density=-i)
    model = CellModel(
        domain, binary(1000.0, 5e-10, 5e-10, model="secondary"), [electrode], [Bulk(("bulk",))]
    )
    final = GrowthSolver(model, GrowthOptions(t_end=60.0, max_displacement=0.1e-6)).run()[-1]
    assert deposition_velocity(ma_per_cm2(1.0)) * 3600 == pytest.approx(4.85e-6, abs=0.005e-6)
    assert final["mean_height"] == pytest.approx(deposition_velocity(i) * 60.0, rel=1e-9)
    assert final["roughness_rms"] < 1e-12
    assert final["deposited_volume"] == pytest.approx(
        -final["charge"] * Metal().volume_per_charge, rel=1e-9
    )
