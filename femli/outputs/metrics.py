"""Current-distribution statistics on an electrode surface (hotspot metrics).

Statistics are area weighted over the nodes of the electrode (lumped boundary
measure), so a refined mesh patch does not bias them. Values are in A/m^2; the
sign convention is anodic positive, so deposition statistics use ``-i``.

Per-part and per-feature current statistics, and footprint normalisation.

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
from mpi4py import MPI

from femli.mesh import Domain
from femli.physics.derived import SurfaceValues


def gather_surface(values: SurfaceValues, comm: MPI.Comm) -> SurfaceValues:
    """Collect every rank's owned nodal values on all ranks. Collective."""
    parts = comm.allgather(values)
    return SurfaceValues(
        np.concatenate([p.values for p in parts]),
        np.concatenate([p.weights for p in parts]),
        np.concatenate([p.coords for p in parts]),
        np.concatenate([p.part for p in parts]),
        np.concatenate([p.overpotential for p in parts]),
    )


def weighted_quantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    """Area-weighted quantile ``q`` in [0, 1] of ``x``."""
    order = np.argsort(x)
    cum = np.cumsum(w[order])
    return float(np.interp(q * cum[-1], cum - 0.5 * w[order], x[order]))


def surface_statistics(values: np.ndarray, weights: np.ndarray) -> dict[str, float]:
    """Hotspot statistics of a (deposition-positive) current density over a surface.

    Returns mean, max, min, p95, hotspot index (max/mean), coefficient of variation
    (area-weighted std/mean) and the area fraction above twice the mean.
    """
    w = np.asarray(weights, dtype=float)
    x = np.asarray(values, dtype=float)
    area = w.sum()
    mean = float((x * w).sum() / area)
    std = float(np.sqrt(((x - mean) ** 2 * w).sum() / area))
    tiny = np.finfo(float).tiny
    ratio = mean if abs(mean) > tiny else np.nan
    return {
        "mean": mean,
        "max": float(x.max()),
        "min": float(x.min()),
        "p95": weighted_quantile(x, w, 0.95),
        "hotspot_index": float(x.max() / ratio),
        "coefficient_of_variation": float(std / abs(ratio)),
        "area_fraction_above_2x_mean": float(w[x > 2.0 * mean].sum() / area),
        "area": float(area),
    }


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
