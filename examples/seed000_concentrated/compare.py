"""Does concentrated transport change seed 000's bare-Li vs bilayer hotspot contrast?

Runs examples/seed000_bilayer's ``bare_li.toml`` and ``bilayer.toml`` (supporting-
electrolyte model, as published there) and two concentrated-electrolyte versions of each,
at several footprint current densities, and prints hotspot index (HI), CV, electrode
potential and the lowest Li+ concentration of every run:

- ``supporting``: the seed cases as they are: i = -kappa grad phi, N = -D grad c + t+ i/F.
- ``conc-const``: model "concentrated" with the same kappa, D, t+ (the seed's constants,
  femli's ``litfsi_dol_dme_park_kim_2026`` set for bare Li) and thermodynamic factor 1:
  the only new term is the diffusion potential of the current.
- ``conc-shaped``: as ``conc-const``, but kappa and D follow the concentration
  dependence of Valoen & Reimers' LiPF6 fits (scaled to the seed's values at 1 M) and the
  thermodynamic factor is theirs (2.13 at 1 M). No c-dependence was measured for the
  seed's ether electrolyte: this is a sensitivity case with a typical carbonate shape,
  not a prediction.

The regions of the bilayer keep their kappa and D at 1 M; the concentrated model scales
the c-dependence to them (femli.physics.concentrated).

Usage: python compare.py [--currents 10 20 40] (mA/cm2 per footprint; serial or mpiexec).
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import tomllib
from pathlib import Path

import dolfinx_solver  # noqa: F401  (loads MPI/PETSc first)
from mpi4py import MPI

from femli.case.checks import parse_case
from femli.expressions import parse
from femli.physics.properties import PROPERTY_VARIABLES, load_set
from femli.pipeline import run_case

SEED = Path(__file__).resolve().parents[1] / "seed000_bilayer"
WRITTEN_FOR = 20.0  # mA/cm2 per footprint: what the seed case files are written for
C0, T = 1000.0, 298.15


def shaped(value: float, text: str) -> str:
    """``value`` times the expression ``text`` over its value at 1 M (an expression in c, T)."""
    at_c0 = float(parse(text, PROPERTY_VARIABLES).evaluate(c=C0, T=T))
    return f"{value!r}*({text})/{at_c0!r}"


def concentrated(data: dict, shape: bool) -> dict:
    """The seed case ``data`` with model "concentrated" and the same kappa, D and t+."""
    data = copy.deepcopy(data)
    e = data["electrolyte"]
    kappa, t_plus = e.pop("conductivity"), e.pop("transference")
    d = next(s["diffusivity"] for s in e["species"] if s["name"] == "Li+")
    props: dict = {
        "conductivity": kappa,
        "diffusivity": d,
        "transference": t_plus,
        "thermodynamic_factor": 1.0,
    }
    if shape:
        valoen = load_set("lipf6_valoen_reimers_2005")
        props["conductivity"] = shaped(kappa, valoen["conductivity"])
        props["diffusivity"] = shaped(d, valoen["diffusivity"])
        props["thermodynamic_factor"] = valoen["thermodynamic_factor"]
    e["model"], e["properties"] = "concentrated", props
    return data


def run(data: dict, current: float, out: Path, source: str) -> dict:
    data = copy.deepcopy(data)
    for electrode in data["electrodes"]:
        electrode["current_density"] *= current / WRITTEN_FOR
    data["output"] = {"renders": False, "fields": False}
    return run_case(parse_case(data, source), out, MPI.COMM_WORLD, SEED)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--currents", nargs="+", type=float, default=[10.0, 20.0, 40.0])
    parser.add_argument("--cases", nargs="+", default=["bare_li", "bilayer"])
    args = parser.parse_args()
    rank0 = MPI.COMM_WORLD.rank == 0
    if rank0:
        header = ("case", "model", "j_fp", "E mV", "HI", "CV", "min c")
        print("{:8s} {:12s} {:>5s} {:>8s} {:>6s} {:>7s} {:>7s}".format(*header))
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.cases:
            base = tomllib.loads((SEED / f"{name}.toml").read_text())
            variants = {
                "supporting": base,
                "conc-const": concentrated(base, shape=False),
                "conc-shaped": concentrated(base, shape=True),
            }
            for j in args.currents:
                for label, data in variants.items():
                    out = Path(tmp) / f"{name}_{label}_{j:g}"
                    m = run(data, j, out, f"{name}.toml ({label})")
                    (e,) = m["electrodes"].values()
                    d = e["deposition_current_density"]
                    if rank0:
                        print(
                            f"{name:8s} {label:12s} {j:5g} {e['potential_V'] * 1e3:8.1f} "
                            f"{d['hotspot_index']:6.4f} {d['coefficient_of_variation']:7.4f} "
                            f"{m['min_concentration_mol_m3']:7.1f}"
                        )


if __name__ == "__main__":
    main()
