"""Footprint morphology of seed 003 growth runs (results folders of grow.py or femli run).

    .venv/bin/python examples/seed003_growth/analyse.py DIR [DIR ...] [--labels A B ...]
        [--markdown FILE] [--json FILE] [--plot FILE] [--series FILE]

For every folder and for its first and last surface profile (``profiles/t*.npz``), the
anode surface (nuclei + substrate) is turned into a height map over the footprint: h(x)
on a 2D cross-section (upper envelope of the surface edges), h(x, y) in 3D (upper
envelope of the triangles on a grid). From it:

* ``max_height_um``: max h (the top of the highest nucleus);
* ``mean_height_um``, ``rms_roughness_um``: mean and standard deviation of h over the
  footprint (what a profilometer would call Rq; femli's own ``roughness_rms`` is taken
  over the depositing surface only, i.e. over the nuclei when the substrate is passive);
* ``thickness_cv``: the deposit thickness h(t) - h(0) over the footprint, standard
  deviation / mean (0 for perfectly planar growth; large when Li piles up in few places);
* ``area_ratio``: femli's depositing area / its initial value; ``surface_ratio``: length
  (2D) or area (3D) of the whole anode surface / footprint;
* ``hotspot_index``: femli's max/mean deposition rate over the depositing surface;
  ``hotspot_index_footprint``: max local deposition current / (|I_total| / footprint);
* Faraday: the deposited volume (mesh volume lost by the electrolyte, less what merges
  trapped) against M/(z F rho) x charge, with femli's charge (left Riemann sum of the
  current over the steps, ``charge`` column) and with the trapezoidal rule;
* ``merges``, ``trapped_volume``: merge events so far and the electrolyte they closed
  off (runs with ``[growth] merge_gap_um``).

A folder of ``femli run`` has no ``profiles/`` (only grow.py writes them): its states
are the rows of ``growth_series.csv`` (0 s, the snapshots of ``[growth] snapshots``, the
last), with what the series and metrics.json give (max height, area ratio, hotspot
index, current per footprint, Faraday; the footprint hotspot index at the last state from
``surface_current_*.csv``); the quantities that need the surface (mean height, roughness
and thickness over the footprint, surface ratio) are shown as "—", and ``--plot`` skips it.

Reads only files; no MPI. Lengths in um, volumes in um^3 (3D) or um^2 (2D).
"""

from __future__ import annotations

import argparse
import csv
import json
import tomllib
from pathlib import Path

import numpy as np

from femli.outputs.metrics_format import upgrade

FARADAY = 96485.33212


def load_series(folder: Path) -> dict[str, np.ndarray]:
    """growth_series.csv as arrays (SI units, as written)."""
    with open(folder / "growth_series.csv") as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}


def load_profiles(folder: Path) -> list[dict]:
    """Every profiles/t*.npz, in time order."""
    out = []
    for path in sorted((folder / "profiles").glob("t*.npz")):
        with np.load(path, allow_pickle=False) as data:
            out.append({k: data[k] for k in data.files})
    return sorted(out, key=lambda p: float(p["t"]))


