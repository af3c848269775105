"""Offscreen PyVista renders and matplotlib plots of a solved state (rank 0 writes).

Data from every rank are gathered into one grid on rank 0 (collective), then
rendered there only. Lengths are shown in micrometres.
"""

from __future__ import annotations

from pathlib import Path

import dolfinx
import dolfinx.plot
import numpy as np

from femli.outputs.files import save_picture
from femli.units import to_um

__all__ = [
    "gather_grid",
    "plot_profile",
    "plot_surface_current",
    "render_electrode",
    "render_field",
]


def gather_grid(functions: dict[str, dolfinx.fem.Function], cell_data: dict | None = None):
    """A ``pyvista.UnstructuredGrid`` on rank 0 (``None`` elsewhere) with P1 point data.

    ``functions`` must share one P1 space; ``cell_data`` maps names to arrays with one
    row per owned local cell. Collective.
    """
    first = next(iter(functions.values()))
    space = first.function_space
    mesh = space.mesh
    tdim = mesh.topology.dim
    owned = np.arange(mesh.topology.index_map(tdim).size_local, dtype=np.int32)
    # vtk_mesh is a functools.singledispatch: mypy sees only its Mesh signature, not the
    # FunctionSpace one registered beside it (which this call uses)
    cells, types, x = dolfinx.plot.vtk_mesh(space, owned)  # type: ignore[arg-type]
    point = {k: f.x.array.real.copy() for k, f in functions.items()}
    cdata = {k: np.asarray(v)[: owned.size] for k, v in (cell_data or {}).items()}
    parts = mesh.comm.gather((cells, types, x, point, cdata), root=0)
    if mesh.comm.rank != 0:
        return None
    return _merge(parts)


def _merge(parts):
    import pyvista

    grids = []
    for cells, types, x, point, cdata in parts:
        grid = pyvista.UnstructuredGrid(cells, types, to_um(x))
        for k, v in point.items():
            grid.point_data[k] = v
        for k, v in cdata.items():
            grid.cell_data[k] = v
        grids.append(grid)
    merged = grids[0] if len(grids) == 1 else grids[0].merge(grids[1:], merge_points=True)
    return merged


def render_field(
    grid,
    scalar: str,
    path: Path,
    *,
    vectors: str | None = None,
    title: str = "",
    clip: bool = False,
) -> Path:
    """Render ``scalar`` (with optional cell ``vectors`` glyphs) to a PNG; a 1D grid (all
    points on the x axis) is drawn as a profile over x instead. Rank 0 only."""
    if np.ptp(grid.points[:, 1:]) < 1e-12 * max(np.ptp(grid.points[:, 0]), 1e-300):
        return plot_profile(grid, scalar, path, title=title)
    import pyvista
    import vtk

    vtk.vtkLogger.SetStderrVerbosity(vtk.vtkLogger.VERBOSITY_OFF)  # no-display notice
    pyvista.OFF_SCREEN = True
    plotter = pyvista.Plotter(off_screen=True, window_size=[900, 800])
    shown = grid.clip(normal="y") if clip else grid
    plotter.add_mesh(
        shown,
        scalars=scalar,
        cmap="viridis",
        show_edges=False,
        scalar_bar_args={"title": title or scalar, "vertical": True},
    )
    if vectors is not None and vectors in grid.cell_data:
        centres = grid.cell_centers()
        centres.point_data[vectors] = grid.cell_data[vectors]
        stride = max(1, centres.n_points // 400)
        sample = centres.extract_points(np.arange(0, centres.n_points, stride))
        mags = np.linalg.norm(sample.point_data[vectors], axis=1)
        scale = 0.04 * max(grid.length, 1e-12) / max(mags.max(initial=0.0), 1e-300)
        plotter.add_mesh(sample.glyph(orient=vectors, scale=vectors, factor=scale), color="white")
    # the renderer's views: Plotter's wrappers of them (functools.wraps) do not type-check
    if grid.bounds[5] - grid.bounds[4] < 1e-12:
        plotter.renderer.view_xy()
    else:
        plotter.renderer.view_isometric()
    plotter.add_text(title, font_size=10)
    return save_picture(plotter, path)


def plot_profile(grid, scalar: str, path: Path, *, title: str = "") -> Path:
    """``scalar`` (point data, or cell data at the cell centres) over x (um) of a 1D grid.
    Rank 0 only."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if scalar in grid.point_data:
        x, values = grid.points[:, 0], np.asarray(grid.point_data[scalar])
    else:
        x, values = grid.cell_centers().points[:, 0], np.asarray(grid.cell_data[scalar])
    order = np.argsort(x)
    fig, ax = plt.subplots(figsize=(6.0, 3.6), dpi=120)
    ax.plot(x[order], values[order], "-", lw=1.2)
    ax.set_xlabel("x (um)")
    ax.set_ylabel(title or scalar)
    ax.set_title(title or scalar, fontsize=9)
    fig.tight_layout()
    return save_picture(fig, path)


def plot_surface_current(
    coords_um: np.ndarray, values: np.ndarray, path: Path, *, dim: int, title: str = ""
) -> Path:
    """Normal current density along the electrode (2D) or its histogram (3D). Rank 0."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.0, 3.6), dpi=120)
    ma_cm2 = values / 10.0
    if dim == 2:
        order = np.argsort(coords_um[:, 0])
        ax.plot(coords_um[order, 0], ma_cm2[order], "-", lw=1.2)
        ax.set_xlabel("x (um)")
        ax.set_ylabel("deposition current density (mA/cm$^2$)")
    else:
        ax.hist(ma_cm2, bins=40)
        ax.set_xlabel("deposition current density (mA/cm$^2$)")
        ax.set_ylabel("nodes")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return save_picture(fig, path)


def render_electrode(
    coords_um: np.ndarray, deposition: np.ndarray, path: Path, *, title: str = ""
) -> Path:
    """Deposition current density (mA/cm^2) on the electrode nodes, hotspots marked.

    Hotspots are nodes at or above the 95th percentile; they are drawn larger in red.
    Rank 0 only.
    """
    import pyvista
    import vtk

    vtk.vtkLogger.SetStderrVerbosity(vtk.vtkLogger.VERBOSITY_OFF)
    points = np.zeros((len(coords_um), 3))
    points[:, : coords_um.shape[1]] = coords_um
    cloud = pyvista.PolyData(points)
    cloud.point_data["deposition (mA/cm2)"] = deposition / 10.0
    flat = np.ptp(points[:, 2]) < 1e-9
    plotter = pyvista.Plotter(off_screen=True, window_size=[900, 700])
    plotter.add_mesh(
        cloud,
        scalars="deposition (mA/cm2)",
        cmap="inferno",
        render_points_as_spheres=True,
        point_size=6,
    )
    hot = deposition >= np.percentile(deposition, 95)
    if hot.any():
        plotter.add_mesh(
            pyvista.PolyData(points[hot]), color="red", render_points_as_spheres=True, point_size=12
        )
    plotter.renderer.view_xy() if flat else plotter.renderer.view_isometric()
    plotter.add_text(f"{title} (red: top 5 %)", font_size=10)
    return save_picture(plotter, path)
