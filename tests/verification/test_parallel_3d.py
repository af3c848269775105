"""Serial and parallel solves of a 3D nucleus array agree within solver tolerance.

Under ``mpiexec -n 2`` each rank also solves the same case on its own
(``COMM_SELF``) and the two answers are compared; run serially, both sides are the
same communicator size and the test checks determinism.
"""

from __future__ import annotations

import pytest
from mpi4py import MPI
from shared_cases import NUCLEI_3D

from femli.mesh import build_domain
from femli.physics.conditions import Bulk, Electrode
from femli.physics.electrolyte import binary
from femli.physics.kinetics import ButlerVolmer, Tafel
from femli.physics.model import CellModel
from femli.solve.stationary import StationarySolver

GEOMETRY = NUCLEI_3D


def solve(comm: MPI.Comm) -> tuple[float, float, int]:
    domain, _ = build_domain("nucleus_array", comm, **GEOMETRY)
    electrolyte = binary(1000.0, 5e-10, 5e-10)  # seed 003: D = 0.5e-9 m2/s, 1 M
    electrode = Electrode(
        "anode",
        {
            "nuclei": ButlerVolmer(30.0, 1.5, 0.5, concentration_dependent=True),
            "substrate": Tafel(3.0, 0.5),
        },
        current_density=-50.0,
    )
    model = CellModel(domain, electrolyte, [electrode], [Bulk(("bulk",))])
    solver = StationarySolver(model)
    solver.solve()
    nuclei = solver.currents.total(electrode)
    return model.potentials["anode"].value.item(), nuclei, domain.num_cells_global()


@pytest.mark.mpi
def test_parallel_matches_serial_3d():
    e_par, i_par, cells_par = solve(MPI.COMM_WORLD)
    e_ser, i_ser, cells_ser = solve(MPI.COMM_SELF)
    assert cells_par == cells_ser
    assert e_par == pytest.approx(e_ser, rel=1e-8, abs=1e-10)
    assert i_par == pytest.approx(i_ser, rel=1e-8)
