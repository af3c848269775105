"""Primary current distribution on a semicircular ridge on a flat electrode (2D).

A half-cylinder of radius r on an equipotential plane in a uniform far field E0 has
the potential phi = E0 y (1 - r^2 / ((x - xc)^2 + y^2)) and a surface field
2 E0 sin(theta): the tip current density is twice the far field. The exact potential
is imposed on the top and side walls so the only error is the discretisation's.
"""

from __future__ import annotations

import numpy as np
from mpi4py import MPI

from femli.mesh import build_domain
from femli.physics.conditions import Bulk, Electrode
from femli.physics.electrolyte import binary
from femli.physics.kinetics import ButlerVolmer
from femli.physics.model import CellModel
from femli.solve.stationary import StationarySolver

R_UM, WIDTH_UM, E0 = 0.5, 10.0, 100.0  # ridge radius, box width (um), far field (V/m)


def exact_potential(x: np.ndarray) -> np.ndarray:
    xc = 0.5 * WIDTH_UM * 1e-6
    r = R_UM * 1e-6
    rho2 = (x[0] - xc) ** 2 + x[1] ** 2
    return E0 * x[1] * (1.0 - r**2 / np.maximum(rho2, r**2))


def tip_ratio(refinement: float) -> float:
    domain, _ = build_domain(
        "box",
        MPI.COMM_WORLD,
        surface="asperities",
        count=1,
        asperity_height=R_UM,
        asperity_width=2 * R_UM,
        h_electrode=0.25,
        h_far=1.0,
        refinement=refinement,
    )
    electrolyte = binary(1000.0, 1e-9, 1e-9, model="primary")
    electrode = Electrode("li", {"electrode": ButlerVolmer(1.0)}, potential=0.0)
    walls = Bulk(("bulk", "wall_left", "wall_right"), potential=exact_potential)
    model = CellModel(domain, electrolyte, [electrode], [walls])
    solver = StationarySolver(model)
    solver.solve()
    surface = solver.currents.nodal(electrode)
    tip_point = np.array([0.5 * WIDTH_UM, R_UM]) * 1e-6
    distance = np.linalg.norm(surface.coords[:, :2] - tip_point, axis=1)
    k = int(np.argmin(distance)) if distance.size else None
    local = (distance[k], -surface.values[k]) if k is not None else (np.inf, 0.0)
    tip_current = min(MPI.COMM_WORLD.allgather(local))[1]
    kappa = electrolyte.bulk_conductivity()
    return tip_current / (kappa * E0)


def test_tip_current_is_twice_the_far_field_and_converges():
    ratios = [tip_ratio(r) for r in (1.0, 2.0, 8.0)]
    errors = [abs(q - 2.0) / 2.0 for q in ratios]
    assert errors[-1] < 5e-4, ratios
    assert errors[0] > errors[1] > errors[2], errors
    rate = np.log2(errors[0] / errors[2]) / 3.0
    assert rate > 0.8, (errors, rate)  # nodal flux at the tip: first order at least
