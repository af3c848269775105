"""The critical-current sweep through the Python API (identical results to ``femli sweep``).

    .venv/bin/python examples/sweep/run.py [OUTPUT]
    .venv/bin/mpiexec -n 2 .venv/bin/python examples/sweep/run.py [OUTPUT]   # two case groups

Prints the summary as the Markdown table shown in README.md (current densities in
mA/cm2, electrode potential in mV, minimum Li+ concentration in mol/m3).
"""

from __future__ import annotations

import sys
from pathlib import Path

import dolfinx_solver  # noqa: F401  (first: loads the MPI/PETSc libraries)
from mpi4py import MPI

from femli.study import expand_study, run_study

HERE = Path(__file__).resolve().parent


def markdown(table) -> str:
    """The summary's key columns as Markdown (unit conversions for reading)."""
    lines = [
        "| electrode | i (mA/cm2) | asperity h (um) | hotspot index | CV | max (mA/cm2) "
        "| E (mV) | c_min (mol/m3) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in table.to_dict("records"):
        lines.append(
            f"| {r['electrode']} | {-r['current_density'] / 10:g} | {r['asperity_height']:g} "
            f"| {r['lithium.hotspot_index']:.3f} | {r['lithium.cv']:.3f} "
            f"| {r['lithium.deposition_max_A_m2'] / 10:.2f} | {r['lithium.potential_V'] * 1e3:.1f} "
            f"| {r['min_concentration_mol_m3']:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    study = expand_study(HERE / "study.toml")
    output = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("results") / study.name
    result = run_study(study, output, MPI.COMM_WORLD, ranks_per_case=1)
    if MPI.COMM_WORLD.rank == 0:
        print(markdown(result.table))
        print(result.describe())


if __name__ == "__main__":
    main()
