"""Pictures of a solved state (rank 0): PyVista renders in 3D, matplotlib in 2D.

The data come from :mod:`femli.outputs.fields` (the electrolyte grid) and
:mod:`femli.outputs.surface` (one surface per electrode), gathered on rank 0
(:func:`gather_scene`, collective); rank 0 draws. Lengths are shown in micrometres and
current densities in mA/cm^2 (deposition positive on electrodes; the magnitude of the
current vector in the electrolyte), each picture stating its unit:

- ``electrode_<name>.png``: the electrode surface coloured by deposition current
  density, seen from above at an angle (3D) or as its profile (2D), cyan markers on the
  hotspot nodes (above :data:`~femli.outputs.colours.HOTSPOT_THRESHOLD` x the mean);
- ``concentration_flux.png`` / ``current_density.png``: the reacting-ion concentration
  with its flux, the current density magnitude with the current (arrows); in 3D on the
  vertical cut plane y = const through the hottest electrode node, in 2D the domain;
- ``surface_current_<name>.png``: the deposition current density along the electrode
  (2D) or its area-weighted histogram (3D).

Colour limits and tick labels come from :func:`femli.outputs.colours.colour_scale`; each
picture function returns the :class:`~femli.outputs.colours.ColourScale` it used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from femli.outputs.colours import HOTSPOT_THRESHOLD, ColourScale, colour_scale, hotspots
from femli.outputs.fields import volume_grid
from femli.outputs.files import save_picture
from femli.outputs.pictures1d import electrode_point, profile
from femli.outputs.pictures2d import electrode_figure, map_2d, plot_surface_current
from femli.outputs.quantities import CURRENT, DEPOSITION, concentration_name, flux_name
from femli.outputs.surface import electrode_surfaces, node_weights
from femli.units import to_um

__all__ = [
    "SIZE",
    "add_axes",
    "arrow_directions",
    "bar",
    "dimension",
    "electrode_scene",
    "gather_scene",
    "label_ticks",
    "look_from_above",
    "plot_surface_current",
    "plotter",
    "render_electrode",
    "render_section",
    "write_pictures",
]

#: Window size of the 3D renders, pixels.
SIZE = (1000, 800)
#: Title of the deposition colour bars.
DEPOSITION_LABEL = "deposition current density (mA/cm2)"


def gather_scene(solver) -> tuple[Any, dict]:
    """(electrolyte grid, {electrode: surface}) on rank 0, (None, {}) elsewhere. Collective."""
    model = solver.model
    return volume_grid(model), electrode_surfaces(model, solver.currents)


def dimension(dataset) -> int:
    """The dimension of the run a dataset comes from: 3 for a grid of volume cells or an
    electrode surface of polygons (even a flat one), 2 for triangles or lines."""
    cells = dataset.GetMaxSpatialDimension()
    return cells + 1 if type(dataset).__name__ == "PolyData" else cells


def plotter(size: tuple[int, int] = SIZE):
    """An offscreen PyVista plotter with a white background."""
    import pyvista
    import vtk

    vtk.vtkLogger.SetStderrVerbosity(vtk.vtkLogger.VERBOSITY_OFF)  # no-display notice
    p = pyvista.Plotter(off_screen=True, window_size=list(size))
    p.renderer.set_background("white")
    return p


def bar(title: str, scale: ColourScale) -> dict:
    """``scalar_bar_args`` of a horizontal colour bar at the bottom (labels and title
    below it: :func:`label_ticks`)."""
    return {
        "title": title,
        "vertical": False,
        "position_x": 0.2,
        "position_y": 0.1,
        "width": 0.6,
        "height": 0.05,
        "n_labels": len(scale.ticks),
        "fmt": scale.fmt,
        "title_font_size": 18,
        "label_font_size": 15,
        "color": "black",
    }


def label_ticks(p, title: str, scale: ColourScale) -> None:
    """Labels of colour bar ``title`` exactly at ``scale.ticks``, below the bar."""
    import vtk

    values = vtk.vtkDoubleArray()
    for v in scale.ticks:
        values.InsertNextValue(v)
    actor = p.scalar_bars[title]
    actor.SetUseCustomLabels(True)
    actor.SetCustomLabels(values)
    actor.SetTextPositionToPrecedeScalarBar()  # horizontal: labels, then title, below it


def add_axes(p, bounds, y_axis: bool = True) -> None:
    """Axes with ticks in um around ``bounds`` (um; round-off around 0 dropped); without
    the y axis (``y_axis`` False) for a view along it."""
    b = np.asarray(bounds, dtype=float)
    b[np.abs(b) < 1e-9 * max(np.ptp(b), 1e-300)] = 0.0
    extent = b[1::2] - b[::2]
    labels = [5 if e >= 0.3 * extent.max() else 2 for e in extent]  # short axes: ends only
    p.show_bounds(
        bounds=list(b),
        n_xlabels=labels[0],
        n_ylabels=labels[1],
        n_zlabels=labels[2],
        show_yaxis=y_axis,
        show_ylabels=y_axis,
        xtitle="x (um)",
        ytitle="y (um)",
        ztitle="z (um)",
        location="outer",
        color="black",
        font_size=11,
        fmt="%.3g",
    )


def look_from_above(p, bounds, elevation: float = 35.0, azimuth: float = -60.0) -> None:
    """A fixed camera on ``bounds``: from ``elevation`` degrees above the x-y plane."""
    lo, hi = np.array(bounds[::2]), np.array(bounds[1::2])
    centre, size = (lo + hi) / 2, float(np.linalg.norm(hi - lo)) or 1.0
    el, az = np.radians(elevation), np.radians(azimuth)
    direction = np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
    p.camera_position = [tuple(centre + 3 * size * direction), tuple(centre), (0, 0, 1)]
    p.reset_camera(bounds=list(bounds))
    p.camera.zoom(0.9)
    _lift(p, 0.07)


def _lift(p, fraction: float) -> None:
    """Move the scene up by ``fraction`` of the window height (room for the colour bar)."""
    camera = p.renderer.GetActiveCamera()
    if camera.GetParallelProjection():
        height = 2.0 * camera.GetParallelScale()
    else:
        height = 2.0 * camera.GetDistance() * np.tan(np.radians(camera.GetViewAngle() / 2))
    shift = -fraction * height * np.asarray(camera.GetViewUp())
    camera.SetFocalPoint(*(np.asarray(camera.GetFocalPoint()) + shift))
    camera.SetPosition(*(np.asarray(camera.GetPosition()) + shift))


def electrode_title(title: str, values, mean: float, scale: ColourScale, hot: bool) -> str:
    """The text above an electrode picture: mean, hotspot index, what the markers mean."""
    lines = [title] if title else []
    note = scale.note("mA/cm2")
    if note:
        lines.append(f"deposition current density {note}")
    else:
        index = f", hotspot index (max/mean) {np.max(values) / mean:.3g}" if mean > 0 else ""
        lines.append(f"mean deposition {mean:.4g} mA/cm2{index}")
    threshold = f"{HOTSPOT_THRESHOLD:g} x mean"
    lines.append(f"cyan: nodes above {threshold} (hotspots)" if hot else f"no node > {threshold}")
    return "\n".join(lines)


def electrode_scene(p, surface, scale: ColourScale, hot=None) -> None:
    """Add a 3D electrode ``surface`` coloured by deposition with ``scale`` to plotter ``p``."""
    p.add_mesh(
        surface,
        scalars=DEPOSITION,
        cmap="inferno",
        clim=scale.limits,
        smooth_shading=True,
        scalar_bar_args=bar(DEPOSITION_LABEL, scale),
        name="electrode",
    )
    label_ticks(p, DEPOSITION_LABEL, scale)
    if hot is not None and hot.any():
        p.add_points(
            np.asarray(surface.points)[hot],
            color="cyan",
            point_size=9,
            render_points_as_spheres=True,
            name="hotspots",
        )


def render_electrode(
    surface, path: Path, *, title: str = "", limits: tuple[float, float] | None = None
) -> ColourScale:
    """``electrode_<name>.png``: deposition current density (mA/cm^2) on an electrode
    surface, hotspot nodes marked; ``limits``: fixed colour limits. Rank 0."""
    figure, scale = draw_electrode(surface, title=title, limits=limits)
    save_picture(figure, path)
    return scale


def draw_electrode(
    surface, *, title: str = "", limits: tuple[float, float] | None = None
) -> tuple[Any, ColourScale]:
    """The picture of :func:`render_electrode` before it is saved: a PyVista plotter (3D)
    or a matplotlib figure (2D), and its colour scale."""
    values = np.asarray(surface.point_data[DEPOSITION])
    weights = node_weights(surface)
    mean = float((values * weights).sum() / weights.sum())
    scale = colour_scale(values, mean=mean, limits=limits)
    hot = hotspots(values, weights)
    text = electrode_title(title, values, mean, scale, bool(hot.any()))
    if dimension(surface) == 1:  # a point: its value at its position
        return electrode_point(surface, values, scale, text), scale
    if dimension(surface) == 2:
        fig, ax = electrode_figure(surface, values, scale, surface.bounds, hot)
        ax.set_title(text, fontsize=9)
        fig.tight_layout()
        return fig, scale
    p = plotter()
    electrode_scene(p, surface, scale, hot)
    add_axes(p, surface.bounds)
    look_from_above(p, surface.bounds)
    p.add_text(text, font_size=10, color="black", name="title")
    return p, scale


def render_section(grid, surfaces: dict, path: Path, **what) -> ColourScale:
    """Point array ``scalar`` (with ``magnitude``: the length of ``vectors``) and
    ``vectors`` as arrows: in 3D on the vertical plane y = const through the hottest
    electrode node (the electrode surfaces behind it in grey), in 2D over the domain.
    ``label``: the colour bar's title with the unit (:func:`draw_section`). Rank 0."""
    figure, scale = draw_section(grid, surfaces, **what)
    save_picture(figure, path)
    return scale


