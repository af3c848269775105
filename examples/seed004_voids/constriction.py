"""Ohmic resistance of a Li | solid-electrolyte interface vs contact fraction (seed 004), and
the paper's square law S_active / S_initial = (R / R')^2.

Every row is the case file ``contact_li_islands.toml`` (primary distribution in the solid
electrolyte alone, equipotential metal on "contact", insulating voids, counter side on top,
mirror walls) with the geometry overridden: ``islands`` mode below 50 % contact, ``voids``
mode above; lognormal features (mean 1 um, CV 0.3 unless stated) placed at random (two
seeds) or one feature centred per box (``regular``: a periodic array). Solved with quadratic
elements (the contact-edge singularity makes linear ones ~5 % low, see
tests/verification/test_constriction.py).

Reported per row: R / R0 in the 10 um box (R0 = H / (sigma A), full contact) and the access
length l = sigma A (R - R0): the extra electrolyte thickness the contact loss is worth. It
is set by the interface alone (the constriction field decays within a feature spacing),
so for a cell of electrolyte thickness H_cell, R / R0 = 1 + l / H_cell, while the square law
says R / R0 = f^-1/2. For one circular contact per square cell (pitch p, diameter d) the
analytic value is l = psi(sqrt f) p^2 / (2 d) (Roess's psi, equal-area flux tube).

    .venv/bin/python examples/seed004_voids/constriction.py [--quick] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import math
import time
import tomllib
from pathlib import Path

from mpi4py import MPI

from femli.case import schema as cfg
from femli.case.build import bulk, electrode, electrolyte, make_domain
from femli.case.checks import parse_case
from femli.physics.model import CellModel
from femli.solve.stationary import StationarySolver

HERE = Path(__file__).resolve().parent
BASE = HERE / "contact_li_islands.toml"

#: (contact fraction, mode, placement, seed, size CV)
ROWS = [
    (0.074, "islands", "regular", 0, 0.3),
    (0.074, "islands", "random", 1, 0.3),
    (0.074, "islands", "random", 2, 0.3),
    (0.074, "islands", "random", 1, 1.0),
    (0.15, "islands", "regular", 0, 0.3),
    (0.15, "islands", "random", 1, 0.3),
    (0.15, "islands", "random", 2, 0.3),
    (0.3, "islands", "regular", 0, 0.3),
    (0.3, "islands", "random", 1, 0.3),
    (0.3, "islands", "random", 2, 0.3),
    (0.6, "voids", "regular", 0, 0.3),
    (0.6, "voids", "random", 1, 0.3),
    (0.6, "voids", "random", 2, 0.3),
    (0.8, "voids", "random", 1, 0.3),
    (0.8, "voids", "random", 2, 0.3),
    (0.953, "voids", "random", 1, 0.3),
    (0.953, "voids", "random", 2, 0.3),
]
QUICK = [ROWS[0], ROWS[1], ROWS[15]]


def psi(eps: float) -> float:
    """Roess's constriction factor of an isothermal circular contact in a flux tube."""
    return (
        1
        - 1.40925 * eps
        + 0.29591 * eps**3
        + 0.05254 * eps**5
        + 0.02105 * eps**7
        + (0.01107 * eps**9)
    )


def case(fraction: float, mode: str, placement: str, seed: int, cv: float) -> cfg.CaseConfig:
    """contact_li_islands.toml with the interface replaced."""
    data = tomllib.loads(BASE.read_text())
    geometry = {
        "kind": "void_contact",
        "dim": 3,
        "width": 10.0,
        "depth": 10.0,
        "li_thickness": 2.0,
        "se_thickness": 10.0,
        "mode": mode,
        "contact_fraction": fraction,
        "void_size": 1.0,
        "void_size_cv": cv,
        "seed": seed,
        "region": "electrolyte",
        "h_far": 2.0,
    }
    if placement == "regular":
        geometry |= {"count": 1, "placement": "regular"}
        size = math.sqrt(4 * (fraction if mode == "islands" else 1 - fraction) * 100 / math.pi)
        geometry |= {"void_size": size, "h_interface": min(0.5, size / 4)}
    geometry["h_edge"] = 0.05 * min(geometry["void_size"], 1.0)
    data["geometry"] = geometry
    return parse_case(data, f"constriction f={fraction}")


