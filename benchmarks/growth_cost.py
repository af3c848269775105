"""What a 3D growth step and a 3D remesh cost against a stationary solve on the same mesh
(issue 20's growth targets: a step without remesh <= 2 stationary Newton steps, a remesh
at ~100 k nodes <= 1 stationary solve).

The seed 003 bare Li nucleus array (``refinement`` sets the size), the benchmark's
tertiary problem at -0.05 V on the nuclei (potentiostatic, as seed 003), ``[growth]`` with
stationary electrochemistry. On one mesh, wall times (slowest rank):

1. ``stationary``: ``StationarySolver(...).solve()`` from the uniform bulk state (the
   secondary guess + Newton); its Newton steps and seconds per Newton step;
2. ``step``: ``GrowthSolver._advance`` from the converged start (mesh motion + the
   electrochemistry on the moved shape, warm started), step after step as a run takes
   them until the mesh quality falls below ``min_quality`` (the default, 0.2: where a run
   remeshes) or ``--steps`` (default ``REFRESH_STEPS``, one mesh-motion operator's life);
   the mean is what a step costs in a run, the first step (with the operator's build)
   and the mean of the others are reported too;
3. ``remesh``: ``GrowthSolver.remesh()`` on the grown shape (Gmsh on rank 0 at twice the
   sizes, the split on every rank, the fields carried over, the solve on the new mesh;
   with ``--merge-gap`` the 3D level-set rebuild), with its parts
   (:attr:`GrowthSolver.seconds`): the mesh, the fields, the solve. Issue 20's target
   compares the remesh with a stationary solve; the record gives the ratio of the remesh
   itself (mesh and fields) and of the remesh with the solve on the new mesh.

Run: ``mpiexec -n R python benchmarks/growth_cost.py --refinement 2.8 [--merge-gap 0.0125]``;
prints one JSON record (rank 0).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import dolfinx_solver  # noqa: F401  (before dolfinx/petsc4py)
from mpi4py import MPI

from femli.case.build import make_domain, make_model
from femli.case.checks import parse_case
from femli.growth.motion import REFRESH_STEPS
from femli.runs import kind_of
from femli.solve.stationary import StationaryOptions, StationarySolver

COMM = MPI.COMM_WORLD


def case(refinement: float, merge_gap: float | None) -> dict:
    growth: dict = {"t_end": 1000.0, "max_displacement_um": 0.02}
    if merge_gap is not None:
        growth["merge_gap_um"] = merge_gap
    species = [
        {"name": "Li+", "charge": 1, "diffusivity": 2.5e-10, "concentration": 1000.0},
        {"name": "anion", "charge": -1, "diffusivity": 2.82e-10, "concentration": 1000.0},
    ]
    return {
        "name": "growth_cost",
        "geometry": {"preset": "seed003_bare_li", "refinement": refinement},
        "electrolyte": {"model": "tertiary", "species": species},
        "electrodes": [
            {
                "name": "li",
                "potential": -0.05,
                "kinetics": {"nuclei": {"exchange_current": 5.9, "alpha_a": 0.5, "alpha_c": 0.5}},
            }
        ],
        "solver": {"preset": "iterative"},
        "growth": growth,
        "output": {"renders": False, "fields": False},
    }


def timed(fn) -> tuple[object, float]:
    COMM.barrier()
    start = time.perf_counter()
    result = fn()
    COMM.barrier()
    return result, COMM.allreduce(time.perf_counter() - start, op=MPI.MAX)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refinement", type=float, default=2.8)
    parser.add_argument("--steps", type=int, default=REFRESH_STEPS)
    parser.add_argument("--merge-gap", type=float, default=None, help="um: 3D rebuild")
    args = parser.parse_args()
    config = parse_case(case(args.refinement, args.merge_gap))
    domain, _ = make_domain(config, COMM, Path.cwd())
    record: dict = {"refinement": args.refinement, "ranks": COMM.size}
    record["nodes"] = domain.num_vertices_global()

    model = make_model(config, domain)
    stationary = StationarySolver(model, StationaryOptions(preset="iterative"))
    _, seconds = timed(stationary.solve)
    newton = stationary.newton.stats
    steps = max(newton.newton_iterations, 1)
    record["stationary"] = {
        "seconds": round(seconds, 3),
        "newton_iterations": newton.newton_iterations,
        "seconds_per_newton_step": round(COMM.allreduce(newton.seconds, op=MPI.MAX) / steps, 3),
    }
    del stationary, model

    model = make_model(config, make_domain(config, COMM, Path.cwd())[0])
    growth = kind_of(config).make_solver(config, model)
    growth.solve_state()
    times = []
    while len(times) < args.steps and growth.quality >= growth.options.min_quality:
        dt = 0.5 * growth.options.max_displacement / max(growth.max_speed(), 1e-300)
        _, seconds = timed(lambda dt=dt: growth._advance(dt))
        times.append(seconds)
    record["step"] = {
        "seconds": [round(t, 3) for t in times],
        "mean": sum(times) / len(times),
        "first": times[0],
        "mean_after_first": sum(times[1:]) / max(len(times) - 1, 1),
        "quality": round(growth.quality, 3),
    }
    before = dict(growth.seconds)
    _, seconds = timed(growth.remesh)
    parts = {k: COMM.allreduce(growth.seconds[k] - before[k], op=MPI.MAX) for k in before}
    record["remesh"] = {
        "seconds": round(seconds, 3),
        "nodes": growth.model.domain.num_vertices_global(),
        "mesh_seconds": round(parts["remesh_mesh"], 3),
        "fields_seconds": round(parts["new_mesh_fields"], 3),
        "solve_seconds": round(parts["new_mesh_solve"], 3),
    }
    per_step = record["stationary"]["seconds_per_newton_step"]
    record["step_over_newton_step"] = round(record["step"]["mean"] / per_step, 2)
    record["remesh_over_stationary"] = round(seconds / record["stationary"]["seconds"], 2)
    meshing = parts["remesh_mesh"] + parts["new_mesh_fields"]
    record["remesh_mesh_over_stationary"] = round(meshing / record["stationary"]["seconds"], 2)
    if COMM.rank == 0:
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