def draw_section(
    grid,
    surfaces: dict,
    *,
    scalar: str,
    vectors: str,
    label: str,
    title: str,
    magnitude: bool = False,
) -> tuple[Any, ColourScale]:
    """The picture of :func:`render_section` before it is saved (a PyVista plotter in
    3D, a matplotlib figure in 2D) and its colour scale."""
    if dimension(grid) == 1:  # along x; a vector field: its x component, cell by cell
        if magnitude:
            label = label.replace("magnitude", "x component")
            x, values = grid.cell_centers().points[:, 0], grid.cell_data[vectors][:, 0]
        else:
            x, values = grid.points[:, 0], grid.point_data[scalar]
        return profile(x, np.asarray(values), label=label, title=title.split(";")[0])
    if dimension(grid) == 2:
        v = np.asarray(grid.point_data[vectors])
        values = np.linalg.norm(v, axis=1) if magnitude else grid.point_data[scalar]
        return map_2d(grid, values=np.asarray(values), vectors=v, label=label, title=title)
    origin = _hottest(surfaces, grid)
    shown = grid.slice(normal="y", origin=origin)
    if shown.n_points == 0:  # the plane misses the mesh: through its centre instead
        origin = np.asarray(grid.center)
        shown = grid.slice(normal="y", origin=origin)
    if magnitude:
        shown.point_data[label] = np.linalg.norm(shown.point_data[vectors], axis=1)
        scalar = label
    scale = colour_scale(shown.point_data[scalar])
    p = plotter()
    p.add_mesh(
        shown, scalars=scalar, cmap="viridis", clim=scale.limits, scalar_bar_args=bar(label, scale)
    )
    label_ticks(p, label, scale)
    p.add_mesh(_arrows(shown, vectors, origin[1], grid.bounds), color="white")
    for surface in surfaces.values():
        behind = surface.clip(normal=(0, 1, 0), origin=origin, invert=False)
        p.add_mesh(behind if behind.n_points else surface, color="lightgrey")
    p.add_mesh(grid.outline(), color="black")
    add_axes(p, grid.bounds, y_axis=False)
    p.enable_parallel_projection()  # the plane and the box edges at one scale
    look_from_above(p, grid.bounds, elevation=0.0, azimuth=-90.0)  # along y: the plane true
    p.camera.zoom(1.12)
    where = f"cut plane y = {origin[1]:.3g} um through the hottest electrode node"
    unit = label.rsplit("(", 1)[-1].rstrip(")")
    p.add_text(
        "\n".join(s for s in (title, where, scale.note(unit)) if s),
        font_size=10,
        color="black",
        name="title",
    )
    return p, scale


