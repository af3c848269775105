"""Plots of summary metrics against swept parameters (matplotlib, PNG, written atomically).

One figure per ``metric:param`` pair in ``<output>/plots/<metric>_vs_<param>.png``; one
line per electrode and per combination of the other swept parameters. Failed or pending
cases leave gaps.

Axes carry units: a metric's from its column name (``_A_m2`` current densities are drawn
in mA/cm2, ``_V``, ``_s``, ``_mol_m3``; :func:`metric_axis`), a parameter's from its name
(:func:`param_axis`: current densities in mA/cm2, lengths of the geometry in um, ...). An
axis whose values have one sign and span two decades or more is logarithmic (of the
magnitude, ``|x|``, for negative values such as deposition currents).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from femli.outputs.files import save_picture
from femli.study.spec import PlotSpec, StudyError
from femli.study.summary import metric_names, resolve_metric, suggest

__all__ = [
    "Axis",
    "draw_metric",
    "electrodes_of",
    "log_axis",
    "metric_axis",
    "param_axis",
    "plot_metric",
    "plot_summary",
]

#: Parameters by name: (unit shown, factor from the case file's SI value).
PARAMETERS: dict[str, tuple[str, float]] = {
    "current_density": ("mA/cm2", 0.1),
    "exchange_current": ("mA/cm2", 0.1),
    "conductivity": ("S/m", 1.0),
    "diffusivity": ("m2/s", 1.0),
    "concentration": ("mol/m3", 1.0),
    "potential": ("V", 1.0),
    "temperature": ("K", 1.0),
    "transference": ("-", 1.0),
    "t_end": ("s", 1.0),
    "dt_initial": ("s", 1.0),
    "dt_max": ("s", 1.0),
}
#: Words naming a geometry length (builder parameters are in um).
LENGTHS = ("height", "width", "depth", "diameter", "radius", "thickness", "gap", "spacing")
#: Metric column suffixes: (unit shown, factor from the summary's SI value).
SUFFIXES: dict[str, tuple[str, float]] = {
    "_A_m2": ("mA/cm2", 0.1),
    "_mol_m3": ("mol/m3", 1.0),
    "_V": ("V", 1.0),
    "_s": ("s", 1.0),
}
#: Metrics without a unit suffix.
METRICS: dict[str, str] = {
    "total_current": "A (A/m in 2D)",
    "hotspot_index": "max/mean",
    "cv": "std/mean",
    "area_fraction_above_2x_mean": "-",
    "dofs": "count",
    "newton_iterations": "count",
    "krylov_iterations": "count",
    "mpi_size": "ranks",
}


@dataclass(frozen=True)
class Axis:
    """What an axis shows: a label with its unit and the factor on the table's values."""

    label: str
    factor: float = 1.0


def param_axis(name: str) -> Axis:
    """The axis of swept parameter ``name`` (its unit from the name; none if unknown)."""
    if name in PARAMETERS:
        unit, factor = PARAMETERS[name]
        return Axis(f"{name} ({unit})", factor)
    if name.endswith("_um") or any(word in name for word in LENGTHS):
        return Axis(f"{name} (um)")
    return Axis(name)


def metric_axis(column: str) -> Axis:
    """The axis of a summary metric column (``<electrode>.<metric>`` or a case metric)."""
    metric = column.rsplit(".", 1)[-1]
    for suffix, (unit, factor) in SUFFIXES.items():
        if metric.endswith(suffix):
            return Axis(f"{metric.removesuffix(suffix).replace('_', ' ')} ({unit})", factor)
    known = METRICS.get(metric)
    return Axis(f"{metric.replace('_', ' ')} ({known})" if known else metric)


def log_axis(values) -> bool:
    """Whether values of one sign span two decades or more (a log axis of ``|x|``)."""
    x = np.abs(np.asarray(values, dtype=float))
    x = x[np.isfinite(x)]
    if x.size < 2 or x.min() <= 0:
        return False
    signs = np.sign(np.asarray(values, dtype=float))
    return bool(np.all(signs[np.isfinite(signs)] == signs[0]) and x.max() >= 100 * x.min())


