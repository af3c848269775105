"""Footprint-normalised hotspot numbers of seed 003 results (reads metrics.json + CSV).

metrics.json holds statistics per unit of *active* (depositing) area. With nuclei only
active they are ~1 (Wagner number ~3e3), so this script adds what the seeds digest asks
for, from the files ``femli run`` writes:

- footprint current density ``i_fp = -I_total / footprint`` (the anode's 5 x 4.5 um);
- footprint hotspot index ``max(i_local) / i_fp``;
- the deposition rate projected on the footprint: electrode-node currents
  (``current_density * weight``) summed into square bins of ``--bin`` um and divided
  by the bin area; its coefficient of variation and max/mean over bins, the fraction
  of the footprint that receives no deposition and the fraction above 2x the mean;
- per-nucleus currents (cap nodes assigned to the nearest nucleus centre).

Usage: python footprint.py RESULT_DIR [RESULT_DIR ...] [--bin 0.5] [--json] [--plot PNG]
(``--plot``: one row per result: local deposition current density at the electrode
nodes seen from above, and the binned deposition rate per footprint, shared scales).
Units: current densities in mA/cm2, lengths in um, currents in nA.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np

from femli.outputs.metrics_format import upgrade


def read_surface(path: Path) -> dict[str, np.ndarray]:
    """Columns of a surface_current_<electrode>.csv (coordinates um, SI otherwise)."""
    with path.open() as f:
        rows = list(csv.DictReader(f))
    return {
        "x": np.array([float(r["x_um"]) for r in rows]),
        "y": np.array([float(r["y_um"]) for r in rows]),
        "i": np.array([float(r["current_density_A_m2"]) for r in rows]),
        "w": np.array([float(r["weight_m_or_m2"]) for r in rows]),
        "part": np.array([r["boundary"] for r in rows]),
    }


def footprint_numbers(result: Path, bin_um: float = 0.5) -> dict:
    """Footprint-normalised statistics of one 3D nucleus-array result folder."""
    metrics = upgrade(json.loads((result / "metrics.json").read_text()))  # any version
    features = metrics["geometry"]["features"]
    (name, electrode), *_ = metrics["electrodes"].items()
    s = read_surface(result / f"surface_current_{name}.csv")
    fp_um2 = features["footprint"]
    config_width, config_depth = _extent(result)
    deposition = -s["i"] * s["w"]  # A per node, deposition positive
    i_fp = -electrode["total_current_A"] / (fp_um2 * 1e-12)  # A/m2
    stats = electrode["deposition_current_density"]
    nx = max(1, round(config_width / bin_um))
    ny = max(1, round(config_depth / bin_um))
    hist, _, _ = np.histogram2d(
        s["x"],
        s["y"],
        bins=(nx, ny),
        range=((0, config_width), (0, config_depth)),
        weights=deposition,
    )
    bin_area = (config_width / nx) * (config_depth / ny) * 1e-12
    rate = hist.ravel() / bin_area  # A/m2 of footprint
    mean = rate.mean()
    per_nucleus = _per_nucleus(s, deposition, features.get("centres"))
    return {
        "case": metrics.get("case"),
        "mpi_size": metrics.get("mpi_size"),
        "footprint_um2": fp_um2,
        "active_area_um2": electrode["area_m2"] * 1e12,
        "active_fraction": electrode["area_m2"] * 1e12 / fp_um2,
        "total_current_nA": electrode["total_current_A"] * 1e9,
        "csv_current_nA": -deposition.sum() * 1e9,
        "active_mean_mA_cm2": stats["mean_A_m2"] / 10,
        "active_max_mA_cm2": stats["max_A_m2"] / 10,
        "active_hotspot_index": stats["hotspot_index"],
        "active_cv": stats["coefficient_of_variation"],
        "footprint_mean_mA_cm2": i_fp / 10,
        "footprint_hotspot_index": stats["max_A_m2"] / i_fp,
        "bin_um": [config_width / nx, config_depth / ny],
        "bins": nx * ny,
        "binned_cv": float(rate.std() / mean),
        "binned_max_over_mean": float(rate.max() / mean),
        "binned_empty_fraction": float((rate <= 1e-12 * rate.max()).mean()),
        "binned_fraction_above_2x_mean": float((rate > 2 * mean).mean()),
        **per_nucleus,
        "_map": {"x": s["x"], "y": s["y"], "i": -s["i"], "rate": rate.reshape(nx, ny)},
        "_extent": (config_width, config_depth),
    }


def _extent(result: Path) -> tuple[float, float]:
    """(width, depth) in um of the anode, from the effective config or the preset."""
    import tomllib

    config = tomllib.loads((result / "config.toml").read_text())
    geometry = dict(config["geometry"])
    if "preset" in geometry:
        from femli.geometry import load_preset

        _, params = load_preset(geometry["preset"])
        geometry = {**params, **geometry}
    return float(geometry.get("width", 5.0)), float(geometry.get("depth", 4.5))


def _per_nucleus(s: dict, deposition: np.ndarray, centres) -> dict:
    if not centres:
        return {}
    c = np.asarray(centres, dtype=float)
    on_cap = s["part"] == "nuclei"
    x, y = s["x"][on_cap], s["y"][on_cap]
    owner = ((x[:, None] - c[:, 0]) ** 2 + (y[:, None] - c[:, 1]) ** 2).argmin(axis=1)
    currents = np.bincount(owner, weights=deposition[on_cap], minlength=len(c)) * 1e9  # nA
    return {
        "nuclei": len(c),
        "per_nucleus_mean_nA": float(currents.mean()),
        "per_nucleus_cv": float(currents.std() / currents.mean()),
        "per_nucleus_max_over_mean": float(currents.max() / currents.mean()),
    }


def plot(rows: list[dict], path: Path) -> None:
    """Footprint maps: node current density (mA/cm2) and binned rate per footprint."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    vmax_i = max(r["_map"]["i"].max() for r in rows) / 10
    vmax_r = max(r["_map"]["rate"].max() for r in rows) / 10
    fig, axes = plt.subplots(len(rows), 2, figsize=(8, 3.2 * len(rows)), squeeze=False)
    for (left, right), r in zip(axes, rows, strict=True):
        m, (w, d) = r["_map"], r["_extent"]
        order = np.argsort(m["i"])
        sc = left.scatter(
            m["x"][order], m["y"][order], c=m["i"][order] / 10, s=2, vmin=0, vmax=vmax_i
        )
        left.set(xlim=(0, w), ylim=(0, d), aspect="equal", xlabel="x (um)", ylabel="y (um)")
        left.set_title(f"{r['case']}: local i (mA/cm2)", fontsize=8)
        fig.colorbar(sc, ax=left, shrink=0.8)
        im = right.imshow(
            m["rate"].T / 10, origin="lower", extent=(0, w, 0, d), vmin=0, vmax=vmax_r
        )
        right.set(xlabel="x (um)", ylabel="y (um)")
        right.set_title(
            f"per footprint, {r['bin_um'][0]:g} um bins: CV {r['binned_cv']:.2f} (mA/cm2)",
            fontsize=8,
        )
        fig.colorbar(im, ax=right, shrink=0.8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", type=Path)
    parser.add_argument("--bin", type=float, default=0.5, help="bin edge in um (default 0.5)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--plot", type=Path, help="write a PNG of the footprint maps")
    args = parser.parse_args()
    rows = [footprint_numbers(r, args.bin) for r in args.results]
    if args.plot:
        plot(rows, args.plot)
    if args.json:
        print(json.dumps([{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]))
        return
    head = (
        f"{'case':34s} {'np':>2s} {'I nA':>8s} {'act.frac':>8s} {'i_act':>6s} {'HI_act':>6s} "
        f"{'i_fp':>6s} {'HI_fp':>6s} {'binCV':>6s} {'bin max/mean':>12s} {'empty':>6s} "
        f"{'>2x':>6s} {'nucCV':>6s}"
    )
    print(head)
    for r in rows:
        print(
            f"{r['case']:34s} {r['mpi_size']:>2d} {-r['total_current_nA']:8.4f} "
            f"{r['active_fraction']:8.4f} {r['active_mean_mA_cm2']:6.3f} "
            f"{r['active_hotspot_index']:6.3f} {r['footprint_mean_mA_cm2']:6.3f} "
            f"{r['footprint_hotspot_index']:6.2f} {r['binned_cv']:6.3f} "
            f"{r['binned_max_over_mean']:12.2f} {r['binned_empty_fraction']:6.3f} "
            f"{r['binned_fraction_above_2x_mean']:6.3f} {r.get('per_nucleus_cv', np.nan):6.4f}"
        )
    print(
        f"(current densities in mA/cm2; bins of {rows[0]['bin_um'][0]:g} x "
        f"{rows[0]['bin_um'][1]:g} um over the footprint)"
    )


if __name__ == "__main__":
    main()
