"""Seed 003 SCP@Li growth (2D): transient vs quasi-stationary electrochemistry.

    .venv/bin/python examples/seed003_growth/transient/compare.py -o DIR [--t-end 10]
        [--potential -0.02]
    .venv/bin/mpiexec -n 2 .venv/bin/python examples/seed003_growth/transient/compare.py ...

Runs ``scp_li_2d_transient.toml`` to ``--t-end`` s twice through the ``femli run``
pipeline (:func:`femli.pipeline.run_case`), with ``[growth] electrochemistry = "stationary"``
(steady state on every shape) and ``"transient"`` (Li+ carried in time on the moving
mesh from the uniform bulk state at t = 0), optionally at another electrode potential
(V). Writes ``DIR/stationary/``, ``DIR/transient/`` (the usual results; no pictures or
fields), ``DIR/tips.csv`` (both series on the transient run's times: the Li+
concentration at the highest point of the nuclei, ``c_tip``, its minimum on the nuclei,
``c_min``, in mol/m3, the current in A/m and the largest height in um; the stationary
series interpolated linearly) and ``DIR/tips.png``, and prints a table. Collective;
rank 0 writes the shared files.
"""

from __future__ import annotations

import argparse
import csv
import io
import time
import tomllib
from pathlib import Path

import dolfinx_solver  # noqa: F401  (first: loads the MPI/PETSc libraries)
import numpy as np
from mpi4py import MPI

from femli.case.checks import parse_case
from femli.outputs.files import atomic_write_bytes
from femli.pipeline import run_case

CASE = Path(__file__).resolve().parent / "scp_li_2d_transient.toml"
MODES = ("stationary", "transient")
SERIES = (("c_tip", "c_tip_mol_m3"), ("c_min", "c_min_mol_m3"), ("current", "current_A"))


def case(mode: str, t_end: float, potential: float | None) -> dict:
    """The example case in one mode, shortened to ``t_end`` s, without pictures."""
    data = tomllib.loads(CASE.read_text())
    growth = data["growth"]
    growth.update(electrochemistry=mode, t_end=t_end, snapshots=[0.0, t_end])
    if mode == "stationary":
        growth.pop("tolerance", None)
    if potential is not None:
        data["electrodes"][0]["potential"] = potential
    data["output"] = {"renders": False, "fields": False}
    return data


def read_series(folder: Path) -> dict[str, np.ndarray]:
    """growth_series.csv as arrays (SI units)."""
    with open(folder / "growth_series.csv") as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}


def table(runs: dict[str, dict[str, np.ndarray]]) -> tuple[str, list[str]]:
    """CSV text on the transient times, and printable lines at a few of them."""
    tr, st = runs["transient"], runs["stationary"]
    t = tr["t_s"]
    columns = {"t_s": t}
    for key, column in SERIES:
        columns[f"{key}_transient"] = tr[column]
        columns[f"{key}_stationary"] = np.interp(t, st["t_s"], st[column])
    columns["max_height_um_transient"] = tr["max_height_m"] * 1e6
    columns["max_height_um_stationary"] = np.interp(t, st["t_s"], st["max_height_m"]) * 1e6
    buf = io.StringIO()
    buf.write(",".join(columns) + "\n")
    for row in zip(*columns.values(), strict=True):
        buf.write(",".join(f"{v:.10g}" for v in row) + "\n")
    lines = ["t (s)      c_tip tr / st (mol/m3)   c_min tr / st (mol/m3)   current tr / st (A/m)"]
    for target in (0.0, 1e-3, 1e-2, 0.1, 1.0, t[-1]):
        k = int(np.argmin(np.abs(t - target)))
        c = {
            key: (columns[f"{key}_transient"][k], columns[f"{key}_stationary"][k])
            for key, _ in SERIES
        }
        lines.append(
            f"{t[k]:<10.4g} {c['c_tip'][0]:9.3f} / {c['c_tip'][1]:9.3f}   "
            f"{c['c_min'][0]:9.3f} / {c['c_min'][1]:9.3f}   "
            f"{c['current'][0]:.5g} / {c['current'][1]:.5g}"
        )
    return buf.getvalue(), lines


def plot(runs: dict[str, dict[str, np.ndarray]], path: Path, c0: float) -> None:
    """Depletion at the tip (c0 - c_tip) and the current against time, both modes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), dpi=110)
    for mode, style in zip(MODES, ("-s", "-o"), strict=True):
        r = runs[mode]
        t = np.maximum(r["t_s"], 1e-5)
        axes[0].semilogx(t, c0 - r["c_tip_mol_m3"], style, ms=3, label=mode)
        axes[1].semilogx(t, -r["current_A"] * 1e3, style, ms=3, label=mode)
    axes[0].set_ylabel("c0 - Li+ at the highest nucleus tip (mol/m3)")
    axes[1].set_ylabel("deposition current (mA/m per unit depth)")
    for ax in axes:
        ax.set_xlabel("t (s) (t = 0 drawn at 1e-5 s)")
        ax.legend()
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=Path("results/seed003_transient"))
    parser.add_argument("--t-end", type=float, default=10.0, help="s")
    parser.add_argument("--potential", type=float, default=None, help="V (default: case)")
    args = parser.parse_args(argv)
    comm = MPI.COMM_WORLD
    runs, seconds = {}, {}
    for mode in MODES:
        start = time.perf_counter()
        config = parse_case(case(mode, args.t_end, args.potential))
        metrics = run_case(config, args.output / mode, comm)
        seconds[mode] = (time.perf_counter() - start, metrics["growth"]["steps"])
    comm.barrier()
    if comm.rank == 0:
        runs = {mode: read_series(args.output / mode) for mode in MODES}
        text, lines = table(runs)
        atomic_write_bytes(args.output / "tips.csv", text.encode())
        c0 = tomllib.loads(CASE.read_text())["electrolyte"]["species"][0]["concentration"]
        plot(runs, args.output / "tips.png", c0)
        for mode, (wall, steps) in seconds.items():
            print(f"{mode}: {steps} steps, {wall:.1f} s wall clock")
        print("\n".join(lines))
    comm.barrier()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