def _hottest(surfaces: dict, grid) -> np.ndarray:
    """The electrode node of the largest deposition current density (um), else the
    grid's centre."""
    best, where = -np.inf, np.asarray(grid.center, dtype=float)
    for surface in surfaces.values():
        values = np.asarray(surface.point_data[DEPOSITION])
        if values.size and values.max() > best:
            best, where = values.max(), np.asarray(surface.points[int(np.argmax(values))])
    return where


def arrow_directions(source, vectors: str, y: float, bounds, count: int = 16):
    """The points of a ``count`` x ``count`` lattice in the plane y = ``y`` over
    ``bounds`` (um) as PolyData with point data ``arrows``: the unit direction of the
    in-plane (x, z) part of ``vectors`` there, zero outside ``source``. ``source``: the
    grid, or (much faster: no locator over every cell of the volume) its slice at
    y = ``y``, on which the linear field's values are the same."""
    import pyvista

    gx = np.linspace(bounds[0], bounds[1], count + 2)[1:-1]
    gz = np.linspace(bounds[4], bounds[5], count + 2)[1:-1]
    px, pz = np.meshgrid(gx, gz)
    points = np.column_stack([px.ravel(), np.full(px.size, y), pz.ravel()])
    probe = pyvista.PolyData(points).sample(source)
    inside = np.asarray(probe.point_data["vtkValidPointMask"], dtype=bool)
    v = np.asarray(probe.point_data[vectors]).copy()
    v[:, 1] = 0.0
    v[~inside] = 0.0
    size = np.linalg.norm(v, axis=1)
    v = np.divide(v, size[:, None], out=np.zeros_like(v), where=size[:, None] > 0)
    probe.point_data["arrows"] = v
    return probe


