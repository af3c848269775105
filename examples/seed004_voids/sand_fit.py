"""Sand fit of a seed-004 depletion sweep: recover D_eff from t0 vs stripping current.

Reads ``summary.csv`` of ``femli sweep sand_study.toml`` (or of ``sand_interlayer_study.toml``)
and, per anode, fits the paper's line 1/sqrt(t0) = 2 I / (c0 F sqrt(pi D_eff)) (eq. 1):

- ``t0`` is Sand's depletion time: the run stops when the interfacial Li falls below
  ``eps c0`` (``time.stop_when_depleted``), which is t0 (1 - eps)^2 for Sand's profile
  c = c0 (1 - sqrt(t / t0)); the fit divides that factor out.
- D_eff from the slope of a least-squares line through the origin (Sand's form) and of a
  free line (slope + intercept, as a plot of measured points would be fitted).
- the critical stripping capacity Q = I t0 at 0.5 mA/cm2 (mAh/cm2), simulated and from
  Sand's formula with the fitted D_eff.

    .venv/bin/python examples/seed004_voids/sand_fit.py results/seed004/sand [--json]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import tomllib
from pathlib import Path

FARADAY = 96485.33212  # C/mol
HERE = Path(__file__).resolve().parent
#: Critical stripping capacities measured at 0.5 mA/cm2, 5 MPa (paper, line 113), mAh/cm2.
MEASURED = {"Li": 6.60, "LNT10F": 12.96}
#: D_eff the paper reports (line 111), m2/s.
PAPER_D = {"Li": 2.99e-14, "LNT5F5": 3.49e-14, "LNT10F": 9.62e-14}


def sand_time(d: float, current: float, c0: float) -> float:
    """Sand's depletion time (s) for D (m2/s), current density (A/m2), c0 (mol/m3)."""
    return math.pi * d * (c0 * FARADAY) ** 2 / (4 * current**2)


def d_from_slope(slope: float, c0: float) -> float:
    """D_eff (m2/s) from the slope of 1/sqrt(t0) vs I (s^-1/2 per A/m2)."""
    return (2 / (c0 * FARADAY * math.sqrt(math.pi) * slope)) ** 2


def case_constants(folder: Path) -> tuple[float, float]:
    """(c0 in mol/m3, stop fraction eps) from the effective config of a finished case."""
    config = tomllib.loads((folder / "config.toml").read_text())
    c0 = config["electrolyte"]["species"][0]["concentration"]
    return c0, config["time"]["stop_when_depleted"]


def read_points(output: Path) -> tuple[dict[str, list[tuple[float, float]]], float]:
    """Per anode label: [(stripping current A/m2, Sand t0 s)], and c0. Completed cases only."""
    rows = list(csv.DictReader((output / "summary.csv").open()))
    points: dict[str, list[tuple[float, float]]] = {}
    c0 = None
    for row in rows:
        if row["status"] != "completed":
            continue
        c0_case, eps = case_constants(output / row["case_id"])
        if c0 is not None and not math.isclose(c0, c0_case):
            raise ValueError("the fit needs one c0 for all cases")
        c0 = c0_case
        t0 = float(row["depletion_time_s"]) / (1 - eps) ** 2
        label = row.get("anode", "anode")
        points.setdefault(label, []).append((-float(row["current_density"]), t0))
    if c0 is None:
        raise ValueError(f"no completed case in {output}")
    return points, c0


def fit(points: list[tuple[float, float]], c0: float) -> dict:
    """Sand fit of one anode's (I, t0) points."""
    x = [i for i, _ in points]
    y = [1 / math.sqrt(t) for _, t in points]
    n, sx, sy = len(x), sum(x), sum(y)
    sxx, sxy = sum(v * v for v in x), sum(a * b for a, b in zip(x, y, strict=True))
    slope0 = sxy / sxx
    slope = (n * sxy - sx * sy) / (n * sxx - sx * sx)
    intercept = (sy - slope * sx) / n
    d0 = d_from_slope(slope0, c0)
    t_half = dict(points).get(5.0)
    return {
        "points": len(points),
        "currents_mA_cm2": [i / 10 for i in x],
        "t0_s": [t for _, t in points],
        "D_fit_origin_m2_s": d0,
        "D_fit_line_m2_s": d_from_slope(slope, c0),
        "intercept_s^-1/2": intercept,
        "capacity_0p5_sim_mAh_cm2": 0.5 * t_half / 3600 if t_half else None,
        "capacity_0p5_sand_mAh_cm2": 0.5 * sand_time(d0, 5.0, c0) / 3600,
    }


def sand_fit(output: str | Path) -> dict:
    """Fit every anode of a finished sweep folder; returns {label: fit dict} plus c0."""
    points, c0 = read_points(Path(output))
    out = {label: fit(sorted(p), c0) for label, p in points.items()}
    for label, r in out.items():
        if label in PAPER_D:
            r["D_paper_m2_s"] = PAPER_D[label]
            r["D_error"] = r["D_fit_origin_m2_s"] / PAPER_D[label] - 1
        if label in MEASURED:
            r["capacity_measured_mAh_cm2"] = MEASURED[label]
    return {"c0_mol_m3": c0, "anodes": out}


def table(result: dict) -> str:
    """Markdown table of a :func:`sand_fit` result (D in 1e-10 cm2/s = 1e-14 m2/s)."""
    head = (
        "| anode | D_eff set | D_eff fitted (origin) | error | D_eff fitted (free line) |"
        " Q(0.5 mA/cm2) simulated | measured |\n|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for label, r in result["anodes"].items():
        paper = r.get("D_paper_m2_s")
        err = r.get("D_error")
        q = r["capacity_0p5_sim_mAh_cm2"]
        lines.append(
            f"| {label} | {paper * 1e14:.3f} | {r['D_fit_origin_m2_s'] * 1e14:.4f} |"
            f" {err * 100:+.2f} % | {r['D_fit_line_m2_s'] * 1e14:.4f} |"
            f" {q:.2f} | {r.get('capacity_measured_mAh_cm2', '—')} |"
            if paper
            else f"| {label} | — | {r['D_fit_origin_m2_s'] * 1e14:.4f} | — |"
            f" {r['D_fit_line_m2_s'] * 1e14:.4f} | {q:.2f} |"
            f" {r.get('capacity_measured_mAh_cm2', '—')} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", help="folder of a finished femli sweep (summary.csv)")
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")
    args = parser.parse_args()
    result = sand_fit(args.output)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"c0 = {result['c0_mol_m3']:g} mol/m3; D in 1e-10 cm2/s, Q in mAh/cm2")
    print(table(result))


if __name__ == "__main__":
    main()
