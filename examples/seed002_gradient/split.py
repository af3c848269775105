"""Where the first Li goes on a seed-002 current collector: per-part current split.

Reads finished ``femli run`` folders of the seed-002 cases (``metrics.json``) and prints,
per electrode part (material), its surface per footprint, share of the total current,
mean and max local deposition current density and exchange current, plus the electrode
potential the applied 0.5 mA/cm2 needs. Part currents are the part's mean local current
density times its exact surface (``geometry.features.part_measure``); the nodal weights
of the per-part statistics put each node where two materials meet into one of them.

    .venv/bin/python examples/seed002_gradient/split.py results/seed002/dgm [more folders]
    .venv/bin/python examples/seed002_gradient/split.py results/seed002/dgm --plot depth.png
"""

from __future__ import annotations

import argparse
import json
import tomllib
from pathlib import Path

from femli.outputs.metrics_format import upgrade

#: Measured nucleation overpotentials at 0.5 mA/cm2, mV (paper, line 70).
MEASURED_MV = {"bare_cu": 86.3, "cu_ag": 18.2, "cu_agc": 45.2, "dgm": 12.3}


def split(folder: str | Path) -> dict:
    """Per-part numbers of one finished case folder (A/m2 -> mA/cm2 in the output)."""
    folder = Path(folder)
    metrics = upgrade(json.loads((folder / "metrics.json").read_text()))  # any version
    config = tomllib.loads((folder / "config.toml").read_text())
    (name, electrode), *_ = metrics["electrodes"].items()
    measure = metrics["geometry"]["features"]["part_measure"]  # um (2D)
    footprint = metrics["geometry"]["features"]["footprint"]
    kinetics = next(e for e in config["electrodes"] if e["name"] == name)["kinetics"]
    parts = {}
    for part, stats in electrode["parts"].items():
        dep = stats["deposition_current_density"]
        parts[part] = {
            "surface_per_footprint": measure[part] / footprint,
            "current": dep["mean_A_m2"] * measure[part],  # A/m2 x um
            "mean_mA_cm2": dep["mean_A_m2"] / 10,
            "max_mA_cm2": dep["max_A_m2"] / 10,
            "i0_A_m2": kinetics[part].get("exchange_current"),
        }
    total = sum(p["current"] for p in parts.values())
    for p in parts.values():
        p["share"] = p["current"] / total
    first = max(parts, key=lambda k: parts[k]["max_mA_cm2"])
    return {
        "case": metrics["case"],
        "potential_mV": 1e3 * electrode["potential_V"],
        "footprint_mA_cm2": electrode["footprint_deposition_current_density_A_m2"] / 10,
        "part_sum_over_total": total
        / (electrode["footprint_deposition_current_density_A_m2"] * footprint),
        "first_nucleation": first,
        "parts": parts,
    }


def table(results: list[dict]) -> str:
    """Markdown table, one row per (case, part)."""
    lines = [
        "| case | E (mV) at 0.5 mA/cm2 | part | i0 (A/m2) | surface / footprint | share of"
        " current | mean i (mA/cm2) | max i (mA/cm2) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for k, (part, p) in enumerate(r["parts"].items()):
            mark = " **(first)**" if part == r["first_nucleation"] else ""
            lead = f"{r['case']} | {r['potential_mV']:.2f}" if k == 0 else " | "
            lines.append(
                f"| {lead} | {part}{mark} | {p['i0_A_m2']:g} | {p['surface_per_footprint']:.2f} |"
                f" {100 * p['share']:.1f} % | {p['mean_mA_cm2']:.4f} | {p['max_mA_cm2']:.4f} |"
            )
    return "\n".join(lines)


def plot_depth(folders: list[str | Path], path: str | Path) -> None:
    """Local deposition current density vs height, one colour per part, one panel per case."""
    import csv

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(folders), figsize=(4 * len(folders), 4), squeeze=False)
    for ax, folder in zip(axes[0], folders, strict=True):
        folder = Path(folder)
        (csv_path,) = folder.glob("surface_current_*.csv")
        rows = list(csv.DictReader(csv_path.open()))
        for k, part in enumerate(PART_ORDER):
            sel = [r for r in rows if r["boundary"] == part]
            if sel:
                i = [-float(r["current_density_A_m2"]) / 10 for r in sel]
                y = [float(r["y_um"]) for r in sel]
                ax.scatter(i, y, s=2, color=f"C{k}", label=part)
        case = json.loads((folder / "metrics.json").read_text())["case"]
        ax.set_title(case, fontsize=9)
        ax.set_xlabel("local deposition current density (mA/cm2)")
        ax.set_ylabel("height (um)")
        ax.set_xlim(left=0)
        ax.legend(fontsize=7, markerscale=3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


PART_ORDER = ("copper", "carbon", "silver_particles", "silver_top")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", help="finished femli run folders")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--plot", help="write the depth profile of the local current here")
    args = parser.parse_args()
    if args.plot:
        plot_depth(args.folders, args.plot)
    results = [split(f) for f in args.folders]
    print(json.dumps(results, indent=2) if args.json else table(results))


if __name__ == "__main__":
    main()