def height_map(facets: np.ndarray, n: int = 4001) -> tuple[np.ndarray, np.ndarray]:
    """Upper envelope of the surface over the footprint: (grid, h) in um.

    2D: facets (m, 2, 3), grid (n,) along x. 3D: facets (m, 3, 3), grid (ny, nx, 2).
    """
    dim = facets.shape[1]
    lo = facets[:, :, : dim - 1].reshape(-1, dim - 1).min(axis=0)
    hi = facets[:, :, : dim - 1].reshape(-1, dim - 1).max(axis=0)
    if dim == 2:
        x = np.linspace(lo[0], hi[0], n)
        h = np.full(n, -np.inf)
        for (x0, y0, _), (x1, y1, _) in facets:
            if x0 > x1:
                x0, y0, x1, y1 = x1, y1, x0, y0
            sel = (x >= x0 - 1e-12) & (x <= x1 + 1e-12)
            if sel.any():
                y = np.interp(x[sel], [x0, x1], [y0, y1]) if x1 - x0 > 1e-12 else max(y0, y1)
                h[sel] = np.maximum(h[sel], y)
        return x, h
    step = (hi - lo).max() / 400
    xs = np.arange(lo[0] + step / 2, hi[0], step)
    ys = np.arange(lo[1] + step / 2, hi[1], step)
    h = np.full((len(ys), len(xs)), -np.inf)
    for tri in facets:
        p = tri[:, :2]
        i0, i1 = np.searchsorted(xs, [p[:, 0].min(), p[:, 0].max()])
        j0, j1 = np.searchsorted(ys, [p[:, 1].min(), p[:, 1].max()])
        if i1 <= i0 or j1 <= j0:
            continue
        gx, gy = np.meshgrid(xs[i0:i1], ys[j0:j1])
        t = np.array(
            [[p[1, 0] - p[0, 0], p[2, 0] - p[0, 0]], [p[1, 1] - p[0, 1], p[2, 1] - p[0, 1]]]
        )
        if abs(np.linalg.det(t)) < 1e-14:
            continue
        lam = np.linalg.solve(t, np.stack([gx.ravel() - p[0, 0], gy.ravel() - p[0, 1]]))
        inside = (lam[0] >= -1e-9) & (lam[1] >= -1e-9) & (lam.sum(axis=0) <= 1 + 1e-9)
        if not inside.any():
            continue
        z = tri[0, 2] + lam[0] * (tri[1, 2] - tri[0, 2]) + lam[1] * (tri[2, 2] - tri[0, 2])
        block = h[j0:j1, i0:i1].ravel()
        block[inside] = np.maximum(block[inside], z[inside])
        h[j0:j1, i0:i1] = block.reshape(j1 - j0, i1 - i0)
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx, gy], axis=-1), h


def surface_measure(facets: np.ndarray) -> float:
    """Total length (2D) or area (3D) of the facets (um, um^2)."""
    if facets.shape[1] == 2:
        return float(np.linalg.norm(facets[:, 1] - facets[:, 0], axis=1).sum())
    cross = np.cross(facets[:, 1] - facets[:, 0], facets[:, 2] - facets[:, 0])
    return float(0.5 * np.linalg.norm(cross, axis=1).sum())


def state(
    profile: dict, h0: np.ndarray | None, series: dict, footprint: float, dim: int
) -> tuple[dict, np.ndarray]:
    """Footprint metrics of one profile (h0: initial height map, for the thickness)."""
    _, h = height_map(profile["facets"])
    h = np.where(np.isfinite(h), h, 0.0)
    t = float(profile["t"])
    k = int(np.argmin(np.abs(series["t_s"] - t)))
    current = series[next(c for c in series if c.startswith("current_"))][k]
    deposition = -profile["node_current"]  # A/m2, deposition positive
    out = {
        "t_s": t,
        "max_height_um": float(h.max()),
        "mean_height_um": float(h.mean()),
        "rms_roughness_um": float(h.std()),
        "area_ratio": float(series["area_ratio"][k]),
        "surface_ratio": surface_measure(profile["facets"]) / footprint,
        "hotspot_index": float(series["hotspot_index"][k]),
        "hotspot_index_footprint": float(
            deposition.max() / (abs(current) / (footprint * 1e-6 ** (dim - 1)))
        ),
        "current_footprint_mA_cm2": abs(current) / (footprint * 1e-6 ** (dim - 1)) / 10.0,
        **_merged(series, k, dim),
    }
    if h0 is not None:
        dh = h - h0
        out["mean_thickness_um"] = float(dh.mean())
        out["thickness_cv"] = float(dh.std() / dh.mean()) if dh.mean() > 0 else float("nan")
        out["thickness_max_over_mean"] = (
            float(dh.max() / dh.mean()) if dh.mean() > 0 else float("nan")
        )
    return out, h