def resistance(config: cfg.CaseConfig, degree: int = 2, comm=MPI.COMM_WORLD) -> dict:
    """Solve one case; R (ohm), R/R0, access length (um) and the interface statistics."""
    clock = time.perf_counter()
    domain, summary = make_domain(config, comm, HERE)
    (e,) = config.electrodes
    working = electrode(e)
    model = CellModel(
        domain, electrolyte(config), [working], [bulk(b) for b in config.bulk], degree
    )
    solver = StationarySolver(model)
    solver.solve()
    g, feats = config.geometry.params, summary["features"]
    area = g["width"] * g["depth"] * 1e-12
    sigma = config.electrolyte.conductivity
    r = e.potential / solver.currents.total(working)
    r0 = g["se_thickness"] * 1e-6 / (sigma * area)
    sizes = feats["void_sizes"]
    n = len(sizes)
    mean = sum(sizes) / n
    spacing = math.sqrt(g["width"] * g["depth"] / n)
    ell = sigma * area * (r - r0) * 1e6
    out = {
        "contact_fraction": feats["contact_fraction"],
        "mode": g["mode"],
        "placement": g.get("placement", "random"),
        "seed": g["seed"],
        "size_cv": g["void_size_cv"],
        "features": n,
        "mean_size_um": mean,
        "spacing_um": spacing,
        "R_ohm": r,
        "R_over_R0": r / r0,
        "access_length_um": ell,
        "access_over_size": ell / mean,
        "access_over_spacing": ell / spacing,
        "square_law_R_over_R0": feats["contact_fraction"] ** -0.5,
        "dofs": model.num_dofs(),
        "seconds": time.perf_counter() - clock,
    }
    if g["mode"] == "islands" and n == 1:  # one circular contact per cell: analytic
        f = feats["contact_fraction"]
        d = mean
        out["access_length_analytic_um"] = psi(math.sqrt(f)) * (g["width"] * g["depth"]) / (2 * d)
    return out


def size_for_square_law(row: dict) -> float:
    """Feature size / electrolyte thickness at which 1 + l/H equals the square law."""
    return (row["square_law_R_over_R0"] - 1) / row["access_over_size"]


def table(rows: list[dict]) -> str:
    """Markdown table of :func:`resistance` rows."""
    lines = [
        "| contact | mode | placement (CV) | n | mean size um | R/R0 (H = 10 um) |"
        " l um | l / size | l / spacing | square law f^-1/2 | size/H for the square law |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ana = r.get("access_length_analytic_um")
        ell = f"{r['access_length_um']:.3f}" + (f" ({ana:.3f} analytic)" if ana else "")
        place = r["placement"] + (f" s{r['seed']}" if r["placement"] == "random" else "")
        lines.append(
            f"| {r['contact_fraction']:.3f} | {r['mode']} | {place} ({r['size_cv']}) |"
            f" {r['features']} | {r['mean_size_um']:.2f} | {r['R_over_R0']:.4f} | {ell} |"
            f" {r['access_over_size']:.3f} | {r['access_over_spacing']:.3f} |"
            f" {r['square_law_R_over_R0']:.3f} | {size_for_square_law(r):.3g} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="three rows only")
    parser.add_argument("--rows", help="comma-separated row indices of ROWS to run")
    parser.add_argument("--degree", type=int, default=2, help="element degree (default 2)")
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    args = parser.parse_args()
    rows = []
    specs = QUICK if args.quick else ROWS
    if args.rows:
        specs = [ROWS[int(k)] for k in args.rows.split(",")]
    for spec in specs:
        rows.append(resistance(case(*spec), args.degree))
        if MPI.COMM_WORLD.rank == 0:
            if args.json:  # after every row: a long study can be stopped and still read
                args.json.write_text(json.dumps(rows, indent=2))
            r = rows[-1]
            print(
                f"f={r['contact_fraction']:.3f} {r['mode']} {r['placement']} n={r['features']}"
                f" R/R0={r['R_over_R0']:.4f} l/size={r['access_over_size']:.3f}"
                f" ({r['dofs']} dofs, {r['seconds']:.1f} s)",
                flush=True,
            )
    if MPI.COMM_WORLD.rank == 0:
        print(table(rows))


if __name__ == "__main__":
    main()
