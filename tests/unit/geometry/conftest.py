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


def mesh_measure(dim: int, name: str) -> float:
    """Measure (um^dim) of the mesh elements of dimension ``dim`` in physical group ``name``."""
    for d, tag in gmsh.model.getPhysicalGroups(dim):
        if gmsh.model.getPhysicalName(d, tag) != name:
            continue
        total = 0.0
        for ent in gmsh.model.getEntitiesForPhysicalGroup(d, tag):
            _, elems, _ = gmsh.model.mesh.getElements(d, ent)
            for e in elems:
                total += float(np.sum(gmsh.model.mesh.getElementQualities(e, "volume")))
        return total
    raise KeyError(name)
