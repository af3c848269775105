"""The built-in default case: Li deposition onto a rough Li surface (seed 000, bare Li).

A 10 x 10 um electrolyte box above a Li electrode carrying three semicircular
asperities (radius 0.5 um), seed 000's bare-Li electrolyte (kappa = 7.68e-5 S/cm,
D(Li+) = 2.5e-10 m^2/s, t+ = 0.47, 1 M) as a supporting-electrolyte model,
concentration-dependent Butler-Volmer kinetics (i0 = 0.59 mA/cm^2), galvanostatic
deposition at 20 mA/cm^2 (the paper's high rate), bulk electrolyte on top.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from mpi4py import MPI

from femli.mesh import build_domain
from femli.outputs.report import write_stationary_outputs
from femli.physics.conditions import Bulk, Electrode
from femli.physics.electrolyte import Electrolyte, Species
from femli.physics.kinetics import ButlerVolmer
from femli.physics.model import CellModel
from femli.solve.stationary import StationarySolver
from femli.units import ma_per_cm2, mol_per_litre

log = logging.getLogger(__name__)

GEOMETRY = {
    "dim": 2,
    "width": 10.0,
    "height": 10.0,
    "surface": "asperities",
    "count": 3,
    "asperity_height": 0.5,
    "asperity_width": 1.0,
    "shape": "semicircle",
    "h_electrode": 0.08,
    "h_far": 0.8,
}


def demo_model(domain) -> CellModel:
    """Seed 000 bare-Li physics on ``domain`` (SI units)."""
    c0 = mol_per_litre(1.0)
    electrolyte = Electrolyte(
        (Species("Li+", 1, 2.5e-10, c0), Species("TFSI-", -1, 2.5e-10, c0)),
        model="supporting",
        conductivity=7.68e-3,
        transference=0.47,
    )
    kinetics = ButlerVolmer(ma_per_cm2(0.59), 0.5, 0.5, concentration_dependent=True)
    electrode = Electrode("lithium", {"electrode": kinetics}, current_density=-ma_per_cm2(20.0))
    return CellModel(domain, electrolyte, [electrode], [Bulk(("bulk",))])


def run_demo(output: Path, comm: MPI.Comm = MPI.COMM_WORLD) -> dict:
    """Build, solve and write the default case into ``output``; returns the metrics."""
    timings: dict[str, float] = {}
    start = time.perf_counter()
    domain, summary = build_domain("box", comm, **GEOMETRY)
    timings["mesh"] = time.perf_counter() - start
    log.info("mesh: %d cells, %d vertices", domain.num_cells_global(), domain.num_vertices_global())
    model = demo_model(domain)
    start = time.perf_counter()
    solver = StationarySolver(model)
    timings["setup"] = time.perf_counter() - start
    start = time.perf_counter()
    solver.solve()
    timings["solve"] = time.perf_counter() - start
    log.info("solved in %.2f s (%s)", timings["solve"], solver.newton.stats.as_dict())
    metrics = write_stationary_outputs(solver, Path(output), timings, {"geometry": summary})
    return metrics


def describe(metrics: dict) -> str:
    """One-paragraph summary of the demo metrics for the terminal."""
    e = metrics["electrodes"]["lithium"]
    d = e["deposition_current_density"]
    return (
        f"mean deposition current {d['mean'] / 10:.3g} mA/cm2, max {d['max'] / 10:.3g} mA/cm2, "
        f"hotspot index {d['hotspot_index']:.3f}, CV {d['coefficient_of_variation']:.3f}, "
        f"electrode potential {e['potential_V'] * 1e3:.2f} mV"
    )
