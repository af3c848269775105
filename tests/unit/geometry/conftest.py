"""Shared fixtures: one gmsh session per test (builders reset the model themselves)."""

from __future__ import annotations

from collections.abc import Iterator

import gmsh
import numpy as np
import pytest

from femli.geometry import gmsh_session


@pytest.fixture
def session() -> Iterator[None]:
    with gmsh_session():
        yield


def node_coords() -> np.ndarray:
    """All mesh node coordinates of the current model, sorted by node tag."""
    tags, coords, _ = gmsh.model.mesh.getNodes()
    return coords.reshape(-1, 3)[np.argsort(tags)]


def group_measure(dim: int, name: str) -> float:
    """Measure (um^dim) of the mesh elements in physical group ``name`` (from the mesh)."""
    for d, tag in gmsh.model.getPhysicalGroups(dim):
        if gmsh.model.getPhysicalName(d, tag) == name:
            total = 0.0
            for ent in gmsh.model.getEntitiesForPhysicalGroup(d, tag):
                total += gmsh.model.occ.getMass(d, ent)
            return total
    raise KeyError(name)