def faraday(series: dict, metal: dict, k: int, dim: int) -> dict:
    """Deposited volume against M/(z F rho) x charge up to record ``k``."""
    vpc = metal["molar_mass"] / (metal.get("charge", 1) * FARADAY * metal["density"])
    current = series[next(c for c in series if c.startswith("current_"))][: k + 1]
    t = series["t_s"][: k + 1]
    left = -series[next(c for c in series if c.startswith("charge_"))][k]
    trap = -float(np.sum(0.5 * (current[1:] + current[:-1]) * np.diff(t)))
    volume = series[next(c for c in series if c.startswith("deposited_volume_"))][k]
    scale = 1e18 if dim == 3 else 1e12  # m3 -> um3, m2 -> um2
    return {
        "deposited_volume": volume * scale,
        "faraday_volume_left": vpc * left * scale,
        "faraday_volume_trapezoid": vpc * trap * scale,
        "volume_over_faraday_left": volume / (vpc * left) if left else float("nan"),
        "volume_over_faraday_trapezoid": volume / (vpc * trap) if trap else float("nan"),
    }


def analyse(folder: Path, at: float | None = None) -> dict:
    """Every metric of one results folder: initial state, final state (or the snapshot
    at time ``at``, or the last one before it), every snapshot."""
    folder = Path(folder)
    if not (folder / "metrics.json").is_file():
        status = folder / "status.json"
        why = json.loads(status.read_text()).get("error") if status.is_file() else None
        raise SystemExit(f"{folder}: no metrics.json, the run did not finish ({why or '?'})")
    metrics = upgrade(json.loads((folder / "metrics.json").read_text()))  # any version
    config = tomllib.loads((folder / "config.toml").read_text())
    series = load_series(folder)
    profiles = load_profiles(folder)
    if not profiles:  # a femli run folder
        return analyse_series(folder, metrics, config, series, at)
    dim = profiles[0]["facets"].shape[1]
    _, h0 = height_map(profiles[0]["facets"])
    lateral = profiles[0]["facets"][:, :, : dim - 1].reshape(-1, dim - 1)
    footprint = float(np.prod(lateral.max(axis=0) - lateral.min(axis=0)))
    initial, _ = state(profiles[0], None, series, footprint, dim)
    snapshots = [state(p, h0, series, footprint, dim)[0] for p in profiles[1:]]
    if at is not None:
        snapshots = [x for x in snapshots if x["t_s"] <= at * (1 + 1e-9)]
    final = snapshots[-1] if snapshots else initial
    k = int(np.argmin(np.abs(series["t_s"] - final["t_s"])))
    return {
        **_run(folder, metrics, config, dim, footprint),
        "profiles": True,
        "initial": initial,
        "final": {**final, **faraday(series, config["growth"], k, dim)},
        "snapshots": [initial, *snapshots],
    }


def _run(folder: Path, metrics: dict, config: dict, dim: int, footprint: float) -> dict:
    """What every result says about its run (footprint in um, 2D; um^2, 3D)."""
    g = metrics["growth"]
    return {
        "folder": str(folder),
        "case": metrics["case"],
        "dim": dim,
        "footprint": footprint,
        "t_end": g.get("t_end_s", config["growth"]["t_end"]),
        "completed": g.get("completed", True),
        "stop": g.get("stop"),
        "steps": g["steps"],
        "remeshes": g["remeshes"],
        "mpi_size": metrics["mpi_size"],
        "timings_s": metrics["timings_s"],
    }


