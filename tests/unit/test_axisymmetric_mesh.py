"""r-z domains: every measure carries 2 pi r (restricted ones and sums too), the footprint
is a disc, and only a 2D mesh with x >= 0 can be read as r-z."""

from __future__ import annotations

import dolfinx
import numpy as np
import pytest
from mpi4py import MPI

from femli.measures import WeightedMeasure
from femli.mesh import from_mesh

W, HEIGHT = 2e-6, 3e-6


def cylinder(x0: float = 0.0):
    mesh = dolfinx.mesh.create_rectangle(MPI.COMM_WORLD, [[x0, 0], [W, HEIGHT]], [12, 12])
    return from_mesh(
        mesh,
        {"top": lambda x: np.isclose(x[1], HEIGHT), "side": lambda x: np.isclose(x[0], W)},
        {"low": lambda x: x[1] < 0.5 * HEIGHT + 1e-12},
    )


@pytest.mark.mpi
def test_measures_are_3d_totals():
    domain = cylinder().make_axisymmetric()
    assert domain.measure(boundary=False) == pytest.approx(np.pi * W**2 * HEIGHT, rel=1e-12)
    assert domain.measure("top") == pytest.approx(np.pi * W**2, rel=1e-12)
    assert domain.measure("side") == pytest.approx(2 * np.pi * W * HEIGHT, rel=1e-12)
    assert domain.footprint_area() == pytest.approx(np.pi * W**2)
    assert isinstance(domain.dx("low"), WeightedMeasure)
    one = dolfinx.fem.Constant(domain.mesh, 1.0)
    form = dolfinx.fem.form(one * domain.dx("low") + 2.0 * domain.ds("top", "side"))
    total = domain.comm.allreduce(dolfinx.fem.assemble_scalar(form), op=MPI.SUM)
    expected = np.pi * W**2 * HEIGHT / 2 + 2 * (np.pi * W**2 + 2 * np.pi * W * HEIGHT)
    assert total == pytest.approx(expected, rel=1e-12)


def test_planar_measures_stay_planar():
    domain = cylinder()
    assert domain.measure(boundary=False) == pytest.approx(W * HEIGHT)
    assert domain.footprint_area() == pytest.approx(W)


def test_only_a_2d_mesh_right_of_the_axis():
    with pytest.raises(ValueError, match="needs x = r >= 0, but x reaches -1 um"):
        cylinder(x0=-1e-6).make_axisymmetric()
    cube = dolfinx.mesh.create_unit_cube(MPI.COMM_WORLD, 2, 2, 2)
    with pytest.raises(ValueError, match="must be 2D, this one is 3D"):
        from_mesh(cube).make_axisymmetric()
