"""Pictures show the real range: colour limits and tick labels, hotspot markers only where
the hotspot index says so, colour-bar titles inside the picture, mA/cm2 throughout."""

from __future__ import annotations

import numpy as np
import pytest

from femli.outputs.colours import HOTSPOT_THRESHOLD, colour_scale, hotspots, tick_format
from femli.outputs.quantities import DEPOSITION


def square(values_at, n: int = 9, z: float | None = 0.0):
    """A triangulated unit square (um) in the plane z = 0 (or, with ``z`` None, a 2D
    line along x), ``values_at(x, y)`` as its deposition current density (mA/cm2)."""
    import pyvista

    if z is None:
        x = np.linspace(0.0, 10.0, n)
        points = np.column_stack([x, np.zeros(n), np.zeros(n)])
        lines = np.hstack([[2, k, k + 1] for k in range(n - 1)])
        surface = pyvista.PolyData(points, lines=lines)
    else:
        surface = pyvista.Plane(i_size=1.0, j_size=1.0, i_resolution=n, j_resolution=n)
        surface = surface.triangulate().translate((0.5, 0.5, z))
    surface.point_data[DEPOSITION] = values_at(surface.points[:, 0], surface.points[:, 1])
    return surface


@pytest.mark.parametrize(
    ("lo", "hi"),
    [(3.4901, 3.4902), (1.0, 2.0), (0.0, 212.3), (1e-7, 3e-6), (-5.0, 5.0), (2e5, 2.0001e5)],
)
def test_tick_labels_differ_and_name_their_values(lo, hi):
    fmt = tick_format(lo, hi, 5)
    ticks = np.linspace(lo, hi, 5)
    labels = [fmt % v for v in ticks]
    assert len(set(labels)) == 5, labels
    step = (hi - lo) / 4
    assert all(abs(float(s) - v) <= 0.1 * step for s, v in zip(labels, ticks, strict=True))
    assert all(len(s) <= 12 for s in labels), labels  # the fewest digits that do


def test_one_to_two_reads_as_plain_numbers():
    assert colour_scale([1.0, 1.5, 2.0]).labels == ("1.00", "1.25", "1.50", "1.75", "2.00")


def test_a_tiny_spread_is_called_uniform_not_coloured_as_noise():
    values = 3.4901 + 1e-4 * np.random.default_rng(1).random(200)  # 0.003 % spread
    scale = colour_scale(values)
    assert scale.uniform and scale.lo < values.min() and scale.hi > values.max()
    assert scale.hi - scale.lo == pytest.approx(2e-3 * values.mean(), rel=1e-6)
    spread = 100 * np.ptp(values) / values.mean()
    assert f"uniform within {spread:.2g} %" in scale.note("mA/cm2")
    assert len(set(scale.labels)) == len(scale.labels)
    real = colour_scale(1.0 + np.linspace(0.0, 0.5, 50))  # a real variation keeps its range
    assert not real.uniform and real.limits == (1.0, 1.5) and real.note("-") == ""


def test_hotspots_are_nodes_above_the_threshold_times_the_mean():
    values = np.array([1.0, 1.0, 1.0, 1.0, 1.3])
    weights = np.ones(5)
    mean = values.mean()
    assert list(hotspots(values, weights)) == list(values > HOTSPOT_THRESHOLD * mean)
    assert not hotspots(np.full(5, 3.49) + 1e-4 * np.arange(5), weights).any()
    assert not hotspots(-values, weights).any()  # a dissolving electrode: none


def _bar(p, title):
    """(range, labels) of a PyVista scalar bar, as drawn."""
    bar = p.scalar_bars[title]
    fmt, custom = bar.GetLabelFormat(), bar.GetCustomLabels()
    labels = [fmt % custom.GetValue(k) for k in range(custom.GetNumberOfTuples())]
    return bar.GetLookupTable().GetRange(), labels


def test_a_3d_electrode_picture_shows_the_uniform_range_and_no_hotspot():
    from femli.outputs.pictures import DEPOSITION_LABEL, draw_electrode

    surface = square(lambda x, y: 3.4901 + 1e-4 * x * y)
    p, scale = draw_electrode(surface, title="uniform")
    try:
        limits, labels = _bar(p, DEPOSITION_LABEL)
        assert limits == pytest.approx(scale.limits) and scale.uniform
        assert limits[0] < 3.4901 and limits[1] > 3.4902
        assert labels == list(scale.labels) and len(set(labels)) == 5
        assert "hotspots" not in p.actors  # a 0.003 % variation is no hotspot
        assert "uniform within" in p.actors["title"].GetText(2)  # the upper left corner
    finally:
        p.close()


def test_a_3d_electrode_picture_marks_the_hotspot_nodes():
    from femli.outputs.pictures import DEPOSITION_LABEL, draw_electrode

    surface = square(lambda x, y: 1.0 + 2.0 * (x > 0.8) * (y > 0.8))
    p, _ = draw_electrode(surface)
    try:
        limits, labels = _bar(p, DEPOSITION_LABEL)
        assert limits == pytest.approx((1.0, 3.0)) and labels[0] == "1.0" and labels[-1] == "3.0"
        marked = p.actors["hotspots"].GetMapper().GetInput().GetNumberOfPoints()
        values = surface.point_data[DEPOSITION]
        assert marked == np.count_nonzero(values > 2.0)  # the high corner, not the rest
    finally:
        p.close()


