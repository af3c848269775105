"""Side-by-side comparison of two result folders (``femli compare A B``).

Reads each folder's ``metrics.json``, electrode surfaces (``fields/electrode_*.vtp``)
or tables, never re-solves; writes a table of the electrode metrics (CSV and Markdown,
current densities in mA/cm2) and one figure: the two electrodes drawn on one colour
scale, their deposition current densities as histograms (a log axis when they span
decades) and the key metrics. Two folders of one name are told apart by their parents.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from femli.outputs.colours import ColourScale, colour_scale
from femli.outputs.files import atomic_write_bytes, save_picture
from femli.outputs.metrics_format import upgrade
from femli.outputs.quantities import DEPOSITION
from femli.outputs.surface import node_weights

__all__ = [
    "ROWS",
    "CompareError",
    "compare",
    "figure",
    "labels",
    "load_metrics",
    "markdown",
    "metric_table",
]

#: (label, path in metrics.json under an electrode, scale, unit)
ROWS = (
    ("total current", ("total_current_A",), 1.0, "A (A/m in 2D)"),
    ("mean deposition current density", ("deposition_current_density", "mean_A_m2"), 0.1, "mA/cm2"),
    ("max deposition current density", ("deposition_current_density", "max_A_m2"), 0.1, "mA/cm2"),
    ("p95 deposition current density", ("deposition_current_density", "p95_A_m2"), 0.1, "mA/cm2"),
    ("hotspot index (max/mean)", ("deposition_current_density", "hotspot_index"), 1.0, "-"),
    (
        "coefficient of variation",
        ("deposition_current_density", "coefficient_of_variation"),
        1.0,
        "-",
    ),
    (
        "area fraction above 2x mean",
        ("deposition_current_density", "area_fraction_above_2x_mean"),
        1.0,
        "-",
    ),
    (
        "footprint deposition current density",
        ("footprint_deposition_current_density_A_m2",),
        0.1,
        "mA/cm2",
    ),
    ("footprint hotspot index (max/footprint)", ("footprint_hotspot_index",), 1.0, "-"),
    ("electrode potential", ("potential_V",), 1e3, "mV"),
    ("mean surface overpotential", ("mean_surface_overpotential_V",), 1e3, "mV"),
)


class CompareError(ValueError):
    """A folder that is not a finished femli result."""


def load_metrics(folder: Path) -> dict:
    """``metrics.json`` of a finished run (clear error otherwise)."""
    path = Path(folder) / "metrics.json"
    if not path.is_file():
        raise CompareError(f"{str(folder)!r} is not a finished femli result (no metrics.json)")
    return upgrade(json.loads(path.read_text()))  # a file of an earlier femli, too


def _get(data: dict, keys: tuple) -> float | None:
    value: Any = data
    for k in keys:
        if not isinstance(value, dict) or k not in value:
            return None
        value = value[k]
    return value


def metric_table(a: dict, b: dict) -> list[list[str]]:
    """Rows [electrode, metric, unit, A, B, B/A] for electrodes present in both."""
    rows = []
    for name, ea, eb in _pairs(a["electrodes"], b["electrodes"]):
        for label, keys, scale, unit in ROWS:
            va, vb = _get(ea, keys), _get(eb, keys)
            if va is None or vb is None:
                continue
            ratio = f"{vb / va:.4g}" if va else "-"
            rows.append([name, label, unit, f"{va * scale:.5g}", f"{vb * scale:.5g}", ratio])
    rows.append(
        [
            "-",
            "min concentration",
            "mol/m3",
            f"{a['min_concentration_mol_m3']:.5g}",
            f"{b['min_concentration_mol_m3']:.5g}",
            "-",
        ]
    )
    return rows


def _pairs(a: dict, b: dict) -> list[tuple[str, dict, dict]]:
    """Electrodes matched by name; two single electrodes are matched whatever their names."""
    common = [(n, a[n], b[n]) for n in a if n in b]
    if not common and len(a) == 1 and len(b) == 1:
        (na, ea), (nb, eb) = next(iter(a.items())), next(iter(b.items()))
        common = [(f"{na} / {nb}", ea, eb)]
    return common


def markdown(rows: list[list[str]], names: tuple[str, str]) -> str:
    """The table as Markdown."""
    head = ["electrode", "metric", "unit", names[0], names[1], "B/A"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def labels(a_dir: Path, b_dir: Path) -> tuple[str, str]:
    """Names of two result folders that tell them apart: the folder names, with as many
    parent folders as it takes when those are equal ("runs1/case", "runs2/case")."""
    a, b = Path(a_dir).absolute().parts, Path(b_dir).absolute().parts
    for k in range(1, max(len(a), len(b)) + 1):
        la, lb = "/".join(a[-k:]), "/".join(b[-k:])
        if la != lb:
            return la, lb
    return f"{a[-1]} (A)", f"{b[-1]} (B)"


def compare(a_dir: Path, b_dir: Path, output: Path) -> str:
    """Write ``comparison.csv``, ``comparison.md`` and ``comparison.png``; returns the table."""
    a, b = load_metrics(a_dir), load_metrics(b_dir)
    names = labels(a_dir, b_dir)
    rows = metric_table(a, b)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["electrode", "metric", "unit", names[0], names[1], "ratio_b_over_a"])
    writer.writerows(rows)
    atomic_write_bytes(Path(output) / "comparison.csv", buf.getvalue().encode())
    text = markdown(rows, names)
    atomic_write_bytes(Path(output) / "comparison.md", text.encode())
    figure(Path(a_dir), Path(b_dir), names, Path(output) / "comparison.png", rows)
    return text


def figure(
    a_dir: Path, b_dir: Path, names: tuple[str, str], path: Path, rows: list | None = None
) -> ColourScale | None:
    """The electrode maps of both cases side by side on one colour scale, their
    deposition current densities as histograms, the key metrics. Returns the maps' one
    colour scale (None without field files: the folders' own pictures are shown)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 9), dpi=110)
    scale = _maps(axes[0], (a_dir, b_dir), names)
    ax = axes[1, 0]
    _histograms(ax, (a_dir, b_dir), names)
    axes[1, 1].axis("off")
    if rows:
        cells = [[r[1], r[2], r[3], r[4]] for r in rows if r[2] in ("-", "mA/cm2", "mV")][:10]
        table = axes[1, 1].table(cellText=cells, colLabels=["metric", "unit", *names], loc="center")
        table.auto_set_font_size(False)
        table.set_fontsize(7)
        table.auto_set_column_width(list(range(4)))
    fig.tight_layout()
    save_picture(fig, path)
    return scale


def _electrode_files(folder: Path) -> dict[str, Path]:
    """``{electrode: fields/electrode_<name>.vtp}`` of a result folder."""
    files = sorted((Path(folder) / "fields").glob("electrode_*.vtp"))
    return {p.stem.removeprefix("electrode_"): p for p in files}


def _maps(axes, folders: tuple[Path, Path], names: tuple[str, str]) -> ColourScale | None:
    """The first electrode the two folders share (or their only ones) drawn on one scale."""
    import pyvista

    a, b = (_electrode_files(f) for f in folders)
    common = [n for n in a if n in b]
    if common:
        electrode, pair = common[0], (a[common[0]], b[common[0]])
    elif len(a) == 1 and len(b) == 1:
        (na, pa), (nb, pb) = next(iter(a.items())), next(iter(b.items()))
        electrode, pair = f"{na} / {nb}", (pa, pb)
    else:
        for ax, folder, name in zip(axes, folders, names, strict=True):
            _own_picture(ax, folder, name)
        return None
    surfaces = [pyvista.read(path) for path in pair]
    values = np.concatenate([s.point_data[DEPOSITION] for s in surfaces])
    scale = colour_scale(values)
    for ax, surface, name in zip(axes, surfaces, names, strict=True):
        ax.imshow(_image(surface, scale.limits, name))
        ax.axis("off")
    axes[0].set_title(f"electrode {electrode}: one colour scale for both", fontsize=10, loc="left")
    return scale


def _image(surface, limits: tuple[float, float], title: str) -> np.ndarray:
    """The electrode picture of ``surface`` with fixed colour ``limits``, as pixels."""
    from femli.outputs.pictures import draw_electrode
    from femli.outputs.pictures2d import figure_rgb

    drawn, _ = draw_electrode(surface, title=title, limits=limits)
    if hasattr(drawn, "screenshot"):
        try:
            return np.asarray(drawn.screenshot(return_img=True))
        finally:
            drawn.close()
    return figure_rgb(drawn)


def _own_picture(ax, folder: Path, name: str) -> None:
    """A folder's own electrode (or current-density) picture, when it has no fields."""
    import matplotlib.image as mpimg

    ax.axis("off")
    found = sorted(Path(folder).glob("electrode_*.png")) or [Path(folder) / "current_density.png"]
    ax.set_title(f"{name} (its own colour scale: no fields/)", fontsize=9)
    if found[0].is_file():
        ax.imshow(mpimg.imread(found[0]))


def _deposition(folder: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{electrode: (deposition current density in mA/cm2, node weights)}`` from the
    field files, else from ``surface_current_<name>.csv``."""
    import pyvista

    out = {}
    for name, path in _electrode_files(folder).items():
        surface = pyvista.read(path)
        out[name] = (np.asarray(surface.point_data[DEPOSITION]), node_weights(surface))
    for table in sorted(Path(folder).glob("surface_current_*.csv")):
        name = table.stem.removeprefix("surface_current_")
        if name not in out:
            data = np.genfromtxt(table, delimiter=",", names=True, dtype=None, encoding=None)
            column = next(c for c in data.dtype.names or () if c.startswith("current_density"))
            weights = next(c for c in data.dtype.names or () if c.startswith("weight"))
            out[name] = (-np.atleast_1d(data[column]) / 10.0, np.atleast_1d(data[weights]))
    return out


def _histograms(ax, folders: tuple[Path, Path], names: tuple[str, str]) -> None:
    """Area-weighted histograms of the deposition current density; a log axis when the
    values (all positive) span two decades or more."""
    from matplotlib.ticker import ScalarFormatter

    data = {
        f"{name}: {electrode}": values
        for folder, name in zip(folders, names, strict=True)
        for electrode, values in _deposition(folder).items()
    }
    every = np.concatenate([v for v, _ in data.values()]) if data else np.zeros(0)
    log = every.size > 0 and every.min() > 0 and every.max() >= 100 * every.min()
    note = ""
    if every.size:
        scale = colour_scale(every)  # its limits: the range, or a band round a uniform value
        note = scale.note("mA/cm2")
        bins = np.geomspace(scale.lo, scale.hi, 41) if log else np.linspace(scale.lo, scale.hi, 41)
        for label, (values, weights) in data.items():
            ax.hist(
                values, bins=bins, weights=weights / weights.sum(), histtype="step", label=label
            )
        ax.legend(fontsize=8)
    if log:
        ax.set_xscale("log")
    else:
        ax.xaxis.set_major_formatter(ScalarFormatter(useOffset=False))
    ax.set_xlabel("deposition current density (mA/cm$^2$)" + (", log scale" if log else ""))
    ax.set_ylabel("area fraction")
    if note:
        ax.set_title(f"deposition current density {note}", fontsize=9)
