"""Pictures of 2D results with matplotlib (rank 0): maps of the electrolyte with arrows,
the electrode profile coloured by deposition, current along the electrode.

Lengths in um with equal axes, current densities in mA/cm^2; colour limits and tick
labels from :func:`femli.outputs.colours.colour_scale` (each function returns the scale
it used); colour bars beside the axes, their labels inside the figure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from femli.outputs.colours import ColourScale, colour_scale
from femli.outputs.files import save_picture
from femli.outputs.quantities import ma_cm2

__all__ = [
    "electrode_figure",
    "figure_rgb",
    "map_2d",
    "plot_surface_current",
    "segments",
]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _colourbar(fig, mappable, ax, label: str, scale: ColourScale, horizontal: bool = False):
    """A colour bar as long as the axes (right, or below), ticks at ``scale.ticks``."""
    # matplotlib's toolkits ship no type information
    from mpl_toolkits.axes_grid1 import make_axes_locatable  # type: ignore[import-untyped]

    divider = make_axes_locatable(ax)
    if horizontal:
        cax = divider.append_axes("bottom", size=0.15, pad=0.55)
    else:
        cax = divider.append_axes("right", size="4%", pad=0.15)
    bar = fig.colorbar(mappable, cax=cax, orientation="horizontal" if horizontal else "vertical")
    bar.set_ticks(list(scale.ticks), labels=list(scale.labels))
    bar.set_label(label)
    return bar


def _figure_size(bounds, width: float = 7.5) -> tuple[float, float]:
    """A figure (inches) about the aspect of ``bounds`` (x and y), with room for text."""
    dx, dy = bounds[1] - bounds[0], bounds[3] - bounds[2]
    ratio = dy / dx if dx > 0 else 1.0
    return width, float(np.clip(width * ratio * 0.8 + 2.2, 3.0, 9.0))


def map_2d(
    grid, *, values: np.ndarray, vectors: np.ndarray, label: str, title: str
) -> tuple[Any, ColourScale]:
    """A 2D map of point ``values`` on ``grid``'s triangles, ``vectors`` (point data) as
    arrows on a regular lattice (the longest one lattice spacing long). Rank 0."""
    import matplotlib.tri as mtri

    plt = _pyplot()
    triangles = _triangles(grid)
    x, y = grid.points[:, 0], grid.points[:, 1]
    tri = mtri.Triangulation(x, y, triangles)
    scale = colour_scale(values)
    fig, ax = plt.subplots(figsize=_figure_size(grid.bounds), dpi=120)
    image = ax.tripcolor(
        tri, values, shading="gouraud", cmap="viridis", vmin=scale.lo, vmax=scale.hi
    )
    _arrows(ax, tri, vectors, grid.bounds)
    _colourbar(fig, image, ax, label, scale)
    ax.set_aspect("equal")
    ax.set_xlabel("x (um)")
    ax.set_ylabel("y (um)")
    ax.set_title("\n".join(s for s in (title, scale.note(_unit(label))) if s), fontsize=9)
    fig.tight_layout()
    return fig, scale


def _unit(label: str) -> str:
    return label.rsplit("(", 1)[-1].rstrip(")") if "(" in label else ""


def _triangles(grid) -> np.ndarray:
    """The triangles of a 2D grid as rows of point indices."""
    import vtk

    cells = grid.cells_dict
    return np.asarray(cells[vtk.VTK_TRIANGLE])


def _arrows(ax, tri, vectors: np.ndarray, bounds, count: int = 18) -> None:
    """Arrows along the in-plane ``vectors`` (point data) on a ``count`` x ``count``
    lattice: their direction, each 0.8 lattice spacings long (the magnitude is the
    colour's)."""
    import matplotlib.tri as mtri

    gx = np.linspace(bounds[0], bounds[1], count + 2)[1:-1]
    gy = np.linspace(bounds[2], bounds[3], count + 2)[1:-1]
    px, py = np.meshgrid(gx, gy)
    u = mtri.LinearTriInterpolator(tri, vectors[:, 0])(px, py)
    v = mtri.LinearTriInterpolator(tri, vectors[:, 1])(px, py)
    size = np.ma.masked_equal(np.hypot(u, v), 0.0)
    if np.ma.count(size):
        spacing = min(gx[1] - gx[0], gy[1] - gy[0]) if count > 1 else 1.0
        ax.quiver(px, py, u / size, v / size, color="white", angles="xy", scale_units="xy",
                  scale=1.0 / (0.8 * spacing), width=0.003)  # fmt: skip


def segments(surface) -> np.ndarray:
    """The line segments of a 2D electrode surface: (segments, 2 points, 2 coordinates)."""
    lines = np.asarray(surface.lines).reshape(-1, 3)[:, 1:]
    return np.asarray(surface.points)[lines][:, :, :2]


def electrode_figure(surface, values: np.ndarray, scale: ColourScale, bounds, hot=None):
    """A matplotlib figure of the electrode profile coloured by ``values`` (mA/cm^2 at its
    points) within ``bounds`` (um), ``hot`` points marked. Returns (figure, axes)."""
    from matplotlib.collections import LineCollection

    plt = _pyplot()
    lines = np.asarray(surface.lines).reshape(-1, 3)[:, 1:]
    colour = values[lines].mean(axis=1)
    fig, ax = plt.subplots(figsize=_figure_size(bounds), dpi=110)
    collection = LineCollection(
        list(segments(surface)), cmap="inferno", linewidths=4, capstyle="round"
    )
    collection.set_array(colour)
    collection.set_clim(scale.lo, scale.hi)
    ax.add_collection(collection)
    if hot is not None and hot.any():
        ax.plot(*surface.points[hot, :2].T, "o", ms=4, mfc="cyan", mec="black", mew=0.4)
    _colourbar(fig, collection, ax, "deposition current density (mA/cm$^2$)", scale, True)
    pad = 0.03 * max(bounds[1] - bounds[0], bounds[3] - bounds[2])
    ax.set_xlim(bounds[0] - pad, bounds[1] + pad)
    ax.set_ylim(bounds[2] - pad, bounds[3] + pad)
    ax.set_aspect("equal")
    ax.set_xlabel("x (um)")
    ax.set_ylabel("y (um)")
    return fig, ax


def figure_rgb(fig) -> np.ndarray:
    """The pixels of a drawn matplotlib figure (height, width, 3), the figure closed."""
    plt = _pyplot()
    fig.canvas.draw()
    pixels = np.asarray(fig.canvas.buffer_rgba())[:, :, :3].copy()
    plt.close(fig)
    return pixels


def plot_surface_current(
    coords_um: np.ndarray,
    values: np.ndarray,
    path: Path,
    *,
    dim: int,
    title: str = "",
    weights: np.ndarray | None = None,
) -> ColourScale:
    """Deposition current density (``values`` in A/m^2, deposition positive; drawn in
    mA/cm^2) along the electrode (1D, 2D) or its area-weighted histogram (3D). Returns the
    scale of the values in mA/cm^2. Rank 0."""
    from matplotlib.ticker import ScalarFormatter

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 3.8), dpi=120)
    ma = ma_cm2(np.asarray(values, dtype=float))
    w = np.ones_like(ma) if weights is None else np.asarray(weights, dtype=float)
    scale = colour_scale(ma, mean=float((ma * w).sum() / w.sum()) if w.sum() > 0 else None)
    label = "deposition current density (mA/cm$^2$)"
    pad = 0.05 * (scale.hi - scale.lo)
    if dim <= 2:  # along x (1D: the electrode's point)
        order = np.argsort(coords_um[:, 0])
        ax.plot(coords_um[order, 0], ma[order], "-o" if ma.size < 3 else "-", lw=1.2)
        ax.set_xlabel("x (um)")
        ax.set_ylabel(label)
        ax.set_ylim(scale.lo - pad, scale.hi + pad)
        ax.yaxis.set_major_formatter(ScalarFormatter(useOffset=False))
    else:
        edges = np.linspace(scale.lo, scale.hi, 41)
        ax.hist(np.clip(ma, scale.lo, scale.hi), bins=edges, weights=w / w.sum())
        ax.set_xlabel(label)
        ax.set_ylabel("area fraction")
        ax.xaxis.set_major_formatter(ScalarFormatter(useOffset=False))
    ax.set_title("\n".join(s for s in (title, scale.note("mA/cm2")) if s), fontsize=9)
    fig.tight_layout()
    save_picture(fig, path)
    return scale