def analyse_series(
    folder: Path, metrics: dict, config: dict, series: dict, at: float | None
) -> dict:
    """:func:`analyse` of a folder without ``profiles/`` (``femli run``): the states are
    rows of growth_series.csv (0 s, the ``[growth] snapshots``, the last, up to ``at``)."""
    electrode = next(iter(metrics["electrodes"].values()))
    dim = int(metrics.get("dim") or metrics["geometry"].get("dim") or 2)
    footprint = electrode["footprint_area_m2"] * 1e6 ** (dim - 1)  # um (2D), um^2 (3D)
    t = series["t_s"]
    last = len(t) - 1 if at is None else int(np.searchsorted(t, at * (1 + 1e-9), "right")) - 1
    wanted = [float(s) for s in config["growth"].get("snapshots", [])]
    rows = sorted({0, *(int(np.argmin(np.abs(t - s))) for s in wanted), last} - {-1})
    rows = [k for k in rows if k <= last]
    states = [_series_state(series, k, footprint, dim) for k in rows]
    final = states[-1]
    if last == len(t) - 1:  # the surface table holds the last state
        final["hotspot_index_footprint"] = _footprint_hotspot(folder, final, footprint, dim)
    return {
        **_run(folder, metrics, config, dim, footprint),
        "profiles": False,
        "initial": states[0],
        "final": {**final, **faraday(series, config["growth"], rows[-1], dim)},
        "snapshots": states,
    }


def _series_state(series: dict, k: int, footprint: float, dim: int) -> dict:
    """The quantities of row ``k`` of growth_series.csv that need no surface profile."""
    current = series[next(c for c in series if c.startswith("current_"))][k]
    per_footprint = abs(current) / (footprint * 1e-6 ** (dim - 1))  # A/m2
    return {
        "t_s": float(series["t_s"][k]),
        "max_height_um": float(series["max_height_m"][k]) * 1e6,
        "area_ratio": float(series["area_ratio"][k]),
        "hotspot_index": float(series["hotspot_index"][k]),
        "current_footprint_mA_cm2": per_footprint / 10.0,
        **_merged(series, k, dim),
    }


def _merged(series: dict, k: int, dim: int) -> dict:
    """Merge events up to row ``k`` and the electrolyte they trapped (um^2, 2D; um^3, 3D);
    empty for series written before merging existed."""
    if "merges" not in series:
        return {}
    scale = 1e18 if dim == 3 else 1e12
    return {
        "merges": int(series["merges"][k]),
        "trapped_volume": float(series["trapped_volume_m3"][k]) * scale,
    }


def _footprint_hotspot(folder: Path, state: dict, footprint: float, dim: int) -> float | None:
    """Largest local deposition current over the current per footprint, at the last state
    (``surface_current_<electrode>.csv``); None without that table."""
    tables = sorted(folder.glob("surface_current_*.csv"))
    if not tables:
        return None
    with open(tables[0]) as f:
        currents = np.array([float(r["current_density_A_m2"]) for r in csv.DictReader(f)])
    return float(-currents.min() / (state["current_footprint_mA_cm2"] * 10.0))


ROWS = (
    ("t_s", "time (s)", "{:.1f}"),
    ("max_height_um", "max height (um)", "{:.3f}"),
    ("mean_height_um", "mean height over the footprint (um)", "{:.3f}"),
    ("rms_roughness_um", "RMS roughness over the footprint (um)", "{:.3f}"),
    ("mean_thickness_um", "mean deposit thickness (um)", "{:.3f}"),
    ("thickness_cv", "deposit thickness CV over the footprint", "{:.2f}"),
    ("thickness_max_over_mean", "deposit thickness max / mean", "{:.2f}"),
    ("merges", "merge events so far", "{:d}"),
    ("trapped_volume", "electrolyte trapped by merges (um^2 per um, 2D; um^3, 3D)", "{:.2e}"),
    ("deposited_volume", "deposited volume (um^2 per um, 2D; um^3, 3D)", "{:.4f}"),
    ("faraday_volume_trapezoid", "M/(F rho) x charge, trapezoidal (same units)", "{:.4f}"),
    ("volume_over_faraday_trapezoid", "volume / Faraday (trapezoidal charge)", "{:.4f}"),
    ("volume_over_faraday_left", "volume / Faraday (femli `charge`, left sum)", "{:.4f}"),
    ("area_ratio", "depositing area / initial", "{:.2f}"),
    ("surface_ratio", "anode surface / footprint", "{:.3f}"),
    ("current_footprint_mA_cm2", "current per footprint (mA/cm2)", "{:.3f}"),
    ("hotspot_index", "hotspot index, depositing surface (max/mean)", "{:.4f}"),
    ("hotspot_index_footprint", "hotspot index per footprint (max / (I/footprint))", "{:.2f}"),
)


