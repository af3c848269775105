"""Outputs of growth runs: time series (CSV, plot), morphology snapshots, moving fields.

:class:`GrowthRecorder` is the growth solver's callback: the frames of
:class:`femli.outputs.series.FieldSeries` (``series/solution.pvd`` on the moving mesh,
``series/electrode_<name>.pvd`` with the normal velocity, ``electrode_<name>.gif``) and,
at every snapshot, the electrode render ``morphology_<name>_t<t>s.png``; at the end,
``growth_series.csv`` and ``growth_series.png``. Collective; rank 0 writes.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np

from femli.outputs import pictures
from femli.outputs.files import atomic_write_bytes, save_picture
from femli.outputs.series import FieldSeries
from femli.parallel import on_root
from femli.units import to_um

__all__ = ["COLUMNS", "UNITS", "GrowthRecorder", "plot_series", "series_csv"]

COLUMNS = (
    "t",
    "dt",
    "deposited_volume",
    "charge",
    "current",
    "mean_height",
    "max_height",
    "roughness_rms",
    "area",
    "area_ratio",
    "hotspot_index",
    "min_quality",
    "remeshes",
    "merges",
    "trapped_volume",
    "c_min",
    "c_tip",
)
UNITS = (
    "s",
    "s",
    "m3 (m2 in 2D)",
    "C (C/m in 2D)",
    "A (A/m in 2D)",
    "m",
    "m",
    "m",
    "m2 (m in 2D)",
    "-",
    "-",
    "-",
    "-",
    "-",
    "m3 (m2 in 2D)",
    "mol_m3",
    "mol_m3",
)


def series_csv(records: list[dict]) -> str:
    """Growth records as CSV text with units in the header (``merges``: merge events so
    far; ``trapped_volume``: electrolyte enclosed by merged deposits; ``c_min``,
    ``c_tip``: the reacting-ion concentration on the depositing surface, smallest and at
    its highest point)."""
    buf = io.StringIO()
    buf.write(
        ",".join(
            f"{c}_{u.split()[0]}" if u != "-" else c for c, u in zip(COLUMNS, UNITS, strict=True)
        )
        + "\n"
    )
    for r in records:
        buf.write(",".join(f"{float(r[c]):.10g}" for c in COLUMNS) + "\n")
    return buf.getvalue()


def plot_series(records: list[dict], path: Path) -> Path:
    """Height, roughness, deposited volume and hotspot index against time (rank 0)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = np.array([r["t"] for r in records])
    fig, axes = plt.subplots(2, 2, figsize=(9, 6), dpi=110, sharex=True)
    panels: tuple[tuple[str, Callable[[float], float], str], ...] = (
        ("max_height", to_um, "max height (um)"),
        ("roughness_rms", to_um, "RMS roughness (um)"),
        ("deposited_volume", float, "deposited volume (m$^3$; m$^2$ in 2D)"),
        ("hotspot_index", float, "hotspot index (max/mean)"),
    )
    for ax, (key, scale, label) in zip(axes.ravel(), panels, strict=True):
        ax.plot(t, [scale(r[key]) for r in records], "-o", ms=2)
        ax.set_ylabel(label)
    for ax in axes[1]:
        ax.set_xlabel("t (s)")
    fig.tight_layout()
    return save_picture(fig, path)


class GrowthRecorder(FieldSeries):
    """Callback of a growth run: the series of :class:`~femli.outputs.series.FieldSeries`
    (moving electrolyte mesh, electrode surfaces with their normal velocity in um/s,
    animated GIFs) and, at every snapshot, ``morphology_<electrode>_t<t>s.png``.

    ``segment``: the frames a checkpoint kept (a restart); ``t_end`` (s): the run's end,
    else the growth solver's when first called."""

    def __init__(
        self,
        output: Path,
        renders: bool = True,
        fields: bool = True,
        segment: int = 0,
        t_end: float | None = None,
    ) -> None:
        super().__init__(output, t_end or 0.0, fields=fields, renders=renders, done=segment)
        self._t_end_known = t_end is not None

    def velocity(self, growth) -> np.ndarray:
        """The normal growth rate at every local node (m/s, growth positive)."""
        return growth.nodal_velocity()[0]

    def __call__(self, growth, record: dict) -> None:
        if not self._t_end_known:
            self.t_end, self._t_end_known = float(growth.options.t_end), True
        if not (self.fields or self.renders) or not self.due(record):
            return
        surfaces = self.frame(growth, float(record["t"]))
        if self.renders and record["snapshot"]:
            on_root(growth.model.domain.comm, lambda: self._snapshots(surfaces, record["t"]))

    def _snapshots(self, surfaces: dict, t: float) -> None:
        """The electrode renders of a snapshot (rank 0)."""
        for name, surface in surfaces.items():
            path = self.output / f"morphology_{name}_t{t:08.3f}s.png"
            pictures.render_electrode(surface, path, title=f"electrode {name!r} at t = {t:.4g} s")

    def finish(self, records: list[dict], comm, growth=None) -> None:
        """The last state's frame (given ``growth``), the animations, then the time series
        CSV and plot (rank 0; its errors reach every rank). Collective."""
        if growth is not None:
            self.end(growth, records)
        elif self.renders:
            on_root(comm, self._animate)

        def write() -> None:
            atomic_write_bytes(self.output / "growth_series.csv", series_csv(records).encode())
            plot_series(records, self.output / "growth_series.png")

        on_root(comm, write)
