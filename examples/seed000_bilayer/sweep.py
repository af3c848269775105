"""Current sweep of seed 000 cases: hotspot index and CV against the applied current.

Each case file is run at several footprint current densities (its galvanostatic
``current_density`` scaled from the 20 mA/cm2 it is written for), without fields or
pictures, and one table row per run is printed.

Usage: python sweep.py CASE.toml [CASE.toml ...] [--currents 1 4 10 20]
(paths relative to this folder work from anywhere; mA/cm2 per footprint).
"""

from __future__ import annotations

import argparse
import tempfile
import tomllib
from pathlib import Path

import dolfinx_solver  # noqa: F401  (loads MPI/PETSc first)
from mpi4py import MPI

from femli.case.checks import parse_case
from femli.pipeline import run_case

HERE = Path(__file__).resolve().parent
WRITTEN_FOR = 20.0  # mA/cm2 per footprint: the value every case file here is written for


def run_at(path: Path, current: float, out: Path) -> dict:
    """Metrics of ``path`` run at ``current`` mA/cm2 per footprint."""
    data = tomllib.loads(path.read_text())
    for electrode in data["electrodes"]:
        electrode["current_density"] *= current / WRITTEN_FOR
    data["output"] = {"renders": False, "fields": False}
    return run_case(parse_case(data, str(path)), out, MPI.COMM_WORLD, path.parent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="+", type=Path)
    parser.add_argument("--currents", nargs="+", type=float, default=[1.0, 4.0, 10.0, 20.0])
    args = parser.parse_args()
    rank0 = MPI.COMM_WORLD.rank == 0
    if rank0:
        print(
            f"{'case':34s} {'j_fp':>5s} {'E mV':>8s} {'mean':>6s} {'max':>6s} {'HI':>6s} {'CV':>6s}"
        )
    with tempfile.TemporaryDirectory() as tmp:
        for case in args.cases:
            path = case if case.is_file() else HERE / case
            for j in args.currents:
                m = run_at(path, j, Path(tmp) / f"{path.stem}_{j:g}")
                (e,) = m["electrodes"].values()
                d = e["deposition_current_density"]
                if rank0:
                    print(
                        f"{m['case']:34s} {j:5g} {e['potential_V'] * 1e3:8.1f} "
                        f"{d['mean_A_m2'] / 10:6.2f} {d['max_A_m2'] / 10:6.2f} "
                        f"{d['hotspot_index']:6.3f} {d['coefficient_of_variation']:6.3f}"
                    )
    if rank0:
        print(
            "(j_fp = applied current per 10 um footprint; mean/max over depositing surface; mA/cm2)"
        )


if __name__ == "__main__":
    main()