def test_2d_pictures_keep_their_colour_bar_titles_inside():
    import matplotlib.pyplot as plt
    import pyvista

    from femli.outputs.pictures import draw_electrode, draw_section
    from femli.outputs.quantities import CURRENT

    plane = pyvista.Plane(i_size=10.0, j_size=10.0, i_resolution=8, j_resolution=8)
    grid = plane.triangulate().translate((5.0, 5.0, 0.0)).cast_to_unstructured_grid()
    current = np.zeros((grid.n_points, 3))
    current[:, 1] = -(5.0 + 0.1 * grid.points[:, 0])  # mA/cm2, downwards
    grid.point_data[CURRENT] = current
    label = "current density magnitude (mA/cm2)"
    fig, scale = draw_section(
        grid, {}, scalar=CURRENT, vectors=CURRENT, label=label, title="t", magnitude=True
    )
    electrode, _ = draw_electrode(square(lambda x, y: 2.0 + 0.1 * x, z=None))
    try:
        assert scale.limits == pytest.approx((5.0, 6.0))
        for figure in (fig, electrode):
            figure.canvas.draw()
            page = figure.bbox
            for ax in figure.axes:
                for text in (ax.xaxis.label, ax.yaxis.label, ax.title):
                    if text.get_text():
                        box = text.get_window_extent()
                        assert page.x0 <= box.x0 and box.x1 <= page.x1, text.get_text()
                        assert page.y0 <= box.y0 and box.y1 <= page.y1, text.get_text()
        bar = fig.axes[-1]
        assert bar.get_ylabel() == label
        assert [t.get_text() for t in bar.get_yticklabels()] == list(scale.labels)
    finally:
        plt.close("all")


def test_a_3d_section_cuts_through_the_hottest_node_with_arrows_and_its_real_range():
    """The 3D concentration picture: the plane y = const through the hottest electrode
    node (not the outside of the box), coloured over the values on that plane, with arrows."""
    import pyvista

    from femli.outputs.pictures import draw_section
    from femli.outputs.quantities import concentration_name, flux_name

    box = pyvista.ImageData(dimensions=(9, 9, 9), spacing=(0.5, 0.5, 0.5))
    grid = box.cast_to_unstructured_grid().triangulate()
    x, y, z = grid.points.T
    c, flux = concentration_name("Li+"), flux_name("Li+")
    grid.point_data[c] = 900.0 + 20.0 * z + 5.0 * y  # mol/m3: varies along the cut normal too
    grid.point_data[flux] = np.column_stack([0 * x, 0 * x, -1e-3 + 0 * x])  # downwards
    electrode = square(lambda px, py: 1.0 + 2.0 * (np.abs(py - 0.75) < 0.01), n=8)
    electrode = electrode.scale((4.0, 4.0, 1.0), inplace=False)  # 4 x 4 um at z = 0
    hottest = electrode.points[int(np.argmax(electrode.point_data[DEPOSITION]))]
    label = "Li+ concentration (mol/m3)"
    p, scale = draw_section(
        grid, {"li": electrode}, scalar=c, vectors=flux, label=label, title="Li+"
    )
    try:
        on_plane = 900.0 + 20.0 * z + 5.0 * hottest[1]
        limits, labels = _bar(p, label)
        assert limits == pytest.approx((on_plane.min(), on_plane.max()), rel=1e-6)
        assert labels == list(scale.labels) and len(set(labels)) == len(labels) > 2
        assert f"y = {hottest[1]:.3g} um" in p.actors["title"].GetText(2)
        meshes = [a.GetMapper().GetInput() for a in p.renderer.actors.values()
                  if hasattr(a, "GetMapper") and a.GetMapper() is not None]  # fmt: skip
        (arrows,) = [pyvista.wrap(m) for m in meshes if m.GetPointData().HasArray("GlyphVector")]
        assert arrows.n_cells > 0  # on the plane, in the box: the flux's direction
        assert arrows.bounds[2] == pytest.approx(hottest[1], abs=0.05)
        assert arrows.bounds[3] == pytest.approx(hottest[1], abs=0.05)
    finally:
        p.close()


def test_section_arrows_sampled_on_the_slice_are_those_of_the_volume():
    """The 3D section's arrows are probed on the cut plane's slice (no locator over the
    whole volume): the nodal field interpolated linearly in each tetrahedron gives the
    same directions there, and the same lattice points fall inside the mesh."""
    import pyvista

    from femli.outputs.pictures import arrow_directions

    box = pyvista.ImageData(dimensions=(7, 6, 8), spacing=(0.5, 0.4, 0.3))
    grid = box.cast_to_unstructured_grid().triangulate()  # tetrahedra, as femli's meshes
    x, y, z = grid.points.T
    grid.point_data["v"] = np.column_stack([1.0 + x - 2.0 * z, 3.0 * y, 0.5 + x * z])
    plane_y = 0.9
    shown = grid.slice(normal="y", origin=(0.0, plane_y, 0.0))
    bounds = (-0.5, 3.5, 0.0, 2.0, -0.4, 2.5)  # wider than the mesh: points outside too
    volume = arrow_directions(grid, "v", plane_y, bounds)
    section = arrow_directions(shown, "v", plane_y, bounds)
    inside = np.asarray(volume.point_data["vtkValidPointMask"], dtype=bool)
    assert 0 < inside.sum() < inside.size
    assert np.array_equal(inside, np.asarray(section.point_data["vtkValidPointMask"], dtype=bool))
    assert section.point_data["arrows"] == pytest.approx(volume.point_data["arrows"], abs=1e-9)
