"""``femli demo``: the built-in default case and reduced seed comparisons.

The built-in case is Li deposition onto a rough Li surface (seed 000, bare Li):
a 10 x 10 um electrolyte box above a Li electrode carrying three semicircular
asperities (radius 0.5 um), seed 000's bare-Li electrolyte (kappa = 7.68e-5 S/cm,
D(Li+) = 2.5e-10 m^2/s, t+ = 0.47, 1 M) as a supporting-electrolyte model,
concentration-dependent Butler-Volmer kinetics (i0 = 0.59 mA/cm^2), galvanostatic
deposition at 20 mA/cm^2 (the paper's high rate), bulk electrolyte on top.
It is an ordinary case file (:data:`BUILT_IN`), run by :func:`femli.pipeline.run_case`.

The demo also runs the reduced versions of the two seed comparisons (seed 000: bare Li
vs bilayer; seed 003: bare Li vs SCP@Li nuclei) and writes ``femli compare`` tables and
figures for both. Every case file the demo runs ships with the package
(``femli/demo_cases/``, so an installed femli needs no checkout); the seed cases are
copies of the repository's ``examples/<folder>/*_reduced.toml`` (a test keeps them equal).
"""

from __future__ import annotations

from pathlib import Path

from mpi4py import MPI

from femli.case.checks import load_case
from femli.outputs.compare import compare
from femli.pipeline import run_case

__all__ = ["BUILT_IN", "CASES", "COMPARISONS", "run_comparisons", "run_demo"]

#: The demo's case files (package data).
CASES = Path(__file__).resolve().parent / "demo_cases"

#: The built-in rough-Li case.
BUILT_IN = CASES / "rough_li.toml"

#: (comparison name, case A, case B) relative to :data:`CASES` (and to ``examples/``).
COMPARISONS = (
    ("seed000", "seed000_bilayer/bare_li_reduced.toml", "seed000_bilayer/bilayer_reduced.toml"),
    ("seed003", "seed003_nuclei/bare_li_reduced.toml", "seed003_nuclei/scp_li_reduced.toml"),
)


def run_demo(output: Path, comm: MPI.Comm = MPI.COMM_WORLD) -> dict:
    """Run :data:`BUILT_IN` into ``output``; returns the metrics."""
    return run_case(load_case(BUILT_IN), Path(output), comm, BUILT_IN.parent)


def run_comparisons(output: Path, comm: MPI.Comm = MPI.COMM_WORLD) -> list[Path]:
    """Run the reduced seed comparisons into ``output``; returns the comparison folders."""
    folders = []
    for name, first, second in COMPARISONS:
        results = []
        for case in (CASES / first, CASES / second):
            folder = Path(output) / f"{name}_{case.stem.removesuffix('_reduced')}"
            run_case(load_case(case), folder, comm, case.parent)
            results.append(folder)
        target = Path(output) / f"compare_{name}"
        if comm.rank == 0:
            compare(results[0], results[1], target)
        folders.append(target)
    return folders
