"""Where MUMPS stops beating the iterative preset: tertiary stationary solves, 2D and 3D, serial.

Measures the whole ``StationarySolver.solve`` (secondary initial guess + Newton) with the
``direct`` and ``iterative`` presets on the seed 003 nucleus array at growing refinement,
best of ``--repeats`` by CPU time (the machine may be shared; wall time is reported too),
and writes ``benchmarks/crossover.json``. The crossovers set ``DIRECT_DOF_LIMIT`` and
``DIRECT_DOF_LIMIT_2D`` in ``femli/solve/options.py``.

    .venv/bin/python benchmarks/crossover.py            # ~10 minutes
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dolfinx_solver  # noqa: F401  (before dolfinx/petsc4py)
import problem
from mpi4py import MPI

from femli.outputs.files import atomic_write_bytes
from femli.solve.stationary import StationaryOptions, StationarySolver
from femli.solve.stats import peak_memory, reset_peak_memory

REFINEMENTS = {2: [4, 8, 12, 16, 24, 32], 3: [1.0, 1.5, 2.0, 2.5, 3.0]}


def measure(dom, preset: str, repeats: int) -> dict:
    best = None
    for _ in range(repeats):
        reset_peak_memory()
        model, electrode = problem.tertiary_model(dom)
        solver = StationarySolver(model, StationaryOptions(preset=preset))
        wall, cpu = time.perf_counter(), time.process_time()
        solver.solve()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        run = {
            "cpu_seconds": round(cpu, 3),
            "wall_seconds": round(wall, 3),
            "newton": solver.newton.stats.newton_iterations,
            "krylov": solver.newton.stats.krylov_iterations,
            "current": solver.currents.mean_density(electrode),
            **peak_memory(),
        }
        if best is None or run["cpu_seconds"] < best["cpu_seconds"]:
            best = run
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--dims", default="2,3")
    parser.add_argument("--output", default=str(Path(__file__).with_name("crossover.json")))
    args = parser.parse_args()
    rows = []
    for dim in map(int, args.dims.split(",")):
        for refinement in REFINEMENTS[dim]:
            dom = problem.domain(refinement, MPI.COMM_SELF, dim)
            model, _ = problem.tertiary_model(dom)
            row = {"dim": dim, "refinement": refinement, "dofs": model.num_dofs()}
            for preset in ("direct", "iterative"):
                row[preset] = measure(dom, preset, args.repeats)
            row["direct_over_iterative_cpu"] = round(
                row["direct"]["cpu_seconds"] / row["iterative"]["cpu_seconds"], 3
            )
            print(json.dumps(row), flush=True)
            rows.append(row)
    atomic_write_bytes(args.output, (json.dumps(rows, indent=1) + "\n").encode())


if __name__ == "__main__":
    main()