def markdown(results: list[dict], labels: list[str]) -> str:
    """Table: one column per case and state (0 s, final)."""
    head = (
        "| quantity | "
        + " | ".join(
            f"{lab} 0 s | {lab} {r['final']['t_s']:.4g} s"
            for lab, r in zip(labels, results, strict=True)
        )
        + " |"
    )
    lines = [head, "|" + " --- |" * (1 + 2 * len(results))]
    for key, name, fmt in ROWS:
        cells = []
        for r in results:
            for s in (r["initial"], r["final"]):
                v = s.get(key)
                cells.append(
                    "—"
                    if v is None or (isinstance(v, float) and not np.isfinite(v))
                    else fmt.format(v)
                )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _reached(stop: dict) -> float:
    """The time a stopped grow.py run reached (s; ``t_reached`` before metrics version 2)."""
    return float(stop.get("t_reached_s", stop.get("t_reached")))


def plot_profiles(results: list[dict], labels: list[str], path: Path) -> None:
    """Cross-sections (2D) or height maps (3D): initial, snapshots, final coloured by i."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    n = len(results)
    if all(r["dim"] == 3 for r in results):
        fig, axes = plt.subplots(1, n, figsize=(4.7 * n, 3.4), dpi=100, squeeze=False)
        axes = axes.T
    else:
        fig, axes = plt.subplots(n, 1, figsize=(7.5, 1.9 * n + 0.4), dpi=100, squeeze=False)
    chosen = [
        [p for p in load_profiles(Path(r["folder"])) if float(p["t"]) <= r["final"]["t_s"] + 1e-9]
        for r in results
    ]
    vmax = max(float((-p[-1]["node_current"]).max()) for p in chosen) / 10
    for ax, r, label, profiles in zip(axes[:, 0], results, labels, chosen, strict=True):
        if r["dim"] == 3:
            grid, h = height_map(profiles[-1]["facets"])
            im = ax.imshow(
                np.where(np.isfinite(h), h, 0),
                origin="lower",
                extent=[grid[0, 0, 0], grid[0, -1, 0], grid[0, 0, 1], grid[-1, 0, 1]],
                cmap="viridis",
            )
            _, h0 = height_map(profiles[0]["facets"])
            ax.contour(grid[..., 0], grid[..., 1], h0, levels=[1e-3], colors="w", linewidths=0.6)
            fig.colorbar(im, ax=ax, label="height (um)", fraction=0.04)
            ax.set_title(
                f"{label}: height at {float(profiles[-1]['t']):.3g} s (white: nuclei at 0 s)",
                fontsize=9,
            )
            ax.set_xlabel("x (um)")
            ax.set_ylabel("y (um)")
            continue
        x, h0 = height_map(profiles[0]["facets"])
        _, h1 = height_map(profiles[-1]["facets"])
        ax.fill_between(x, -0.05, h0, color="0.55", lw=0, label="Li at 0 s")
        ax.fill_between(
            x,
            h0,
            h1,
            where=h1 > h0,
            color="#9ecae1",
            lw=0,
            label=f"deposit to {float(profiles[-1]['t']):.3g} s",
        )
        for p in profiles[1:-1]:
            _, h = height_map(p["facets"])
            ax.plot(x, h, color="0.3", lw=0.4)
        final = profiles[-1]
        f = final["facets"][np.isin(final["facet_part"], np.unique(final["node_part"]))]
        keys = {
            tuple(np.round(c[:2], 6)): -v / 10
            for c, v in zip(final["node_coords"], final["node_current"], strict=True)
        }
        colours = [
            0.5 * (keys.get(tuple(np.round(a[:2], 6)), 0) + keys.get(tuple(np.round(b[:2], 6)), 0))
            for a, b in f
        ]
        lc = LineCollection(
            f[:, :, :2], array=np.array(colours), cmap="inferno", clim=(0, vmax), lw=2.5
        )
        ax.add_collection(lc)
        ax.set_xlim(x[0], x[-1])
        ax.set_ylim(-0.05, max(1.0, float(h1.max()) + 0.1))
        ax.set_aspect("equal")
        ax.set_ylabel("y (um)")
        stop = (
            ""
            if r["completed"] or r["final"]["t_s"] < _reached(r["stop"]) - 1e-9
            else " (stopped: deposits about to merge)"
            if (r["stop"] or {}).get("kind") == "contact"
            else " (stopped)"
        )
        ax.set_title(f"{label}: 0 s and {float(final['t']):.3g} s{stop}", fontsize=9)
        ax.legend(loc="upper right", fontsize=7, frameon=False)
        fig.colorbar(lc, ax=ax, label="deposition (mA/cm2)", fraction=0.025, pad=0.01)
    if results[-1]["dim"] == 2:
        axes[-1, 0].set_xlabel("x (um)")
    fig.tight_layout()
    save_small(fig, path)
    plt.close(fig)


def save_small(fig, path: Path) -> None:
    """Save a figure as a 256-colour PNG (a third of the size, same look)."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    buf.seek(0)
    image = Image.open(buf).convert("RGB")
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