def electrodes_of(table) -> list[str]:
    """Electrode names present in a summary table (from ``<electrode>.<metric>`` columns)."""
    names: list[str] = []
    for column in table.columns:
        if "." in column and column.rsplit(".", 1)[0] not in names:
            name, metric = column.rsplit(".", 1)
            if metric == "hotspot_index":
                names.append(name)
    return names


def plot_summary(table, plots: Iterable[PlotSpec], params: list[str], folder: Path) -> list[Path]:
    """Write every requested plot into ``folder``; returns their paths."""
    electrodes = electrodes_of(table)
    paths = []
    for p in plots:
        columns = resolve_metric(p.metric, electrodes)
        if p.param not in params:
            raise StudyError([f"plot: unknown parameter {p.param!r}.{suggest(p.param, params)}"])
        if not columns:
            names = metric_names(electrodes)
            raise StudyError([f"plot: unknown metric {p.metric!r}.{suggest(p.metric, names)}"])
        others = [q for q in params if q != p.param]
        path = Path(folder) / f"{_safe(p.metric)}_vs_{_safe(p.param)}.png"
        plot_metric(table, columns, p.param, others, path)
        paths.append(path)
    return paths


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in name)


def plot_metric(table, columns: list[str], param: str, others: list[str], path: Path) -> None:
    """Lines of ``columns`` against ``param``, one per combination of ``others``."""
    save_picture(draw_metric(table, columns, param, others), path)


def draw_metric(table, columns: list[str], param: str, others: list[str]):
    """The matplotlib figure of :func:`plot_metric`, not yet saved."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    numeric = pd.api.types.is_numeric_dtype(table[param])
    order = list(dict.fromkeys(table[param]))
    xaxis, yaxis = param_axis(param), metric_axis(columns[0])
    xs = pd.to_numeric(table[param], errors="coerce") * xaxis.factor if numeric else None
    ys = pd.concat([pd.to_numeric(table[c], errors="coerce") for c in columns]) * yaxis.factor
    xlog, ylog = numeric and log_axis(xs), log_axis(ys)
    xsign = float(np.sign(np.nanmin(xs))) if xlog and xs is not None else 1.0
    ysign = float(np.sign(np.nanmin(ys))) if ylog else 1.0
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    groups = table.groupby(others, sort=False, dropna=False) if others else [((), table)]
    for key, part in groups:
        key = key if isinstance(key, tuple) else (key,)
        part = part.sort_values(param) if numeric else part
        x = part[param] * xaxis.factor * xsign if numeric else [order.index(v) for v in part[param]]
        where = [f"{o}={v}" for o, v in zip(others, key, strict=True)]
        for column in columns:
            electrode = [column.rsplit(".", 1)[0]] if len(columns) > 1 else []
            y = pd.to_numeric(part[column], errors="coerce") * yaxis.factor * ysign
            ax.plot(x, y, "o-", label=", ".join(electrode + where) or None)
    if not numeric:
        ax.set_xticks(range(len(order)), [str(v) for v in order])
    ax.set_xlabel(_label(xaxis, xsign))
    ax.set_ylabel(_label(yaxis, ysign))
    ax.set_xscale("log" if xlog else "linear")
    ax.set_yscale("log" if ylog else "linear")
    if not ylog:
        ax.ticklabel_format(axis="y", useOffset=False)
    ax.grid(alpha=0.3, which="both")
    if ax.get_legend_handles_labels()[1]:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _label(axis: Axis, sign: float) -> str:
    """An axis label: ``|name| (unit)`` for negative values on a log axis."""
    if sign < 0:
        name, _, unit = axis.label.partition(" (")
        return f"|{name}| ({unit}" if unit else f"|{name}|"
    return axis.label
