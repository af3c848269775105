"""Current-distribution statistics on an electrode surface (hotspot metrics).

Statistics are area weighted over the nodes of the electrode (lumped boundary
measure), so a refined mesh patch does not bias them. Values are in A/m^2; the
sign convention is anodic positive, so deposition statistics use ``-i``.
"""

from __future__ import annotations

import numpy as np
from mpi4py import MPI

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