def plot_series(results: list[dict], labels: list[str], path: Path) -> None:
    """Max height, footprint roughness and thickness CV against time, all cases."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(10, 3.0), dpi=100)
    keys = (
        ("max_height_um", "max height (um)"),
        ("rms_roughness_um", "RMS roughness, footprint (um)"),
        ("thickness_cv", "deposit thickness CV"),
    )
    for r, label in zip(results, labels, strict=True):
        t = [s["t_s"] for s in r["snapshots"]]
        for ax, (key, name) in zip(axes, keys, strict=True):
            ax.plot(t, [s.get(key, np.nan) for s in r["snapshots"]], "-o", ms=3, label=label)
            ax.set_ylabel(name)
            ax.set_xlabel("t (s)")
    axes[0].legend(fontsize=7, frameon=False)
    fig.tight_layout()
    save_small(fig, path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--labels", nargs="+")
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--at", type=float, help="report the snapshot at (or last before) T s")
    parser.add_argument("--plot", type=Path, help="cross-sections / height maps (PNG)")
    parser.add_argument("--series", type=Path, help="height, roughness, thickness CV vs t (PNG)")
    args = parser.parse_args(argv)
    labels = args.labels or [f.name for f in args.folders]
    results = [analyse(f, args.at) for f in args.folders]
    table = markdown(results, labels)
    print(table)
    for r, label in zip(results, labels, strict=True):
        stop = r["stop"]["message"] if r["stop"] else "reached t_end"
        print(
            f"{label}: {r['steps']} steps, {r['remeshes']} remeshes, {r['mpi_size']} rank(s), "
            f"timings {r['timings_s']}; {stop}"
        )
    if args.markdown:
        args.markdown.write_text(table)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=float))
    if args.plot:
        shown = [(r, lab) for r, lab in zip(results, labels, strict=True) if r["profiles"]]
        for r in results:
            if not r["profiles"]:
                print(f"--plot: {r['folder']} has no profiles/ (grow.py writes them): skipped")
        if shown:
            plot_profiles([r for r, _ in shown], [lab for _, lab in shown], args.plot)
    if args.series:
        plot_series(results, labels, args.series)


if __name__ == "__main__":
    main()
