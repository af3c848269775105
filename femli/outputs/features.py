"""Per-part and per-feature current statistics, and footprint normalisation.

A *part* is one named boundary of an electrode (``nuclei``, ``substrate``); a
*feature* is one connected piece of a part (one nucleus, one asperity). Features are
found by connecting facets that share a vertex (exact, from the mesh). The
*footprint* is the electrode's projection on the base plane: the lateral extent of
the domain (m in 2D, m^2 in 3D); footprint current densities are what an experiment
measures as "mA/cm2".
"""

from __future__ import annotations

import dolfinx
import numpy as np

from femli.mesh import Domain
from femli.outputs.metrics import surface_statistics

_ROUND = 1e-12  # m: coordinates closer than this are the same vertex


def _keys(points: np.ndarray) -> list[tuple]:
    return [tuple(p) for p in np.round(points / _ROUND).astype(np.int64)]


def vertex_components(domain: Domain, name: str) -> dict[tuple, int]:
    """Rounded vertex coordinate -> connected-component id on boundary ``name``. Collective."""
    mesh = domain.mesh
    fdim = domain.dim - 1
    facets = domain.facets(name)
    nodes = dolfinx.mesh.entities_to_geometry(mesh, fdim, facets)
    local = mesh.geometry.x[nodes] if facets.size else np.zeros((0, fdim + 1, 3))
    everything = np.concatenate(domain.comm.allgather(local)) if domain.comm.size > 1 else local
    parent: dict = {}

    def find(k):
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for facet in everything:
        keys = _keys(facet)
        for k in keys:
            parent.setdefault(k, k)
        for k in keys[1:]:
            parent[find(k)] = find(keys[0])
    roots = {find(k) for k in parent}
    ids = {r: i for i, r in enumerate(sorted(roots))}
    return {k: ids[find(k)] for k in parent}


def part_statistics(domain: Domain, surface) -> dict:
    """Statistics of each part and of each feature of each part (deposition positive)."""
    out = {}
    keys = _keys(surface.coords)
    for name in sorted(set(surface.part)):
        mask = surface.part == name
        values, weights = -surface.values[mask], surface.weights[mask]
        comps = vertex_components(domain, name)
        label = np.array([comps.get(k, -1) for k, m in zip(keys, mask, strict=True) if m])
        features = []
        for c in np.unique(label[label >= 0]):
            sel = label == c
            area = float(weights[sel].sum())
            current = float((values[sel] * weights[sel]).sum())
            features.append(
                {
                    "area": area,
                    "current": current,
                    "mean": current / area,
                    "max": float(values[sel].max()),
                }
            )
        currents = np.array([f["current"] for f in features])
        out[name] = {
            "deposition_current_density": surface_statistics(values, weights),
            "features": len(features),
            "feature_current_cv": float(currents.std() / abs(currents.mean()))
            if currents.size and currents.mean()
            else 0.0,
            "per_feature": features,
        }
    return out
