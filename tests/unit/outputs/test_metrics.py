"""Hotspot statistics on surfaces with known answers."""

import numpy as np
import pytest

from femli.outputs.metrics import surface_statistics, weighted_quantile


def test_uniform_surface_has_unit_hotspot_index_and_zero_variation():
    stats = surface_statistics(np.full(50, 3.0), np.full(50, 0.1))
    assert stats["hotspot_index"] == pytest.approx(1.0)
    assert stats["coefficient_of_variation"] == pytest.approx(0.0, abs=1e-12)
    assert stats["area_fraction_above_2x_mean"] == 0.0


def test_statistics_are_area_weighted():
    values = np.array([1.0, 5.0])
    weights = np.array([3.0, 1.0])
    stats = surface_statistics(values, weights)
    assert stats["mean_A_m2"] == pytest.approx(2.0)
    assert stats["hotspot_index"] == pytest.approx(2.5)
    assert stats["area_fraction_above_2x_mean"] == pytest.approx(0.25)
    assert stats["coefficient_of_variation"] == pytest.approx(np.sqrt(3.0) / 2.0)


def test_weighted_quantile_of_uniform_samples():
    x = np.linspace(0.0, 1.0, 1001)
    assert weighted_quantile(x, np.ones_like(x), 0.95) == pytest.approx(0.95, abs=2e-3)


@pytest.mark.mpi
@pytest.mark.parametrize("count", [1, 3])
def test_each_nucleus_is_one_feature_and_the_substrate_one(count):
    """The features of a part are its connected pieces: ``count`` separate nuclei, one
    substrate (with holes under the nuclei); every electrode node gets its feature, on
    any number of ranks."""
    import dolfinx
    from mpi4py import MPI

    from femli.mesh import build_domain
    from femli.outputs.metrics import _labels, vertex_components

    params = {"dim": 3, "width": 4.0, "depth": 4.0, "height": 2.0, "diameter": 0.5}
    domain, _ = build_domain(
        "nucleus_array", MPI.COMM_WORLD, **params, count=count, seed=1, refinement=0.7
    )
    for name, expected in (("nuclei", count), ("substrate", 1)):
        keys, labels = vertex_components(domain, name)
        assert sorted(set(labels)) == list(range(expected))
        assert labels[0] == 0  # numbered in the order of their first key
        x = domain.mesh.geometry.x
        facets = domain.facets(name)
        nodes = dolfinx.mesh.entities_to_geometry(domain.mesh, 2, facets)
        assert np.all(_labels(x[nodes.ravel()], keys, labels) >= 0)
    assert np.all(_labels(np.array([[1.0, 1.0, 1.0]]), keys, labels) == -1)  # not a vertex
