"""Meshes split in parallel (femli.split): the same element sizes as a direct mesh, the
new boundary nodes on the exact surfaces (caps, their rims on the substrate plane),
every region kept, the same mesh on any number of ranks."""

from __future__ import annotations

import dolfinx
import numpy as np
import pytest
from mpi4py import MPI

import femli.split
from femli.case.schema import CaseConfig
from femli.mesh import build_domain

BOX = {"width": 2.0, "depth": 2.0, "height": 1.5, "h_far": 0.5, "h_substrate": 0.25}


def nuclei(comm: MPI.Comm, split_levels: int, angle: float = 90.0):
    params = dict(BOX, count=3, diameter=0.6, seed=2, contact_angle=angle, refinement=1.0)
    return build_domain("nucleus_array", comm, split_levels, **params)


def cap_error(domain, summary) -> float:
    exact = summary["features"]["nuclei_measure"] * 1e-6 ** (domain.dim - 1)  # um -> m
    return abs(domain.measure("nuclei") - exact) / exact


def substrate_heights(domain) -> np.ndarray:
    """z (m) of every node on a substrate facet (this rank)."""
    mesh = domain.mesh
    facets = domain.facets("substrate")
    nodes = dolfinx.mesh.entities_to_geometry(mesh, 2, facets) if facets.size else []
    return mesh.geometry.x[np.unique(np.ravel(nodes)).astype(int), 2]


@pytest.mark.parametrize("angle", [90.0, 60.0, 120.0])
def test_a_split_mesh_is_as_close_to_the_caps_as_a_direct_one(angle, monkeypatch):
    direct, s_direct = nuclei(MPI.COMM_SELF, 0, angle)
    split, s_split = nuclei(MPI.COMM_SELF, 1, angle)
    assert s_split["split_levels"] == 1
    # the same element sizes: about as many nodes as the direct mesh
    assert 0.7 < split.num_vertices_global() / direct.num_vertices_global() < 1.5
    assert cap_error(split, s_split) < 1.5 * cap_error(direct, s_direct) + 1e-4
    # the rims stay on the substrate plane (a node on a cap and the substrate is put on
    # their common circle, not on the sphere, which leaves the plane unless angle = 90)
    assert np.abs(substrate_heights(split)).max() < 1e-15
    monkeypatch.setattr(femli.split, "snap", lambda *args: 0)
    chords, _ = nuclei(MPI.COMM_SELF, 1, angle)
    assert cap_error(chords, s_split) > 2 * cap_error(split, s_split)


def test_a_split_mesh_keeps_every_region():
    direct, _ = nuclei(MPI.COMM_SELF, 0)
    split, _ = nuclei(MPI.COMM_SELF, 1)
    assert split.facet_names == direct.facet_names and split.cell_names == direct.cell_names
    for name in direct.facet_names:
        if name != "nuclei":  # planes: the same measure to round-off
            assert split.measure(name) == pytest.approx(direct.measure(name), rel=1e-9)
    volume = split.measure(boundary=False)
    assert volume == pytest.approx(direct.measure(boundary=False), rel=1e-3)


def test_a_2d_split_puts_the_arcs_back():
    params = dict(width=8.0, height=2.0, count=3, diameter=0.8, seed=1, dim=2, h_far=0.4)
    direct, summary = build_domain("nucleus_array", MPI.COMM_SELF, 0, **params)
    split, _ = build_domain("nucleus_array", MPI.COMM_SELF, 2, **params)
    assert cap_error(split, summary) < 1.5 * cap_error(direct, summary) + 1e-4
    assert split.measure("substrate") == pytest.approx(direct.measure("substrate"), rel=1e-9)


@pytest.mark.parametrize("value", [-1, 4, 1.5, "one"])
def test_split_levels_out_of_range_is_refused_by_the_case_schema(value):
    with pytest.raises(ValueError, match="split_levels"):
        CaseConfig.model_validate(
            {
                "name": "x",
                "geometry": {"preset": "seed003_bare_li", "split_levels": value},
            }
        )


@pytest.mark.mpi
def test_a_split_mesh_is_the_same_on_two_ranks():
    world, _ = nuclei(MPI.COMM_WORLD, 1, 60.0)
    alone, _ = nuclei(MPI.COMM_SELF, 1, 60.0)
    assert world.num_vertices_global() == alone.num_vertices_global()
    assert world.num_cells_global() == alone.num_cells_global()
    assert world.measure("nuclei") == pytest.approx(alone.measure("nuclei"), rel=1e-12)
    heights = substrate_heights(world)
    assert MPI.COMM_WORLD.allreduce(float(np.abs(heights).max(initial=0.0)), op=MPI.MAX) < 1e-15
