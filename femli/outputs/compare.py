"""Side-by-side comparison of two result folders (``femli compare A B``).

Reads each folder's ``metrics.json`` and pictures (never re-solves), writes a table of
the electrode metrics (CSV and Markdown) and one figure with the two cases' renders
and their surface current densities overlaid.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from femli.outputs.files import atomic_write_bytes
from femli.outputs.metrics_format import upgrade

__all__ = [
    "ROWS",
    "CompareError",
    "compare",
    "figure",
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


def compare(a_dir: Path, b_dir: Path, output: Path) -> str:
    """Write ``comparison.csv``, ``comparison.md`` and ``comparison.png``; returns the table."""
    a, b = load_metrics(a_dir), load_metrics(b_dir)
    names = (Path(a_dir).name, Path(b_dir).name)
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
) -> None:
    """Renders of both cases side by side and their surface currents overlaid."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.image as mpimg
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(10, 9), dpi=110)
    for col, folder in enumerate((a_dir, b_dir)):
        picture = folder / "current_density.png"
        ax = axes[0, col]
        ax.axis("off")
        ax.set_title(f"{names[col]}: |i|", fontsize=10)
        if picture.is_file():
            ax.imshow(mpimg.imread(picture))
    ax = axes[1, 0]
    for folder, name in zip((a_dir, b_dir), names, strict=True):
        for table in sorted(folder.glob("surface_current_*.csv")):
            _plot_surface(ax, table, f"{name} {table.stem.removeprefix('surface_current_')}")
    ax.set_xlabel("deposition current density (mA/cm$^2$)")
    ax.set_ylabel("area fraction")
    ax.legend(fontsize=8)
    axes[1, 1].axis("off")
    if rows:
        cells = [[r[1], r[3], r[4]] for r in rows if r[2] in ("-", "mA/cm2", "mV")][:10]
        table = axes[1, 1].table(cellText=cells, colLabels=["metric", *names], loc="center")
        table.auto_set_font_size(False)
        table.set_fontsize(7)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)


def _plot_surface(ax, table: Path, label: str) -> None:
    data = np.genfromtxt(table, delimiter=",", names=True, dtype=None, encoding=None)
    values = -np.atleast_1d(data["current_density_A_m2"]) / 10.0
    weights = np.atleast_1d(data["weight_m_or_m2"])
    ax.hist(values, bins=40, weights=weights / weights.sum(), histtype="step", label=label)
