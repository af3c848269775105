"""Outputs of growth runs: time series (CSV, plot), morphology snapshots, moving fields.

:class:`GrowthRecorder` is the growth solver's callback. At every snapshot it writes
the electrode render and the field render for that time, and appends a frame to the
ParaView time series (VTX, geometry updated every frame; a new file after each
remesh). Collective; rank 0 writes the shared files.

The VTX series ``growth_fields/growth_NNN.bp`` grows frame by frame and cannot be
written atomically. Instead, each checkpoint *seals* the open file (the next frame
starts a new one) and records how many files are sealed; a restart deletes the files
after those and writes them again from the checkpoint, and a new run deletes them all.
A run killed between checkpoints may thus leave a damaged last file until it is restarted.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import partial
from pathlib import Path

import dolfinx
import dolfinx.io
import numpy as np

from femli.outputs import pictures
from femli.outputs.files import atomic_write_bytes, require_space, save_picture
from femli.outputs.folder import own, remove
from femli.outputs.metrics import gather_surface
from femli.parallel import on_root
from femli.units import to_um

__all__ = ["COLUMNS", "UNITS", "GrowthRecorder", "frame_bytes", "plot_series", "series_csv"]

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
        ("deposited_volume", float, "deposited volume (SI)"),
        ("hotspot_index", float, "hotspot index (max/mean)"),
    )
    for ax, (key, scale, label) in zip(axes.ravel(), panels, strict=True):
        ax.plot(t, [scale(r[key]) for r in records], "-o", ms=2)
        ax.set_ylabel(label)
    for ax in axes[1]:
        ax.set_xlabel("t (s)")
    fig.tight_layout()
    return save_picture(fig, path)


def frame_bytes(model) -> int:
    """About the bytes one frame of the moving-field series adds (points with their
    ids, cells and the unknowns; all ranks' parts)."""
    mesh = model.domain.mesh
    tdim = mesh.topology.dim
    nodes = mesh.geometry.index_map().size_global
    cells = mesh.topology.index_map(tdim).size_global
    return nodes * (32 + 8 * len(model.unknowns)) + cells * (8 * (tdim + 2) + 1)


def _new_file(path: Path) -> None:
    """Record a VTX file about to be started (rank 0; its folder made)."""
    own(path)
    path.parent.mkdir(parents=True, exist_ok=True)


class GrowthRecorder:
    """Callback writing snapshots and the moving-field time series into ``output``."""

    def __init__(
        self, output: Path, renders: bool = True, fields: bool = True, segment: int = 0
    ) -> None:
        self.output = Path(output)
        self.renders, self.fields = renders, fields
        self._writer: dolfinx.io.VTXWriter | None = None
        self._mesh_id: int | None = None  # id() of the mesh the open writer follows
        self._segment = segment

    @property
    def segments(self) -> int:
        """Number of VTX files started so far (the sealed ones, after :meth:`seal`)."""
        return self._segment

    def seal(self) -> int:
        """Close the open VTX file so later frames go to a new one. Collective."""
        self.close()
        self._mesh_id = None
        return self._segment

    def prune(self) -> None:
        """Delete VTX files numbered from :attr:`segments` on (left by an earlier or an
        interrupted run); rank 0."""
        folder = self.output / "growth_fields"
        for path in folder.glob("growth_*.bp"):
            number = path.stem.removeprefix("growth_")
            if number.isdigit() and int(number) >= self._segment:
                remove(path)  # only files femli wrote

    def __call__(self, growth, record: dict) -> None:
        if not record["snapshot"]:
            return
        model = growth.model
        if self.fields:
            self._frame(model, record["t"])
        if self.renders:
            self._pictures(growth, record["t"])

    def _frame(self, model, t: float) -> None:
        if self._mesh_id != id(model.domain.mesh):  # first frame or after a remesh
            self.close()
            self._mesh_id = id(model.domain.mesh)
            path = self.output / "growth_fields" / f"growth_{self._segment:03d}.bp"
            on_root(model.domain.comm, lambda: _new_file(path))
            self._writer = dolfinx.io.VTXWriter(
                model.domain.comm,
                path,
                [model.phi, *model.unknowns[:-1]],
                engine="BP4",
                mesh_policy=dolfinx.io.VTXMeshPolicy.update,
            )
            self._segment += 1
        need = frame_bytes(model)
        on_root(model.domain.comm, lambda: require_space(self.output, need, "the growth fields"))
        assert self._writer is not None  # opened above for this mesh
        self._writer.write(t)

    def _pictures(self, growth, t: float) -> None:
        model = growth.model
        for e in model.electrodes:
            surface = gather_surface(growth.currents.nodal(e), model.domain.comm)
            picture = partial(
                pictures.render_electrode,
                to_um(surface.coords),
                -surface.values,
                self.output / f"morphology_{e.name}_t{t:08.3f}s.png",
                title=f"{e.name} at t = {t:.3g} s",
            )
            on_root(model.domain.comm, picture)

    def close(self) -> None:
        """Close the open field writer."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def finish(self, records: list[dict], comm) -> None:
        """Close files; write the time series CSV and plot (rank 0; its errors reach
        every rank). Collective."""
        self.close()

        def write() -> None:
            atomic_write_bytes(self.output / "growth_series.csv", series_csv(records).encode())
            plot_series(records, self.output / "growth_series.png")

        on_root(comm, write)