def _arrows(shown, vectors: str, y: float, bounds, count: int = 16):
    """Arrows along ``vectors`` (:func:`arrow_directions` on the slice ``shown``), each
    0.8 lattice spacings long (the magnitude is the colour's)."""
    probe = arrow_directions(shown, vectors, y, bounds, count)
    spacing = min(bounds[1] - bounds[0], bounds[5] - bounds[4]) / (count + 1)
    return probe.glyph(orient="arrows", scale="arrows", factor=0.8 * spacing)


def write_pictures(scene: tuple[Any, dict], surfaces: dict, output: Path) -> dict[str, ColourScale]:
    """Every picture of a stationary result (rank 0): ``scene`` from :func:`gather_scene`,
    ``surfaces`` the gathered :class:`~femli.physics.derived.SurfaceValues` per electrode.
    Returns the scale each picture used, by file name."""
    grid, meshes = scene
    dim = dimension(grid)
    scales = {}
    for name, mesh in meshes.items():
        scales[f"electrode_{name}.png"] = render_electrode(
            mesh, output / f"electrode_{name}.png", title=f"electrode {name!r}"
        )
    for name, s in surfaces.items():
        scales[f"surface_current_{name}.png"] = plot_surface_current(
            to_um(s.coords),
            -s.values,
            output / f"surface_current_{name}.png",
            dim=dim,
            title=f"electrode {name!r} (deposition positive)",
            weights=s.weights,
        )
    ion = str(grid.field_data["reacting_ion"][0])
    scales["concentration_flux.png"] = render_section(
        grid,
        meshes,
        output / "concentration_flux.png",
        scalar=concentration_name(ion),
        vectors=flux_name(ion),
        label=f"{ion} concentration (mol/m3)",
        title=f"{ion} concentration; arrows: {ion} flux",
    )
    scales["current_density.png"] = render_section(
        grid,
        meshes,
        output / "current_density.png",
        scalar=CURRENT,
        vectors=CURRENT,
        label="current density magnitude (mA/cm2)",
        title="electrolyte current density; arrows: current",
        magnitude=True,
    )
    return scales
