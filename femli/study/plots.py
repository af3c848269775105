"""Plots of summary metrics against swept parameters (matplotlib, PNG, written atomically).

One figure per ``metric:param`` pair in ``<output>/plots/<metric>_vs_<param>.png``; one
line per electrode and per combination of the other swept parameters. Failed or pending
cases leave gaps.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from femli.outputs.files import save_picture
from femli.study.spec import PlotSpec, StudyError
from femli.study.summary import metric_names, resolve_metric, suggest

__all__ = [
    "electrodes_of",
    "plot_metric",
    "plot_summary",
]


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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    numeric = pd.api.types.is_numeric_dtype(table[param])
    order = list(dict.fromkeys(table[param]))
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    groups = table.groupby(others, sort=False, dropna=False) if others else [((), table)]
    for key, part in groups:
        key = key if isinstance(key, tuple) else (key,)
        part = part.sort_values(param) if numeric else part
        x = part[param] if numeric else [order.index(v) for v in part[param]]
        where = [f"{o}={v}" for o, v in zip(others, key, strict=True)]
        for column in columns:
            electrode = [column.rsplit(".", 1)[0]] if len(columns) > 1 else []
            label = ", ".join(electrode + where)
            ax.plot(x, pd.to_numeric(part[column], errors="coerce"), "o-", label=label or None)
    if not numeric:
        ax.set_xticks(range(len(order)), [str(v) for v in order])
    metric = columns[0].rsplit(".", 1)[-1] if len(columns) > 1 else columns[0]
    ax.set_xlabel(param)
    ax.set_ylabel(metric)
    ax.ticklabel_format(axis="y", useOffset=False)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[1]:
        ax.legend(fontsize=8)
    fig.tight_layout()
    save_picture(fig, path)
